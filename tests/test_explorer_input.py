"""Bad input to the explorers (issue 14): a constructor argument, or a slider set from code the way a
presenter does, that the explorer cannot take is refused with a ValueError / TypeError naming it and
its range or values. Nothing is silently substituted (no clamping, no rounding, no bool as a number),
a refused constructor leaves no widget behind, and a refused slider keeps its value and retrains nothing.

The property tests count the cases they run; the last test prints the count and checks a floor.
"""

import math
from collections import Counter

import ipywidgets as widgets
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wd_helpers.train import MAX_EPOCHS
from wd_helpers.validate import SEED_RANGE
from wd_helpers.widgets import (
    FUNCTIONS, LAMBDA_CHOICES, OPTIMIZERS, ActivationExplorer, CoinExplorer, DropoutExplorer, GradientDepthExplorer,
    OptimizerExplorer, OutlierExplorer, WeightDecayExplorer, _controls, activation_explorer, coin_explorer,
    SCHEDULES, MomentumExplorer, ScheduleExplorer, dropout_explorer, gradient_depth_explorer, momentum_explorer,
    optimizer_explorer, outlier_explorer, schedule_explorer, weight_decay_explorer,
)
from wd_helpers.widgets.activations import ACTIVATIONS, ALPHA_SLIDER, DEPTH_ACTIVATIONS, DEPTH_SLIDER, X_RANGE_SLIDER
from wd_helpers.widgets.dropout import RATE_SLIDER
from wd_helpers.widgets.losses import FLIPS_SLIDER, OUTLIER_SLIDER
from wd_helpers.widgets.optimizers import BETA2_SLIDER, BETA_SLIDER, STEPS_SLIDER
from wd_helpers.widgets.optimizers import LR_CHOICES as OPTIMIZER_LR_CHOICES
from wd_helpers.widgets.momentum import ALPHA_CHOICES, KAPPAS
from wd_helpers.widgets.momentum import BETA_SLIDER as MOMENTUM_BETA_SLIDER
from wd_helpers.widgets.momentum import STEPS_SLIDER as MOMENTUM_STEPS_SLIDER
from wd_helpers.widgets.schedules import BATCH_CHOICES
from wd_helpers.widgets.schedules import LR_CHOICES as SCHEDULE_LR_CHOICES
from wd_helpers.widgets.weight_decay import LR_CHOICES

CASES = Counter()  # property-test cases run, by test
FLOOR = 1000  # 9 × 40 constructor cases, 9 × 40 bad slider values, 9 × 40 good ones (a few repeat)
open_widgets = widgets.widget._instances  # ipywidgets' registry: every widget not closed
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- bad values, by what the argument or slider takes -------------------------------------

NOT_NUMBERS = st.sampled_from([True, False, np.True_, "a", "0.5", "", None, [0.5], (1,), {}, b"1",
                               torch.tensor([1.0, 2.0]), torch.tensor(True), object()])
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan"), torch.tensor(math.inf)])
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def bad_float(slider: dict):
    """Values a float slider {min, max, step} must refuse: other kinds, NaN / inf, outside, between steps."""
    low, high, step = slider["min"], slider["max"], slider.get("step")
    outside = FINITE.filter(lambda x: not low <= x <= high)
    strategies = [NOT_NUMBERS, NON_FINITE, outside]
    if step:  # a fraction of a step past a grid point: 0.333 on a 0.01-step slider
        steps = round((high - low) / step)
        strategies.append(st.builds(lambda k, f: low + (k + f) * step, st.integers(0, steps - 1), st.floats(0.01, 0.99)))
    return st.one_of(strategies)


def bad_int(low: int, high: int | None = None):
    """Values an integer argument or slider in [low, high] must refuse: other kinds, 5.5, NaN, outside."""
    outside = st.integers(max_value=low - 1)
    if high is not None:
        outside |= st.integers(min_value=high + 1)
    fractions = FINITE.filter(lambda x: not x.is_integer())
    return st.one_of(NOT_NUMBERS, NON_FINITE, outside, fractions)


