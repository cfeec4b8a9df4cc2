"""What weight decay fights, and what else regularises: the minimum-norm interpolant that gradient descent
finds from w₀ = 0, the part of a random start it never touches, early stopping, scale-invariant layers and
how λ scales with the loss's reduction.

Notebook 04b uses these; tests/test_generalisation.py checks each against an independent computation.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from . import validate
from .data import synthetic_regression
from .device import on_course_device
from .seeding import derived_generator
from .train import _one_thread

__all__ = [
    "LessonProblem", "best_epoch", "gd_path", "lesson_problem", "min_norm_solution", "row_space_split",
    "scale_invariant_model", "scale_invariant_training", "with_bias_column",
]

MAX_STEPS = 1_000_000
NORMS = ("batch", "layer")


def _matrix(name: str, value) -> torch.Tensor:
    X = validate.finite_tensor(name, value, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column, got shape {tuple(X.shape)}")
    return X.double()


def _targets(y, n: int) -> torch.Tensor:
    y = validate.finite_tensor("y", y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) or ({n}, 1), one target per row of X, got {tuple(y.shape)}")
    return y.double()


def _vector(name: str, w, d: int) -> torch.Tensor:
    w = validate.finite_tensor(name, w)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (d,):
        raise ValueError(f"{name} must have shape ({d},), one weight per column of X, got {tuple(w.shape)}")
    return w.double()


def with_bias_column(X) -> torch.Tensor:
    """[X, 1]: the design matrix of a linear model with a bias, in float64 (the bias is the last weight)."""
    X = _matrix("X", X)
    return torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], dim=1)


def min_norm_solution(X, y) -> torch.Tensor:
    """X⁺y: of all w that fit the data as well as possible, the one with the smallest ‖w‖ (float64).

    With more columns than rows (and rows independent) every such w interpolates, Xw = y; X⁺y is the one in
    the row space of X, the space spanned by the examples.
    """
    X = _matrix("X", X)
    return torch.linalg.pinv(X) @ _targets(y, len(X))


def row_space_split(w, X) -> tuple[torch.Tensor, torch.Tensor]:
    """(P w, w − P w): w's component in the row space of X (spanned by the examples) and the rest.

    Gradient descent on any loss of Xw moves w only along the row space (∇_w = Xᵀ·something), so the second
    component is whatever the start put there, untouched.
    """
    X = _matrix("X", X)
    w = _vector("w", w, X.shape[1])
    inside = torch.linalg.pinv(X) @ (X @ w)  # P = X⁺X, the orthogonal projector onto the row space
    return inside, w - inside



@_one_thread()  # tiny matrices: a second thread only waits (as in wd_helpers.train)
def gd_path(X, y, w0, *, lr: float, steps: int, lambd: float = 0.0, reduction: str = "mean") -> torch.Tensor:
    """Full-batch gradient descent on loss(w) + λ/2‖w‖² from ``w0``, in float64: the weights after each step.

    loss = ‖Xw − y‖²/n with reduction="mean" (nn.MSELoss), ‖Xw − y‖² with "sum". Each step
        w ← w − η (∇loss(w) + λ w)
    Returns a (steps + 1, d) tensor, row t the weights after t steps (row 0 is w0).
    """
    X = _matrix("X", X)
    n, d = X.shape
    y = _targets(y, n)
    w = _vector("w0", w0, d).clone()
    lr = validate.number("lr", lr, low=0.0, low_open=True)
    steps = validate.integer("steps", steps, low=0, high=MAX_STEPS)
    lambd = validate.number("lambd", lambd, low=0.0)
    scale = 2 / n if validate.choice("reduction", reduction, ("mean", "sum")) == "mean" else 2.0
    path = [w]
    for _ in range(steps):
        w = w - lr * (scale * X.T @ (X @ w - y) + lambd * w)
        path.append(w)
    return torch.stack(path)


@dataclass(frozen=True)
class LessonProblem:
    """Notebook 04's regression as least squares in 201 weights, the bias last on a column of ones (float64)."""

    X: torch.Tensor  # (20, 201) [X_train, 1]
    y: torch.Tensor  # (20,)
    X_test: torch.Tensor  # (100, 201)
    y_test: torch.Tensor  # (100,)
    w_start: torch.Tensor  # (201,) train_weight_decay's start: w ~ N(0, I) drawn right after the data, bias 0
    w_true: torch.Tensor  # (201,) [0.01, …, 0.01, 0.05]


@on_course_device
def lesson_problem(*, seed: int = 0, noise: float = 0.01) -> LessonProblem:
    """The data and random start ``train_weight_decay(seed=seed)`` uses: ``Generator().manual_seed(seed)`` draws
    the data (``synthetic_regression``), then w₀. ``noise=0`` gives the same inputs with noise-free targets."""
    generator = torch.Generator().manual_seed(validate.seed(seed))
    data = synthetic_regression(noise=validate.number("noise", noise, low=0.0), generator=generator)
    w_start = torch.randn(data.num_inputs, generator=generator).double()
    bias = torch.zeros(1, dtype=torch.float64)
    return LessonProblem(
        X=with_bias_column(data.X_train), y=data.y_train[:, 0].double(), X_test=with_bias_column(data.X_test),
        y_test=data.y_test[:, 0].double(), w_start=torch.cat([w_start, bias]),
        w_true=torch.cat([data.true_w[:, 0].double(), bias + data.true_b]),
    )


