"""Checkers for the initialisation notebook (01b).

Both exercises use the same layer, ``nn.Linear(300, 200)`` followed by ReLU: fan_in = 300 and fan_out = 200 differ,
so that every common mistake (the wrong fan, a missing factor 2, a std where a variance is asked, the uniform's
bound where its std is meant, Xavier's or nn.Linear's default formula) gives a number of its own.
"""

import math

import torch

from ..device import on_course_device
from ._report import _as_fraction, _agrees, _call, _number, _report, _tensor, _typed_digits, checker

FAN_IN, FAN_OUT = 300, 200  # nn.Linear(300, 200): its weight has shape (200, 300)
_GLOBAL_SEED = 20241  # the global generator's seed while the learner's code runs


# ---------------------------------------------------------------- exercise 1: He's variance


def _variance_mistakes(fan_in: int, fan_out: int) -> list[tuple[float, str]]:
    """(a wrong answer, the hint naming its mistake), for a Linear(fan_in, fan_out) + ReLU layer."""
    he = 2 / fan_in
    return [
        (2 / fan_out, f"that is 2/n_out = 2/{fan_out}: He's fan_in mode counts the layer's INPUTS, n_in = {fan_in} "
                      "(z sums n_in products w·h); 2/n_out is the fan_out mode, which keeps the backward signal"),
        (1 / fan_in, "that is 1/n_in (LeCun's, right for tanh near 0): you forgot the factor 2 for ReLU. Half the "
                     "units output 0, E[relu(z)²] = Var(z)/2, so the weights need twice the variance: 2/n_in"),
        (1 / fan_out, f"that is 1/n_out: the wrong fan (n_in = {fan_in}, the inputs) and no factor 2 for ReLU"),
        (math.sqrt(he), f"that is the std √(2/n_in) = {math.sqrt(he):.4g}; the exercise asks for the variance, "
                        "its square"),
        (math.sqrt(2 / fan_out), "that is a std, √(2/n_out), and with the wrong fan: the variance is 2/n_in"),
        (2 / (fan_in + fan_out), "that is Xavier/Glorot's 2/(n_in + n_out), made for tanh; ReLU's zeros halve "
                                 "E[h²], so He uses 2/n_in"),
        (1 / (3 * fan_in), "that is nn.Linear's default, U(±1/√n_in) with variance 1/(3·n_in): six times too small "
                           "for ReLU"),
        (math.sqrt(6 / fan_in), "that is the bound a = √(6/n_in) of He's UNIFORM version (a = √3·std); the "
                                "variance is a²/3 = 2/n_in"),
        (6 / fan_in, "that is a² = 6/n_in, the uniform's bound squared; the variance of U(−a, a) is a²/3"),
        (4 / fan_in, "that is 4/n_in: the factor 2 applied twice (the std is √2/√n_in, its square 2/n_in)"),
    ]


@checker
@on_course_device
def check_he_variance(answer) -> bool:
    """Exercise: the variance of the weights of nn.Linear(300, 200) followed by ReLU under He (fan_in) init: 2/300.

    Accepts 2/300 exactly, a fraction typed as a string ("2/300", "1/150"), and any rounding to two or more
    significant digits (0.0067, 0.00667).
    """
    answer = _as_fraction(answer)
    value, problem = _number(answer, "set he_variance to a number (the variance, not the std)")
    if problem:
        return _report(False, problem)
    right = 2 / FAN_IN
    if _agrees(answer, right):
        return _report(True, f"Var(w) = 2/n_in = 2/{FAN_IN} ≈ {right:.4g} (std √(2/{FAN_IN}) ≈ {math.sqrt(right):.4g}): "
                             "n_in·Var(w)·E[relu(z)²] = n_in · 2/n_in · Var(z)/2 = Var(z), kept layer after layer")
    if value < 0:
        return _report(False, "a variance is never negative")
    if value == 0:
        return _report(False, "all-zero weights: every unit of the layer computes the same thing and gets the same "
                              "gradient, so they never become different (and nothing passes forward)")
    for wrong, hint in _variance_mistakes(FAN_IN, FAN_OUT):
        if _agrees(answer, wrong):
            return _report(False, hint)
    typed = _typed_digits(answer)
    if math.isclose(value, right, rel_tol=0.1) and typed is not None and typed[1] < 2:
        return _report(False, f"{value:g} is rounded to one significant digit; give two or more (2/n_in exactly, or "
                              "its first digits)")
    return _report(False, f"{value:g} is not it: write Var(z) = n_in·Var(w)·E[h²] for the layer's n_in = {FAN_IN} "
                          "inputs, with E[relu(z)²] = Var(z)/2, and choose Var(w) so that Var(z) stays the same")


# ---------------------------------------------------------------- exercise 2: He's uniform initialiser