def bad_choice(options, *, none_ok: bool = False):
    """Values a choice argument must refuse: other strings, numbers, None (unless it means the default)."""
    others = st.one_of(st.text(max_size=12), FINITE, st.sampled_from([None, True, [], ("SGD",)]))
    return others.filter(lambda x: not (x is None and none_ok) and not (isinstance(x, str) and x in options))


BAD_SEED = st.one_of(bad_int(*SEED_RANGE), st.just(2**63))
BAD_FLAG = st.sampled_from([0, 1, 2, 0.0, "no", "yes", "", None, [True], np.int64(1)])
BAD_NUM_EPOCHS = bad_int(1, MAX_EPOCHS)


def slider_range(slider: dict) -> tuple:
    return (f"{slider['max']:g}",)


# factory, class, {argument: (bad values, what a ValueError's message must also say)}
CONSTRUCTORS = {
    "weight decay": (weight_decay_explorer, WeightDecayExplorer, {
        "lambd": (st.one_of(NOT_NUMBERS, NON_FINITE, FINITE.filter(lambda x: x not in LAMBDA_CHOICES)), ("100",)),
        "lr": (bad_float({"min": LR_CHOICES[0], "max": LR_CHOICES[-1]}), ("0.1",)),
        "penalty": (bad_choice(("l1", "l2")), ("'l2'",)),
        "decay_bias": (BAD_FLAG, ()),
        "num_epochs": (BAD_NUM_EPOCHS, (f"{MAX_EPOCHS}",)),
        "seed": (BAD_SEED, (str(SEED_RANGE[1]),)),
    }),
    "optimizer": (optimizer_explorer, OptimizerExplorer, {
        "optimizer": (bad_choice(OPTIMIZERS), ("'Adam'",)),
        "function": (bad_choice(FUNCTIONS, none_ok=True), ("x₁² + 2·x₂²",)),
        "lr": (bad_float({"min": OPTIMIZER_LR_CHOICES[0], "max": OPTIMIZER_LR_CHOICES[-1]}), ("10",)),
        "beta": (bad_float(BETA_SLIDER), slider_range(BETA_SLIDER)),
        "beta2": (bad_float(BETA2_SLIDER), slider_range(BETA2_SLIDER)),
        "steps": (bad_int(STEPS_SLIDER["min"], STEPS_SLIDER["max"]), slider_range(STEPS_SLIDER)),
    }),
    "activation": (activation_explorer, ActivationExplorer, {
        "activation": (bad_choice(ACTIVATIONS), ("'sigmoid'",)),
        "x_range": (bad_float(X_RANGE_SLIDER), slider_range(X_RANGE_SLIDER)),
        "alpha": (bad_float(ALPHA_SLIDER), slider_range(ALPHA_SLIDER)),
    }),
    "gradient depth": (gradient_depth_explorer, GradientDepthExplorer, {
        "activation": (bad_choice(DEPTH_ACTIVATIONS) | st.just("PReLU"), ("'sigmoid'",)),
        "depth": (bad_int(DEPTH_SLIDER["min"], DEPTH_SLIDER["max"]), slider_range(DEPTH_SLIDER)),
        "seed": (BAD_SEED, (str(SEED_RANGE[1]),)),
    }),
    "outlier": (outlier_explorer, OutlierExplorer, {
        "outlier": (bad_float(OUTLIER_SLIDER), slider_range(OUTLIER_SLIDER)),
        "seed": (BAD_SEED, (str(SEED_RANGE[1]),)),
    }),
    "coin": (coin_explorer, CoinExplorer, {
        "flips": (bad_int(FLIPS_SLIDER["min"], FLIPS_SLIDER["max"]), slider_range(FLIPS_SLIDER)),
        "heads": (bad_int(0, 10), ("10",)),  # at most flips = 10 (the default)
    }),
    "dropout": (dropout_explorer, DropoutExplorer, {
        "dropout1": (bad_float(RATE_SLIDER), slider_range(RATE_SLIDER)),
        "dropout2": (bad_float(RATE_SLIDER), slider_range(RATE_SLIDER)),
        "n_train": (bad_int(10).filter(lambda x: x is not None), ("10",)),  # None: the data's own size
        "num_epochs": (bad_int(1, 500), ("500",)),
        "seed": (BAD_SEED, (str(SEED_RANGE[1]),)),
        "root": (st.sampled_from([5, 1.5, True, [], b"data", "", torch.tensor(1.0)]), ("root",)),
    }),
    "schedule": (schedule_explorer, ScheduleExplorer, {
        "schedule": (bad_choice(SCHEDULES), ("'constant'",)),
        "lr": (bad_float({"min": SCHEDULE_LR_CHOICES[0], "max": SCHEDULE_LR_CHOICES[-1]}), ("1",)),
        "batch_size": (st.one_of(NOT_NUMBERS, NON_FINITE, FINITE.filter(lambda x: x not in BATCH_CHOICES)),
                       ("128",)),
        "seed": (BAD_SEED, (str(SEED_RANGE[1]),)),
    }),
    "momentum": (momentum_explorer, MomentumExplorer, {
        "alpha": (bad_float({"min": ALPHA_CHOICES[0], "max": ALPHA_CHOICES[-1]}).filter(lambda x: x is not None),
                  ("10",)),  # None: Polyak's α
        "beta": (bad_float(MOMENTUM_BETA_SLIDER).filter(lambda x: x is not None), slider_range(MOMENTUM_BETA_SLIDER)),
        "kappa": (st.one_of(NOT_NUMBERS, NON_FINITE, FINITE.filter(lambda x: x not in KAPPAS)), ("100",)),
        "steps": (bad_int(MOMENTUM_STEPS_SLIDER["min"], MOMENTUM_STEPS_SLIDER["max"]), slider_range(MOMENTUM_STEPS_SLIDER)),
    }),
}


