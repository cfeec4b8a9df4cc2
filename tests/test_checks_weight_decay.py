"""Checkers of notebook 04 (weight decay)."""

import torch

from wd_helpers.checks import check_best_lambda, check_frobenius_penalty, check_l1_penalty, check_norm_limit
from wd_helpers.train import sweep_weight_decay


def test_l1_checker_accepts_the_right_answer_and_names_the_mistakes(capsys):
    assert check_l1_penalty(lambda w: w.abs().sum())
    assert not check_l1_penalty(lambda w: -w.abs().sum())
    assert "sign is flipped" in capsys.readouterr().out
    assert not check_l1_penalty(lambda w: torch.norm(w))
    assert "L2 norm" in capsys.readouterr().out
    assert not check_l1_penalty(lambda w: None)
    assert "nothing yet" in capsys.readouterr().out
    assert not check_l1_penalty(lambda w: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_frobenius_checker(capsys):
    assert check_frobenius_penalty(lambda W: (W**2).sum() / 2)
    assert not check_frobenius_penalty(lambda W: (W**2).sum())
    assert "½" in capsys.readouterr().out
    assert not check_frobenius_penalty(lambda W: torch.linalg.norm(W))
    assert "unsquared" in capsys.readouterr().out


def test_best_lambda_checker():
    histories = sweep_weight_decay([0.0, 1.0, 10.0, 100.0], num_epochs=20)
    best = min(histories, key=lambda h: h.final_test_loss).lambd
    assert check_best_lambda(best, histories)
    assert not check_best_lambda(0.0 if best else 1.0, histories)
    assert not check_best_lambda(0.5, histories)
    assert not check_best_lambda(..., histories)
    assert not check_best_lambda("ten", histories)  # a word is answered, never raised on


def test_norm_limit_checker():
    assert check_norm_limit(0)
    assert not check_norm_limit(1.0)
    assert not check_norm_limit("zero")
    assert not check_norm_limit(None)
