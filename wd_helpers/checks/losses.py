"""Checkers for the losses notebook (02)."""

import math

import torch

from ..device import on_course_device
from ._report import _call, _number, _report, checker


@checker
@on_course_device
def check_stable_cross_entropy(fn) -> bool:
    """Exercise: cross-entropy from logits (N, C) and class indices (N,), mean over N, stable for large logits."""
    probes = [
        (torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]), torch.tensor([0, 2])),
        (torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 500.0, 0.0]]), torch.tensor([2, 1])),
    ]
    for logits, target in probes:
        result, problem = _call(fn, logits.clone(), target.clone())
        if problem:
            return _report(False, problem)
        value = float(result)
        expected = torch.nn.functional.cross_entropy(logits, target).item()
        if not math.isfinite(value):
            return _report(False, f"for logits {logits.tolist()} you got {value}: use log-softmax (log-sum-exp), not log(softmax)")
        if not math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-5):
            return _report(False, f"for logits {logits.tolist()} and targets {target.tolist()} expected {expected:.4f}, got {value:.4f}")
    return _report(True, "mean of logsumexp(z) − z[target]: exact even for logits of ±1000")


@checker
@on_course_device
def check_entropy(answer, p) -> bool:
    """Exercise: the entropy of the distribution p, in bits."""
    value, problem = _number(answer, "set the answer to a number (bits)")
    if problem:
        return _report(False, problem)
    p = torch.as_tensor(p, dtype=torch.float64)
    nonzero = p[p > 0]
    bits = float(-(nonzero * torch.log2(nonzero)).sum())
    if math.isclose(value, bits, rel_tol=1e-4):
        return _report(True, f"H = −Σ p log₂ p = {bits:.4g} bits")
    if math.isclose(value, bits * math.log(2), rel_tol=1e-4):
        return _report(False, "that is in nats (natural log); divide by ln 2 for bits")
    return _report(False, "H(p) = −Σ pᵢ log₂ pᵢ, with 0·log 0 = 0")


LOSS_FOR_TASK = {
    "regression": "MSELoss",
    "binary": "BCEWithLogitsLoss",
    "multi-class": "CrossEntropyLoss",
    "multi-label": "BCEWithLogitsLoss",
}


@checker
@on_course_device
def check_loss_for_task(task: str, answer) -> bool:
    """Exercise: the torch.nn loss for a task whose model ends in a plain Linear layer (logits)."""
    if task not in LOSS_FOR_TASK:
        raise ValueError(f"task must be one of {list(LOSS_FOR_TASK)}, got {task!r}")
    if answer is None or answer is Ellipsis:
        return _report(False, "set the answer to a loss class name, e.g. 'MSELoss'")
    expected = LOSS_FOR_TASK[task]
    if str(answer) == expected:
        return _report(True, f"{task} with a Linear output layer: {expected}")
    if str(answer) in ("BCELoss", "NLLLoss"):
        return _report(False, f"{answer} expects probabilities / log-probabilities; the model outputs logits")
    return _report(False, f"not the loss for {task}; see the task → last layer → loss table")