@pytest.mark.parametrize("which", CONSTRUCTORS)
@PROPERTY
@given(data=st.data())
def test_constructors_refuse_bad_arguments_by_name_and_leave_no_widget(which, data):
    factory, cls, arguments = CONSTRUCTORS[which]
    name = data.draw(st.sampled_from(sorted(arguments)), label="argument")
    bad_values, says = arguments[name]
    value = data.draw(bad_values, label="value")
    make = data.draw(st.sampled_from([factory, cls]), label="built by")
    before = set(open_widgets)
    with pytest.raises((TypeError, ValueError)) as refused:  # any other exception fails the test
        make(**{name: value})
    message = str(refused.value)
    assert name in message, message
    if isinstance(refused.value, ValueError):
        assert all(part in message for part in says), (message, says)
    assert set(open_widgets) == before  # checked before any widget was made
    CASES["constructor arguments"] += 1


def test_the_issues_examples_are_refused_not_substituted():
    """The probes quoted in issue 14: each built an explorer (a red status line, or clamped values)."""
    refused = [
        (weight_decay_explorer, {"num_epochs": 0}, ValueError, "num_epochs"),
        (weight_decay_explorer, {"seed": -1}, ValueError, "seed"),
        (weight_decay_explorer, {"seed": "a"}, TypeError, "seed"),
        (weight_decay_explorer, {"penalty": None}, ValueError, "penalty"),
        (dropout_explorer, {"root": 5}, TypeError, "root"),
        (optimizer_explorer, {"beta": 1.5}, ValueError, r"beta must be in \[0, 0.99\], got 1.5"),
        (optimizer_explorer, {"beta2": 0.1}, ValueError, r"beta2 must be in \[0.5, 0.999\], got 0.1"),
        (optimizer_explorer, {"steps": 5.5}, TypeError, "steps must be a whole number, got 5.5"),
        (optimizer_explorer, {"beta": None}, TypeError, "beta must be a number"),
    ]
    for factory, options, error, message in refused:
        before = len(open_widgets)
        with pytest.raises(error, match=message):
            factory(**options)
        assert len(open_widgets) == before, options


