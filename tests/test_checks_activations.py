"""Checkers of notebook 01 (activations): one table per checker of right answers, named mistakes and garbage."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wd_helpers import activations as act
from wd_helpers.checks import check_output_activation, check_sigmoid_derivative, check_stable_softmax


def _verdict(capsys, check, *args):
    ok = check(*args)
    return ok, capsys.readouterr().out


# ---------------------------------------------------------------- σ′


def _sigmoid_by_autograd(x):
    x = x.detach().clone().requires_grad_()
    torch.sigmoid(x).sum().backward()
    return x.grad


def _sigmoid_by_autograd_grad(x):
    x = x.detach().clone().requires_grad_()
    return torch.autograd.grad(torch.sigmoid(x).sum(), x)[0]


def _raises(x):
    raise RuntimeError("boom")


SIGMOID_RIGHT = {
    "formula": lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
    "course sigmoid": lambda x: act.sigmoid(x) * (1 - act.sigmoid(x)),
    "σ(x)σ(−x)": lambda x: torch.sigmoid(x) * torch.sigmoid(-x),
    "exp form, stable": lambda x: torch.exp(-x.abs()) / (1 + torch.exp(-x.abs())) ** 2,  # σ′ is even
    "autograd backward": _sigmoid_by_autograd,
    "autograd.grad": _sigmoid_by_autograd_grad,
    "act.derivative": lambda x: act.derivative(act.sigmoid, x),
    "float64": lambda x: (torch.sigmoid(x) * (1 - torch.sigmoid(x))).double(),
    "keeps grad": lambda x: (lambda s: s * (1 - s))(torch.sigmoid(x.requires_grad_())),
}

SIGMOID_WRONG = {  # the learner's function → a word the hint must contain
    "σ itself": (torch.sigmoid, "σ(x) itself"),
    "tanh′": (lambda x: 1 - torch.tanh(x) ** 2, "tanh"),
    "1 − σ²": (lambda x: 1 - torch.sigmoid(x) ** 2, "1 − σ²"),
    "x(1 − x)": (lambda x: x * (1 - x), "to x itself"),
    "σ′ of σ(x)": (lambda x: torch.sigmoid(torch.sigmoid(x)) * (1 - torch.sigmoid(torch.sigmoid(x))), "wrong input"),
    "σ′ of 2x": (lambda x: torch.sigmoid(2 * x) * (1 - torch.sigmoid(2 * x)), "wrong input"),
    "σ′ of x/2": (lambda x: torch.sigmoid(x / 2) * (1 - torch.sigmoid(x / 2)), "wrong input"),
    "negated": (lambda x: -torch.sigmoid(x) * (1 - torch.sigmoid(x)), "sign"),
    "σ(1 + σ)": (lambda x: torch.sigmoid(x) * (1 + torch.sigmoid(x)), "(1 + σ(x))"),
    "summed": (lambda x: (torch.sigmoid(x) * (1 - torch.sigmoid(x))).sum(), "shape"),
    "flattened": (lambda x: (torch.sigmoid(x) * (1 - torch.sigmoid(x))).flatten(), "shape"),
    "constant ¼": (lambda x: torch.full_like(x, 0.25), "σ(x)·(something)"),
    "nan": (lambda x: x * float("nan"), "nan"),
    "σ²": (lambda x: torch.sigmoid(x) ** 2, "σ(x)²"),
    "σ(x)(1 − σ(−x))": (lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(-x)), "1 − σ(−x)"),
    "1 − σ": (lambda x: 1 - torch.sigmoid(x), "1 − σ(x) = σ(−x)"),
    "exp(−x)/(1 + exp(−x))": (lambda x: torch.exp(-x) / (1 + torch.exp(-x)), "exp(−x)/(1 + exp(−x))"),
    "forward difference, float32": (lambda x: (torch.sigmoid(x + 1e-3) - torch.sigmoid(x)) / 1e-3, "finite difference"),
    "central difference, float32": (lambda x: (torch.sigmoid(x + 1e-4) - torch.sigmoid(x - 1e-4)) / 2e-4,
                                    "finite difference"),
    "unfinished": (lambda x: None, "returns nothing"),
    "raises": (_raises, "raised RuntimeError"),
    # right on |x| ≤ 8, nan at ±1000: exp overflows to inf and inf / inf = nan
    "exp(−x)/(1 + exp(−x))², overflows": (lambda x: torch.exp(-x) / (1 + torch.exp(-x)) ** 2, "overflows"),
    "exp(x)/(1 + exp(x))², overflows": (lambda x: torch.exp(x) / (1 + torch.exp(x)) ** 2, "nan at large |x|"),
}

GARBAGE = [None, ..., "sigmoid", 3, [1.0, 2.0], torch.zeros(3), lambda x: "text", lambda x: [0.25] * 3,
           lambda x, y: x, lambda: 1.0]


@pytest.mark.parametrize("name", SIGMOID_RIGHT)
def test_sigmoid_derivative_accepts_every_correct_method(name, capsys):
    ok, out = _verdict(capsys, check_sigmoid_derivative, SIGMOID_RIGHT[name])
    assert ok, out


@pytest.mark.parametrize("name", SIGMOID_WRONG)
def test_sigmoid_derivative_names_the_mistake(name, capsys):
    fn, named = SIGMOID_WRONG[name]
    ok, out = _verdict(capsys, check_sigmoid_derivative, fn)
    assert not ok and named in out, out


@pytest.mark.parametrize("answer", GARBAGE)
def test_sigmoid_derivative_answers_garbage_without_raising(answer, capsys):
    ok, out = _verdict(capsys, check_sigmoid_derivative, answer)
    assert not ok and out.startswith("✗")


# ---------------------------------------------------------------- softmax


def _row_max(z):
    return z.max(dim=-1, keepdim=True).values


def _stable(z):
    e = torch.exp(z - _row_max(z))
    return e / e.sum(dim=-1, keepdim=True)


SOFTMAX_RIGHT = {
    "row max": _stable,
    "amax": lambda z: torch.exp(z - z.amax(-1, keepdim=True)) / torch.exp(z - z.amax(-1, keepdim=True)).sum(-1, keepdim=True),
    "logsumexp": lambda z: torch.exp(z - torch.logsumexp(z, dim=-1, keepdim=True)),
    "course softmax": act.softmax,
    "float64 in numpy-like style": lambda z: _stable(z.double()),
    "in-place on its argument": lambda z: (lambda e: e / e.sum(-1, keepdim=True))(z.sub_(_row_max(z)).exp_()),
}


def _global_max(z):
    e = torch.exp(z - z.max())
    return e / e.sum(dim=-1, keepdim=True)


def _no_keepdim(z):
    e = torch.exp(z - z.max(dim=-1).values)
    return e / e.sum(dim=-1)


def _no_keepdim_on_sum(z):
    e = torch.exp(z - _row_max(z))
    return e / e.sum(dim=-1)


def _square_no_keepdim(z):  # passes on 1-D, broadcasts silently on (N, N)
    e = torch.exp(z - z.max(dim=-1).values) if z.dim() == 2 and z.shape[0] == z.shape[1] else torch.exp(z - _row_max(z))
    return e / e.sum(dim=-1, keepdim=True)


SOFTMAX_WRONG = {
    "naive": (lambda z: torch.exp(z) / torch.exp(z).sum(dim=-1, keepdim=True), "no stabilisation"),
    "mean shift": (lambda z: (lambda e: e / e.sum(-1, keepdim=True))(torch.exp(z - z.mean(-1, keepdim=True))),
                   "subtracted the MEAN, not the maximum"),
    "global max": (_global_max, "GLOBAL maximum"),
    "dim 0": (lambda z: torch.exp(z - z.amax(0, keepdim=True)) / torch.exp(z - z.amax(0, keepdim=True)).sum(0, keepdim=True),
              "wrong dimension"),
    "dim 1 (no 1-D)": (lambda z: torch.exp(z - z.amax(1, keepdim=True)) / torch.exp(z - z.amax(1, keepdim=True)).sum(1, keepdim=True),
                       "dim=-1"),
    "global max, global sum": (lambda z: torch.exp(z - z.max()) / torch.exp(z - z.max()).sum(), "ALL entries"),
    "row max, global sum": (lambda z: torch.exp(z - _row_max(z)) / torch.exp(z - _row_max(z)).sum(), "ALL entries"),
    "torch.softmax": (lambda z: torch.softmax(z, dim=-1), "ready-made softmax"),
    "F.softmax": (lambda z: F.softmax(z, dim=-1), "ready-made softmax"),
    "nn.Softmax": (lambda z: nn.Softmax(dim=-1)(z), "ready-made softmax"),
    "Tensor.softmax": (lambda z: z.softmax(-1), "ready-made softmax"),
    "torch.special.softmax": (lambda z: torch.special.softmax(z, -1), "ready-made softmax"),
    "exp of log_softmax": (lambda z: torch.log_softmax(z, -1).exp(), "ready-made softmax"),
    "the course's act.softmax, looked up": (lambda z: act.softmax(z), "ready-made softmax"),
    "no keepdim": (_no_keepdim, "keepdim"),
    "no keepdim on the sum": (_no_keepdim_on_sum, "keepdim"),
    "no keepdim, square batch": (_square_no_keepdim, "keepdim"),
    "log-softmax": (lambda z: z - _row_max(z) - torch.exp(z - _row_max(z)).sum(-1, keepdim=True).log(), "log-softmax"),
    "flattened": (lambda z: _stable(z).flatten(), "shape"),
    "summed": (lambda z: _stable(z).sum(), "shape"),
    "unnormalised": (lambda z: torch.exp(z - _row_max(z)), "should be"),
    "unfinished": (lambda z: None, "returns nothing"),
    "raises": (_raises, "raised RuntimeError"),
}


@pytest.mark.parametrize("name", SOFTMAX_RIGHT)
def test_stable_softmax_accepts_every_correct_form(name, capsys):
    ok, out = _verdict(capsys, check_stable_softmax, SOFTMAX_RIGHT[name])
    assert ok, out


@pytest.mark.parametrize("name", SOFTMAX_WRONG)
def test_stable_softmax_names_the_mistake(name, capsys):
    fn, named = SOFTMAX_WRONG[name]
    ok, out = _verdict(capsys, check_stable_softmax, fn)
    assert not ok and named in out, out


@pytest.mark.parametrize("answer", GARBAGE)
def test_stable_softmax_answers_garbage_without_raising(answer, capsys):
    ok, out = _verdict(capsys, check_stable_softmax, answer)
    assert not ok and out.startswith("✗")


def test_stable_softmax_puts_the_library_back(capsys):
    """The check swaps the ready-made softmaxes out while it runs the learner's function: all are back after."""
    before = (torch.softmax, F.softmax, torch.special.softmax, torch.Tensor.softmax, act.softmax, torch.log_softmax)
    check_stable_softmax(lambda z: torch.softmax(z, -1))
    check_stable_softmax(_raises)
    assert (torch.softmax, F.softmax, torch.special.softmax, torch.Tensor.softmax, act.softmax, torch.log_softmax) == before
    assert torch.allclose(torch.tensor([1.0, 1.0]).softmax(-1), torch.tensor([0.5, 0.5]))