def best_epoch(curve) -> tuple[int, float]:
    """(epoch, value) of the lowest value of a per-epoch curve, epochs counted from 1; ties go to the earliest.

    The epoch early stopping would keep, looking at this curve (a validation curve in practice: the lesson
    uses the test curve only to show what stopping could at best achieve)."""
    values = validate.numbers_of("curve", curve)
    best = min(range(len(values)), key=lambda i: (values[i], i))
    return best + 1, values[best]


@on_course_device
@_one_thread()  # measured: 300 steps take 0.09 s on one thread, 2.5 s on two on a busy 2-core machine
def scale_invariant_training(*, weight_decay: float, lr: float = 0.1, steps: int = 200, init_scale: float = 1.0,
                             seed: int = 0, norm: str = "batch") -> dict:
    """Train W in  x ↦ v · Norm(W x)  (W: 16 × 8, BatchNorm1d or, with norm="layer", LayerNorm, without affine; v
    fixed) by full-batch SGD with ``weight_decay`` on W, against a teacher of the same form with another W; 64
    seeded examples, MSE loss. W starts ``init_scale`` times its usual 1/√8 size.

    The norm makes the output invariant to the scale of W (BatchNorm: of each row, in fact), so the gradient is
    orthogonal to W and shrinks as 1/‖W‖; an SGD step then gives ‖W − ηg‖² = ‖W‖² + η²‖g‖² without decay. Returns per step: 'norms' (‖W‖ before the step), 'effective_lrs' (η/‖W‖², the
    step W takes relative to its own size), 'losses', and 'cosines' (cos of the angle between each step's
    gradient and W: 0 up to rounding).
    """
    weight_decay = validate.number("weight_decay", weight_decay, low=0.0)
    lr = validate.number("lr", lr, low=0.0, low_open=True)
    steps = validate.integer("steps", steps, low=1, high=100_000)
    init_scale = validate.number("init_scale", init_scale, low=0.0, low_open=True)
    norm = validate.choice("norm", norm, NORMS)
    generator = derived_generator(validate.seed(seed), "scale-invariant")
    X = torch.randn(64, 8, generator=generator)
    v = torch.randn(16, generator=generator) / 4
    teacher = scale_invariant_model(torch.randn(16, 8, generator=generator), v, norm=norm)
    with torch.no_grad():
        y = teacher(X)
    W = torch.randn(16, 8, generator=generator) / math.sqrt(8) * init_scale
    model = scale_invariant_model(W, v, norm=norm)
    weight = model[0].weight
    optimizer = torch.optim.SGD([weight], lr=lr, weight_decay=weight_decay)
    norms, effective, losses, cosines = [], [], [], []
    for _ in range(steps):
        norm = weight.detach().norm().item()
        norms.append(norm)
        effective.append(lr / norm**2)
        loss = nn.functional.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        cosines.append(nn.functional.cosine_similarity(weight.grad.flatten(), weight.detach().flatten(), dim=0).item())
        optimizer.step()
        losses.append(loss.item())
    return {"norms": norms, "effective_lrs": effective, "losses": losses, "cosines": cosines}


@on_course_device
def scale_invariant_model(W, v, *, norm: str = "batch", affine: bool = False, eps: float = 1e-5) -> nn.Sequential:
    """x ↦ v · Norm(W x): Linear(d, k, bias=False) with weight W (trainable), BatchNorm1d(k) or, with norm="layer",
    LayerNorm(k) (their own scale and shift only with ``affine``), and a fixed readout v (k,), in W's dtype.

    BatchNorm in training mode normalises each unit over the batch, LayerNorm each example over the units: either
    way c·W gives the same output as W for every c > 0, up to the norm's ``eps`` added to the variance (torch's
    default 1e-5)."""
    W = validate.finite_tensor("W", W, ndim=2)
    v = validate.finite_tensor("v", v, ndim=1)
    if len(v) != W.shape[0]:
        raise ValueError(f"v must have one entry per row of W ({W.shape[0]}), got {len(v)}")
    k, d = W.shape
    affine = validate.flag("affine", affine)
    eps = validate.number("eps", eps, low=0.0, low_open=True)
    if validate.choice("norm", norm, NORMS) == "batch":
        norm_layer = nn.BatchNorm1d(k, eps=eps, affine=affine)
    else:
        norm_layer = nn.LayerNorm(k, eps=eps, elementwise_affine=affine)
    first = nn.Linear(d, k, bias=False, dtype=W.dtype)
    readout = nn.Linear(k, 1, bias=False, dtype=W.dtype)
    with torch.no_grad():
        first.weight.copy_(W)
        readout.weight.copy_(v[None, :])
    readout.weight.requires_grad_(False)
    return nn.Sequential(first, norm_layer.to(W.dtype), readout)