def test_a_value_between_a_sliders_steps_is_refused_naming_the_step():
    """0.333 on the 0.01-step β slider: the page would show 0.33 while 0.333 trains. Refused, with the
    grid points either side; a value on the steps (float rounding aside) is taken exactly as given."""
    with pytest.raises(ValueError, match=r"beta must be on the slider's steps of 0\.01 .*nearest: 0\.33 and 0\.34"):
        optimizer_explorer(beta=0.333)
    slider = _controls.FloatSlider(name="beta", value=0.5, **BETA_SLIDER)
    with pytest.raises(ValueError, match=r"sliders\['beta'\] must be on the slider's steps of 0\.01"):
        slider.value = 0.333
    for value in (0.35, 0.1 + 0.2, np.float32(0.7), 0):  # 0.30000000000000004, 0.699999988: on the grid
        slider.value = value
        assert slider.value == float(value)  # as given: not snapped
    slider.close()


def test_dropout_explorer_refuses_more_images_than_the_data_holds(tmp_path):
    before = set(open_widgets)
    with pytest.raises(ValueError, match="n_train"):
        dropout_explorer(n_train=10**6, num_epochs=1, root=tmp_path)  # the bundled digits: 1 787 images
    assert set(open_widgets) == before


# --- sliders set from code ----------------------------------------------------------------


@pytest.fixture(scope="module")
def explorers(tmp_path_factory):
    """Each explorer once, small: the slider tests below only need their sliders and counters."""
    built = {
        "weight decay": weight_decay_explorer(num_epochs=2),
        "optimizer": optimizer_explorer(steps=5),
        "activation": activation_explorer(),
        "gradient depth": gradient_depth_explorer(depth=2),
        "outlier": outlier_explorer(),
        "coin": coin_explorer(),
        "dropout": dropout_explorer(num_epochs=1, n_train=100, root=tmp_path_factory.mktemp("no_fashion_mnist")),
        "schedule": schedule_explorer(),
        "momentum": momentum_explorer(steps=20),
    }
    yield built
    for explorer in built.values():
        explorer.close()


def _pairs(slider) -> list:
    """A selection slider's (label, value) pairs (its options may be bare values)."""
    return [option if isinstance(option, tuple) else (str(option), option) for option in slider.options]


def _options(slider) -> list:
    return [value for _, value in _pairs(slider)]


def bad_slider_values(slider):
    """(attribute, bad value) pairs for one of an explorer's sliders."""
    if isinstance(slider, _controls.SelectionSlider):
        values, labels = _options(slider), [label for label, _ in _pairs(slider)]
        bad_value = st.one_of(NOT_NUMBERS, NON_FINITE, FINITE.filter(lambda x: x not in values))
        bad_index = bad_int(0, len(values) - 1)
        bad_label = st.one_of(st.text(max_size=8).filter(lambda x: x not in labels), NOT_NUMBERS.filter(
            lambda x: not isinstance(x, str)))
        return st.one_of(st.tuples(st.just("value"), bad_value), st.tuples(st.just("index"), bad_index),
                         st.tuples(st.just("label"), bad_label))
    if isinstance(slider, _controls.IntSlider):
        return st.tuples(st.just("value"), bad_int(slider.min, slider.max))
    assert isinstance(slider, _controls.FloatSlider), type(slider)
    return st.tuples(st.just("value"), bad_float({"min": slider.min, "max": slider.max, "step": slider.step}))


