"""Checkers of notebook 03 (optimizers): a table per checker of right answers, named mistakes and garbage."""

import numpy as np
import pytest
import torch

import wd_helpers.optim
from wd_helpers.checks import check_fastest_optimizer, check_largest_stable_lr, check_momentum_step

# ---------------------------------------------------------------- exercise 1: one momentum step


def _right(x, v, g, lr, beta):
    v = beta * v + g
    return x - lr * v, v


def _in_place(x, v, g, lr, beta):
    v.mul_(beta).add_(g)
    x.sub_(lr * v)
    return x, v


def _raises(x, v, g, lr, beta):
    raise RuntimeError("not finished")


MOMENTUM_STEPS = [  # (the learner's function, verdict, a phrase the hint must contain)
    (_right, True, "v ← βv + g"),
    (_in_place, True, "v ← βv + g"),
    (lambda x, v, g, lr, beta: [x - lr * (beta * v + g), beta * v + g], True, "v ← βv + g"),  # a list
    (lambda x, v, g, lr, beta: tuple(t.numpy() for t in _right(x, v, g, lr, beta)), True, "v ← βv + g"),  # numpy
    (lambda x, v, g, lr, beta: (x - lr * v, beta * v + g), False, "old velocity"),
    (lambda x, v, g, lr, beta: _right(x, v, g, lr, beta)[::-1], False, "swapped"),
    (lambda x, v, g, lr, beta: (x + lr * (beta * v + g), beta * v + g), False, "uphill"),
    (lambda x, v, g, lr, beta: (x - lr * (beta * v + (1 - beta) * g), beta * v + (1 - beta) * g), False, "dampening"),
    (lambda x, v, g, lr, beta: (x - (beta * v + (1 - beta) * lr * g), beta * v + (1 - beta) * lr * g), False,
     "dampening"),  # dampening with η inside the velocity
    (lambda x, v, g, lr, beta: (x - lr * g, v), False, "plain gradient-descent step"),  # v unchanged
    (lambda x, v, g, lr, beta: (x - lr * g, g), False, "plain gradient-descent step"),  # v = g
    (lambda x, v, g, lr, beta: (x + (beta * v - lr * g), beta * v - lr * g), False, "Sutskever form"),
    (lambda x, v, g, lr, beta: (x - lr * (g + beta * (beta * v + g)), beta * v + g), False, "Nesterov"),
    (lambda x, v, g, lr, beta: (x - (beta * v + lr * g), beta * v + lr * g), False, "holds η·g"),
    (lambda x, v, g, lr, beta: (x - lr * (v + g), v + g), False, "forgot β"),
    (lambda x, v, g, lr, beta: (x - (beta * v + g), beta * v + g), False, "forgot η"),
    (lambda x, v, g, lr, beta: (x - 2 * lr * (beta * v + g), beta * v + g), False, "new_x should be"),
    # a right step in a coarser float: accepted, to that precision (not "new_x should be x − η·new_v")
    (lambda x, v, g, lr, beta: (_right(x, v, g, lr, beta)[0].bfloat16(), _right(x, v, g, lr, beta)[1]), True,
     "precision of bfloat16"),
    (lambda x, v, g, lr, beta: tuple(t.half() for t in _right(x, v, g, lr, beta)), True, "precision of float16"),
    (lambda x, v, g, lr, beta: tuple(t.double() for t in _right(x, v, g, lr, beta)), True, "dampening 0"),
    # a wrong step in bfloat16 is still wrong
    (lambda x, v, g, lr, beta: ((x - lr * g).bfloat16(), (beta * v + g).bfloat16()), False, "plain gradient-descent"),
    # complex results: refused, naming it (no torch warning about discarded imaginary parts)
    (lambda x, v, g, lr, beta: tuple(t.to(torch.complex64) for t in _right(x, v, g, lr, beta)), False,
     "new_x is complex"),
    (lambda x, v, g, lr, beta: (_right(x, v, g, lr, beta)[0], _right(x, v, g, lr, beta)[1] + 0j), False,
     "new_v is complex"),
    (lambda x, v, g, lr, beta: (x.flatten() - lr * (beta * v + g).flatten(), beta * v + g), False, "shape (2, 3)"),
    (lambda x, v, g, lr, beta: (x - lr * (beta * v + g), (beta * v + g).sum()), False, "new_v should have shape"),
    (lambda x, v, g, lr, beta: x - lr * (beta * v + g), False, "return two things"),
    (lambda x, v, g, lr, beta: (x, v, g), False, "return two things"),
    (lambda x, v, g, lr, beta: ("x", "v"), False, "new_x should be a tensor"),
    (lambda x, v, g, lr, beta: None, False, "returns nothing"),
    (lambda x, v, g, lr, beta: ..., False, "returns nothing"),
    (_raises, False, "raised RuntimeError"),
    (lambda x: x, False, "raised TypeError"),  # wrong number of parameters
    (None, False, "pass a function"),
    ("momentum", False, "pass a function"),
]


