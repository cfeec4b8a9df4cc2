"""From-scratch learning-rate schedules equal to torch.optim.lr_scheduler's, and minibatch SGD to compare them.

A schedule is a plain function ``schedule(step, lr) -> float``: the learning rate after ``step`` scheduler steps
(0, 1, 2, …) when the base rate is ``lr``, written in closed form. torch's schedulers compute most of these
recursively (each rate from the previous one), which accumulates float rounding: the two agree to about 1e-13
relative, and tests/test_schedules.py checks it. Bind the hyper-parameters with ``functools.partial``:

    cosine = partial(cosine_lr, T_max=100, eta_min=0.001)
    lr_sequence(cosine, 0.1, 120)      # the rates of 120 steps, as a list
    attach(optimizer, cosine)          # a torch LambdaLR that follows ours

``sgd_least_squares`` runs minibatch SGD on a least-squares problem, many seeds at once, under any schedule;
``train_with_scheduler`` trains any model with any torch scheduler (ours through ``attach``).
"""

import math
from collections.abc import Callable

import torch

from . import validate
from .device import on_course_device
from .threads import on_course_threads

MAX_STEPS = 1_000_000  # far more steps than any lesson takes: a bound against typos (1e9)
MAX_RUNS = 1_000  # independent runs of one sgd_least_squares call
DRAW_CHUNK = 256  # sgd_least_squares draws the minibatches of this many steps at once

Schedule = Callable[[int, float], float]  # (step, base lr) -> lr

# ---------------------------------------------------------------- validation


def _step(step) -> int:
    return validate.integer("step", step, low=0)


def _lr(lr) -> float:
    return validate.number("lr", lr, low=0.0, low_open=True)


def _gamma(gamma) -> float:
    return validate.number("gamma", gamma, low=0.0, high=1.0, low_open=True)  # a decay factor: 1 keeps lr constant


def _callable(name: str, value, what: str):
    if not callable(value):
        raise TypeError(f"{name} must be a function {what}, got {type(value).__name__} {value!r:.60}")
    return value


# ---------------------------------------------------------------- schedules (closed forms)


