"""Checkers for the losses notebook (02)."""

import difflib
import math
import re

import torch
import torch.nn.functional as F

from ..device import on_course_device
from ._report import _agrees, _call, _number, _replaced, _report, checker

# ---------------------------------------------------------------- exercise 1: a stable cross-entropy

_CE_PROBES = [  # (logits (N, C), class indices (N,)): a moderate case, then logits of ±1000
    # no target is its row's largest logit, so a function that ignores the target cannot pass
    (torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]), torch.tensor([1, 0])),
    (torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 500.0, 0.0]]), torch.tensor([2, 0])),
]


def _close(value: float, target: float) -> bool:
    return math.isclose(value, target, rel_tol=1e-5, abs_tol=1e-5)


def _as_floats(result):
    """The learner's result as a flat list of floats, or None when it is not numbers."""
    try:
        return [float(v) for v in torch.as_tensor(result, dtype=torch.float64).detach().reshape(-1)]
    except Exception:
        return None


class _BuiltinCall(Exception):
    pass


def _ready_made_losses():
    """(owner, attribute) of every ready-made cross-entropy a learner could call instead of writing one."""
    from .. import losses as course

    return [(F, "cross_entropy"), (F, "nll_loss"), (torch.nn.CrossEntropyLoss, "forward"),
            (torch.nn.NLLLoss, "forward"), (course, "cross_entropy"), (course, "nll_loss")]


def _run(fn, logits, target, one_hot_classes=None):
    """fn(logits, target) with the ready-made cross-entropies replaced by functions that raise (and, with
    one_hot_classes, F.one_hot defaulting to that many classes): (result, problem, used a ready-made loss)."""
    used = []

    def refuse(*args, **kwargs):
        used.append(True)
        raise _BuiltinCall("a ready-made cross-entropy was called")

    ready_made = _ready_made_losses()
    if any(fn is getattr(owner, name) or getattr(fn, "func", None) is getattr(owner, name)  # functools.partial
           for owner, name in ready_made):  # handed in itself: patching its name cannot catch it
        return None, "it is a ready-made cross-entropy", True
    replacements = [(owner, name, refuse) for owner, name in ready_made]
    if one_hot_classes is not None:
        one_hot = F.one_hot
        replacements.append((F, "one_hot", lambda t, num_classes=-1: one_hot(
            t, one_hot_classes if num_classes == -1 else num_classes)))
    with _replaced(replacements):
        result, problem = _call(fn, logits.clone(), target.clone())
    return result, problem, bool(used)


_BUILTIN_HINT = ("that calls a ready-made cross-entropy (F.cross_entropy, F.nll_loss, nn.CrossEntropyLoss or "
                 "nn.NLLLoss): that is the built-in, not yours; write it from torch.logsumexp: "
                 "mean of logsumexp(z) − z[target]")


def _takes_one_hot(fn, logits, target) -> bool:
    """Does fn give the right mean cross-entropy when handed one-hot targets instead of indices?"""
    one_hot = F.one_hot(target, num_classes=logits.shape[1]).to(logits.dtype)
    result, problem, _ = _run(fn, logits, one_hot)
    values = None if problem else _as_floats(result)
    return values is not None and len(values) == 1 and _close(values[0], F.cross_entropy(logits, target).item())


def _needs_num_classes(fn, logits, target) -> bool:
    """Does fn raise as given, but give the right loss once F.one_hot(target) makes C columns by default?"""
    result, problem, _ = _run(fn, logits, target, one_hot_classes=logits.shape[1])
    values = None if problem else _as_floats(result)
    return values is not None and len(values) == 1 and _close(values[0], F.cross_entropy(logits, target).item())


def _picked(z, t):
    return z[torch.arange(len(t)), t]


_DIAGNOSTIC_PROBES = _CE_PROBES + [  # rows far apart; all logits large; N = C (so dim 0 and dim 1 both fit)
    (torch.tensor([[0.0, 1.0, 2.0], [1000.0, 1001.0, 1002.0]]), torch.tensor([0, 1])),
    (torch.tensor([[1000.0, 999.0, 998.0], [999.0, 1000.0, 998.0]]), torch.tensor([1, 2])),
    (torch.tensor([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0], [0.0, 0.0, 5.0]]), torch.tensor([0, 2, 1])),
]

