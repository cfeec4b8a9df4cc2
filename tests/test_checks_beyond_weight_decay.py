"""Checkers of notebook 04b (beyond weight decay): right answers in every form, named mistakes, garbage."""

import math

import numpy as np
import pytest
import torch

from wd_helpers.checks import check_adamw_shrink, check_outside_shrink, check_summed_lambda

SUMMED = [  # (answer, verdict, a phrase the printed line must contain)
    (5.0, True, "η/500"),
    (5, True, "η/500"),
    ("5", True, "η/500"),
    (np.float32(5.0), True, "η/500"),
    (torch.tensor(5.0), True, "η/500"),
    (0.01 * 500, True, "η/500"),
    (0.01, False, "old λ"),
    (0.01 / 500, False, "divided by n"),
    (2e-05, False, "divided by n"),
    (0.01 * math.sqrt(500), False, "√n"),
    (0.001, False, "decay per step"),
    (-5, False, "positive"),
    (50, False, "by what factor"),
    (None, False, "set summed_lambda"),
    (..., False, "set summed_lambda"),
    ("five", False, "a number"),
    ([5.0], False, "a number"),
    (True, False, "a number"),
    (math.nan, False, "finite"),
]

SHRINK = [
    ((1 - 0.003) ** 400, True, "orthogonal part"),
    (0.3007, True, "orthogonal part"),  # as printed with 4 digits
    ("0.30", True, "orthogonal part"),  # 2 significant digits (typed as text: the float 0.30 is 0.3)
    (0.3, False, "right to one digit: give three (0.301)"),  # one digit: not taken as a rounding
    (0.997 ** 400, True, "orthogonal part"),
    (1.0, False, "ALL of w"),
    (1, False, "ALL of w"),
    (0.997 ** 100, False, "4 steps"),
    (0.7405, False, "4 steps"),
    (-0.2, False, "multiply"),
    (math.exp(-0.3), False, "4 steps"),
    (0.997, False, "one step's factor"),
    (0.003, False, "how much one step removes"),
    (math.exp(-1.2), False, "continuous approximation"),
    (0.3012, False, "continuous approximation"),
    (0.5, False, "how many steps"),
    (1.5, False, "between 0 and 1"),
    (None, False, "set outside_shrink"),
    ({}, False, "a number"),
]

ADAMW = [
    ((1 - 1e-5) ** 10_000, True, "1 − lr·λ"),
    (0.9048, True, "1 − lr·λ"),
    (0.905, True, "1 − lr·λ"),
    (math.exp(-0.1), True, "1 − lr·λ"),  # equal to 7 digits: either form
    ("0.90", True, "1 − lr·λ"),
    (0.99 ** 10_000, False, "1 − λ per step"),
    (2.2e-44, False, "1 − λ per step"),
    (0.9, False, "if you rounded 0.9048, give three digits"),
    (1 - 1e-5, False, "one step"),
    (1.0, False, "decoupled decay"),
    (0.0952, False, "fraction removed"),
    (0.5, False, "one AdamW step"),
    (None, False, "set adamw_left"),
    (object(), False, "a number"),
    (torch.ones(2), False, "a number"),
]


@pytest.mark.parametrize("answer, verdict, phrase", SUMMED)
def test_summed_lambda_checker(answer, verdict, phrase, capsys):
    assert check_summed_lambda(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


@pytest.mark.parametrize("answer, verdict, phrase", SHRINK)
def test_outside_shrink_checker(answer, verdict, phrase, capsys):
    assert check_outside_shrink(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


@pytest.mark.parametrize("answer, verdict, phrase", ADAMW)
def test_adamw_shrink_checker(answer, verdict, phrase, capsys):
    assert check_adamw_shrink(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out
