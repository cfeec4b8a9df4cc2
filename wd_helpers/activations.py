"""Activation functions written from elementary tensor operations, and their derivatives.

Each function is pure (tensor in, new tensor out) and matches its torch counterpart (the tests
check this), including at extreme inputs such as ±1000 where a careless formula overflows.
``naive_softmax`` is the exception on purpose: it keeps the overflow, to show why the max is
subtracted.

``ACTIVATIONS`` maps the names the explorer shows to callables ``f(x, alpha)``; ``alpha`` is
the slope for LeakyReLU, the weight for PReLU, α for ELU, and is ignored by the others.
"""

import math
from collections.abc import Callable

import torch

from . import validate

# ---------------------------------------------------------------- validation


def _check_finite(name: str, value: float) -> float:
    return validate.number(name, value)  # a bool, a string or several values: TypeError; NaN, ±inf: ValueError


def _check_tensor(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__} (torch.tensor(...) makes one)")
    return x


def _check_dim(x: torch.Tensor, dim) -> int:
    """``dim`` as an index into x's dimensions, -x.dim() <= dim < x.dim() (a 0-d x counts as 1-D, as in torch)."""
    dim = validate.integer("dim", dim)
    n = max(x.dim(), 1)
    if not -n <= dim < n:
        raise ValueError(f"dim must be an integer in [{-n}, {n - 1}] for a {x.dim()}-D x of shape {tuple(x.shape)}, "
                         f"got {dim}")
    return dim


# ---------------------------------------------------------------- squashing functions


def _abs(x: torch.Tensor) -> torch.Tensor:
    """|x| whose gradient at 0 is 1, not 0 as for ``x.abs()``.

    The two-branch formulas below select the x ≥ 0 branch at 0, so that branch must carry
    the gradient there: with ``x.abs()`` autograd would report σ′(0) = 0 instead of ¼.
    """
    return torch.where(x >= 0, x, -x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """σ(x) = 1 / (1 + e^(−x)), in (0, 1).

    Two branches so that exp never overflows: with e = e^(−|x|) ≤ 1,
    σ(x) = 1 / (1 + e) for x ≥ 0 and e / (1 + e) for x < 0. The one-line formula computes
    e^(1000) = inf at x = −1000.
    """
    e = torch.exp(-_abs(_check_tensor(x)))  # e^(−|x|) ∈ (0, 1]: never overflows
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)) = 2σ(2x) − 1, in (−1, 1).

    Computed sign-symmetrically: with m = e^(−2|x|) − 1 (``expm1``, accurate near 0),
    tanh(|x|) = −m / (2 + m), and tanh(−x) = −tanh(x). Nothing overflows at ±1000.
    """
    m = torch.expm1(-2 * _abs(_check_tensor(x)))  # e^(−2|x|) − 1 ∈ (−1, 0]
    t = -m / (2 + m)  # tanh(|x|)
    return torch.where(x >= 0, t, -t)


# ---------------------------------------------------------------- rectifiers


def relu(x: torch.Tensor) -> torch.Tensor:
    """ReLU(x) = max(x, 0). Its derivative is the step 1[x > 0] (0 at x = 0, as torch gives)."""
    _check_tensor(x)
    return torch.where(x <= 0, torch.zeros_like(x), x)  # keeps NaN as NaN, like torch.relu


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """LeakyReLU(x) = x for x > 0, negative_slope · x otherwise: negative inputs keep a gradient."""
    _check_tensor(x)
    negative_slope = _check_finite("negative_slope", negative_slope)
    return torch.where(x > 0, x, negative_slope * x)


def prelu(x: torch.Tensor, weight: torch.Tensor | float) -> torch.Tensor:
    """PReLU(x) = x for x > 0, a · x otherwise, where a = ``weight`` is learned.

    Like ``torch.nn.functional.prelu``: ``weight`` has one element (shared by every input), or
    one per channel, the channels being dimension 1 of an input of shape (N, C, ...).
    """
    _check_tensor(x)
    if not isinstance(weight, torch.Tensor):
        weight = validate.number("prelu weight", weight)
    elif weight.dtype == torch.bool or weight.is_complex():
        raise TypeError(f"prelu weight must hold real numbers, got dtype {weight.dtype}")
    weight = torch.as_tensor(weight, dtype=x.dtype, device=x.device)
    if not torch.isfinite(weight).all():
        raise ValueError(f"prelu weight must be finite, got {weight}")
    if weight.numel() == 1:
        a = weight.reshape(())
    elif x.dim() >= 2 and weight.numel() == x.shape[1]:
        a = weight.reshape(1, -1, *([1] * (x.dim() - 2)))  # (1, C, 1, ...): one slope per channel
    else:
        channels = x.shape[1] if x.dim() >= 2 else 1
        raise ValueError(
            f"prelu weight must have 1 element or one per channel ({channels}), "
            f"got {weight.numel()}"
        )
    return torch.where(x > 0, x, a * x)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """ELU(x) = x for x > 0, α (e^x − 1) otherwise: smooth, saturating at −α."""
    _check_tensor(x)
    alpha = validate.number("elu alpha", alpha, low=0.0, low_open=True)
    # clamp before exp: torch.where differentiates both branches, and e^x = inf on the
    # unused branch (x ≫ 0) would turn the gradient into 0 · inf = NaN.
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


# ---------------------------------------------------------------- smooth gates


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """GELU(x) = x Φ(x), Φ the standard normal CDF.

    ``approximate="none"``: Φ(x) = ½ (1 + erf(x / √2)).
    ``approximate="tanh"``: Φ(x) ≈ ½ (1 + tanh(√(2/π) (x + 0.044715 x³))).
    """
    _check_tensor(x)
    if validate.choice("gelu approximate", approximate, ("none", "tanh")) == "none":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    return 0.5 * x * (1 + tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU(x) = swish(x) = x σ(x)."""
    return _check_tensor(x) * sigmoid(x)


