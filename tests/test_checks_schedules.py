"""Checkers of notebook 03c (schedules and stochastic gradients): right answers, named mistakes and garbage."""

import math

import numpy as np
import pytest
import torch

from wd_helpers.checks import check_cosine_schedule, check_lowest_floor, check_scaled_lr
from wd_helpers.checks.schedules import FLOOR_CHOICES
from wd_helpers.schedules import cosine_lr

# ---------------------------------------------------------------- exercise 1: the cosine schedule


def _right(step, lr, T_max, eta_min):
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2


def _raises(step, lr, T_max, eta_min):
    raise RuntimeError("not finished")


COSINES = [  # (the learner's function, verdict, a phrase the hint must contain)
    (_right, True, "as torch's CosineAnnealingLR"),
    (lambda step, lr, T_max, eta_min: cosine_lr(step, lr, T_max=T_max, eta_min=eta_min), True, "CosineAnnealingLR"),
    (lambda step, lr, T_max, eta_min: eta_min + 0.5 * (lr - eta_min) * (1 + np.cos(np.pi * step / T_max)), True,
     "CosineAnnealingLR"),  # numpy
    (lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * (1 + torch.cos(torch.tensor(math.pi * step / T_max)))
     / 2, True, "CosineAnnealingLR"),  # a float32 0-d tensor
    (lambda step, lr, T_max, eta_min: _right(min(step, T_max), lr, T_max, eta_min), True, "CosineAnnealingLR"),  # clamped
    (lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * math.cos(math.pi * step / (2 * T_max)) ** 2, True,
     "CosineAnnealingLR"),  # (1 + cos 2x)/2 = cos² x: the same numbers
    (lambda step, lr, T_max, eta_min: torch.tensor([_right(step, lr, T_max, eta_min)]), True, "CosineAnnealingLR"),
    (lambda step, lr, T_max, eta_min: _right(step, lr, T_max + 1, eta_min), False, "T_max + 1"),
    (lambda step, lr, T_max, eta_min: _right(step, lr, T_max - 1, eta_min), False, "T_max − 1"),
    (lambda step, lr, T_max, eta_min: _right(step + 1, lr, T_max, eta_min), False, "counted from 1"),
    (lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * (1 + math.cos(180 * step / T_max)) / 2, False,
     "degrees"),
    (lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * (1 + math.cos(math.radians(math.pi * step / T_max)))
     / 2, False, "math.radians"),
    (lambda step, lr, T_max, eta_min: _right(step, lr, T_max, 0.0), False, "forgot eta_min"),
    (lambda step, lr, T_max, eta_min: eta_min + _right(step, lr, T_max, 0.0), False, "starts at lr + eta_min"),
    (lambda step, lr, T_max, eta_min: _right(2 * step, lr, T_max, eta_min), False, "whole cosine period"),
    (lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * (1 + math.cos(math.pi * step / T_max)), False,
     "halve it"),
    (lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * (1 - math.cos(math.pi * step / T_max)) / 2, False,
     "rises"),
    (lambda step, lr, T_max, eta_min: _right(step, eta_min, T_max, lr), False, "swapped"),  # the same numbers as 1 − cos
    (lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * (1 - step / T_max), False, "straight line"),
    (lambda step, lr, T_max, eta_min: _right(step, lr, T_max, eta_min) / lr, False, "the factor LambdaLR"),
    (lambda step, lr, T_max, eta_min: (1 + math.cos(math.pi * step / T_max)) / 2, False, "factor (1 + cos)/2 alone"),
    (lambda step, lr, T_max, eta_min: 0.9 * _right(step, lr, T_max, eta_min), False, "expected"),  # no named mistake
    (lambda step, lr, T_max, eta_min: [_right(step, lr, T_max, eta_min)] * 2, False, "one number"),
    (lambda step, lr, T_max, eta_min: "fast", False, "one number"),
    (lambda step, lr, T_max, eta_min: float("nan"), False, "one number"),
    (lambda step, lr, T_max, eta_min: None, False, "returns nothing"),
    (lambda step, lr, T_max, eta_min: ..., False, "returns nothing"),
    (_raises, False, "raised RuntimeError"),
    (lambda step: step, False, "raised TypeError"),  # the wrong number of parameters
    (None, False, "pass a function"),
    ("cosine", False, "pass a function"),
    (0.1, False, "pass a function"),
]


