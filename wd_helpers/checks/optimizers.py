"""Checkers for the optimizers notebook (03)."""

import functools
import math

import torch

from .. import optim
from ..device import on_course_device
from ._report import _as_fraction, _agrees, _call, _number, _report, _tensor, _typed_digits, checker

# ---------------------------------------------------------------- exercise 1: one momentum step


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-5) -> bool:
    return torch.allclose(a, b.to(torch.float64), atol=tol, rtol=tol)


def _dtype(value):
    """The dtype a learner's result has (None if it is not tensor-like)."""
    try:
        return torch.as_tensor(value).dtype
    except Exception:
        return None


@checker
@on_course_device
def check_momentum_step(fn) -> bool:
    """Exercise: one heavy-ball momentum step, v ← βv + g, x ← x − ηv; fn(x, v, g, lr, beta) returns (new_x, new_v)."""
    generator = torch.Generator().manual_seed(7)
    shape = (2, 3)  # not 1-D, so a result that was flattened or summed is caught
    x, v, g = (torch.randn(shape, generator=generator) for _ in range(3))
    lr, beta = 0.1, 0.8
    result, problem = _call(fn, x.clone(), v.clone(), g.clone(), lr, beta)
    if problem:
        return _report(False, problem)
    if isinstance(result, torch.Tensor) or not isinstance(result, (tuple, list)) or len(result) != 2:
        return _report(False, "return two things, the new point and the new velocity: return new_x, new_v")
    dtypes = {what: _dtype(value) for what, value in zip(("new_x", "new_v"), result)}
    for what, dtype in dtypes.items():
        if dtype is not None and dtype.is_complex:
            return _report(False, f"{what} is complex ({dtype}): a momentum step on real x, v and g is real; "
                                  "return real tensors (in x's dtype)")
    coarse = [d for d in dtypes.values() if d is not None and d.is_floating_point and torch.finfo(d).eps > 1e-6]
    tol = max([1e-5] + [2 * torch.finfo(d).eps for d in coarse])  # bfloat16 / float16 results: their own precision
    close = functools.partial(_close, tol=tol)
    new_x, problem = _tensor(result[0], shape, "new_x")
    if problem:
        return _report(False, problem + " (the same shape as x)")
    new_v, problem = _tensor(result[1], shape, "new_v")
    if problem:
        return _report(False, problem + " (the same shape as v)")

    v_right = beta * v + g  # v_t = β v_{t-1} + g_t
    x_right = x - lr * v_right  # x_t = x_{t-1} − η v_t
    if close(new_x, x_right) and close(new_v, v_right):
        note = (f" (right to the precision of {', '.join(sorted({str(d).replace('torch.', '') for d in coarse}))}; "
                "x, v and g were float32)") if coarse else ""
        return _report(True, "v ← βv + g, then x ← x − ηv (torch.optim.SGD with momentum, dampening 0)" + note)
    if close(new_x, v_right) and close(new_v, x_right):
        return _report(False, "the two results are swapped: return new_x first, then new_v")
    if close(new_x, x + lr * v_right):
        return _report(False, "the step goes uphill: subtract η·v from x, do not add it")
    if close(new_x, x - lr * v) and close(new_v, v_right):
        return _report(False, "the step used the old velocity: update v first, then step with the new v")
    if close(new_x, x - lr * g):
        return _report(False, "that is a plain gradient-descent step, x ← x − ηg: the velocity does not move x. "
                              "Heavy-ball momentum first updates v ← βv + g, then steps x ← x − ηv")
    if close(new_v, beta * v - lr * g) and close(new_x, x + new_v.to(x.dtype)):
        return _report(False, "that is the Sutskever form, v ← βv − ηg, x ← x + v (η inside the velocity, a "
                              "minus sign in v); the exercise asks for torch's form, v ← βv + g, x ← x − ηv")
    for leaky in (beta * v + (1 - beta) * g, beta * v + (1 - beta) * lr * g):
        if close(new_v, leaky):
            return _report(False, "that is dampening, a leaky average v ← βv + (1 − β)·g (Adam's m, or torch's "
                                  "dampening = 1 − β); heavy-ball momentum adds the whole gradient, v ← βv + g, "
                                  "as torch.optim.SGD does with dampening 0")
    if close(new_v, v_right) and close(new_x, x - lr * (g + beta * v_right)):
        return _report(False, "that is Nesterov's look-ahead step x ← x − η(g + βv); the exercise asks for "
                              "heavy-ball momentum, x ← x − ηv")
    if close(new_v, beta * v + lr * g) and close(new_x, x - (beta * v + lr * g)):
        return _report(False, "your x is right, but your velocity holds η·g (v ← βv + ηg, x ← x − v); in this "
                              "course, as in torch, v ← βv + g and η multiplies v in the step")
    if close(new_v, v + g):
        return _report(False, "the velocity forgot β: v ← βv + g, not v + g")
    if close(new_v, v_right) and close(new_x, x - v_right):
        return _report(False, "the step forgot η: x ← x − η·v")
    if close(new_v, v_right):
        return _report(False, "new_v is right; new_x should be x − η·new_v")
    return _report(False, "expected v ← βv + g, then x ← x − ηv")


