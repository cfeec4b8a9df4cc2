"""Issue 14, "Bad input", as explicit cases: each was measured wrong before (a silent substitute, a wrong
result, or an error that named nothing) and is now a result or a ValueError / TypeError naming the argument.

The property tests in test_bad_input.py draw many more values; these are the findings themselves, by name.
"""

import math
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wd_helpers import activations as A
from wd_helpers import losses as L
from wd_helpers.classify import dropout_mlp, sweep_dropout, train_classifier, train_dropout
from wd_helpers.data import load_digits_data, synthetic_regression
from wd_helpers.experiments import dead_relu_fraction, deep_mlp, fit_lines, layer_gradient_norms, train_linear
from wd_helpers.models import MLP
from wd_helpers.optim import Adam, trace
from wd_helpers.regression import l2_minimiser, largest_curvature, train_adam
from wd_helpers.regularizers import decay_param_groups, dropout, l1_penalty, l2_penalty
from wd_helpers.seeding import derived_generator, seed_everything
from wd_helpers.train import sweep_weight_decay, train_weight_decay, train_with_optimizer


@pytest.fixture(scope="module")
def digits():
    """The bundled digits cut to 20 training and 20 test images: a training epoch in about a millisecond."""
    data = load_digits_data(n_train=20)
    return replace(data, X_test=data.X_test[:20], y_test=data.y_test[:20])


def names(argument: str):
    """A regex for a message that names ``argument`` as a word (``lambdas[0]`` names ``lambdas``)."""
    return rf"(?<![\w.]){re.escape(argument)}(?!\w)"


# ---------------------------------------------------------------- sequences of numbers


def test_sweep_weight_decay_takes_a_numpy_array_and_a_tensor_of_lambdas():
    as_list = sweep_weight_decay([0.001, 0.01, 0.1, 1.0, 10.0], num_epochs=2)
    for lambdas in (np.logspace(-3, 1, 5), torch.logspace(-3, 1, 5, dtype=torch.float64)):
        runs = sweep_weight_decay(lambdas, num_epochs=2)  # was: "only 0-dimensional arrays can be converted"
        assert [run.lambd for run in runs] == pytest.approx([run.lambd for run in as_list])
        assert [run.w_norm for run in runs] == pytest.approx([run.w_norm for run in as_list], rel=1e-6)
        assert all(type(run.lambd) is float for run in runs)


def test_sweep_weight_decay_takes_a_numpy_array_of_learning_rates():
    runs = sweep_weight_decay([1.0, 1.0], lr=np.array([0.001, 0.003]), num_epochs=2)
    assert [run.lr for run in runs] == pytest.approx([0.001, 0.003])
    assert runs[1].w_norm == pytest.approx(train_weight_decay(1.0, num_epochs=2).w_norm)


@pytest.mark.parametrize("rates", [np.array([0.1, 0.5]), torch.tensor([0.1, 0.5])])
def test_sweep_dropout_takes_a_numpy_array_and_a_tensor_of_rates(digits, rates):
    runs = sweep_dropout(rates, data=digits, num_epochs=1, num_hiddens=(4, 4))  # a tensor was refused
    reference = sweep_dropout([0.1, 0.5], data=digits, num_epochs=1, num_hiddens=(4, 4))
    assert [run.train_loss for run in runs] == [run.train_loss for run in reference]
    assert [run.options["dropout1"] for run in runs] == pytest.approx([0.1, 0.5])


def test_a_single_number_is_not_a_sweep():
    with pytest.raises(TypeError, match=names("lambdas")):
        sweep_weight_decay(1.0)
    with pytest.raises(TypeError, match=names("rates")):
        sweep_dropout(0.5, data=None)


# ---------------------------------------------------------------- a bool is not a number, and only a bool is a flag

