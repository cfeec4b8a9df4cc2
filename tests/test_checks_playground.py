"""Notebook 06's checker: right answers in every form, the common mistakes with their hint, garbage answered."""

import pytest

from wd_helpers.checks import check_small_spiral_net
from wd_helpers.playground import Run, train
from wd_helpers.widgets import playground

SINES = ("x1", "x2", "sin(x1)", "sin(x2)")
GOOD = dict(features=SINES, layers=(8,), optimizer="Adam", lr=0.03, seed=0)  # 98.8 % after 40 epochs


@pytest.fixture(scope="module")
def good_history():
    return train("spiral", epochs=40, **GOOD)


def verdict(capsys, answer):
    ok = check_small_spiral_net(answer)
    return ok, capsys.readouterr().out


def test_a_history_a_run_and_the_playground_are_all_accepted(capsys, good_history):
    ok, out = verdict(capsys, good_history)
    assert ok and out.startswith("✓ correct: 8 hidden neurons reach 98.8 % test accuracy")
    run = Run("spiral", **GOOD)
    run.step(40)
    assert verdict(capsys, run)[0]
    shown = playground(dataset="spiral", features=SINES, layers=(8,), optimizer="Adam", lr=0.03)
    shown.step(40)
    assert verdict(capsys, shown)[0]
    shown.close()
    assert verdict(capsys, train("spiral", epochs=100, features=SINES, layers=(4, 4), optimizer="Adam", lr=0.03))[0]


@pytest.mark.parametrize("answer, hint", [
    (lambda: train("circle", epochs=5, **GOOD), "this run is on the 'circle' data: the exercise is the spiral"),
    (lambda: train("spiral", epochs=5, layers=(8, 8), optimizer="Adam", lr=0.03),
     "16 hidden neurons (8 + 8): at most 8 in all"),
    (lambda: train("spiral", epochs=5, **GOOD), "test accuracy"),
    (lambda: train("spiral", epochs=40, layers=(8,), optimizer="Adam", lr=0.03), "try the sin features"),
    (lambda: Run("spiral", **GOOD), "has not trained yet"),
    (lambda: train("spiral", epochs=10, features=SINES, layers=(8,), activation="linear", lr=3.0),
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