# ---------------------------------------------------------------- exercise 2: the step-size bound


@checker
@on_course_device
def check_largest_stable_lr(answer, *, curvature: float) -> bool:
    """Exercise: the bound on η below which gradient descent converges on a quadratic with f'' = curvature.

    The answer is the boundary 2/L itself (gradient descent converges for every η below it, and at η = 2/L
    it oscillates for ever without converging). Accepts 2/L exactly, a fraction typed as a string ("1/3"),
    and any rounding of it to two or more significant digits (0.33, 0.333).
    """
    answer = _as_fraction(answer)
    value, problem = _number(answer, "set largest_stable_lr to a number")
    if problem:
        return _report(False, problem)
    L = float(curvature)
    bound = 2.0 / L
    if _agrees(answer, bound):
        return _report(True, f"η < 2/L = 2/{L:g} = {bound:.4g}: each step multiplies x by 1 − ηL, and "
                             f"|1 − ηL| < 1 exactly below it (at η = 2/L itself x flips sign for ever)")
    if value <= 0:
        return _report(False, "η must be positive: a step of size 0 or less never moves downhill")
    if _agrees(answer, 1.0 / L):
        return _report(False, f"η = 1/L = {1 / L:.4g} jumps straight to the minimum in one step, but larger "
                              "steps still converge (they overshoot by less than they correct): find the bound")
    coefficient = L / 2  # f = a·x² has f'' = 2a: the coefficient a is not the curvature
    if _agrees(answer, 2.0 / coefficient):
        return _report(False, f"you used the coefficient {coefficient:g} of x² as the curvature; "
                              f"L is f''(x) = {L:g}")
    near = math.isclose(value, bound, rel_tol=0.15)
    if value > bound:
        return _report(False, f"η = {value:g} is {'just ' if near else ''}above the bound: there |1 − ηL| > 1 "
                              "and x grows every step")
    typed = _typed_digits(answer)
    if near and typed is not None and typed[1] < 2:
        return _report(False, f"{value:g} is rounded to one significant digit; give the bound to two or more")
    return _report(False, f"η = {value:g} still converges, so it is not the bound: the bound is where "
                          "|1 − ηL| = 1, with L = f''(x)")


# ---------------------------------------------------------------- exercise 3: the race


_RACE = {  # the exercise's contestants, all with η = 0.4
    "SGD": lambda p: optim.SGD(p, lr=0.4),
    "Momentum": lambda p: optim.Momentum(p, lr=0.4, momentum=0.9),
    "AdaGrad": lambda p: optim.AdaGrad(p, lr=0.4),
    "Adam": lambda p: optim.Adam(p, lr=0.4, betas=(0.9, 0.999)),  # torch's defaults, as the exercise says
}
_CLASSES = {  # an optimizer class (ours or torch's) named as the answer
    optim.SGD: "SGD", torch.optim.SGD: "SGD", optim.Momentum: "Momentum",
    optim.AdaGrad: "AdaGrad", torch.optim.Adagrad: "AdaGrad", optim.Adam: "Adam", torch.optim.Adam: "Adam",
}
_KEY = {name.lower(): name for name in _RACE}


