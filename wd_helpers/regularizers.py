"""Penalties, inverted dropout, and parameter groups that decay weights but not biases."""

from collections.abc import Iterable

import torch
from torch import nn


def l2_penalty(w: torch.Tensor) -> torch.Tensor:
    """½‖w‖² — the squared L2 norm halved, so that its gradient is exactly w.

    Not ``torch.norm(w)``: the unsquared norm ‖w‖ has gradient w/‖w‖, a constant-size
    pull that is not weight decay.
    """
    return (w**2).sum() / 2


def l1_penalty(w: torch.Tensor) -> torch.Tensor:
    """‖w‖₁ = Σ|wᵢ|; its (sub)gradient is sign(w). Add it to the loss, never subtract it."""
    return w.abs().sum()


PENALTIES = {"l2": l2_penalty, "l1": l1_penalty}


def check_penalty(penalty: str) -> str:
    """Return ``penalty`` if it names a known penalty, else raise a ValueError naming the choices."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {sorted(PENALTIES)}, got {penalty!r}")
    return penalty


def penalty_grad(w: torch.Tensor, penalty: str) -> torch.Tensor:
    """Gradient of the penalty: w for ½‖w‖², sign(w) for ‖w‖₁ (0 at 0, as autograd gives)."""
    check_penalty(penalty)
    return w if penalty == "l2" else torch.sign(w)


def dropout(
    X: torch.Tensor, p: float, *, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout: zero each element with probability p, scale survivors by 1/(1 − p).

    E[dropout(X)] = X, so nothing is rescaled at test time: with ``training=False`` X is
    returned unchanged. p = 1 zeroes everything.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return X
    if p == 1.0:
        return torch.zeros_like(X)
    keep = torch.rand(X.shape, generator=generator, device=X.device) > p  # keep with prob. 1 - p
    return X * keep / (1.0 - p)


def decay_param_groups(
    params: nn.Module | Iterable[tuple[str, nn.Parameter]], weight_decay: float
) -> list[dict]:
    """Split parameters for ``torch.optim``: matrices decay, biases (1-D tensors) do not.

    ``torch.optim.SGD(model.parameters(), weight_decay=λ)`` decays the biases too; pass
    ``decay_param_groups(model, λ)`` instead.
    """
    if not weight_decay >= 0.0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    named = params.named_parameters() if isinstance(params, nn.Module) else params
    decay, no_decay = [], []
    for _, p in named:
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
