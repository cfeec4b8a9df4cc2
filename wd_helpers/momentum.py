"""Why momentum works: heavy-ball momentum on a convex quadratic, analysed exactly (Goh, "Why Momentum Really
Works", Distill 2017; Polyak 1964).

On f(x) = ½ Σᵢ λᵢ xᵢ² every eigen-direction i moves on its own. Distill's update

    z ← β z + ∇f(x),    x ← x − α z

is torch's ``SGD(lr=α, momentum=β)`` (``buf = β·buf + g``, ``p −= lr·buf``) and ``wd_helpers.optim.Momentum``:
the same iteration, checked in tests/test_momentum.py. Per direction the state (z, x) is multiplied by

    R(λ) = [[β, λ], [−αβ, 1 − αλ]]      trace 1 + β − αλ, determinant β

so the distance to the minimum shrinks by the spectral radius of R per step (the *rate*). Notebook 03b uses
these functions; ``wd_helpers.optim.momentum_rate`` is the same radius for one curvature, with Nesterov's too
(the tests check that they agree). It is not reused here: ``optim`` sits on the same layer, and it calls an
eigenvalue solver per (α, λ), where the explorer's (α, β) plane needs the closed form below on a whole grid at once.
"""

import math

import torch

from . import validate

__all__ = [
    "DAMPING_REGIMES", "damping", "fit_rate", "gd_optimum", "is_stable", "iteration_matrix", "momentum_optimum",
    "run_quadratic", "spectral_radius",
]

DAMPING_REGIMES = ("under-damped", "critically damped", "over-damped")
# "Repeated" means |discriminant| ≤ CRITICAL_TOLERANCE × (1 + β). The discriminant (1 + β − αλ)² − 4β is
# dimensionless and of size ≤ (1 + β)²; at Polyak's optimum, computed in float64 from its formulas, it comes out
# at most 5e-15 at μ and at L (κ from 1 to 1e10: ~20 roundings), so 1e-9 keeps a margin of 10⁵ over the rounding.
# It is still 30× below the 3e-8 that rounding β* to float32 leaves, and far below a slider's step (0.01 in β moves
# it by ~1e-2): "critically damped" means the float64 formula's value, not a value close to it.
CRITICAL_TOLERANCE = 1e-9
MAX_STEPS = 1_000_000
UNDERFLOW = 1e-250  # fit_rate stops before float64 errors fall this low (subnormals from 2.2e-308 lose digits)


def _is_bool(value) -> bool:
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")  # NumPy's bools too


def _real_numbers(name: str, value, what: str) -> torch.Tensor:
    """``value`` (a number, a list of them, a NumPy array or a tensor) as a float64 tensor, or a TypeError naming
    ``name``: a bool, a complex number or a string is not a number here, even inside a list."""
    refused = TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r:.60}")
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise refused
        return value.detach().cpu().to(torch.float64)
    if hasattr(value, "dtype") and hasattr(value, "shape"):  # a NumPy array or number
        if getattr(value.dtype, "kind", "") not in "iuf":
            raise refused
    elif isinstance(value, list | tuple):
        stack = list(value)
        while stack:  # every entry, nested lists included: [True, 2.0] would otherwise become [1.0, 2.0]
            item = stack.pop()
            if isinstance(item, list | tuple):
                stack.extend(item)
            elif _is_bool(item) or isinstance(item, str | bytes | complex) or item is None:
                raise refused
    elif _is_bool(value) or not isinstance(value, int | float):
        raise refused
    try:
        return torch.as_tensor(value, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):  # a ragged list, a 0-d tensor of the wrong kind inside a list
        raise refused from None


def _vector(name: str, value, what: str) -> torch.Tensor:
    """A number or a 1-D sequence of them as a 1-D float64 tensor of finite numbers (not empty)."""
    x = _real_numbers(name, value, what)
    if x.ndim > 1:
        raise ValueError(f"{name} must be {what} (1-D), got shape {tuple(x.shape)}")
    x = x.reshape(-1)
    if len(x) == 0 or not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be {what}, finite, at least one, got {x.tolist()}")
    return x


