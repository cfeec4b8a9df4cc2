"""Checkers of notebook 04 (weight decay): one table per checker of right answers, named mistakes and garbage."""

import math

import numpy as np
import pytest
import torch

from wd_helpers.checks import check_best_lambda, check_frobenius_penalty, check_l1_penalty, check_norm_limit
from wd_helpers.train import History


def _verdict(capsys, checker, *args, **kwargs):
    ok = checker(*args, **kwargs)
    out = capsys.readouterr().out
    assert out.startswith(("✓ correct: ", "✗ not yet: ")) and out.count("\n") == 1, out
    return ok, out


def _raises(*args):
    raise ValueError("boom")


# --- check_l1_penalty -------------------------------------------------------------------------------------------

L1_RIGHT = {
    "abs sum": lambda w: w.abs().sum(),
    "torch.sum(torch.abs)": lambda w: torch.sum(torch.abs(w)),
    "torch.norm p=1": lambda w: torch.norm(w, p=1),
    "vector_norm ord=1": lambda w: torch.linalg.vector_norm(w, ord=1),
    "w * sign(w)": lambda w: (w * torch.sign(w)).sum(),
    "float64 inside": lambda w: w.double().abs().sum(),
    "flattened linalg.norm": lambda w: torch.linalg.norm(w.flatten(), 1),
}


@pytest.mark.parametrize("fn", L1_RIGHT.values(), ids=L1_RIGHT.keys())
def test_l1_checker_accepts_every_correct_form(capsys, fn):
    ok, out = _verdict(capsys, check_l1_penalty, fn)
    assert ok, out


L1_WRONG = {
    "subtracted": (lambda w: -w.abs().sum(), "sign is flipped"),
    "unsquared L2 norm": (lambda w: torch.norm(w), "L2 norm"),
    "half squared L2": (lambda w: (w**2).sum() / 2, "½‖w‖²"),
    "squared L2": (lambda w: (w**2).sum(), "squared L2"),
    "no abs": (lambda w: w.sum(), "absolute value"),
    "mean": (lambda w: w.abs().mean(), "mean"),
    "max": (lambda w: w.abs().max(), "largest"),
    "p=0 counts non-zeros": (lambda w: torch.norm(w, p=0), "non-zero entries"),
    "matrix 1-norm": (lambda w: torch.linalg.norm(w, ord=1), "column sum"),
    "element-wise": (lambda w: w.abs(), "one value per entry"),
    "one dim only": (lambda w: w.abs().sum(0, keepdim=True) if w.dim() > 1 else w.abs().sum(0, keepdim=True), "single number"),
    "python float": (lambda w: float(w.abs().sum()), "detached"),
    "item": (lambda w: w.abs().sum().item(), "detached"),
    "re-wrapped tensor": (lambda w: torch.tensor(w.abs().sum().item()), "detached"),
    "detach": (lambda w: w.detach().abs().sum(), "detached"),
    "sqrt of square": (lambda w: torch.sqrt(w**2).sum(), "NaN"),
    "unfinished": (lambda w: None, "nothing yet"),
    "ellipsis": (lambda w: ..., "nothing yet"),
    "raises": (_raises, "ValueError"),
    "divides by zero": (lambda w: 1 / 0, "ZeroDivisionError"),
    "returns a string": (lambda w: "sum of |w|", "number"),
    "returns a list": (lambda w: [1.0, 2.0], "number"),
    "returns a bool": (lambda w: True, "truth value"),
    "returns nan": (lambda w: w.abs().sum() * float("nan"), "nan"),
    "not a function": ("w.abs().sum()", "pass your function"),
    "None instead of a function": (None, "pass your function"),
}


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")  # the learner's float(tensor)
@pytest.mark.parametrize("fn, hint", L1_WRONG.values(), ids=L1_WRONG.keys())
def test_l1_checker_refuses_and_names_the_mistake(capsys, fn, hint):
    ok, out = _verdict(capsys, check_l1_penalty, fn)
    assert not ok and hint in out, out


def test_l1_checker_shows_the_probe_rounded(capsys):
    ok, out = _verdict(capsys, check_l1_penalty, lambda w: w.abs().sum() + 1)
    assert not ok and "expected" in out
    numbers = out.split("[", 1)[1].split("]", 1)[0].split(", ")
    assert all(len(x.lstrip("-").split(".")[-1]) <= 3 for x in numbers), out


# --- check_frobenius_penalty ------------------------------------------------------------------------------------

