"""Property tests (hypothesis) over the core public API: a bad value gets a clear error, a good one a result.

For every public function and class of regularizers, seeding, models, optim, train, regression, experiments,
classify, activations and losses, and every numeric, flag, choice, sequence or tensor argument it takes
(``SPECS``): any value drawn from that argument's bad values (a bool, a string, None, NaN, ±inf, a negative
or out-of-range number, 5.5 for a count, a list or a multi-element tensor where one value is expected, an
array of the wrong shape, NaN in the data) raises a ValueError or TypeError whose message names the argument,
never another exception and never a result; any value drawn from its good values near the edges (0 where 0 is
allowed, the largest seed, a NumPy number, a one-element tensor, an array for a sequence) is accepted. Every
call is cheap (one epoch, a few units, ten images), so the whole file runs in a few seconds.

``CASES`` counts the calls made; the last test prints it (visible with ``pytest -s``) and checks a floor.
"""

import math
import os
import random
import re
from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from wd_helpers import activations as A
from wd_helpers import classify, experiments, losses as L, optim, regression, regularizers, seeding, train
from wd_helpers.data import load_digits_data, synthetic_regression
from wd_helpers.models import MLP, StackedMLP

CASES = {"bad": 0, "good": 0}
FLOOR = 1500  # calls per full run of this file (about 2 000 with the settings below)

