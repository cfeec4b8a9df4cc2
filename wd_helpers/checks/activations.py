"""Checkers for the activations notebook (01)."""

import inspect
import re

import torch

from ..device import on_course_device
from ._report import _call, _replaced, _report, _tensor, checker

# ---------------------------------------------------------------- exercise 1: σ′ = σ(1 − σ)


def _sigmoid_prime(u: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(u)
    return s * (1 - s)


# common wrong answers: (what the learner computed, the hint that names the mistake)
_SIGMOID_MISTAKES = (
    (torch.sigmoid, "that is σ(x) itself, not its derivative: σ′(x) = σ(x)·(1 − σ(x))"),
    (lambda x: torch.sigmoid(x) ** 2,
     "that is σ(x)² (also what σ(x)·(1 − σ(−x)) gives, since 1 − σ(−x) = σ(x)): the second factor is 1 − σ(x), "
     "i.e. σ(−x), not 1 − σ(−x)"),
    (lambda x: 1 - torch.sigmoid(x),
     "that is 1 − σ(x) = σ(−x) (also written exp(−x)/(1 + exp(−x))), only the second factor: multiply by σ(x)"),
    (lambda x: 1 - torch.tanh(x) ** 2, "that is tanh′ = 1 − tanh²(x), the derivative of tanh: σ′(x) = σ(x)·(1 − σ(x))"),
    (lambda x: 1 - torch.sigmoid(x) ** 2, "1 − σ² is the pattern of tanh′ (1 − tanh²); σ′(x) = σ(x)·(1 − σ(x))"),
    (lambda x: x * (1 - x), "you applied s·(1 − s) to x itself: s must be σ(x), i.e. σ(x)·(1 − σ(x))"),
    (lambda x: _sigmoid_prime(torch.sigmoid(x)), "σ(1 − σ) of the wrong input: you evaluated it at σ(x) instead of x"),
    (lambda x: _sigmoid_prime(2 * x), "σ(1 − σ) of the wrong input: you evaluated it at 2x instead of x"),
    (lambda x: _sigmoid_prime(x / 2), "σ(1 − σ) of the wrong input: you evaluated it at x/2 instead of x"),
    (lambda x: -_sigmoid_prime(x), "the sign is flipped: σ is increasing, so σ′(x) = σ(x)·(1 − σ(x)) > 0"),
    (lambda x: torch.sigmoid(x) * (1 + torch.sigmoid(x)), "σ(1 + σ): the second factor is (1 − σ(x)), not (1 + σ(x))"),
)


@checker
@on_course_device
def check_sigmoid_derivative(fn) -> bool:
    """Exercise: σ′(x) = σ(x)(1 − σ(x)), elementwise, same shape as x. Any correct method (formula or autograd) passes."""
    # the last probe: large |x|, where a formula built from exp(±x) overflows (inf / inf = nan)
    probes = [torch.linspace(-8, 8, 33), torch.linspace(-3, 3, 12).reshape(3, 4),
              torch.tensor([-1000.0, -100.0, 0.0, 100.0, 1000.0])]
    for x in probes:
        result, problem = _call(fn, x.clone())
        if problem:
            return _report(False, problem)
        result, problem = _tensor(result.detach() if isinstance(result, torch.Tensor) else result, x.shape,
                                  f"σ′(x) for x of shape {tuple(x.shape)}")
        if problem:
            return _report(False, problem + ": σ′ acts elementwise, so return one value per input (no sum, no mean)")
        if not torch.isfinite(result).all():
            if x.abs().max() >= 100:
                return _report(False, f"σ′ of {x.tolist()} gave {result.tolist()}: nan at large |x|. exp of a large "
                                      "number overflows to inf (exp(89) already does in float32), and inf / inf is nan, "
                                      "so a formula such as exp(−x)/(1 + exp(−x))² breaks there. Write σ′ through σ(x) "
                                      "(torch.sigmoid is stable): σ(x)·(1 − σ(x)) is 0 at ±1000, as it should be")
            return _report(False, f"σ′ of {x.tolist()} gave nan or inf; σ′ is between 0 and 0.25 everywhere")
        expected = _sigmoid_prime(x.double())
        if torch.allclose(result, expected, atol=1e-6):
            continue
        for mistake, hint in _SIGMOID_MISTAKES:
            if torch.allclose(result, mistake(x.double()), atol=1e-6):
                return _report(False, hint)
        gap = (result - expected).abs().max().item()
        if gap < 1e-2:
            return _report(False, f"close to σ′ but off by up to {gap:.1e}: a finite difference (forward or central, "
                                  "with a step h) in float32 keeps only a few digits (rounding error ≈ 1e-7 / h, "
                                  "truncation ≈ h or h²). "
                                  "Use the exact formula σ(x)·(1 − σ(x)) or autograd")
        return _report(False, "not σ′: express the derivative through σ(x) itself, σ′(x) = σ(x)·(something)")
    return _report(True, "σ′ = σ(1 − σ): largest (0.25) at x = 0, vanishing for large |x|")


# ---------------------------------------------------------------- exercise 2: a stable softmax


def _global_max_softmax(z: torch.Tensor) -> torch.Tensor:
    e = torch.exp(z - z.max())
    return e / e.sum(dim=-1, keepdim=True)


def _global_sum_softmax(z: torch.Tensor, shift: str) -> torch.Tensor:
    m = z.max() if shift == "global" else z.max(dim=-1, keepdim=True).values
    e = torch.exp(z - m)
    return e / e.sum()


_ALL_ENTRIES = ("you normalised over ALL entries (e.sum() without dim), not each row: on an (N, C) batch every row "
                "must sum to 1 on its own, so divide by e.sum(dim=-1, keepdim=True)")

_SOFTMAX_MISTAKES = (
    (lambda z: _global_sum_softmax(z, "global"), _ALL_ENTRIES + "; and subtract each row's own maximum, not the "
                                                 "global z.max(), or a row far below it underflows to 0"),
    (lambda z: _global_sum_softmax(z, "row"), _ALL_ENTRIES + " (the per-row max you subtracted is right)"),
    (lambda z: torch.log_softmax(z, dim=-1),
     "that is log-softmax (log-probabilities, all ≤ 0); softmax is its exponential, exp(z − m) / Σ exp(z − m)"),
    (lambda z: torch.softmax(z, dim=0),
     "softmax over the wrong dimension: your columns sum to 1; normalise over the LAST dimension (dim=-1) so that "
     "each row of scores sums to 1"),
    (_global_max_softmax,
     "you subtracted the GLOBAL maximum z.max() over all entries. Exact on paper, but a row far below that "
     "maximum (scores around −1000 next to a row around +1000) underflows to 0/0 = nan: subtract each row's own "
     "maximum, z.max(dim=-1, keepdim=True).values"),
    (lambda z: torch.exp(z - z.mean(dim=-1, keepdim=True)) / torch.exp(z - z.mean(dim=-1, keepdim=True)).sum(dim=-1, keepdim=True),
     "you subtracted the MEAN, not the maximum: z − mean can still be large (the scores 1000, 0, −1000 have mean 0, "
     "so exp(1000) still overflows to inf, and inf/inf is nan). Subtract each row's maximum, so that every exponent "
     "is ≤ 0: z.max(dim=-1, keepdim=True).values"),
    (lambda z: torch.exp(z) / torch.exp(z).sum(dim=-1, keepdim=True),
     "no stabilisation: exp(1000) overflows to inf and inf/inf is nan; subtract the row's largest score first"),
)



def _library_softmaxes():
    """(owner, attribute) of every ready-made softmax a learner could call instead of writing one."""
    from .. import activations as course

    return [(torch, "softmax"), (torch, "log_softmax"), (torch.nn.functional, "softmax"),
            (torch.nn.functional, "log_softmax"), (torch.special, "softmax"), (torch.special, "log_softmax"),
            (torch.Tensor, "softmax"), (torch.Tensor, "log_softmax"), (course, "softmax"), (course, "log_softmax")]


class _LibraryCall(Exception):
    pass


def _without_library_softmax(fn, z):
    """Call fn(z) with every ready-made softmax replaced by one that raises: (result, problem, used_library)."""
    used = []

    def refuse(*args, **kwargs):
        used.append(True)
        raise _LibraryCall("a ready-made softmax was called")

    with _replaced([(owner, name, refuse) for owner, name in _library_softmaxes()]):
        result, problem = _call(fn, z)
    return result, problem, bool(used)


@checker
@on_course_device
def check_stable_softmax(fn) -> bool:
    """Exercise: a softmax over the last dimension that survives large scores, for 1-D scores and (N, C) batches."""
    probes = [
        torch.tensor([3.0, 1.0, -3.0]),
        torch.tensor([1000.0, 999.0, 998.0]),  # large but close: no shift overflows, a mean shift does not
        torch.tensor([1000.0, 0.0, -1000.0]),  # far apart: a mean shift (mean 0) overflows too
        torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]),  # rows far apart
        torch.tensor([[0.5, 2.0], [800.0, 801.0]]),  # square: a missing keepdim broadcasts silently
    ]
    for z in probes:
        result, problem, used_library = _without_library_softmax(fn, z.clone())
        if used_library:
            return _report(False, "your function calls a ready-made softmax (torch.softmax, F.softmax, nn.Softmax, "
                                  "Tensor.softmax or a log_softmax): that does not count here. Write it from exp "
                                  "and sum: exp(z − m) / Σ exp(z − m), with m each row's maximum")
        if problem:
            if "must match the size" in problem or "(3) must match" in problem:
                return _report(False, f"on scores of shape {tuple(z.shape)}, {problem}. Missing keepdim=True? "
                                      "z.max(dim=-1) and .sum(dim=-1) drop the last dimension, so (N, C) − (N,) "
                                      "does not broadcast row by row")
            if "out of range" in problem and "imension" in problem:
                return _report(False, f"on scores of shape {tuple(z.shape)}, {problem}. Use dim=-1 (the last "
                                      "dimension), which exists for 1-D scores and (N, C) batches alike")
            return _report(False, problem)
        result, problem = _tensor(result.detach() if isinstance(result, torch.Tensor) else result, z.shape,
                                  f"softmax of scores of shape {tuple(z.shape)}")
        if problem:
            return _report(False, problem + ": softmax returns one probability per score (did you lose keepdim=True "
                                            "or reduce over a dimension?)")
        expected = torch.softmax(z.double(), dim=-1)
        # 1e-4: float32 scores near ±1000 carry an absolute error of 6e-5 (z − logsumexp z loses those digits)
        if torch.allclose(result, expected, atol=1e-4):
            continue
        for mistake, hint in _SOFTMAX_MISTAKES:
            if torch.allclose(result, mistake(z.double()), atol=1e-6, equal_nan=True):
                return _report(False, f"softmax({z.tolist()}) gave {result.tolist()}: {hint}")
        if z.dim() == 2 and z.shape[0] == z.shape[1]:  # (N,) broadcasts along the columns of an (N, N) batch
            for max_keepdim, sum_keepdim in ((False, False), (False, True), (True, False)):
                e = torch.exp(z.double() - z.double().max(dim=-1, keepdim=max_keepdim).values)
                if torch.allclose(result, e / e.sum(dim=-1, keepdim=sum_keepdim), atol=1e-6, equal_nan=True):
                    return _report(False, f"softmax({z.tolist()}) gave {result.tolist()}: missing keepdim=True: "
                                          "a max or sum over dim=-1 has shape (N,), which broadcasts along the "
                                          "columns, not the rows")
        if not torch.isfinite(result).all():
            return _report(False, f"softmax({z.tolist()}) gave {result.tolist()}: nan or inf; subtract each row's "
                                  "largest score before exp")
        return _report(False, f"softmax({z.tolist()}) should be {[round(v, 4) for v in expected.flatten().tolist()]}, "
                              f"got {[round(v, 4) for v in result.flatten().tolist()]}")
    return _report(True, "exp(z − max z) / Σ exp(z − max z), the max taken per row: the same values, and no overflow")