_KNOWN_MISTAKES = [  # (a function making the mistake, the hint naming it); told apart on the diagnostic probes
    (lambda z, t: (z.max() + torch.log(torch.exp(z - z.max()).sum(1)) - _picked(z, t)).mean(),
     "you shifted by the largest logit of the whole batch (z.max()); shift each row by its own max, "
     "m = z.max(dim=1, keepdim=True).values: a row far below the batch's max underflows to exp(z − m) = 0, and "
     "log 0 = −inf"),
    (lambda z, t: (torch.log(torch.exp(z - z.max(1, keepdim=True).values).sum(1)) - _picked(z, t)).mean(),
     "you subtracted the max m inside the exp but never added it back: logsumexp(z) = m + log Σ exp(z − m)"),
    (lambda z, t: (torch.log(torch.exp(z - z.max()).sum(1)) - _picked(z, t)).mean(),
     "you subtracted the max m inside the exp but never added it back (logsumexp(z) = m + log Σ exp(z − m)); "
     "and take each row's own max, m = z.max(dim=1, keepdim=True).values, not the batch's"),
    (lambda z, t: -_picked(z - torch.logsumexp(z, 0, keepdim=True), t).mean(),
     "your log-softmax normalises over dim 0, the batch: each class's column sums to 1; normalise over the "
     "classes, logsumexp(z, dim=1, keepdim=True)"),
    (lambda z, t: (torch.logsumexp(z, 0) - _picked(z, t)).mean(),
     "your logsumexp runs over dim 0, the batch; a row's logsumexp is over its classes: torch.logsumexp(z, dim=1)"),
    (lambda z, t: (torch.log(torch.exp(z).sum(1)) - _picked(z, t)).mean(),
     "exp(z) overflows to inf for logits like 1000 (float32 stops at e^88.7): subtract each row's max first, "
     "or use torch.logsumexp(z, dim=1)"),
]


def _outcomes(fn):
    """What fn does on each diagnostic probe: 'raises', 'not finite', a float, or 'other'."""
    seen = []
    for logits, target in _DIAGNOSTIC_PROBES:
        result, problem, used = _run(fn, logits, target)
        values = None if problem else _as_floats(result)
        if problem or used:
            seen.append("raises")
        elif values is None or len(values) != 1:
            seen.append("other")
        else:
            seen.append(values[0] if math.isfinite(values[0]) else "not finite")
    return seen


def _known_mistake(fn):
    """The hint for the known mistake fn behaves exactly like on every diagnostic probe, or None."""
    seen = _outcomes(fn)
    if not any(isinstance(v, float) for v in seen):
        return None
    for mistake, hint in _KNOWN_MISTAKES:
        if all(a == b if isinstance(a, str) or isinstance(b, str) else _close(a, b)
               for a, b in zip(seen, _outcomes(mistake))):
            return hint
    return None


