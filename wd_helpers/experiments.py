"""Small computations behind the activation and loss lessons: gradient norms through a deep MLP,
dead ReLUs, robust line fits. Compute only: they return numbers and tensors, never plot."""

import torch
from torch import nn

from . import losses
from .activations import ACTIVATIONS
from .device import on_course_device


INITS = ("he", "pytorch", "xavier")
GRADIENTS_WRT = ("weights", "pre-activations")


@on_course_device
def deep_mlp(activation: str, depth: int, *, width: int = 64, num_inputs: int = 16, alpha: float = 0.1,
             init: str = "he", generator: torch.Generator | None = None) -> nn.Sequential:
    """``depth`` hidden layers Linear(width) → activation, then Linear(1), initialised from ``generator``.

    init="he": W ~ N(0, 2/fan_in), biases 0 (Kaiming/He, made for ReLU: keeps activations' scale).
    init="pytorch": nn.Linear's default, U(−1/√fan_in, 1/√fan_in) for weights and biases.
    init="xavier": W ~ N(0, 2/(fan_in + fan_out)), biases 0 (Glorot, made for tanh: slope 1 at 0).
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 100:
        raise ValueError(f"depth must be an integer in [1, 100], got {depth!r}")
    fn = ACTIVATIONS[activation]
    layers, fan_in = [], num_inputs
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), _Elementwise(fn, alpha)]
        fan_in = width
    layers.append(nn.Linear(fan_in, 1))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for layer in model:
            if not isinstance(layer, nn.Linear):
                continue
            if init == "he":
                std = (2 / layer.in_features) ** 0.5
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)
                layer.bias.zero_()
            elif init == "xavier":
                std = (2 / (layer.in_features + layer.out_features)) ** 0.5
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)
                layer.bias.zero_()
            else:
                bound = 1 / layer.in_features**0.5
                layer.weight.copy_((torch.rand(layer.weight.shape, generator=generator) * 2 - 1) * bound)
                layer.bias.copy_((torch.rand(layer.bias.shape, generator=generator) * 2 - 1) * bound)
    return model


class _Elementwise(nn.Module):
    """An activation function from ``wd_helpers.activations`` as a layer."""

    def __init__(self, fn, alpha: float):
        super().__init__()
        self.fn, self.alpha = fn, alpha

    def forward(self, x):
        return self.fn(x, self.alpha)


@on_course_device
def layer_gradient_norms(activation: str, depth: int, *, width: int = 64, batch_size: int = 256,
                         alpha: float = 0.1, init: str = "he", seed: int = 0, wrt: str = "weights") -> list[float]:
    """‖∂loss/∂W_l‖ for every hidden layer l = 1..depth of a freshly initialised deep MLP.

    wrt="pre-activations": ‖∂loss/∂z_l‖ instead, z_l = W_l h_(l−1) + b_l, the signal backpropagation
    multiplies by Wᵀ and f′ once per layer. (∂loss/∂W_l = (∂loss/∂z_l) h_(l−1)ᵀ also carries the forward
    activations' scale, which can hide a backward signal that shrinks.)

    Loss: mean squared error to random targets on random inputs (both seeded). With sigmoid the
    norms shrink layer by layer towards the input (σ′ ≤ 0.25); with ReLU and He init they stay
    in range.
    """
    if wrt not in GRADIENTS_WRT:
        raise ValueError(f"wrt must be one of {GRADIENTS_WRT}, got {wrt!r}")
    generator = torch.Generator().manual_seed(seed)
    model = deep_mlp(activation, depth, width=width, alpha=alpha, init=init, generator=generator)
    X = torch.randn(batch_size, 16, generator=generator)
    y = torch.randn(batch_size, 1, generator=generator)
    h, pre_activations = X, []
    previous_threads = torch.get_num_threads()
    # 64-wide layers: a second thread only waits for a core (measured on a busy 2-core machine: the
    # notebook's 18 calls at depth 20 took 13.8 s on two threads, 0.45 s on one); the caller's setting is restored
    torch.set_num_threads(1)
    try:
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                h.retain_grad()  # keep ∂loss/∂z_l, which autograd frees for non-leaf tensors
                pre_activations.append(h)
        losses.mse_loss(h, y).backward()
    finally:
        torch.set_num_threads(previous_threads)
    if wrt == "pre-activations":
        return [z.grad.norm().item() for z in pre_activations[:-1]]
    hidden = [layer for layer in model if isinstance(layer, nn.Linear)][:-1]
    return [layer.weight.grad.norm().item() for layer in hidden]


@on_course_device
def mean_feature_cosines(activation: str, depth: int, *, width: int = 64, batch_size: int = 256,
                         alpha: float = 0.1, init: str = "he", seed: int = 0) -> list[float]:
    """After each hidden layer l = 1..depth: the mean cosine between two examples' features h_l (pairs n ≠ m).

    The same seeded network and batch as ``layer_gradient_norms``. Near 0: the examples' features point in
    unrelated directions; near 1: they line up, and the batch sum ∂loss/∂W_l = Σ_n δ_n h_(l−1),nᵀ adds up coherently.
    """
    if not 2 <= batch_size <= 100_000:
        raise ValueError(f"batch_size must be in [2, 100000], got {batch_size!r}")
    generator = torch.Generator().manual_seed(seed)
    model = deep_mlp(activation, depth, width=width, alpha=alpha, init=init, generator=generator)
    h = torch.randn(batch_size, 16, generator=generator)
    cosines, previous_threads = [], torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: as in layer_gradient_norms, a second thread only waits
    try:
        with torch.no_grad():
            for layer in model[:-1]:
                h = layer(h)
                if isinstance(layer, _Elementwise):
                    u = h / h.norm(dim=1, keepdim=True).clamp_min(1e-30)  # unit rows (a dead row stays 0)
                    total = u.sum(dim=0)  # Σ_n u_n, so that ‖Σ u‖² − Σ‖u_n‖² = Σ_(n≠m) u_n·u_m
                    cosines.append(((total @ total) - (u * u).sum()).item() / (batch_size * (batch_size - 1)))
    finally:
        torch.set_num_threads(previous_threads)
    return cosines


@on_course_device
def dead_relu_fraction(model: nn.Sequential, X: torch.Tensor) -> list[float]:
    """For each activation layer: the fraction of units that output 0 for every input in X."""
    fractions, h = [], X
    with torch.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, _Elementwise):
                fractions.append((h <= 0).all(dim=0).float().mean().item())
    return fractions


# torch's own losses, which tests/test_losses.py shows equal to ours: the fit runs 300 steps per
# slider move, and their fused kernels make it ~5x faster than our checked, readable versions
LINE_LOSSES = {
    "L1": nn.functional.l1_loss,
    "MSE": nn.functional.mse_loss,
    "Huber": lambda y_hat, y: nn.functional.huber_loss(y_hat, y, delta=1.0),
}


@on_course_device
def fit_lines(x: torch.Tensor, y: torch.Tensor, *, steps: int = 300, lr: float = 0.1) -> dict[str, tuple[float, float]]:
    """Fit y ≈ a·x + b under each loss in LINE_LOSSES (full-batch Adam from a = b = 0; MSE exactly).

    Returns {loss name: (a, b)}. MSE chases an outlier; L1 and Huber mostly ignore it. The MSE line is the
    exact least-squares solution (slope cov(x, y)/var(x)): ``steps`` Adam steps stop short of it when an outlier
    pulls far, which would understate how far MSE follows it. The L1 line is exact too (for up to 200 points
    with two distinct x): some best L1 line passes through two data points, so it is the best of the n(n−1)/2
    lines through pairs (Adam at a fixed lr hovers around the L1 minimum, a few hundredths off).
    """
    if x.shape != y.shape or x.dim() != 1:
        raise ValueError(f"x and y must be 1-D and of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    params = torch.zeros(len(LINE_LOSSES), 2, requires_grad=True)  # one (a, b) per loss
    optimizer = torch.optim.Adam([params], lr=lr)
    X = torch.stack([x, torch.ones_like(x)], dim=1)  # (n, 2): the slope's input and the intercept's
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: a second thread only waits for a core (as in train_linear)
    try:
        for _ in range(steps):
            optimizer.zero_grad()
            y_hat = X @ params.T  # (n, 3): every line's predictions in one product
            total = sum(fn(y_hat[:, i], y) for i, fn in enumerate(LINE_LOSSES.values()))
            total.backward()  # the losses share no parameters: one backward fits all three
            optimizer.step()
        fits = {name: (params[i, 0].item(), params[i, 1].item()) for i, name in enumerate(LINE_LOSSES)}
        xd, yd = x.detach().double().cpu(), y.detach().double().cpu()
        if "MSE" in fits:  # the least-squares line in closed form, float64 (the same bits on every call)
            dx = xd - xd.mean()
            spread = float((dx * dx).sum())
            a = float((dx * (yd - yd.mean())).sum()) / spread if spread > 0 else 0.0  # all x equal: any slope fits
            fits["MSE"] = (a, float(yd.mean()) - a * float(xd.mean()))
        pairs = len(xd) if len(xd) <= 200 else 0  # beyond 200 points the n²/2 candidate lines cost too much
        first, second = torch.triu_indices(pairs, pairs, 1)
        distinct = xd[first] != xd[second]  # a pair with equal x fixes no line
        if "L1" in fits and bool(distinct.any()):
            first, second = first[distinct], second[distinct]
            slopes = (yd[second] - yd[first]) / (xd[second] - xd[first])
            intercepts = yd[first] - slopes * xd[first]
            best = (slopes[:, None] * xd + intercepts[:, None] - yd).abs().sum(dim=1).argmin()
            fits["L1"] = (slopes[best].item(), intercepts[best].item())
    finally:
        torch.set_num_threads(previous_threads)
    return fits


OPTIMIZERS = ("sgd", "adam")


@on_course_device
def train_linear(X: torch.Tensor, y: torch.Tensor, loss_fn, *, outputs: int, optimizer: str = "adam",
                 lr: float = 0.05, steps: int = 200, init_scale: float = 1.0,
                 seed: int = 0) -> tuple[nn.Linear, list[float]]:
    """Full-batch training of ``nn.Linear(X.shape[1], outputs)`` to minimise ``loss_fn(model(X), y)``.

    The layer starts from nn.Linear's default U(−1/√fan_in, 1/√fan_in), drawn from a generator seeded
    with ``seed``, its weights then multiplied by ``init_scale`` (> 1: a confident model from the start).
    Returns the trained layer and the loss before each step and after the last (``steps + 1`` floats).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not init_scale > 0:
        raise ValueError(f"init_scale must be > 0, got {init_scale}")
    if isinstance(outputs, bool) or not isinstance(outputs, int) or outputs < 1:
        raise ValueError(f"outputs must be an integer >= 1, got {outputs!r}")
    if X.dim() != 2 or len(y) != len(X):
        raise ValueError(f"X must be (N, D) and y hold N targets, got {tuple(X.shape)} and {tuple(y.shape)}")
    generator = torch.Generator().manual_seed(seed)
    model = nn.Linear(X.shape[1], outputs)
    bound = 1 / X.shape[1] ** 0.5
    with torch.no_grad():
        model.weight.copy_((torch.rand(model.weight.shape, generator=generator) * 2 - 1) * bound * init_scale)
        model.bias.copy_((torch.rand(model.bias.shape, generator=generator) * 2 - 1) * bound)
    make = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
    step_rule = make(model.parameters(), lr=lr)
    history = []
    previous_threads = torch.get_num_threads()
    # tiny tensors: a second thread only waits for a core (measured on a busy 2-core machine: 200 SGD +
    # 200 Adam steps took 0.25 s on one thread, 22 s on two), and the learner's setting is restored after
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            step_rule.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            step_rule.step()
            history.append(loss.item())
        with torch.no_grad():
            history.append(loss_fn(model(X), y).item())
    finally:
        torch.set_num_threads(previous_threads)
    return model, history
