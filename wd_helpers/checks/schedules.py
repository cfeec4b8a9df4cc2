"""Checkers for the schedules and stochastic-gradients notebook (03c)."""

import math

from .. import schedules
from ..device import on_course_device
from ._report import _as_fraction, _agrees, _call, _number, _report, checker

# ---------------------------------------------------------------- exercise 1: write the cosine schedule

# (lr, T_max, eta_min) the learner's function is called with, at every step 0..T_max. eta_min > 0 in two of them, so
# that forgetting it shows; T_max differs, so that a hard-coded period shows. Steps past T_max are not asked for:
# a schedule that stays at eta_min there (min(step, T_max)) is as right as torch's, which climbs back up.
_COSINE_PROBES = ((0.1, 10, 0.01), (1.0, 7, 0.0), (0.5, 20, 0.05))


_COSINE_MISTAKES = [  # (a wrong schedule (t, lr, T, m) -> rate, the hint naming its mistake)
    (lambda t, lr, T, m: m + (lr - m) * (1 + math.cos(math.pi * t / (T + 1))) / 2,
     "the period is off by one: you divide by T_max + 1, so the rate has not reached eta_min at t = T_max; the "
     "angle is π·step/T_max"),
    (lambda t, lr, T, m: m + (lr - m) * (1 + math.cos(math.pi * t / (T - 1))) / 2,
     "the period is off by one: you divide by T_max − 1, so the rate reaches eta_min one step early (and climbs "
     "back at t = T_max); the angle is π·step/T_max"),
    (lambda t, lr, T, m: m + (lr - m) * (1 + math.cos(math.pi * (t + 1) / T)) / 2,
     "your steps are counted from 1: at step 0 the rate must be lr itself (cos 0 = 1); use π·step/T_max"),
    (lambda t, lr, T, m: m + (lr - m) * (1 + math.cos(180 * t / T)) / 2,
     "you wrote the angle in degrees (180·step/T_max), but math.cos and torch.cos take radians: use π·step/T_max"),
    (lambda t, lr, T, m: m + (lr - m) * (1 + math.cos(math.radians(math.pi * t / T))) / 2,
     "math.radians turned your angle, already in radians (π·step/T_max), into a far smaller one: drop it"),
    (lambda t, lr, T, m: lr * (1 + math.cos(math.pi * t / T)) / 2,
     "you forgot eta_min: the rate must end at eta_min, not 0: eta_min + (lr − eta_min)·(1 + cos(π·step/T_max))/2"),
    (lambda t, lr, T, m: m + lr * (1 + math.cos(math.pi * t / T)) / 2,
     "eta_min is added on top of the whole cosine, so the rate starts at lr + eta_min: the cosine part must span "
     "lr − eta_min"),
    (lambda t, lr, T, m: m + (lr - m) * (1 + math.cos(2 * math.pi * t / T)) / 2,
     "that is a whole cosine period per T_max (it comes back to lr at T_max): annealing uses half a period, "
     "π·step/T_max"),
    (lambda t, lr, T, m: m + (lr - m) * (1 + math.cos(math.pi * t / T)),
     "the factor (1 + cos) runs from 2 to 0: halve it, so that the rate starts at lr"),
    (lambda t, lr, T, m: m + (lr - m) * (1 - math.cos(math.pi * t / T)) / 2,  # = lr and eta_min swapped
     "your schedule rises from eta_min to lr (1 − cos, or lr and eta_min swapped): annealing starts at lr and goes "
     "down, eta_min + (lr − eta_min)·(1 + cos(π·step/T_max))/2"),
    (lambda t, lr, T, m: m + (lr - m) * (1 - t / T),
     "that is a straight line from lr to eta_min; the cosine schedule follows (1 + cos(π·step/T_max))/2"),
    (lambda t, lr, T, m: m / lr + (1 - m / lr) * (1 + math.cos(math.pi * t / T)) / 2,
     "that is the factor LambdaLR multiplies lr by; the exercise asks for the rate itself: multiply by lr"),
    (lambda t, lr, T, m: (1 + math.cos(math.pi * t / T)) / 2,
     "that is the factor (1 + cos)/2 alone: the rate is eta_min + (lr − eta_min) times it"),
]


def _probes():
    return [(step, lr, T_max, eta_min) for lr, T_max, eta_min in _COSINE_PROBES for step in range(T_max + 1)]


def _rule_rates(rule) -> list[float]:
    """``rule(step, lr, T_max, eta_min)`` at every probe."""
    return [rule(*probe) for probe in _probes()]


def _learner_rates(fn) -> tuple[list[float] | None, str | None]:
    """The learner's ``fn(step, lr, T_max, eta_min)`` at every probe, as floats; or (None, what went wrong)."""
    rates = []
    for probe in _probes():
        result, problem = _call(fn, *probe)
        if problem:
            return None, problem
        value, problem = _number(result, "")
        if problem:
            return None, f"cosine_lr{probe} should return one number, the rate; got {result!r:.60}"
        rates.append(value)
    return rates, None


def _same(a: list[float], b: list[float]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-8) for x, y in zip(a, b))  # float32 answers pass