BOOL_AND_FLAG_CASES = [
    # (call, argument): each ran before, taking True as 1 or any truthy value as True
    (lambda: train_weight_decay(lr=True, num_epochs=1), "lr"),  # trained with lr = 1.0 and diverged
    (lambda: train_weight_decay(1.0, decay_bias=2, num_epochs=1), "decay_bias"),  # decayed the bias
    (lambda: train_weight_decay(True, num_epochs=1), "lambd"),
    (lambda: train_adam(decoupled="no", num_epochs=1), "decoupled"),
    (lambda: dropout(torch.ones(3), 0.5, training="no"), "training"),  # "no" is truthy: it dropped
    (lambda: MLP(2, 2, 2, 2, scratch="no"), "scratch"),  # built a scratch-dropout model
    (lambda: Adam([torch.zeros(1, requires_grad=True)], decoupled="no"), "decoupled"),
    (lambda: largest_curvature(torch.ones(3, 2), decay_bias="yes"), "decay_bias"),
    (lambda: MLP(True, 2, 2, 2), "num_inputs"),
    (lambda: L.negative_log_likelihood_coin(torch.tensor(0.5), heads=True, flips=2), "heads"),  # True heads = 1
    (lambda: seed_everything(True), "seed"),
]


@pytest.mark.parametrize("call, argument", BOOL_AND_FLAG_CASES, ids=[a for _, a in BOOL_AND_FLAG_CASES])
def test_a_bool_is_not_a_number_and_a_flag_is_a_bool(call, argument):
    with pytest.raises(TypeError, match=names(argument)):
        call()


NON_FINITE_CASES = [
    (lambda: train_weight_decay(lr=math.inf, num_epochs=1), "lr"),
    (lambda: train_weight_decay(math.nan, num_epochs=1), "lambd"),
    (lambda: sweep_weight_decay([0.0, math.inf], num_epochs=1), "lambdas"),
    (lambda: train_adam(eps=math.inf, num_epochs=1), "eps"),
    (lambda: train_adam(1.0, betas=(0.9, math.nan), num_epochs=1), "betas"),
    (lambda: fit_lines(torch.arange(3.0), torch.arange(3.0), lr=math.nan), "lr"),  # returned NaN lines
    (lambda: train_linear(torch.ones(3, 2), torch.zeros(3, dtype=torch.long), F.cross_entropy, outputs=2,
                          init_scale=math.inf), "init_scale"),
    (lambda: deep_mlp("LeakyReLU", 2, alpha=math.nan), "alpha"),
    (lambda: L.huber_loss(torch.ones(2), torch.zeros(2), delta=math.inf), "delta"),
    (lambda: L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), label_smoothing=math.nan), "label_smoothing"),
]


@pytest.mark.parametrize("call, argument", NON_FINITE_CASES, ids=[a for _, a in NON_FINITE_CASES])
def test_infinite_and_nan_hyper_parameters_are_refused(call, argument):
    with pytest.raises(ValueError, match=names(argument)):
        call()


@pytest.mark.parametrize("call", [
    lambda lr: train_weight_decay(lr=lr, num_epochs=1),
    lambda lr: train_adam(lr=lr, num_epochs=1),  # was: "only one element tensors can be converted"
    lambda lr: train_classifier(nn.Linear(64, 10), load_digits_data(n_train=10), lr=lr, num_epochs=1),
    lambda lr: fit_lines(torch.arange(3.0), torch.arange(3.0), lr=lr),
    lambda lr: Adam([torch.zeros(1, requires_grad=True)], lr=lr),
])
def test_several_learning_rates_where_one_is_expected_name_lr(call):
    with pytest.raises((TypeError, ValueError), match=names("lr")):
        call(torch.tensor([0.1, 0.2]))


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**63, ValueError), (5.5, TypeError), ("0", TypeError)])
@pytest.mark.parametrize("call", [
    lambda seed: train_weight_decay(seed=seed, num_epochs=1),  # 2**63 was accepted
    lambda seed: train_adam(seed=seed, num_epochs=1),
    lambda seed: layer_gradient_norms("ReLU", 1, width=2, batch_size=2, seed=seed),
    lambda seed: train_linear(torch.ones(3, 2), torch.zeros(3, dtype=torch.long), F.cross_entropy, outputs=2,
                              steps=1, seed=seed),
    lambda seed: derived_generator(seed, "init"),
    lambda seed: seed_everything(seed),
])
def test_seeds_are_integers_from_0_to_2_to_the_63_minus_1(call, seed, error):
    with pytest.raises(error, match=names("seed")):
        call(seed)


