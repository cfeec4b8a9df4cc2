"""From-scratch optimizers that step exactly like torch.optim, and optimizer trajectories.

Each class subclasses ``torch.optim.Optimizer`` (so it drops into a real training loop, keeps
its state in ``self.state[p]`` and honours parameter groups) and matches its torch.optim
counterpart to float32 rounding; the tests check this. Notation: g is the gradient, p the
parameter, η = ``lr``, λ = ``weight_decay``, t the step count (1 on the first step).

``trace`` runs any optimizer, ours or torch's, on a small function and returns the points it
visits, for the trajectory plots.
"""

import math
from collections.abc import Callable, Iterable, Sequence

import torch

from . import validate
from .device import on_course_device

MAX_STEPS = 100_000  # steps of one trace: far more than any plot shows, a bound against typos (1e9)

# ---------------------------------------------------------------- validation
# Each returns the value as a float (a NumPy number or a one-element tensor becomes a plain float), or
# raises a TypeError (a bool, a string, several values) or a ValueError (NaN, ±inf, out of range) naming it.


def _in_interval(name: str, value, accepted: str, **interval) -> float:
    try:
        return validate.number(name, value, **interval)
    except ValueError:  # out of range, NaN and ±inf included: said in this module's words
        raise ValueError(f"{name} must be {accepted}, got {value!r}") from None


def _check_positive(name: str, value: float) -> float:
    return _in_interval(name, value, "> 0", low=0.0, low_open=True)


def _check_nonnegative(name: str, value: float) -> float:
    return _in_interval(name, value, ">= 0", low=0.0)


def _check_unit_interval(name: str, value: float) -> float:
    return _in_interval(name, value, "in [0, 1)", low=0.0, high=1.0, high_open=True)


def _check_betas(betas) -> tuple[float, float]:
    """(β1, β2), each in [0, 1): a pair of numbers (tuple, list, array or tensor)."""
    if isinstance(betas, str | bytes) or not isinstance(betas, Iterable | torch.Tensor):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {type(betas).__name__} {betas!r:.60}")
    values = validate.numbers_of("betas", betas)
    if len(values) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {len(values)} values {betas!r:.60}")
    return _check_unit_interval("betas[0]", values[0]), _check_unit_interval("betas[1]", values[1])


def _coupled_decay(grad: torch.Tensor, p: torch.Tensor, weight_decay: float) -> torch.Tensor:
    """g + λ p: L2 weight decay folded into the gradient (a new tensor; p.grad is left alone)."""
    return grad.add(p, alpha=weight_decay) if weight_decay != 0 else grad


# ---------------------------------------------------------------- optimizers


class _ScratchOptimizer(torch.optim.Optimizer):
    """What every optimizer here shares: validation of each parameter group, and ``step``.

    A subclass writes ``_validate(group)`` and ``_update(p, grad, state, group)``.
    """

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)  # fills in the defaults, then we check the result
        self._validate(self.param_groups[-1])

    @staticmethod
    def _validate(group: dict) -> None:
        """Check each hyper-parameter of ``group`` and write it back as a plain float (run on the defaults
        before ``Optimizer.__init__`` copies them into the groups, and on every group added)."""
        raise NotImplementedError

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Update every parameter that has a gradient; return the closure's loss (or None)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():  # the closure runs forward and backward
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state[p], group)
        return loss


class SGD(_ScratchOptimizer):
    """Gradient descent with coupled (L2) weight decay; equals ``torch.optim.SGD(lr, weight_decay=λ)``.

        g ← g + λ p
        p ← p − η g
    """

    def __init__(self, params, lr: float = 1e-3, *, weight_decay: float = 0.0):
        defaults = dict(lr=lr, weight_decay=weight_decay)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(group: dict) -> None:
        group["lr"] = _check_positive("lr", group["lr"])
        group["weight_decay"] = _check_nonnegative("weight_decay", group["weight_decay"])

    def _update(self, p, grad, state, group):
        g = _coupled_decay(grad, p, group["weight_decay"])  # g_t = ∇f(p) + λ p
        p.add_(g, alpha=-group["lr"])  # p_t = p_{t-1} − η g_t


