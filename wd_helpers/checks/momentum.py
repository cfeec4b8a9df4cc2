"""Checkers for the momentum notebook (03b)."""

import math

from .. import momentum
from ._report import _agrees, _number, _report, checker

# ---------------------------------------------------------------- exercise 1: Polyak's (α, β) for κ = 100

POLYAK_MU, POLYAK_L = 0.01, 1.0


def _pair(answer):
    """(alpha, beta) from a tuple / list / array / tensor of two numbers or a dict {'alpha', 'beta'}; or (None, why)."""
    if answer is None or answer is Ellipsis:
        return None, "set optimal_momentum to the pair (alpha, beta)"
    if isinstance(answer, dict):
        keys = {str(k).lower(): v for k, v in answer.items()}
        if {"alpha", "beta"} <= keys.keys():
            return (keys["alpha"], keys["beta"]), None
        return None, "a dict answer needs the keys 'alpha' and 'beta'"
    if isinstance(answer, str | bytes):
        return None, f"answer with two numbers, (alpha, beta), got {answer!r:.40}"
    try:
        values = list(answer.tolist() if hasattr(answer, "tolist") else answer)
    except TypeError:
        return None, f"answer with two numbers, (alpha, beta), got {type(answer).__name__}"
    if len(values) != 2:
        return None, f"answer with two numbers, (alpha, beta), got {len(values)} values"
    for value in values:
        _, problem = _number(value, f"got {value!r}")
        if problem:
            return None, f"(alpha, beta) must be two numbers: {problem}"
    return tuple(values), None


@checker
def check_optimal_momentum(answer) -> bool:
    """Exercise: Polyak's heavy ball for μ = 0.01, L = 1: α = (2/(√L + √μ))² ≈ 3.306, β = ((√κ−1)/(√κ+1))² ≈ 0.6694."""
    pair, problem = _pair(answer)
    if problem:
        return _report(False, problem)
    alpha, beta = pair
    right_alpha, right_beta, rate = momentum.momentum_optimum(POLYAK_MU, POLYAK_L)
    ok_alpha, ok_beta = _agrees(alpha, right_alpha), _agrees(beta, right_beta)
    if ok_alpha and ok_beta:
        return _report(True, f"α = (2/(√L + √μ))² = (2/1.1)² ≈ {right_alpha:.4g} and β = ((√κ − 1)/(√κ + 1))² = (9/11)² "
                             f"≈ {right_beta:.4g}: rate √β = 9/11 ≈ {rate:.4g} per step, against gradient descent's "
                             f"best 99/101 ≈ 0.9802")
    if _agrees(alpha, right_beta) and _agrees(beta, right_alpha):
        return _report(False, "the two numbers are swapped: the answer is (alpha, beta), the step first")
    if not ok_beta and _agrees(beta, rate):
        return _report(False, f"β = (√κ − 1)/(√κ + 1) = {rate:.4g} is the RATE; Polyak's β is its square, "
                              "((√κ − 1)/(√κ + 1))²")
    if not ok_alpha and _agrees(alpha, 2 / (POLYAK_L + POLYAK_MU)):
        return _report(False, "α = 2/(L + μ) is gradient descent's best step; heavy ball's is (2/(√L + √μ))²")
    if not ok_alpha and _agrees(alpha, 1 / POLYAK_L):
        return _report(False, "α = 1/L is the textbook safe step of gradient descent; heavy ball's best step is "
                              "(2/(√L + √μ))², larger than 2/L (momentum widens the stable range to 2(1 + β)/L)")
    if not ok_alpha and _agrees(alpha, 2 / (math.sqrt(POLYAK_L) + math.sqrt(POLYAK_MU)) ** 2):
        return _report(False, "α is half the right value: it is (2/(√L + √μ))², the 2 squared too (4/(√L + √μ)²)")
    if not ok_alpha and _agrees(alpha, 2 / (math.sqrt(POLYAK_L) + math.sqrt(POLYAK_MU))):
        return _report(False, "α = 2/(√L + √μ) is not squared: Polyak's step is (2/(√L + √μ))²")
    if ok_alpha:
        return _report(False, "α is right; β is not: β = ((√κ − 1)/(√κ + 1))² with κ = L/μ = 100")
    if ok_beta:
        return _report(False, "β is right; α is not: α = (2/(√L + √μ))² with L = 1, μ = 0.01")
    return _report(False, "neither number is it: α = (2/(√L + √μ))², β = ((√κ − 1)/(√κ + 1))², κ = L/μ")