def step_lr(step: int, lr: float, *, step_size: int, gamma: float = 0.1) -> float:
    """torch's StepLR: lr · γ^⌊t / step_size⌋, the rate cut by γ every ``step_size`` steps."""
    step, lr = _step(step), _lr(lr)
    step_size = validate.integer("step_size", step_size, low=1)
    return lr * _gamma(gamma) ** (step // step_size)  # η_t = η γ^⌊t/s⌋


def exponential_lr(step: int, lr: float, *, gamma: float) -> float:
    """torch's ExponentialLR: lr · γᵗ."""
    step, lr = _step(step), _lr(lr)
    return lr * _gamma(gamma) ** step  # η_t = η γᵗ


def cosine_lr(step: int, lr: float, *, T_max: int, eta_min: float = 0.0) -> float:
    """torch's CosineAnnealingLR: η_min + (lr − η_min) · (1 + cos(π t / T_max)) / 2.

    Half a cosine period from lr at t = 0 down to η_min at t = T_max. Past T_max torch's rate climbs back up the
    cosine (it is periodic, period 2·T_max), and so does this one: set T_max to the whole budget.
    """
    step, lr = _step(step), _lr(lr)
    T_max = validate.integer("T_max", T_max, low=1)
    eta_min = validate.number("eta_min", eta_min, low=0.0)
    if eta_min > lr:
        raise ValueError(f"eta_min must be in [0, lr] = [0, {lr:g}], got {eta_min!r}")
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2  # radians: π t / T_max


def linear_lr(step: int, lr: float, *, start_factor: float = 1 / 3, end_factor: float = 1.0,
              total_iters: int = 5) -> float:
    """torch's LinearLR: lr times a factor going linearly from ``start_factor`` to ``end_factor`` in ``total_iters``
    steps, then staying there. With end_factor = 1 it is a linear warm-up.

        η_t = η (s + (e − s) · min(t, T) / T)
    """
    step, lr = _step(step), _lr(lr)
    start_factor = validate.number("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
    end_factor = validate.number("end_factor", end_factor, low=0.0, high=1.0)
    total_iters = validate.integer("total_iters", total_iters, low=1)
    return lr * (start_factor + (end_factor - start_factor) * min(step, total_iters) / total_iters)


def warmup_cosine_lr(step: int, lr: float, *, warmup_steps: int, T_max: int, start_factor: float = 1 / 3,
                     eta_min: float = 0.0) -> float:
    """A linear warm-up for ``warmup_steps`` steps, then cosine annealing over ``T_max`` more steps.

    torch's SequentialLR([LinearLR(start_factor, total_iters=warmup_steps), CosineAnnealingLR(T_max, eta_min)],
    milestones=[warmup_steps]): the warm-up rises from start_factor · lr towards lr (it reaches lr only where the
    cosine takes over, at t = warmup_steps), then η_t = cosine_lr(t − warmup_steps).
    """
    step, lr = _step(step), _lr(lr)
    warmup_steps = validate.integer("warmup_steps", warmup_steps, low=1)
    # every argument is checked on every step, not only in the phase that uses it
    warmup = dict(start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)
    anneal = dict(T_max=T_max, eta_min=eta_min)
    linear, cosine = linear_lr(step, lr, **warmup), cosine_lr(max(step - warmup_steps, 0), lr, **anneal)
    return linear if step < warmup_steps else cosine


def inverse_time_lr(step: int, lr: float, *, decay: float) -> float:
    """The 1/t decay of stochastic approximation: lr / (1 + decay · t). torch has no class for it (LambdaLR does it)."""
    step, lr = _step(step), _lr(lr)
    return lr / (1 + validate.number("decay", decay, low=0.0) * step)  # η_t = η / (1 + κ t)


# ---------------------------------------------------------------- sequences, and torch


def lr_sequence(schedule: Schedule, lr: float, num_steps: int) -> list[float]:
    """[schedule(0, lr), …, schedule(num_steps − 1, lr)]: the rate each of ``num_steps`` steps uses."""
    _callable("schedule", schedule, "(step, lr) -> lr")
    lr = _lr(lr)
    num_steps = validate.integer("num_steps", num_steps, low=0, high=MAX_STEPS)
    rates = [schedule(t, lr) for t in range(num_steps)]
    return [validate.number(f"schedule({t}, lr)", rate) for t, rate in enumerate(rates)]  # a number, finite


@on_course_device
def torch_lr_sequence(make_scheduler: Callable, lr: float, num_steps: int) -> list[float]:
    """The rate each of ``num_steps`` steps uses under ``make_scheduler(optimizer)`` (a torch scheduler).

    Runs a torch.optim.SGD on one dummy parameter: read the rate, ``optimizer.step()``, ``scheduler.step()``.
    """
    _callable("make_scheduler", make_scheduler, "(optimizer) -> torch scheduler")
    lr = _lr(lr)
    num_steps = validate.integer("num_steps", num_steps, low=0, high=MAX_STEPS)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(num_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradient: nothing moves; torch wants this call before scheduler.step()
        scheduler.step()
    return rates


def attach(optimizer: torch.optim.Optimizer, schedule: Schedule) -> torch.optim.lr_scheduler.LambdaLR:
    """A torch LambdaLR that gives each parameter group ``schedule(t, its base lr)`` after t ``.step()`` calls.

    LambdaLR multiplies each group's initial lr by a factor: here schedule(t, base) / base.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    _callable("schedule", schedule, "(step, lr) -> lr")
    bases = [_lr(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, [lambda t, base=base: schedule(t, base) / base for base in bases])


# ---------------------------------------------------------------- training under a schedule


def _data(X, y) -> tuple[torch.Tensor, torch.Tensor]:
    X = validate.finite_tensor("X", X, ndim=2)
    y = validate.finite_tensor("y", y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},) or ({len(X)}, 1), one target per row of X, "
                         f"got {tuple(y.shape)}")
    return X, y


@on_course_device
@on_course_threads
def sgd_least_squares(
    X: torch.Tensor, y: torch.Tensor, *, lr: float, batch_size: int, num_steps: int,
    schedule: Schedule | None = None, num_runs: int = 1, seed: int = 0,
) -> torch.Tensor:
    """Minibatch SGD on the training mean squared error L(w) = ‖Xw − y‖² / n, from w = 0, ``num_runs`` runs at once.

    Step t of each run draws ``batch_size`` rows with replacement (its own draw) and moves
        w ← w − η_t · (2 / B) X_bᵀ (X_b w − y_b),     η_t = schedule(t, lr) (lr when schedule is None)
    Drawing with replacement makes every minibatch gradient an independent, unbiased estimate of ∇L.
    Computed in float64. Returns L along the way: shape (num_runs, num_steps + 1), column t before step t.
    Randomness comes from ``seed`` only; a diverging run gives inf or NaN from where it overflows.
    """
    X, y = _data(X, y)
    n = len(X)
    lr = _lr(lr)
    batch_size = validate.integer("batch_size", batch_size, low=1, high=n)
    num_steps = validate.integer("num_steps", num_steps, low=0, high=MAX_STEPS)
    if schedule is not None:
        _callable("schedule", schedule, "(step, lr) -> lr, or None")
    num_runs = validate.integer("num_runs", num_runs, low=1, high=MAX_RUNS)
    generator = torch.Generator().manual_seed(validate.seed(seed))
    X, y = X.double(), y.double()
    W = torch.zeros(num_runs, X.shape[1], dtype=torch.float64)  # (R, d): one row per run
    path = [W]
    for start in range(0, num_steps, DRAW_CHUNK):
        # the minibatches of DRAW_CHUNK steps in one draw: the same numbers as one draw per step, fewer calls
        chunk = min(DRAW_CHUNK, num_steps - start)
        idx = torch.randint(n, (chunk, num_runs, batch_size), generator=generator)  # (chunk, R, B)
        X_chunk, y_chunk = X[idx], y[idx]  # (chunk, R, B, d), (chunk, R, B)
        for k in range(chunk):
            eta = lr if schedule is None else schedule(start + k, lr)
            X_b = X_chunk[k]
            residual = torch.bmm(X_b, W.unsqueeze(-1)).squeeze(-1) - y_chunk[k]  # X_b w − y_b, (R, B)
            W = W - eta * (2 / batch_size) * torch.bmm(X_b.transpose(1, 2), residual.unsqueeze(-1)).squeeze(-1)
            path.append(W)
    # L(w) = wᵀ(XᵀX/n)w − 2(Xᵀy/n)ᵀw + yᵀy/n: exact algebra, O(d²) per point instead of O(n d)
    H, b, c = X.T @ X / n, X.T @ y / n, y @ y / n
    W = torch.stack(path, dim=1)  # (R, num_steps + 1, d)
    return torch.einsum("rtd,de,rte->rt", W, H, W) - 2 * W @ b + c


@on_course_device
@on_course_threads
def train_with_scheduler(
    model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, *, make_optimizer: Callable,
    make_scheduler: Callable | None = None, loss_fn: Callable = torch.nn.functional.mse_loss,
    batch_size: int, num_steps: int, seed: int = 0,
) -> list[float]:
    """Train ``model`` in place for ``num_steps`` minibatch steps; return each step's minibatch loss.

    ``make_optimizer(model.parameters())`` builds the optimizer, ``make_scheduler(optimizer)`` (optional) a torch
    scheduler, stepped once after every optimizer step (``attach`` turns one of ours into one). Each step draws
    ``batch_size`` rows of X with replacement, from a generator seeded with ``seed``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X = validate.finite_tensor("X", X)
    if X.ndim == 0:
        raise ValueError("X must hold one example per row, got a 0-d tensor")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"y must hold one target per row of X ({len(X)}), got shape {tuple(y.shape)}")
    _callable("make_optimizer", make_optimizer, "(parameters) -> optimizer")
    if make_scheduler is not None:
        _callable("make_scheduler", make_scheduler, "(optimizer) -> torch scheduler, or None")
    _callable("loss_fn", loss_fn, "(y_hat, y) -> loss")
    batch_size = validate.integer("batch_size", batch_size, low=1, high=len(X))
    num_steps = validate.integer("num_steps", num_steps, low=0, high=MAX_STEPS)
    generator = torch.Generator().manual_seed(validate.seed(seed))
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer) if make_scheduler is not None else None
    losses = []
    model.train()
    for _ in range(num_steps):
        idx = torch.randint(len(X), (batch_size,), generator=generator)
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses
