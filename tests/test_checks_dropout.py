"""The dropout notebook's exercise checkers: right answers pass, common mistakes are named."""

import pytest
import torch
from torch import nn

from wd_helpers.checks import check_drop_weights, check_dropout_module, check_dropout_variance, check_swap_prediction
from wd_helpers.classify import sweep_dropout
from wd_helpers.data import load_digits_data
from wd_helpers.progress import progress_bar
from wd_helpers.regularizers import dropout


def test_drop_weights_checker(capsys):
    assert check_drop_weights(lambda W, p, g: dropout(W, p, generator=g))
    assert not check_drop_weights(lambda W, p, g: W * (torch.rand(W.shape, generator=g) > p))
    assert "not rescaled" in capsys.readouterr().out
    assert not check_drop_weights(lambda W, p, g: W * (torch.rand(W.shape) > p) / (1 - p))
    assert "generator" in capsys.readouterr().out
    assert not check_drop_weights(lambda W, p, g: W * (torch.rand(W.shape, generator=g) > 0.5) / 0.5)
    assert "expected about p = 30%" in capsys.readouterr().out
    assert not check_drop_weights(lambda W, p, g: None)
    assert "nothing yet" in capsys.readouterr().out


def test_dropout_variance_checker(capsys):
    assert check_dropout_variance(lambda h, p: h * h * p / (1 - p))
    assert not check_dropout_variance(lambda h, p: h * h * p * (1 - p))
    assert "without the 1/(1 − p) scaling" in capsys.readouterr().out
    assert not check_dropout_variance(lambda h, p: ...)


def test_the_variance_formula_is_what_dropout_draws():
    h, p = torch.full((400_000,), 2.0), 0.3
    empirical = dropout(h, p, generator=torch.Generator().manual_seed(0)).var().item()
    assert empirical == pytest.approx(4.0 * p / (1 - p), rel=0.01)


class GoodDropout(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, X):
        return dropout(X, self.p, training=self.training)


class FlagDropout(GoodDropout):  # the source material's mistake: a flag fixed at construction
    def forward(self, X):
        return dropout(X, self.p, training=True)


class ScaledAtTestTime(GoodDropout):
    def forward(self, X):
        return dropout(X, self.p) if self.training else X * (1 - self.p)


def test_dropout_module_checker(capsys):
    assert check_dropout_module(GoodDropout)
    assert check_dropout_module(nn.Dropout)
    assert not check_dropout_module(FlagDropout)
    assert "self.training" in capsys.readouterr().out
    assert not check_dropout_module(ScaledAtTestTime)
    assert "no scaling" in capsys.readouterr().out
    assert not check_dropout_module(lambda p: "not a module")
    assert "nn.Module" in capsys.readouterr().out


def test_swap_checker_agrees_with_the_measurement(capsys):
    data = load_digits_data(n_train=100)
    usual, swapped = sweep_dropout([(0.2, 0.5), (0.5, 0.2)], data=data)
    diff = swapped.final_test_loss - usual.final_test_loss
    truth = "about the same" if abs(diff) < 0.01 else ("higher" if diff > 0 else "lower")
    assert check_swap_prediction(truth, data=data)
    wrong = next(c for c in ("higher", "lower", "about the same") if c != truth)
    assert not check_swap_prediction(wrong, data=data)
    assert not check_swap_prediction("maybe", data=data)
    assert "answer with one of" in capsys.readouterr().out


def test_progress_bar_follows_the_epochs(capsys):
    with progress_bar(4, "test") as progress:
        for epoch in range(1, 5):
            progress(epoch, 4)
    assert "4/4" in capsys.readouterr().err
    with pytest.raises(ValueError, match="total must be an integer >= 1"):
        with progress_bar(0):
            pass
