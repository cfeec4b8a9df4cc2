"""Small models: an MLP with dropout after each hidden layer, from scratch or with nn.Dropout."""

import math
from collections.abc import Iterable

import torch
from torch import nn

from . import validate
from .device import on_course_device
from .regularizers import dropout


def _check_size(name: str, value) -> int:
    return validate.integer(name, value, low=1)


def _check_rate(name: str, p) -> float:
    try:  # a bool, a string or several values: validate's TypeError; NaN and ±inf are out of range here
        return validate.number(name, p, low=0.0, high=1.0)
    except ValueError:
        raise ValueError(f"{name} must be a dropout probability in [0, 1], got {p!r}") from None


def _check_dtype(dtype) -> torch.dtype | None:
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype or None, got {dtype!r:.60}")
    return dtype


def _linear(num_inputs: int, num_outputs: int, generator: torch.Generator | None,
            dtype: torch.dtype | None = None) -> nn.Linear:
    """nn.Linear with PyTorch's default init, W, b ~ U(−1/√fan_in, 1/√fan_in), drawn from ``generator``.

    Built with ``skip_init`` so that a given generator is the only random stream used: the
    global generator is not advanced. Without a generator, PyTorch's own init (global RNG).
    ``dtype`` None: torch's default dtype.
    """
    layer = nn.utils.skip_init(nn.Linear, num_inputs, num_outputs, dtype=dtype)
    if generator is None:
        layer.reset_parameters()
    else:
        bound = 1.0 / math.sqrt(num_inputs)  # kaiming_uniform(a=√5) on (out, in) gives this bound too
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