def test_the_largest_seed_is_accepted():
    assert train_weight_decay(seed=2**63 - 1, num_epochs=1).options["seed"] == 2**63 - 1
    assert derived_generator(2**63 - 1, "init").initial_seed() >= 0


# ---------------------------------------------------------------- parameter groups from any iterable


def test_decay_param_groups_takes_a_generator_of_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    expected = decay_param_groups(model, 0.1)
    for params in (model.parameters(), list(model.parameters()), model.named_parameters()):
        groups = decay_param_groups(params, 0.1)  # a generator gave an empty decay group and row slices
        assert [[p is q for p, q in zip(g["params"], e["params"])] for g, e in zip(groups, expected)] == [
            [True, True], [True, True]]
        assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    torch.optim.SGD(decay_param_groups(model.parameters(), 0.1), lr=0.1)  # and torch.optim takes them


@pytest.mark.parametrize("params", [nn.Linear(3, 2).weight, "weights", 3, None, [nn.Linear(3, 2).weight, 2.0]])
def test_decay_param_groups_refuses_what_is_not_an_iterable_of_parameters(params):
    with pytest.raises(TypeError, match=names("params")):  # a single tensor iterated into its rows before
        decay_param_groups(params, 0.1)


# ---------------------------------------------------------------- penalties in a safe dtype


@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.uint8, torch.float16, torch.bfloat16])
def test_penalties_on_integer_and_half_tensors_do_not_overflow(dtype):
    w = torch.full((100,), 100).to(dtype)  # int8: 100² wrapped to 16, so ½‖w‖² came out 800, not 500 000
    assert l2_penalty(w).item() == pytest.approx(100 * 100**2 / 2, rel=1e-3)
    assert l1_penalty(w).item() == pytest.approx(100 * 100, rel=1e-3)
    assert l2_penalty(w).dtype == torch.float32
    big = torch.full((100,), 300.0, dtype=torch.float16)  # 300² · 100 = 9e6 overflows float16's 65 504 → inf
    assert l2_penalty(big).item() == pytest.approx(4.5e6)


def test_penalties_keep_float64_and_the_gradient():
    w = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    assert l2_penalty(w).dtype == torch.float64 and l2_penalty(w).item() == 12.5
    (grad,) = torch.autograd.grad(l2_penalty(w), w)
    assert torch.equal(grad, w.detach())  # ∇ ½‖w‖² = w
    half = torch.tensor([3.0, 4.0], dtype=torch.float16, requires_grad=True)
    (grad,) = torch.autograd.grad(l2_penalty(half), half)
    assert grad.dtype == torch.float16 and torch.equal(grad, half.detach())


@pytest.mark.parametrize("w", [[3.0, 4.0], 5.0, None, torch.tensor([1 + 1j])])
def test_penalties_refuse_what_is_not_a_real_tensor(w):
    for penalty in (l1_penalty, l2_penalty):
        with pytest.raises(TypeError, match=names("w")):
            penalty(w)


# ---------------------------------------------------------------- NaN in training data, refused up front


