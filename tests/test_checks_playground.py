"""Notebook 06's checker: right answers in every form, the common mistakes with their hint, garbage answered."""

import pytest

from wd_helpers.checks import check_small_spiral_net
from wd_helpers.playground import Run, train
from wd_helpers.widgets import playground

SINES = ("x1", "x2", "sin(x1)", "sin(x2)")
GOOD = dict(features=SINES, layers=(4,), optimizer="Adam", lr=0.01, seed=0)  # 96.8 % after 150 epochs


@pytest.fixture(scope="module")
def good_history():
    return train("spiral", epochs=150, **GOOD)


def verdict(capsys, answer):
    ok = check_small_spiral_net(answer)
    return ok, capsys.readouterr().out


def test_a_history_a_run_and_the_playground_are_all_accepted(capsys, good_history):
    ok, out = verdict(capsys, good_history)
    assert ok and out.startswith("✓ correct: 4 hidden neurons reach 96.8 % test accuracy"), out
    run = Run("spiral", **GOOD)
    run.step(150)
    assert verdict(capsys, run)[0]
    shown = playground(dataset="spiral", features=SINES, layers=(4,), optimizer="Adam", lr=0.01)
    shown.step(150)
    assert verdict(capsys, shown)[0]
    shown.close()


@pytest.mark.parametrize("answer, hint", [
    (lambda: train("circle", epochs=5, **GOOD), "this run is on the 'circle' data: the exercise is the spiral"),
    (lambda: train("spiral", epochs=5, layers=(8, 8), optimizer="Adam", lr=0.03),
     "16 hidden neurons (8 + 8): at most 4 in all"),
    (lambda: train("spiral", epochs=5, features=SINES, layers=(8,), optimizer="Adam", lr=0.03),
     "8 hidden neurons (8): at most 4"),  # notebook 06 §3's own answer: the exercise asks for fewer
    (lambda: train("spiral", epochs=5, **GOOD), "train longer, or with Adam"),
    (lambda: train("spiral", epochs=40, layers=(4,), optimizer="Adam", lr=0.03), "try the sin features"),
    (lambda: train("spiral", epochs=5, n_points=2000, **GOOD), "keep the 500 noise-free points"),
    (lambda: train("spiral", epochs=5, noise=0.2, **GOOD), "keep the 500 noise-free points"),
    (lambda: 0.97, "that is a number: pass the history itself"),
    (lambda: Run("spiral", **GOOD), "has not trained yet"),
    (lambda: train("spiral", epochs=10, features=SINES, layers=(4,), activation="linear", lr=3.0),
     "diverged at epoch"),
])
def test_the_common_mistakes_get_their_hint(capsys, answer, hint):
    ok, out = verdict(capsys, answer())
    assert not ok and out.startswith("✗ not yet:") and hint in out, out


def test_an_edited_history_is_refused(capsys):
    history = train("spiral", epochs=5, **GOOD)
    history.test_acc[-1] = 0.99
    ok, out = verdict(capsys, history)
    assert not ok and "not what train(...) gives" in out


@pytest.mark.parametrize("garbage", [None, ..., 3, "spiral", [], {"layers": (8,)}, train])
def test_garbage_is_answered_not_raised(capsys, garbage):
    ok, out = verdict(capsys, garbage)
    assert ok is False and out.startswith("✗ not yet:")


# --- exercise 2: close the gap of §4 with one regulariser ----------------------------------------------------------

from wd_helpers.checks import check_gap_closed  # noqa: E402
from wd_helpers.checks.playground import GAP_SETTING  # noqa: E402

BASE = {name: value for name, value in GAP_SETTING.items() if name != "dataset"}


def gap_verdict(capsys, answer):
    ok = check_gap_closed(answer)
    return ok, capsys.readouterr().out


@pytest.mark.parametrize("penalty", [dict(penalty="l2", lambd=0.03), dict(penalty="l2", lambd=0.02)])
def test_a_penalty_that_closes_the_gap_is_accepted(capsys, penalty):
    ok, out = gap_verdict(capsys, train("circle", epochs=300, **BASE, **penalty))
    assert ok and out.startswith("✓ correct: gap 0.") and "without the penalty" in out, out


@pytest.mark.parametrize("answer, hint", [
    (lambda: train("circle", epochs=300, **BASE), "no penalty"),
    (lambda: train("circle", epochs=300, **BASE, dropout=0.3), "dropout was §4's answer"),
    (lambda: train("circle", epochs=5, **dict(BASE, seed=3), penalty="l2", lambd=0.01), "seed=3 (§4: 0)"),
    (lambda: train("circle", epochs=5, **dict(BASE, train_fraction=0.5), penalty="l2", lambd=0.03),
     "more data would close it"),
    (lambda: train("circle", epochs=300, **BASE, penalty="l2", lambd=0.01), "not yet below 0.25"),
    (lambda: train("circle", epochs=100, **BASE, penalty="l2", lambd=0.03), "train for 300 epochs"),
    (lambda: train("xor", epochs=5, **BASE, penalty="l2", lambd=0.03), "dataset='xor' (§4: 'circle')"),
])
def test_the_gap_exercise_names_the_mistake(capsys, answer, hint):
    ok, out = gap_verdict(capsys, answer())
    assert not ok and hint in out, out


def test_too_strong_a_regulariser_is_named_underfitting(capsys):
    ok, out = gap_verdict(capsys, train("circle", epochs=300, **BASE, penalty="l2", lambd=0.1))  # a constant output
    assert not ok and "the test accuracy fell to 59.3 %" in out and "underfits" in out, out