@pytest.mark.parametrize("fn, verdict, phrase", COSINES)
def test_cosine_schedule_checker(fn, verdict, phrase, capsys):
    assert check_cosine_schedule(fn) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out
    assert out.startswith("✓" if verdict else "✗")


# ---------------------------------------------------------------- exercise 2: the lowest noise floor

FLOORS = [  # (answer, verdict, phrase)
    ("b", True, "grows as η/B"),
    ("B", True, "grows as η/B"),
    (" (b) ", True, "grows as η/B"),
    ('"b"', True, "grows as η/B"),
    ((0.02, 8), True, "grows as η/B"),  # the pair itself, either order
    ([8, 0.02], True, "grows as η/B"),
    ((np.float64(0.02), torch.tensor(8)), True, "grows as η/B"),
    ("a", False, "smallest η"),
    ((0.005, 1), False, "smallest η"),
    ("c", False, "largest batch"),
    ("d", False, "twice the lowest"),
    ("e", False, "not one of the letters"),
    ("b and c", False, "not one of the letters"),
    ((0.02, 16), False, "not one of the pairs"),
    ((True, 8), False, "one letter"),
    (["b"], False, "one letter"),
    (2, False, "one letter"),
    (None, False, "set lowest_floor"),
    (..., False, "set lowest_floor"),
]


@pytest.mark.parametrize("answer, verdict, phrase", FLOORS)
def test_lowest_floor_checker(answer, verdict, phrase, capsys):
    assert check_lowest_floor(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_the_lowest_floor_is_the_measured_one():
    # the answer key by measurement, on the notebook's data: minibatch SGD's loss above the minimum, 8 seeds
    from wd_helpers.data import synthetic_regression
    from wd_helpers.schedules import sgd_least_squares

    data = synthetic_regression(n_train=1000, n_test=1, num_inputs=10, true_w_value=1.0, true_b=0.0, noise=0.5,
                                generator=torch.Generator().manual_seed(0))
    X, y = data.X_train.double(), data.y_train.double()
    best = ((X @ torch.linalg.lstsq(X, y).solution - y) ** 2).mean().item()
    floors = {letter: sgd_least_squares(X, y, lr=lr, batch_size=b, num_steps=3000, num_runs=8)[:, 1500:].mean().item()
              - best for letter, (lr, b) in FLOOR_CHOICES.items()}
    assert min(floors, key=floors.get) == "b"
    assert floors["c"] > 1.1 * floors["b"]  # the runner-up is clearly behind, not a tie decided by noise


# ---------------------------------------------------------------- exercise 3: the linear scaling rule, 16 → 128

SCALED = [  # (answer, verdict, phrase); η = 0.01 at B = 16 becomes 0.08 at B = 128
    (0.08, True, "η grows 8×"),
    (0.01 * 128 / 16, True, "η grows 8×"),
    ("0.08", True, "η grows 8×"),
    ("8/100", True, "η grows 8×"),
    (np.float32(0.08), True, "η grows 8×"),
    (torch.tensor(0.08), True, "η grows 8×"),
    (8e-2, True, "η grows 8×"),
    (0.01, False, "old η"),
    (0.0283, False, "square-root rule"),
    (0.01 * math.sqrt(8), False, "square-root rule"),
    (0.00125, False, "you divided"),
    (0.02, False, "η doubled"),
    (0.1, False, "not it"),
    (0.09, False, "not it"),
    (0.0, False, "positive"),
    (-0.08, False, "positive"),
    (None, False, "set scaled_lr"),
    (..., False, "set scaled_lr"),
    ("eight hundredths", False, "answer with a number"),
    ([0.08], False, "answer with a number"),
    (float("nan"), False, "finite"),
    (True, False, "answer with a number"),
]


@pytest.mark.parametrize("answer, verdict, phrase", SCALED)
def test_scaled_lr_checker(answer, verdict, phrase, capsys):
    assert check_scaled_lr(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out