def _curvatures(lams) -> torch.Tensor:
    """λs as a 1-D float64 tensor of positive finite numbers (one number is one direction)."""
    lams = _vector("lams", lams, "positive numbers (the curvatures)")
    if not bool((lams > 0).all()):
        raise ValueError(f"lams must be positive numbers (the curvatures), got {lams.tolist()}")
    return lams


def _grid(name: str, value, low: float, high: float, *, low_open: bool, high_open: bool,
          what: str = "a number or a tensor of numbers") -> torch.Tensor:
    """A number, or a tensor / array of them (a grid), as float64, each finite and in the range."""
    tensor = _real_numbers(name, value, what)
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if tensor.numel() == 0:
        raise ValueError(f"{name} must hold at least one number in {interval}, got an empty {type(value).__name__}")
    below = tensor <= low if low_open else tensor < low
    above = tensor >= high if high_open else tensor > high
    if not bool(torch.isfinite(tensor).all()) or bool((below | above).any()):
        bad = tensor[~torch.isfinite(tensor) | below | above]
        shown = tensor.item() if tensor.numel() == 1 else f"{len(bad)} value{'s' * (len(bad) > 1)} outside it, e.g. {bad[0].item():g}"
        raise ValueError(f"{name} must be finite and in {interval}, got {shown}")
    return tensor


def _alpha(alpha) -> torch.Tensor:
    return _grid("alpha", alpha, 0.0, math.inf, low_open=True, high_open=True)


def _beta(beta) -> torch.Tensor:
    return _grid("beta", beta, 0.0, 1.0, low_open=False, high_open=True)


def _alpha_beta(alpha, beta) -> tuple[torch.Tensor, torch.Tensor]:
    """α and β broadcast to one grid shape (trailing axis added for the curvatures), or a ValueError naming both."""
    a, b = _alpha(alpha), _beta(beta)
    try:
        shape = torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        raise ValueError(f"alpha and beta must broadcast to one grid, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}") from None
    return a.expand(shape)[..., None], b.expand(shape)[..., None]


def _one_alpha(alpha) -> float:
    return validate.number("alpha", alpha, low=0.0, low_open=True)


def _one_beta(beta) -> float:
    return validate.number("beta", beta, low=0.0, high=1.0, high_open=True)


def iteration_matrix(alpha: float, beta: float, lam: float) -> torch.Tensor:
    """R(λ) = [[β, λ], [−αβ, 1 − αλ]]: one step maps the state (z, x) of a direction of curvature λ to R·(z, x)."""
    alpha, beta = _one_alpha(alpha), _one_beta(beta)
    lam = validate.number("lam", lam, low=0.0, low_open=True)
    return torch.tensor([[beta, lam], [-alpha * beta, 1 - alpha * lam]], dtype=torch.float64)


