"""Checkers for the dropout notebook (05).

Each checker probes several dropout rates (never only p = 0.5, where "keep" and "drop" have the same
probability and 1/p equals 1/(1 − p)), so that the common mistakes give measurably different results, and
names the mistake it recognises. The learner's code may use torch's global generator: the checkers run it
inside ``torch.random.fork_rng`` with a fixed seed, so a verdict never depends on luck and the learner's
own random state is left as it was.
"""

import math

import torch
from torch import nn

from ..classify import sweep_dropout
from ..data import ImageData
from ..device import on_course_device
from ._report import _call, _report, _tensor, checker

SWAP_TOLERANCE = 0.01  # test losses closer than this count as "about the same"
RATE_TOLERANCE = 0.01  # |fraction zeroed − p| allowed; the probes hold >= 60 000 entries (σ <= 0.002)
CHECK_RATES = (0.2, 0.7)  # asymmetric rates: p and 1 − p, 1/p and 1/(1 − p) all differ
_GLOBAL_SEED = 20240  # the global generator's seed while the learner's code runs


def _fraction(mask: torch.Tensor) -> float:
    return mask.double().mean().item()


def _rate_mistake(zeroed: float, p: float, what: str) -> str | None:
    """None when ``zeroed`` ≈ p; else a hint naming the mistake (keep/drop swapped, or simply off)."""
    if abs(zeroed - p) <= RATE_TOLERANCE:
        return None
    if abs(zeroed - (1 - p)) <= RATE_TOLERANCE:
        return (f"with p = {p} you zeroed {zeroed:.0%} of the {what}, that is 1 − p: the keep and drop "
                f"probabilities are swapped (drop with probability p: keep = torch.rand(...) > p)")
    return f"with p = {p} you zeroed {zeroed:.1%} of the {what}, expected about p = {p:.0%}"


def _scale_mistake(out: torch.Tensor, original: torch.Tensor, p: float, what: str) -> str | None:
    """None when the kept entries equal original / (1 − p); else a hint naming the scale used."""
    kept = out != 0
    ratio = (out[kept] / original[kept]).median().item()  # the factor applied to the survivors
    if torch.allclose(out[kept], original[kept] / (1 - p), rtol=1e-4, atol=1e-6):
        return None
    if math.isclose(ratio, 1.0, rel_tol=1e-3):
        return (f"the surviving {what} are not rescaled (vanilla dropout): divide them by (1 − p) while "
                f"training, so that the expectation is unchanged and nothing is rescaled at test time")
    if math.isclose(ratio, 1 / p, rel_tol=1e-3):
        return f"the surviving {what} are divided by p; divide them by the keep probability 1 − p"
    if math.isclose(ratio, 1 - p, rel_tol=1e-3):
        return f"the surviving {what} are multiplied by (1 − p); divide them by (1 − p) instead"
    if math.isclose(ratio, 1 / (1 - p), rel_tol=1e-3):  # most survivors right: some are off (precision, clamping)
        wrong = (~torch.isclose(out[kept], original[kept] / (1 - p), rtol=1e-4, atol=1e-6)).sum().item()
        return (f"with p = {p} most surviving {what} are scaled correctly by 1/(1 − p), but {wrong} of "
                f"{kept.sum().item()} are not (lost precision, e.g. .half(), or clipped values?): compute "
                f"W · mask / (1 − p) in the input's dtype and change nothing else")
    return (f"with p = {p} the surviving {what} were multiplied by {ratio:.4g} (median); each must be "
            f"multiplied by 1/(1 − p) = {1 / (1 - p):.4g}")


def _normalised_choice(prediction) -> str | None:
    if not isinstance(prediction, str):
        return None
    text = " ".join(prediction.lower().split())
    return {"same": "about the same", "the same": "about the same"}.get(text, text)


SWAP_SEEDS = 5  # initialisations averaged: one run is within the seed-to-seed noise (± ~0.01)
_swap_cache: dict = {}  # (id of the data, seed) -> (data, differences): a second answer does not retrain


def _swap_differences(data: ImageData, seed: int) -> list[float]:
    """Test loss with (0.5, 0.2) minus with (0.2, 0.5), for model seeds seed, …, seed + SWAP_SEEDS − 1."""
    key = (id(data), seed)
    if key not in _swap_cache or _swap_cache[key][0] is not data:
        diffs = []
        for s in range(seed, seed + SWAP_SEEDS):
            usual, swapped = sweep_dropout([(0.2, 0.5), (0.5, 0.2)], data=data, seed=s)
            diffs.append(swapped.final_test_loss - usual.final_test_loss)
        _swap_cache.clear()
        _swap_cache[key] = (data, diffs)
    return _swap_cache[key][1]


