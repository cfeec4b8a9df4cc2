"""Checkers for the likelihoods notebook (02b): KLDivLoss's conventions, what a weighted mean divides by, pos_weight.

Each exercise is built so that every common mistake gives a number of its own: the KL probes have N ≠ C (so
dividing by N·C, by N or by nothing differ) and teachers that are not uniform (so swapping the two arguments shows).
"""

import functools
import math

import torch
import torch.nn.functional as F

from ..device import on_course_device
from ._report import _as_fraction, _agrees, _call, _number, _report, checker

# ---------------------------------------------------------------- exercise 1: KL(teacher ‖ student) per example


@functools.cache
def _kl_probes():
    """(student logits (N, C), teacher probabilities (N, C)) with N ≠ C, built on first use (not at import)."""
    generator = torch.Generator().manual_seed(2024)
    probes = []
    for n, c in ((4, 3), (3, 5)):
        logits = torch.randn(n, c, generator=generator, dtype=torch.float64)
        teacher = torch.softmax(2 * torch.randn(n, c, generator=generator, dtype=torch.float64), dim=1)
        probes.append((logits, teacher))
    return probes


# the terms each way of calling F.kl_div (or writing it out) adds up, as (N, C) tensors: name → (terms, hint)
_TERMS = {
    "right": (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="none"), None),
    "swapped": (lambda z, p: F.kl_div(p.log(), F.softmax(z, dim=1), reduction="none"),
                "the arguments are swapped: that is KL(student ‖ teacher). F.kl_div(input, target) computes "
                "KL(target ‖ input): the input is the student's log-probabilities, the target the teacher's "
                "probabilities"),
    "probabilities": (lambda z, p: F.kl_div(F.softmax(z, dim=1), p, reduction="none"),
                      "the input must be LOG-probabilities: you passed probabilities (softmax); use "
                      "F.log_softmax(student_logits, dim=1)"),
    "logits": (lambda z, p: F.kl_div(z, p, reduction="none"),
               "the input must be log-probabilities: you passed the raw logits; apply F.log_softmax(..., dim=1) "
               "first"),
    "log_target": (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="none", log_target=True),
                   "log_target=True says the target holds LOG-probabilities, but teacher_probs are probabilities: "
                   "leave log_target=False (the default), or pass teacher_probs.log() with log_target=True"),
    "dim 0": (lambda z, p: F.kl_div(F.log_softmax(z, dim=0), p, reduction="none"),
              "your log_softmax normalises over dim 0, the batch; each example's classes are dim 1: "
              "F.log_softmax(student_logits, dim=1)"),
    "cross-entropy": (lambda z, p: -p * F.log_softmax(z, dim=1),
                      "that is the cross-entropy H(teacher, student) = KL + H(teacher): it also counts the teacher's "
                      "entropy, which KL subtracts (Σ p log p)"),
}
_REDUCTIONS = {  # how the (N, C) terms become one number: name → (reduce, hint)
    "batchmean": (lambda t: t.sum() / t.shape[0], None),
    "mean": (lambda t: t.mean(),
             "reduction='mean' (KLDivLoss's default) divides the sum by N·C, every element, so the result is C times "
             "too small: reduction='batchmean' divides by the N examples, the KL per example"),
    "sum": (lambda t: t.sum(), "reduction='sum' adds up the whole batch: the mean per example is "
                               "reduction='batchmean' (the sum divided by N)"),
}


def _floats(result):
    """The learner's result as a float64 tensor (detached), or None when it is not numbers."""
    try:
        out = result.detach() if isinstance(result, torch.Tensor) else torch.as_tensor(result)
        if out.is_complex() or out.dtype == torch.bool:
            return None
        return out.to(torch.float64)
    except Exception:
        return None


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7)


def _matches(values: list[float], terms, reduce) -> bool:
    """Does the learner's number on each probe equal reduce(terms) there?"""
    with torch.no_grad():
        expected = [reduce(terms(z, p)).item() for z, p in _kl_probes()]
    return all(_close(v, e) for v, e in zip(values, expected))


def _kl_hint(values: list[float]) -> str | None:
    """The hint for the (terms, reduction) combination the learner's numbers equal, or None."""
    for term_name, (terms, term_hint) in _TERMS.items():
        for reduction_name, (reduce, reduction_hint) in _REDUCTIONS.items():
            if (term_name, reduction_name) == ("right", "batchmean"):
                continue
            if _matches(values, terms, reduce):
                return "; and ".join(h for h in (term_hint, reduction_hint) if h)
    return None


