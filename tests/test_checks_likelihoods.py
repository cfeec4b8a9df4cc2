"""Checkers of notebook 02b (losses as likelihoods): per checker a table of right answers, named mistakes, garbage."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from wd_helpers import losses
from wd_helpers.checks import check_kl_batchmean, check_pos_weight, check_weighted_mean
from wd_helpers.checks.likelihoods import (
    CLASS_WEIGHTS, LOSSES, N_NEGATIVE, N_POSITIVE, TARGETS, _kl_probes, _pos_weight_mistakes, _weighted_mean_mistakes)

# ---------------------------------------------------------------- exercise 1: kl_loss(student_logits, teacher_probs)


def _raise(z, p):
    raise RuntimeError("not finished")


def _kl_div(*args, **kwargs):
    with warnings.catch_warnings():  # reduction="mean" warns; the mistake is the point here
        warnings.simplefilter("ignore")
        return F.kl_div(*args, **kwargs)


KL_ANSWERS = [  # (the learner's function, verdict, a phrase the hint must contain)
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="batchmean"), True, "batchmean"),
    (lambda z, p: nn.KLDivLoss(reduction="batchmean")(F.log_softmax(z, dim=1), p), True, "batchmean"),
    (lambda z, p: nn.KLDivLoss(reduction="batchmean", log_target=True)(z.log_softmax(1), p.log()), True, "batchmean"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="sum") / z.shape[0], True, "batchmean"),
    (lambda z, p: (p * (p.log() - z.log_softmax(1))).sum(1).mean(), True, "batchmean"),  # written out
    (lambda z, p: (p * (p / z.softmax(1)).log()).sum() / len(z), True, "batchmean"),
    (lambda z, p: losses.kl_divergence(p, z.softmax(1)).mean(), True, "batchmean"),  # the package's
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="batchmean").item(), True, "batchmean"),  # a float
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="batchmean").reshape(1), True, "batchmean"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="batchmean").numpy(), True, "batchmean"),
    (lambda z, p: (F.cross_entropy(z, p) - (-(p * p.log()).sum(1).mean())), True, "batchmean"),  # H(p, q) − H(p)
    # the mistakes, each named
    (lambda z, p: _kl_div(F.log_softmax(z, dim=1), p), False, "C times too small"),  # the default "mean"
    (lambda z, p: nn.KLDivLoss()(F.log_softmax(z, dim=1), p), False, "divides the sum by N·C"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="sum"), False, "reduction='sum'"),
    (lambda z, p: F.kl_div(p.log(), F.softmax(z, dim=1), reduction="batchmean"), False, "swapped"),
    (lambda z, p: _kl_div(p.log(), F.softmax(z, dim=1)), False, "swapped: that is KL(student ‖ teacher)"),
    (lambda z, p: F.kl_div(F.softmax(z, dim=1), p, reduction="batchmean"), False, "LOG-probabilities"),
    (lambda z, p: F.kl_div(z, p, reduction="batchmean"), False, "raw logits"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="batchmean", log_target=True), False,
     "log_target=True"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p.log(), reduction="batchmean"), False, "NaN"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=0), p, reduction="batchmean"), False, "dim 0"),
    (lambda z, p: F.cross_entropy(z, p), False, "cross-entropy"),
    (lambda z, p: _kl_div(F.softmax(z, dim=1), p), False, "log_softmax(student_logits, dim=1); and reduction='mean'"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="none"), False, "one term per element"),
    (lambda z, p: F.kl_div(F.log_softmax(z, dim=1), p, reduction="none").sum(1), False, "one KL per example"),
    (lambda z, p: torch.tensor(math.inf), False, "inf"),
    (lambda z, p: torch.tensor(-0.5), False, "never negative"),
    (lambda z, p: torch.tensor(0.3), False, "not KL(teacher ‖ student)"),
    # garbage
    (lambda z, p: None, False, "nothing yet"),
    (lambda z, p: ..., False, "nothing yet"),
    (lambda z, p: "KL", False, "should return a number"),
    (lambda z, p: torch.tensor(0.8 + 1j), False, "should return a number"),  # complex: not silently made real
    (lambda z, p: torch.tensor(True), False, "should return a number"),
    (lambda z, p: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], False, "should return one number"),
    (lambda z: z, False, "raised TypeError"),
    (_raise, False, "raised RuntimeError: not finished"),
    (None, False, "pass a function"),
    (0.73, False, "pass a function"),
]


@pytest.mark.parametrize("answer, verdict, phrase", KL_ANSWERS)
def test_kl_batchmean_checker(answer, verdict, phrase, capsys):
    assert check_kl_batchmean(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_kl_probes_tell_the_mistakes_apart():
    # N ≠ C in every probe, and each (terms, reduction) combination gives a value of its own
    from wd_helpers.checks.likelihoods import _REDUCTIONS, _TERMS

    for z, p in _kl_probes():
        assert z.shape[0] != z.shape[1] and (p > 0).all()
        with torch.no_grad():
            values = [reduce(terms(z, p)).item() for terms, _ in _TERMS.values() for reduce, _ in _REDUCTIONS.values()]
        finite = [v for v in values if math.isfinite(v)]
        assert len({f"{v:.6g}" for v in finite}) == len(finite), values


def test_kl_checker_leaves_the_inputs_of_later_probes_alone(capsys):
    def in_place(z, p):  # changes its inputs: the next probe must still get fresh ones
        result = F.kl_div(F.log_softmax(z, dim=1), p, reduction="batchmean")
        z.zero_()
        p.fill_(math.nan)
        return result

    assert check_kl_batchmean(in_place) is True
    assert all(torch.isfinite(p).all() for _, p in _kl_probes())


# ---------------------------------------------------------------- exercise 2: CrossEntropyLoss(weight)'s mean


def test_the_exercise_numbers_are_what_torch_computes():
    # logits whose per-example losses are LOSSES: log-probability −ℓ at the target, the rest of the mass elsewhere
    target = torch.tensor(TARGETS)
    log_p = torch.tensor(LOSSES, dtype=torch.float64).neg()
    other = torch.log1p(-log_p.exp())
    logits = torch.stack([torch.where(target == 0, log_p, other), torch.where(target == 1, log_p, other)], dim=1)
    torch.testing.assert_close(F.cross_entropy(logits, target, reduction="none"),
                               torch.tensor(LOSSES, dtype=torch.float64))
    expected = F.cross_entropy(logits, target, weight=torch.tensor(CLASS_WEIGHTS, dtype=torch.float64)).item()
    assert expected == pytest.approx(10.6 / 8)
    assert check_weighted_mean(expected) is True


WEIGHTED_MEANS = [  # (answer, verdict, a phrase the hint must contain); the answer is 10.6 / 8 = 1.325
    (1.325, True, "10.6 / 8"),
    (10.6 / 8, True, "10.6 / 8"),
    ("53/40", True, "10.6 / 8"),
    (" 10.6/8 ", True, "10.6 / 8"),
    ("1.325", True, "10.6 / 8"),
    (1.33, True, "10.6 / 8"),  # rounded as printed
    (1.32, True, "10.6 / 8"),
    (1.3, True, "10.6 / 8"),
    (np.float32(1.325), True, "10.6 / 8"),
    (torch.tensor(1.325), True, "10.6 / 8"),
    (torch.tensor([1.325]), True, "10.6 / 8"),
    (2.65, False, "divided the weighted sum by N = 4"),  # the classic from-scratch mistake
    (2.6, False, "by N = 4"),
    (0.65, False, "unweighted mean"),
    (10.6 / 6, False, "sum of the class weights"),
    (1.77, False, "sum of the class weights"),
    (10.6, False, "reduction='sum'"),
    (5.3, False, "number of classes"),
    (0.3125, False, "swapped"),
    (0.31, False, "swapped"),
    (1.25, False, "swapped (weight[c] goes with class c) and the sum is divided by N"),
    (1.1, False, "per-class mean"),
    (1.0, False, "one significant digit"),
    ("1", False, "one significant digit"),
    (1.4, False, "is not it"),
    (0.0, False, "is not it"),
    (None, False, "set weighted_mean"),
    (..., False, "set weighted_mean"),
    ("one point three", False, "answer with a number"),
    ("1/0", False, "answer with a number"),
    ("1e400/1", False, "answer with a number"),  # too large for a float: refused, not an OverflowError
    ([1.325], False, "answer with a number"),
    (torch.ones(2), False, "answer with a number"),
    (math.nan, False, "finite"),
    (True, False, "answer with a number"),
]


@pytest.mark.parametrize("answer, verdict, phrase", WEIGHTED_MEANS)
def test_weighted_mean_checker(answer, verdict, phrase, capsys):
    assert check_weighted_mean(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_the_weighted_mean_mistakes_are_distinct_numbers():
    values = [10.6 / 8] + [wrong for wrong, _ in _weighted_mean_mistakes()]
    rounded = [f"{v:.3g}" for v in values]
    assert len(set(rounded)) == len(rounded), rounded


# ---------------------------------------------------------------- exercise 3: pos_weight for 99 800 / 200

POS_WEIGHTS = [  # the answer is 99 800 / 200 = 499
    (499, True, "499"),
    (499.0, True, "499"),
    ("499", True, "499"),
    ("99800/200", True, "499"),
    (N_NEGATIVE / N_POSITIVE, True, "499"),
    (np.int64(499), True, "499"),
    (torch.tensor(499.0), True, "499"),
    (torch.tensor([499.0]), True, "499"),
    (1 / 499, False, "inverted"),
    (0.002004, False, "inverted"),
    (500, False, "N / n_positive"),
    (250, False, "'balanced' class weight of the positives"),
    (0.501, False, "'balanced' class weight of the negatives"),
    (0.002, False, "fraction of positives"),
    (0.998, False, "fraction of negatives"),
    (200, False, "a count"),
    (99800, False, "a count"),
    (1, False, "no weighting"),
    (0, False, "removes the positives"),
    (-499, False, "never negative"),
    (498, False, "is not it"),
    (None, False, "set fraud_pos_weight"),
    (..., False, "set fraud_pos_weight"),
    ("many", False, "answer with a number"),
    ([499], False, "answer with a number"),
    (torch.ones(3), False, "answer with a number"),
    (math.inf, False, "finite"),
    (False, False, "answer with a number"),
]


@pytest.mark.parametrize("answer, verdict, phrase", POS_WEIGHTS)
def test_pos_weight_checker(answer, verdict, phrase, capsys):
    assert check_pos_weight(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_the_pos_weight_mistakes_are_distinct_numbers():
    values = [N_NEGATIVE / N_POSITIVE] + [wrong for wrong, _ in _pos_weight_mistakes()]
    rounded = [f"{v:.4g}" for v in values]  # 1/499 = 0.002004 and the fraction of positives 0.002 differ at 4 digits
    assert len(set(rounded)) == len(rounded), rounded


def test_pos_weight_balances_the_classes_in_torch():
    z = torch.zeros(N_NEGATIVE + N_POSITIVE)
    y = torch.cat([torch.zeros(N_NEGATIVE), torch.ones(N_POSITIVE)])
    per_example = F.binary_cross_entropy_with_logits(z, y, pos_weight=torch.tensor(499.0), reduction="none")
    assert per_example[y == 1].sum().item() == pytest.approx(per_example[y == 0].sum().item(), rel=1e-4)


# ---------------------------------------------------------------- garbage never raises

_values = st.one_of(
    st.none(), st.just(...), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["53/40", "1/0", "0/0", "-1/3", "1e400", "nan", "batchmean"]),
    st.lists(st.floats(allow_nan=False, width=32), max_size=4),
    st.builds(torch.randn, st.integers(0, 3), st.integers(1, 3)),
)
_functions = st.one_of(
    st.just(_raise),
    _values.map(lambda value: (lambda *args, **kwargs: value)),
    st.just(lambda *args: args[0] if args else None),  # returns the logits unchanged
    st.just(lambda *args: args),
    st.just(lambda z, p: torch.ones_like(z, dtype=torch.long)),
    st.just(lambda z, p: torch.ones_like(z, dtype=torch.bool)),
    st.just(lambda z, p: torch.tensor(1j)),
)


@pytest.mark.parametrize("check", [check_kl_batchmean, check_weighted_mean, check_pos_weight],
                         ids=lambda f: f.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=st.one_of(_values, _functions))
def test_checker_answers_any_input_without_raising(check, answer, capsys):
    verdict = check(answer)
    assert verdict is False or verdict is True
    out = capsys.readouterr().out
    assert out.startswith(("✓ correct: ", "✗ not yet: ")), out
