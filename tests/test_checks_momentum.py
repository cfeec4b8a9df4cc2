"""Checkers of notebook 03b (why momentum works): right answers in every form, named mistakes, garbage."""

import math

import numpy as np
import pytest
import torch

from wd_helpers.checks import check_critical_beta, check_momentum_rate, check_optimal_momentum

ALPHA, BETA = (2 / 1.1) ** 2, (9 / 11) ** 2  # μ = 0.01, L = 1

OPTIMAL = [  # (answer, verdict, a phrase the printed line must contain)
    ((ALPHA, BETA), True, "rate √β = 9/11"),
    ([3.306, 0.6694], True, "rate"),  # rounded as the notebook prints (4 significant digits)
    ((3.31, 0.67), True, "rate"),  # 3 and 2 significant digits
    (np.array([ALPHA, BETA]), True, "rate"),
    (torch.tensor([ALPHA, BETA]), True, "rate"),  # float32
    ({"alpha": 3.306, "beta": 0.6694}, True, "rate"),
    ({"Alpha": ALPHA, "Beta": BETA}, True, "rate"),
    ((BETA, ALPHA), False, "swapped"),
    ((ALPHA, 9 / 11), False, "is the RATE"),
    ((ALPHA, 0.818), False, "is the RATE"),
    ((2 / 1.01, BETA), False, "gradient descent's best step"),
    ((1.0, BETA), False, "safe step"),
    ((ALPHA / 2, BETA), False, "half the right value"),
    ((2 / 1.1, BETA), False, "not squared"),
    ((ALPHA, 0.5), False, "α is right; β is not"),
    ((2.5, BETA), False, "β is right; α is not"),
    ((1.0, 0.9), False, "safe step"),
    ((5.0, 0.1), False, "neither number"),
    ((3.3, 0.7), False, "α is right; β is not"),  # 3.3 is α to 2 digits; 0.7 has one digit: not taken as β
    (None, False, "set optimal_momentum"),
    (..., False, "set optimal_momentum"),
    ("3.3, 0.67", False, "two numbers"),
    ((ALPHA,), False, "got 1 values"),
    ((ALPHA, BETA, 0.8), False, "got 3 values"),
    ((ALPHA, None), False, "two numbers"),
    ((ALPHA, math.nan), False, "finite"),
    ({"a": 1}, False, "keys 'alpha' and 'beta'"),
    (3.3, False, "two numbers"),
    ((True, False), False, "two numbers"),
]


@pytest.mark.parametrize("answer, verdict, phrase", OPTIMAL)
def test_optimal_momentum_checker(answer, verdict, phrase, capsys):
    assert check_optimal_momentum(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


RATES = [
    (0.9, True, "√β = 0.9"),
    (math.sqrt(0.81), True, "whatever α"),
    ("0.9", True, "whatever α"),
    (np.float32(0.9), True, "whatever α"),
    (torch.tensor(0.9), True, "whatever α"),
    (0.81, False, "β itself"),
    (0.95, False, "gradient descent's rate"),
    (0.19, False, "1 − β"),
    (0.6561, False, "β²"),
    (1.2, False, "would diverge"),
    (0.5, False, "real or complex"),
    (None, False, "set momentum_rate"),
    (..., False, "set momentum_rate"),
    ("fast", False, "a number"),
    ([0.9, 0.9], False, "a number"),
    (True, False, "a number"),
    (math.inf, False, "finite"),
]


@pytest.mark.parametrize("answer, verdict, phrase", RATES)
def test_momentum_rate_checker(answer, verdict, phrase, capsys):
    assert check_momentum_rate(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


CRITICAL = [
    ((1 - math.sqrt(0.1)) ** 2, True, "repeated eigenvalue"),
    (0.4675, True, "repeated eigenvalue"),  # as the notebook prints it
    (0.47, True, "repeated eigenvalue"),  # two significant digits
    ("0.4675", True, "repeated"),
    (1 - math.sqrt(0.1), False, "its square"),
    (0.684, False, "its square"),
    ((1 + math.sqrt(0.1)) ** 2, False, "other root"),
    (0.81, False, "(1 − αλ)²"),
    (math.sqrt(0.1), False, "√(αλ) is not it"),
    (0.2, False, "over-damped"),
    (0.8, False, "under-damped"),
    (1.5, False, "[0, 1)"),
    (-0.1, False, "[0, 1)"),
    (0.5, False, "under-damped"),  # 0.5 is one digit from 0.4675: not a rounding of it
    (None, False, "set critical_beta"),
    (object(), False, "a number"),
    (torch.ones(3), False, "a number"),
]


@pytest.mark.parametrize("answer, verdict, phrase", CRITICAL)
def test_critical_beta_checker(answer, verdict, phrase, capsys):
    assert check_critical_beta(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out