# Each example draws one value for every argument of a module and makes every call: hypothesis costs ~20 ms
# per test and ~1 ms per example here, so one test per module keeps the file at a few seconds while every
# argument is exercised in every example.
# WD_BAD_INPUT_EXAMPLES=200 explores more deeply (a minute or so), e.g. after changing an argument check.
EXAMPLES = int(os.environ.get("WD_BAD_INPUT_EXAMPLES", "7"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
GOOD_EXAMPLES = max(2, EXAMPLES // 3)

# ---------------------------------------------------------------- cheap data

SMALL = synthetic_regression(n_train=4, n_test=3, num_inputs=3, generator=torch.Generator().manual_seed(0))
_digits = load_digits_data(n_train=10)
TINY = replace(_digits, X_test=_digits.X_test[:10], y_test=_digits.y_test[:10])  # 10 + 10 images of 8×8
CE_LOGITS, CE_TARGET = torch.zeros(2, 3), torch.tensor([0, 2])


def _nan_in(t: torch.Tensor, value=math.nan) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[-1] = value
    return t


# ---------------------------------------------------------------- kinds of argument: bad and good values


@dataclass(repr=False)
class Kind:
    bad: st.SearchStrategy
    good: st.SearchStrategy


NOT_ONE_NUMBER = [None, "1", "0.5", "nan", b"1", [0.5], (0.5, 0.5), [0.5, 0.5], {"value": 0.5}, 1j, object(),
                  torch.tensor([0.5, 0.5]), np.array([0.5, 0.5]), np.array([[0.5]]), torch.ones(2, 2), np.True_,
                  True, False, torch.tensor(True)]
NON_FINITE = [math.nan, math.inf, -math.inf, np.float64("nan"), np.float64("-inf"), torch.tensor(math.nan),
              torch.tensor(math.inf)]
NOT_A_FLAG = ["no", "yes", "True", "False", "", 0, 1, 2, 0.0, 1.0, None, [True], (False,), np.array([True]),
              torch.tensor(True), torch.tensor(1)]


def _wrapped(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """A good number as Python, NumPy or a one-element tensor: all three are one number."""
    return strategy.flatmap(lambda v: st.sampled_from([v, np.float64(v), torch.tensor(float(v), dtype=torch.float64)]))


def real(low=None, high=None, *, low_open=False, high_open=False, good_low=None, good_high=None) -> Kind:
    """A finite float in [low, high] (ends excluded when *_open)."""
    outside = [st.sampled_from(NOT_ONE_NUMBER + NON_FINITE)]
    if low is not None:
        below = st.floats(min_value=-1e12, max_value=low, allow_nan=False)
        outside.append(below.filter(lambda v: v <= low if low_open else v < low))
        outside.append(st.integers(-10**6, math.ceil(low)).filter(lambda v: v <= low if low_open else v < low))
    if high is not None:
        above = st.floats(min_value=high, max_value=1e12, allow_nan=False)
        outside.append(above.filter(lambda v: v >= high if high_open else v > high))
    good_low = good_low if good_low is not None else (low if low is not None else -1e6)
    good_high = good_high if good_high is not None else (high if high is not None else 1e6)
    inside = st.floats(min_value=good_low, max_value=good_high, allow_nan=False, allow_infinity=False,
                       exclude_min=low_open and good_low == low, exclude_max=high_open and good_high == high)
    edges = [v for v in (low, high) if v is not None and not (v == low and low_open) and not (v == high and high_open)
             and good_low <= v <= good_high]
    good = st.one_of(inside, st.sampled_from(edges)) if edges else inside
    return Kind(bad=st.one_of(outside), good=_wrapped(good))


POSITIVE = real(0.0, low_open=True, good_low=1e-12, good_high=1.0)
POSITIVE_ANY = real(0.0, low_open=True, good_high=1e6)  # where a large value is as cheap as a small one
NONNEGATIVE = real(0.0, good_high=10.0)
FINITE = real(good_low=-10.0, good_high=10.0)
UNIT_OPEN = real(0.0, 1.0, high_open=True)  # momentum, β, α of RMSProp
PROBABILITY = real(0.0, 1.0)  # a dropout rate, label smoothing


def count(low: int, high: int | None = None, *, good_high: int) -> Kind:
    """An integer in [low, high]: a whole float (3.0) is that integer; 5.5 is not a count."""
    outside = [st.sampled_from(NOT_ONE_NUMBER + NON_FINITE + [0.5, 5.5, -1.5, 1e-9, np.float64(2.5)]),
               st.integers(max_value=low - 1, min_value=low - 10**9)]
    if high is not None:
        outside.append(st.integers(min_value=high + 1, max_value=high + 10**12))
    values = st.integers(low, good_high)
    good = values.flatmap(lambda v: st.sampled_from([v, np.int64(v), float(v), torch.tensor(v)]))
    return Kind(bad=st.one_of(outside), good=good)


SEED = Kind(bad=count(0, 2**63 - 1, good_high=1).bad,
            good=st.one_of(st.integers(0, 2**63 - 1), st.sampled_from([0, 2**63 - 1, np.int64(2**63 - 1)])))
FLAG = Kind(bad=st.sampled_from(NOT_A_FLAG), good=st.booleans())


def choice(*options) -> Kind:
    def not_an_option(v):
        return not (isinstance(v, str) and v in options)
    near = [o.upper() for o in options] + [o.capitalize() for o in options] + [f" {o}" for o in options]
    bad = st.one_of(st.text(max_size=8).filter(not_an_option),
                    st.sampled_from([v for v in near if not_an_option(v)] + [None, 1, 0.0, True, b"l2",
                                                                             [options[0]], (options[0],)]))
    return Kind(bad=bad, good=st.sampled_from(options))


def callable_kind(good) -> Kind:
    return Kind(bad=st.sampled_from([None, 1, "f", [good], (good,)]), good=st.just(good))


def sequence(element: Kind, *, min_size=1, max_size=3, length=None) -> Kind:
    """A sequence of numbers: a list, tuple, NumPy array or 1-D tensor of good elements."""
    sizes = dict(min_size=length, max_size=length) if length else dict(min_size=min_size, max_size=max_size)
    plain = st.lists(element.good.map(float), **sizes)
    good = plain.flatmap(lambda vs: st.sampled_from(
        [vs, tuple(vs), np.array(vs, dtype=np.float64), torch.tensor(vs, dtype=torch.float64)]))
    with_a_bad_one = st.tuples(plain, element.bad, st.integers(0, 3)).map(
        lambda t: t[0][:t[2]] + [t[1]] + t[0][t[2]:])
    bad = [element.good, st.sampled_from([None, "0.1,0.2", b"x", np.array([[0.1, 0.2]]), torch.ones(2, 2) / 2,
                                          {"a": 0.1}])]
    if length:
        bad.append(st.lists(element.good.map(float), min_size=0, max_size=5).filter(lambda vs: len(vs) != length))
    elif min_size:
        bad.append(st.sampled_from([[], (), np.array([]), torch.tensor([])]))
    bad.append(with_a_bad_one if not length else with_a_bad_one.filter(lambda vs: len(vs) == length))
    return Kind(bad=st.one_of(bad), good=good)


def tensor_kind(good, *, extra_bad=()) -> Kind:
    """A torch.Tensor argument: anything else (a list, a number, None, an array) is refused."""
    bad = [None, 1.0, "x", [1.0, 2.0], np.array([1.0, 2.0]), object(), *extra_bad]
    return Kind(bad=st.sampled_from(bad), good=st.sampled_from(good) if isinstance(good, list) else st.just(good))


def matrix_kind(good: torch.Tensor, *, extra_bad=()) -> Kind:
    """Training inputs: a finite 2-D float tensor; NaN, ±inf, the wrong shape, or no rows are refused."""
    bad = [_nan_in(good), _nan_in(good, math.inf), good.flatten(), good.unsqueeze(0), "X", None,
           torch.ones(good.shape, dtype=torch.bool), *extra_bad]
    return Kind(bad=st.sampled_from(bad), good=st.just(good))


GENERATOR = Kind(bad=st.sampled_from([0, 5, "g", torch.Generator, np.random.default_rng(0), [torch.Generator()]]),
                 good=st.sampled_from([None, "new"]).map(lambda v: torch.Generator().manual_seed(0) if v else None))
DTYPE = Kind(bad=st.sampled_from(["float32", float, 32, torch.int64, torch.bool, np.float32]),
             good=st.sampled_from([None, torch.float32, torch.float64]))


def regression_data_kind() -> Kind:
    bad = [replace(SMALL, **{field: _nan_in(getattr(SMALL, field))}) for field in ("X_train", "y_train", "X_test",
                                                                                  "y_test")]
    bad += [replace(SMALL, X_train=SMALL.X_train.flatten()), "data", 3, {"X_train": SMALL.X_train}, TINY,
            (SMALL.X_train, SMALL.y_train)]
    return Kind(bad=st.sampled_from(bad), good=st.sampled_from([SMALL, None]))


def image_data_kind() -> Kind:
    bad = [replace(TINY, X_train=_nan_in(TINY.X_train)), replace(TINY, X_test=_nan_in(TINY.X_test, -math.inf)),
           replace(TINY, y_train=TINY.y_train.float()), replace(TINY, y_test=TINY.y_test + 10),
           replace(TINY, X_train=TINY.X_train[:0], y_train=TINY.y_train[:0]), SMALL, "digits", None, 3]
    return Kind(bad=st.sampled_from(bad), good=st.just(TINY))


def _two_values(v) -> bool:
    """A list, tuple, array or tensor of exactly two numbers (a pair: bad where one number is expected)."""
    return (isinstance(v, list | tuple | np.ndarray | torch.Tensor) and getattr(v, "ndim", 1) == 1 and len(v) == 2
            and not any(isinstance(x, bool | str | bytes | list) or x is None for x in v))


# ---------------------------------------------------------------- the specs: function, cheap call, argument, kind


@dataclass
class Spec:
    name: str  # function.argument
    call: object  # value -> result
    argument: str  # what the message must name
    kind: Kind
    group: str  # the module: one property test each
    echo: object = None  # result -> the value the function used, when it shows it: compared with the value given

    def __repr__(self) -> str:  # in a failure report: which argument, not the strategies
        return f"Spec({self.name})"


SPECS: list[Spec] = []


def specs(function, base=None, /, *, group=None, echo=None, **kinds):
    """One Spec per keyword: ``function(**base(), keyword=value)``; ``base`` a dict or a function returning one.

    ``echo`` maps an argument to a function of the result that gives back the value used: a good value must
    come back as given (3.0 as 3, never 5.5 as 5, never 1.2 as 0.99)."""
    make_base = base if callable(base) else (lambda: dict(base or {}))
    label = getattr(function, "__qualname__", getattr(function, "__name__", str(function)))
    group = group or function.__module__.rsplit(".", 1)[-1]
    for argument, kind in kinds.items():
        def call(value, argument=argument):
            return function(**{**make_base(), argument: value})
        SPECS.append(Spec(f"{label}.{argument}", call, argument, kind, group, (echo or {}).get(argument)))


def _plain(value):
    """A value as plain Python: a tensor or array as a number or a list of numbers, a tuple as a list."""
    if isinstance(value, torch.Tensor | np.ndarray | np.generic):
        return value.tolist()
    return list(value) if isinstance(value, tuple) else value


def _group(name):
    return lambda optimizer: _plain(optimizer.param_groups[0][name])


def _option(name):
    return lambda history: history.options[name]


W = torch.tensor([3.0, -4.0])
PARAMS = lambda: [torch.zeros(2, requires_grad=True)]  # noqa: E731
QUADRATIC = lambda x: (x**2).sum()  # noqa: E731

# regularizers and seeding
specs(regularizers.l2_penalty, w=tensor_kind(W))
specs(regularizers.l1_penalty, w=tensor_kind(W, extra_bad=[torch.tensor([1j])]))
specs(regularizers.check_penalty, penalty=choice("l1", "l2"))
specs(regularizers.penalty_grad, dict(w=W, penalty="l1"), w=tensor_kind(W), penalty=choice("l1", "l2"))
specs(regularizers.dropout, dict(X=torch.ones(2, 3), p=0.5), X=tensor_kind(torch.ones(2, 3)), p=PROBABILITY,
      training=FLAG, generator=GENERATOR)


def _parameters_given_as(how: str):
    """A model's parameters as decay_param_groups may take them: the model, a generator, pairs, a list."""
    model = nn.Linear(2, 1)
    return {"module": model, "parameters": model.parameters(), "named": model.named_parameters(),
            "list": list(model.parameters())}[how]


specs(regularizers.decay_param_groups, lambda: dict(params=nn.Linear(2, 1), weight_decay=0.1),
      weight_decay=NONNEGATIVE,
      params=Kind(bad=st.sampled_from([nn.Linear(2, 1).weight, None, 3, "weights", [1.0], [nn.Linear(2, 1).weight, 1]]),
                  good=st.sampled_from(["module", "parameters", "named", "list"]).map(_parameters_given_as)))


def _seed_everything_keeping_the_global_state(seed):
    """seed_everything seeds the global generators: put them back, so that other tests see what they expect."""
    state = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        return seeding.seed_everything(seed)
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.random.set_rng_state(state[2])


specs(_seed_everything_keeping_the_global_state, group="seeding", seed=SEED)
specs(seeding.derived_generator, dict(seed=0, stream="init"), seed=SEED,
      stream=Kind(bad=st.sampled_from([None, 1, b"init", ["init"]]), good=st.text(max_size=5)))

# models
SIZES = dict(num_inputs=3, num_hiddens1=4, num_hiddens2=4, num_outputs=2)
specs(MLP, SIZES, echo=dict(num_inputs=lambda m: m.lin1.in_features, num_hiddens1=lambda m: m.lin1.out_features,
                        num_hiddens2=lambda m: m.lin2.out_features, num_outputs=lambda m: m.lin3.out_features,
                        dropout1=lambda m: m.dropout1, dropout2=lambda m: m.dropout2, scratch=lambda m: m.scratch),
      **{name: count(1, good_high=6) for name in SIZES}, dropout1=PROBABILITY, dropout2=PROBABILITY,
      scratch=FLAG, generator=GENERATOR, dtype=DTYPE)
specs(StackedMLP, models=Kind(
    bad=st.sampled_from([[], None, 3, "models", MLP(3, 4, 4, 2), [MLP(3, 4, 4, 2)], [MLP(3, 4, 4, 2, scratch=True), 1],
                         [MLP(3, 4, 4, 2, scratch=True), MLP(3, 5, 4, 2, scratch=True)]]),
    good=st.integers(1, 3).map(lambda k: [MLP(3, 4, 4, 2, scratch=True) for _ in range(k)])))

# optim
OPTIMIZER_ECHO = {name: _group(name) for name in ("lr", "weight_decay", "momentum", "alpha", "eps", "betas", "rho", "amsgrad")}
HYPER = dict(lr=POSITIVE_ANY, weight_decay=NONNEGATIVE)  # every optimizer's
BETAS = sequence(UNIT_OPEN, length=2)
specs(optim.SGD, lambda: dict(params=PARAMS()), echo=OPTIMIZER_ECHO, **HYPER)
for cls in (optim.Momentum, optim.Nesterov):
    specs(cls, lambda: dict(params=PARAMS()), echo=OPTIMIZER_ECHO, **HYPER, momentum=UNIT_OPEN)
specs(optim.AdaGrad, lambda: dict(params=PARAMS()), echo=OPTIMIZER_ECHO, **HYPER, eps=POSITIVE_ANY)
specs(optim.RMSProp, lambda: dict(params=PARAMS()), echo=OPTIMIZER_ECHO, **HYPER, alpha=UNIT_OPEN, eps=POSITIVE_ANY)
specs(optim.Adam, lambda: dict(params=PARAMS()), echo=OPTIMIZER_ECHO, **HYPER, betas=BETAS, eps=POSITIVE_ANY,
      decoupled=FLAG, amsgrad=FLAG)
specs(optim.AdamW, lambda: dict(params=PARAMS()), echo=OPTIMIZER_ECHO, **HYPER, betas=BETAS, eps=POSITIVE_ANY,
      amsgrad=FLAG)
specs(optim.Adadelta, lambda: dict(params=PARAMS()), echo=OPTIMIZER_ECHO, **HYPER, rho=UNIT_OPEN, eps=POSITIVE_ANY)
specs(optim.momentum_rate, dict(lr=0.1, curvature=1.0, beta=0.5), lr=POSITIVE_ANY, curvature=POSITIVE_ANY,
      beta=UNIT_OPEN, nesterov=FLAG)
TRACE = dict(make_optimizer=lambda p: optim.SGD(p, lr=0.1), f=QUADRATIC, x0=[1.0, 2.0], steps=2)
specs(optim.trace, TRACE, echo=dict(steps=lambda points: len(points) - 1),
      steps=count(0, optim.MAX_STEPS, good_high=3), x0=sequence(FINITE),
      make_optimizer=callable_kind(lambda p: optim.SGD(p, lr=0.1)), f=callable_kind(QUADRATIC),
      grad=Kind(bad=st.sampled_from([1, "grad", [torch.ones_like]]), good=st.sampled_from([None, lambda x: 2 * x])))
specs(optim.first_nonfinite, points=tensor_kind(torch.ones(3, 2), extra_bad=[torch.tensor(1.0)]))
specs(optim.loss_along, dict(f=QUADRATIC, points=torch.ones(3, 2)), f=callable_kind(QUADRATIC),
      points=tensor_kind(torch.ones(3, 2), extra_bad=[torch.ones(3)]))

# train and regression (the small data set: four examples of three inputs)
FAST = dict(num_epochs=1, data=SMALL, batch_size=2)
EPOCHS = count(1, train.MAX_EPOCHS, good_high=2)
specs(train.train_weight_decay, FAST,
      echo=dict(lambd=lambda h: h.lambd, lr=lambda h: h.lr, num_epochs=_option("num_epochs"), seed=_option("seed"),
                batch_size=_option("batch_size"), penalty=_option("penalty"), decay_bias=_option("decay_bias")),
      lambd=NONNEGATIVE, lr=POSITIVE, num_epochs=EPOCHS,
      batch_size=count(1, 4, good_high=4), seed=SEED, penalty=choice("l1", "l2"), decay_bias=FLAG,
      loss=choice("mse", "half_mse"), data=regression_data_kind())
specs(train.train_weight_decay, dict(num_epochs=1, batch_size=1, n_train=2, n_test=2, num_inputs=2),
      n_train=count(1, good_high=4), n_test=count(1, good_high=4), num_inputs=count(1, good_high=4), noise=NONNEGATIVE)
specs(train.train_weight_decay, dict(FAST, penalty="l1"), proximal=FLAG)
LR_PER_RUN = sequence(POSITIVE, length=2)  # one η per λ: here two
specs(train.sweep_weight_decay, dict(FAST, lambdas=[0.0, 1.0]), echo=dict(lambdas=lambda runs: [h.lambd for h in runs]),
      lambdas=sequence(NONNEGATIVE),
      lr=Kind(bad=st.one_of(POSITIVE.bad.filter(lambda v: not _two_values(v)),  # (η1, η2) is one η per λ: good
                            st.lists(POSITIVE.good.map(float), min_size=1, max_size=5).filter(lambda vs: len(vs) != 2),
                            st.tuples(POSITIVE.good.map(float), POSITIVE.bad).map(list)),
              good=st.one_of(POSITIVE.good, LR_PER_RUN.good)),
      num_epochs=EPOCHS, seed=SEED, decay_bias=FLAG, data=regression_data_kind())
specs(train.train_with_optimizer, dict(FAST, make_optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.01)),
      make_optimizer=Kind(bad=st.sampled_from([None, 0.1, "sgd", torch.optim.SGD, lambda m: m]),
                          good=st.just(lambda m: optim.SGD(regularizers.decay_param_groups(m, 0.1), lr=0.01))),
      num_epochs=EPOCHS, batch_size=count(1, 4, good_high=4), seed=SEED, data=regression_data_kind())
specs(regression.train_adam, FAST, lambd=NONNEGATIVE, decoupled=FLAG, lr=POSITIVE, num_epochs=EPOCHS,
      batch_size=count(1, 4, good_high=4), seed=SEED, data=regression_data_kind(),
      betas=sequence(UNIT_OPEN, length=2), eps=POSITIVE_ANY, lr_schedule=choice("constant", "linear"))
X_RIDGE, Y_RIDGE = SMALL.X_train, SMALL.y_train
specs(regression.l2_minimiser, dict(X=X_RIDGE, y=Y_RIDGE, lambd=1.0), lambd=POSITIVE_ANY,
      X=matrix_kind(X_RIDGE, extra_bad=[X_RIDGE[:0]]),
      y=Kind(bad=st.sampled_from([_nan_in(Y_RIDGE), _nan_in(Y_RIDGE.flatten(), math.inf), Y_RIDGE[:2], Y_RIDGE.T, "y",
                                  None, Y_RIDGE.unsqueeze(0), Y_RIDGE.bool()]),
             good=st.sampled_from([Y_RIDGE, Y_RIDGE.flatten(), Y_RIDGE.double(), Y_RIDGE.flatten().tolist()])))
specs(regression.largest_curvature, dict(X=X_RIDGE), X=matrix_kind(X_RIDGE, extra_bad=[X_RIDGE[:0]]),
      lambd=NONNEGATIVE, decay_bias=FLAG, loss=choice("mse", "half_mse"))

# experiments
ACTIVATION_NAMES = tuple(A.ACTIVATIONS)
DEEP = dict(activation="ReLU", depth=2, width=3)
specs(experiments.deep_mlp, DEEP, echo=dict(depth=lambda m: len(m) // 2, width=lambda m: m[0].out_features,
                                          num_inputs=lambda m: m[0].in_features),
      activation=choice(*ACTIVATION_NAMES), depth=count(1, 100, good_high=3),
      width=count(1, good_high=4), num_inputs=count(1, good_high=4), alpha=FINITE, init=choice(*experiments.INITS),
      generator=GENERATOR)
specs(experiments.deep_mlp, dict(DEEP, activation="ELU"), alpha=real(0.0, low_open=True, good_low=1e-6, good_high=5.0))
specs(experiments.layer_gradient_norms, dict(DEEP, batch_size=2),
      batch_size=count(1, experiments.MAX_BATCH, good_high=4), seed=SEED, wrt=choice(*experiments.GRADIENTS_WRT),
      depth=count(1, 100, good_high=3))
specs(experiments.mean_feature_cosines, dict(DEEP, batch_size=2),
      batch_size=count(2, experiments.MAX_BATCH, good_high=4), seed=SEED)
specs(experiments.dead_relu_fraction, lambda: dict(model=experiments.deep_mlp("ReLU", 2, width=3), X=torch.ones(2, 16)),
      model=Kind(bad=st.sampled_from([None, nn.Linear(16, 3), "model", [nn.Linear(16, 3)]]),
                 good=st.just(experiments.deep_mlp("ReLU", 2, width=3))),
      X=matrix_kind(torch.ones(2, 16), extra_bad=[torch.empty(0, 16)]))
LINE = dict(x=torch.arange(3.0), y=torch.tensor([0.0, 1.0, 3.0]), steps=1)
specs(experiments.fit_lines, LINE, steps=count(0, experiments.MAX_STEPS, good_high=3), lr=POSITIVE_ANY,
      x=tensor_kind([torch.arange(3.0), torch.arange(3.0, dtype=torch.float64)],
                    extra_bad=[_nan_in(torch.arange(3.0)), torch.arange(4.0), torch.arange(3), torch.ones(3, 1)]),
      y=tensor_kind(torch.arange(3.0), extra_bad=[_nan_in(torch.arange(3.0), -math.inf), torch.arange(2.0)]))
LINEAR = dict(X=torch.ones(3, 2), y=torch.tensor([0, 0, 0]), loss_fn=F.cross_entropy, outputs=2, steps=1)
specs(experiments.train_linear, LINEAR, echo=dict(outputs=lambda r: r[0].out_features, steps=lambda r: len(r[1]) - 1),
      outputs=count(1, good_high=3), optimizer=choice("sgd", "adam"),
      lr=POSITIVE_ANY, steps=count(0, experiments.MAX_STEPS, good_high=3), init_scale=POSITIVE_ANY, seed=SEED,
      loss_fn=callable_kind(F.cross_entropy), X=matrix_kind(torch.ones(3, 2), extra_bad=[torch.ones(2, 2)]))

# classify (ten images of 8×8, a 4-4 MLP, one epoch)
TRAINING = dict(lr=POSITIVE, num_epochs=EPOCHS, seed=SEED, weight_decay=NONNEGATIVE,
                optimizer=choice("sgd", "adam", "adamw"),
                batch_size=Kind(bad=count(1, 10, good_high=10).bad.filter(lambda v: v is not None),  # None: all
                                good=st.one_of(st.just(None), count(1, 10, good_high=10).good)),
                progress=Kind(bad=st.sampled_from([1, "bar", [print]]),
                              good=st.sampled_from([None, lambda epoch, num_epochs: None])))
specs(classify.train_classifier, lambda: dict(model=MLP(64, 4, 4, 10), data=TINY, num_epochs=1), **TRAINING,
      echo={name: _option(name) for name in ("lr", "num_epochs", "seed", "weight_decay", "optimizer")},
      model=Kind(bad=st.sampled_from([None, "mlp", MLP, 3]), good=st.builds(lambda: MLP(64, 4, 4, 10))),
      data=image_data_kind())
HIDDENS = Kind(bad=st.one_of(sequence(count(1, good_high=4), length=2).bad,
                             st.sampled_from([(4, 0), (4, -1), (4, 2.5), (True, 4)])),
               good=st.tuples(st.integers(1, 4), st.integers(1, 4)))
specs(classify.dropout_mlp, dict(data=TINY), echo=dict(num_hiddens=lambda m: [m.lin1.out_features, m.lin2.out_features],
                                                    dropout1=lambda m: m.dropout1, dropout2=lambda m: m.dropout2),
      dropout1=PROBABILITY, dropout2=PROBABILITY, seed=SEED,
      num_hiddens=HIDDENS, scratch=FLAG, data=Kind(bad=st.sampled_from([None, SMALL, "digits"]), good=st.just(TINY)))
specs(classify.train_dropout, dict(data=TINY, num_epochs=1, num_hiddens=(4, 4)), dropout1=PROBABILITY,
      dropout2=PROBABILITY, seed=SEED, num_hiddens=HIDDENS)
RATES = Kind(bad=st.one_of(st.sampled_from([0.5, np.float64(0.5), torch.tensor(0.5), "0.1", None, {"p": 0.1}, [], (),
                                             np.array([]), [(0.1, 0.2, 0.3)], [(0.1,)], [(0.1, 1.5)], [[0.1, None]],
                                             np.array([[0.1, 0.2, 0.3]]), torch.ones(2, 2, 2) / 2]),
                           st.tuples(sequence(PROBABILITY).good.map(list),
                                     PROBABILITY.bad.filter(lambda v: not _two_values(v))
                                     ).map(lambda t: t[0] + [t[1]])),  # (0.5, 0.5) is a pair (p1, p2): good here
             good=st.one_of(sequence(PROBABILITY, max_size=2).good,
                            st.lists(st.tuples(PROBABILITY.good, PROBABILITY.good), min_size=1, max_size=2)))
specs(classify.sweep_dropout, dict(rates=[0.1], data=TINY, num_epochs=1, num_hiddens=(4, 4)), rates=RATES,
      **TRAINING, num_hiddens=HIDDENS, data=image_data_kind())

# activations
X = torch.linspace(-2, 2, 6).reshape(2, 3)
for fn in (A.sigmoid, A.tanh, A.relu, A.silu):
    specs(fn, x=tensor_kind(X))
specs(A.leaky_relu, dict(x=X), x=tensor_kind(X), negative_slope=FINITE)
specs(A.prelu, dict(x=X, weight=0.25), x=tensor_kind(X),
      weight=Kind(bad=st.one_of(st.sampled_from([None, "0.25", True, torch.tensor([True]), torch.tensor([0.1, 0.2]),
                                                 torch.tensor([math.nan])]), st.sampled_from(NON_FINITE)),
                  good=st.one_of(FINITE.good, st.just(torch.tensor([0.1, 0.2, 0.3])))))
specs(A.elu, dict(x=X), x=tensor_kind(X), alpha=real(0.0, low_open=True, good_high=10.0))
specs(A.gelu, dict(x=X), x=tensor_kind(X), approximate=choice("none", "tanh"))
DIM = Kind(bad=st.one_of(st.integers(2, 10**6), st.integers(-10**6, -3),
                         st.sampled_from([1.5, "1", None, True, [0], torch.tensor([0, 1]), math.nan])),
           good=st.integers(-2, 1).flatmap(lambda d: st.sampled_from([d, np.int64(d), float(d)])))
for fn in (A.naive_softmax, A.softmax, A.log_softmax):
    specs(fn, dict(x=X), x=tensor_kind(X), dim=DIM)
specs(A.derivative, dict(fn=A.sigmoid, x=X), fn=callable_kind(A.tanh),
      x=tensor_kind(X, extra_bad=[torch.tensor([1, 2]), torch.tensor([True])]))

# losses
PAIR = dict(y_hat=torch.zeros(2), y=torch.ones(2))
REDUCTION = choice("none", "mean", "sum")
for fn in (L.l1_loss, L.mse_loss):
    specs(fn, PAIR, y_hat=tensor_kind(torch.zeros(2)), y=tensor_kind(torch.ones(2)), reduction=REDUCTION)
specs(L.huber_loss, PAIR, delta=POSITIVE_ANY, reduction=REDUCTION, y=tensor_kind(torch.ones(2)))
specs(L.smooth_l1_loss, PAIR, beta=POSITIVE_ANY, reduction=REDUCTION, y_hat=tensor_kind(torch.zeros(2)))
specs(L.nll_loss, dict(log_probs=CE_LOGITS.log_softmax(1), target=CE_TARGET), reduction=REDUCTION,
      log_probs=tensor_kind(CE_LOGITS), target=tensor_kind(CE_TARGET, extra_bad=[torch.tensor([True, False])]))
specs(L.cross_entropy, dict(logits=CE_LOGITS, target=CE_TARGET), reduction=REDUCTION, label_smoothing=PROBABILITY,
      logits=tensor_kind(CE_LOGITS), target=tensor_kind(CE_TARGET))
for fn, first in ((L.binary_cross_entropy, "p"), (L.binary_cross_entropy_with_logits, "logits"),
                  (L.soft_margin_loss, "x"), (L.multilabel_soft_margin_loss, "x")):
    specs(fn, {first: torch.full((2, 2), 0.5), "y": torch.ones(2, 2)}, reduction=REDUCTION,
          **{first: tensor_kind(torch.full((2, 2), 0.5)), "y": tensor_kind(torch.ones(2, 2))})
specs(L.multi_margin_loss, dict(scores=CE_LOGITS, target=CE_TARGET), margin=NONNEGATIVE, reduction=REDUCTION,
      scores=tensor_kind(CE_LOGITS), target=tensor_kind(CE_TARGET))
specs(L.entropy, p=tensor_kind(torch.tensor([0.5, 0.5])))
for fn in (L.cross_entropy_of, L.kl_divergence):
    specs(fn, dict(p=torch.tensor([0.5, 0.5]), q=torch.tensor([0.25, 0.75])), p=tensor_kind(torch.tensor([0.5, 0.5])),
          q=tensor_kind(torch.tensor([0.25, 0.75])))
specs(L.negative_log_likelihood_coin, dict(theta=torch.tensor(0.5), heads=0, flips=10),
      heads=count(0, 10, good_high=10), flips=count(0, good_high=12),
      theta=Kind(bad=st.sampled_from([None, "0.5", True, torch.tensor([0.0, 0.5]), torch.tensor(1.0), 1.5, math.nan]),
                 good=st.sampled_from([torch.tensor(0.5), 0.5, [0.1, 0.9], torch.tensor([0.01, 0.99])])))


# ---------------------------------------------------------------- the properties


def _names(argument: str, message: str) -> bool:
    """The message names the argument as a word: ``lambdas[0]``, ``data.X_train`` and ``dropout p`` count."""
    return re.search(rf"(?<![\w]){re.escape(argument)}(?![\w])", message) is not None


GROUPS = {}
for _spec in SPECS:
    GROUPS.setdefault(_spec.group, []).append(_spec)


@pytest.mark.parametrize("group", GROUPS)
@PROPERTY
@given(data=st.data())
def test_a_bad_value_is_refused_naming_the_argument(group, data):
    for spec in GROUPS[group]:  # every argument of the module, one bad value each
        value = data.draw(spec.kind.bad, label=spec.name)
        with pytest.raises((TypeError, ValueError)) as refused:  # another exception fails the test, as a result does
            spec.call(value)
        assert _names(spec.argument, str(refused.value)), f"{spec.name}={value!r:.80}: {refused.value}"
        CASES["bad"] += 1


@pytest.mark.parametrize("group", GROUPS)
@settings(PROPERTY, max_examples=GOOD_EXAMPLES)
@given(data=st.data())
def test_a_good_value_near_the_edges_is_accepted(group, data):
    for spec in GROUPS[group]:  # every argument of the module, one good value each: no false refusal
        value = data.draw(spec.kind.good, label=spec.name)
        result = spec.call(value)
        if spec.echo is not None:  # used as given: nothing substituted
            assert spec.echo(result) == _plain(value), f"{spec.name}={value!r}: used {spec.echo(result)!r}"
        CASES["good"] += 1


def test_zz_the_number_of_cases_run(request):
    """Printed with ``pytest -s``; checked only when the whole file ran (not under ``-k`` or a single test)."""
    total = CASES["bad"] + CASES["good"]
    print(f"\nbad-input property tests: {total} cases ({CASES['bad']} bad values refused, {CASES['good']} good ones "
          f"accepted; {len(SPECS)} arguments of {len({s.name.rsplit('.', 1)[0] for s in SPECS})} functions)")
    selected = sum(getattr(item, "module", None) is request.module for item in request.session.items)  # nbval cells have none
    if selected < 2 * len(GROUPS) + 1:
        pytest.skip(f"only part of the file ran ({total} cases)")
    assert total >= FLOOR
