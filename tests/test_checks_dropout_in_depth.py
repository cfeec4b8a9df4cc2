"""Notebook 05b's exercise checkers: right answers pass, common mistakes are named, garbage is answered.

One table per checker: (answer, verdict, words the printed hint must contain).
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wd_helpers.checks import check_dropout_penalty, check_gaussian_std, check_mc_predict
from wd_helpers.checks.dropout_in_depth import MC_TOLERANCE, _distance, _references, _run_mc
from wd_helpers.noise import mc_dropout_probs


def _verdict(check, answer, capsys):
    ok = check(answer)
    return ok, capsys.readouterr().out


# --- check_mc_predict -------------------------------------------------------------------------------

def _stacked(model, X, T):
    model.train()
    with torch.no_grad():
        P = torch.stack([F.softmax(model(X), dim=1) for _ in range(T)]).mean(0)
    model.eval()
    return P


def _running_sum(model, X, T):
    model.train()
    total = torch.zeros(len(X), 4)
    for _ in range(T):
        total += torch.softmax(model(X), dim=-1).detach()
    model.eval()
    return total / T


def _restores_mode(model, X, T):
    was_training = model.training
    model.train()
    P = torch.exp(torch.stack([F.log_softmax(model(X), 1) for _ in range(T)])).mean(0)
    model.train(was_training)
    return P


def _chunked(model, X, T):  # other masks (rows in two halves): still within the Monte-Carlo error
    model.train()
    with torch.no_grad():
        P = torch.cat([torch.stack([F.softmax(model(part), 1) for _ in range(T)]).mean(0) for part in X.split(75)])
    model.eval()
    return P


def _logits_averaged(model, X, T):
    model.train()
    with torch.no_grad():
        P = F.softmax(torch.stack([model(X) for _ in range(T)]).mean(0), dim=1)
    model.eval()
    return P


def _eval_mode(model, X, T):
    model.eval()
    with torch.no_grad():
        return torch.stack([F.softmax(model(X), 1) for _ in range(T)]).mean(0)


def _one_pass(model, X, T):
    model.train()
    with torch.no_grad():
        P = F.softmax(model(X), 1)
    model.eval()
    return P


def _reseeded(model, X, T):  # the same mask every pass: one thinned network, T times
    model.train()
    passes = []
    for _ in range(T):
        torch.manual_seed(0)
        passes.append(F.softmax(model(X), 1).detach())
    model.eval()
    return torch.stack(passes).mean(0)


def _left_in_train_mode(model, X, T):
    model.train()
    with torch.no_grad():
        return torch.stack([F.softmax(model(X), 1) for _ in range(T)]).mean(0)


def _votes(model, X, T):
    model.train()
    with torch.no_grad():
        P = torch.stack([F.one_hot(model(X).argmax(1), 4).double() for _ in range(T)]).mean(0)
    model.eval()
    return P


def _votes_float32(model, X, T):  # counted by hand in float32: k/200 misses the grid by ~1e-6
    model.train()
    counts = torch.zeros(len(X), 4)
    with torch.no_grad():
        for _ in range(T):
            counts[torch.arange(len(X)), model(X).argmax(1)] += 1
    model.eval()
    return counts / T


def _fixed_passes(passes):  # ignores num_passes: always the same number of passes
    return lambda model, X, T: _stacked(model, X, passes)


def _not_averaged(model, X, T):
    model.train()
    with torch.no_grad():
        P = torch.stack([F.softmax(model(X), 1) for _ in range(T)])
    model.eval()
    return P


def _mean_logits(model, X, T):
    model.train()
    with torch.no_grad():
        Z = torch.stack([model(X) for _ in range(T)]).mean(0)
    model.eval()
    return Z


def _labels(model, X, T):
    return _stacked(model, X, T).argmax(1)


def _raise(*args):
    raise RuntimeError("boom")


MC_PREDICT = [
    # right: equivalent forms
    (_stacked, True, "the mean of 200 dropout passes"),
    (_running_sum, True, "back in eval mode"),
    (_restores_mode, True, "back in eval mode"),
    (_chunked, True, "Monte-Carlo error"),
    (lambda model, X, T: mc_dropout_probs(model, X, num_passes=T).mean(0), True, "the mean of 200"),
    (lambda model, X, T: _stacked(model, X, T).numpy(), True, "the mean of 200"),
    (lambda model, X, T: _stacked(model, X, T).tolist(), True, "the mean of 200"),
    # the mistakes, each named
    (_logits_averaged, False, "averaged the logits"),
    (_eval_mode, False, "eval-mode prediction"),
    (_one_pass, False, "does not change with num_passes"),
    (_reseeded, False, "does not change with num_passes"),
    (_fixed_passes(10), False, "does not change with num_passes"),
    (_fixed_passes(30), False, "does not change with num_passes"),
    (_fixed_passes(100), False, "does not change with num_passes"),  # 0.04 from the reference: within tolerance
    (_left_in_train_mode, False, "left the model in training mode"),
    (_votes, False, "counted votes"),
    (_votes_float32, False, "counted votes"),  # 0.05 from the reference: within tolerance
    (_not_averaged, False, "average them over the first dimension"),
    (_mean_logits, False, "probabilities that sum to 1"),
    (_labels, False, "not one value per input"),
    (lambda model, X, T: _stacked(model, X, T) / 0, False, "inf or NaN"),
    (lambda model, X, T: torch.full((150, 4), 0.25), False, "does not change with num_passes"),
    (lambda model, X, T: _stacked(model, X, T).roll(1, dims=1), False, "from the MC-dropout average"),
    # garbage
    (lambda model, X, T: None, False, "nothing yet"),
    (lambda model, X, T: ..., False, "nothing yet"),
    (lambda model, X, T: "probabilities", False, "tensor"),
    (lambda model, X, T: torch.ones(3), False, "shape"),
    (lambda model, X: X, False, "raised TypeError"),
    (_raise, False, "raised RuntimeError: boom"),
    (None, False, "pass a function"),
    ("mc_predict", False, "pass a function"),
]


@pytest.mark.parametrize("answer, ok, hint", MC_PREDICT)
def test_mc_predict_checker(answer, ok, hint, capsys):
    verdict, out = _verdict(check_mc_predict, answer, capsys)
    assert verdict is ok and hint in out, out


def test_mc_predict_accepts_every_draw_of_masks_and_refuses_the_mistakes_by_a_wide_margin():
    """The tolerance is set by the Monte-Carlo error: 20 correct answers drawing other masks all pass, and the
    wrong ensembles lie more than twice the tolerance away."""
    reference = _references()["mc"]
    distances = []
    for seed in range(20):
        def answer(model, X, T, seed=seed):
            torch.manual_seed(seed)
            return _stacked(model, X, T)
        result, _, _ = _run_mc(answer, 200)
        distances.append(_distance(result.double(), reference))
    assert max(distances) < MC_TOLERANCE / 1.5
    for wrong in (_logits_averaged, _eval_mode, _one_pass):
        result, _, _ = _run_mc(wrong, 200)
        assert _distance(result.double(), reference) > 2 * MC_TOLERANCE


def test_the_float32_votes_miss_the_grid_by_more_than_the_old_tolerance():
    """Why the votes test uses atol 1e-4: counted in float32, k/200 · 200 is off k by more than 1e-6."""
    result, _, _ = _run_mc(_votes_float32, 200)
    miss = (result * 200 - (result * 200).round()).abs().max().item()
    assert 1e-6 < miss < 1e-4


def test_the_averaged_logits_are_more_confident_than_the_averaged_probabilities():
    """The hint's claim, on the checker's probe inputs: softmax of the mean logits is surer on every input."""
    references = _references()
    assert (references["mean logits"].max(1).values > references["mc"].max(1).values).all()


def test_mc_predict_checker_leaves_the_global_generator_alone(capsys):
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    check_mc_predict(_stacked)
    assert torch.equal(torch.random.get_rng_state(), state)


# --- check_dropout_penalty ------------------------------------------------------------------------

PENALTY = [
    (1.625, True, "0.25 · (2 · 1 + 0.5 · 9)"),
    ("1.625", True, "1.625"),
    (13 / 8, True, "1.625"),
    (0.25 * (2.0 * 1.0 + 0.5 * 9.0), True, "1.625"),
    (1.63, True, "1.625"),  # rounded as printed
    (1.62, True, "1.625"),
    (1.6, False, "three significant digits"),  # also the rounding of 1.5625 (energies squared)
    ("1.6", False, "three significant digits"),
    ("13/8", True, "1.625"),  # a fraction typed as text
    ("13 / 8", True, "1.625"),
    (torch.tensor(1.625), True, "1.625"),
    (np.float32(1.625), True, "1.625"),
    (1.3, False, "p where the factor is p/(1 − p)"),
    (1.04, False, "vanilla dropout"),
    (2.03125, False, "one 1/(1 − p) too many"),
    (2.03, False, "one 1/(1 − p) too many"),
    (26, False, "swapped"),
    (0.875, False, "square the weights"),
    (2.5, False, "plain L2 penalty"),
    (1.5625, False, "not squared"),
    (1.56, False, "not squared"),
    ("25/16", False, "not squared"),
    ("13/0", False, "answer with a number"),
    (0.8125, False, "no ½ here"),
    (1.7, False, "is not it"),
    (1.2, False, "is not it"),
    (2, False, "one 1/(1 − p) too many"),  # the nearest rounding named
    (None, False, "not answered yet"),
    (..., False, "not answered yet"),
    ("one and a half", False, "answer with a number"),
    ([1.625], False, "answer with a number"),
    (float("nan"), False, "finite"),
    (True, False, "answer with a number"),
    (torch.ones(2), False, "answer with a number"),
]


@pytest.mark.parametrize("answer, ok, hint", PENALTY)
def test_dropout_penalty_checker(answer, ok, hint, capsys):
    verdict, out = _verdict(check_dropout_penalty, answer, capsys)
    assert verdict is ok and hint in out, out


def test_the_penalty_answer_is_what_random_masks_give():
    """The exercise's features: two columns with mean squares 2.0 and 0.5; the answer is the averaged loss
    minus the plain one, measured on random masks."""
    X = torch.tensor([[math.sqrt(2.0), math.sqrt(0.5)]], dtype=torch.float64)
    w, y, p = torch.tensor([1.0, 3.0], dtype=torch.float64), torch.zeros(1, dtype=torch.float64), 0.2
    masks = (torch.rand(400_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) > p)
    losses = (y - (masks * X / (1 - p)) @ w).square()
    excess = losses.mean().item() - (y - X @ w).square().item()
    assert excess == pytest.approx(1.625, abs=4 * losses.std().item() / math.sqrt(400_000))


# --- check_gaussian_std --------------------------------------------------------------------------

GAUSSIAN = [
    (0.5, True, "√(p/(1 − p))"),
    ("0.5", True, "√0.25"),
    ("1/2", True, "√0.25"),  # a fraction typed as text
    ("1/4", False, "that is the variance"),
    (1 / 2, True, "0.5"),
    (math.sqrt(0.2 / 0.8), True, "0.5"),
    (torch.tensor(0.5), True, "0.5"),
    (0.25, False, "that is the variance"),
    (0.4, False, "spread of the 0/1 mask"),
    (math.sqrt(0.2), False, "√p"),
    (0.45, False, "√p"),
    (0.2, False, "the dropout rate"),
    (2, False, "swapped"),
    (0.559, False, "one (1 − p) cancels"),
    (0.8, False, "keep probability"),
    (-0.5, False, "never negative"),
    (0.7, False, "is not it"),
    (None, False, "not answered yet"),
    (..., False, "not answered yet"),
    ("half", False, "answer with a number"),
    (float("inf"), False, "finite"),
    ([0.5], False, "answer with a number"),
]


@pytest.mark.parametrize("answer, ok, hint", GAUSSIAN)
def test_gaussian_std_checker(answer, ok, hint, capsys):
    verdict, out = _verdict(check_gaussian_std, answer, capsys)
    assert verdict is ok and hint in out, out
