"""Checkers of notebook 01b (initialisation): a table per checker of right answers, named mistakes and garbage."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wd_helpers import init
from wd_helpers.checks import check_he_uniform, check_he_variance
from wd_helpers.checks.initialisation import FAN_IN, FAN_OUT

# ---------------------------------------------------------------- exercise 1: He's variance for Linear(300, 200) + ReLU

VARIANCES = [  # (answer, verdict, a phrase the hint must contain); the answer is 2/300 = 0.00667
    (2 / 300, True, "2/n_in"),
    (1 / 150, True, "2/n_in"),
    ("2/300", True, "2/n_in"),  # a fraction typed as a string
    (" 1/150 ", True, "2/n_in"),
    (0.0067, True, "2/n_in"),  # rounded as the notebook prints it, two significant digits
    (0.00667, True, "2/n_in"),
    ("0.0067", True, "2/n_in"),
    (6.67e-3, True, "2/n_in"),
    (np.float64(2 / 300), True, "2/n_in"),
    (np.float32(0.0067), True, "2/n_in"),  # float32 holds 0.0066999998…, still typed as 0.0067
    (torch.tensor(2 / 300), True, "2/n_in"),
    (torch.tensor([0.0067]), True, "2/n_in"),
    (init.kaiming_std((200, 300), nonlinearity="relu") ** 2, True, "2/n_in"),  # computed with the package
    (0.007, False, "one significant digit"),
    (0.0068, False, "is not it"),  # rounded wrongly
    (2 / 200, False, "n_out"),  # the wrong fan
    (0.01, False, "n_out"),
    (1 / 300, False, "forgot the factor 2"),
    (0.0033, False, "forgot the factor 2"),
    (1 / 200, False, "wrong fan"),
    (math.sqrt(2 / 300), False, "the std"),  # a std given where a variance is asked
    (0.082, False, "the std"),
    (0.1, False, "a std, √(2/n_out)"),
    (2 / 500, False, "Xavier"),
    (1 / 900, False, "nn.Linear's default"),
    (math.sqrt(6 / 300), False, "UNIFORM"),
    (6 / 300, False, "bound squared"),
    (4 / 300, False, "twice"),
    (0.5, False, "is not it"),
    (0.0, False, "all-zero weights"),
    (-2 / 300, False, "never negative"),
    (None, False, "set he_variance"),
    (..., False, "set he_variance"),
    ("two over three hundred", False, "answer with a number"),
    ("2/0", False, "answer with a number"),
    ([2 / 300], False, "answer with a number"),
    (torch.ones(3), False, "answer with a number"),
    (float("nan"), False, "finite"),
    (float("inf"), False, "finite"),
    (True, False, "answer with a number"),
]


@pytest.mark.parametrize("answer, verdict, phrase", VARIANCES)
def test_he_variance_checker(answer, verdict, phrase, capsys):
    assert check_he_variance(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_the_exercise_layer_tells_the_mistakes_apart():
    # every mistake the checker names is a different number, and none is the answer (to two significant digits)
    from wd_helpers.checks.initialisation import _variance_mistakes

    values = [2 / FAN_IN] + [wrong for wrong, _ in _variance_mistakes(FAN_IN, FAN_OUT)]
    rounded = [f"{v:.2g}" for v in values]
    assert len(set(rounded)) == len(rounded), rounded


def test_he_variance_is_what_torch_draws():
    w = torch.nn.init.kaiming_normal_(torch.empty(FAN_OUT, FAN_IN), nonlinearity="relu",
                                      generator=torch.Generator().manual_seed(0))
    assert w.var().item() == pytest.approx(2 / FAN_IN, rel=0.02)
    assert w.var().item() != pytest.approx(2 / FAN_OUT, rel=0.2)  # the fan_out mistake is not it


# ---------------------------------------------------------------- exercise 2: He's uniform initialiser


def _bound(shape, numerator=6.0, fan=1):
    return math.sqrt(numerator / shape[fan])


def _uniform(shape, g, bound):
    return (torch.rand(shape, generator=g) * 2 - 1) * bound


def _raise(shape, generator):
    raise RuntimeError("not finished")


_own = torch.Generator()

UNIFORMS = [  # (the learner's function, verdict, a phrase the hint must contain)
    (lambda s, g: _uniform(s, g, _bound(s)), True, "√(6/300)"),
    (lambda s, g: torch.empty(s).uniform_(-_bound(s), _bound(s), generator=g), True, "√(6/300)"),
    (lambda s, g: torch.rand(s, generator=g) * 2 * _bound(s) - _bound(s), True, "√(6/300)"),  # not bit-equal: close
    (lambda s, g: torch.nn.init.kaiming_uniform_(torch.empty(s), nonlinearity="relu", generator=g), True, "variance"),
    (lambda s, g: init.kaiming_uniform(s, nonlinearity="relu", generator=g), True, "b²/3"),
    (lambda s, g: _uniform(s[::-1], g, _bound(s)).T, True, "√(6/300)"),  # another correct draw from the generator
    (lambda s, g: _uniform(s, g, _bound(s)).numpy(), True, "√(6/300)"),
    (lambda s, g: torch.nn.Parameter(_uniform(s, g, _bound(s))), True, "√(6/300)"),
    (lambda s, g: (torch.rand(s, generator=g, dtype=torch.float64) * 2 - 1) * _bound(s), True, "√(6/300)"),
    # the mistakes, each named
    (lambda s, g: _uniform(s, g, _bound(s, fan=0)), False, "fan_out = shape[0]"),  # n_out instead of n_in
    (lambda s, g: _uniform(s, g, _bound(s, 3.0)), False, "factor 2 for ReLU is missing"),
    (lambda s, g: _uniform(s, g, _bound(s, 2.0)), False, "He's std"),  # the std used as the bound
    (lambda s, g: _uniform(s, g, 1 / math.sqrt(s[1])), False, "nn.Linear's default"),
    (lambda s, g: torch.nn.init.xavier_uniform_(torch.empty(s), generator=g), False, "Xavier"),
    (lambda s, g: _uniform(s, g, 2 / s[1]), False, "the VARIANCE"),
    (lambda s, g: _uniform(s, g, 6 / s[1]), False, "square root"),
    (lambda s, g: torch.randn(s, generator=g) * _bound(s, 2.0), False, "not uniform (a normal draw"),
    (lambda s, g: torch.randn(s, generator=g), False, "not uniform on (−b, b)"),
    (lambda s, g: torch.rand(s, generator=g) * _bound(s), False, "≥ 0"),
    (lambda s, g: _uniform(s, g, math.sqrt(6 / 300)), False, "follow the shape passed in"),  # 300 hard-coded
    (lambda s, g: _uniform(s, g, _bound(s)) * 1.3, False, "the bound is √(6/fan_in)"),
    (lambda s, g: _uniform(s[::-1], g, _bound(s)), False, "transposed"),
    (lambda s, g: _uniform(s, None, _bound(s)), False, "from the generator passed in"),  # the global generator
    (lambda s, g: _uniform(s, _own.manual_seed(0), _bound(s)), False, "not from one of your own"),
    (lambda s, g: _uniform(s, torch.Generator(), _bound(s)), False, "not from one of your own"),
    (lambda s, g: torch.zeros(s), False, "all 0"),
    (lambda s, g: torch.full(s, math.nan), False, "inf or NaN"),
    # garbage
    (lambda s, g: None, False, "nothing yet"),
    (lambda s, g: ..., False, "nothing yet"),
    (lambda s, g: "weights", False, "should be a tensor"),
    (lambda s, g: [1.0, 2.0], False, "should have shape"),
    (lambda s: torch.zeros(s), False, "raised TypeError"),
    (_raise, False, "raised RuntimeError: not finished"),
    (None, False, "pass a function"),
    (0.14, False, "pass a function"),
]


@pytest.mark.parametrize("answer, verdict, phrase", UNIFORMS)
def test_he_uniform_checker(answer, verdict, phrase, capsys):
    assert check_he_uniform(answer) is verdict
    out = capsys.readouterr().out
    assert phrase in out, out


def test_he_uniform_checker_leaves_the_global_generator_alone(capsys):
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    check_he_uniform(lambda s, g: (torch.rand(s) * 2 - 1) * math.sqrt(6 / s[1]))
    assert torch.equal(torch.random.get_rng_state(), state)


# ---------------------------------------------------------------- garbage never raises

_values = st.one_of(
    st.none(), st.just(...), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["2/300", "1/0", "0/0", "-1/3", "1e400", "nan", "relu"]),
    st.lists(st.floats(allow_nan=False, width=32), max_size=4),
    st.builds(torch.randn, st.integers(0, 3), st.integers(1, 3)),
)
_functions = st.one_of(
    st.just(_raise),
    _values.map(lambda value: (lambda *args, **kwargs: value)),
    st.just(lambda *args: args[0] if args else None),  # returns the shape it was given
    st.just(lambda *args: args),
    st.just(lambda s, g: torch.ones(s, dtype=torch.long)),  # integer weights
    st.just(lambda s, g: torch.ones(s, dtype=torch.bool)),
    st.just(lambda s, g: torch.full(s, math.inf)),
)


@pytest.mark.parametrize("check", [check_he_variance, check_he_uniform], ids=lambda f: f.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=st.one_of(_values, _functions))
def test_checker_answers_any_input_without_raising(check, answer, capsys):
    verdict = check(answer)
    assert verdict is False or verdict is True
    out = capsys.readouterr().out
    assert out.startswith(("✓ correct: ", "✗ not yet: ")), out
