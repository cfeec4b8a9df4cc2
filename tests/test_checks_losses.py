"""Checkers of notebook 02 (losses): one table per checker of right answers, named mistakes and garbage."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wd_helpers.checks import LOSS_FOR_TASK, check_entropy, check_loss_for_task, check_stable_cross_entropy


def verdict(capsys, check, *args):
    ok = check(*args)
    out = capsys.readouterr().out
    assert out.startswith(("✓ correct: ", "✗ not yet: ")) and out.count("\n") == 1, out
    return ok, out


# ---------------------------------------------------------------- check_stable_cross_entropy


def _log_softmax(z):
    return z - torch.logsumexp(z, dim=1, keepdim=True)


def _raises(z, t):
    raise RuntimeError("boom")


def _per_example(z, t):  # written from logsumexp, as the exercise asks
    return torch.logsumexp(z, 1) - z[range(len(t)), t]


def _mean_ce(z, t):
    return _per_example(z, t).mean()


def _one_hot_without_num_classes(z, t):
    return -(F.one_hot(t) * _log_softmax(z)).sum(1).mean()


def _calls_the_module(z, t):
    loss = nn.CrossEntropyLoss()
    return loss(z, t)


def _calls_the_course_version(z, t):
    from wd_helpers import losses

    return losses.cross_entropy(z, t)


CE_RIGHT = {
    "logsumexp by hand": lambda z, t: (torch.logsumexp(z, 1) - z[range(len(t)), t]).mean(),
    "gather": lambda z, t: -_log_softmax(z).gather(1, t.unsqueeze(1)).mean(),
    "torch.log_softmax and gather": lambda z, t: -torch.log_softmax(z, dim=1).gather(1, t[:, None]).mean(),
    "one-hot with num_classes": lambda z, t: -(F.one_hot(t, z.shape[1]) * _log_softmax(z)).sum(1).mean(),
    "max shift by hand": lambda z, t: (
        (z.max(1).values + torch.log(torch.exp(z - z.max(1, keepdim=True).values).sum(1))) - z[range(len(t)), t]
    ).mean(),
    "python float": lambda z, t: _mean_ce(z, t).item(),
    "float64": lambda z, t: _mean_ce(z.double(), t),
    "keeps its graph": lambda z, t: _mean_ce(z.requires_grad_(), t),
    "global max inside logsumexp": lambda z, t: (z.max() + torch.logsumexp(z - z.max(), 1) - z[range(len(t)), t]).mean(),
}

CE_WRONG = {  # name → (function, words the hint must contain)
    "F.cross_entropy": (F.cross_entropy, "that is the built-in"),
    "F.cross_entropy inside": (lambda z, t: F.cross_entropy(z, t), "that is the built-in"),
    "nll_loss of log_softmax": (lambda z, t: F.nll_loss(torch.log_softmax(z, dim=1), t), "that is the built-in"),
    "an nn.CrossEntropyLoss instance": (nn.CrossEntropyLoss(), "that is the built-in"),
    "an nn.CrossEntropyLoss inside": (_calls_the_module, "that is the built-in"),
    "an nn.NLLLoss instance after log_softmax": (lambda z, t: nn.NLLLoss()(torch.log_softmax(z, 1), t), "the built-in"),
    "the course's own": (_calls_the_course_version, "that is the built-in"),
    "built-in, unreduced": (lambda z, t: F.cross_entropy(z, t, reduction="none"), "that is the built-in"),
    "global max": (lambda z, t: (z.max() + torch.log(torch.exp(z - z.max()).sum(1)) - z[range(len(t)), t]).mean(),
                   "dim=1, keepdim=True"),
    "max not added back": (
        lambda z, t: (torch.log(torch.exp(z - z.max(1, keepdim=True).values).sum(1)) - z[range(len(t)), t]).mean(),
        "never added it back"),
    "global max not added back": (
        lambda z, t: (torch.log(torch.exp(z - z.max()).sum(1)) - z[range(len(t)), t]).mean(), "never added it back"),
    "log-softmax over dim 0": (lambda z, t: -(z - torch.logsumexp(z, 0, keepdim=True))[range(len(t)), t].mean(),
                               "dim 0"),
    "torch.log_softmax over dim 0": (lambda z, t: -torch.log_softmax(z, 0)[range(len(t)), t].mean(), "dim 0"),
    "logsumexp over dim 0": (lambda z, t: (torch.logsumexp(z, 0) - z[range(len(t)), t]).mean(), "dim 0"),
    "F.one_hot without num_classes": (_one_hot_without_num_classes, "num_classes"),
    "unreduced": (_per_example, "reduce with the mean"),
    "sum, not mean": (lambda z, t: _per_example(z, t).sum(), "sum over the batch"),
    "log(softmax)": (
        lambda z, t: -torch.log(torch.softmax(z, 1)[range(len(t)), t]).mean(), "log(softmax(z)) is unstable"
    ),
    "no max shift": (lambda z, t: (torch.log(torch.exp(z).sum(1)) - z[range(len(t)), t]).mean(), "overflows"),
    "clamped log(softmax)": (
        lambda z, t: -torch.log(torch.softmax(z, 1)[range(len(t)), t].clamp(min=1e-12)).mean(),
        "log(softmax(z)) loses",
    ),
    "missing minus": (lambda z, t: _log_softmax(z)[range(len(t)), t].mean(), "missing minus sign"),
    "missing minus and summed": (lambda z, t: _log_softmax(z)[range(len(t)), t].sum(), "missing minus sign"),
    "one-hot by broadcasting": (lambda z, t: -(t * _log_softmax(z)).sum(1).mean(), "one-hot"),
    "one-hot by indexing": (lambda z, t: -(_log_softmax(z)[t.bool()]).mean(), "one-hot"),
    "slightly off": (lambda z, t: _mean_ce(z, t) * 1.01, "expected"),
    "ignores the target": (lambda z, t: (torch.logsumexp(z, 1) - z.max(1).values).mean(), "never use target"),
    "mean over N·C": (lambda z, t: -(F.one_hot(t, z.shape[1]) * _log_softmax(z)).mean(), "N·C"),
    "in bits": (lambda z, t: _mean_ce(z, t) / math.log(2), "bits"),
    "z[:, t] block": (lambda z, t: -_log_softmax(z)[:, t].mean(), "z[range(N), target]"),
    "z[:, t] block, logsumexp": (lambda z, t: (torch.logsumexp(z, 1) - z[:, t]).mean(), "z[range(N), target]"),
    "z[:, t] block, sum / N": (lambda z, t: -_log_softmax(z)[:, t].sum() / len(t), "z[range(N), target]"),
    "NaN at moderate logits": (lambda z, t: torch.tensor(float("nan")), "log of 0"),
    "inf at moderate logits": (lambda z, t: -torch.log(torch.zeros(())), "log of 0"),
    "returns nothing": (lambda z, t: None, "returns nothing"),
    "raises": (_raises, "raised RuntimeError"),
    "returns a string": (lambda z, t: "loss", "return the loss as a number"),
    "returns the logits": (lambda z, t: z, "one number"),
    "returns a list": (lambda z, t: [1.0, 2.0, 3.0], "one number"),
    "not a function": (5, "pass a function"),
    "the exercise left as is": (lambda z, t: ..., "nothing"),
}


@pytest.mark.parametrize("name", CE_RIGHT)
def test_stable_cross_entropy_accepts(name, capsys):
    ok, out = verdict(capsys, check_stable_cross_entropy, CE_RIGHT[name])
    assert ok, out


@pytest.mark.parametrize("name", CE_WRONG)
def test_stable_cross_entropy_refuses_and_names_the_mistake(name, capsys):
    fn, hint = CE_WRONG[name]
    ok, out = verdict(capsys, check_stable_cross_entropy, fn)
    assert not ok and hint in out, out


def test_the_built_ins_are_put_back_after_the_check(capsys):
    from wd_helpers import losses

    originals = (F.cross_entropy, F.nll_loss, F.one_hot, nn.CrossEntropyLoss.forward, nn.NLLLoss.forward,
                 losses.cross_entropy, losses.nll_loss)
    for fn in (F.cross_entropy, _raises, _one_hot_without_num_classes, CE_RIGHT["gather"]):
        verdict(capsys, check_stable_cross_entropy, fn)
    assert originals == (F.cross_entropy, F.nll_loss, F.one_hot, nn.CrossEntropyLoss.forward, nn.NLLLoss.forward,
                         losses.cross_entropy, losses.nll_loss)
    assert "forward" not in vars(nn.CrossEntropyLoss()) and F.cross_entropy(torch.zeros(1, 2), torch.tensor([0])) > 0


# ---------------------------------------------------------------- check_entropy

DIE = [0.1, 0.1, 0.1, 0.1, 0.1, 0.5]
DIE_BITS = 0.5 + 0.5 * math.log2(10)  # 2.1609640...

ENTROPY_RIGHT = [DIE_BITS, 2.161, 2.16, "2.16", 2.1610, 2.2, torch.tensor(DIE_BITS), 0.5 + 0.5 * math.log2(10)]
ENTROPY_WRONG = [  # (answer, p, words the hint must contain)
    (DIE_BITS * math.log(2), DIE, "nats"),
    (1.498, DIE, "nats"),
    (1.5, DIE, "nats"),
    (DIE_BITS * math.log10(2), DIE, "base-10"),
    (0.65, DIE, "base-10"),
    (-DIE_BITS, DIE, "minus sign"),
    (-2.16, DIE, "minus sign"),
    (-1.498, DIE, "minus sign"),
    (-sum(math.log2(p) for p in DIE), DIE, "weighted by its probability"),
    (math.log2(6), DIE, "equally likely"),
    (2.1, DIE, "H(p) = −Σ pᵢ log₂ pᵢ"),  # a wrong rounding of 2.161
    (2.17, DIE, "H(p) = −Σ pᵢ log₂ pᵢ"),
    (2, DIE, "H(p) = −Σ pᵢ log₂ pᵢ"),  # one significant digit: too coarse
    (float("nan"), [0.5, 0.5, 0.0], "0·log 0"),
    (1.3, [0.25, 0.25, 0.5, 0.0], "0·log 0 = 0"),
    (0.6931, [0.5, 0.5], "nats"),
    (0.832, DIE, "separate term"),  # −0.1 log₂ 0.1 − 0.5 log₂ 0.5: the five 0.1 faces as one term
    (0.8322, DIE, "separate term"),
    (1, DIE, "lumped"),  # "a 6" vs "not a 6": the five equal faces as one outcome
    (1.0, DIE, "lumped"),
    ("1", DIE, "lumped"),
]
ENTROPY_GARBAGE = [None, ..., "two", [2.16], True, float("inf"), torch.ones(3), nn.ReLU, lambda: 2.16]


@pytest.mark.parametrize("answer", ENTROPY_RIGHT)
def test_entropy_accepts_exact_and_rounded(answer, capsys):
    ok, out = verdict(capsys, check_entropy, answer, DIE)
    assert ok, out


def test_entropy_with_a_zero_probability(capsys):
    assert verdict(capsys, check_entropy, 1.0, [0.5, 0.5, 0.0])[0]
    assert verdict(capsys, check_entropy, 0, [1.0, 0.0])[0]


@pytest.mark.parametrize("answer, p, hint", ENTROPY_WRONG)
def test_entropy_refuses_and_names_the_mistake(answer, p, hint, capsys):
    ok, out = verdict(capsys, check_entropy, answer, p)
    assert not ok and hint in out, out


@pytest.mark.parametrize("answer", ENTROPY_GARBAGE)
def test_entropy_garbage_is_refused(answer, capsys):
    assert not verdict(capsys, check_entropy, answer, DIE)[0]


# ---------------------------------------------------------------- check_loss_for_task

class _MyLoss(nn.modules.loss._Loss):  # a learner's own loss class: a loss, but not a torch.nn one
    pass


LOSS_RIGHT = [  # (task, answer)
    ("multi-label", "BCEWithLogitsLoss"),
    ("multi-label", "MultiLabelSoftMarginLoss"),
    ("multi-label", "nn.BCEWithLogitsLoss"),
    ("multi-label", "torch.nn.BCEWithLogitsLoss"),
    ("multi-label", "nn.BCEWithLogitsLoss()"),
    ("multi-label", nn.BCEWithLogitsLoss),
    ("multi-label", nn.BCEWithLogitsLoss()),
    ("multi-label", nn.MultiLabelSoftMarginLoss),
    ("multi-label", "bcewithlogitsloss"),
    ("multi-label", "  BCE With Logits Loss "),
    ("multi-label", "BCE_with_logits_loss"),
    ("multi-label", F.binary_cross_entropy_with_logits),
    ("multi-label", "F.binary_cross_entropy_with_logits"),
    ("multi-class", "CrossEntropyLoss"),
    ("multi-class", "torch.nn.CrossEntropyLoss"),
    ("multi-class", nn.CrossEntropyLoss(label_smoothing=0.1)),
    ("multi-class", "cross_entropy"),
    ("multi-class", "MultiMarginLoss"),
    ("binary", "BCEWithLogitsLoss"),
    ("binary", nn.BCEWithLogitsLoss),
    ("binary", "SoftMarginLoss"),
    ("multi-label", "SoftMarginLoss"),  # with ±1 targets per label it equals MultiLabelSoftMarginLoss
    ("multi-label", nn.SoftMarginLoss()),
    ("regression", "MSELoss"),
    ("regression", "mseloss"),
    ("regression", nn.MSELoss()),
    ("regression", "L1Loss"),
    ("regression", "HuberLoss"),
    ("regression", nn.SmoothL1Loss),
    ("multi-label", "MultiLabelMarginLoss"),  # the multi-label hinge: valid, with its index-list targets
    ("multi-label", nn.MultiLabelMarginLoss),
]
LOSS_WRONG = [  # (task, answer, words the hint must contain)
    ("multi-label", "CrossEntropyLoss", "compete"),
    ("multi-label", nn.CrossEntropyLoss, "compete"),
    ("multi-label", "CrossEntropy", "compete"),  # read as F.cross_entropy
    ("multi-label", "BCELoss", "expects probabilities"),
    ("multi-label", nn.BCELoss(), "expects probabilities"),
    ("multi-label", "NLLLoss", "log-probabilities"),
    ("multi-label", "MSELoss", "regression loss"),
    ("multi-label", "MultiMarginLoss", "one correct class"),
    ("multi-class", "NLLLoss", "log_softmax"),
    ("multi-class", nn.NLLLoss, "log_softmax"),
    ("multi-class", "BCEWithLogitsLoss", "do not compete"),
    ("multi-class", "MultiLabelSoftMarginLoss", "multi-label"),
    ("multi-class", "BCELoss", "expects probabilities"),
    ("multi-class", "MSELoss", "regression loss"),
    ("multi-class", "KLDivLoss", "log-probability"),
    ("binary", "BCELoss", "expects probabilities"),
    ("binary", "CrossEntropyLoss", "always 0"),
    ("binary", "MSELoss", "regression loss"),
    ("binary", "NLLLoss", "log-probabilities"),
    ("regression", "CrossEntropyLoss", "classification loss"),
    ("regression", "BCEWithLogitsLoss", "classification loss"),
    ("regression", "GaussianNLLLoss", "variance"),
    ("regression", "NLLLoss", "log-probabilities"),
    ("multi-label", nn.CosineEmbeddingLoss, "learns embeddings"),
    ("multi-class", nn.TripletMarginLoss(), "learns embeddings"),
    ("multi-class", "MultiLabelMarginLoss", "multi-label loss"),
    ("multi-class", "SoftMarginLoss", "do not compete"),
    ("multi-class", nn.MultiLabelMarginLoss, "multi-label loss"),
    ("multi-label", "HingeEmbeddingLoss", "learns embeddings"),
    ("multi-label", nn.HingeEmbeddingLoss, "learns embeddings"),
    ("multi-label", "MarginRankingLoss", "ranks pairs"),
    ("multi-label", "CTCLoss", "sequence"),
    ("multi-label", "BCEWithLogits", "did you mean BCEWithLogitsLoss"),
    ("multi-label", "BCE with logits", "did you mean BCEWithLogitsLoss"),
    ("multi-label", "sigmoid + BCELoss", "did you mean BCEWithLogitsLoss"),
    ("multi-label", "nn.Sigmoid() then nn.BCELoss()", "did you mean BCEWithLogitsLoss"),
    ("multi-class", "softmax + CrossEntropyLoss", "did you mean CrossEntropyLoss"),
    ("multi-class", "CrossEntropyLos", "did you mean CrossEntropyLoss"),
    ("multi-label", _MyLoss, "not the loss for multi-label"),
]
LOSS_GARBAGE = [  # (answer, words the hint must contain)
    (None, "set the answer"),
    (..., "set the answer"),
    ("", "not a torch.nn loss"),
    ("Entropy", "not a torch.nn loss"),
    ("softmax", "not a torch.nn loss"),
    (nn.ReLU, "'ReLU' is not a torch.nn loss"),
    (nn.Linear(2, 2), "not a torch.nn loss"),
    (int, "not a torch.nn loss"),
    (3, "not a torch.nn loss"),
    (["BCEWithLogitsLoss"], "not a torch.nn loss"),
    (torch.zeros(2), "not a torch.nn loss"),
    (lambda: "BCEWithLogitsLoss", "not a torch.nn loss"),
]


@pytest.mark.parametrize("task, answer", LOSS_RIGHT)
def test_loss_for_task_accepts_every_correct_form(task, answer, capsys):
    ok, out = verdict(capsys, check_loss_for_task, task, answer)
    assert ok, out


@pytest.mark.parametrize("task, answer, hint", LOSS_WRONG)
def test_loss_for_task_refuses_and_says_why(task, answer, hint, capsys):
    ok, out = verdict(capsys, check_loss_for_task, task, answer)
    assert not ok and hint in out, out


@pytest.mark.parametrize("answer, hint", LOSS_GARBAGE)
def test_loss_for_task_garbage_is_refused(answer, hint, capsys):
    ok, out = verdict(capsys, check_loss_for_task, "multi-label", answer)
    assert not ok and hint in out, out


@pytest.mark.parametrize("task", LOSS_FOR_TASK)
def test_the_standard_loss_of_every_task_is_accepted(task, capsys):
    assert verdict(capsys, check_loss_for_task, task, LOSS_FOR_TASK[task])[0]


def test_unknown_task_is_answered_not_raised(capsys):
    ok, out = verdict(capsys, check_loss_for_task, "ranking", "MSELoss")
    assert not ok and "task must be one of" in out


_NN_LOSSES = sorted(name for name in dir(nn) if isinstance(getattr(nn, name), type)
                    and issubclass(getattr(nn, name), nn.modules.loss._Loss) and not name.startswith("_"))


@pytest.mark.parametrize("name", _NN_LOSSES)
@pytest.mark.parametrize("task", LOSS_FOR_TASK)
def test_string_and_class_forms_get_the_same_verdict(task, name, capsys):
    by_string = verdict(capsys, check_loss_for_task, task, name)
    by_class = verdict(capsys, check_loss_for_task, task, getattr(nn, name))
    assert by_string == by_class and "not a torch.nn loss I know" not in by_string[1], (by_string, by_class)
