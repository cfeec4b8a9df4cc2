"""Small computations behind the activation and loss lessons: gradient norms through a deep MLP,
dead ReLUs, robust line fits. Compute only: they return numbers and tensors, never plot."""

import torch
from torch import nn

from . import losses, validate
from .activations import ACTIVATIONS
from .device import on_course_device


INITS = ("he", "pytorch", "xavier")
GRADIENTS_WRT = ("weights", "pre-activations")
MAX_BATCH = 100_000  # examples drawn for one measurement: enough for any plot, and a bound against typos (1e9)
MAX_STEPS = 100_000  # optimizer steps of one fit: a minute of work, a bound against typos (1e9)


def _check_generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def _check_depth(depth) -> int:
    try:  # a bool, a string or 5.5: validate's TypeError
        return validate.integer("depth", depth, low=1, high=100)
    except ValueError:
        raise ValueError(f"depth must be an integer in [1, 100], got {depth!r}") from None


def _check_alpha(activation: str, alpha) -> float:
    """The activation's parameter: a finite number, > 0 for ELU (its saturation value is −alpha)."""
    if activation == "ELU":
        return validate.number("alpha", alpha, low=0.0, low_open=True)
    return validate.number("alpha", alpha)


def _float_tensor(name: str, value, ndim: int) -> torch.Tensor:
    """A finite floating-point tensor of ``ndim`` dimensions holding at least one element: NaN is refused here,
    naming the argument, rather than left to turn the fit into NaN."""
    validate.finite_tensor(name, value, ndim=ndim)
    if value.numel() == 0:
        raise ValueError(f"{name} must hold at least one example, got shape {tuple(value.shape)}")
    return value


