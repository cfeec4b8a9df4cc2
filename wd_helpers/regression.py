"""The weight-decay regression from the optimiser's side: Adam + L2 and AdamW trained in closed form, the exact
L2-regularised minimiser they are compared with, and the curvature that bounds a stable learning rate.

Notebooks 03 and 04 use these to show where each optimiser rests (Adam + L2 at the L2 minimiser, AdamW not in
general) and why η < 2/(L + λ). Same data, initial weights and minibatch order as ``wd_helpers.train``.
"""

import math

import torch

from . import validate
from .data import RegressionData, minibatch_indices, synthetic_regression
from .device import on_course_device
from .optim import _check_betas
from .seeding import derived_generator
from .train import (BLOWUP_FACTOR, LOSSES, MAX_EPOCHS, History, _check_data, _check_int, _history, _one_number,
                    _one_thread)


@on_course_device
@_one_thread()
def train_adam(
    lambd: float = 0.0,
    *,
    decoupled: bool = False,
    lr: float = 0.01,
    num_epochs: int = 100,
    batch_size: int = 5,
    seed: int = 0,
    data: RegressionData | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    lr_schedule: str = "constant",
) -> History:
    """Adam + L2 (``torch.optim.Adam(weight_decay=λ)``) or, with ``decoupled=True``, AdamW, on the regression.

    The run of ``train_with_optimizer`` with that optimizer and ``decay_param_groups`` (same data, initial
    weights, minibatch order, nn.MSELoss, bias not decayed; tests compare the two), about five times
    cheaper (measured: 200 epochs in 0.08–0.10 s vs 0.52 s): closed-form gradients in float64 and
    torch.optim's update written out. Per step t, with
    g = ∇loss = (2/B) X_bᵀ(ŷ − y):
        Adam + L2: g ← g + λw                 (the decay joins the gradient ...)
        AdamW:     w ← (1 − ηλ) w             (... or is applied on its own, decoupled)
        m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,  w ← w − η m̂/(√v̂ + ε),  m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
    ``History.decay_rates`` (E, d): after each epoch, the fraction of each weight that the decay removes
    per step: ηλ/(√v̂ᵢ + ε) for Adam + L2 (one value per weight, changing as v̂ does), ηλ for AdamW.
    ``History.path`` (E, d + 1): the parameters [w; b] after each epoch, in float64.
    ``lr_schedule="linear"`` lowers the learning rate linearly to 0 over the run, η_t = lr·(1 − t/T) for step t of
    T (as ``torch.optim.lr_scheduler.LambdaLR`` stepped once per step would); AdamW's decay η_tλ falls with it.
    """
    lambd = _one_number("lambd", lambd, several="train_adam trains one model", low=0.0)
    lr = _one_number("lr", lr, several="train_adam trains one model", low=0.0, low_open=True)
    # λ and η as the float32 values the trainers have always used (as sweep_weight_decay does)
    lambd, lr = (float(torch.tensor(v, dtype=torch.float32)) for v in (lambd, lr))
    num_epochs = _check_int("num_epochs", num_epochs, 1, MAX_EPOCHS)
    seed = validate.seed(seed)
    decoupled = validate.flag("decoupled", decoupled)  # True: AdamW, False: Adam + L2
    beta1, beta2 = _check_betas(betas)
    eps = validate.number("eps", eps, low=0.0, low_open=True)
    lr_schedule = validate.choice("lr_schedule", lr_schedule, ("constant", "linear"))
    data = _check_data(data)
    if data is None:
        generator = torch.Generator().manual_seed(seed)
        data = synthetic_regression(generator=generator)
    else:
        generator = derived_generator(seed, "train")
    X, y, X_test, y_test = (t.double() for t in (data.X_train, data.y_train, data.X_test, data.y_test))
    n, d = X.shape
    batch_size = validate.integer("batch_size", batch_size, low=1, high=n)
    total_steps = num_epochs * math.ceil(n / batch_size)
    base_lr = lr
    X_aug, X_test_aug = (torch.cat([A, A.new_ones(len(A), 1)], dim=1) for A in (X, X_test))
    z = torch.cat([torch.randn(d, 1, generator=generator).double(), X.new_zeros(1, 1)])  # [w; b], b = 0
    decay = X.new_ones(d + 1, 1)
    decay[d] = 0.0  # the bias is not decayed (decay_param_groups)
    m, v = torch.zeros_like(z), torch.zeros_like(z)
    initial = float(((X_aug @ z - y) ** 2).mean())
    train, test, norms, rates, path = [], [], [], [], []
    t = 0
    for _ in range(num_epochs):
        for idx in minibatch_indices(n, batch_size, generator=generator):
            t += 1
            if lr_schedule == "linear":
                lr = base_lr * (1 - t / total_steps)
            F = X_aug[idx]
            g = (2 / len(idx)) * (F.T @ (F @ z - y[idx]))  # ∇ of nn.MSELoss on the minibatch, (d+1, 1)
            if decoupled:
                z *= 1 - lr * lambd * decay  # AdamW: w ← (1 − ηλ) w
            elif lambd:
                g += lambd * decay * z  # Adam + L2: g ← g + λw
            m.lerp_(g, 1 - beta1)  # m ← β₁m + (1 − β₁)g
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v ← β₂v + (1 − β₂)g²
            denom = (v.sqrt() / math.sqrt(1 - beta2**t)).add_(eps)  # √v̂ + ε
            z.addcdiv_(m, denom, value=-lr / (1 - beta1**t))  # w ← w − η m̂/(√v̂ + ε)
        train.append(float(((X_aug @ z - y) ** 2).mean()))
        test.append(float(((X_test_aug @ z - y_test) ** 2).mean()))
        norms.append(float(z[:d].norm()))
        path.append(z[:, 0].clone())
        rates.append(torch.full((d,), lr * lambd) if decoupled else (lr * lambd / denom[:d, 0]).float())
    optimizer_name = "AdamW" if decoupled else "Adam"
    history = _history(
        lambd, base_lr, torch.tensor(train), torch.tensor(test), torch.tensor(norms), BLOWUP_FACTOR * max(initial, 1e-12),
        z.flatten(), {"optimizer": optimizer_name, "seed": seed, "batch_size": batch_size, "num_epochs": num_epochs,
                      "lr_schedule": lr_schedule},
    )
    history.decay_rates = torch.stack(rates)[: len(history.w_norms)]
    history.path = torch.stack(path)[: len(history.w_norms)]  # (E, d + 1): [w; b] after each epoch, float64
    return history