class Momentum(_ScratchOptimizer):
    """Heavy-ball momentum; equals ``torch.optim.SGD(lr, momentum=β, dampening=0, weight_decay=λ)``.

        g ← g + λ p
        v ← β v + g        (on the first step v = g, as torch; the same as starting from v = 0)
        p ← p − η v
    """

    def __init__(self, params, lr: float = 1e-3, *, momentum: float = 0.9, weight_decay: float = 0.0):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(group: dict) -> None:
        group["lr"] = _check_positive("lr", group["lr"])
        group["momentum"] = _check_unit_interval("momentum", group["momentum"])
        group["weight_decay"] = _check_nonnegative("weight_decay", group["weight_decay"])

    @staticmethod
    def _velocity(g: torch.Tensor, state: dict, beta: float) -> torch.Tensor:
        if "v" not in state:
            state["v"] = g.clone()  # v_1 = g_1
        else:
            state["v"].mul_(beta).add_(g)  # v_t = β v_{t-1} + g_t
        return state["v"]

    def _update(self, p, grad, state, group):
        g = _coupled_decay(grad, p, group["weight_decay"])  # g_t = ∇f(p) + λ p
        v = self._velocity(g, state, group["momentum"])
        p.add_(v, alpha=-group["lr"])  # p_t = p_{t-1} − η v_t


class Nesterov(Momentum):
    """Nesterov momentum; equals ``torch.optim.SGD(lr, momentum=β, nesterov=True, weight_decay=λ)``.

        g ← g + λ p
        v ← β v + g        (first step v = g)
        p ← p − η (g + β v)     the step looks ahead along the updated velocity
    """

    def _update(self, p, grad, state, group):
        beta = group["momentum"]
        g = _coupled_decay(grad, p, group["weight_decay"])  # g_t = ∇f(p) + λ p
        v = self._velocity(g, state, beta)  # v_t = β v_{t-1} + g_t
        p.add_(g.add(v, alpha=beta), alpha=-group["lr"])  # p_t = p_{t-1} − η (g_t + β v_t)


class AdaGrad(_ScratchOptimizer):
    """AdaGrad; equals ``torch.optim.Adagrad(lr, eps, weight_decay=λ)`` (lr_decay=0, accumulator 0).

        g ← g + λ p
        s ← s + g²
        p ← p − η g / (√s + ε)

    ε sits outside the square root, as in torch; d2l writes √(s + ε).
    """

    def __init__(self, params, lr: float = 1e-2, *, eps: float = 1e-10, weight_decay: float = 0.0):
        defaults = dict(lr=lr, eps=eps, weight_decay=weight_decay)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(group: dict) -> None:
        group["lr"] = _check_positive("lr", group["lr"])
        group["eps"] = _check_positive("eps", group["eps"])
        group["weight_decay"] = _check_nonnegative("weight_decay", group["weight_decay"])

    def _update(self, p, grad, state, group):
        g = _coupled_decay(grad, p, group["weight_decay"])  # g_t = ∇f(p) + λ p
        s = state.setdefault("s", torch.zeros_like(p))
        s.addcmul_(g, g)  # s_t = s_{t-1} + g_t²
        p.addcdiv_(g, s.sqrt() + group["eps"], value=-group["lr"])  # p_t = p_{t-1} − η g_t / (√s_t + ε)


class RMSProp(_ScratchOptimizer):
    """RMSProp; equals ``torch.optim.RMSprop(lr, alpha, eps, weight_decay=λ)`` (momentum=0, centered=False).

        g ← g + λ p
        s ← α s + (1 − α) g²        (d2l calls α "gamma")
        p ← p − η g / (√s + ε)      (ε outside the square root, as torch)
    """

    def __init__(
        self, params, lr: float = 1e-2, *, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0
    ):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(group: dict) -> None:
        group["lr"] = _check_positive("lr", group["lr"])
        group["alpha"] = _check_unit_interval("alpha", group["alpha"])
        group["eps"] = _check_positive("eps", group["eps"])
        group["weight_decay"] = _check_nonnegative("weight_decay", group["weight_decay"])

    def _update(self, p, grad, state, group):
        alpha = group["alpha"]
        g = _coupled_decay(grad, p, group["weight_decay"])  # g_t = ∇f(p) + λ p
        s = state.setdefault("s", torch.zeros_like(p))
        s.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # s_t = α s_{t-1} + (1 − α) g_t²
        p.addcdiv_(g, s.sqrt() + group["eps"], value=-group["lr"])  # p_t = p_{t-1} − η g_t / (√s_t + ε)