@checker
@on_course_device
def check_kl_batchmean(fn) -> bool:
    """Exercise: ``kl_loss(student_logits, teacher_probs)``, the mean over the batch of KL(teacher ‖ student).

    Any correct form passes (F.kl_div or nn.KLDivLoss with reduction="batchmean", with or without log_target=True
    on the teacher's log-probabilities, or the sum written out); a number, a 0-d or one-element tensor.
    """
    values = []
    for logits, teacher in _kl_probes():
        n, c = logits.shape
        result, problem = _call(fn, logits.clone(), teacher.clone())
        if problem:
            return _report(False, problem)
        out = _floats(result)
        if out is None:
            return _report(False, f"kl_loss should return a number (a tensor), got {type(result).__name__}")
        if out.numel() == n * c and n * c > 1 and out.dim() == 2:
            return _report(False, "that is one term per element (reduction='none'): sum over the classes and average "
                                  "over the examples, reduction='batchmean'")
        if out.numel() == n and n > 1:
            return _report(False, "that is one KL per example; the exercise asks for their mean over the batch "
                                  "(reduction='batchmean')")
        if out.numel() != 1:
            return _report(False, f"kl_loss should return one number, got shape {tuple(out.shape)}")
        value = out.item()
        if math.isnan(value):
            return _report(False, "the result is NaN: did you pass log-probabilities as the target without "
                                  "log_target=True? The default target is probabilities, and log of a negative "
                                  "number is NaN")
        if not math.isfinite(value):
            return _report(False, f"the result is {value}: is a log of 0 in there? softmax then log loses "
                                  "tiny probabilities; F.log_softmax does not")
        values.append(value)
    with torch.no_grad():
        expected = [(p * (p.log() - F.log_softmax(z, dim=1))).sum() / z.shape[0] for z, p in _kl_probes()]
    if all(_close(v, e.item()) for v, e in zip(values, expected)):
        return _report(True, "F.kl_div(F.log_softmax(z, dim=1), p, reduction='batchmean') = (1/N) Σₙ Σ_c p log(p/q): "
                             "KL(teacher ‖ student) per example, averaged")
    hint = _kl_hint(values)
    if hint:
        return _report(False, hint)
    if any(v < -1e-9 for v in values):
        return _report(False, f"a KL divergence is never negative, got {min(values):.4g}: check that the input is "
                              "log-probabilities and the target probabilities")
    return _report(False, f"not KL(teacher ‖ student) averaged over the batch: on a first check batch the answer is "
                          f"{expected[0].item():.4f}, yours {values[0]:.4f}")


# ---------------------------------------------------------------- exercise 2: what weighted "mean" divides by

LOSSES = (0.2, 0.2, 0.2, 2.0)  # −log p̂[yₙ] of four examples
TARGETS = (0, 0, 0, 1)  # their classes
CLASS_WEIGHTS = (1.0, 5.0)  # CrossEntropyLoss(weight=torch.tensor(CLASS_WEIGHTS))


def _weighted_mean_mistakes() -> list[tuple[float, str]]:
    """(a wrong answer, the hint naming its mistake) for the exercise's four examples."""
    w = [CLASS_WEIGHTS[t] for t in TARGETS]
    swapped = [CLASS_WEIGHTS[1 - t] for t in TARGETS]
    weighted = sum(wi * li for wi, li in zip(w, LOSSES))
    n = len(LOSSES)
    per_class = [[l for l, t in zip(LOSSES, TARGETS) if t == c] for c in range(len(CLASS_WEIGHTS))]
    return [
        (weighted / n, f"you divided the weighted sum by N = {n}: with weight=..., reduction='mean' divides by the "
                       f"sum of the weights of the targets, Σ w[yₙ] = {' + '.join(f'{x:g}' for x in w)} = {sum(w):g}"),
        (sum(LOSSES) / n, "that is the unweighted mean: each example's loss is multiplied by its class's weight "
                          "w[yₙ] first"),
        (weighted / sum(CLASS_WEIGHTS), f"you divided by the sum of the class weights, {sum(CLASS_WEIGHTS):g}: "
                                        "'mean' divides by the weights of the targets, one per example, "
                                        f"Σ w[yₙ] = {sum(w):g}"),
        (weighted, "that is the weighted sum, reduction='sum': 'mean' then divides it by Σ w[yₙ]"),
        (weighted / len(CLASS_WEIGHTS), "you divided by the number of classes; 'mean' divides by Σ w[yₙ], "
                                        "the weights of the examples' targets"),
        (sum(s * li for s, li in zip(swapped, LOSSES)) / sum(swapped),
         "the weights are swapped: weight[c] goes with class c, so the three class-0 examples get weight "
         f"{CLASS_WEIGHTS[0]:g} and the class-1 example {CLASS_WEIGHTS[1]:g}"),
        (sum(s * li for s, li in zip(swapped, LOSSES)) / n,
         "the weights are swapped (weight[c] goes with class c) and the sum is divided by N instead of Σ w[yₙ]"),
        (sum(sum(ls) / len(ls) for ls in per_class) / len(per_class),
         "that is the mean of the per-class mean losses; CrossEntropyLoss's weighted 'mean' is Σ w[yₙ] ℓₙ / Σ w[yₙ]"),
    ]