def _eigen_moduli(alpha: torch.Tensor, beta: torch.Tensor, lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(largest |eigenvalue| of R, discriminant) for broadcast α, β, λ: the roots of r² − (1 + β − αλ) r + β."""
    trace = 1 + beta - alpha * lam
    disc = trace**2 - 4 * beta
    root = disc.clamp(min=0).sqrt()
    real = (trace.abs() + root) / 2  # real roots (trace ± root)/2: the larger modulus, without inf − inf on overflow
    return torch.where(disc < 0, beta.sqrt().expand_as(real), real), disc


def spectral_radius(alpha, beta, lams) -> torch.Tensor | float:
    """The rate of heavy-ball momentum: max over the curvatures ``lams`` of R(λ)'s largest |eigenvalue|.

    ``alpha`` and ``beta`` may be numbers (a float is returned) or tensors / arrays that broadcast (a grid over
    the (α, β) plane: a tensor of that shape). Below 1 the distance to the minimum shrinks by about this factor
    per step; above 1 it grows (inf where αλ overflows float64). β = 0 is gradient descent: max |1 − αλ|.
    """
    lams = _curvatures(lams)
    a, b = _alpha_beta(alpha, beta)  # (..., 1) each, against lams (d,)
    radius = _eigen_moduli(a, b, lams)[0].amax(dim=-1)
    return radius.item() if radius.ndim == 0 else radius


def gd_optimum(mu: float, L: float) -> tuple[float, float]:
    """Gradient descent's best step on curvatures in [μ, L] and its rate: α = 2/(L + μ), (κ − 1)/(κ + 1)."""
    mu, L = _extremes(mu, L)
    kappa = L / mu
    return 2 / (L + mu), (kappa - 1) / (kappa + 1)


def momentum_optimum(mu: float, L: float) -> tuple[float, float, float]:
    """Heavy ball's best (α, β) on curvatures in [μ, L] and its rate (Polyak):

        α = (2 / (√L + √μ))²,  β = ((√κ − 1)/(√κ + 1))²,  rate = √β = (√κ − 1)/(√κ + 1)

    At this point both extreme directions are critically damped (a repeated eigenvalue) and every direction
    between them is under-damped with |eigenvalue| = √β: the error behaves like t·rateᵗ, not rateᵗ.
    """
    mu, L = _extremes(mu, L)
    root_kappa = math.sqrt(L / mu)
    rate = (root_kappa - 1) / (root_kappa + 1)
    return (2 / (math.sqrt(L) + math.sqrt(mu))) ** 2, rate**2, rate


def _extremes(mu, L) -> tuple[float, float]:
    mu = validate.number("mu", mu, low=0.0, low_open=True)
    L = validate.number("L", L, low=0.0, low_open=True)  # noqa: N806 (L: the course's name for the top curvature)
    if mu > L:
        raise ValueError(f"mu must be at most L (the smallest and the largest curvature), got mu = {mu:g} > L = {L:g}")
    return mu, L


def damping(alpha: float, beta: float, lam: float) -> str:
    """How a direction of curvature λ moves: 'under-damped' (complex eigenvalues of R: it spirals, overshooting),
    'critically damped' (a repeated eigenvalue: the fastest approach without oscillation) or 'over-damped' (two
    real eigenvalues: a slow creep). "Without oscillation" and "creep" hold for αλ < 1 + β, where the real
    eigenvalues are positive; for a larger step they are negative and the coordinate flips sign every step (as along
    the steep direction at Polyak's optimum). The repeated case is taken within CRITICAL_TOLERANCE of float64
    rounding."""
    R = iteration_matrix(alpha, beta, lam)
    trace, det = (R[0, 0] + R[1, 1]).item(), R.det().item()
    disc = trace**2 - 4 * det
    if abs(disc) <= CRITICAL_TOLERANCE * (1 + abs(det)):
        return "critically damped"
    return "under-damped" if disc < 0 else "over-damped"


def is_stable(alpha, beta, lams) -> bool | torch.Tensor:
    """True where heavy ball converges on every curvature: 0 ≤ β < 1 and 0 < αλ < 2(1 + β) for each λ
    (the same set as spectral_radius < 1). Grids of α and β give a bool tensor."""
    lams = _curvatures(lams)
    a, b = _alpha_beta(alpha, beta)
    stable = (a * lams < 2 * (1 + b)).all(dim=-1)
    return bool(stable) if stable.ndim == 0 else stable


def run_quadratic(alpha: float, beta: float, lams, x0, steps: int) -> torch.Tensor:
    """The iterates of heavy ball on f(x) = ½ Σ λᵢ xᵢ² from ``x0`` with z₀ = 0, in float64: (steps + 1, d), row 0 = x0.

        z ← β z + ∇f(x),   x ← x − α z          (Distill's convention; ∇f(x) = λ ⊙ x)

    This is ``torch.optim.SGD(lr=α, momentum=β)`` (buf ← β·buf + g, p ← p − lr·buf; its first buf = g is β·0 + g)
    and ``wd_helpers.optim.Momentum``, step for step: tests/test_momentum.py checks both through ``optim.trace``.
    As ``optim.trace`` does, once an iterate overflows (a diverging run) it and every later row are NaN.
    """
    lams = _curvatures(lams)
    alpha, beta = _one_alpha(alpha), _one_beta(beta)
    x = _start("x0", x0, len(lams))
    steps = validate.integer("steps", steps, low=0, high=MAX_STEPS)
    path = torch.full((steps + 1, len(lams)), math.nan, dtype=torch.float64)
    path[0] = x
    z = torch.zeros_like(x)
    for t in range(1, steps + 1):
        z = beta * z + lams * x  # z_t = β z_{t-1} + λ ⊙ x_{t-1}
        x = x - alpha * z  # x_t = x_{t-1} − α z_t
        if not bool(torch.isfinite(x).all()):
            break  # diverged past float64: the rows from here on stay NaN
        path[t] = x
    return path


def _start(name: str, x0, d: int) -> torch.Tensor:
    what = f"{d} number{'s' * (d > 1)} (one per curvature)"
    x = _vector(name, x0, what).clone()
    if len(x) != d:
        raise ValueError(f"{name} must be {what}, got {len(x)}: {x.tolist()}")
    return x


def fit_rate(errors, kind: str = "geometric", *, start: int | None = None) -> float:
    """The per-step rate ρ measured from a sequence of errors e_t = ‖x_t‖ (t = 0, 1, …), in float64.

    kind='geometric' fits log e_t ≈ a + t·log ρ (e_t ≈ C ρᵗ, a diagonalisable iteration); kind='repeated' fits
    log(e_t / t) ≈ a + t·log ρ (e_t ≈ C t ρᵗ, a repeated eigenvalue, as at momentum's optimum: a Jordan block).
    Least squares on the logarithms over the steps from ``start`` (default: a quarter of the way, past the
    transient) up to the first error at or below the underflow floor (UNDERFLOW = 1e-250 for float64 errors; for
    float32 / float16 tensors or arrays, that dtype's smallest normal number): an exact 0 or a subnormal would
    bend the line.
    """
    kind = validate.choice("kind", kind, ("geometric", "repeated"))
    dtype = str(getattr(errors, "dtype", "float64")).removeprefix("torch.")  # a tensor's or an array's precision
    floor = torch.finfo(getattr(torch, dtype)).tiny if dtype in ("float32", "float16", "bfloat16") else UNDERFLOW
    e = _grid("errors", errors, 0.0, math.inf, low_open=False, high_open=True, what="a sequence of errors ‖x_t‖")
    if e.ndim > 1:
        raise ValueError(f"errors must be 1-D (one error per step), got shape {tuple(e.shape)}")
    e = e.reshape(-1)
    if len(e) < 4:
        raise ValueError(f"errors must hold at least 4 steps, got {len(e)}")
    start = max(len(e) // 4, 1) if start is None else validate.integer("start", start, low=1, high=len(e) - 3)
    below = (e[start:] <= floor).nonzero()
    stop = start + int(below[0]) if len(below) else len(e)  # the window is [start, stop)
    if stop - start < 3:
        raise ValueError(f"errors must stay above {floor:g} (underflow) for at least 3 steps from step {start}, "
                         f"got {stop - start}")
    t, e = torch.arange(start, stop, dtype=torch.float64), e[start:stop]
    y = e.log() - (t.log() if kind == "repeated" else 0)  # t ≥ start ≥ 1
    slope = ((t - t.mean()) * (y - y.mean())).sum() / ((t - t.mean()) ** 2).sum()
    return math.exp(slope.item())