class MLP(nn.Module):
    """Linear → ReLU → dropout(p1) → Linear → ReLU → dropout(p2) → Linear. X: (B, num_inputs) → (B, num_outputs).

    ``scratch=True`` uses our ``regularizers.dropout`` with ``training=self.training``, so
    ``model.train()`` / ``model.eval()`` switch it exactly as they switch ``nn.Dropout``
    (``scratch=False``). Both are inverted dropout: at evaluation time the two are the identity
    and, with the same weights, the two models compute the same function.

    ``generator`` draws the initial weights (PyTorch's default init distribution) and, with
    ``scratch=True``, the dropout masks. ``nn.Dropout`` takes no generator: its masks come from
    torch's global generator (``train_classifier`` seeds that inside ``torch.random.fork_rng``).
    Without a generator, weights and scratch masks use the global generator as well.
    ``dtype`` (None: torch's default dtype) is the parameters' dtype; ``dropout_mlp`` passes its data's.
    """

    @on_course_device
    def __init__(
        self,
        num_inputs: int,
        num_hiddens1: int,
        num_hiddens2: int,
        num_outputs: int,
        *,
        dropout1: float = 0.0,
        dropout2: float = 0.0,
        scratch: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        num_inputs, num_hiddens1, num_hiddens2, num_outputs = (
            _check_size(name, value) for name, value in (("num_inputs", num_inputs), ("num_hiddens1", num_hiddens1),
                                                         ("num_hiddens2", num_hiddens2), ("num_outputs", num_outputs)))
        self.dropout1 = _check_rate("dropout1", dropout1)
        self.dropout2 = _check_rate("dropout2", dropout2)
        self.scratch = validate.flag("scratch", scratch)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.generator = generator
        dtype = _check_dtype(dtype)
        self.lin1 = _linear(num_inputs, num_hiddens1, generator, dtype)
        self.lin2 = _linear(num_hiddens1, num_hiddens2, generator, dtype)
        self.lin3 = _linear(num_hiddens2, num_outputs, generator, dtype)
        if not self.scratch:
            self.drop1 = nn.Dropout(self.dropout1)
            self.drop2 = nn.Dropout(self.dropout2)

    def _drop(self, H: torch.Tensor, which: int) -> torch.Tensor:
        if self.scratch:
            p = self.dropout1 if which == 1 else self.dropout2
            return dropout(H, p, training=self.training, generator=self.generator)
        return (self.drop1 if which == 1 else self.drop2)(H)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        H1 = self._drop(torch.relu(self.lin1(X)), 1)  # (B, num_hiddens1)
        H2 = self._drop(torch.relu(self.lin2(H1)), 2)  # (B, num_hiddens2)
        return self.lin3(H2)  # (B, num_outputs): logits

    def extra_repr(self) -> str:
        kind = "scratch" if self.scratch else "nn.Dropout"
        return f"dropout1={self.dropout1}, dropout2={self.dropout2}, dropout={kind}"


class StackedMLP(nn.Module):
    """K scratch-dropout MLPs with the same layer sizes, trained side by side by one optimizer.

    Built from K ``MLP(..., scratch=True)`` models: their weights are stacked along a new first
    dimension (lin1.weight: (K, h1, num_inputs), lin1.bias: (K, 1, h1), ...) and each keeps its own
    dropout rates and mask generator. X: (B, num_inputs) → (K, B, num_outputs): model k computes
    exactly what ``models[k]`` would, its masks drawn from its generator in the same order.
    ``unstack()`` gives the K trained MLPs back.
    """

    @on_course_device
    def __init__(self, models: list[MLP]):
        super().__init__()
        if isinstance(models, nn.Module | torch.Tensor | str) or not isinstance(models, Iterable):
            raise TypeError(f"models must be a list of MLP(..., scratch=True), got {type(models).__name__}")
        models = list(models)
        if not models or not all(isinstance(m, MLP) and m.scratch for m in models):
            raise ValueError("models must be a non-empty list of MLP(..., scratch=True)")
        shapes = {tuple(p.shape for p in m.parameters()) for m in models}
        if len(shapes) != 1:
            raise ValueError(f"models must all have the same layer sizes, got {len(shapes)} different ones")
        self.rates = [(m.dropout1, m.dropout2) for m in models]
        self.generators = [m.generator for m in models]
        self._template = models[0]
        for name in ("lin1", "lin2", "lin3"):
            weight = torch.stack([getattr(m, name).weight.detach() for m in models])  # (K, out, in)
            bias = torch.stack([getattr(m, name).bias.detach() for m in models]).unsqueeze(1)  # (K, 1, out)
            self.register_parameter(f"{name}_weight", nn.Parameter(weight.clone()))
            self.register_parameter(f"{name}_bias", nn.Parameter(bias.clone()))

    def __len__(self) -> int:
        return len(self.rates)

    def weights(self) -> list[nn.Parameter]:
        return [self.lin1_weight, self.lin2_weight, self.lin3_weight]

    def biases(self) -> list[nn.Parameter]:
        return [self.lin1_bias, self.lin2_bias, self.lin3_bias]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # One model after another over the stacked weights. Measured (benchmarks/bench_dropout_explorer.py):
        # for layers of 256 units a batched product over K models is no faster, and its (K, n, 256)
        # temporaries, several MB each, make it slower than K passes whose temporaries stay in cache.
        logits = []
        for k, ((p1, p2), generator) in enumerate(zip(self.rates, self.generators)):
            H1 = nn.functional.linear(X, self.lin1_weight[k], self.lin1_bias[k, 0])
            H1 = dropout(torch.relu(H1), p1, training=self.training, generator=generator)  # (B, num_hiddens1)
            H2 = nn.functional.linear(H1, self.lin2_weight[k], self.lin2_bias[k, 0])
            H2 = dropout(torch.relu(H2), p2, training=self.training, generator=generator)  # (B, num_hiddens2)
            logits.append(nn.functional.linear(H2, self.lin3_weight[k], self.lin3_bias[k, 0]))
        return torch.stack(logits)  # (K, B, num_outputs): logits of each model

    def unstack(self) -> list[MLP]:
        """The K models as separate MLPs (copies of the current weights, each with its generator)."""
        models = []
        for k, ((p1, p2), generator) in enumerate(zip(self.rates, self.generators)):
            t = self._template
            model = MLP(t.lin1.in_features, t.lin1.out_features, t.lin2.out_features, t.lin3.out_features,
                        dropout1=p1, dropout2=p2, scratch=True, generator=torch.Generator(),  # throwaway init
                        dtype=self.lin1_weight.dtype)
            model.generator = generator  # masks continue from model k's own stream
            with torch.no_grad():
                for name in ("lin1", "lin2", "lin3"):
                    getattr(model, name).weight.copy_(getattr(self, f"{name}_weight")[k])
                    getattr(model, name).bias.copy_(getattr(self, f"{name}_bias")[k, 0])
            models.append(model.train(self.training))
        return models