@checker
@on_course_device
def check_stable_cross_entropy(fn) -> bool:
    """Exercise: cross-entropy from logits (N, C) and class indices (N,), mean over N, stable for large logits."""
    for probe, (logits, target) in enumerate(_CE_PROBES):
        per_example = F.cross_entropy(logits, target, reduction="none")
        expected = per_example.mean().item()
        result, problem, used_builtin = _run(fn, logits, target)
        if used_builtin:
            return _report(False, _BUILTIN_HINT)
        if problem:
            if problem.startswith("your function raised") and _takes_one_hot(fn, logits, target):
                return _report(False, "your function expects one-hot targets, but it is given class indices (N,): "
                                      "pick each row's entry at its class, e.g. log_probs[range(N), target] or gather")
            if problem.startswith("your function raised") and _needs_num_classes(fn, logits, target):
                return _report(False, "F.one_hot(target) makes max(target) + 1 columns, here fewer than the C = "
                                      f"{logits.shape[1]} classes: pass num_classes=logits.shape[1]")
            known = _known_mistake(fn) if problem.startswith("your function raised") else None
            return _report(False, known or problem)
        values = _as_floats(result)
        if values is None:
            return _report(False, f"return the loss as a number (a 0-d tensor), got {type(result).__name__}")
        if len(values) == len(target) and len(values) > 1:
            if all(_close(v, e) for v, e in zip(values, per_example.tolist())):
                return _report(False, "you returned one loss per example: reduce with the mean (.mean()) to one number")
            return _report(False, f"return one number (the mean over the batch), got {len(values)} values")
        if len(values) != 1:
            return _report(False, f"return one number (the mean over the batch), got {len(values)} values")
        value = values[0]
        if not (math.isfinite(value) and _close(value, expected)):
            known = _known_mistake(fn)
            if known:
                return _report(False, known)
        if not math.isfinite(value) and probe == 0:  # moderate logits: no overflow to blame
            return _report(False, f"for moderate logits {logits.tolist()} and targets {target.tolist()} you got "
                                  f"{value}: look for a log of 0 or of a negative number, or a 0/0, in your code")
        if not math.isfinite(value):
            return _report(False, f"for logits {logits.tolist()} you got {value}: log(softmax(z)) is unstable (exp "
                                  "overflows, or softmax rounds to 0 and log 0 = −inf); use log-softmax = "
                                  "z − logsumexp(z)")
        if _close(value, expected):
            continue
        log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        if _close(value, (torch.logsumexp(logits, dim=1) - logits.max(dim=1).values).mean().item()):
            return _report(False, "you never use target: that is the loss of each row's largest logit; pick each "
                                  "row's entry at its target class, e.g. log_probs[range(N), target]")
        if _close(value, expected / logits.shape[1]):
            return _report(False, f"that is the mean over all N·C = {logits.numel()} entries (e.g. "
                                  "(one_hot * log_probs).mean()), so divided by C too: sum over the classes, then "
                                  "take the mean over the N examples")
        if _close(value, expected / math.log(2)):
            return _report(False, "that is in bits (log₂); cross-entropy losses use the natural log (nats)")
        block = [-log_probs[:, target].mean().item(), (torch.logsumexp(logits, dim=1) - logits[:, target]).mean().item(),
                 -log_probs[:, target].sum().item() / len(target)]
        if any(_close(value, v) for v in block):
            return _report(False, "z[:, target] picks the entries at ALL the targets in every row (an N×N block); "
                                  "pick one entry per row with z[range(N), target] or gather")
        if _close(value, -expected):
            return _report(False, "missing minus sign: the loss is −log p̂[target], which is ≥ 0")
        if _close(value, per_example.sum().item()):
            return _report(False, f"that is the sum over the batch; take the mean (divide by N = {len(target)})")
        if _close(value, -per_example.sum().item()):
            return _report(False, "missing minus sign, and that is the sum over the batch: −mean of log p̂[target]")
        if _takes_one_hot(fn, logits, target):
            return _report(False, "your function expects one-hot targets, but it is given class indices (N,): "
                                  "pick each row's entry at its class, e.g. log_probs[range(N), target] or gather")
        if probe > 0:  # right for moderate logits, wrong for ±1000
            return _report(False, f"right for moderate logits, but for logits {logits.tolist()} you got {value:.4f}, "
                                  f"not {expected:.4f}: log(softmax(z)) loses the small probabilities (softmax "
                                  "rounds them to 0); use log-softmax = z − logsumexp(z)")
        return _report(False, f"for logits {logits.tolist()} and targets {target.tolist()} expected "
                              f"{expected:.4f}, got {value:.4f}")
    return _report(True, "mean of logsumexp(z) − z[target]: exact even for logits of ±1000")


# ---------------------------------------------------------------- exercise 2: entropy in bits


