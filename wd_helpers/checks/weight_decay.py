"""Checkers for the weight-decay notebook (04)."""

import math

import torch

from ..device import on_course_device
from ..regularizers import l1_penalty, l2_penalty
from ..train import History
from ._report import _number, _probe_tensors, _report, checker


@checker
@on_course_device
def check_l1_penalty(fn) -> bool:
    """Exercise: write ``l1(w)`` = Σ|wᵢ| (a scalar tensor that autograd can differentiate)."""
    for w in _probe_tensors():
        w = w.clone().requires_grad_()
        try:
            value = fn(w)
        except Exception as error:  # the learner's code may fail in any way: report it, don't raise
            return _report(False, f"your function raised {type(error).__name__}: {error}")
        if value is None or value is Ellipsis:
            return _report(False, "the function returns nothing yet")
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            return _report(False, "return a scalar tensor, e.g. w.abs().sum()")
        expected = l1_penalty(w.detach())
        if expected.item() and math.isclose(value.item(), -expected.item(), rel_tol=1e-5):
            return _report(False, "the sign is flipped: a penalty is added to the loss, so it must be >= 0")
        if not math.isclose(value.item(), expected.item(), rel_tol=1e-5, abs_tol=1e-6):
            if math.isclose(value.item(), torch.norm(w.detach()).item(), rel_tol=1e-5):
                return _report(False, "that is the L2 norm ‖w‖₂; L1 sums absolute values")
            return _report(False, f"for w = {w.detach().tolist()} expected {expected.item():.4g}, got {value.item():.4g}")
        if not value.requires_grad:
            return _report(False, "the result is detached from w: autograd cannot differentiate it")
    return _report(True, "‖w‖₁ = Σ|wᵢ|, and its gradient is sign(w)")


@checker
@on_course_device
def check_frobenius_penalty(fn) -> bool:
    """Exercise: write ``frobenius_penalty(W)`` = ½‖W‖_F² = ½ Σᵢⱼ Wᵢⱼ² for a weight matrix."""
    for W in _probe_tensors():
        try:
            value = fn(W)
        except Exception as error:
            return _report(False, f"your function raised {type(error).__name__}: {error}")
        if value is None or value is Ellipsis:
            return _report(False, "the function returns nothing yet")
        expected = l2_penalty(W).item()
        got = float(value)
        if math.isclose(got, 2 * expected, rel_tol=1e-5) and expected:
            return _report(False, "you forgot the ½ (its gradient should be W, not 2W)")
        if math.isclose(got, math.sqrt(2 * expected), rel_tol=1e-5) and expected:
            return _report(False, "that is ‖W‖_F, the unsquared norm: square it and halve it")
        if not math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-6):
            return _report(False, f"for a {tuple(W.shape)} matrix expected {expected:.4g}, got {got:.4g}")
    return _report(True, "½‖W‖_F² is the matrix version of ½‖w‖²: sum every squared entry")


@checker
@on_course_device
def check_best_lambda(answer, histories: list[History]) -> bool:
    """Exercise: from a sweep on validation data, pick the λ with the lowest validation loss."""
    value, problem = _number(answer, "set best_lambda to a value from the sweep")
    if problem:
        return _report(False, problem)
    best = min(histories, key=lambda h: h.final_test_loss)
    chosen = next((h for h in histories if math.isclose(h.lambd, value, rel_tol=1e-9)), None)
    if chosen is None:
        return _report(False, f"{answer} is not one of the swept values")
    if chosen is best:
        return _report(True, f"λ = {best.lambd:.3g} has the lowest validation loss ({best.final_test_loss:.3g})")
    return _report(
        False, f"λ = {chosen.lambd:.3g} gives validation loss {chosen.final_test_loss:.3g}; "
        "look for the smallest final validation loss (min over the sweep, not the train loss)"
    )


@checker
@on_course_device
def check_norm_limit(answer) -> bool:
    """Exercise: as λ → ∞ (with a stable step size), what does ‖w‖ tend to?"""
    value, problem = _number(answer, "set norm_limit to a number")
    if problem:
        return _report(False, problem)
    if value == 0.0:
        return _report(True, "every step multiplies w by (1 − ηλ), so the penalty wins and w → 0")
    return _report(False, "think of the update w ← (1 − ηλ) w − η∇L when λ dominates the data term")