# ---------------------------------------------------------------- exercise 3: the output activation

OUTPUT_ACTIVATIONS = {"binary": "sigmoid", "multi-class": "softmax", "multi-label": "sigmoid", "regression": "identity"}

_SYNONYMS = {
    "sigmoid": "sigmoid", "logistic": "sigmoid",
    "softmax": "softmax",
    "identity": "identity", "none": "identity", "linear": "identity", "noactivation": "identity",
    "nothing": "identity", "noneidentity": "identity",
    "relu": "relu", "tanh": "tanh", "logsoftmax": "logsoftmax", "logsigmoid": "logsigmoid",
    "specialsoftmax": "softmax", "specialexpit": "sigmoid", "expit": "sigmoid",
    "logits": "logits", "rawscores": "logits", "scores": "logits", "argmax": "argmax",
}
_FILLER_WORDS = ("the ", "a ", "an ")
_FILLER_TAILS = (" activation function", " activation", " function", " layer")
_PREFIXES = ("torch.nn.functional.", "torch.special.", "torch.nn.", "nn.functional.", "functional.", "special.", "nn.",
             "f.", "torch.", "act.")


def _behaves_like(fn) -> str | None:
    """The activation an unnamed function (a lambda, a def) computes on a probe batch, or None."""
    z = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    try:
        out = torch.as_tensor(fn(z.clone()), dtype=torch.float64)
    except Exception:
        return None
    if out.shape != z.shape:
        return None
    z = z.double()
    for name, value in (("softmax", torch.softmax(z, -1)), ("sigmoid", torch.sigmoid(z)), ("identity", z),
                        ("relu", torch.relu(z)), ("tanh", torch.tanh(z)), ("logsoftmax", torch.log_softmax(z, -1)),
                        ("softmax_wrong_dim", torch.softmax(z, 0)), ("softmax_all", torch.exp(z) / torch.exp(z).sum())):
        if torch.allclose(out, value, atol=1e-5):
            return name
    return None