class Adadelta(_ScratchOptimizer):
    """Adadelta (Zeiler 2012); equals ``torch.optim.Adadelta(lr, rho, eps, weight_decay=λ)``.

        g ← g + λ p
        s ← ρ s + (1 − ρ) g²
        Δ = √(u + ε) / √(s + ε) · g       the step, in the parameter's own units
        u ← ρ u + (1 − ρ) Δ²              a leaky average of the squared steps taken
        p ← p − η Δ

    RMSProp's η becomes √(u + ε), the root mean square of recent steps, so the step has the units of p
    whatever the units of f: no learning rate is needed in principle. torch keeps η as a plain multiplier,
    1 by default. ε sits inside both square roots here (unlike AdaGrad and RMSProp) and must be > 0: with
    u = 0 at the start, ε alone sets the first steps (ε = 0 would never move).
    """

    def __init__(self, params, lr: float = 1.0, *, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(group: dict) -> None:
        group["lr"] = _check_positive("lr", group["lr"])
        group["rho"] = _check_unit_interval("rho", group["rho"])
        group["eps"] = _check_positive("eps", group["eps"])
        group["weight_decay"] = _check_nonnegative("weight_decay", group["weight_decay"])

    def _update(self, p, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        g = _coupled_decay(grad, p, group["weight_decay"])  # g_t = ∇f(p) + λ p
        if not state:
            state.update(s=torch.zeros_like(p), u=torch.zeros_like(p))
        s, u = state["s"], state["u"]
        s.mul_(rho).addcmul_(g, g, value=1 - rho)  # s_t = ρ s_{t-1} + (1 − ρ) g_t²
        delta = u.add(eps).sqrt_().div_(s.add(eps).sqrt_()).mul_(g)  # Δ_t = √(u_{t-1} + ε) / √(s_t + ε) · g_t
        u.mul_(rho).addcmul_(delta, delta, value=1 - rho)  # u_t = ρ u_{t-1} + (1 − ρ) Δ_t²
        p.add_(delta, alpha=-group["lr"])  # p_t = p_{t-1} − η Δ_t


class Adam(_ScratchOptimizer):
    """Adam with bias correction; equals ``torch.optim.Adam`` (or ``torch.optim.AdamW`` if decoupled).

        t ← t + 1
        g ← g + λ p                 (coupled, decoupled=False: L2 decay, torch.optim.Adam)
        p ← p (1 − η λ)             (decoupled=True: torch.optim.AdamW)
        m ← β1 m + (1 − β1) g
        v ← β2 v + (1 − β2) g²
        v_max ← max(v_max, v)       (amsgrad=True only; then v_max replaces v below)
        m̂ = m / (1 − β1ᵗ),  v̂ = v / (1 − β2ᵗ)
        p ← p − η m̂ / (√v̂ + ε)

    AMSGrad (Reddi et al. 2018; ``amsgrad=True``, as torch.optim.Adam's keyword) keeps the running maximum of
    the raw v and bias-corrects that maximum, as torch does, so the per-coordinate rate η / (√v̂ + ε) cannot
    grow because the gradients shrink; only the bias correction, a fixed schedule, still raises it while
    β2ᵗ is not yet negligible.

    The bias correction uses the step count t. Dividing by the constants (1 − β1), (1 − β2)
    instead agrees at t = 1 only; later steps come out (1 − β1ᵗ)/(1 − β1) · √((1 − β2)/(1 − β2ᵗ))
    times Adam's step: 1.34 at t = 2, tending to √(1 − β2)/(1 − β1) ≈ 0.32 for the default betas.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        decoupled: bool = False,
    ):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, decoupled=decoupled)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(group: dict) -> None:
        group["lr"] = _check_positive("lr", group["lr"])
        group["betas"] = _check_betas(group["betas"])
        group["eps"] = _check_positive("eps", group["eps"])
        group["weight_decay"] = _check_nonnegative("weight_decay", group["weight_decay"])
        group["amsgrad"] = validate.flag("amsgrad", group["amsgrad"])
        group["decoupled"] = validate.flag("decoupled", group["decoupled"])

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
        state["step"] += 1
        t, m, v = state["step"], state["m"], state["v"]
        if group["decoupled"] and weight_decay != 0:
            p.mul_(1 - lr * weight_decay)  # p ← p (1 − η λ), outside the adaptive scaling
        elif not group["decoupled"]:
            grad = _coupled_decay(grad, p, weight_decay)  # g_t = ∇f(p) + λ p
        m.lerp_(grad, 1 - beta1)  # m_t = β1 m_{t-1} + (1 − β1) g_t
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v_t = β2 v_{t-1} + (1 − β2) g_t²
        if group["amsgrad"]:
            v_max = state.setdefault("v_max", torch.zeros_like(p))
            torch.maximum(v_max, v, out=v_max)  # v_max_t = max(v_max_{t-1}, v_t): never falls
            v = v_max  # and it, bias-corrected below, divides the step
        # torch's arithmetic order, to match it to float32 rounding:
        bias_correction1 = 1 - beta1**t  # 1 − β1ᵗ
        bias_correction2 = 1 - beta2**t  # 1 − β2ᵗ
        step_size = lr / bias_correction1  # η m̂_t = step_size · m_t
        denom = v.sqrt() / math.sqrt(bias_correction2) + group["eps"]  # √v̂_t + ε
        p.addcdiv_(m, denom, value=-step_size)  # p_t = p_{t-1} − η m̂_t / (√v̂_t + ε)


class AdamW(Adam):
    """Adam with decoupled weight decay; equals ``torch.optim.AdamW`` (same default λ = 1e-2).

        p ← p (1 − η λ), then the Adam step of ``Adam`` without λ in the gradient (AMSGrad's if amsgrad=True).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, decoupled=True)


# ---------------------------------------------------------------- momentum on one quadratic


def momentum_rate(lr: float, curvature: float, beta: float, *, nesterov: bool = False) -> float:
    """How fast (Nesterov) momentum converges on f(x) = L/2 · x²: the spectral radius of one step.

    One step maps the state (x, v) linearly (g = L x):

        heavy ball  v ← β v + g,  x ← x − η v            M = [[1 − ηL,       −ηβ ], [L, β]]
        Nesterov    v ← β v + g,  x ← x − η (g + β v)    M = [[1 − ηL(1+β),  −ηβ²], [L, β]]

    The distance to the minimum shrinks by about max |eigenvalue of M| per step: below 1 it converges,
    above 1 it diverges. That happens exactly when ηL < 2(1 + β) (heavy ball), ηL < 2(1 + β)/(1 + 2β) (Nesterov).
    """
    eta, L = _check_positive("lr", lr), _check_positive("curvature", curvature)
    beta = _check_unit_interval("beta", beta)
    nesterov = validate.flag("nesterov", nesterov)
    top = [1 - eta * L * (1 + beta), -eta * beta**2] if nesterov else [1 - eta * L, -eta * beta]
    M = torch.tensor([top, [L, beta]], dtype=torch.float64)
    return torch.linalg.eigvals(M).abs().max().item()


# ---------------------------------------------------------------- trajectories


def _check_x0(x0: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """x0 as a 1-D float32 tensor (a copy): a tensor, an array, or a sequence of numbers."""
    if isinstance(x0, torch.Tensor):
        if x0.dtype == torch.bool or x0.is_complex():
            raise TypeError(f"x0 must hold real numbers, got dtype {x0.dtype}")
    elif hasattr(x0, "dtype"):  # a NumPy array
        if getattr(x0.dtype, "kind", "") not in "iuf":
            raise TypeError(f"x0 must hold real numbers, got dtype {x0.dtype}")
    elif isinstance(x0, str | bytes) or not isinstance(x0, Iterable):
        raise TypeError(f"x0 must be a sequence of numbers (a list or a 1-D tensor), got {type(x0).__name__} "
                        f"{x0!r:.60}")
    else:  # a list or tuple: a bool or a string among the numbers is refused (NaN is, below, as not finite)
        x0 = list(x0)
        for i, v in enumerate(x0):
            if isinstance(v, bool | str | bytes) or v is None or type(v).__name__ in ("bool", "bool_"):  # NumPy's too
                raise TypeError(f"x0[{i}] must be a number, got {type(v).__name__} {v!r:.60}")
            if isinstance(v, torch.Tensor) and (v.dtype == torch.bool or v.is_complex()):  # torch.tensor(True)
                raise TypeError(f"x0[{i}] must be a real number, got a tensor of dtype {v.dtype}")
    try:
        x0 = torch.as_tensor(x0, dtype=torch.float32).detach().clone()
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"x0 must be a sequence of numbers (a list or a 1-D tensor): {error}") from None
    if x0.dim() != 1:
        raise ValueError(f"x0 must be 1-D, got shape {tuple(x0.shape)}")
    if len(x0) == 0:
        raise ValueError("x0 must hold at least one coordinate, got none")
    if not torch.isfinite(x0).all():
        raise ValueError(f"x0 must be finite, got {x0.tolist()}")
    return x0


@on_course_device
def trace(
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: Sequence[float] | torch.Tensor,
    steps: int,
    *,
    grad: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Points visited minimising f from x0: shape (steps + 1, d), row 0 = x0.

    ``make_optimizer([x])`` builds the optimizer (ours or torch.optim's) for the float32 leaf x.
    Once an iterate is non-finite (the run diverged) updating stops: that row and all later
    rows are NaN, and ``first_nonfinite`` finds where. ``grad``, if given, is ∇f written out
    (x ↦ gradient); it replaces autograd, which is most of the cost of a step on a tiny f.
    """
    steps = validate.integer("steps", steps)  # a bool, a string or 5.5: TypeError
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an int >= 0 and <= {MAX_STEPS}, got {steps!r}")
    for name, fn in (("make_optimizer", make_optimizer), ("f", f)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function, got {type(fn).__name__} {fn!r:.60}")
    if grad is not None and not callable(grad):
        raise TypeError(f"grad must be a function (x ↦ ∇f(x)) or None, got {type(grad).__name__} {grad!r:.60}")
    x0 = _check_x0(x0)
    x = x0.clone().requires_grad_(True)
    optimizer = make_optimizer([x])

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = f(x)
        if loss.dim() != 0:
            raise ValueError(f"f must return a scalar tensor, got shape {tuple(loss.shape)}")
        loss.backward()
        return loss

    rows = [x0]
    for t in range(1, steps + 1):
        if grad is None:
            optimizer.step(closure)
        else:
            x.grad = grad(x.detach())
            optimizer.step()
        rows.append(x.detach().clone())
        if t % 10 == 0 and not torch.isfinite(x).all():
            break  # diverged: no need to keep stepping on infinities
    points = torch.full((steps + 1, len(x0)), math.nan)
    points[: len(rows)] = torch.stack(rows)
    bad = first_nonfinite(points[: len(rows)])
    if bad is not None:
        points[bad:] = math.nan  # from the first non-finite iterate on, the path has left the numbers
    return points


def first_nonfinite(points: torch.Tensor) -> int | None:
    """Index of the first row of ``points`` holding a NaN or ±inf, or None if all are finite."""
    if not isinstance(points, torch.Tensor) or points.dim() == 0:
        raise TypeError(f"points must be a tensor of rows (steps + 1, d), got {type(points).__name__}")
    bad = (~torch.isfinite(points)).reshape(len(points), -1).any(dim=1).nonzero()
    return int(bad[0]) if len(bad) else None


@torch.no_grad()
@on_course_device
def loss_along(f: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor) -> torch.Tensor:
    """f at each row of ``points`` (from ``trace``): shape (steps + 1,), NaN where the row is not finite."""
    if not callable(f):
        raise TypeError(f"f must be a function, got {type(f).__name__} {f!r:.60}")
    if not isinstance(points, torch.Tensor):
        raise TypeError(f"points must be a tensor (from trace), got {type(points).__name__}")
    if points.dim() != 2:
        raise ValueError(f"points must be 2-D (steps + 1, d), got shape {tuple(points.shape)}")
    finite = torch.isfinite(points).all(dim=1)
    losses = [float(f(x)) if ok else math.nan for x, ok in zip(points, finite)]
    return torch.tensor(losses, dtype=torch.float32)