@pytest.mark.parametrize("which", CONSTRUCTORS)
@PROPERTY
@given(data=st.data())
def test_sliders_set_from_code_refuse_bad_values_by_name(explorers, which, data):
    explorer = explorers[which]
    name = data.draw(st.sampled_from(sorted(explorer.sliders)), label="slider")
    slider = explorer.sliders[name]
    attribute, value = data.draw(bad_slider_values(slider), label="attribute, value")
    shown, retrains, redraws = slider.value, explorer.retrain_count, explorer.redraw_count
    with pytest.raises((TypeError, ValueError)) as refused:
        setattr(slider, attribute, value)
    message = str(refused.value)
    assert f"sliders[{name!r}]" in message and "it still shows" in message, message
    if isinstance(refused.value, ValueError) and attribute == "value":  # the range or the values
        top = _options(slider)[-1] if hasattr(slider, "options") else slider.max
        assert f"{top:g}" in message, message
    assert slider.value == shown and (explorer.retrain_count, explorer.redraw_count) == (retrains, redraws)
    assert explorer.last_error is None
    CASES["bad slider values"] += 1


def good_slider_values(slider):
    """Values one of an explorer's sliders must take as given: its own, as floats, ints, NumPy numbers
    or one-element tensors."""
    if isinstance(slider, _controls.SelectionSlider):
        return st.sampled_from(_options(slider))
    if isinstance(slider, _controls.IntSlider):
        ints = st.integers(slider.min, slider.max)
        return st.one_of(ints, ints.map(float), ints.map(np.int64), ints.map(torch.tensor))
    steps = round((slider.max - slider.min) / slider.step)
    on_grid = st.integers(0, steps).map(lambda k: round(slider.min + k * slider.step, 10))
    values = [on_grid, on_grid.map(np.float64), on_grid.map(lambda x: torch.tensor(x, dtype=torch.float64))]
    if math.ceil(slider.min) <= math.floor(slider.max):  # ints into float sliders are fine
        values.append(st.integers(math.ceil(slider.min), math.floor(slider.max)))
    return st.one_of(values)


def twin(slider):
    """A slider of the same class, range and values, with no explorer behind it: taking a value does not
    retrain (the explorer's own sliders move in tests/test_widgets.py and the other explorer tests)."""
    if isinstance(slider, _controls.SelectionSlider):
        return type(slider)(name=slider.name, options=slider.options, value=slider.value)
    return type(slider)(name=slider.name, value=slider.value, min=slider.min, max=slider.max, step=slider.step)


@pytest.mark.parametrize("which", CONSTRUCTORS)
@PROPERTY
@given(data=st.data())
def test_sliders_take_their_own_values_as_given(explorers, which, data):
    explorer = explorers[which]
    name = data.draw(st.sampled_from(sorted(explorer.sliders)), label="slider")
    slider = twin(explorer.sliders[name])
    try:
        value = data.draw(good_slider_values(slider), label="value")
        slider.value = value
        assert slider.value == float(value) and not isinstance(slider.value, bool | torch.Tensor | np.generic)
    finally:
        slider.close()
    CASES["good slider values"] += 1


def test_the_issues_slider_examples_are_refused_not_clamped(explorers):
    """beta = 1.2 became 0.99, steps = 500 became 200, heads = 300 became 10; a selection slider raised
    "TraitError: Invalid selection" naming neither the slider nor its values."""
    cases = [
        ("optimizer", "beta", 1.2, r"sliders\['beta'\] must be in \[0, 0.99\], got 1.2; it still shows 0.5"),
        ("optimizer", "steps", 500, r"sliders\['steps'\] must be an integer in \[1, 200\], got 500; it still shows"),
        ("coin", "heads", 300, r"sliders\['heads'\] must be an integer in \[0, 10\], got 300; it still shows 7"),
        ("weight decay", "lambd", 0.7, r"sliders\['lambd'\] must be one of 22 values from 0 to 100; nearest: 0.5 "
                                       r"and 1, got 0.7; it still shows 0"),
        ("dropout", "n_train", 150, r"sliders\['n_train'\] must be one of 100, 200, .*, 1200, got 150; it still shows"),
    ]
    for which, name, value, message in cases:
        explorer = explorers[which]
        before = (explorer.sliders[name].value, explorer.retrain_count)
        with pytest.raises(ValueError, match=message):
            explorer.sliders[name].value = value
        assert (explorer.sliders[name].value, explorer.retrain_count) == before