def _float64_matrix(name: str, value, ndims: tuple[int, ...]) -> torch.Tensor:
    """``value`` (a tensor, an array or nested lists of numbers) as a finite float64 tensor of one of ``ndims``."""
    if isinstance(value, str | bytes) or value is None or isinstance(value, bool):
        raise TypeError(f"{name} must be a tensor of numbers, got {type(value).__name__} {value!r:.60}")
    if isinstance(value, torch.Tensor) and (value.dtype == torch.bool or value.is_complex()):
        raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
    try:
        value = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be a tensor of numbers: {error}") from None
    if value.dim() not in ndims:
        raise ValueError(f"{name} must be {' or '.join(f'{k}-D' for k in ndims)}, got shape {tuple(value.shape)}")
    return validate.finite_tensor(name, value)


def l2_minimiser(X: torch.Tensor, y: torch.Tensor, lambd: float) -> tuple[torch.Tensor, float]:
    """The exact minimiser (w, b) of mean((Xw + b − y)²) + λ/2‖w‖², bias free (not penalised), in float64.

    Setting the gradient to 0: b = ȳ − x̄ᵀw and (X_cᵀX_c + (nλ/2) I) w = X_cᵀ y_c with X_c, y_c centred;
    solved in its n×n form w = X_cᵀ(X_c X_cᵀ + (nλ/2) I)⁻¹ y_c when there are fewer examples than inputs.
    The point that SGD + L2 (or Adam + L2) approaches when trained to convergence with ``loss="mse"``.
    """
    lambd = validate.number("lambd", lambd, low=0.0, low_open=True)
    X, y = _float64_matrix("X", X, (2,)), _float64_matrix("y", y, (1, 2))  # NaN refused here, not by the solver
    if len(X) == 0:
        raise ValueError(f"X must hold at least one example, got shape {tuple(X.shape)}")
    if X.dim() != 2 or y.shape not in ((len(X), 1), (len(X),)):
        raise ValueError(f"X must be (n, d) and y (n, 1) or (n,), got X {tuple(X.shape)}, y {tuple(y.shape)}")
    y = y.reshape(-1, 1)
    n, d = X.shape
    x_mean, y_mean = X.mean(0, keepdim=True), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    ridge = n * lambd / 2
    if n < d:
        w = Xc.T @ torch.linalg.solve(Xc @ Xc.T + ridge * torch.eye(n, dtype=X.dtype), yc)
    else:
        w = torch.linalg.solve(Xc.T @ Xc + ridge * torch.eye(d, dtype=X.dtype), Xc.T @ yc)
    return w.flatten(), float(y_mean - x_mean @ w)


@_one_thread()  # a 201×201 eigendecomposition: on a busy machine a second thread waits (2 s instead of 10 ms)
def largest_curvature(X: torch.Tensor, lambd: float = 0.0, *, decay_bias: bool = False, loss: str = "mse") -> float:
    """Largest eigenvalue L of the Hessian of mean(loss(Xw + b − y)) + λ/2‖w‖² in (w, b).

    For the squared loss it is (c/B)[X, 1]ᵀ[X, 1] + λ·diag(1, …, 1, decay_bias), with c = 2 for ``"mse"`` and
    1 for ``"half_mse"``: the penalty adds λ to the curvature of every weight direction. Gradient descent on
    that loss is stable for η < 2/L.
    """
    validate.choice("loss", loss, LOSSES)
    lambd = validate.number("lambd", lambd, low=0.0)
    decay_bias = validate.flag("decay_bias", decay_bias)
    X = _float64_matrix("X", X, (2,))
    if X.dim() != 2 or len(X) == 0:
        raise ValueError(f"X must be a non-empty (B, d) matrix, got shape {tuple(X.shape)}")
    X_aug = torch.cat([X, X.new_ones(len(X), 1)], dim=1)
    penalty = torch.full((X.shape[1] + 1,), float(lambd), dtype=torch.float64)
    penalty[-1] = float(lambd) if decay_bias else 0.0
    hessian = LOSSES[loss][1] / len(X) * X_aug.T @ X_aug + torch.diag(penalty)
    return float(torch.linalg.eigvalsh(hessian).max())