@pytest.mark.parametrize("fn, verdict, phrase", MOMENTUM_STEPS)
@pytest.mark.filterwarnings("error::UserWarning")  # e.g. "Casting complex values to real discards the imaginary part"
def test_momentum_step_checker(fn, verdict, phrase, capsys):
    assert check_momentum_step(fn) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out
    assert out.startswith("✓" if verdict else "✗")


# ---------------------------------------------------------------- exercise 2: the bound on η for f = 3x²

STABLE_LRS = [  # (answer, verdict, a phrase the hint must contain); f = 3x², L = f'' = 6, bound 2/L = 1/3
    (1 / 3, True, "2/L"),
    (2 / 6, True, "2/L"),
    (0.33, True, "2/L"),  # rounded as a learner types it
    (0.333, True, "2/L"),
    (0.3333, True, "2/L"),
    ("1/3", True, "2/L"),  # a fraction typed as a string
    (" 0.33 ", True, "2/L"),
    (np.float64(1 / 3), True, "2/L"),
    (torch.tensor(1 / 3), True, "2/L"),
    (torch.tensor(0.33), True, "2/L"),  # float32: 0.33 is stored as 0.33000001311…, still typed as 0.33
    (np.float32(0.33), True, "2/L"),
    (np.float32(0.333), True, "2/L"),
    (np.float16(0.33), True, "2/L"),
    (torch.tensor([0.33]), True, "2/L"),
    (torch.tensor(0.33, dtype=torch.float16), True, "2/L"),
    (torch.tensor(0.3), False, "one significant digit"),  # float32 roundings still say what was typed
    (np.float32(0.34), False, "just above"),
    (np.float32(0.32), False, "still converges"),
    (0.3, False, "one significant digit"),
    (0.32, False, "still converges"),
    (0.25, False, "still converges"),
    (0.34, False, "just above"),
    (0.334, False, "just above"),
    (1 / 6, False, "1/L"),
    (0.17, False, "1/L"),
    (2 / 3, False, "coefficient 3"),
    (0.67, False, "coefficient 3"),
    (0.0, False, "positive"),
    (-1 / 3, False, "positive"),
    (2.0, False, "above the bound"),
    (0.05, False, "still converges"),
    (..., False, "set largest_stable_lr"),
    (None, False, "set largest_stable_lr"),
    ("a third", False, "answer with a number"),
    ("1/0", False, "answer with a number"),
    ([1 / 3], False, "answer with a number"),
    (float("nan"), False, "finite"),
    (float("inf"), False, "finite"),
    (True, False, "answer with a number"),
]


@pytest.mark.parametrize("answer, verdict, phrase", STABLE_LRS)
def test_largest_stable_lr_checker(answer, verdict, phrase, capsys):
    assert check_largest_stable_lr(answer, curvature=6.0) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_largest_stable_lr_checker_follows_the_curvature(capsys):
    assert check_largest_stable_lr(0.5, curvature=4.0)
    assert not check_largest_stable_lr(1 / 3, curvature=4.0)


# ---------------------------------------------------------------- exercise 3: the race


def _winner():
    from wd_helpers.checks.optimizers import _race

    first = _race()
    return min(first, key=first.get)


def test_the_race_has_one_winner_and_it_is_plain_gradient_descent():
    from wd_helpers.checks.optimizers import _race

    first = _race()
    assert _winner() == "SGD"  # the notebook's exercise text leaves it to the learner; this pins the measurement
    assert sorted(first.values())[0] < sorted(first.values())[1]


