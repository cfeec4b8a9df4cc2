"""The dropout explorer driven from Python: latest value wins, one retrain per value, no new figures."""

import threading

import matplotlib.pyplot as plt
import pytest
import torch

from wd_helpers import data as data_module

from wd_helpers.classify import sweep_dropout
from wd_helpers.classify_plots import DropoutSweepPlot, describe_classifier
from wd_helpers.data import FASHION_MNIST_FILES, ImageData, load_course_images, load_digits_data
from wd_helpers.widgets import N_TRAIN_CHOICES, dropout_explorer
from wd_helpers.widgets import dropout as dropout_module


@pytest.fixture
def explorer(tmp_path):
    return dropout_explorer(num_epochs=5, root=tmp_path)  # an empty folder: the bundled digits


def test_the_explorer_starts_with_the_lessons_rates_and_a_baseline(explorer):
    assert (explorer.history.options["dropout1"], explorer.history.options["dropout2"]) == (0.2, 0.5)
    assert explorer.baseline.options["dropout1"] == explorer.baseline.options["dropout2"] == 0.0
    assert explorer.retrain_count == 1  # both came from one batched run
    assert list(explorer.curves.lines["test", "loss"].get_ydata()) == explorer.history.test_loss
    assert list(explorer.curves.lines["baseline", "loss"].get_ydata()) == explorer.baseline.test_loss


def test_slider_event_redraws_latest_value(explorer):
    png = explorer.live.view.value
    explorer.sliders["dropout2"].value = 0.3
    explorer.sliders["dropout1"].value = 0.0
    history = explorer.history
    assert (history.options["dropout1"], history.options["dropout2"]) == (0.0, 0.3)
    assert list(explorer.curves.lines["train", "accuracy"].get_ydata()) == history.train_acc
    assert "p₁ = 0.00, p₂ = 0.30" in explorer.title.get_text()
    assert describe_classifier(history) in explorer.title.get_text()
    assert explorer.live.view.value != png


def test_one_retrain_per_distinct_value_and_the_baseline_is_trained_once(explorer, monkeypatch):
    calls = []
    real = dropout_module.sweep_dropout
    monkeypatch.setattr(dropout_module, "sweep_dropout", lambda rates, **kw: calls.append(rates) or real(rates, **kw))
    for value in (0.3, 0.6, 0.3, 0.6, 0.3):
        explorer.sliders["dropout2"].value = value
    assert calls == [[(0.2, 0.3)], [(0.2, 0.6)]]  # moving back is cached; the baseline is not retrained
    explorer.sliders["n_train"].value = 100
    assert calls[-1] == [(0.0, 0.0), (0.2, 0.3)]  # new data: a new baseline, in the same run
    assert explorer.history.options["dropout2"] == 0.3 and len(explorer.history.train_loss) == 5


def test_no_dropout_hides_the_baseline(explorer):
    explorer.sliders["dropout1"].value = 0.0
    explorer.sliders["dropout2"].value = 0.0
    assert list(explorer.curves.lines["baseline", "loss"].get_ydata()) == []
    assert explorer.history.test_loss == explorer.baseline.test_loss


def test_training_set_size_changes_the_data(explorer):
    explorer.sliders["n_train"].value = 800
    assert explorer.data(800).n_train == 800
    assert "800 digits" in explorer.title.get_text()


def test_progress_bar_runs_during_training_and_hides_after(explorer, monkeypatch):
    seen = []
    real = dropout_module.sweep_dropout

    def watching(rates, **options):
        progress = options["progress"]
        def spy(epoch, total):
            progress(epoch, total)
            seen.append((explorer.progress.value, explorer.progress.layout.visibility, explorer.status.value))
        return real(rates, **{**options, "progress": spy})

    monkeypatch.setattr(dropout_module, "sweep_dropout", watching)
    explorer.sliders["dropout1"].value = 0.4
    assert [value for value, _, _ in seen] == [1, 2, 3, 4, 5]
    assert all(visibility == "visible" and "training" in status for _, visibility, status in seen)
    assert explorer.progress.layout.visibility == "hidden"