def _run_quietly(fn, *args):
    """_call with the global generator forked and seeded: deterministic, and the learner's state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_GLOBAL_SEED)
        return _call(fn, *args)


def _draw(fn, shape, seed: int):
    """The learner's weights for ``shape`` from a generator seeded with ``seed``: (float64 tensor, None) or (None,
    a message)."""
    result, problem = _run_quietly(fn, shape, torch.Generator().manual_seed(seed))
    if problem:
        return None, problem
    if isinstance(result, torch.Tensor):
        result = result.detach()
    try:
        given = tuple(torch.as_tensor(result).shape)
    except Exception:
        given = None
    if given == tuple(reversed(shape)):
        return None, (f"your weights have shape {given}, transposed: nn.Linear({shape[1]}, {shape[0]}) stores its "
                      f"weight as (fan_out, fan_in) = {shape}, the shape passed in, so fan_in = shape[1]")
    out, problem = _tensor(result, shape, f"the weights for shape {shape}")
    if problem:
        return None, problem + " (the shape passed in)"
    if not torch.isfinite(out).all():
        return None, f"the weights for shape {shape} hold inf or NaN"
    return out, None


def _bound_mistakes(fan_in: int, fan_out: int) -> list[tuple[float, str]]:
    """(a wrong bound b of U(−b, b), the hint naming its mistake)."""
    return [
        (math.sqrt(6 / fan_out), "your bound is √(6/n_out): you used fan_out = shape[0]; fan_in is shape[1], the "
                                 "layer's inputs (nn.Linear's weight is (fan_out, fan_in))"),
        (math.sqrt(3 / fan_in), "your bound is √(3/n_in), the variance 1/n_in: the factor 2 for ReLU is missing "
                                "(b = √3 · √(2/n_in) = √(6/n_in))"),
        (math.sqrt(2 / fan_in), "your bound is √(2/n_in), He's std: U(−b, b) has variance b²/3, so that gives a third "
                                "of 2/n_in. Use b = √3 · std = √(6/n_in)"),
        (1 / math.sqrt(fan_in), "your bound is 1/√n_in, nn.Linear's default (variance 1/(3·n_in), six times too "
                                "small for ReLU): b = √(6/n_in)"),
        (math.sqrt(6 / (fan_in + fan_out)), "your bound is Xavier's √(6/(n_in + n_out)), made for tanh; ReLU needs "
                                            "b = √(6/n_in)"),
        (2 / fan_in, "your bound is 2/n_in, the VARIANCE: the bound is √3 times the std, √(6/n_in)"),
        (6 / fan_in, "your bound is 6/n_in: take its square root, b = √(6/n_in)"),
    ]


def _describe(out: torch.Tensor, fan_in: int, fan_out: int) -> str | None:
    """None when ``out`` looks like U(−√(6/fan_in), √(6/fan_in)); else a hint naming what it is."""
    bound = math.sqrt(6 / fan_in)
    # a variance estimated from N draws of a uniform is off by ~√(0.8/N) (2.8 % for 1 024): 5 of those, at least 5 %
    tolerance = max(0.05, 5 * math.sqrt(0.8 / out.numel()))
    top, low = out.abs().max().item(), out.min().item()
    variance = out.pow(2).mean().item()  # about the mean 0: a shifted draw shows here too
    if top == 0:
        return "your weights are all 0: every unit then computes the same thing and none ever differs from the others"
    if low >= 0:
        return ("all your weights are ≥ 0 (U(0, b)?): the draw must be centred on 0, U(−b, b): "
                "(torch.rand(...) * 2 − 1) * b")
    uniform = math.isclose(variance, top**2 / 3, rel_tol=tolerance)  # a normal draw's max is ~4.5 std, not √3
    if not uniform:
        if math.isclose(variance, 2 / fan_in, rel_tol=tolerance):
            return ("the variance 2/n_in is right, but the values are not uniform (a normal draw, kaiming_normal?): "
                    "the exercise asks for U(−b, b) with b = √(6/n_in)")
        return f"your weights are not uniform on (−b, b): variance {variance:.3g}, largest |w| {top:.3g}"
    for wrong, hint in _bound_mistakes(fan_in, fan_out):
        if math.isclose(top, wrong, rel_tol=0.01):
            return hint
    if not math.isclose(top, bound, rel_tol=0.01):
        return (f"your weights reach ±{top:.4g}; for shape ({fan_out}, {fan_in}) the bound is "
                f"√(6/fan_in) = √(6/{fan_in}) = {bound:.4g}")
    return None


@checker
@on_course_device
def check_he_uniform(fn) -> bool:
    """Exercise: ``he_uniform(shape, generator)``, the weights of a Linear layer followed by ReLU, drawn from
    U(−b, b) with b = √(6/fan_in) (variance 2/fan_in), fan_in = shape[1], using ``generator``.

    Any correct method passes (torch.rand stretched to (−b, b), Tensor.uniform_, torch's kaiming_uniform_ with
    nonlinearity="relu"); the weights must follow the shape passed in and come from the generator passed in.
    """
    for shape in ((FAN_OUT, FAN_IN), (64, 16)):
        out, problem = _draw(fn, shape, seed=0)
        if problem:
            return _report(False, problem)
        fan_out, fan_in = shape
        expected = torch.nn.init.kaiming_uniform_(torch.empty(shape), nonlinearity="relu",
                                                  generator=torch.Generator().manual_seed(0))
        if not torch.allclose(out, expected.double(), rtol=1e-5, atol=1e-6):
            hint = _describe(out, fan_in, fan_out)
            if hint:
                if shape != (FAN_OUT, FAN_IN):
                    hint += f" (for shape {shape}: does your bound follow the shape passed in?)"
                return _report(False, hint)
        again, _ = _draw(fn, shape, seed=0)
        if again is None or not torch.equal(again, out):
            return _report(False, "the same generator state gave other weights: draw them with generator=generator "
                                  "(e.g. torch.rand(shape, generator=generator))")
        other, _ = _draw(fn, shape, seed=1)
        if other is None or torch.equal(other, out):
            return _report(False, "another generator gave the same weights: draw them from the generator passed in "
                                  "(generator=generator), not from one of your own")
    bound = math.sqrt(6 / FAN_IN)
    return _report(True, f"U(−b, b) with b = √3 · √(2/n_in) = √(6/{FAN_IN}) ≈ {bound:.4f}: variance b²/3 = 2/n_in, "
                         "what torch.nn.init.kaiming_uniform_(w, nonlinearity='relu') draws")
