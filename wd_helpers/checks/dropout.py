"""Checkers for the dropout notebook (05)."""

import math

import torch
from torch import nn

from ..classify import sweep_dropout
from ..data import ImageData
from ..device import on_course_device
from ._report import _call, _report, checker

SWAP_TOLERANCE = 0.01  # test losses closer than this count as "about the same"


@checker
@on_course_device
def check_swap_prediction(prediction, *, data: ImageData, seed: int = 0) -> bool:
    """Exercise: swapping the rates, (p₁, p₂) = (0.5, 0.2) instead of (0.2, 0.5): is the final test loss
    "higher", "lower" or "about the same" (within SWAP_TOLERANCE)? The checker trains both and compares."""
    choices = ("higher", "lower", "about the same")
    if prediction not in choices:
        return _report(False, f"answer with one of {list(choices)}")
    usual, swapped = sweep_dropout([(0.2, 0.5), (0.5, 0.2)], data=data, seed=seed)
    diff = swapped.final_test_loss - usual.final_test_loss
    truth = "about the same" if abs(diff) < SWAP_TOLERANCE else ("higher" if diff > 0 else "lower")
    measured = (f"test loss {usual.final_test_loss:.3f} with (0.2, 0.5), {swapped.final_test_loss:.3f} with "
                f"(0.5, 0.2): {truth}")
    return _report(prediction == truth, measured)


@checker
@on_course_device
def check_drop_weights(fn) -> bool:
    """Exercise: ``drop_weights(W, p, generator)``, dropout on the weights (DropConnect): every entry of W
    is zeroed with probability p, survivors are scaled by 1/(1 − p), masks come from ``generator``."""
    W = torch.randn(300, 200, generator=torch.Generator().manual_seed(5))
    p = 0.3
    out, problem = _call(fn, W.clone(), p, torch.Generator().manual_seed(6))
    if problem:
        return _report(False, problem)
    out = torch.as_tensor(out)
    if out.shape != W.shape:
        return _report(False, f"the result has shape {tuple(out.shape)}, W has {tuple(W.shape)}: keep the shape")
    zeroed = (out == 0).double().mean().item()
    if abs(zeroed - p) > 0.01:
        return _report(False, f"{zeroed:.1%} of the weights are zero, expected about p = {p:.0%}")
    kept = out != 0
    if torch.allclose(out[kept], W[kept], atol=1e-6):
        return _report(False, "the survivors are not rescaled: divide them by (1 − p) so that E[W̃] = W")
    if not torch.allclose(out[kept], W[kept] / (1 - p), atol=1e-5):
        return _report(False, "each surviving weight should be W / (1 − p)")
    again, _ = _call(fn, W.clone(), p, torch.Generator().manual_seed(6))
    if not torch.equal(torch.as_tensor(again), out):
        return _report(False, "the same generator state gave another mask: draw it with generator=generator")
    same, _ = _call(fn, W.clone(), 0.0, torch.Generator().manual_seed(6))
    if not torch.equal(torch.as_tensor(same), W):
        return _report(False, "with p = 0 the weights must come back unchanged")
    return _report(True, "W · mask / (1 − p): each weight dropped with probability p, E[W̃] = W")


@checker
@on_course_device
def check_dropout_variance(fn) -> bool:
    """Exercise: ``variance(h, p)``: the variance of inverted dropout applied to a fixed activation h."""
    for h, p in ((2.0, 0.5), (1.0, 0.2), (-3.0, 0.8), (0.5, 0.0)):
        value, problem = _call(fn, h, p)
        if problem:
            return _report(False, problem)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return _report(False, f"return a number, got {value!r}")
        expected = h * h * p / (1 - p)
        if math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        if math.isclose(value, h * h * p * (1 - p), rel_tol=1e-6):
            return _report(False, "that is the variance of h·m without the 1/(1 − p) scaling; scale first")
        return _report(False, f"for h = {h}, p = {p} expected a variance of {expected:.4g}, got {value:.4g}")
    return _report(True, "Var = h²·p/(1 − p): zero at p = 0, and it grows without bound as p → 1")


@checker
@on_course_device
def check_dropout_module(cls) -> bool:
    """Exercise: a ``cls(p)`` nn.Module doing inverted dropout that follows ``model.train()`` / ``model.eval()``."""
    try:
        layer = cls(0.5)
    except Exception as error:  # the learner's code may fail in any way
        return _report(False, f"{getattr(cls, '__name__', cls)}(0.5) raised {type(error).__name__}: {error}")
    if not isinstance(layer, nn.Module):
        return _report(False, "make it a subclass of torch.nn.Module")
    X = torch.rand(200, 100, generator=torch.Generator().manual_seed(7)) + 0.5  # all entries > 0
    model = nn.Sequential(nn.Identity(), layer)  # switched through its parent, as in a real model
    model.train()
    out, problem = _call(model, X)
    if problem:
        return _report(False, problem)
    zeroed = (torch.as_tensor(out) == 0).double().mean().item()
    if abs(zeroed - 0.5) > 0.02:
        return _report(False, f"in training mode {zeroed:.0%} of the entries were zeroed, expected about 50%")
    model.eval()
    out, problem = _call(model, X)
    if problem:
        return _report(False, problem)
    if not torch.equal(torch.as_tensor(out), X):
        if torch.allclose(torch.as_tensor(out), X * 0.5):
            return _report(False, "in eval mode inverted dropout does nothing: no scaling by (1 − p) at test time")
        return _report(False, "after model.eval() the layer must return its input unchanged: read self.training")
    return _report(True, "it drops in model.train() and is the identity in model.eval(), like nn.Dropout")
