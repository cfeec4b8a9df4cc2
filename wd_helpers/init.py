"""Weight initialisers written from the variance argument, equal to ``torch.nn.init``'s.

One layer z = W h + b, with W of shape (fan_out, fan_in) (``nn.Linear``'s layout), W's entries independent with
mean 0 and b = 0, sums fan_in products: Var(zᵢ) = fan_in · Var(w) · E[h²]. Keeping that from layer to layer:

* Xavier / Glorot (tanh, sigmoid, no activation): E[h²] ≈ Var(z) near 0, so Var(w) = 1/fan_in keeps the forward
  signal and 1/fan_out the backward one; the compromise is Var(w) = 2/(fan_in + fan_out).
* He / Kaiming (ReLU): half the units output 0, E[relu(z)²] = Var(z)/2, so Var(w) = 2/fan_in.

The scale is ``gain / √fan``: ``gain`` (``calculate_gain``) makes up for what the activation does to E[h²] (√2 for
ReLU). A normal draw has that std; a uniform U(−a, a) has variance a²/3, so a = √3 · std.

Each function returns a new float32 tensor of ``shape`` (at least 2-D; for a convolution kernel (out, in, *k) the
fans are multiplied by the kernel's size) drawn from ``generator`` (torch's global generator when None), with the
same values as the ``torch.nn.init`` function of the same name given the same generator state (normal draws of fewer
than 16 values: equal to float32 rounding, as torch draws those one by one in float64).
"""

import math

import torch

from . import validate
from .device import on_course_device

NONLINEARITIES = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")
MODES = ("fan_in", "fan_out")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor ``torch.nn.init.calculate_gain`` recommends: the std multiplier that keeps E[h²] through f.

    linear, sigmoid: 1 · tanh: 5/3 · relu: √2 (half the units are 0) · leaky_relu with slope α (``param``,
    0.01 when None): √(2 / (1 + α²)), the negative side keeping α² of the variance.
    """
    validate.choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else validate.number("param", param)
        return math.sqrt(2.0 / (1 + slope**2))
    if param is not None:
        raise ValueError(f"param is the negative slope of leaky_relu only; got param={param!r} for {nonlinearity!r}")
    return {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0)}[nonlinearity]


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` = (out, in, *kernel): in · k and out · k, k the kernel's size."""
    if isinstance(shape, torch.Size):
        shape = tuple(shape)
    if not isinstance(shape, tuple | list):
        raise TypeError(f"shape must be a tuple of sizes such as (fan_out, fan_in), got {type(shape).__name__} "
                        f"{shape!r:.60}")
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions (fan_out, fan_in), got {tuple(shape)}")
    sizes = [validate.integer(f"shape[{i}]", size, low=1) for i, size in enumerate(shape)]
    kernel = math.prod(sizes[2:])
    return sizes[1] * kernel, sizes[0] * kernel


def _check_generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def _uniform(shape, bound: float, generator) -> torch.Tensor:
    """U(−bound, bound): u ~ U(0, 1) stretched to [−1, 1), then scaled (the same bits as ``Tensor.uniform_``)."""
    shape = tuple(int(size) for size in shape)
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound


def _normal(shape, std: float, generator) -> torch.Tensor:
    """N(0, std²): a standard normal draw, scaled."""
    shape = tuple(int(size) for size in shape)
    return torch.randn(shape, generator=generator, dtype=torch.float32) * std


def _check_gain(value) -> float:
    return validate.number("gain", value, low=0.0, low_open=True)


def xavier_std(shape, *, gain: float = 1.0) -> float:
    """Glorot's std, gain · √(2 / (fan_in + fan_out)): Var(w) halfway between 1/fan_in (forward) and 1/fan_out
    (backward)."""
    fan_in, fan_out = fans(shape)
    return _check_gain(gain) * math.sqrt(2.0 / float(fan_in + fan_out))


def kaiming_std(shape, *, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> float:
    """He's std, gain / √fan (fan = fan_in by default: Var(w) = 2/fan_in for ReLU).

    As in torch, ``a`` is the negative slope used when nonlinearity="leaky_relu" (torch's default, whose a = 0
    is ReLU's gain √2); a = √5 gives gain √(1/3) and std 1/√(3 fan_in), nn.Linear's default.
    """
    validate.choice("mode", mode, MODES)
    validate.choice("nonlinearity", nonlinearity, NONLINEARITIES)
    a = validate.number("a", a)
    fan_in, fan_out = fans(shape)
    gain = calculate_gain(nonlinearity, a if nonlinearity == "leaky_relu" else None)
    return gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)


@on_course_device
def xavier_uniform(shape, *, gain: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """W ~ U(−a, a), a = √3 · xavier_std: torch.nn.init.xavier_uniform_."""
    bound = math.sqrt(3.0) * xavier_std(shape, gain=gain)  # Var(U(−a, a)) = a²/3
    return _uniform(shape, bound, _check_generator(generator))


@on_course_device
def xavier_normal(shape, *, gain: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """W ~ N(0, xavier_std²): torch.nn.init.xavier_normal_."""
    std = xavier_std(shape, gain=gain)
    return _normal(shape, std, _check_generator(generator))


@on_course_device
def kaiming_uniform(shape, *, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """W ~ U(−b, b), b = √3 · kaiming_std (√(6/fan_in) for ReLU): torch.nn.init.kaiming_uniform_."""
    bound = math.sqrt(3.0) * kaiming_std(shape, a=a, mode=mode, nonlinearity=nonlinearity)
    return _uniform(shape, bound, _check_generator(generator))


@on_course_device
def kaiming_normal(shape, *, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """W ~ N(0, kaiming_std²) (variance 2/fan_in for ReLU): torch.nn.init.kaiming_normal_."""
    std = kaiming_std(shape, a=a, mode=mode, nonlinearity=nonlinearity)
    return _normal(shape, std, _check_generator(generator))
