"""Training loops that return a History. No printing, no plotting.

The weight-decay regression trains in closed form (no autograd): for a linear model the
minibatch gradient is one matrix product, and stacking K weight vectors as the columns of W
(d, K) trains K values of λ in one run. With L2 and fewer examples than inputs (the d2l setting),
it trains the n + 2 coefficients of w = c·w0 + Xᵀa instead of the d + 1 weights (_Dual): SGD
never leaves that span, as notebook 04 shows. The notebook writes the same loop with autograd
and checks that the two agree.
"""

import math
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
import functools

import torch

from . import validate
from .data import RegressionData, minibatch_indices, synthetic_regression
from .device import on_course_device
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

# More epochs than anyone trains this model for: a bound that refuses a typo (1e9) up front instead of
# allocating the per-epoch snapshots until memory runs out
MAX_EPOCHS = 100_000


class History:
    """What one training run produced, epoch by epoch.

    ``train_loss``, ``test_loss`` and ``w_norms`` hold one float per finished epoch (data loss
    only, without the penalty). When the run diverges they stop at the epoch it diverged at
    (``diverged_at``, 1-based), keeping that epoch's value if it is still finite.

    The per-epoch loss curves may be computed on first use (``curves``: a function returning both
    lists): a 64-value sweep drawn as final losses against λ never pays for 6 400 curve points.
    ``final`` gives the last epoch's (train, test) loss without the curves.
    """

    def __init__(self, *, lambd: float, lr: float, w_norms: list[float], diverged_at: int | None,
                 w: torch.Tensor, b: float, options: dict | None = None,
                 train_loss: list[float] | None = None, test_loss: list[float] | None = None,
                 curves=None, final: tuple[float, float] | None = None):
        if (train_loss is None or test_loss is None) and curves is None:
            raise ValueError("give train_loss and test_loss, or curves that compute them")
        self.lambd, self.lr, self.w_norms, self.diverged_at = lambd, lr, w_norms, diverged_at
        self.w, self.b = w, b  # final weights, shape (d,), and final bias
        self.options = dict(options or {})
        self._train_loss, self._test_loss, self._curves, self._final = train_loss, test_loss, curves, final

    def _load(self):
        if self._train_loss is None:
            self._train_loss, self._test_loss = self._curves()
            self._curves = None  # drop the reference to the training snapshots

    @property
    def train_loss(self) -> list[float]:
        self._load()
        return self._train_loss

    @property
    def test_loss(self) -> list[float]:
        self._load()
        return self._test_loss

    def __repr__(self) -> str:
        return (f"History(lambd={self.lambd!r}, lr={self.lr!r}, epochs={len(self.w_norms)}, "
                f"diverged_at={self.diverged_at!r}, w_norm={self.w_norm:.4g})")

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def w_norm(self) -> float:
        """Final ‖w‖₂ (inf when the run diverged)."""
        return math.inf if self.diverged else self.w_norms[-1]

    @property
    def final_train_loss(self) -> float:
        if self.diverged:
            return math.inf
        return self._final[0] if self._final is not None and self._train_loss is None else self.train_loss[-1]

    @property
    def final_test_loss(self) -> float:
        if self.diverged:
            return math.inf
        return self._final[1] if self._final is not None and self._test_loss is None else self.test_loss[-1]

    @property
    def epochs(self) -> list[int]:
        return list(range(1, len(self.w_norms) + 1))


