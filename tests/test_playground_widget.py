"""The playground widget (wd_helpers.widgets.playground): its controls, play / step / reset, last value wins,
A/B, reproduce(), divergence and bad input. The training itself is tested in test_playground.py."""

import gc
import weakref

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest

from wd_helpers import playground as core
from wd_helpers.widgets import Playground, playground

REQUIRED = {"dataset", "noise", "train_fraction", "batch_size", "features", "layers", "activation", "penalty",
            "lambd", "dropout", "optimizer", "lr"}


@pytest.fixture
def pg():
    shown = playground()
    yield shown
    shown.close()


def tick(shown: Playground, times: int = 1):
    """What the page's Play widget does while playing: advance its value, once per interval."""
    for _ in range(times):
        shown._last_frame = 0.0  # as if a whole interval had passed since the last frame
        shown.play.value += 1


def test_the_controls_and_the_api(pg):
    assert REQUIRED <= set(pg.controls)
    assert isinstance(pg.play, widgets.Play) and pg.play.interval <= 100  # ≥ 10 ticks a second
    assert pg.history.epochs == 0 and pg.history.train_loss == []
    assert pg.figure is pg.live.figure


def test_step_trains_and_equals_the_package_function(pg):
    history = pg.step(7)
    assert history is pg.history and history.epochs == 7 and pg.redraw_count >= 2
    pg.step(5)
    reference = core.train("circle", epochs=12, seed=0)
    assert pg.history.train_loss == reference.train_loss and pg.history.test_acc == reference.test_acc


def test_play_ticks_train_and_redraw_in_place_without_new_figures(pg):
    figures, figure = plt.get_fignums(), pg.figure
    redraws = pg.redraw_count
    tick(pg, 5)
    assert pg.history.epochs >= 5 and pg.redraw_count == redraws + 5
    assert pg.figure is figure and plt.get_fignums() == figures
    epochs = pg.history.epochs
    pg.play.value += 1  # a tick queued while the last frame was drawn (no interval since): dropped
    assert pg.history.epochs == epochs
    assert f"epoch {epochs}:" in pg.status.value


def test_a_control_change_starts_a_new_run_replayed_to_the_same_epoch_and_the_last_value_wins(pg):
    pg.step(10)
    count = pg.retrain_count
    pg.set(dataset="xor", features=("x1", "x2", "x1*x2"), layers=(), lr=0.1)
    assert pg.retrain_count == count + 1  # one new run, for the final values
    assert pg.history.epochs == 10 and pg.history.settings["dataset"] == "xor"  # trained as far as the old one
    assert pg.history.test_loss == core.train("xor", features=("x1", "x2", "x1*x2"), layers=(), lr=0.1,
                                              epochs=10).test_loss  # the very run train() gives
    pg.step(10)
    assert pg.history.test_acc[-1] > 0.95
    pg.controls["lr"].value = 0.01
    pg.controls["lr"].value = 0.003
    assert pg.history.epochs == 20 and pg.history.settings["lr"] == 0.003
    pg.step(1)  # past REPLAY_EPOCHS (20): a change starts at epoch 0
    pg.controls["lr"].value = 0.01
    assert pg.history.epochs == 0


def test_reset_and_regenerate(pg):
    pg.step(10)
    first = pg.history.train_loss[:]
    pg.play.playing = True
    pg.reset()
    assert not pg.play.playing and pg.history.epochs == 0
    pg.step(10)
    assert pg.history.train_loss == first  # the same seed: the same run
    points = pg.run.data.X_train.clone()
    pg.regenerate()
    assert pg.seed == 1 and not (pg.run.data.X_train == points).all()


def test_layers_and_dropout_per_layer(pg):
    pg.controls["layers"].value = (8, 8, 8)
    assert pg.controls["dropout"].value == (0.0, 0.0, 0.0)
    pg.controls["dropout"].value = (0.1, 0.2, 0.5)
    assert pg.run.net.extra_repr() and pg.history.settings["dropout"] == (0.1, 0.2, 0.5)
    pg.controls["layers"].value = (8,)
    assert pg.controls["dropout"].value == (0.1,)
    pg.controls["layers"].value = (8, 3)
    assert pg.controls["dropout"].value == (0.1, 0.1)  # a new layer takes the last rate
    layers = pg.controls["layers"]
    layers.rows.children[1].children[2].click()  # "+" on the second layer, as the learner clicks it
    assert layers.value == (8, 4)
    layers.children[1].click()  # "− layer"
    assert layers.value == (8,) and pg.history.settings["layers"] == (8,)


def test_lambda_is_greyed_out_without_a_penalty(pg):
    assert pg.controls["penalty"].value == "none" and pg.controls["lambd"].disabled
    pg.controls["penalty"].value = "l1"
    assert not pg.controls["lambd"].disabled
    other = playground(penalty="l2", lambd=0.01)
    assert other.controls["lambd"].disabled is False
    other.close()