@checker
@on_course_device
def check_entropy(answer, p) -> bool:
    """Exercise: the entropy of the distribution p, in bits (−Σ pᵢ log₂ pᵢ, with 0·log 0 = 0)."""
    p = torch.as_tensor(p, dtype=torch.float64)
    has_zero = bool((p == 0).any())
    if isinstance(answer, (float, torch.Tensor)) and not isinstance(answer, bool):
        try:
            if math.isnan(float(answer)):
                hint = " (0·log 0 came out as NaN: count it as 0, the limit of p log p)" if has_zero else ""
                return _report(False, f"your answer is NaN{hint}")
        except (TypeError, ValueError, RuntimeError):
            pass
    value, problem = _number(answer, "set the answer to a number (bits)")
    if problem:
        return _report(False, problem)
    nonzero = p[p > 0]
    bits = float(-(nonzero * torch.log2(nonzero)).sum())
    nats = bits * math.log(2)
    if _agrees(answer, bits):
        return _report(True, f"H = −Σ p log₂ p = {bits:.4g} bits")
    if _agrees(answer, nats):
        return _report(False, "that is in nats (natural log); divide by ln 2 for bits")
    if _agrees(answer, bits * math.log10(2)):
        return _report(False, "that uses the base-10 log; bits need log₂ (multiply by log₂ 10 ≈ 3.32)")
    if _agrees(answer, -bits) or _agrees(answer, -nats) or _agrees(answer, -bits * math.log10(2)):
        return _report(False, "missing minus sign: H = −Σ pᵢ log pᵢ is ≥ 0, since every log pᵢ ≤ 0")
    if _agrees(answer, float(-torch.log2(nonzero).sum())):
        return _report(False, "each −log₂ pᵢ must be weighted by its probability pᵢ: H = −Σ pᵢ log₂ pᵢ")
    if len(p) > 1 and _agrees(answer, math.log2(len(p))) and not math.isclose(bits, math.log2(len(p))):
        return _report(False, f"log₂ {len(p)} is the entropy of {len(p)} equally likely outcomes; use the given "
                              "probabilities")
    distinct = set(nonzero.tolist())  # each different probability counted once, e.g. one term for the five 0.1 faces
    if len(distinct) < len(nonzero) and _agrees(answer, -sum(v * math.log2(v) for v in distinct)):
        return _report(False, "you counted the outcomes of equal probability as a single term (e.g. one "
                              "−0.1 log₂ 0.1 for five faces of 0.1): every outcome is a separate term, "
                              "H = −Σ pᵢ log₂ pᵢ over all of them")
    groups = {}  # equal probabilities lumped into one outcome, e.g. "a 6, or not a 6"
    for v in nonzero.tolist():
        groups[v] = groups.get(v, 0.0) + v
    if len(groups) < len(nonzero):
        lumped = -sum(g * math.log2(g) for g in groups.values())
        if _agrees(answer, lumped) and not _agrees(answer, bits):
            return _report(False, f"that ({lumped:.4g}) is the entropy with the outcomes of equal probability lumped "
                                  "into one (e.g. \"a 6\" vs \"not a 6\"); each outcome counts on its own: "
                                  "H = −Σ pᵢ log₂ pᵢ over all of them")
    if has_zero:
        return _report(False, "H(p) = −Σ pᵢ log₂ pᵢ, where a term with pᵢ = 0 counts 0 (0·log 0 = 0)")
    return _report(False, "H(p) = −Σ pᵢ log₂ pᵢ, in bits")


# ---------------------------------------------------------------- exercise 3: the loss for a task

LOSS_FOR_TASK = {  # the standard loss when the model's last layer is a plain Linear (it outputs logits)
    "regression": "MSELoss",
    "binary": "BCEWithLogitsLoss",
    "multi-class": "CrossEntropyLoss",
    "multi-label": "BCEWithLogitsLoss",
}

_ACCEPTED = {  # task → {also-correct loss: what to add when accepting it}
    "regression": {
        "MSELoss": "the default (maximum likelihood under Gaussian noise)",
        "L1Loss": "valid: robust to outliers (fits the median); MSELoss is the default",
        "HuberLoss": "valid: quadratic near 0, linear for outliers; MSELoss is the default",
        "SmoothL1Loss": "valid: Huber divided by β, robust to outliers; MSELoss is the default",
    },
    "binary": {
        "BCEWithLogitsLoss": "sigmoid and log in one exact step",
        "SoftMarginLoss": "valid for labels ±1 (it equals BCEWithLogitsLoss on (y + 1)/2); with 0/1 labels use "
                          "BCEWithLogitsLoss",
        "MultiLabelSoftMarginLoss": "with one label it equals BCEWithLogitsLoss, the usual name",
    },
    "multi-class": {
        "CrossEntropyLoss": "log-softmax and NLL in one exact step",
        "MultiMarginLoss": "valid: the multi-class hinge on raw scores (no probabilities); CrossEntropyLoss is the "
                           "usual choice",
    },
    "multi-label": {
        "BCEWithLogitsLoss": "one independent sigmoid + binary cross-entropy per label",
        "MultiLabelSoftMarginLoss": "the same as BCEWithLogitsLoss averaged over labels",
        "SoftMarginLoss": "valid with ±1 targets per label (it then equals MultiLabelSoftMarginLoss, and "
                          "BCEWithLogitsLoss on (y + 1)/2); with 0/1 targets use BCEWithLogitsLoss",
        "MultiLabelMarginLoss": "valid: the multi-label hinge on raw scores; mind its target format, each row the "
                                "true labels' class indices padded with −1 (not 0/1 flags); BCEWithLogitsLoss is the "
                                "usual choice",
    },
}

