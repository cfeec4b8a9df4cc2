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
from .train import _one_thread, sweep_weight_decay

__all__ = [
    "EarlyStopping", "GDRun", "LessonProblem", "best_epoch", "early_stopping_vs_weight_decay", "gd_path",
    "lesson_gradient_descent", "lesson_problem", "min_norm_solution", "optimizer_path", "row_space_split",
    "scale_invariance_check", "scale_invariant_model", "scale_invariant_training", "span_decomposition",
    "summed_loss_equivalent", "with_bias_column",
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


def span_decomposition(w, X) -> tuple[torch.Tensor, torch.Tensor]:
    """(P w, w − P w): w's component in the row space of X (spanned by the examples) and the rest.

    Gradient descent on any loss of Xw moves w only along the row space (∇_w = Xᵀ·something), so the second
    component is whatever the start put there, untouched.
    """
    X = _matrix("X", X)
    w = _vector("w", w, X.shape[1])
    inside = torch.linalg.pinv(X) @ (X @ w)  # P = X⁺X, the orthogonal projector onto the row space
    return inside, w - inside


row_space_split = span_decomposition  # the name notebook 04b uses


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


@dataclass(frozen=True)
class GDRun:
    """One full-batch run: per finished step (= epoch, entry t − 1 after t steps, as in a History), the data
    losses (nn.MSELoss, without the penalty) and ‖P⊥w_t‖, the norm of w_t's part orthogonal to the training
    inputs; ``w0`` the start, ``w`` the end (201,)."""

    w0: torch.Tensor
    w: torch.Tensor
    train_loss: list[float]
    test_loss: list[float]
    outside_norms: list[float]


@on_course_device
@_one_thread()
def lesson_gradient_descent(start="zero", *, lr: float = 0.02, num_epochs: int = 2000, lambd: float = 0.0,
                            seed: int = 0, noise: float = 0.01) -> GDRun:
    """Full-batch gradient descent (``gd_path``, float64) on ``lesson_problem(seed=seed, noise=noise)``.

    ``start``: "zero", "random" (train_weight_decay's w₀ ~ N(0, I), bias 0) or a (201,) tensor. Every step adds
    a vector of the row space, so with λ = 0 ‖P⊥w_t‖ = ‖P⊥w₀‖ for every t, and w_t → X⁺y + P⊥w₀; with λ > 0,
    P⊥w_t = (1 − ηλ)ᵗ P⊥w₀. (train_weight_decay cannot be given a start nor report per-epoch weights, hence
    this loop; η = 0.02 is below 2/L ≈ 0.055 for this X.)
    """
    problem = lesson_problem(seed=seed, noise=noise)
    if isinstance(start, str):
        w0 = {"zero": torch.zeros_like(problem.w_start), "random": problem.w_start}[
            validate.choice("start", start, ("zero", "random"))]
    else:
        w0 = _vector("start", start, problem.X.shape[1])
    num_epochs = validate.integer("num_epochs", num_epochs, low=1, high=MAX_STEPS)
    path = gd_path(problem.X, problem.y, w0, lr=lr, steps=num_epochs, lambd=lambd)[1:]  # (E, 201)
    projector = torch.linalg.pinv(problem.X) @ problem.X  # P = X⁺X, symmetric
    return GDRun(
        w0=w0, w=path[-1],
        train_loss=((path @ problem.X.T - problem.y) ** 2).mean(1).tolist(),
        test_loss=((path @ problem.X_test.T - problem.y_test) ** 2).mean(1).tolist(),
        outside_norms=(path - path @ projector).norm(dim=1).tolist(),
    )


def best_epoch(curve) -> tuple[int, float]:
    """(epoch, value) of the lowest value of a per-epoch curve, epochs counted from 1; ties go to the earliest.

    The epoch early stopping would keep, looking at this curve (a validation curve in practice: the lesson
    uses the test curve only to show what stopping could at best achieve)."""
    values = validate.numbers_of("curve", curve)
    best = min(range(len(values)), key=lambda i: (values[i], i))
    return best + 1, values[best]


@dataclass(frozen=True)
class EarlyStopping:
    """Early stopping of the unregularised run against the best λ of a sweep, on the same data and start."""

    epoch: int  # best epoch of the λ = 0 run's test curve (from 1)
    stopped_test_loss: float  # its test loss there
    best_lambda: float  # the λ with the lowest final test loss (ties: the earliest in ``lambdas``)
    lambda_test_loss: float  # that λ's final test loss


def early_stopping_vs_weight_decay(lambdas=(1.0, 3.0, 10.0, 30.0, 100.0), *, seed: int = 0,
                                   **options) -> EarlyStopping:
    """Train λ = 0 and every λ of ``lambdas`` in one ``sweep_weight_decay`` (``options``: its lr, num_epochs, data,
    noise, …); stop the λ = 0 run at the best epoch of its test curve (``best_epoch``: the most optimistic early
    stopping, the one an oracle would choose) and compare with the best λ's final test loss."""
    lambdas = validate.numbers_of("lambdas", lambdas, low=0.0)
    plain, *runs = sweep_weight_decay([0.0, *lambdas], seed=seed, **options)
    epoch, stopped = best_epoch(plain.test_loss)
    best = min(range(len(runs)), key=lambda i: (runs[i].final_test_loss, i))
    return EarlyStopping(epoch, stopped, lambdas[best], runs[best].final_test_loss)


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


@on_course_device
@_one_thread()
def scale_invariance_check(*, c: float = 10.0, norm: str = "batch", affine: bool = False, eps: float = 1e-5,
                           seed: int = 0, dtype: torch.dtype = torch.float64) -> dict:
    """Compare v · Norm(W x) at W and at c·W (W 16 × 8, 32 seeded examples, MSE loss against seeded targets; with
    ``affine`` the norm's scale and shift are drawn at random too). Returns

    'output_change'  max |f_cW(X) − f_W(X)|                             0 (up to the norm's ε)
    'cosine'         cos(∇_W loss, W)                                  0: the loss is flat along W ↦ cW
    'grad_ratio'     ‖∇loss at cW‖ / ‖∇loss at W‖                      1/c: from L(cW) = L(W), c·∇L(cW) = ∇L(W)
    With the default ε = 1e-5 the deviations are ~1e-5 (ε against a variance of ~8); with ε = 1e-12 in float64, ~1e-12.
    """
    c = validate.number("c", c, low=0.0, low_open=True)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    generator = derived_generator(validate.seed(seed), "scale-invariance")
    W, v = torch.randn(16, 8, generator=generator, dtype=dtype), torch.randn(16, generator=generator, dtype=dtype)
    X, y = torch.randn(32, 8, generator=generator, dtype=dtype), torch.randn(32, 1, generator=generator, dtype=dtype)
    scale, shift = torch.rand(16, generator=generator, dtype=dtype) + 0.5, torch.randn(16, generator=generator, dtype=dtype)
    outputs, grads = [], []
    for factor in (1.0, c):
        model = scale_invariant_model(factor * W, v, norm=norm, affine=affine, eps=eps)
        if affine:
            with torch.no_grad():
                model[1].weight.copy_(scale)
                model[1].bias.copy_(shift)
        out = model(X)
        nn.functional.mse_loss(out, y).backward()
        outputs.append(out.detach())
        grads.append(model[0].weight.grad)
    return {
        "output_change": (outputs[1] - outputs[0]).abs().max().item(),
        "cosine": nn.functional.cosine_similarity(grads[0].flatten(), W.flatten(), dim=0).item(),
        "grad_ratio": (grads[1].norm() / grads[0].norm()).item(),
    }


OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def summed_loss_equivalent(lambd: float, lr: float, n: int, *, optimizer: str = "sgd") -> tuple[float, float]:
    """(λ_sum, η_sum) that make training on the summed loss step for step the training on the mean loss with
    (λ, η), for n examples per (full) batch. Weight decay as torch.optim's ``weight_decay`` (penalty λ/2‖w‖²).

    The summed loss is n times the mean one, and so is its gradient: g_sum = n·g_mean.
      "sgd"   (SGD, with or without momentum): w ← w − η(g + λw). With λ_sum = nλ the whole bracket is n times
              larger, so η_sum = η/n gives the same step: (nλ, η/n). (The minimiser itself needs only λ_sum = nλ:
              η sets the path and the stability, 2/L shrinks by n with the sum.)
      "adam"  (Adam + L2): g + λw enters m and √v alike, and m̂/√v̂ does not change when the gradient is multiplied
              by n: (nλ, η), exact when ε is scaled by n too (with ε = 1e-8 the difference is negligible here).
      "adamw" (decoupled): w ← (1 − ηλ)w − η m̂/(√v̂ + ε); the decay never sees the loss and the step is
              invariant to the gradient's scale: (λ, η), nothing changes. Applying the SGD rule there decays n×
              more.
    """
    lambd = validate.number("lambd", lambd, low=0.0)
    lr = validate.number("lr", lr, low=0.0, low_open=True)
    n = validate.integer("n", n, low=1)
    optimizer = validate.choice("optimizer", optimizer, OPTIMIZERS)
    return {"sgd": (n * lambd, lr / n), "adam": (n * lambd, lr), "adamw": (lambd, lr)}[optimizer]


@on_course_device
@_one_thread()
def optimizer_path(X, y, w0, *, optimizer: str = "sgd", lr: float, steps: int, lambd: float = 0.0,
                   reduction: str = "mean", eps: float = 1e-8) -> torch.Tensor:
    """Full-batch training of ŷ = Xw by ``torch.optim`` ("sgd", "adam" or "adamw", ``weight_decay=λ``, ``eps`` for
    the Adams) on nn.MSELoss(reduction=…), in float64, with autograd: the weights after each step, (steps + 1, d).

    With "sgd" these are ``gd_path``'s numbers (closed-form gradients; the tests compare the two).
    """
    X = _matrix("X", X)
    n, d = X.shape
    y = _targets(y, n)
    w = nn.Parameter(_vector("w0", w0, d).clone())
    lr = validate.number("lr", lr, low=0.0, low_open=True)
    steps = validate.integer("steps", steps, low=0, high=MAX_STEPS)
    lambd = validate.number("lambd", lambd, low=0.0)
    reduction = validate.choice("reduction", reduction, ("mean", "sum"))
    kind = validate.choice("optimizer", optimizer, OPTIMIZERS)
    extra = {} if kind == "sgd" else {"eps": validate.number("eps", eps, low=0.0, low_open=True)}
    opt = OPTIMIZERS[kind]([w], lr=lr, weight_decay=lambd, **extra)
    path = [w.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(X @ w, y, reduction=reduction).backward()
        opt.step()
        path.append(w.detach().clone())
    return torch.stack(path)