FROBENIUS_RIGHT = {
    "½ Σ W²": lambda W: (W**2).sum() / 2,
    "0.5 * linalg.norm²": lambda W: 0.5 * torch.linalg.norm(W) ** 2,
    "(W*W).sum()/2": lambda W: (W * W).sum() / 2,
    "0-d tensor, float64": lambda W: (W.double() ** 2).sum() / 2,
    "torch.norm fro": lambda W: torch.norm(W, p="fro") ** 2 / 2,
    "square of norm of flattened": lambda W: W.flatten().dot(W.flatten()) / 2,
    "matrix_norm²/2": lambda W: torch.linalg.matrix_norm(W) ** 2 / 2,
    "linalg.norm fro": lambda W: torch.linalg.norm(W, ord="fro") ** 2 / 2,
    "trace(WᵀW)/2": lambda W: torch.trace(W.T @ W) / 2,
    "einsum": lambda W: torch.einsum("ij,ij->", W, W) / 2,
    "l2_penalty": lambda W: __import__("wd_helpers.regularizers", fromlist=["l2_penalty"]).l2_penalty(W),
}


@pytest.mark.parametrize("fn", FROBENIUS_RIGHT.values(), ids=FROBENIUS_RIGHT.keys())
def test_frobenius_checker_accepts_every_correct_form(capsys, fn):
    ok, out = _verdict(capsys, check_frobenius_penalty, fn)
    assert ok, out


FROBENIUS_WRONG = {
    "missing ½": (lambda W: (W**2).sum(), "forgot the ½"),
    "negated": (lambda W: -(W**2).sum() / 2, "sign is flipped"),
    "python float": (lambda W: float((W**2).sum()) / 2, "detached"),
    "item": (lambda W: (W**2).sum().item() / 2, "detached"),
    "numpy scalar": (lambda W: np.float64((W**2).sum().item() / 2), "detached"),
    "detach": (lambda W: (W.detach() ** 2).sum() / 2, "detached"),
    "unsquared norm": (lambda W: torch.linalg.norm(W), "unsquared"),
    "unsquared norm halved": (lambda W: torch.linalg.norm(W) / 2, "unsquared"),
    "mean instead of sum": (lambda W: (W**2).mean() / 2, "mean"),
    "mean, no ½": (lambda W: (W**2).mean(), "mean"),
    "not squared": (lambda W: W.sum() / 2, "square the entries"),
    "L1": (lambda W: W.abs().sum(), "L1"),
    "spectral norm": (lambda W: torch.linalg.norm(W, ord=2) ** 2 / 2, "spectral"),
    "element-wise": (lambda W: W**2 / 2, "one value per entry"),
    "summed over one dimension": (lambda W: (W**2).sum(0) / 2, "sum over all entries"),
    "(1,) tensor": (lambda W: ((W**2).sum() / 2).reshape(1), "single number"),
    "unfinished": (lambda W: None, "nothing yet"),
    "raises": (_raises, "ValueError"),
    "string": (lambda W: "half the sum of squares", "number"),
    "list": (lambda W: [0.5], "number"),
    "bool": (lambda W: False, "truth value"),
    "infinite": (lambda W: float("inf"), "inf"),
    "not a function": (3.0, "pass your function"),
}


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")  # the learner's float(tensor)
@pytest.mark.parametrize("fn, hint", FROBENIUS_WRONG.values(), ids=FROBENIUS_WRONG.keys())
def test_frobenius_checker_refuses_and_names_the_mistake(capsys, fn, hint):
    ok, out = _verdict(capsys, check_frobenius_penalty, fn)
    assert not ok and hint in out, out


# --- check_best_lambda ------------------------------------------------------------------------------------------

def _run(lambd, train, validation):
    """A finished History with the given per-epoch train and validation ("test") losses."""
    return History(lambd=lambd, lr=0.003, w_norms=[1.0] * len(train), diverged_at=None, w=torch.zeros(3), b=0.0,
                   train_loss=list(train), test_loss=list(validation))


# λ:            0       0.001    0.01          10**-0.5 (best)   1             10
# train loss:           lowest   ...                                            highest
# validation:   high             dips lowest mid-run but ends higher than the best
SWEEP = [
    _run(0.0, [1.0, 0.002], [9.0, 8.0]),
    _run(0.001, [1.0, 0.0015], [7.0, 6.0]),  # not converged: a small λ has the lowest train loss, not λ = 0
    _run(0.01, [1.0, 0.01], [0.5, 3.0]),  # lowest validation loss at some epoch, not at the end
    _run(10**-0.5, [1.0, 0.1], [2.0, 1.0]),  # lowest final validation loss: the answer
    _run(1.0, [1.0, 0.2], [2.0, 1.5]),
    _run(10.0, [1.0, 0.5], [2.0, 2.5]),
]
ON_TEST = [_run(h.lambd, [1.0, 1.0], [2.0, loss]) for h, loss in zip(SWEEP, [5.0, 4.5, 4.0, 1.3, 1.2, 3.0])]  # test prefers 1.0

