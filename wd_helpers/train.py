"""Training loops that return a History. No printing, no plotting.

The weight-decay regression trains in closed form (no autograd): for a linear model the
minibatch gradient is one matrix product, and stacking K weight vectors as the columns of W
(d, K) trains K values of λ in one run. The notebook writes the same loop with autograd
and checks that the two agree.
"""

import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from .data import RegressionData, minibatch_indices, synthetic_regression
from .regularizers import check_penalty
from .seeding import derived_generator

# loss name -> (loss of the residuals r = ŷ - y, per example; factor c in dloss/dŷ = c·r)
LOSSES = {
    "mse": (lambda r: r**2, 2.0),  # nn.MSELoss: (ŷ - y)²
    "half_mse": (lambda r: r**2 / 2, 1.0),  # d2l's squared_loss: ½(ŷ - y)²
}

# torch threads for the training loop (benchmarks/bench_weight_decay.py measures 1 vs 2)
TRAIN_THREADS = 1

# A run has diverged when its training loss is non-finite or this many times its initial value.
BLOWUP_FACTOR = 1e8


@dataclass
class History:
    """What one training run produced, epoch by epoch.

    ``train_loss``, ``test_loss`` and ``w_norms`` hold one float per finished epoch (data loss
    only, without the penalty). When the run diverges they stop at the epoch it diverged at
    (``diverged_at``, 1-based), keeping that epoch's value if it is still finite.
    """

    lambd: float
    lr: float
    train_loss: list[float]
    test_loss: list[float]
    w_norms: list[float]
    diverged_at: int | None
    w: torch.Tensor  # final weights, shape (d,)
    b: float  # final bias
    options: dict = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def w_norm(self) -> float:
        """Final ‖w‖₂ (inf when the run diverged)."""
        return math.inf if self.diverged else self.w_norms[-1]

    @property
    def final_train_loss(self) -> float:
        return math.inf if self.diverged else self.train_loss[-1]

    @property
    def final_test_loss(self) -> float:
        return math.inf if self.diverged else self.test_loss[-1]

    @property
    def epochs(self) -> list[int]:
        return list(range(1, len(self.train_loss) + 1))


