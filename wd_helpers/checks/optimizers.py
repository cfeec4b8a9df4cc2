"""Checkers for the optimizers notebook (03)."""

import functools
import math

import torch

from .. import optim
from ..device import on_course_device
from ._report import _number, _report, checker


@checker
@on_course_device
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


@checker
@on_course_device
def check_largest_stable_lr(answer, *, curvature: float) -> bool:
    """Exercise: the largest η for which gradient descent converges on a quadratic of curvature L."""
    value, problem = _number(answer, "set largest_stable_lr to a number")
    if problem:
        return _report(False, problem)
    bound = 2.0 / curvature
    if math.isclose(value, bound, rel_tol=1e-3):
        return _report(True, f"η < 2/L = 2/{curvature:g} = {bound:.4g}: each step multiplies x by 1 − ηL")
    if math.isclose(value, 1.0 / curvature, rel_tol=1e-3):
        return _report(False, "η = 1/L jumps straight to the minimum; larger steps still converge, up to a bound")
    return _report(False, f"{value:g} is not the boundary; find η where |1 − ηL| = 1, with L = f''(x)")


_RACE = {  # the exercise's contestants, all with η = 0.4
    "SGD": lambda p: optim.SGD(p, lr=0.4),
    "Momentum": lambda p: optim.Momentum(p, lr=0.4, momentum=0.9),
    "AdaGrad": lambda p: optim.AdaGrad(p, lr=0.4),
    "Adam": lambda p: optim.Adam(p, lr=0.4),
}


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


@checker
@on_course_device
def check_fastest_optimizer(prediction) -> bool:
    """Exercise: which optimizer first reaches f < 1e-4 on 0.1x₁² + 2x₂² from (−5, −2)?"""
    if prediction not in _RACE:
        return _report(False, f"answer with one of {list(_RACE)}")
    first = _race()  # measured once, then remembered: a second guess answers at once
    winner = min(first, key=first.get)
    table = ", ".join(f"{n}: {s if s != math.inf else 'never (500)'}" for n, s in first.items())
    return _report(prediction == winner, f"steps to f < 1e-4: {table}")