# ---------------------------------------------------------------- exercise 2: the rate of an under-damped heavy ball

RATE_ALPHA, RATE_BETA, RATE_LAMS = 0.5, 0.81, (0.1, 1.0)


@checker
def check_momentum_rate(answer) -> bool:
    """Exercise: heavy ball, α = 0.5, β = 0.81, curvatures 0.1 and 1: both directions under-damped, rate √β = 0.9."""
    value, problem = _number(answer, "set momentum_rate to a number")
    if problem:
        return _report(False, problem)
    right = momentum.spectral_radius(RATE_ALPHA, RATE_BETA, list(RATE_LAMS))
    if _agrees(answer, right):
        return _report(True, "both directions are under-damped ((1 + β − αλ)² < 4β for λ = 0.1 and 1), so every "
                             f"eigenvalue has modulus √det R = √β = {right:.4g}, whatever α")
    gd = max(abs(1 - RATE_ALPHA * lam) for lam in RATE_LAMS)
    mistakes = [
        (RATE_BETA, "that is β itself: the eigenvalues' product is det R = β, so each of two complex ones has "
                    "modulus √β"),
        (gd, f"that is gradient descent's rate with the same step, max |1 − αλ| = {gd:g}: momentum changes it"),
        (1 - RATE_BETA, "1 − β is not a rate: under-damped, the modulus of each eigenvalue is √β"),
        (RATE_BETA**2, "β² is not it: the modulus of each eigenvalue is √β (their product is β)"),
    ]
    for wrong, hint in mistakes:
        if _agrees(answer, wrong):
            return _report(False, hint)
    if value >= 1:
        return _report(False, "a rate ≥ 1 would diverge; here 0.5·1 < 2(1 + 0.81), so it converges")
    return _report(False, f"{value:g} is not it: are the eigenvalues of R real or complex for each λ?")


# ---------------------------------------------------------------- exercise 3: the critical β

CRITICAL_ALPHA, CRITICAL_LAM = 0.1, 1.0


@checker
def check_critical_beta(answer) -> bool:
    """Exercise: α = 0.1, λ = 1: critically damped at β = (1 − √(αλ))² ≈ 0.4675."""
    value, problem = _number(answer, "set critical_beta to a number")
    if problem:
        return _report(False, problem)
    root = math.sqrt(CRITICAL_ALPHA * CRITICAL_LAM)
    right = (1 - root) ** 2
    if _agrees(answer, right):
        return _report(True, f"the discriminant (1 + β − αλ)² − 4β vanishes at β = (1 − √(αλ))² = {right:.4g}: a "
                             f"repeated eigenvalue 1 − √(αλ) = {1 - root:.4g}, the fastest approach without overshoot")
    mistakes = [
        (1 - root, "1 − √(αλ) is the repeated eigenvalue; the critical β is its square, (1 − √(αλ))²"),
        ((1 + root) ** 2, "(1 + √(αλ))² is the other root of the discriminant, above 1: no momentum β can be ≥ 1"),
        ((1 - CRITICAL_ALPHA * CRITICAL_LAM) ** 2, "(1 − αλ)² squares 1 − αλ; the discriminant vanishes at "
                                                   "β = (1 − √(αλ))², with a square root of αλ"),
        (root, "√(αλ) is not it: solve (1 + β − αλ)² = 4β for β"),
    ]
    for wrong, hint in mistakes:
        if _agrees(answer, wrong):
            return _report(False, hint)
    regime = momentum.damping(CRITICAL_ALPHA, value, CRITICAL_LAM) if 0 <= value < 1 else None
    if regime:
        return _report(False, f"at β = {value:g} the direction is {regime}: solve (1 + β − αλ)² = 4β for β")
    return _report(False, "β must be in [0, 1): solve (1 + β − αλ)² = 4β for β")