@contextmanager
def _one_thread():
    """Run on TRAIN_THREADS torch threads, then restore the caller's setting.

    Measured (benchmarks/bench_weight_decay.py): these matrices are tiny, and a second thread costs
    more than it saves
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def _as_column(name: str, values, k: int, *, positive: bool) -> torch.Tensor:
    """Broadcast a float or a sequence of k floats to a (k,) tensor and validate it."""
    seq = list(values) if isinstance(values, Sequence | torch.Tensor) else [values] * k
    if len(seq) != k:
        raise ValueError(f"{name} must be a float or a sequence of {k} floats, got {len(seq)} values")
    for v in seq:
        v = float(v)
        ok = math.isfinite(v) and (v > 0 if positive else v >= 0)
        if not ok:
            accepted = "> 0" if positive else ">= 0"
            raise ValueError(f"{name} must be finite and {accepted}, got {v}")
    return torch.tensor([float(v) for v in seq])


def _run_epochs(X_aug, y, W, snapshots, batches, shrink, l1_step, use_l2, use_l1, generator) -> int:
    """Minibatch SGD on the columns of W in place; W after each epoch goes into snapshots."""
    n, num_epochs = len(X_aug), snapshots.shape[1]
    # Every epoch's shuffle, drawn in the same order as a loop would draw them, then gathered at once:
    # (E, n, d+1) inputs and (E, n, 1) negated targets; each minibatch is then a view.
    orders = torch.stack([torch.randperm(n, generator=generator) for _ in range(num_epochs)])
    X_epochs, neg_y_epochs = X_aug[orders], y[orders].neg()
    # Every minibatch of every epoch as a ready view, made in a few C calls (unbind) rather than by
    # slicing inside the loop: per step the loop then runs only the three products and the decay.
    slots = [
        (X_epochs[:, start:stop].unbind(0), X_epochs[:, start:stop].transpose(1, 2).unbind(0),
         neg_y_epochs[:, start:stop].unbind(0), step)
        for start, stop, step in batches
    ]
    epochs_run = 0
    for epoch in range(num_epochs):  # one row of snapshots per epoch
        for Xbs, XbTs, neg_ys, step in slots:
            Xb = Xbs[epoch]  # (B, d+1)
            g = torch.addmm(neg_ys[epoch], Xb, W)  # (B, K) = ŷ − y
            if not isinstance(step, float):  # one η per column: scale g (B, K) by η·c/B per column
                g *= step
                step = 1.0
            if use_l2:
                W *= shrink  # w ← (1 − ηλ) w ...
            elif use_l1:
                W -= l1_step * torch.sign(W)  # w ← w − ηλ sign(w) ...
            W.addmm_(XbTs[epoch], g, alpha=-step)  # ... − η ∇loss(w) = − (η·c/B) Xbᵀ(ŷ − y)
        snapshots[:, epoch] = W
        epochs_run = epoch + 1
        if epoch % 5 == 4 and not torch.isfinite(W).all(dim=0).any():
            break  # every run has overflowed: the remaining epochs would only compute NaN
    return epochs_run


def sweep_weight_decay(
    lambdas: Sequence[float],
    *,
    lr: float | Sequence[float] = 0.003,
    num_epochs: int = 100,
    batch_size: int = 5,
    seed: int = 0,
    penalty: str = "l2",
    decay_bias: bool = False,
    loss: str = "mse",
    data: RegressionData | None = None,
    n_train: int = 20,
    n_test: int = 100,
    num_inputs: int = 200,
    noise: float = 0.01,
) -> list["History"]:
    """Train one linear model per λ, all at once, by minibatch SGD on loss + λ·penalty(w).

    Update, for every column of W at once:
        w ← w − η (∇loss(w) + λ w)       with penalty="l2" (λ/2‖w‖²): w ← (1 − ηλ) w − η ∇loss
        w ← w − η (∇loss(w) + λ sign(w)) with penalty="l1" (λ‖w‖₁)
    The bias is decayed only with ``decay_bias=True``. Without ``data``, the data, the initial
    weights and the minibatch order come from ``Generator().manual_seed(seed)`` in that order; with
    ``data``, weights and order come from ``derived_generator(seed, "train")``. Every run sees the same data, the same
    initial w ~ N(0, 1), bias 0, and the same minibatch order, so each History equals
    ``train_weight_decay(λ)`` with the same seed. ``lr`` may be one value or one per λ.
    """
    lambd = _as_column("lambd", lambdas, len(lambdas), positive=False) if len(lambdas) else None
    if lambd is None:
        raise ValueError("lambdas must hold at least one value")
    k = len(lambd)
    lrs = _as_column("lr", lr, k, positive=True)
    lambda_values = [float(v) for v in lambdas]  # as given, for the Histories
    lr_values = [float(v) for v in lr] if isinstance(lr, Sequence | torch.Tensor) else [float(lr)] * k
    _check_int("num_epochs", num_epochs, 1)
    _check_int("seed", seed, 0)
    check_penalty(penalty)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    loss_fn, dloss = LOSSES[loss]

    if data is None:  # the d2l order: data, then initial weights, then minibatches, from one stream
        generator = torch.Generator().manual_seed(seed)
        data = synthetic_regression(
            n_train=n_train, n_test=n_test, num_inputs=num_inputs, noise=noise, generator=generator
        )
    else:  # the caller's data may come from Generator(seed) too: never reuse its numbers as weights
        generator = derived_generator(seed, "train")
    # float64 inside: the sweep and the single runs then agree to ~1e-12 even where the training
    # loss falls to 1e-10 (float32 cancellation would leave differences of 1e-3 relative there)
    X, y, X_test, y_test = (t.double() for t in (data.X_train, data.y_train, data.X_test, data.y_test))
    n, d = X.shape
    if y.shape != (n, 1) or X_test.shape[1] != d or y_test.shape != (X_test.shape[0], 1):
        raise ValueError(
            f"data shapes do not match: X_train {tuple(X.shape)}, y_train {tuple(y.shape)}, "
            f"X_test {tuple(X_test.shape)}, y_test {tuple(y_test.shape)}; expected (n, d), (n, 1)"
        )
    minibatch_indices(n, batch_size, shuffle=False)  # validates batch_size; draws no random numbers

    w0 = torch.randn(d, 1, generator=generator).double()
    # The bias rides along as row d of W_aug and a column of ones in X_aug: one matmul per step.
    X_aug = torch.cat([X, X.new_ones(n, 1)], dim=1)  # (n, d+1)
    W = torch.cat([w0, w0.new_zeros(1, 1)]).repeat(1, k)  # (d+1, K): one column per λ
    lambd, lrs = lambd.double(), lrs.double()
    decays = X.new_ones(d + 1, 1)
    decays[d] = float(decay_bias)  # which rows the penalty acts on
    # (start, stop, η·c/B) for each minibatch (the last one may be smaller): a float when every column
    # has the same η, so that the step folds into the update's addmm (one tensor op less per step,
    # measured ~20 % faster), else one value per column
    same_lr = bool((lrs == lrs[0]).all())
    batches = [
        (start, stop, float(lrs[0]) * dloss / (stop - start) if same_lr else lrs * (dloss / (stop - start)))
        for start, stop in ((start, min(start + batch_size, n)) for start in range(0, n, batch_size))
    ]
    shrink = 1.0 - decays * (lrs * lambd)  # (d+1, K): L2 decay factor 1 − ηλ (1 on the bias row)
    l1_step = decays * (lrs * lambd)  # (d+1, K): L1 step ηλ
    use_l2, use_l1 = penalty == "l2" and bool((lambd > 0).any()), penalty == "l1"
    snapshots = X.new_empty(d + 1, num_epochs, k)  # W after every epoch, evaluated at the end

    with _one_thread():
        epochs_run = _run_epochs(X_aug, y, W, snapshots, batches, shrink, l1_step, use_l2, use_l1, generator)

    # Evaluate all epochs at once: (n_train + n_test, E, K) residuals from one product with the
    # (d+1, E·K) snapshots (a view: they were stored in that layout).
    W_hist = snapshots[:, :epochs_run]
    X_all = torch.cat([X_aug, torch.cat([X_test, X_test.new_ones(len(X_test), 1)], dim=1)])
    y_all = torch.cat([y, y_test])
    residuals = (X_all @ W_hist.reshape(d + 1, -1)).view(len(X_all), epochs_run, k).sub_(y_all.unsqueeze(1))
    per_example = loss_fn(residuals)
    train = per_example[:n].mean(0)  # (E, K)
    test = per_example[n:].mean(0)
    norms = torch.linalg.vector_norm(W_hist[:d], dim=0)  # (E, K)
    initial = float(loss_fn(X @ w0 - y).mean())
    limit = BLOWUP_FACTOR * max(initial, 1e-12)
    stops, diverged = _divergence(train, test, limit)
    options = {
        "penalty": penalty, "decay_bias": decay_bias, "loss": loss, "seed": seed,
        "batch_size": batch_size, "num_epochs": num_epochs,
    }
    columns = zip(train.T.tolist(), test.T.tolist(), norms.T.tolist(), stops, diverged, W.T)  # one call each
    return [
        History(lambd=lambda_values[j], lr=lr_values[j], train_loss=tr[:stop], test_loss=te[:stop],
                w_norms=no[:stop], diverged_at=at, w=w_aug[:-1].to(torch.get_default_dtype()),
                b=float(w_aug[-1]), options=dict(options))
        for j, (tr, te, no, stop, at, w_aug) in enumerate(columns)
    ]


def _divergence(train: torch.Tensor, test: torch.Tensor, limit: float) -> tuple[list[int], list[int | None]]:
    """Per column of the (E, K) loss tables: how many epochs to keep, and the epoch it diverged at (or None).

    A run diverges at the first epoch whose loss is non-finite or above ``limit``; that epoch is kept
    when its values are still finite numbers (the curve then visibly shoots up).
    """
    finite = torch.isfinite(train) & torch.isfinite(test)
    bad = ~(finite & (train <= limit))
    any_bad = bad.any(0).tolist()
    first = bad.int().argmax(0).tolist()  # index of the first True (0 when there is none)
    finite_at_first = finite.gather(0, bad.int().argmax(0, keepdim=True))[0].tolist()
    epochs = len(train)
    stops = [(f + 1 if ok else f) if b else epochs for b, f, ok in zip(any_bad, first, finite_at_first)]
    return stops, [f + 1 if b else None for b, f in zip(any_bad, first)]


def _history(lambd, lr, train, test, norms, limit, w_aug, options) -> History:
    """One run's History from its per-epoch (E,) tensors, cut at the epoch it diverged at (if it did)."""
    (stop,), (diverged_at,) = _divergence(train.unsqueeze(1), test.unsqueeze(1), limit)
    return History(
        lambd=float(lambd), lr=float(lr), train_loss=train[:stop].tolist(), test_loss=test[:stop].tolist(),
        w_norms=norms[:stop].tolist(), diverged_at=diverged_at, w=w_aug[:-1].to(torch.get_default_dtype()),
        b=float(w_aug[-1]), options=dict(options),
    )


