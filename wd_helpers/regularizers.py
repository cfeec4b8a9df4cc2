"""Penalties, inverted dropout, and parameter groups that decay weights but not biases."""

from collections.abc import Iterable

import torch
from torch import nn

from . import validate


def _real_tensor(name: str, w) -> torch.Tensor:
    """``w`` in a dtype whose sums do not overflow: float32 at least (float64 stays float64).

    An int8 weight of 100 squares to 10 000, which int8 wraps to 16; a float16 sum of squares
    overflows at 65 504. ``.to`` is a no-op for float32 and float64, and keeps the autograd graph.
    """
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(w).__name__}")
    if w.is_complex():
        raise TypeError(f"{name} must be a real tensor, got dtype {w.dtype}")
    return w.to(torch.promote_types(w.dtype, torch.float32))


def l2_penalty(w: torch.Tensor) -> torch.Tensor:
    """½‖w‖² — the squared L2 norm halved, so that its gradient is exactly w.

    Not ``torch.norm(w)``: the unsquared norm ‖w‖ has gradient w/‖w‖, a constant-size
    pull that is not weight decay. Integer and half-precision weights are summed in float32.
    """
    w = _real_tensor("w", w)
    return (w**2).sum() / 2


def l1_penalty(w: torch.Tensor) -> torch.Tensor:
    """‖w‖₁ = Σ|wᵢ|; its (sub)gradient is sign(w). Add it to the loss, never subtract it.

    Integer and half-precision weights are summed in float32.
    """
    return _real_tensor("w", w).abs().sum()


PENALTIES = {"l2": l2_penalty, "l1": l1_penalty}


def check_penalty(penalty: str) -> str:
    """Return ``penalty`` if it names a known penalty, else raise a ValueError naming the choices."""
    return validate.choice("penalty", penalty, PENALTIES)


def penalty_grad(w: torch.Tensor, penalty: str) -> torch.Tensor:
    """Gradient of the penalty: w for ½‖w‖², sign(w) for ‖w‖₁ (0 at 0, as autograd gives)."""
    check_penalty(penalty)
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"w must be a torch.Tensor, got {type(w).__name__}")
    return w if penalty == "l2" else torch.sign(w)


def dropout(
    X: torch.Tensor, p: float, *, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout: zero each element with probability p, scale survivors by 1/(1 − p).

    E[dropout(X)] = X, so nothing is rescaled at test time: with ``training=False`` X is
    returned unchanged. p = 1 zeroes everything.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    try:  # a bool, a string or several values: validate's TypeError; NaN and ±inf are out of range here
        p = validate.number("dropout p", p, low=0.0, high=1.0)
    except ValueError:
        raise ValueError(f"dropout p must be in [0, 1], got {p!r}") from None
    training = validate.flag("training", training)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if not training or p == 0.0:
        return X
    if p == 1.0:
        return torch.zeros_like(X)
    # float32 draws whatever torch's default dtype: the same masks after torch.set_default_dtype(torch.float64)
    keep = torch.rand(X.shape, generator=generator, device=X.device, dtype=torch.float32) > p  # keep w.p. 1 - p
    return X * keep / (1.0 - p)


def _parameters(params) -> list[torch.Tensor]:
    """The tensors in ``params``: a module, or any iterable (a generator too) of parameters or of
    (name, parameter) pairs, as ``model.parameters()`` and ``model.named_parameters()`` give them."""
    if isinstance(params, nn.Module):
        return list(params.parameters())
    if isinstance(params, torch.Tensor | str | bytes | dict) or not isinstance(params, Iterable):
        # a tensor is iterable too, by rows: iterating one would make a group of row slices
        raise TypeError("params must be a model, or an iterable of parameters or of (name, parameter) pairs "
                        f"(model.parameters(), model.named_parameters()), got {type(params).__name__}")
    tensors = []
    for i, item in enumerate(params):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            item = item[1]  # (name, parameter)
        if not isinstance(item, torch.Tensor):
            raise TypeError(f"params[{i}] must be a parameter or a (name, parameter) pair, got {type(item).__name__}")
        tensors.append(item)
    return tensors


def decay_param_groups(
    params: nn.Module | Iterable[nn.Parameter] | Iterable[tuple[str, nn.Parameter]], weight_decay: float
) -> list[dict]:
    """Split parameters for ``torch.optim``: matrices decay, biases (1-D tensors) do not.

    ``torch.optim.SGD(model.parameters(), weight_decay=λ)`` decays the biases too; pass
    ``decay_param_groups(model, λ)`` instead. ``params``: a model, or an iterable of its parameters
    (``model.parameters()``) or of (name, parameter) pairs (``model.named_parameters()``).
    """
    weight_decay = validate.number("weight_decay", weight_decay, low=0.0)
    decay, no_decay = [], []
    for p in _parameters(params):
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