def test_global_max_softmax_really_fails_only_on_rows_far_apart():
    """The mistake the hint names: right for one row, 0/0 when another row sits 2000 below the global max."""
    assert torch.allclose(_global_max(torch.tensor([1000.0, 0.0, -1000.0])), torch.softmax(torch.tensor([1000.0, 0.0, -1000.0]), -1))
    assert torch.isnan(_global_max(torch.tensor([[1000.0, 999.0], [-1000.0, -1001.0]]))[1]).all()


# ---------------------------------------------------------------- output activation

OUTPUT_RIGHT = [
    ("multi-class", "softmax"), ("multi-class", "Softmax"), ("multi-class", " SOFTMAX "),
    ("multi-class", "nn.Softmax"), ("multi-class", "torch.nn.Softmax(dim=1)"), ("multi-class", "torch.softmax"),
    ("multi-class", "F.softmax"), ("multi-class", nn.Softmax), ("multi-class", nn.Softmax(dim=1)),
    ("multi-class", torch.softmax), ("multi-class", F.softmax), ("multi-class", act.softmax),
    ("binary", "sigmoid"), ("binary", "torch.sigmoid"), ("binary", nn.Sigmoid), ("binary", "logistic"),
    ("multi-label", "Sigmoid"), ("multi-label", torch.sigmoid), ("multi-label", "nn.Sigmoid()"),
    ("regression", "identity"), ("regression", "none"), ("regression", "None"), ("regression", "nn.Identity"),
    ("regression", nn.Identity), ("regression", "linear"), ("regression", "no activation"),
    ("multi-class", "the softmax"), ("multi-class", "softmax activation"), ("multi-class", "Softmax function"),
    ("multi-class", torch.special.softmax), ("multi-class", lambda z: torch.softmax(z, dim=-1)),
    ("multi-class", _stable), ("binary", "the sigmoid function"), ("binary", lambda t: 1 / (1 + torch.exp(-t))),
    ("regression", lambda t: t), ("regression", "none / identity"),
    ("multi-class", nn.Softmax(dim=-1)), ("multi-class", nn.Softmax()), ("multi-class", "nn.Softmax(dim=-1)"),
    ("multi-class", "torch.softmax(z, dim = 1)"),
]

