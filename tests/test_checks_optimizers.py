"""Checkers of notebook 03 (optimizers)."""

import torch


def test_momentum_step_checker(capsys):
    from wd_helpers.checks import check_momentum_step

    def right(x, v, g, lr, beta):
        v = beta * v + g
        return x - lr * v, v

    assert check_momentum_step(right)
    assert not check_momentum_step(lambda x, v, g, lr, beta: (x - lr * v, beta * v + g))
    assert "new v" in capsys.readouterr().out
    assert not check_momentum_step(lambda x, v, g, lr, beta: None)


def test_largest_stable_lr_checker():
    from wd_helpers.checks import check_largest_stable_lr

    assert check_largest_stable_lr(1 / 3, curvature=6.0)
    assert not check_largest_stable_lr(1 / 6, curvature=6.0)
    assert not check_largest_stable_lr(..., curvature=6.0)


def test_fastest_optimizer_checker_accepts_only_the_measured_winner(capsys):
    from wd_helpers.checks import check_fastest_optimizer

    results = {name: check_fastest_optimizer(name) for name in ("SGD", "Momentum", "AdaGrad", "Adam")}
    assert sum(results.values()) == 1
    assert not check_fastest_optimizer("LBFGS")