def test_a_value_arriving_during_a_retrain_is_not_trained_twice(explorer, monkeypatch):
    """While p₂ = 0.7 trains, the same value arrives again (a second widget message): one retrain only,
    and a different value arriving meanwhile is trained next, so the last value wins."""
    started, release = threading.Event(), threading.Event()
    real = dropout_module.sweep_dropout
    calls = []

    def slow(rates, **options):
        calls.append(rates)
        if len(calls) == 1:
            started.set()
            release.wait(10)
        return real(rates, **options)

    monkeypatch.setattr(dropout_module, "sweep_dropout", slow)
    worker = threading.Thread(target=lambda: setattr(explorer.sliders["dropout2"], "value", 0.7))
    worker.start()
    assert started.wait(10)
    explorer._on_change()  # the same value again, as a repeated message would deliver it
    explorer._on_change()
    explorer.sliders["dropout1"].value = 0.1  # a new value while the first still trains: queued
    release.set()
    worker.join(10)
    assert calls == [[(0.2, 0.7)], [(0.1, 0.7)]]
    assert explorer.history.options["dropout1"] == 0.1 and explorer.history.options["dropout2"] == 0.7


def test_moves_create_no_figures(explorer):
    figures = plt.get_fignums()  # one new figure per move would show after the first (leaks: make bench)
    for i in range(30):
        explorer.sliders["dropout2"].value = (0.0, 0.5)[i % 2]
    assert plt.get_fignums() == figures and explorer.retrain_count <= 2


@pytest.mark.parametrize(("option", "value", "message"), [
    ("dropout1", 0.95, r"dropout1 must be in \[0.0, 0.9\]"),
    ("dropout2", -0.1, r"dropout2 must be in \[0.0, 0.9\]"),
    ("n_train", 5, r"n_train must be an integer >= 10"),
    ("n_train", "300", r"n_train must be an integer >= 10"),
    ("num_epochs", 0, r"num_epochs must be an integer in \[1, 500\]"),
])
def test_bad_settings_are_refused(option, value, message):
    with pytest.raises(ValueError, match=message):
        dropout_explorer(**{option: value})


def test_slider_choices_are_valid_digit_training_sizes():
    assert all(10 <= n <= 1787 for n in N_TRAIN_CHOICES) and 300 in N_TRAIN_CHOICES


def test_sweep_plot_marks_the_lowest_test_loss():
    data = load_digits_data(n_train=100)
    rates = [0.0, 0.5]
    histories = sweep_dropout(rates, data=data, num_epochs=3)
    plot = DropoutSweepPlot().update(rates, histories)
    gap = [h.final_test_loss - h.final_train_loss for h in histories]
    assert list(plot.gap_line.get_ydata()) == pytest.approx(gap)
    best = rates[min(range(2), key=lambda i: histories[i].final_test_loss)]
    assert list(plot.best.get_xdata()) == [best, best]
    plt.close(plot.ax.figure)


def test_the_explorer_follows_the_datas_own_training_set_size(tmp_path, monkeypatch):
    """With Fashion-MNIST present (here synthetic images of its shape, few of them) the notebook trains on
    2 000 images: the explorer must start there too, and offer that size on its slider."""
    g = torch.Generator().manual_seed(0)
    fake = ImageData(torch.rand(2500, 784, generator=g), torch.arange(2500) % 10, torch.rand(50, 784, generator=g),
                     torch.arange(50) % 10, 10, (28, 28), "fake-fashion", tuple(str(i) for i in range(10)))
    for name in FASHION_MNIST_FILES:
        (tmp_path / name).touch()
    monkeypatch.setattr(data_module, "load_fashion_mnist", lambda root, **_: fake)
    data, _ = load_course_images(tmp_path)
    explorer = dropout_explorer(num_epochs=1, root=tmp_path)
    assert data.n_train == 2000 and explorer.sliders["n_train"].value == data.n_train
    assert data.n_train in explorer.sliders["n_train"].options and explorer.history.epochs == [1]
    assert torch.equal(explorer.data(data.n_train).X_train, data.X_train)
    assert dropout_explorer(num_epochs=1, root=tmp_path, n_train=250).sliders["n_train"].options[2] == 250