def test_the_bias_checkbox_set_from_code_takes_only_a_bool(explorers):
    """ipywidgets' Checkbox took 1 and 0 as True and False and answered 2 or 'no' with a TraitError naming
    no control; now each is refused by name and nothing retrains, and a bool (NumPy's too) retrains."""
    explorer = explorers["weight decay"]
    box = explorer.controls["decay_bias"]
    for value in (1, 0, 2, 0.0, "no", "", None, [True], np.int64(1)):
        before = (box.value, explorer.retrain_count)
        with pytest.raises(TypeError, match=r"controls\['decay_bias'\] must be True or False, got .*; it still "
                                            r"shows False"):
            box.value = value
        assert (box.value, explorer.retrain_count) == before
    retrains = explorer.retrain_count
    box.value = np.True_
    assert box.value is True and explorer.retrain_count == retrains + 1 and explorer.last_error is None
    redraws = explorer.redraw_count
    box.value = False  # back to a setting seen: from the cache, redrawn
    assert box.value is False and explorer.redraw_count == redraws + 1
    box.set_state({"value": True})  # a click on the page
    assert box.value is True
    box.value = False


def test_an_explorer_slider_takes_a_value_set_from_code_and_retrains(explorers):
    """(After the tests that expect the explorers' first settings.)"""
    explorer = explorers["optimizer"]
    retrains = explorer.retrain_count
    explorer.sliders["beta"].value = 0.37
    explorer.sliders["steps"].value = np.int64(7)
    assert explorer.retrain_count == retrains + 2 and explorer.last_error is None
    assert explorer.sliders["steps"].value == 7 and type(explorer.sliders["steps"].value) is int


def test_a_change_from_the_page_is_taken_as_ipywidgets_takes_it():
    """The page only sends a slider's own values; should it send another (a drag racing a range change),
    it is clamped as before, never an error in the kernel's log."""
    slider = _controls.IntSlider(name="heads", value=7, min=0, max=4 + 6)
    slider.set_state({"value": 12})  # what the page sends: the comm's update
    assert slider.value == 10
    slider.close()


def test_the_explorers_build_their_sliders_and_choices_from_the_checked_controls(explorers):
    for which, explorer in explorers.items():
        for name, control in explorer.controls.items():
            assert isinstance(control, _controls._Named) and control.name == name, (which, name)


# --- torch's defaults: another device, another dtype --------------------------------------


@pytest.fixture
def meta_default_device():
    torch.set_default_device("meta")  # stands in for "cuda" (see tests/test_device.py)
    try:
        yield
    finally:
        torch.set_default_device(None)


def test_explorer_classes_work_whatever_the_default_device(meta_default_device):
    """Called directly, not through their factories (which switch to the CPU): OptimizerExplorer made its
    contours on the default device, CoinExplorer its θ grid."""
    for explorer in (OptimizerExplorer(steps=5), CoinExplorer()):
        assert explorer.last_error is None, (type(explorer).__name__, explorer.last_error)
        explorer.close()


def test_dropout_explorer_trains_under_a_float64_default_dtype(tmp_path):
    torch.set_default_dtype(torch.float64)
    try:
        explorer = dropout_explorer(num_epochs=2, n_train=100, root=tmp_path)
        assert explorer.last_error is None, explorer.last_error
        explorer.close()
    finally:
        torch.set_default_dtype(torch.float32)


def test_the_property_tests_ran_enough_cases():
    if not CASES:
        pytest.skip("the property tests above were not selected")
    print(f"\nexplorer input: {sum(CASES.values())} property cases ({dict(CASES)})")
    assert sum(CASES.values()) >= FLOOR, dict(CASES)
