"""Checkers for the notebooks' exercises: each says right or wrong, and why, without raising.

A checker returns True or False and prints one line for the learner. An unfinished exercise
(a function still returning None, or an answer left as ...) is reported as "not done yet", so
a notebook with open exercises still runs top to bottom.
"""

import math

import torch

from . import optim
from .regularizers import l1_penalty, l2_penalty
from .train import History


def _report(ok: bool, message: str) -> bool:
    print(("✓ correct: " if ok else "✗ not yet: ") + message)
    return ok


def _probe_tensors():
    generator = torch.Generator().manual_seed(1234)
    return [torch.randn(shape, generator=generator) for shape in ((7,), (3, 4), (1,))] + [
        torch.zeros(5), torch.tensor([-2.0, 0.0, 3.5])
    ]


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


def check_best_lambda(answer, histories: list[History]) -> bool:
    """Exercise: from a sweep on validation data, pick the λ with the lowest validation loss."""
    if answer is None or answer is Ellipsis:
        return _report(False, "set best_lambda to a value from the sweep")
    best = min(histories, key=lambda h: h.final_test_loss)
    chosen = next((h for h in histories if math.isclose(h.lambd, float(answer), rel_tol=1e-9)), None)
    if chosen is None:
        return _report(False, f"{answer} is not one of the swept values")
    if chosen is best:
        return _report(True, f"λ = {best.lambd:.3g} has the lowest validation loss ({best.final_test_loss:.3g})")
    return _report(
        False, f"λ = {chosen.lambd:.3g} gives validation loss {chosen.final_test_loss:.3g}; "
        "look for the smallest final validation loss (min over the sweep, not the train loss)"
    )


def check_norm_limit(answer) -> bool:
    """Exercise: as λ → ∞ (with a stable step size), what does ‖w‖ tend to?"""
    if answer is None or answer is Ellipsis:
        return _report(False, "set norm_limit to a number")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return _report(False, f"answer with a number, got {answer!r}")
    if value == 0.0:
        return _report(True, "every step multiplies w by (1 − ηλ), so the penalty wins and w → 0")
    return _report(False, "think of the update w ← (1 − ηλ) w − η∇L when λ dominates the data term")


def check_momentum_step(fn) -> bool:
    """Exercise: one momentum step, v ← βv + g, x ← x − ηv; returns (new_x, new_v)."""
    generator = torch.Generator().manual_seed(7)
    x, v, g = (torch.randn(4, generator=generator) for _ in range(3))
    lr, beta = 0.1, 0.8
    try:
        result = fn(x.clone(), v.clone(), g.clone(), lr, beta)
    except Exception as error:
        return _report(False, f"your function raised {type(error).__name__}: {error}")
    if result is None or result is Ellipsis:
        return _report(False, "the function returns nothing yet")
    try:
        new_x, new_v = result
    except (TypeError, ValueError):
        return _report(False, "return two things: (new_x, new_v)")
    v_expected = beta * v + g
    if torch.allclose(torch.as_tensor(new_v), v_expected, atol=1e-6) and torch.allclose(
        torch.as_tensor(new_x), x - lr * v_expected, atol=1e-6
    ):
        return _report(True, "v ← βv + g, then x ← x − ηv")
    if torch.allclose(torch.as_tensor(new_x), x - lr * v, atol=1e-6):
        return _report(False, "update v first, then step with the new v")
    if torch.allclose(torch.as_tensor(new_v), beta * v + (1 - beta) * g, atol=1e-6):
        return _report(False, "that is a leaky average (1 − β)g; this course's momentum adds g itself, as torch does")
    return _report(False, "expected v ← βv + g and x ← x − ηv")


def check_largest_stable_lr(answer, *, curvature: float) -> bool:
    """Exercise: the largest η for which gradient descent converges on a quadratic of curvature L."""
    if answer is None or answer is Ellipsis:
        return _report(False, "set largest_stable_lr to a number")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return _report(False, f"answer with a number, got {answer!r}")
    bound = 2.0 / curvature
    if math.isclose(value, bound, rel_tol=1e-3):
        return _report(True, f"η < 2/L = 2/{curvature:g} = {bound:.4g}: each step multiplies x by 1 − ηL")
    if math.isclose(value, 1.0 / curvature, rel_tol=1e-3):
        return _report(False, f"η = 1/L jumps straight to the minimum; larger steps still converge, up to a bound")
    return _report(False, f"{value:g} is not the boundary; find η where |1 − ηL| = 1, with L = f''(x)")


def check_fastest_optimizer(prediction) -> bool:
    """Exercise: which optimizer first reaches f < 1e-4 on 0.1x₁² + 2x₂² from (−5, −2)?"""
    candidates = {
        "SGD": lambda p: optim.SGD(p, lr=0.4),
        "Momentum": lambda p: optim.Momentum(p, lr=0.4, momentum=0.9),
        "AdaGrad": lambda p: optim.AdaGrad(p, lr=0.4),
        "Adam": lambda p: optim.Adam(p, lr=0.4),
    }
    if prediction not in candidates:
        return _report(False, f"answer with one of {list(candidates)}")
    narrow = lambda x: 0.1 * x[0] ** 2 + 2 * x[1] ** 2
    first = {}
    for name, make in candidates.items():
        losses = optim.loss_along(narrow, optim.trace(make, narrow, torch.tensor([-5.0, -2.0]), 500))
        below = (losses < 1e-4).nonzero()
        first[name] = int(below[0]) if len(below) else math.inf
    winner = min(first, key=first.get)
    table = ", ".join(f"{n}: {s if s != math.inf else 'never (500)'}" for n, s in first.items())
    return _report(prediction == winner, f"steps to f < 1e-4: {table}")


def _call(fn, *args):
    """Run the learner's function; (result, None) or (None, a message saying what went wrong)."""
    try:
        result = fn(*args)
    except Exception as error:
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None or result is Ellipsis:
        return None, "the function returns nothing yet"
    return result, None


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


def check_entropy(answer, p) -> bool:
    """Exercise: the entropy of the distribution p, in bits."""
    if answer is None or answer is Ellipsis:
        return _report(False, "set the answer to a number (bits)")
    p = torch.as_tensor(p, dtype=torch.float64)
    nonzero = p[p > 0]
    bits = float(-(nonzero * torch.log2(nonzero)).sum())
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return _report(False, f"answer with a number, got {answer!r}")
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