@contextmanager
def _one_thread():
    """Run on TRAIN_THREADS torch threads, then restore the caller's setting (also as a decorator).

    Measured (benchmarks/bench_weight_decay.py): these matrices are tiny, and a second thread costs
    more than it saves; on a busy machine it waits for a core (one 20×201 SVD took 300 ms).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_int(name: str, value, low: int, high: int | None = None) -> int:
    """An integer >= low (validate.integer), and <= high when given (a bound against typos such as 1e9)."""
    value = validate.integer(name, value, low=low)
    if high is not None and value > high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _is_several(value) -> bool:
    """True for a list, tuple, array, 1-D tensor or other iterable of values; False for one number
    (a 0-d tensor or array included) and for a string, which the number check then refuses."""
    return (isinstance(value, Iterable | torch.Tensor) and not isinstance(value, str | bytes)
            and getattr(value, "ndim", 1) != 0)


def _one_number(name: str, value, *, several: str, **interval) -> float:
    """``value`` as one float (validate.number); several values get a TypeError saying where they go."""
    if _is_several(value):
        raise TypeError(f"{name} must be one number; {several}, got {type(value).__name__} {value!r:.60}")
    return validate.number(name, value, **interval)


def _per_run(name: str, values, k: int, *, positive: bool) -> list[float]:
    """One number for every run, or a sequence of k numbers (a list, tuple, NumPy array or 1-D tensor)."""
    interval = dict(low=0.0, low_open=positive)
    if not _is_several(values):
        return [validate.number(name, values, **interval)] * k
    seq = validate.numbers_of(name, values, min_count=0, **interval)
    if len(seq) != k:
        raise ValueError(f"{name} must be a float or a sequence of {k} floats, got {len(seq)} values")
    return seq


def _check_data(data) -> RegressionData | None:
    """``data``: None (the d2l data is generated) or a RegressionData of finite float tensors."""
    if data is None:
        return None
    if not isinstance(data, RegressionData):
        raise TypeError(f"data must be a RegressionData (wd_helpers.data.synthetic_regression) or None, "
                        f"got {type(data).__name__}")
    for field in ("X_train", "y_train", "X_test", "y_test"):
        validate.finite_tensor(f"data.{field}", getattr(data, field), ndim=2)
    return data


def _run_epochs(F, G, y, Z, snapshots, batches, shrink, l1_step, use_l2, use_l1, generator, use_prox=False) -> int:
    """Minibatch SGD on the columns of the state Z in place; Z after each epoch goes into snapshots.

    Per step, for the minibatch rows b: g = F_b Z − y_b (the residuals ŷ − y), then
    Z ← shrink ⊙ Z − step · G_bᵀ g. With F = G = [X, 1] and Z = [w; b] this is plain SGD (the
    primal form); sweep_weight_decay also passes the smaller dual form, where Z holds coefficients.
    With ``use_prox`` (L1, proximal): Z ← soft(Z − step · G_bᵀ g, ηλ), soft(z, t) = sign(z)·max(|z| − t, 0).
    """
    n, num_epochs = len(F), snapshots.shape[1]
    # Every epoch's shuffle, drawn in the same order as a loop would draw them, then gathered at once:
    # (E, n, p) rows and (E, n, 1) negated targets; each minibatch is then a view.
    orders = torch.stack([torch.randperm(n, generator=generator) for _ in range(num_epochs)])
    F_epochs, G_epochs, neg_y_epochs = F[orders], G[orders], y[orders].neg()
    # Every minibatch of every epoch as a ready view, made in a few C calls (unbind) rather than by
    # slicing inside the loop: per step the loop then runs only the three products and the decay.
    slots = [
        (F_epochs[:, start:stop].unbind(0), G_epochs[:, start:stop].transpose(1, 2).unbind(0),
         neg_y_epochs[:, start:stop].unbind(0), step)
        for start, stop, step in batches
    ]
    epochs_run = 0
    for epoch in range(num_epochs):  # one row of snapshots per epoch
        for Fbs, GbTs, neg_ys, step in slots:
            g = torch.addmm(neg_ys[epoch], Fbs[epoch], Z)  # (B, K) = ŷ − y
            if not isinstance(step, float):  # one η per column: scale g (B, K) by η·c/B per column
                g *= step
                step = 1.0
            if use_l2:
                Z *= shrink  # w ← (1 − ηλ) w ...
            elif use_l1 and not use_prox:
                Z -= l1_step * torch.sign(Z)  # w ← w − ηλ sign(w) ...
            Z.addmm_(GbTs[epoch], g, alpha=-step)  # ... − η ∇loss(w) = − (η·c/B) Xbᵀ(ŷ − y)
            if use_prox:  # proximal L1: w ← sign(w)·max(|w| − ηλ, 0), exact zeros (bias rows: ηλ = 0)
                Z.copy_(torch.sign(Z) * (Z.abs() - l1_step).clamp_min_(0.0))
        snapshots[:, epoch] = Z
        epochs_run = epoch + 1
        # a column's sum is finite only if all its entries are: one small reduction, not a full isfinite
        if epoch % 5 == 4 and not torch.isfinite(Z.sum(0)).any():
            break  # every run has overflowed: the remaining epochs would only compute NaN
    return epochs_run


class _Primal:
    """The state is W_aug = [w; b] itself (d+1, K): F = G = [X, 1]."""

    def __init__(self, X, w0, X_all, decay_bias):
        n, d = X.shape
        self.d = d
        self.F = self.G = torch.cat([X, X.new_ones(n, 1)], dim=1)
        self.F_all = torch.cat([X_all, X_all.new_ones(len(X_all), 1)], dim=1)
        self.start = torch.cat([w0, w0.new_zeros(1, 1)])
        self.decays = X.new_ones(d + 1, 1)
        self.decays[d] = float(decay_bias)  # which rows the penalty acts on

    def weight_norms(self, Z):  # (p, E, K) -> (E, K)
        return Z[:self.d].square().sum(0).sqrt_()  # 5x faster than vector_norm here

    def weights(self, Z):  # (p, K) -> (d, K)
        return Z[:self.d]


class _Dual:
    """For L2 with fewer examples than inputs (n < d, the d2l setting: 20 < 200), SGD never leaves

        w = c·w0 + Xᵀa,   b          (c a scalar, a ∈ Rⁿ, per column)

    because every gradient step adds a combination of the training rows and L2 decay scales it all.
    The state Z = [a; c; b] has n + 2 rows instead of d + 1: ŷ = X w + b = F z with
    F = [XXᵀ, Xw0, 1], and a step on the rows b adds to a_b and b only, G = [I, 0, 1]. The arithmetic
    per step shrinks by about d/n (10× here); the numbers are the primal form's up to rounding.
    """

    def __init__(self, X, w0, X_all, decay_bias):
        n, _ = X.shape
        self.n, self.X, self.w0 = n, X, w0
        gram, Xw0, ones = X @ X.T, X @ w0, X.new_ones(n, 1)
        self.F = torch.cat([gram, Xw0, ones], dim=1)  # (n, n+2)
        self.G = torch.cat([torch.eye(n, dtype=X.dtype), X.new_zeros(n, 1), ones], dim=1)
        self.F_all = torch.cat([X_all @ X.T, X_all @ w0, X_all.new_ones(len(X_all), 1)], dim=1)
        self.start = X.new_zeros(n + 2, 1)
        self.start[n] = 1.0  # c = 1, a = 0, b = 0: w = w0
        self.decays = X.new_ones(n + 2, 1)
        self.decays[n + 1] = float(decay_bias)
        # ‖w‖² = zᵀ Q z on the first n + 1 rows: Q = [[XXᵀ, Xw0], [w0ᵀXᵀ, ‖w0‖²]]
        self.Q = torch.cat([torch.cat([gram, Xw0], dim=1), torch.cat([Xw0.T, w0.T @ w0], dim=1)])

    def weight_norms(self, Z):  # (p, E, K) -> (E, K)
        coefficients = Z[:self.n + 1]
        flat = coefficients.reshape(self.n + 1, -1)
        squares = (flat * (self.Q @ flat)).sum(0).view(coefficients.shape[1:])
        return squares.clamp_min_(0).sqrt_()

    def weights(self, Z):  # (p, K) -> (d, K)
        return torch.addmm(self.w0 @ Z[self.n:self.n + 1], self.X.T, Z[:self.n])


def _form(penalty: str, n: int, d: int) -> type:
    """L2 with fewer examples than inputs trains in the smaller dual form (see _Dual); L1 needs w itself."""
    return _Dual if penalty == "l2" and n + 2 < d + 1 else _Primal


@on_course_device
@_one_thread()  # every tensor here is tiny: under load, a second thread only waits (measured)
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
    proximal: bool = False,
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

    ``proximal=True`` (L1 only) replaces the subgradient step by the proximal one, soft-thresholding:
        w ← soft(w − η ∇loss(w), ηλ),   soft(z, t) = sign(z)·max(|z| − t, 0)
    which lands weights exactly on 0 instead of leaving them to jitter within ±ηλ of it.
    """
    if not _is_several(lambdas):
        raise TypeError(f"lambdas must be a sequence of numbers (a list, tuple, array or 1-D tensor); for one value "
                        f"use train_weight_decay, got {type(lambdas).__name__} {lambdas!r:.60}")
    lambda_values = validate.numbers_of("lambdas", lambdas, low=0.0)  # as given, for the Histories
    k = len(lambda_values)
    # λ and η as float32 values, whatever torch's default dtype: the values the runs have always used (lr 0.003
    # is float32's 0.003 inside), so that the notebooks' numbers stay the same
    lambd = torch.tensor(lambda_values, dtype=torch.float32)
    lr_values = _per_run("lr", lr, k, positive=True)
    lrs = torch.tensor(lr_values, dtype=torch.float32)
    num_epochs = _check_int("num_epochs", num_epochs, 1, MAX_EPOCHS)
    seed = validate.seed(seed)
    check_penalty(penalty)
    decay_bias = validate.flag("decay_bias", decay_bias)
    proximal = validate.flag("proximal", proximal)
    if proximal and penalty != "l1":
        raise ValueError(f"proximal=True is the proximal step of the L1 penalty: use penalty='l1', got {penalty!r}")
    loss_fn, dloss = LOSSES[validate.choice("loss", loss, LOSSES)]
    data = _check_data(data)

    if data is None:  # the d2l order: data, then initial weights, then minibatches, from one stream
        generator = torch.Generator().manual_seed(seed)
        data = synthetic_regression(
            n_train=n_train, n_test=n_test, num_inputs=num_inputs, noise=noise, generator=generator
        )
    else:  # the caller's data may come from Generator(seed) too: never reuse its numbers as weights
        generated = {"n_train": (n_train, 20), "n_test": (n_test, 100), "num_inputs": (num_inputs, 200),
                     "noise": (noise, 0.01)}
        ignored = [f"{name}={value!r}" for name, (value, default) in generated.items() if value != default]
        if ignored:  # they shape generated data only: silently ignoring them would train on something else
            raise ValueError(f"{', '.join(ignored)} describe(s) the generated data, which data= replaces: "
                             f"pass either data or these options, not both")
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
    batch_size = validate.integer("batch_size", batch_size, low=1, high=n)

    w0 = torch.randn(d, 1, generator=generator).double()
    X_all, y_all = torch.cat([X, X_test]), torch.cat([y, y_test])
    form = _form(penalty, n, d)(X, w0, X_all, decay_bias)
    Z = form.start.repeat(1, k)  # (p, K): one column per λ
    lambd, lrs = lambd.double(), lrs.double()
    # (start, stop, η·c/B) for each minibatch (the last one may be smaller): a float when every column
    # has the same η, so that the step folds into the update's addmm (one tensor op less per step,
    # measured ~20 % faster), else one value per column
    same_lr = bool((lrs == lrs[0]).all())
    batches = [
        (start, stop, float(lrs[0]) * dloss / (stop - start) if same_lr else lrs * (dloss / (stop - start)))
        for start, stop in ((start, min(start + batch_size, n)) for start in range(0, n, batch_size))
    ]
    shrink = 1.0 - form.decays * (lrs * lambd)  # (p, K): L2 decay factor 1 − ηλ (1 on an undecayed bias)
    l1_step = form.decays * (lrs * lambd)  # (p, K): L1 step ηλ
    use_l2, use_l1 = penalty == "l2" and bool((lambd > 0).any()), penalty == "l1"
    snapshots = Z.new_empty(len(Z), num_epochs, k)  # Z after every epoch, evaluated at the end

    epochs_run = _run_epochs(form.F, form.G, y, Z, snapshots, batches, shrink, l1_step, use_l2, use_l1, generator,
                             proximal)

    # What every History needs at once is cheap: ‖w‖ per epoch, whether and where the run diverged,
    # and the final losses (one product with Z). The per-epoch loss curves, 120 examples × E epochs
    # per run, are computed for a run when it is first asked for them (see History).
    Z_hist = snapshots[:, :epochs_run]  # (p, E, K)
    norms = form.weight_norms(Z_hist)  # (E, K) ‖w‖ per epoch
    initial = float(loss_fn(X @ w0 - y).mean())
    limit = BLOWUP_FACTOR * max(initial, 1e-12)

    def curves(j: int, stop: int) -> tuple[list[float], list[float]]:
        per_example = loss_fn(form.F_all @ Z_hist[:, :stop, j] - y_all)  # (n_all, E)
        return per_example[:n].mean(0).tolist(), per_example[n:].mean(0).tolist()

    sigma = float(torch.linalg.matrix_norm(torch.cat([X, X.new_ones(n, 1)], dim=1), ord=2))
    stops, diverged = _divergence_by_bound(sigma, y, norms, Z_hist[-1], limit, curves)
    final = loss_fn(form.F_all @ Z - y_all)  # (n_all, K): the last epoch of every run
    final_train, final_test = final[:n].mean(0).tolist(), final[n:].mean(0).tolist()
    weights, biases = form.weights(Z).to(torch.get_default_dtype()), Z[-1].tolist()
    options = {
        "penalty": penalty, "decay_bias": decay_bias, "loss": loss, "seed": seed,
        "batch_size": batch_size, "num_epochs": num_epochs,
    }
    if proximal:
        options["proximal"] = True
    norm_lists = norms.T.tolist()  # one call for all runs
    return [
        History(lambd=lambda_values[j], lr=lr_values[j], w_norms=norm_lists[j][:stops[j]], diverged_at=diverged[j],
                w=weights[:, j], b=biases[j], options=options,
                curves=functools.partial(curves, j, stops[j]),
                final=None if diverged[j] else (final_train[j], final_test[j]))
        for j in range(k)
    ]