# ---------------------------------------------------------------- softmax family


def naive_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ), computed literally — e^1000 = inf, so inf/inf = NaN.

    Kept to show the pitfall; use ``softmax``.
    """
    dim = _check_dim(_check_tensor(x), dim)
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax(x)ᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m), m = maxⱼ xⱼ: the same value, no overflow.

    Shifting by m leaves the ratio unchanged and makes every exponent ≤ 0.
    """
    dim = _check_dim(_check_tensor(x), dim)
    if x.dim() > 0 and x.shape[dim] == 0:
        return torch.empty_like(x)  # amax cannot reduce an empty dimension
    z = x - x.amax(dim=dim, keepdim=True).detach()  # the shift is a constant: no gradient needed
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log softmax(x)ᵢ = (xᵢ − m) − log Σⱼ e^(xⱼ − m), m = maxⱼ xⱼ (log-sum-exp trick).

    Not ``softmax(x).log()``: a probability that underflows to 0 would give −inf.
    """
    dim = _check_dim(_check_tensor(x), dim)
    if x.dim() > 0 and x.shape[dim] == 0:
        return torch.empty_like(x)
    z = x - x.amax(dim=dim, keepdim=True).detach()
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))


# ---------------------------------------------------------------- derivatives and registry


def derivative(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """f′(x) at every element of x, by autograd, for an elementwise activation f.

    Because f acts elementwise, ∂(Σᵢ f(xᵢ)) / ∂xᵢ = f′(xᵢ). (Not meaningful for softmax,
    whose outputs each depend on every input.)
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function of a tensor, got {type(fn).__name__} {fn!r:.60}")
    if not _check_tensor(x).is_floating_point():
        raise TypeError(f"x must be a floating-point tensor (autograd needs one), got dtype {x.dtype}")
    x = x.detach().requires_grad_()
    fn(x).sum().backward()
    return x.grad


def _ignoring_alpha(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Give a parameter-free activation the registry signature f(x, alpha); alpha is ignored."""

    def f(x: torch.Tensor, alpha: float | None = None) -> torch.Tensor:
        return fn(x)

    f.__name__, f.__doc__ = fn.__name__, fn.__doc__
    return f


def _leaky_relu(x: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """LeakyReLU with negative slope alpha."""
    return leaky_relu(x, negative_slope=alpha)


def _prelu(x: torch.Tensor, alpha: float = 0.25) -> torch.Tensor:
    """PReLU with a single shared weight alpha (torch's initial value is 0.25)."""
    alpha = validate.number("alpha", alpha)
    return prelu(x, torch.tensor([alpha], dtype=_check_tensor(x).dtype, device=x.device))


def _elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """ELU with saturation value −alpha."""
    return elu(x, alpha=alpha)


ACTIVATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "sigmoid": _ignoring_alpha(sigmoid),
    "tanh": _ignoring_alpha(tanh),
    "ReLU": _ignoring_alpha(relu),
    "LeakyReLU": _leaky_relu,
    "PReLU": _prelu,
    "ELU": _elu,
    "GELU": _ignoring_alpha(gelu),
    "SiLU": _ignoring_alpha(silu),
}
PARAMETRIC = {"LeakyReLU", "PReLU", "ELU"}
DEFAULT_ALPHA = {"LeakyReLU": 0.01, "PReLU": 0.25, "ELU": 1.0}  # torch's defaults