@checker
@on_course_device
def check_weighted_mean(answer) -> bool:
    """Exercise: CrossEntropyLoss(weight=CLASS_WEIGHTS) with reduction="mean" on four examples whose per-example
    losses are LOSSES: Σ w[yₙ] ℓₙ / Σ w[yₙ]. Accepts the exact value, a fraction as a string, and roundings of it
    to two or more significant digits."""
    answer = _as_fraction(answer)
    value, problem = _number(answer, "set weighted_mean to a number")
    if problem:
        return _report(False, problem)
    w = [CLASS_WEIGHTS[t] for t in TARGETS]
    right = sum(wi * li for wi, li in zip(w, LOSSES)) / sum(w)
    if _agrees(answer, right):
        return _report(True, f"Σ w[yₙ] ℓₙ / Σ w[yₙ] = {sum(wi * li for wi, li in zip(w, LOSSES)):g} / {sum(w):g} = "
                             f"{right:.4g}: a weighted average, so the loss keeps its scale whatever the weights")
    for wrong, hint in _weighted_mean_mistakes():
        if _agrees(answer, wrong):
            return _report(False, hint)
    if value == float(f"{right:.1g}"):
        return _report(False, f"{value:g} is the answer rounded to one significant digit; give two or more")
    return _report(False, f"{value:g} is not it: multiply each loss by its target's class weight, add them up, and "
                          "divide by the sum of those same weights")


# ---------------------------------------------------------------- exercise 3: pos_weight for an imbalanced set

N_NEGATIVE, N_POSITIVE = 99_800, 200  # legitimate transactions and frauds


def _pos_weight_mistakes() -> list[tuple[float, str]]:
    neg, pos = N_NEGATIVE, N_POSITIVE
    total = neg + pos
    return [
        (pos / neg, "inverted: pos_weight multiplies the loss of the POSITIVE (rare) examples, so it must be above 1: "
                    "n_negative / n_positive"),
        (total / pos, f"that is N / n_positive = {total}/{pos}, the total over the positives; pos_weight compares the "
                      "positives with the negatives: n_negative / n_positive"),
        (total / (2 * pos), f"that is the 'balanced' class weight of the positives, N / (2·n_positive); the negatives' "
                            f"is N / (2·n_negative) ≈ {total / (2 * neg):.3g}, and pos_weight is the ratio of the two"),
        (total / (2 * neg), "that is the 'balanced' class weight of the negatives, N / (2·n_negative); pos_weight is "
                            "the positives' weight relative to the negatives', n_negative / n_positive"),
        (pos / total, "that is the fraction of positives; pos_weight is a ratio of counts, n_negative / n_positive"),
        (neg / total, "that is the fraction of negatives; pos_weight is a ratio of counts, n_negative / n_positive"),
        (float(pos), "that is a count; pos_weight is the ratio n_negative / n_positive"),
        (float(neg), "that is a count; pos_weight is the ratio n_negative / n_positive"),
    ]


@checker
@on_course_device
def check_pos_weight(answer) -> bool:
    """Exercise: the pos_weight for BCEWithLogitsLoss that gives N_POSITIVE positives as much total weight as
    N_NEGATIVE negatives: n_negative / n_positive. Accepts a number, a fraction as a string, a one-element tensor."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.reshape(()).item()
    answer = _as_fraction(answer)
    value, problem = _number(answer, "set fraud_pos_weight to a number")
    if problem:
        return _report(False, problem)
    right = N_NEGATIVE / N_POSITIVE
    if _agrees(answer, right):
        return _report(True, f"pos_weight = n_negative / n_positive = {N_NEGATIVE}/{N_POSITIVE} = {right:g}: "
                             f"each fraud counts {right:g} times, so both classes weigh {N_NEGATIVE} in total")
    if value < 0:
        return _report(False, "a weight is never negative: a negative pos_weight rewards the model for missing "
                              "positives")
    if value == 0:
        return _report(False, "pos_weight = 0 removes the positives from the loss altogether")
    if value == 1:  # before the mistakes: 1 would pass as a rounding of the fraction of negatives, 0.998
        return _report(False, f"pos_weight = 1 is no weighting at all: the {N_POSITIVE} positives then weigh "
                              f"{N_NEGATIVE // N_POSITIVE} times less in total than the negatives")
    for wrong, hint in _pos_weight_mistakes():
        if _agrees(answer, wrong):
            return _report(False, hint)
    return _report(False, f"{value:g} is not it: choose w₊ so that w₊ · n_positive = n_negative")
