"""Small computations behind the activation and loss lessons: gradient norms through a deep MLP,
dead ReLUs, robust line fits. Compute only: they return numbers and tensors, never plot."""

import torch
from torch import nn

from . import losses
from .activations import ACTIVATIONS
from .device import on_course_device


INITS = ("he", "pytorch")


@on_course_device
def deep_mlp(activation: str, depth: int, *, width: int = 64, num_inputs: int = 16, alpha: float = 0.1,
             init: str = "he", generator: torch.Generator | None = None) -> nn.Sequential:
    """``depth`` hidden layers Linear(width) → activation, then Linear(1), initialised from ``generator``.

    init="he": W ~ N(0, 2/fan_in), biases 0 (Kaiming/He, made for ReLU: keeps activations' scale).
    init="pytorch": nn.Linear's default, U(−1/√fan_in, 1/√fan_in) for weights and biases.
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
                         alpha: float = 0.1, init: str = "he", seed: int = 0) -> list[float]:
    """‖∂loss/∂W_l‖ for every hidden layer l = 1..depth of a freshly initialised deep MLP.

    Loss: mean squared error to random targets on random inputs (both seeded). With sigmoid the
    norms shrink layer by layer towards the input (σ′ ≤ 0.25); with ReLU and He init they stay
    in range.
    """
    generator = torch.Generator().manual_seed(seed)
    model = deep_mlp(activation, depth, width=width, alpha=alpha, init=init, generator=generator)
    X = torch.randn(batch_size, 16, generator=generator)
    y = torch.randn(batch_size, 1, generator=generator)
    losses.mse_loss(model(X), y).backward()
    hidden = [layer for layer in model if isinstance(layer, nn.Linear)][:-1]
    return [layer.weight.grad.norm().item() for layer in hidden]


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
    """Fit y ≈ a·x + b under each loss in LINE_LOSSES (full-batch Adam from a = b = 0).

    Returns {loss name: (a, b)}. MSE chases an outlier; L1 and Huber mostly ignore it.
    """
    if x.shape != y.shape or x.dim() != 1:
        raise ValueError(f"x and y must be 1-D and of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    params = torch.zeros(len(LINE_LOSSES), 2, requires_grad=True)  # one (a, b) per loss
    optimizer = torch.optim.Adam([params], lr=lr)
    X = torch.stack([x, torch.ones_like(x)], dim=1)  # (n, 2): the slope's input and the intercept's
    for _ in range(steps):
        optimizer.zero_grad()
        y_hat = X @ params.T  # (n, 3): every line's predictions in one product
        total = sum(fn(y_hat[:, i], y) for i, fn in enumerate(LINE_LOSSES.values()))
        total.backward()  # the losses share no parameters: one backward fits all three
        optimizer.step()
    return {name: (params[i, 0].item(), params[i, 1].item()) for i, name in enumerate(LINE_LOSSES)}