OUTPUT_WRONG = [  # (task, answer, a word the hint must contain)
    ("multi-class", "identity", "raw scores are not probabilities"),
    ("multi-class", "none", "CrossEntropyLoss applies"),
    ("multi-class", nn.Identity, "logits"),
    ("multi-class", "sigmoid", "need not sum to 1"),
    ("multi-class", "relu", "unbounded"),
    ("multi-class", nn.ReLU, "unbounded"),
    ("multi-class", "tanh", "(−1, 1)"),
    ("multi-class", "log_softmax", "log-probabilities"),
    ("multi-class", nn.LogSoftmax, "log-probabilities"),
    ("binary", "softmax", "single score is always 1"),
    ("binary", "identity", "BCEWithLogitsLoss"),
    ("multi-label", "softmax", "own probability"),
    ("regression", "sigmoid", "(0, 1)"),
    ("regression", "relu", "negative"),
    ("regression", "softmax", "sum to 1"),
    ("multi-class", "softplus", "is not one of"),
    ("multi-class", "logits", "raw scores themselves"),
    ("multi-class", "argmax", "argmax picks the predicted class"),
    ("multi-class", "relu", "do not sum to 1"),
    ("multi-class", "tanh", "do not sum to 1"),
    ("multi-class", lambda z: torch.sigmoid(z), "need not sum to 1"),
    ("multi-class", lambda z: z, "raw scores are not probabilities"),
    ("binary", "relu", "not probabilities"),
    ("regression", "tanh", "could not leave (−1, 1)"),
    ("regression", "logits", "used as it is"),
    ("multi-class", nn.Softmax(dim=0), "wrong dimension"),
    ("multi-class", "nn.Softmax(dim=0)", "wrong dimension"),
    ("multi-class", "F.softmax(z, dim=0)", "wrong dimension"),
    ("multi-class", lambda z: torch.softmax(z, dim=0), "wrong dimension"),
    ("multi-class", lambda z: torch.exp(z) / torch.exp(z).sum(), "ALL entries"),
    ("binary", nn.Softmax(dim=0), "single score is always 1"),
    ("regression", lambda z: torch.exp(z) / torch.exp(z).sum(), "sum to 1"),
]

OUTPUT_GARBAGE = [None, ..., 3, 0.5, ["softmax"], {"a": 1}, torch.zeros(2), nn.Linear, int, lambda z: z, "",
                  lambda z: 1 / 0, lambda z: "softmax", lambda: 1]


@pytest.mark.parametrize(("task", "answer"), OUTPUT_RIGHT)
def test_output_activation_accepts_every_correct_form(task, answer, capsys):
    ok, out = _verdict(capsys, check_output_activation, task, answer)
    assert ok, out


@pytest.mark.parametrize(("task", "answer", "named"), OUTPUT_WRONG)
def test_output_activation_refuses_with_the_reason(task, answer, named, capsys):
    ok, out = _verdict(capsys, check_output_activation, task, answer)
    assert not ok and named in out, out


@pytest.mark.parametrize("answer", OUTPUT_GARBAGE)
def test_output_activation_answers_garbage_without_raising(answer, capsys):
    ok, out = _verdict(capsys, check_output_activation, "multi-class", answer)
    assert not ok and out.startswith("✗")


def test_output_activation_refuses_an_unknown_task_without_raising(capsys):
    ok, out = _verdict(capsys, check_output_activation, "ranking", "softmax")
    assert not ok and "task must be one of" in out
