"""Every exercise checker answers whatever the learner passes: a printed verdict and False, never an exception.

One row per checker, calling it with the learner's answer in the place the notebook puts it. A checker added to
``wd_helpers.checks`` without a row here fails ``test_every_checker_has_a_row``.
"""

import functools

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wd_helpers.checks as checks


@functools.cache
def _histories():
    from wd_helpers.train import sweep_weight_decay

    return sweep_weight_decay([0.0, 1.0, 10.0], num_epochs=5)


@functools.cache
def _data():
    from wd_helpers.data import load_course_images

    return load_course_images()[0]


CALLS = {  # checker name → how the notebook calls it with the learner's answer
    "check_he_uniform": lambda a: checks.check_he_uniform(a),
    "check_he_variance": lambda a: checks.check_he_variance(a),
    "check_dropout_penalty": lambda a: checks.check_dropout_penalty(a),
    "check_gaussian_std": lambda a: checks.check_gaussian_std(a),
    "check_mc_predict": lambda a: checks.check_mc_predict(a),
    "check_cosine_schedule": lambda a: checks.check_cosine_schedule(a),
    "check_optimal_momentum": lambda a: checks.check_optimal_momentum(a),
    "check_momentum_rate": lambda a: checks.check_momentum_rate(a),
    "check_critical_beta": lambda a: checks.check_critical_beta(a),
    "check_summed_lambda": lambda a: checks.check_summed_lambda(a),
    "check_outside_shrink": lambda a: checks.check_outside_shrink(a),
    "check_adamw_shrink": lambda a: checks.check_adamw_shrink(a),
    "check_lowest_floor": lambda a: checks.check_lowest_floor(a),
    "check_scaled_lr": lambda a: checks.check_scaled_lr(a),
    "check_kl_batchmean": lambda a: checks.check_kl_batchmean(a),
    "check_pos_weight": lambda a: checks.check_pos_weight(a),
    "check_weighted_mean": lambda a: checks.check_weighted_mean(a),
    "check_best_lambda": lambda a: checks.check_best_lambda(a, _histories()),
    "check_drop_weights": lambda a: checks.check_drop_weights(a),
    "check_dropout_module": lambda a: checks.check_dropout_module(a),
    "check_dropout_variance": lambda a: checks.check_dropout_variance(a),
    "check_entropy": lambda a: checks.check_entropy(a, [0.1, 0.1, 0.1, 0.1, 0.1, 0.5]),
    "check_fastest_optimizer": lambda a: checks.check_fastest_optimizer(a),
    "check_frobenius_penalty": lambda a: checks.check_frobenius_penalty(a),
    "check_l1_penalty": lambda a: checks.check_l1_penalty(a),
    "check_largest_stable_lr": lambda a: checks.check_largest_stable_lr(a, curvature=6.0),
    "check_loss_for_task": lambda a: checks.check_loss_for_task("multi-class", a),
    "check_momentum_step": lambda a: checks.check_momentum_step(a),
    "check_norm_limit": lambda a: checks.check_norm_limit(a),
    "check_output_activation": lambda a: checks.check_output_activation("multi-class", a),
    "check_sigmoid_derivative": lambda a: checks.check_sigmoid_derivative(a),
    "check_stable_cross_entropy": lambda a: checks.check_stable_cross_entropy(a),
    "check_stable_softmax": lambda a: checks.check_stable_softmax(a),
    "check_swap_prediction": lambda a: checks.check_swap_prediction(a, data=_data()),
    "check_small_spiral_net": lambda a: checks.check_small_spiral_net(a),
    "check_gap_closed": lambda a: checks.check_gap_closed(a),
}


def test_every_checker_has_a_row():
    public = {name for name in checks.__all__ if name.startswith("check_")}
    assert public == set(CALLS)


def _raises(*args, **kwargs):
    raise RuntimeError("the learner's function failed")


_values = st.one_of(
    st.none(), st.just(...), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["Adam", "adam", "0.5", "1/3", "nan", "higher", "MSELoss", "softmax"]),
    st.lists(st.floats(allow_nan=False, width=32), max_size=4),
    st.builds(torch.randn, st.integers(0, 3), st.integers(1, 3)),
    st.builds(lambda n: torch.zeros(n, dtype=torch.long), st.integers(0, 3)),
)
# what a learner's function might return: any of the above
_functions = st.one_of(
    st.just(_raises),
    _values.map(lambda value: (lambda *args, **kwargs: value)),
    st.just(lambda *args: args[0] if args else None),  # returns its input unchanged
    st.just(lambda *args: args),
)
_classes = st.one_of(st.just(torch.nn.Identity), st.just(torch.nn.ReLU), st.just(int), st.just(torch.nn.Linear))
_answers = st.one_of(_values, _functions, _classes)


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=_answers)
def test_checker_answers_any_input_without_raising(name, answer, capsys):
    verdict = CALLS[name](answer)
    assert isinstance(verdict, bool)
    out = capsys.readouterr().out
    assert out.startswith(("✓ correct: ", "✗ not yet: ")), out