@functools.cache
def _race() -> dict:
    """Steps each contestant needs to reach f < 1e-4 (inf: not within 500); the same on every call."""
    narrow = lambda x: 0.1 * x[0] ** 2 + 2 * x[1] ** 2
    first = {}
    for name, make in _RACE.items():
        losses = optim.loss_along(narrow, optim.trace(make, narrow, torch.tensor([-5.0, -2.0]), 500))
        below = (losses < 1e-4).nonzero()
        first[name] = int(below[0]) if len(below) else math.inf
    return first


def _contestant(prediction):
    """The contestant's name the learner meant, or (None, a hint naming what is wrong with the answer)."""
    if prediction is None or prediction is Ellipsis:
        return None, 'set prediction to one name, e.g. "SGD"'
    if isinstance(prediction, (list, tuple, set, dict)):
        return None, f'answer with one name, as a string (e.g. "SGD"), not a {type(prediction).__name__}'
    if isinstance(prediction, type):
        if prediction in _CLASSES:
            return _CLASSES[prediction], None
        return None, f"{prediction.__name__} is not in the race; answer with one of {list(_RACE)}"
    if not isinstance(prediction, str):
        return None, f'answer with one name, as a string (e.g. "SGD"), got {type(prediction).__name__}'
    text = prediction.strip().strip("\"'").split(".")[-1]  # "torch.optim.Adam" → "Adam"
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    if key in _KEY:
        return _KEY[key], None
    if key in ("sgdmomentum", "momentumsgd", "heavyball", "sgdwithmomentum", "heavyballmomentum"):
        return "Momentum", None
    if key in ("gd", "gradientdescent", "stochasticgradientdescent", "plaingd"):
        return "SGD", None
    return None, f"{prediction.strip()!r} is not in the race; answer with one of {list(_RACE)}"


@checker
@on_course_device
def check_fastest_optimizer(prediction) -> bool:
    """Exercise: which optimizer first reaches f < 1e-4 on 0.1x₁² + 2x₂² from (−5, −2)?"""
    name, problem = _contestant(prediction)
    if problem:
        return _report(False, problem)
    first = _race()  # measured once, then remembered: a second guess answers at once
    winner = min(first, key=first.get)
    table = ", ".join(f"{n}: {s if s != math.inf else 'never (500)'}" for n, s in first.items())
    if name == winner:
        return _report(True, f"{name} is first; steps to f < 1e-4: {table}")
    return _report(False, f"{name} is not first. {_WHY_NOT.get(name, '')}Steps to f < 1e-4 (Momentum β = 0.9, "
                          f"Adam β₁ = 0.9, β₂ = 0.999): {table}")


_WHY_NOT = {  # why each loser loses, along the flat direction x₁ (curvature 0.2) that sets the pace
    "Momentum": "At β = 0.9 heavy ball's swings shrink the distance by only √β ≈ 0.949 per step along x₁, "
                "while plain GD at η = 0.4 keeps 1 − 0.4·0.2 = 0.92 of it: this much momentum is slower here. ",
    "AdaGrad": "AdaGrad's effective learning rate on x₁, η/√s, starts at 0.4/|g₁| = 0.4/1 = 0.4 and only falls "
               "as squared gradients pile up in s, so its steps along the flat x₁ shrink for ever. ",
    "Adam": "Adam's effective learning rate on x₁, η/√v̂, starts at 0.4/|g₁| = 0.4/1 = 0.4 and rises as the "
            "gradients shrink (about 3.8× by step 76), and β₁ = 0.9 carries it past x₁ = 0: x₁ swings "
            "−5 → +1.13 → −0.37 → +0.14 before f drops below 1e-4. The race uses torch's defaults β₁ = 0.9, "
            "β₂ = 0.999; with the explorer's starting sliders β₁ = 0.5, β₂ = 0.9 Adam would need only 22 steps. ",
}