def _with_nan(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[0] = math.nan
    return t


def _regression_with_nan():
    data = synthetic_regression(generator=torch.Generator().manual_seed(0))
    return replace(data, X_train=_with_nan(data.X_train))


NAN_DATA_CASES = [
    # (call, argument): before, an SVD failed inside, or the result was silently NaN
    (lambda d: train_weight_decay(1.0, data=_regression_with_nan(), num_epochs=1), "data"),
    (lambda d: sweep_weight_decay([1.0], data=_regression_with_nan(), num_epochs=1), "data"),
    (lambda d: train_with_optimizer(lambda m: torch.optim.SGD(m.parameters(), lr=0.01), data=_regression_with_nan(),
                                    num_epochs=1), "data"),
    (lambda d: train_adam(1.0, data=_regression_with_nan(), num_epochs=1), "data"),
    (lambda d: l2_minimiser(_with_nan(torch.ones(5, 3)), torch.ones(5, 1), 1.0), "X"),  # returned NaN weights
    (lambda d: l2_minimiser(torch.randn(5, 3), _with_nan(torch.ones(5, 1)), 1.0), "y"),
    (lambda d: largest_curvature(_with_nan(torch.ones(5, 3))), "X"),
    (lambda d: train_linear(_with_nan(torch.ones(5, 3)), torch.zeros(5, dtype=torch.long), F.cross_entropy, outputs=2,
                            steps=2), "X"),  # trained to a NaN loss
    (lambda d: train_linear(torch.ones(5, 3), _with_nan(torch.zeros(5, 2)), F.mse_loss, outputs=2, steps=2), "y"),
    (lambda d: fit_lines(_with_nan(torch.arange(5.0)), torch.arange(5.0), steps=2), "x"),  # NaN lines
    (lambda d: fit_lines(torch.arange(5.0), _with_nan(torch.arange(5.0)), steps=2), "y"),
    (lambda d: dead_relu_fraction(deep_mlp("ReLU", 2), _with_nan(torch.ones(4, 16))), "X"),
    (lambda d: train_classifier(dropout_mlp(d, num_hiddens=(4, 4)), replace(d, X_train=_with_nan(d.X_train)),
                                num_epochs=1), "data"),
    (lambda d: sweep_dropout([0.1], data=replace(d, X_test=_with_nan(d.X_test)), num_epochs=1), "data"),
]


@pytest.mark.parametrize("call, argument", NAN_DATA_CASES, ids=[f"{i}-{a}" for i, (_, a) in enumerate(NAN_DATA_CASES)])
def test_nan_in_training_data_is_refused_naming_the_argument(digits, call, argument):
    with pytest.raises(ValueError, match=names(argument) + ".*finite"):
        call(digits)


def test_labels_outside_the_classes_are_refused(digits):
    bad = replace(digits, y_train=digits.y_train.clone().fill_(10))  # an IndexError deep in cross_entropy before
    with pytest.raises(ValueError, match=r"data\.y_train"):
        train_classifier(dropout_mlp(digits, num_hiddens=(4, 4)), bad, num_epochs=1)


# ---------------------------------------------------------------- dim, sizes, steps, empty input


@pytest.mark.parametrize("fn", [A.softmax, A.log_softmax, A.naive_softmax])
@pytest.mark.parametrize("dim, error", [(2, ValueError), (-3, ValueError), (1.5, TypeError), ("1", TypeError),
                                        (None, TypeError)])
def test_softmax_dim_out_of_range_names_dim(fn, dim, error):
    with pytest.raises(error, match=names("dim")):  # an IndexError "tuple index out of range" before
        fn(torch.ones(2, 3), dim=dim)


@pytest.mark.parametrize("fn", [A.softmax, A.log_softmax, A.naive_softmax])
def test_softmax_accepts_every_dim_in_range(fn):
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    for dim in (-2, -1, 0, 1):
        assert torch.allclose(fn(x, dim=dim).exp() if fn is A.log_softmax else fn(x, dim=dim), torch.softmax(x, dim))


REFUSED_SIZES = [
    (lambda: layer_gradient_norms("ReLU", 2, batch_size=0), "batch_size"),  # gave [0.0, 0.0]
    (lambda: fit_lines(torch.arange(3.0), torch.arange(3.0), steps=-5), "steps"),  # ran no step, returned (0, 0)
    (lambda: fit_lines(torch.arange(3.0), torch.arange(3.0), steps=5.5), "steps"),
    (lambda: dead_relu_fraction(deep_mlp("ReLU", 2), torch.empty(0, 16)), "X"),  # every unit "dead": [1.0, 1.0]
    (lambda: deep_mlp("ReLU", 2, width=0), "width"),  # ZeroDivisionError
    (lambda: deep_mlp("ReLU", 2, num_inputs=0), "num_inputs"),
    (lambda: trace(lambda p: Adam(p), lambda x: (x**2).sum(), [1.0], 10**9), "steps"),  # ran out of memory
    (lambda: train_weight_decay(num_epochs=10**9), "num_epochs"),
    (lambda: dropout_mlp(load_digits_data(n_train=10), num_hiddens=(4, 0)), "num_hiddens"),
]


@pytest.mark.parametrize("call, argument", REFUSED_SIZES, ids=[a for _, a in REFUSED_SIZES])
def test_sizes_and_counts_out_of_range_are_refused(call, argument):
    with pytest.raises((ValueError, TypeError), match=names(argument)):
        call()


def test_fit_lines_works_on_float64_points():
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)
    y = 2 * x + 1
    fits = fit_lines(x, y, steps=300)  # was: "expected m1 and m2 to have the same dtype"
    assert fits["MSE"] == pytest.approx((2.0, 1.0)) and fits["L1"] == pytest.approx((2.0, 1.0))
    as_float32 = fit_lines(x.float(), y.float(), steps=300)
    assert fits["Huber"] == pytest.approx(as_float32["Huber"], abs=1e-4)