def train_weight_decay(
    lambd: float = 0.0,
    *,
    lr: float = 0.003,
    num_epochs: int = 100,
    batch_size: int = 5,
    seed: int = 0,
    **options,
) -> History:
    """Train the d2l weight-decay regression with penalty strength ``lambd``; see sweep_weight_decay.

    Defaults: 20 training and 100 test examples, 200 inputs, w ~ N(0, 1), bias not decayed,
    squared loss (nn.MSELoss), minibatch SGD with lr 0.003, batch 5, 100 epochs.
    """
    if isinstance(lambd, Sequence | torch.Tensor):
        raise ValueError(f"lambd must be one float; use sweep_weight_decay for several, got {lambd!r}")
    return sweep_weight_decay(
        [lambd], lr=lr, num_epochs=num_epochs, batch_size=batch_size, seed=seed, **options
    )[0]


def train_with_optimizer(
    make_optimizer,
    *,
    num_epochs: int = 100,
    batch_size: int = 5,
    seed: int = 0,
    data: RegressionData | None = None,
) -> History:
    """Train the weight-decay regression as ``nn.Linear`` + autograd + any ``torch.optim`` optimizer.

    ``make_optimizer(model)`` returns the optimizer, so it can choose parameter groups, e.g.
    ``lambda m: torch.optim.AdamW(decay_param_groups(m, 1.0), lr=0.01)``. Same data, initial
    weights and minibatch order as ``train_weight_decay`` with the same seed; loss nn.MSELoss.
    Slower than the closed-form trainer (autograd), but works with every optimizer.
    """
    _check_int("num_epochs", num_epochs, 1)
    _check_int("seed", seed, 0)
    if data is None:
        generator = torch.Generator().manual_seed(seed)
        data = synthetic_regression(generator=generator)
    else:
        generator = derived_generator(seed, "train")
    n, d = data.X_train.shape
    minibatch_indices(n, batch_size, shuffle=False)  # validates batch_size
    model = torch.nn.Linear(d, 1)
    with torch.no_grad():
        model.weight.copy_(torch.randn(d, 1, generator=generator).T)
        model.bias.zero_()
    optimizer = make_optimizer(model)
    loss_fn = torch.nn.MSELoss()
    with torch.no_grad():
        initial = loss_fn(model(data.X_train), data.y_train).item()
    train, test, norms = [], [], []
    for _ in range(num_epochs):
        for idx in minibatch_indices(n, batch_size, generator=generator):
            optimizer.zero_grad()
            loss_fn(model(data.X_train[idx]), data.y_train[idx]).backward()
            optimizer.step()
        with torch.no_grad():
            train.append(loss_fn(model(data.X_train), data.y_train).item())
            test.append(loss_fn(model(data.X_test), data.y_test).item())
            norms.append(model.weight.norm().item())
    return _history(
        math.nan, optimizer.param_groups[0]["lr"], torch.tensor(train), torch.tensor(test), torch.tensor(norms),
        BLOWUP_FACTOR * max(initial, 1e-12),
        torch.cat([model.weight.detach().flatten(), model.bias.detach()]),
        {"optimizer": type(optimizer).__name__, "seed": seed, "batch_size": batch_size, "num_epochs": num_epochs},
    )