@checker
@on_course_device
def check_swap_prediction(prediction, *, data: ImageData, seed: int = 0) -> bool:
    """Exercise: swapping the rates, (p₁, p₂) = (0.5, 0.2) instead of (0.2, 0.5): is the final test loss
    "higher", "lower" or "about the same"? The checker trains both orders from SWAP_SEEDS initialisations
    (seeds seed, seed + 1, …) on ``data`` and averages the differences: "about the same" when the mean is
    within SWAP_TOLERANCE and within two standard errors of zero (the seed-to-seed noise).

    Case and spacing are ignored ("Higher", " about the  same"); "same" means "about the same".
    """
    choices = ("higher", "lower", "about the same")
    choice = _normalised_choice(prediction)
    if prediction is None or prediction is Ellipsis:
        return _report(False, f"not answered yet: answer with one of {list(choices)}")
    if choice not in choices:
        return _report(False, f"answer with one of {list(choices)}, got {prediction!r}")
    diffs = _swap_differences(data, seed)
    mean = sum(diffs) / len(diffs)
    spread = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    noise = max(SWAP_TOLERANCE, 2 * spread / math.sqrt(len(diffs)))
    truth = "about the same" if abs(mean) < noise else ("higher" if mean > 0 else "lower")
    measured = (f"over {len(diffs)} initialisations, (0.5, 0.2) minus (0.2, 0.5) in final test loss: "
                f"{', '.join(f'{d:+.3f}' for d in diffs)}; mean {mean:+.3f}, noise level {noise:.3f}: {truth}")
    if choice == truth:
        return _report(True, measured)
    if truth == "about the same":
        why = ("the order of the rates changes the test loss by less than the seed-to-seed noise here: the "
               "advice 'lighter dropout near the input' is not confirmed on this data (nor is its opposite)")
    elif choice == "about the same":
        why = "here the order of the rates matters by more than the seed-to-seed noise"
    else:
        why = "the measurement goes the other way"
    return _report(False, f"{measured}; {why}")