def _divergence_by_bound(sigma, y, norms, biases, limit, curves) -> tuple[list[int], list[int | None]]:
    """Per run: how many epochs to keep, and the epoch it diverged at (or None), as _divergence decides.

    Without evaluating every epoch: the training loss is at most (σ‖w_aug‖ + ‖y‖)²/n, with σ the
    largest singular value of X_aug = [X, 1] and w_aug = [w; b] (``norms``: ‖w‖, ``biases``: b, both
    (E, K)), so a run whose weights stay finite and whose bound stays under ``limit`` cannot have
    diverged; only the others (rare: the runs that blow up) are evaluated.
    """
    n, (epochs, k) = len(y), norms.shape
    w_aug_norms = torch.sqrt(norms**2 + biases**2)  # (E, K)
    bound = (sigma * w_aug_norms + float(torch.linalg.vector_norm(y))) ** 2 / n
    suspect = (~(torch.isfinite(bound) & (bound <= limit))).any(0).tolist()
    stops, diverged = [epochs] * k, [None] * k
    for j in (j for j in range(k) if suspect[j]):
        train, test = curves(j, epochs)
        (stops[j],), (diverged[j],) = _divergence(torch.tensor(train).unsqueeze(1), torch.tensor(test).unsqueeze(1),
                                                   limit)
    return stops, diverged


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
        b=float(w_aug[-1]), options=options,
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
    lambd = _one_number("lambd", lambd, several="use sweep_weight_decay for several", low=0.0)
    lr = _one_number("lr", lr, several="use sweep_weight_decay for one per λ", low=0.0, low_open=True)
    return sweep_weight_decay(
        [lambd], lr=lr, num_epochs=num_epochs, batch_size=batch_size, seed=seed, **options
    )[0]