@on_course_device
def deep_mlp(activation: str, depth: int, *, width: int = 64, num_inputs: int = 16, alpha: float = 0.1,
             init: str = "he", generator: torch.Generator | None = None) -> nn.Sequential:
    """``depth`` hidden layers Linear(width) → activation, then Linear(1), initialised from ``generator``.

    init="he": W ~ N(0, 2/fan_in), biases 0 (Kaiming/He, made for ReLU: keeps activations' scale).
    init="pytorch": nn.Linear's default, U(−1/√fan_in, 1/√fan_in) for weights and biases.
    init="xavier": W ~ N(0, 2/(fan_in + fan_out)), biases 0 (Glorot, made for tanh: slope 1 at 0).
    """
    validate.choice("init", init, INITS)
    validate.choice("activation", activation, ACTIVATIONS)
    depth = _check_depth(depth)
    width = validate.integer("width", width, low=1)
    num_inputs = validate.integer("num_inputs", num_inputs, low=1)
    alpha = _check_alpha(activation, alpha)
    generator = _check_generator(generator)
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
    validate.choice("wrt", wrt, GRADIENTS_WRT)
    batch_size = validate.integer("batch_size", batch_size, low=1, high=MAX_BATCH)  # 0 examples: no gradient at all
    generator = torch.Generator().manual_seed(validate.seed(seed))
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
    batch_size = validate.integer("batch_size", batch_size, low=2, high=MAX_BATCH)  # a pair needs two examples
    generator = torch.Generator().manual_seed(validate.seed(seed))
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
    """For each activation layer: the fraction of units that output 0 for every input in X.

    X (B, num_inputs), B >= 1 (over no inputs every unit would count as dead), in the model's dtype or converted to it.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential (from deep_mlp), got {type(model).__name__}")
    X = _float_tensor("X", X, ndim=2)
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), X.dtype)
    fractions, h = [], X.to(dtype)
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
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if x.shape != y.shape or x.dim() != 1:
        raise ValueError(f"x and y must be 1-D and of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    x, y = _float_tensor("x", x, ndim=1), _float_tensor("y", y, ndim=1)
    steps = validate.integer("steps", steps, low=0, high=MAX_STEPS)
    lr = validate.number("lr", lr, low=0.0, low_open=True)
    dtype = torch.promote_types(x.dtype, y.dtype)  # float32, or float64 for float64 points
    x, y = x.to(dtype), y.to(dtype)
    params = torch.zeros(len(LINE_LOSSES), 2, dtype=dtype, requires_grad=True)  # one (a, b) per loss
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
    validate.choice("optimizer", optimizer, OPTIMIZERS)
    lr = validate.number("lr", lr, low=0.0, low_open=True)
    steps = validate.integer("steps", steps, low=0, high=MAX_STEPS)
    init_scale = validate.number("init_scale", init_scale, low=0.0, low_open=True)
    outputs = validate.integer("outputs", outputs, low=1)
    seed = validate.seed(seed)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function loss_fn(y_hat, y), got {type(loss_fn).__name__}")
    X = _float_tensor("X", X, ndim=2)
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.dim() == 0 or len(y) != len(X):
        raise ValueError(f"X must be (N, D) and y hold N targets, got {tuple(X.shape)} and {tuple(y.shape)}")
    if y.is_floating_point():
        validate.finite_tensor("y", y)
    generator = torch.Generator().manual_seed(seed)
    model = nn.Linear(X.shape[1], outputs, dtype=X.dtype)  # the data's dtype, whatever torch's default
    bound = 1 / X.shape[1] ** 0.5
    with torch.no_grad():  # drawn in float32 whatever the dtypes: the same initial weights every time
        model.weight.copy_((torch.rand(model.weight.shape, generator=generator, dtype=torch.float32) * 2 - 1)
                           * bound * init_scale)
        model.bias.copy_((torch.rand(model.bias.shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound)
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


# ---------------------------------------------------------------- signals through depth (notebook 01b)


SATURATED_SLOPE = 0.1  # |f′(z)| < a tenth of tanh′(0) = 1: a unit passing little gradient on (tanh: |h| > 0.95)


@on_course_device
def signal_statistics(activation: str, depth: int, *, init: str = "he", scale: float = 1.0, width: int = 64,
                      batch_size: int = 256, alpha: float = 0.1, seed: int = 0) -> dict[str, list[float]]:
    """How big the forward and backward signals are at every hidden layer l = 1..depth of a fresh deep MLP.

    The network is ``deep_mlp(activation, depth, width=width, init=init)`` with every weight then multiplied by
    ``scale`` (0.5: half the init's std; the biases, nonzero only for init="pytorch", are left as drawn), fed the
    same kind of seeded batch and loss as ``layer_gradient_norms``. Returns per layer:

    * "activation_std": the std of h_l = f(z_l) over the batch and the units;
    * "gradient_std": the std of ∂loss/∂z_l, the backward signal at layer l's pre-activations;
    * "saturated": the share of the z_l with |f′(z_l)| < SATURATED_SLOPE (for ReLU: its inactive units, f′ = 0).

    A layer multiplies E[z²] by width · Var(w) · E[f(z)²]/E[z²]: He (2/fan_in) keeps ReLU's, Xavier keeps
    tanh's from collapsing geometrically; a factor ≠ 1 compounds over the layers.
    """
    scale = validate.number("scale", scale, low=0.0, low_open=True)
    batch_size = validate.integer("batch_size", batch_size, low=2, high=MAX_BATCH)  # a std needs two values
    generator = torch.Generator().manual_seed(validate.seed(seed))
    model = deep_mlp(activation, depth, width=width, alpha=alpha, init=init, generator=generator)
    X = torch.randn(batch_size, 16, generator=generator)
    y = torch.randn(batch_size, 1, generator=generator)
    previous_threads = torch.get_num_threads()
    # measured at 40 layers of 256, batch 128, on a 2-core machine: one thread 0.18 s, two 0.15-0.18 s when quiet but
    # 0.34-0.46 s beside one busy process (one thread: 0.18-0.21 s); the caller's setting is restored
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for layer in model:
                if isinstance(layer, nn.Linear):
                    layer.weight *= scale
        h, pre_activations, outputs, slopes = X, [], [], []
        for layer in model:
            if isinstance(layer, _Elementwise):
                z = h.detach().requires_grad_()  # f′(z) elementwise: ∂(Σ f(z))/∂z, as activations.derivative
                (slope,) = torch.autograd.grad(layer(z).sum(), z)
                slopes.append(slope)
            h = layer(h)
            if isinstance(layer, nn.Linear):
                h.retain_grad()  # ∂loss/∂z_l, which autograd frees for non-leaf tensors
                pre_activations.append(h)
            else:
                outputs.append(h.detach())
        losses.mse_loss(h, y).backward()
    finally:
        torch.set_num_threads(previous_threads)
    return {
        "activation_std": [out.std().item() for out in outputs],
        "gradient_std": [z.grad.std().item() for z in pre_activations[:-1]],
        "saturated": [(slope.abs() < SATURATED_SLOPE).double().mean().item() for slope in slopes],
    }