# ---------------------------------------------------------------- torch's default dtype set to float64


@pytest.fixture
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def test_dropout_training_works_after_setting_the_default_dtype_to_float64(digits):
    expected = train_dropout(0.2, 0.5, data=digits, num_epochs=2, num_hiddens=(8, 8))
    expected_sweep = sweep_dropout([0.0, 0.5], data=digits, num_epochs=2, num_hiddens=(8, 8))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        # each was: "mat1 and mat2 must have the same dtype, but got Float and Double"
        history = train_dropout(0.2, 0.5, data=digits, num_epochs=2, num_hiddens=(8, 8))
        sweep = sweep_dropout([0.0, 0.5], data=digits, num_epochs=2, num_hiddens=(8, 8))
        model = MLP(64, 8, 8, 10)  # the learner's own model, float64 now: the images follow its dtype
        own = train_classifier(model, digits, num_epochs=1)
    finally:
        torch.set_default_dtype(previous)
    assert history.train_loss == expected.train_loss  # the package's own model stays in the images' float32
    assert [run.train_loss for run in sweep] == [run.train_loss for run in expected_sweep]
    assert model.lin1.weight.dtype == torch.float64 and math.isfinite(own.final_train_loss)


def test_regression_and_line_fits_work_under_a_float64_default(float64_default):
    assert math.isfinite(train_weight_decay(1.0, num_epochs=2).w_norm)
    assert math.isfinite(train_adam(1.0, num_epochs=2).w_norm)
    assert math.isfinite(train_with_optimizer(lambda m: torch.optim.SGD(m.parameters(), lr=0.001), num_epochs=2).w_norm)
    x32 = torch.arange(4, dtype=torch.float32)
    assert all(map(math.isfinite, fit_lines(x32, x32, steps=2)["Huber"]))
    model, losses = train_linear(x32.reshape(2, 2), torch.tensor([0, 1]), F.cross_entropy, outputs=2, steps=2)
    assert model.weight.dtype == torch.float32 and len(losses) == 3
    assert len(dead_relu_fraction(deep_mlp("ReLU", 2), torch.ones(3, 16, dtype=torch.float32))) == 2