@on_course_device
@_one_thread()  # tiny tensors: on a busy 2-core machine a second thread made a 100-step run 2.6 s instead of 0.03 s
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
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be a function model ↦ optimizer, got {type(make_optimizer).__name__}")
    num_epochs = _check_int("num_epochs", num_epochs, 1, MAX_EPOCHS)
    seed = validate.seed(seed)
    data = _check_data(data)
    if data is None:
        generator = torch.Generator().manual_seed(seed)
        data = synthetic_regression(generator=generator)
    else:
        generator = derived_generator(seed, "train")
    n, d = data.X_train.shape
    batch_size = validate.integer("batch_size", batch_size, low=1, high=n)
    model = torch.nn.Linear(d, 1, dtype=data.X_train.dtype)  # the data's dtype, whatever torch's default
    with torch.no_grad():
        model.weight.copy_(torch.randn(d, 1, generator=generator).T)
        model.bias.zero_()
    try:
        optimizer = make_optimizer(model)
    except (TypeError, ValueError) as error:  # e.g. torch.optim.SGD itself, given the model rather than its parameters
        kind = TypeError if isinstance(error, TypeError) else ValueError
        raise kind(f"make_optimizer(model) raised {type(error).__name__}: {error} (make_optimizer must be a function "
                   "model ↦ optimizer, e.g. lambda m: torch.optim.SGD(m.parameters(), lr=0.01))") from error
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"make_optimizer(model) must return a torch.optim.Optimizer, got {type(optimizer).__name__}")
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