def _activation_name(answer) -> str | None:
    """The activation a learner's answer names ('softmax', 'identity', ...), or None when it names none we know.

    Accepts strings in any case ("Softmax", "nn.Softmax", "torch.softmax", "nn.Softmax(dim=1)"), torch.nn module
    classes and instances (nn.Softmax, nn.Identity()), and functions (torch.softmax, F.softmax).
    """
    if isinstance(answer, torch.nn.Softmax) and answer.dim not in (None, 1, -1):
        return "softmax_wrong_dim"  # nn.Softmax(dim=0): over the images of an (N, 10) batch
    if isinstance(answer, str):
        text = answer.strip().lower()
        dim = re.search(r"dim\s*=\s*([-+]?\d+)", text)
        if dim and int(dim.group(1)) not in (1, -1) and "softmax" in text and "log" not in text:
            return "softmax_wrong_dim"  # "nn.Softmax(dim=0)"
    elif inspect.isclass(answer) or isinstance(answer, torch.nn.Module):
        text = (answer if inspect.isclass(answer) else type(answer)).__name__.lower()
    elif callable(answer):
        text = str(getattr(answer, "__name__", "")).lower()
        if "".join(ch for ch in text if ch.isalnum()) not in _SYNONYMS:
            return _behaves_like(answer)  # a lambda or a def of its own: judge what it computes
    else:
        return None
    text = text.split("(")[0].strip()
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if "".join(ch for ch in text if ch.isalnum()) in _SYNONYMS:  # "no activation", "none / identity"
        return _SYNONYMS["".join(ch for ch in text if ch.isalnum())]
    for word in _FILLER_WORDS:  # "the softmax", "a sigmoid"
        if text.startswith(word):
            text = text[len(word):].strip()
    for tail in _FILLER_TAILS:  # "softmax activation", "sigmoid function"
        if text.endswith(tail):
            text = text[: -len(tail)].strip()
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    text = "".join(ch for ch in text if ch.isalnum())  # "log_softmax", "no activation", "none / identity"
    return _SYNONYMS.get(text)