_WRONG = {  # (task or "*", loss) → why it is not the answer
    ("*", "BCELoss"): "BCELoss expects probabilities (after a sigmoid), but the model outputs logits; "
                      "sigmoid + BCELoss also saturates (loss 100, gradient 0 from z ≈ 17): use BCEWithLogitsLoss",
    ("multi-class", "NLLLoss"): "NLLLoss expects log-probabilities: it needs log_softmax (a LogSoftmax layer) first; "
                                "on logits use CrossEntropyLoss = LogSoftmax + NLLLoss",
    ("*", "NLLLoss"): "NLLLoss expects log-probabilities of one class among C (it needs log_softmax first)",
    ("*", "KLDivLoss"): "KLDivLoss compares a log-probability input with a target distribution; "
                        "the model outputs logits",
    ("*", "GaussianNLLLoss"): "GaussianNLLLoss needs a predicted variance as well as the mean",
    ("*", "PoissonNLLLoss"): "PoissonNLLLoss is for counts (a Poisson rate)",
    ("multi-label", "CrossEntropyLoss"): "CrossEntropyLoss's softmax forces the classes to compete (probabilities "
                                         "sum to 1), so several labels cannot all be likely: use one sigmoid per label",
    ("multi-label", "MultiMarginLoss"): "MultiMarginLoss picks one correct class per example; labels here are "
                                        "independent",
    ("multi-class", "BCEWithLogitsLoss"): "BCEWithLogitsLoss treats each class as an independent yes/no: the classes "
                                          "do not compete and the probabilities need not sum to 1; exactly one class "
                                          "is right, so use CrossEntropyLoss",
    ("multi-class", "MultiLabelSoftMarginLoss"): "that is a multi-label loss (independent yes/no per class); exactly "
                                                 "one class is right, so use CrossEntropyLoss",
    ("binary", "CrossEntropyLoss"): "with one output, softmax over a single logit is always 1 and the loss is always "
                                    "0: nothing is learnt; use BCEWithLogitsLoss",
    ("multi-class", "SoftMarginLoss"): "SoftMarginLoss is a yes/no (±1) loss for each output on its own: the classes "
                                       "do not compete; exactly one class is right, so use CrossEntropyLoss",
    ("binary", "MultiMarginLoss"): "MultiMarginLoss needs one score per class; with one logit use BCEWithLogitsLoss",
    ("regression", "CrossEntropyLoss"): "a classification loss: a regression target is a real number, not a class",
    ("regression", "BCEWithLogitsLoss"): "a classification loss: a regression target is a real number, not a "
                                         "yes/no label",
    ("regression", "MultiLabelSoftMarginLoss"): "a classification loss: a regression target is a real number",
    ("regression", "SoftMarginLoss"): "a classification loss for ±1 labels, not for real-valued targets",
    ("regression", "MultiMarginLoss"): "a classification loss, not for real-valued targets",
    ("*", "MultiLabelMarginLoss"): "MultiLabelMarginLoss is a multi-label loss (a hinge over each example's set of "
                                   "true labels), not one for this task",
    ("*", "HingeEmbeddingLoss"): "HingeEmbeddingLoss takes a distance between two inputs and ±1 labels saying "
                                 "whether the pair is similar: it learns embeddings, it does not fit labels to logits",
    ("*", "CosineEmbeddingLoss"): "CosineEmbeddingLoss compares two embeddings by their cosine, with ±1 labels for "
                                  "similar pairs: it learns embeddings, it does not fit labels to logits",
    ("*", "MarginRankingLoss"): "MarginRankingLoss ranks pairs of scores (which of two inputs should score higher), "
                                "it does not fit labels to logits",
    ("*", "TripletMarginLoss"): "TripletMarginLoss pulls an anchor embedding towards a positive and away from a "
                                "negative: it learns embeddings, it does not fit labels to logits",
    ("*", "TripletMarginWithDistanceLoss"): "TripletMarginWithDistanceLoss learns embeddings from (anchor, positive, "
                                            "negative) triplets, it does not fit labels to logits",
    ("*", "CTCLoss"): "CTCLoss aligns an output sequence with a shorter label sequence (speech, handwriting)",
}
for _task in LOSS_FOR_TASK:
    if _task != "regression":
        for _name in ("MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"):
            _WRONG[(_task, _name)] = (f"{_name} is a regression loss: it treats class labels as numbers to hit; "
                                      f"use {LOSS_FOR_TASK[_task]} on the logits")

