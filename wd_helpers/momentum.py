"""Why momentum works: heavy-ball momentum on a convex quadratic, analysed exactly (Goh, "Why Momentum Really
Works", Distill 2017; Polyak 1964).

On f(x) = ½ Σᵢ λᵢ xᵢ² every eigen-direction i moves on its own. Distill's update

    z ← β z + ∇f(x),    x ← x − α z

is torch's ``SGD(lr=α, momentum=β)`` (``buf = β·buf + g``, ``p −= lr·buf``) and ``wd_helpers.optim.Momentum``:
the same iteration, checked in tests/test_momentum.py. Per direction the state (z, x) is multiplied by

    R(λ) = [[β, λ], [−αβ, 1 − αλ]]      trace 1 + β − αλ, determinant β

so the distance to the minimum shrinks by the spectral radius of R per step (the *rate*). Notebook 03b uses
these functions; ``wd_helpers.optim.momentum_rate`` is the same radius for one curvature, with Nesterov's too.
"""

import math

import torch

from . import validate

__all__ = [
    "DAMPING_REGIMES", "damping", "fit_rate", "gd_optimum", "is_stable", "iteration_matrix", "momentum_optimum",
    "run_quadratic", "spectral_radius",
]

DAMPING_REGIMES = ("under-damped", "critically damped", "over-damped")
CRITICAL_TOLERANCE = 1e-9  # |discriminant| ≤ this × (1 + β): a repeated eigenvalue up to float64 rounding
MAX_STEPS = 1_000_000


def _curvatures(lams) -> torch.Tensor:
    """λs as a 1-D float64 tensor of positive finite numbers (one number is one direction)."""
    if isinstance(lams, bool) or (isinstance(lams, torch.Tensor) and lams.dtype == torch.bool):
        raise TypeError(f"lams must be positive numbers (the curvatures), got {lams!r}")
    try:
        lams = torch.as_tensor(lams, dtype=torch.float64).detach().cpu().reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"lams must be positive numbers (the curvatures), got {type(lams).__name__}") from None
    if len(lams) == 0 or not bool(torch.isfinite(lams).all()) or not bool((lams > 0).all()):
        raise ValueError(f"lams must be positive finite numbers (the curvatures), got {lams.tolist()}")
    return lams


def _grid(name: str, value, low: float, high: float, *, low_open: bool, high_open: bool) -> torch.Tensor:
    """A number, or a tensor / array of them (a grid), as float64, each in the range."""
    if isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        raise TypeError(f"{name} must be a number or a tensor of numbers, got {value!r}")
    try:
        tensor = torch.as_tensor(value, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a number or a tensor of numbers, got {type(value).__name__}") from None
    below = tensor <= low if low_open else tensor < low
    above = tensor >= high if high_open else tensor > high
    if tensor.numel() == 0 or not bool(torch.isfinite(tensor).all()) or bool((below | above).any()):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        shown = tensor.item() if tensor.numel() == 1 else f"values from {tensor.min().item():g} to {tensor.max().item():g}"
        raise ValueError(f"{name} must be finite and in {interval}, got {shown}")
    return tensor


def _alpha(alpha) -> torch.Tensor:
    return _grid("alpha", alpha, 0.0, math.inf, low_open=True, high_open=True)


def _beta(beta) -> torch.Tensor:
    return _grid("beta", beta, 0.0, 1.0, low_open=False, high_open=True)


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
    real = torch.maximum((trace + root).abs(), (trace - root).abs()) / 2
    return torch.where(disc < 0, beta.sqrt().expand_as(real), real), disc


def spectral_radius(alpha, beta, lams) -> torch.Tensor | float:
    """The rate of heavy-ball momentum: max over the curvatures ``lams`` of R(λ)'s largest |eigenvalue|.

    ``alpha`` and ``beta`` may be numbers (a float is returned) or tensors / arrays that broadcast (a grid over
    the (α, β) plane: a tensor of that shape). Below 1 the distance to the minimum shrinks by about this factor
    per step; above 1 it grows. β = 0 is gradient descent: max |1 − αλ|.
    """
    lams = _curvatures(lams)
    a, b = _alpha(alpha), _beta(beta)
    shape = torch.broadcast_shapes(a.shape, b.shape)
    a, b = a.expand(shape)[..., None], b.expand(shape)[..., None]
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
    real eigenvalues: a slow creep). The repeated case is taken within CRITICAL_TOLERANCE of float64 rounding."""
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
    a, b = _alpha(alpha), _beta(beta)
    stable = (a[..., None] * lams < 2 * (1 + b[..., None])).all(dim=-1)
    return bool(stable) if stable.ndim == 0 else stable


def run_quadratic(alpha: float, beta: float, lams, x0, steps: int) -> torch.Tensor:
    """The iterates of heavy ball on f(x) = ½ Σ λᵢ xᵢ² from ``x0`` with z₀ = 0, in float64: (steps + 1, d)."""
    lams = _curvatures(lams)
    alpha, beta = _one_alpha(alpha), _one_beta(beta)
    x = _start("x0", x0, len(lams))
    steps = validate.integer("steps", steps, low=0, high=MAX_STEPS)
    z = torch.zeros_like(x)
    path = [x]
    for _ in range(steps):
        z = beta * z + lams * x  # ∇f(x) = λ ⊙ x
        x = x - alpha * z
        path.append(x)
    return torch.stack(path)


def _start(name: str, x0, d: int) -> torch.Tensor:
    if isinstance(x0, bool) or (isinstance(x0, torch.Tensor) and x0.dtype == torch.bool):
        raise TypeError(f"{name} must be {d} numbers, got {x0!r}")
    try:
        x = torch.as_tensor(x0, dtype=torch.float64).detach().cpu().reshape(-1).clone()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be {d} numbers, got {type(x0).__name__}") from None
    if len(x) != d or not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be {d} finite numbers (one per curvature), got {x.tolist()}")
    return x


def fit_rate(errors, *, kind: str = "geometric", start: int | None = None) -> float:
    """The per-step rate ρ measured from a sequence of errors e_t = ‖x_t‖ (t = 0, 1, …).

    kind='geometric' fits log e_t ≈ a + t·log ρ (e_t ≈ C ρᵗ, a diagonalisable iteration); kind='repeated' fits
    log(e_t / t) ≈ a + t·log ρ (e_t ≈ C t ρᵗ, a repeated eigenvalue, as at momentum's optimum). The fit uses
    the steps from ``start`` (default: a quarter of the way, past the transient) to the last one whose error is
    above 1e-250 (float64 underflow) — least squares on the logarithms.
    """
    kind = validate.choice("kind", kind, ("geometric", "repeated"))
    e = _grid("errors", errors, 0.0, math.inf, low_open=False, high_open=True).reshape(-1)
    if len(e) < 4:
        raise ValueError(f"errors must hold at least 4 steps, got {len(e)}")
    t = torch.arange(len(e), dtype=torch.float64)
    usable = e > 1e-250
    last = int(usable.nonzero().max()) if bool(usable.any()) else -1
    start = max(len(e) // 4, 1) if start is None else validate.integer("start", start, low=1, high=len(e) - 3)
    if last - start < 2:
        raise ValueError(f"errors must stay above 1e-250 for at least 3 steps from step {start}")
    t, e = t[start:last + 1], e[start:last + 1]
    y = e.log() - (t.log() if kind == "repeated" else 0)
    slope = ((t - t.mean()) * (y - y.mean())).sum() / ((t - t.mean()) ** 2).sum()
    return math.exp(slope.item())
