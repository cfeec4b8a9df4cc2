"""Checkers for the activations notebook (01)."""

import torch

from ..device import on_course_device
from ._report import _call, _report, checker


@checker
@on_course_device
def check_sigmoid_derivative(fn) -> bool:
    """Exercise: σ′(x) = σ(x)(1 − σ(x)), written without autograd."""
    x = torch.linspace(-8, 8, 33)
    result, problem = _call(fn, x.clone())
    if problem:
        return _report(False, problem)
    s = torch.sigmoid(x)
    if torch.allclose(torch.as_tensor(result, dtype=torch.float32), s * (1 - s), atol=1e-6):
        return _report(True, "σ′ = σ(1 − σ): largest (0.25) at x = 0, vanishing for large |x|")
    if torch.allclose(torch.as_tensor(result, dtype=torch.float32), s, atol=1e-6):
        return _report(False, "that is σ itself; differentiate it")
    return _report(False, "express the derivative through σ(x) itself: σ(x)·(something)")


@checker
@on_course_device
def check_stable_softmax(fn) -> bool:
    """Exercise: a softmax over the last dimension that survives large scores."""
    probes = [torch.tensor([3.0, 1.0, -3.0]), torch.tensor([1000.0, 0.0, -1000.0]), torch.tensor([[0.5, 2.0], [800.0, 801.0]])]
    for z in probes:
        result, problem = _call(fn, z.clone())
        if problem:
            return _report(False, problem)
        result = torch.as_tensor(result, dtype=torch.float32)
        if not torch.isfinite(result).all():
            return _report(False, f"softmax({z.tolist()}) gave {result.tolist()}: subtract the largest score first")
        if not torch.allclose(result, torch.softmax(z, dim=-1), atol=1e-6):
            return _report(False, f"softmax({z.tolist()}) should be {torch.softmax(z, dim=-1).tolist()}")
    return _report(True, "exp(z − max z) / Σ exp(z − max z): the same values, and no overflow")


OUTPUT_ACTIVATIONS = {"binary": "sigmoid", "multi-class": "softmax", "multi-label": "sigmoid", "regression": "identity"}


@checker
@on_course_device
def check_output_activation(task: str, answer) -> bool:
    """Exercise: the output activation for a task (binary, multi-class, multi-label, regression)."""
    if task not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"task must be one of {list(OUTPUT_ACTIVATIONS)}, got {task!r}")
    if answer is None or answer is Ellipsis:
        return _report(False, "set answer to one of 'sigmoid', 'softmax', 'relu', 'identity'")
    expected = OUTPUT_ACTIVATIONS[task]
    if str(answer).lower() == expected:
        return _report(True, f"{task}: {expected}" + (" (inside the loss, via logits)" if expected != "identity" else ""))
    hints = {"relu": "ReLU outputs are unbounded above and cannot be probabilities",
             "sigmoid": "sigmoid gives each class its own probability; they need not sum to 1",
             "softmax": "softmax makes the outputs compete; use it when exactly one class is right",
             "identity": "raw scores are not probabilities"}
    return _report(False, hints.get(str(answer).lower(), f"answer with one of {sorted(set(OUTPUT_ACTIVATIONS.values()) | {'relu'})}"))