_WHY = {
    "sigmoid": "sigmoid turns one score into one probability",
    "softmax": "softmax turns C scores into C probabilities that sum to 1",
    "identity": "any real value is a valid prediction",
}


@checker
@on_course_device
def check_output_activation(task: str, answer) -> bool:
    """Exercise: the activation that turns the last layer's raw scores (logits) into the prediction you report.

    binary: sigmoid · multi-class: softmax · multi-label: sigmoid (per label) · regression: identity (none).
    In training the loss applies it (BCEWithLogitsLoss, CrossEntropyLoss): the last layer itself is Linear.
    """
    if task not in OUTPUT_ACTIVATIONS:
        return _report(False, f"unknown task {task!r}: the task must be one of {list(OUTPUT_ACTIVATIONS)}")
    if answer is None or answer is Ellipsis:
        return _report(False, "set answer to one of 'sigmoid', 'softmax', 'relu', 'identity' (a string; "
                              "'identity' or 'none' for no activation)")
    expected, given = OUTPUT_ACTIVATIONS[task], _activation_name(answer)
    if given == expected:
        return _report(True, f"{task}: {expected}, {_WHY[expected]}" + (
            "; in training the last layer stays Linear and the loss applies it to the logits" if expected != "identity"
            else "; the last layer is Linear and MSELoss compares its output directly"))
    if given is None:
        return _report(False, f"{repr(answer)[:60]} is not one of 'sigmoid', 'softmax', 'relu', 'identity'")
    if given.startswith("softmax_") and task != "multi-class":
        given = "softmax"  # the axis is beside the point: softmax is not this task's activation
    if given == "softmax_wrong_dim":
        return _report(False, "that softmax normalises over the wrong dimension: on an (N, 10) batch of scores, dim 0 "
                              "runs over the N images, so each digit's column sums to 1 across the batch. Each image's "
                              "10 scores must sum to 1: softmax over dim=1 (or dim=-1)")
    if given == "softmax_all":
        return _report(False, "that normalises over ALL entries of the batch (exp(z) / exp(z).sum(), no dim): the whole "
                              "(N, 10) batch sums to 1, not each image's 10 scores. Sum over dim=1 with keepdim=True "
                              "(and subtract each row's maximum first): that is softmax")
    hints = {
        "relu": "ReLU outputs are unbounded above and exactly 0 for every negative score: not probabilities "
                "(not in [0, 1]" + (", and they do not sum to 1)" if task == "multi-class" else ")"),
        "tanh": "tanh outputs lie in (−1, 1): not probabilities (negative values" +
                (", and they do not sum to 1)" if task == "multi-class" else ")"),
        "logits": "the logits are the raw scores themselves (what the last Linear layer outputs and the loss takes "
                  "in training): not probabilities. The probabilities you report are " +
                  ("softmax(logits)" if task == "multi-class" else "sigmoid(logit)" if task != "regression"
                   else "not needed here: a regression output is used as it is, the identity"),
        "argmax": "argmax picks the predicted class (an index, with no gradient), not probabilities; argmax of the "
                  "scores equals argmax of softmax(scores), and softmax gives the probabilities themselves",
        "logsoftmax": "log-softmax gives log-probabilities (≤ 0): CrossEntropyLoss computes it inside; the "
                      "probabilities you report are softmax",
        "logsigmoid": "log-sigmoid gives a log-probability (≤ 0); the probability you report is sigmoid",
    }
    if task == "multi-class":
        hints["sigmoid"] = ("sigmoid gives each class its own probability and they need not sum to 1 (that is "
                            "multi-label); exactly one digit is right, so use softmax")
        hints["identity"] = ("the last layer does output raw scores (logits), and CrossEntropyLoss applies "
                             "log-softmax to them itself in training, but raw scores are not probabilities: they "
                             "are not in [0, 1] and do not sum to 1. The probabilities you report are softmax(scores)")
    elif task in ("binary", "multi-label"):
        hints["softmax"] = ("softmax makes the outputs compete and sum to 1 (softmax of a single score is always 1); "
                            "each " + ("example" if task == "binary" else "label") + " needs its own probability: sigmoid")
        hints["identity"] = ("a raw score (logit) is not a probability; BCEWithLogitsLoss applies sigmoid in "
                             "training, and the probability you report is sigmoid(score)")
    else:  # regression
        hints["relu"] = "ReLU is 0 for every negative score: a regression output could never be negative"
        hints["tanh"] = "tanh outputs lie in (−1, 1): a regression output could not leave (−1, 1)"
        hints["sigmoid"] = "sigmoid squashes the output into (0, 1): a target of 5 could never be reached"
        hints["softmax"] = "softmax outputs probabilities that sum to 1, not real-valued predictions"
    return _report(False, hints.get(given, f"{given} is not the output activation for {task}"))