def test_features_toggle_and_the_last_one_stays_on(pg):
    features = pg.controls["features"]
    features.buttons["x1*x2"].value = True
    assert features.value == ("x1", "x2", "x1*x2")
    features.buttons["x1"].value = False
    features.buttons["x2"].value = False
    features.buttons["x1*x2"].value = False  # the last one: refused, it stays on
    assert features.value == ("x1*x2",) and features.buttons["x1*x2"].value


@pytest.mark.parametrize("name, value, match", [
    ("layers", (9,), r"controls\['layers'\] must be 0 to 4 hidden layers of 1 to 8 neurons"),
    ("layers", (4, 4, 4, 4, 4), r"controls\['layers'\] must be 0 to 4"),
    ("layers", "4,2", r"controls\['layers'\] must be a tuple"),
    ("features", (), r"controls\['features'\] must be one or more different names"),
    ("features", ("x1", "x1"), r"must be one or more different names"),
    ("features", ("x3",), r"must be one or more different names of x1, x2"),
    ("dropout", (0.1, 0.2, 0.3, 0.4, 0.5), r"controls\['dropout'\] must have one rate per hidden layer"),
    ("dropout", (1.5, 0.0), r"controls\['dropout'\]\[0\] must be"),
    ("lr", 0.07, r"sliders\['lr'\] must be one of"),
    ("dataset", "moons", r"dataset"),
])
def test_a_bad_value_from_code_is_refused_naming_the_control_and_nothing_changes(pg, name, value, match):
    before, count = pg.controls[name].value, pg.retrain_count
    with pytest.raises((ValueError, TypeError), match=match):
        pg.controls[name].value = value
    assert pg.controls[name].value == before and pg.retrain_count == count


def test_bad_constructor_arguments_name_the_argument():
    before = set(widgets.widget._instances)
    for settings, match in [({"layers": (9,)}, "layers"), ({"lr": 0.07}, "lr"), ({"dataset": "moons"}, "dataset"),
                            ({"batch_size": 0}, "batch_size"), ({"lambd": 0.07}, "lambd"), ({"seed": -1}, "seed")]:
        with pytest.raises((ValueError, TypeError), match=match):
            playground(**settings)
    assert set(widgets.widget._instances) <= before  # a refused argument leaves no widget behind


def test_freeze_as_a_and_compare(pg):
    pg.step(20)
    pg.freeze()
    a_history = pg.a["history"]
    pg.set(lr=0.3)
    pg.step(20)
    assert pg.a["history"] is a_history and a_history.settings["lr"] == 0.03
    assert len(pg.a_train_line.get_xdata()) == 20 and "A: 20 epochs" in pg.a_title.get_text()
    assert "(A: test loss" in pg.status.value
    pg.clear_a()
    assert pg.a is None and len(pg.a_train_line.get_xdata()) == 0


def test_reproduce_gives_the_numbers_on_screen():
    shown = playground(dataset="spiral", features=("x1", "x2", "sin(x1)", "sin(x2)"), layers=(8, 4),
                       optimizer="Adam", lr=0.01, penalty="l2", lambd=0.001, dropout=0.1, noise=0.1, seed=3)
    shown.step(15)
    code = shown.reproduce()
    assert code.startswith("from wd_helpers.playground import train") and "seed=3" in code and "epochs=15" in code
    namespace = {}
    exec(code, namespace)
    history = namespace["history"]
    assert history.train_loss == shown.history.train_loss and history.test_acc == shown.history.test_acc
    shown.buttons["reproduce in code"].click()
    assert "train(&#x27;spiral&#x27;" in shown.code.value or "train('spiral'" in shown.code.value
    shown.close()


def test_the_status_says_what_would_otherwise_be_silent(pg):
    pg.set(penalty="l2")
    assert "L2 with λ = 0: the penalty is off" in pg.status.value
    pg.set(optimizer="AdamW")
    assert "AdamW&#x27;s decoupled weight decay 0.01" in pg.status.value  # (HTML-escaped)
    pg.controls["layers"].value = ()
    assert pg.ax_neurons.get_title() == "no hidden layer"


def test_reproduce_of_a_diverged_run_diverges_the_same_way():
    shown = playground(features=("x1^2", "x2^2"), activation="linear", lr=1.0)
    shown.step(3)
    namespace = {}
    exec(shown.reproduce(), namespace)
    assert shown.history.diverged and namespace["history"].diverged_at == shown.history.diverged_at
    shown.close()


def test_a_diverging_run_says_so_and_stops_playing():
    shown = playground(features=("x1^2", "x2^2"), activation="linear", lr=1.0)
    shown.play.playing = True
    tick(shown, 3)
    assert shown.history.diverged and not shown.play.playing
    assert "diverged at epoch" in shown.status.value and "#c0392b" in shown.status.value
    assert shown.last_error is None and shown.surface_image.get_array() is not None  # drawn, not empty
    shown.close()


def test_closing_frees_the_widgets_and_the_explorer_is_collected():
    before = set(widgets.widget._instances)
    shown = playground()
    shown.step(2)
    shown.close()
    assert set(widgets.widget._instances) <= before
    shown = playground()
    ref = weakref.ref(shown)
    del shown
    gc.collect()
    assert ref() is None
