"""Checkers for notebook 06, the playground."""

from ._report import _report, checker

SPIRAL_ACCURACY, SPIRAL_NEURONS = 0.95, 4
SPIRAL_DATA = dict(n_points=500, train_fraction=0.5, noise=0.0)  # the exercise is the network, not more data


def _history_of(answer):
    """The PlaygroundHistory in the learner's answer (a history from train(), a Run, or the playground widget), or
    (None, why not)."""
    from ..playground import PlaygroundHistory, Run

    if isinstance(answer, PlaygroundHistory):
        return answer, None
    if isinstance(answer, Run):
        return answer.history, None
    history = getattr(answer, "history", None)  # the Playground widget
    if isinstance(history, PlaygroundHistory):
        return history, None
    if answer is None or answer is Ellipsis:
        return None, "pass your run: the history that train(...) returns, or your playground (after training it)"
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        return None, "that is a number: pass the history itself (what train(...) returns), not one of its values"
    return None, (f"pass the history that train(...) returns (or a Run, or the playground), got "
                  f"{type(answer).__name__}")


@checker
def check_small_spiral_net(answer) -> bool:
    """Exercise: a network of at most 4 hidden neurons that reaches 95 % test accuracy on the spiral.

    Accepts the history from ``train("spiral", ...)``, a ``Run`` or the playground itself. The run is trained again
    from its own settings, so the accuracy is the one those settings give (a history edited by hand is refused)."""
    from ..playground import train

    history, why = _history_of(answer)
    if history is None:
        return _report(False, why)
    settings = dict(history.settings)
    if settings.get("dataset") != "spiral":
        return _report(False, f"this run is on the {settings.get('dataset')!r} data: the exercise is the spiral "
                              "(dataset='spiral')")
    if settings.get("data") is not None:
        return _report(False, "use the spiral that train('spiral', ...) draws (no data= of your own)")
    other = {name: settings.get(name) for name, value in SPIRAL_DATA.items() if settings.get(name) != value}
    if other:
        return _report(False, f"keep the 500 noise-free points and the half split ({other} changed): the exercise is "
                              "the network, and more or cleaner points make any network look better")
    neurons = sum(settings.get("layers", ()))
    if neurons > SPIRAL_NEURONS:
        return _report(False, f"{neurons} hidden neurons ({' + '.join(map(str, settings['layers']))}): at most "
                              f"{SPIRAL_NEURONS} in all (input features are not neurons; they do not count)")
    if history.diverged:
        return _report(False, f"the run diverged at epoch {history.diverged_at}: lower the learning rate")
    if not history.train_loss:
        return _report(False, "the run has not trained yet: train it (epochs=...) first")
    again = train(epochs=history.epochs, **settings)
    if again.test_acc != history.test_acc or again.train_loss != history.train_loss:
        return _report(False, "these numbers are not what train(...) gives for the run's own settings: pass the "
                              "history as train returned it")
    accuracy, train_accuracy = history.test_acc[-1], history.train_acc[-1]
    if accuracy < SPIRAL_ACCURACY:
        uses_sines = {"sin(x1)", "sin(x2)"} <= set(settings.get("features", ()))
        hint = (f" (training accuracy {100 * train_accuracy:.1f} %: the exercise asks for the test set's)"
                if train_accuracy >= SPIRAL_ACCURACY else
                "; train longer, or with Adam" if uses_sines else "; try the sin features")
        return _report(False, f"test accuracy {100 * accuracy:.1f} % after {history.epochs} epochs, not yet "
                              f"{100 * SPIRAL_ACCURACY:.0f} %{hint}")
    return _report(True, f"{neurons} hidden neurons reach {100 * accuracy:.1f} % test accuracy on the spiral")


# notebook 06 §4's setting: a wide network on 50 noisy points of the circle (what the exercise must keep)
GAP_SETTING = dict(dataset="circle", noise=0.3, train_fraction=0.1, layers=(8, 8, 8), optimizer="Adam", lr=0.03,
                   n_points=500, batch_size=10, features=("x1", "x2"), activation="tanh", seed=0)
GAP_LIMIT, GAP_ACCURACY, GAP_EPOCHS = 0.25, 0.85, 300
_REGULARISERS = ("penalty", "lambd", "dropout")


@checker
def check_gap_closed(answer) -> bool:
    """Exercise: on §4's setting, an L1 or L2 penalty and its λ that bring the gap (test − train loss) below 0.25
    after 300 epochs, with the test accuracy still at least 85 % (dropout was §4's own answer). Accepts the history from ``train``, a Run or
    the playground; the run is trained again from its own settings."""
    from ..playground import train

    history, why = _history_of(answer)
    if history is None:
        return _report(False, why)
    settings = dict(history.settings)
    changed = [name for name, value in GAP_SETTING.items() if settings.get(name) != value]
    if changed:
        shown = ", ".join(f"{name}={settings.get(name)!r} (§4: {GAP_SETTING[name]!r})" for name in changed)
        more_data = " – more data would close it too, but the exercise is the regulariser" \
            if "train_fraction" in changed else ""
        return _report(False, f"keep §4's setting and change only the regulariser: {shown}{more_data}")
    if settings.get("data") is not None:
        return _report(False, "use the circle that train('circle', ...) draws (no data= of your own)")
    rates = settings.get("dropout", 0.0)
    rates = rates if isinstance(rates, tuple) else (rates,)
    if any(rates):
        return _report(False, "dropout was §4's answer: close the gap with a penalty instead (penalty='l1' or 'l2' "
                              "with lambd > 0), and no dropout")
    if settings.get("penalty", "none") == "none" or not settings.get("lambd", 0.0) > 0:
        return _report(False, "no penalty: set penalty='l1' or 'l2' with lambd > 0")
    if history.diverged:
        return _report(False, f"the run diverged at epoch {history.diverged_at}")
    if history.epochs != GAP_EPOCHS:
        return _report(False, f"train for {GAP_EPOCHS} epochs (epochs={GAP_EPOCHS}), as in §4; this run has "
                              f"{history.epochs}: a gap measured earlier is not the same question")
    again = train(epochs=history.epochs, **settings)
    if again.test_loss != history.test_loss or again.train_loss != history.train_loss:
        return _report(False, "these numbers are not what train(...) gives for the run's own settings: pass the "
                              "history as train returned it")
    gap, accuracy = history.gap, history.test_acc[-1]
    if gap >= GAP_LIMIT:
        return _report(False, f"gap {gap:.3f} (test loss {history.test_loss[-1]:.3f} − train loss "
                              f"{history.train_loss[-1]:.3f}): not yet below {GAP_LIMIT}; regularise more")
    if accuracy < GAP_ACCURACY:
        return _report(False, f"the gap is {gap:.3f}, but the test accuracy fell to {100 * accuracy:.1f} % (train loss "
                              f"{history.train_loss[-1]:.3f}): too strong, the network underfits; regularise less")
    unregularised = train(epochs=history.epochs, **dict(settings, penalty="none", lambd=0.0)).gap
    return _report(True, f"gap {gap:.3f} (from {unregularised:.3f} without the penalty), test accuracy "
                         f"{100 * accuracy:.1f} %")
