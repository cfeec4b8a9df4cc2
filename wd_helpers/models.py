"""Small models: an MLP with dropout after each hidden layer, from scratch or with nn.Dropout."""

import math

import torch
from torch import nn

from .regularizers import dropout


def _check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _check_rate(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a dropout probability in [0, 1], got {p!r}")
    return float(p)


def _linear(num_inputs: int, num_outputs: int, generator: torch.Generator | None) -> nn.Linear:
    """nn.Linear with PyTorch's default init, W, b ~ U(−1/√fan_in, 1/√fan_in), drawn from ``generator``.

    Built with ``skip_init`` so that a given generator is the only random stream used: the
    global generator is not advanced. Without a generator, PyTorch's own init (global RNG).
    """
    layer = nn.utils.skip_init(nn.Linear, num_inputs, num_outputs)
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
    """

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
    ):
        super().__init__()
        sizes = {"num_inputs": num_inputs, "num_hiddens1": num_hiddens1,
                 "num_hiddens2": num_hiddens2, "num_outputs": num_outputs}
        for name, value in sizes.items():
            _check_size(name, value)
        self.dropout1 = _check_rate("dropout1", dropout1)
        self.dropout2 = _check_rate("dropout2", dropout2)
        self.scratch = bool(scratch)
        self.generator = generator
        self.lin1 = _linear(num_inputs, num_hiddens1, generator)
        self.lin2 = _linear(num_hiddens1, num_hiddens2, generator)
        self.lin3 = _linear(num_hiddens2, num_outputs, generator)
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