FASTEST = [  # (answer, verdict, a phrase the hint must contain); the winner is SGD (pinned above)
    ("SGD", True, "SGD is first"),
    ("sgd", True, "SGD is first"),
    (" SGD ", True, "SGD is first"),
    ("'SGD'", True, "SGD is first"),
    ("torch.optim.SGD", True, "SGD is first"),
    (torch.optim.SGD, True, "SGD is first"),
    (wd_helpers.optim.SGD, True, "SGD is first"),
    ("Adam", False, "Adam is not first"),
    ("adam", False, "Adam is not first"),
    (" Adam ", False, "Adam is not first"),
    (torch.optim.Adam, False, "Adam is not first"),
    (wd_helpers.optim.Adam, False, "Adam is not first"),
    ("momentum", False, "√β ≈ 0.949 per step along x₁"),  # each wrong guess is told why it loses
    ("SGD with momentum", False, "Momentum is not first"),
    ("sgd_with_momentum", False, "Momentum is not first"),
    ("AdaGrad", False, "only falls as squared gradients pile up"),
    ("Adam", False, "rises as the gradients shrink"),  # not "stays near 0.4" (it rises about 3.8×)
    ("Adam", False, "−5 → +1.13 → −0.37 → +0.14"),
    ("Adam", False, "only 22 steps"),  # the explorer's starting sliders are not torch's defaults
    ("Adam", False, "β₁ = 0.9, β₂ = 0.999"),
    ("GD", True, "SGD is first"),
    ("gradient descent", True, "SGD is first"),
    ("Gradient-Descent", True, "SGD is first"),
    ("Heavy ball", False, "Momentum is not first"),
    ("Ada-Grad", False, "AdaGrad is not first"),
    (torch.optim.Adagrad, False, "AdaGrad is not first"),
    (["Adam"], False, "one name"),
    (("SGD",), False, "one name"),
    ({"SGD"}, False, "one name"),
    ("LBFGS", False, "not in the race"),
    ("RMSProp", False, "not in the race"),
    (torch.optim.LBFGS, False, "not in the race"),
    ("", False, "not in the race"),
    (None, False, "set prediction"),
    (..., False, "set prediction"),
    (3, False, "one name"),
    (lambda: "SGD", False, "one name"),
]


@pytest.mark.parametrize("answer, verdict, phrase", FASTEST)
def test_fastest_optimizer_checker(answer, verdict, phrase, capsys):
    assert check_fastest_optimizer(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_the_why_not_hints_state_what_the_paths_do():
    """The numbers in the hints, recomputed along each loser's path (η = 0.4, from (−5, −2))."""
    from wd_helpers import optim
    from wd_helpers.checks.optimizers import _WHY_NOT, _race

    narrow = lambda x: 0.1 * x[0] ** 2 + 2 * x[1] ** 2
    start = torch.tensor([-5.0, -2.0])
    # Adam: effective rate on x₁ rises from 0.4 to about 3.8× by step 76; x₁ swings past 0 and back
    path = optim.trace(lambda p: optim.Adam(p, lr=0.4, betas=(0.9, 0.999)), narrow, start, 100)
    g1 = path[:-1, 0] * 0.2
    t = torch.arange(1, 101)
    v = torch.zeros(())
    rates = []
    for step in range(100):
        v = 0.999 * v + 0.001 * g1[step] ** 2
        rates.append(0.4 / (v / (1 - 0.999 ** t[step])).sqrt().item())
    assert f"{rates[0]:.1f}" == "0.4" and f"{rates[75] / rates[0]:.1f}" == "3.8" and rates[75] > rates[0]
    assert _race()["Adam"] == 76
    x1 = path[:, 0]
    turns = [i for i in range(1, 100) if (x1[i] - x1[i - 1]) * (x1[i + 1] - x1[i]) < 0]
    assert [f"{x1[i]:+.2f}" for i in turns[:3]] == ["+1.13", "-0.37", "+0.14"]
    assert "−5 → +1.13 → −0.37 → +0.14" in _WHY_NOT["Adam"] and "3.8×" in _WHY_NOT["Adam"]
    slider_adam = optim.loss_along(narrow, optim.trace(lambda p: optim.Adam(p, lr=0.4, betas=(0.5, 0.9)), narrow, start, 100))
    assert int((slider_adam < 1e-4).nonzero()[0]) == 22 and "22 steps" in _WHY_NOT["Adam"]
    # AdaGrad: its rate on x₁ starts at 0.4 and never rises
    ada = optim.trace(lambda p: optim.AdaGrad(p, lr=0.4), narrow, start, 100)
    ada_rates = 0.4 / torch.cumsum((ada[:-1, 0] * 0.2) ** 2, 0).sqrt()
    assert abs(ada_rates[0] - 0.4) < 1e-6 and (ada_rates[1:] <= ada_rates[:-1]).all()
    # Momentum: heavy ball's rate along x₁ is √β, GD's 1 − ηL
    assert f"{optim.momentum_rate(0.4, 0.2, 0.9):.3f}" == "0.949" and f"{1 - 0.4 * 0.2:.2f}" == "0.92"


def test_fastest_optimizer_checker_accepts_only_the_measured_winner():
    results = {name: check_fastest_optimizer(name) for name in ("SGD", "Momentum", "AdaGrad", "Adam")}
    assert sum(results.values()) == 1 and results[_winner()]