_FUNCTIONAL = {  # torch.nn.functional name → class name
    "mse_loss": "MSELoss", "l1_loss": "L1Loss", "huber_loss": "HuberLoss", "smooth_l1_loss": "SmoothL1Loss",
    "cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "soft_margin_loss": "SoftMarginLoss",
    "multilabel_soft_margin_loss": "MultiLabelSoftMarginLoss", "multi_margin_loss": "MultiMarginLoss",
    "kl_div": "KLDivLoss", "gaussian_nll_loss": "GaussianNLLLoss", "poisson_nll_loss": "PoissonNLLLoss",
}
_KNOWN = {name for names in _ACCEPTED.values() for name in names} | {name for _, name in _WRONG}
_KNOWN |= {name for name in dir(torch.nn) if isinstance(getattr(torch.nn, name), type)  # every torch.nn loss
           and issubclass(getattr(torch.nn, name), torch.nn.modules.loss._Loss) and not name.startswith("_")}
_BY_KEY = {re.sub(r"[^a-z0-9]", "", name.lower()): name for name in _KNOWN}
_BY_KEY.update({re.sub(r"[^a-z0-9]", "", f.lower()): name for f, name in _FUNCTIONAL.items()})


def _loss_name(answer) -> str | None:
    """The torch.nn loss class an answer names: a name in any case/spacing, with or without 'torch.nn.' or
    'F.', with or without '()'; the class; an instance; or the torch.nn.functional function. None if none."""
    if isinstance(answer, type):
        text = answer.__name__
    elif isinstance(answer, torch.nn.Module):
        text = type(answer).__name__
    elif callable(answer) and getattr(answer, "__name__", None):
        text = answer.__name__
    elif isinstance(answer, str):
        text = answer.strip()
        text = re.sub(r"\(.*\)\s*$", "", text)  # nn.MSELoss() → nn.MSELoss
        text = text.rsplit(".", 1)[-1]  # torch.nn.MSELoss, nn.MSELoss, F.mse_loss → the last part
    else:
        return None
    return _BY_KEY.get(re.sub(r"[^a-z0-9]", "", text.lower()))


@checker
@on_course_device
def check_loss_for_task(task: str, answer) -> bool:
    """Exercise: the torch.nn loss for a task whose model ends in a plain Linear layer (logits)."""
    if task not in LOSS_FOR_TASK:
        raise ValueError(f"task must be one of {list(LOSS_FOR_TASK)}, got {task!r}")
    if answer is None or answer is Ellipsis:
        return _report(False, "set the answer to a loss, e.g. 'MSELoss' or nn.MSELoss")
    name = _loss_name(answer)
    other_loss = isinstance(answer, type) and issubclass(answer, torch.nn.modules.loss._Loss)
    other_loss = other_loss or isinstance(answer, torch.nn.modules.loss._Loss)
    if name is None and other_loss:  # a torch.nn loss, but none of those this exercise is about
        return _report(False, f"{getattr(answer, '__name__', type(answer).__name__)} is not the loss for {task} "
                              "with logits output; see the task → last layer → loss table")
    if name is None and isinstance(answer, str):  # near-misses: a spelling, or the pair a …WithLogits loss replaces
        key = re.sub(r"[^a-z0-9]", "", answer.lower())
        if "sigmoid" in key and ("bce" in key or "binarycrossentropy" in key):
            return _report(False, "sigmoid followed by BCELoss is what BCEWithLogitsLoss computes in one exact step; "
                                  "as two steps it saturates (gradient 0 on confident mistakes): did you mean "
                                  "BCEWithLogitsLoss?")
        if "softmax" in key and "crossentropy" in key:
            return _report(False, "CrossEntropyLoss applies the softmax itself: a softmax before it is a mistake "
                                  "(section 5); did you mean CrossEntropyLoss?")
        close = difflib.get_close_matches(key, list(_BY_KEY), n=1, cutoff=0.75) if key else []
        if close:
            return _report(False, f"{answer.strip()[:40]!r} is not a torch.nn name: did you mean {_BY_KEY[close[0]]}?")
    if name is None:
        shown = answer if isinstance(answer, str) else getattr(answer, "__name__", type(answer).__name__)
        return _report(False, f"{str(shown)[:40]!r} is not a torch.nn loss I know; answer with a loss class name "
                              "such as 'MSELoss', the class nn.MSELoss, or an instance")
    if name in _ACCEPTED[task]:
        return _report(True, f"{task} with a Linear (logits) output layer: {name} — {_ACCEPTED[task][name]}")
    why = _WRONG.get((task, name)) or _WRONG.get(("*", name))
    if why:
        return _report(False, why)
    return _report(False, f"{name} is a torch.nn loss, but not the loss for {task} with a logits output; see the "
                          "task → last layer → loss table")