def _run_quietly(fn, *args, rerun: bool = False):
    """_call with the global generator forked and seeded: deterministic, and the caller's state untouched.

    ``rerun=True`` seeds the global generator differently, as a later call would find it: code that draws
    from it (instead of the generator it is given) gets another mask, code that re-seeds it gets the same.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_GLOBAL_SEED + rerun)
        return _call(fn, *args)


def _all_or_nothing(zero: torch.Tensor, dim: int) -> bool:
    """Are the zeros of a (rows, columns) mask whole rows (dim=1) or whole columns (dim=0)?"""
    share = zero.double().mean(dim=dim)
    return bool(((share == 0) | (share == 1)).all() and (share == 1).any())


@checker
@on_course_device
def check_drop_weights(fn) -> bool:
    """Exercise: ``drop_weights(W, p, generator)``, dropout on the weights (DropConnect): every entry of W
    is zeroed with probability p, on its own; survivors are scaled by 1/(1 − p); the mask comes from
    ``generator``; W itself is left unchanged."""
    W = torch.randn(300, 200, generator=torch.Generator().manual_seed(5))  # no exact zeros
    for p in CHECK_RATES:
        given = W.clone()
        result, problem = _run_quietly(fn, given, p, torch.Generator().manual_seed(6))
        if problem:
            return _report(False, problem)
        out, problem = _tensor(result, W.shape, "the result")
        if problem:
            return _report(False, f"{problem}: keep the shape of W")
        if not torch.equal(given, W):
            return _report(False, "your function changed W in place: return a new tensor (W * mask / (1 − p)) "
                                  "and leave the weights as they were")
        if not torch.isfinite(out).all():
            return _report(False, f"with p = {p} the result holds inf or NaN")
        zero = out == 0
        if _all_or_nothing(zero, 1):
            return _report(False, "you drop whole rows of W (all the weights into one unit), which is dropout "
                                  "on the units; DropConnect drops each weight on its own: a mask of W's shape")
        if _all_or_nothing(zero, 0):
            return _report(False, "you drop whole columns of W (all the weights from one input), which is dropout "
                                  "on the inputs; DropConnect drops each weight on its own: a mask of W's shape")
        problem = _rate_mistake(_fraction(zero), p, "weights")
        if problem:
            return _report(False, problem)
        problem = _scale_mistake(out, W.double(), p, "weights")
        if problem:
            return _report(False, problem)
        again, _ = _run_quietly(fn, W.clone(), p, torch.Generator().manual_seed(6), rerun=True)
        again, _ = _tensor(again, W.shape, "the result")
        if again is None or not torch.equal(again, out):
            return _report(False, "the same generator state gave another mask: draw it with generator=generator "
                                  "(e.g. torch.rand(W.shape, generator=generator))")
        other, _ = _run_quietly(fn, W.clone(), p, torch.Generator().manual_seed(7))
        other, _ = _tensor(other, W.shape, "the result")
        if other is None or torch.equal(other, out):
            return _report(False, "another generator gave the same mask: the mask must come from the generator "
                                  "passed in (generator=generator), not from one of your own")
    same, problem = _run_quietly(fn, W.clone(), 0.0, torch.Generator().manual_seed(6))
    same, shape_problem = (None, problem) if problem else _tensor(same, W.shape, "the result")
    if same is None or not torch.allclose(same, W.double()):
        return _report(False, f"with p = 0 the weights must come back unchanged ({shape_problem or 'they differ'})")
    return _report(True, "W · mask / (1 − p): each weight dropped on its own with probability p, E[W̃] = W")


_VARIANCE_PROBES = ((2.0, 0.5), (1.0, 0.2), (-3.0, 0.8), (0.5, 0.0), (1.5, 0.3))  # one h < 0, p = 0 included
_VARIANCE_MISTAKES = [  # (wrong formula, hint naming the mistake); a formula may divide by zero at p = 0
    (lambda h, p: h * h * p * (1 - p), "that is the variance of h·m without the 1/(1 − p) scaling; scale first"),
    (lambda h, p: h * h * p, "you divided the variance by (1 − p); Var(a·X) = a²·Var(X), so divide by (1 − p)²"),
    (lambda h, p: h * h / (1 - p), "that is E[h'²]; the variance subtracts (E[h'])² = h²"),
    (lambda h, p: h * p / (1 - p), "the variance grows with h², not h (it is never negative)"),
    (lambda h, p: h * h * (1 - p) / p, "p and 1 − p are swapped: m is 1 with probability 1 − p (dropped with p)"),
    (lambda h, p: h * h * p / (1 - p) ** 2,
     "you used Var(m) = p; for m ~ Bernoulli(1 − p) it is p·(1 − p), which cancels one (1 − p)"),
    (lambda h, p: p / (1 - p), "the variance depends on h too: it scales with h²"),
    (lambda h, p: p / (1 - p) ** 2, "the variance depends on h too (it scales with h²), and Var(m) = p·(1 − p), not p"),
]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-9)


def _variance_value(fn, h: float, p: float):
    """(float, None) or (None, a hint). h and p are Python floats; a function written for tensors
    (h.square(), torch.square(h)) is given 0-d float64 tensors instead, so it is accepted too."""
    value, problem = _call(fn, h, p)
    if problem and "raised" in problem and "ZeroDivisionError" not in problem:
        value, retry = _call(fn, torch.tensor(h, dtype=torch.float64), torch.tensor(p, dtype=torch.float64))
        problem = problem if retry else None
    if problem:
        return None, problem
    try:
        value = float(value)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of several elements
        return None, f"return one number, got {type(value).__name__}: {value!r:.60}"
    if not math.isfinite(value):
        return None, f"for h = {h}, p = {p} your function returned {value}"
    return value, None


def _mistake_formula(formula, h: float, p: float) -> float | None:
    try:
        return formula(h, p)
    except ZeroDivisionError:
        return None


@checker
@on_course_device
def check_dropout_variance(fn) -> bool:
    """Exercise: ``variance(h, p)``: the variance of inverted dropout applied to a fixed activation h,
    h²·p/(1 − p). h and p are Python floats (a function written for 0-d tensors is accepted too); probed
    at several h (one negative) and p (p = 0 included). A wrong answer is named when it matches a known
    mistake at every probe where both are defined (so a formula dividing by p is named, not refused at p = 0)."""
    values, problems = [], []
    for h, p in _VARIANCE_PROBES:
        value, problem = _variance_value(fn, h, p)
        values.append(value)
        problems.append(problem)
    if all(problem and ("pass a function" in problem or "returns nothing" in problem) for problem in problems):
        return _report(False, problems[0])
    answered = [(h, p, v) for (h, p), v in zip(_VARIANCE_PROBES, values) if v is not None]
    if not any(problems) and all(_close(v, h * h * p / (1 - p)) for h, p, v in answered):
        return _report(True, "Var = h²·p/(1 − p): zero at p = 0, and it grows without bound as p → 1")
    if len(answered) >= 3:  # enough probes to recognise a formula
        for formula, hint in _VARIANCE_MISTAKES:
            expected = [(_mistake_formula(formula, h, p), v) for h, p, v in answered]
            if all(e is None or _close(v, e) for e, v in expected) and sum(e is not None for e, _ in expected) >= 3:
                return _report(False, hint)
    for (h, p), problem in zip(_VARIANCE_PROBES, problems):
        if problem:
            return _report(False, problem if "for h =" in problem else f"for h = {h}, p = {p}: {problem}")
    h, p, value = next((h, p, v) for h, p, v in answered if not _close(v, h * h * p / (1 - p)))
    target = h * h * p / (1 - p)
    close = math.isclose(value, target, rel_tol=0.02)
    return _report(False, f"for h = {h}, p = {p} expected a variance of {target:.8g}, got {value:.8g}"
                          + ("; close but not exact: write the closed form, not a sampled estimate" if close else ""))


def _module_output(model: nn.Module, X: torch.Tensor, *, rerun: bool = False):
    """(output as a float64 tensor, None) or (None, a hint); also refuses an in-place change of X."""
    given = X.clone()
    out, problem = _run_quietly(model, given, rerun=rerun)
    if problem:
        return None, problem
    if not torch.equal(given, X):
        return None, "the layer changed its input in place: return a new tensor (X * mask / (1 − p))"
    if not isinstance(out, torch.Tensor):  # a list or a NumPy array breaks the next layer and autograd
        return None, f"the layer must return a torch tensor (the next layer and autograd need one), got {type(out).__name__}"
    return _tensor(out.detach(), X.shape, "the layer's output")


@checker
@on_course_device
def check_dropout_module(cls) -> bool:
    """Exercise: a ``cls(p)`` nn.Module doing inverted dropout that follows ``model.train()`` / ``model.eval()``.

    Probes p = 0.2 and 0.7 (rate and scale of the survivors), one mask per entry and per call, the identity
    in eval mode and at p = 0, no in-place change of the input; the layer is switched through a parent
    module, as in a real network, so a flag of its own is found out.
    """
    X = torch.rand(400, 250, generator=torch.Generator().manual_seed(7)) + 0.5  # all entries in [0.5, 1.5)
    if isinstance(cls, nn.Module):
        return _report(False, f"pass the class itself ({type(cls).__name__}), not an instance "
                              f"({type(cls).__name__}(...)): the checker builds it with several rates p")
    for p in CHECK_RATES:
        try:
            layer = cls(p)
        except Exception as error:  # the learner's code may fail in any way
            return _report(False, f"{getattr(cls, '__name__', cls)}({p}) raised {type(error).__name__}: {error}")
        if not isinstance(layer, nn.Module):
            return _report(False, "make it a subclass of torch.nn.Module")
        model = nn.Sequential(nn.Identity(), layer)  # switched through its parent, as in a real model
        model.train()
        out, problem = _module_output(model, X)
        if problem:
            return _report(False, problem)
        zero = out == 0
        if _all_or_nothing(zero, 1):
            return _report(False, "you drop whole rows (one mask value per example: every feature of an example "
                                  "kept or dropped together); draw one per entry, torch.rand(X.shape) > p")
        if zero.any() and (zero == zero[0]).all():
            return _report(False, "every example got the same mask (one per feature): draw one per entry, "
                                  "torch.rand(X.shape) > p")
        problem = _rate_mistake(_fraction(zero), p, "entries in training mode")
        if problem:
            return _report(False, problem)
        problem = _scale_mistake(out, X.double(), p, "entries")
        if problem:
            return _report(False, problem)
        second, problem = _module_output(model, X, rerun=True)
        if problem or torch.equal(second, out):
            return _report(False, problem or "two calls in training mode gave the same mask: draw a new one at "
                                             "every forward pass (do not re-seed inside forward)")
        model.eval()
        out, problem = _module_output(model, X)
        if problem:
            return _report(False, problem)
        if not torch.allclose(out, X.double()):
            if torch.allclose(out, X.double() * (1 - p)):
                return _report(False, "in eval mode inverted dropout does nothing: no scaling by (1 − p) at test "
                                      "time (that belongs to vanilla dropout)")
            if (out == 0).all():
                return _report(False, "after model.eval() the layer returns zeros; in eval mode it must return its "
                                      "input unchanged (return X)")
            if (out == 0).any():
                return _report(False, "after model.eval() the layer still drops: read self.training (set by "
                                      "model.train() / model.eval()), not a flag of your own")
            return _report(False, "after model.eval() the layer must return its input unchanged")
        model.train()
        out, problem = _module_output(model, X)
        if problem or not (out == 0).any():
            return _report(False, problem or "after model.train() the layer no longer drops: read self.training "
                                             "at every forward pass")
    try:
        layer = cls(0.0)
    except Exception as error:
        return _report(False, f"{getattr(cls, '__name__', cls)}(0.0) raised {type(error).__name__}: {error}")
    out, problem = _module_output(nn.Sequential(layer).train(), X)
    if problem or not torch.allclose(out, X.double()):
        return _report(False, problem or "with p = 0 the layer must return its input unchanged in training mode")
    return _report(True, "it drops each entry with probability p, scales the survivors by 1/(1 − p), and is the "
                         "identity in model.eval(), like nn.Dropout")