BEST_RIGHT = {
    "exact": 10**-0.5,
    "as printed, 3 digits": 0.316,
    "as printed, 4 digits": 0.3162,
    "2 significant digits": 0.32,
    "typed as a string": "0.316",
    "from the History": SWEEP[3].lambd,
    "0-d tensor": torch.tensor(10**-0.5, dtype=torch.float64),
    "numpy float": np.float64(10**-0.5),
}


@pytest.mark.parametrize("answer", BEST_RIGHT.values(), ids=BEST_RIGHT.keys())
def test_best_lambda_checker_accepts_the_value_as_printed(capsys, answer):
    ok, out = _verdict(capsys, check_best_lambda, answer, SWEEP, test_histories=ON_TEST)
    assert ok, out


BEST_WRONG = {
    "lowest train loss": (0.001, "TRAIN"),
    "no decay": (0.0, "no decay"),
    "no decay, as an int": (0, "no decay"),
    "lowest validation loss mid-run": (0.01, "some epoch"),
    "lowest test loss": (1.0, "TEST"),
    "another swept value": (10.0, "smallest final validation loss"),
    "one significant digit": (0.3, "2 significant digits"),
    "rounded wrongly": (0.31, "not one of the swept values"),
    "not swept": (0.5, "not one of the swept values"),
    "the index": (3, "position"),
    "a History": (SWEEP[3], ".lambd"),
    "the whole sweep": (SWEEP, "whole sweep"),
    "unset": (..., "set best_lambda"),
    "None": (None, "set best_lambda"),
    "a word": ("ten", "number"),
    "nan": (float("nan"), "finite"),
    "bool": (True, "number"),
    "a list": ([0.316], "number"),
}


@pytest.mark.parametrize("answer, hint", BEST_WRONG.values(), ids=BEST_WRONG.keys())
def test_best_lambda_checker_refuses_and_names_the_mistake(capsys, answer, hint):
    ok, out = _verdict(capsys, check_best_lambda, answer, SWEEP, test_histories=ON_TEST)
    assert not ok and hint in out, out


def test_best_lambda_checker_without_the_test_sweep_still_refuses_the_test_choice(capsys):
    ok, out = _verdict(capsys, check_best_lambda, 1.0, SWEEP)
    assert not ok and "validation loss" in out


def test_best_lambda_checker_on_a_real_sweep(capsys):
    from wd_helpers.train import sweep_weight_decay

    histories = sweep_weight_decay([0.0, 1.0, 10.0, 100.0], num_epochs=20)
    best = min(histories, key=lambda h: h.final_test_loss).lambd
    assert _verdict(capsys, check_best_lambda, best, histories)[0]
    assert not _verdict(capsys, check_best_lambda, 0.0 if best else 1.0, histories)[0]


# --- check_norm_limit -------------------------------------------------------------------------------------------

NORM_RIGHT = {"int 0": 0, "float 0": 0.0, "negative zero": -0.0, "string": "0", "tensor": torch.tensor(0.0),
              "essentially 0": 1e-9, "tiny": 1e-300, "just below 1e-6": 9.9e-7}


@pytest.mark.parametrize("answer", NORM_RIGHT.values(), ids=NORM_RIGHT.keys())
def test_norm_limit_checker_accepts_zero_in_any_form(capsys, answer):
    ok, out = _verdict(capsys, check_norm_limit, answer)
    assert ok, out


NORM_WRONG = {
    "the sweep's right end": (0.005, "finite λ"),
    "small but not essentially 0": (1e-5, "finite λ"),
    "norm of the true weights": (0.1414, "true weights"),
    "‖w‖ without decay": (14.12, "λ = 0"),
    "√200": (math.sqrt(200), "λ = 0"),
    "negative": (-1.0, "never negative"),
    "infinity": (math.inf, "does not blow up"),
    "one": (1.0, "(1 − ηλ)"),
    "unset": (..., "set norm_limit"),
    "None": (None, "set norm_limit"),
    "a word": ("zero", "number"),
    "nan": (float("nan"), "finite"),
    "a list": ([0.0], "number"),
    "a function": (lambda: 0, "number"),
}


@pytest.mark.parametrize("answer, hint", NORM_WRONG.values(), ids=NORM_WRONG.keys())
def test_norm_limit_checker_refuses_and_names_the_mistake(capsys, answer, hint):
    ok, out = _verdict(capsys, check_norm_limit, answer)
    assert not ok and hint in out, out


@pytest.mark.parametrize("answer", [1e-9, 1e-300])
def test_norm_limit_checker_says_a_tiny_answer_means_exactly_zero(capsys, answer):
    ok, out = _verdict(capsys, check_norm_limit, answer)
    assert ok and "exactly 0" in out, out