@checker
@on_course_device
def check_cosine_schedule(fn) -> bool:
    """Exercise: cosine_lr(step, lr, T_max, eta_min) = eta_min + (lr − eta_min)·(1 + cos(π·step/T_max))/2.

    Checked at every step 0..T_max of three settings against ``wd_helpers.schedules.cosine_lr`` (torch's
    CosineAnnealingLR); any function giving those numbers is accepted (math or torch, float32 or float64).
    """
    got, problem = _learner_rates(fn)
    if problem:
        return _report(False, problem)
    right = _rule_rates(lambda t, lr, T, m: schedules.cosine_lr(t, lr, T_max=T, eta_min=m))
    if _same(got, right):
        return _report(True, "eta_min + (lr − eta_min)·(1 + cos(π·step/T_max))/2: lr at step 0, eta_min at T_max, "
                             "as torch's CosineAnnealingLR")
    for rule, hint in _COSINE_MISTAKES:
        if _same(got, _rule_rates(rule)):
            return _report(False, hint)
    first = next(i for i, (a, b) in enumerate(zip(got, right)) if not _same([a], [b]))
    return _report(False, f"cosine_lr{_probes()[first]} gave {got[first]:.6g}, expected {right[first]:.6g} "
                          "= eta_min + (lr − eta_min)·(1 + cos(π·step/T_max))/2")


# ---------------------------------------------------------------- exercise 2: which pair has the lower noise floor

FLOOR_CHOICES = {  # letter → (lr, batch_size); the floor above the minimum grows as lr/batch_size (section 1)
    "a": (0.005, 1),
    "b": (0.02, 8),
    "c": (0.1, 32),
    "d": (0.01, 2),
}
_FLOOR_HINTS = {
    "a": "it has the smallest η, but a batch of 1: the floor grows as η/B, and 0.005/1 = 0.005 is twice the lowest",
    "c": "it has the largest batch, but also the largest η: the floor grows as η/B, and 0.1/32 ≈ 0.0031 is more "
         "than the lowest",
    "d": "0.01/2 = 0.005, twice the lowest: the floor grows as η/B; compare η/B for every pair",
}


def _floor_choice(answer):
    """The letter the learner meant, or (None, a hint about the form of the answer)."""
    if answer is None or answer is Ellipsis:
        return None, 'set lowest_floor to one letter, e.g. "a"'
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and not any(isinstance(v, (bool, str)) for v in answer):
        numbers = [_number(v, "")[0] for v in answer]
        if None not in numbers:
            for letter, (lr, batch_size) in FLOOR_CHOICES.items():
                if sorted(numbers) == sorted([lr, float(batch_size)]):
                    return letter, None
            return None, f"{tuple(answer)} is not one of the pairs (lr, batch_size): {FLOOR_CHOICES}"
    if not isinstance(answer, str):
        return None, f'answer with one letter, as a string (e.g. "a"), got {type(answer).__name__}'
    key = answer.strip().strip("\"'()").strip().lower()
    if key in FLOOR_CHOICES:
        return key, None
    return None, f"{answer.strip()!r} is not one of the letters {sorted(FLOOR_CHOICES)}"


@checker
def check_lowest_floor(answer) -> bool:
    """Exercise: of FLOOR_CHOICES, which (lr, batch_size) pair gives SGD the lowest noise floor? Answer: "b"."""
    letter, problem = _floor_choice(answer)
    if problem:
        return _report(False, problem)
    ratios = ", ".join(f"{k}: {lr / b:.4g}" for k, (lr, b) in FLOOR_CHOICES.items())
    best = min(FLOOR_CHOICES, key=lambda k: FLOOR_CHOICES[k][0] / FLOOR_CHOICES[k][1])
    if letter == best:
        return _report(True, f"the floor above the minimum grows as η/B: {ratios}. The formula is for small steps: "
                             "c (η = 0.1) already sits about 10 % above it, since ηλ_max ≈ 0.1 is not tiny; b stays "
                             "the lowest when measured")
    return _report(False, f"not {letter}: {_FLOOR_HINTS[letter]}")


# ---------------------------------------------------------------- exercise 3: the linear scaling rule

SCALING_LR, SCALING_BATCH, SCALING_NEW_BATCH = 0.01, 16, 128  # a run at η = 0.01, B = 16, moved to B = 128


@checker
def check_scaled_lr(answer) -> bool:
    """Exercise: SGD runs well at η = 0.01 with B = 16; by the linear scaling rule, which η for B = 128? 0.08."""
    answer = _as_fraction(answer)
    value, problem = _number(answer, "set scaled_lr to a number")
    if problem:
        return _report(False, problem)
    k = SCALING_NEW_BATCH / SCALING_BATCH
    right = SCALING_LR * k
    if _agrees(answer, right):
        return _report(True, f"B grows {k:g}×, so η grows {k:g}×: {SCALING_LR:g}·{k:g} = {right:g}. One step with "
                             f"the big batch then moves about as far as {k:g} small steps, and η/B, which sets the "
                             "noise floor, stays the same")
    if value <= 0:
        return _report(False, "a learning rate is positive")
    mistakes = [
        (SCALING_LR, f"that is the old η: with {k:g}× the batch and the same η, a step moves about as far as one small "
                     f"step, but an epoch has {k:g}× fewer steps, so the run falls behind"),
        (SCALING_LR * math.sqrt(k), f"that is the square-root rule, η·√{k:g}: it keeps the gradient noise per step "
                                    "the same, and is sometimes used with Adam; the LINEAR scaling rule for SGD "
                                    f"multiplies η by B_new/B_old = {k:g}"),
        (SCALING_LR / k, "you divided: a bigger batch averages away noise, so it can take a LARGER step; multiply η "
                         f"by B_new/B_old = {k:g}"),
        (SCALING_LR * 2, f"that is η doubled, for a batch doubled; here the batch grows from {SCALING_BATCH} to "
                         f"{SCALING_NEW_BATCH}, {k:g}×"),
    ]
    for wrong, hint in mistakes:
        if _agrees(answer, wrong):
            return _report(False, hint)
    return _report(False, f"η = {value:g} is not it: scale η by the same factor as the batch size")
