import threading
import time

import matplotlib.pyplot as plt
import numpy as np
import pytest

from wd_helpers.widgets import _live
from wd_helpers.widgets import LAMBDA_CHOICES, weight_decay_explorer


@pytest.fixture
def explorer():
    return weight_decay_explorer(num_epochs=30)


def shown_test_loss(explorer):
    return list(explorer.loss_plot.test_line.get_ydata())


def test_lambda_slider_is_log_spaced_and_can_be_exactly_zero(explorer):
    values = [v for _, v in explorer.sliders["lambd"].options]
    assert values[0] == 0.0 and 3.0 in values
    ratios = np.diff(np.log10(values[1:]))
    assert (ratios > 0).all() and ratios.max() < 0.5  # at most half a decade between stops


def test_slider_event_retrains_once_per_distinct_value(explorer):
    assert explorer.retrain_count == 1  # the initial draw
    for value in (3.0, 0.1, 3.0, 0.1, 3.0):
        explorer.sliders["lambd"].value = value
    assert explorer.retrain_count == 3  # 3.0 and 0.1 trained once each; moving back is cached
    assert explorer.redraw_count == 6


def test_slider_event_redraws_latest_value(explorer):
    png_before = explorer.live.view.value
    explorer.sliders["lambd"].value = 3.0
    explorer.sliders["lr"].value = 0.01
    history = explorer.history
    assert (history.lambd, history.lr) == (3.0, 0.01)
    assert shown_test_loss(explorer) == history.test_loss
    assert list(explorer.norm_plot.line.get_ydata()) == history.w_norms
    assert "λ = 3," in explorer.title.get_text() and f"{history.w_norm:.3g}" in explorer.title.get_text()
    assert explorer.live.view.value != png_before  # the image the learner sees changed


def test_penalty_and_bias_controls_retrain(explorer):
    explorer.sliders["lambd"].value = 1.0
    l2 = explorer.history
    explorer.controls["penalty"].value = "l1"
    assert explorer.history.options["penalty"] == "l1" and explorer.history.test_loss != l2.test_loss
    explorer.controls["decay_bias"].value = True
    assert explorer.history.options["decay_bias"] is True


def test_moves_create_no_figures(explorer):
    figures = plt.get_fignums()  # one new figure per move would show after the first (leaks: make bench)
    for i in range(30):
        explorer.sliders["lambd"].value = LAMBDA_CHOICES[i % len(LAMBDA_CHOICES)]
    assert plt.get_fignums() == figures
    assert explorer.figure is explorer.live.figure


def test_ipympl_canvas_is_reused(monkeypatch):
    previous = plt.get_backend()  # before importing ipympl, which makes itself the backend
    pytest.importorskip("ipympl")
    monkeypatch.setattr(_live, "_is_interactive_backend", lambda: True)
    plt.switch_backend("module://ipympl.backend_nbagg")
    try:
        explorer = weight_decay_explorer(num_epochs=20)
        figures = plt.get_fignums()
        for value in LAMBDA_CHOICES[:10]:
            explorer.sliders["lambd"].value = value
        assert plt.get_fignums() == figures
        assert explorer.live.view is explorer.figure.canvas
        assert explorer.history.lambd == LAMBDA_CHOICES[9]
        plt.close(explorer.figure)
    finally:
        plt.switch_backend(previous)
    assert "ipympl" not in plt.get_backend()


def test_divergence_is_reported_not_raised(explorer):
    explorer.sliders["lr"].value = 0.1
    assert explorer.last_error is None
    assert explorer.history.diverged
    assert "diverged at epoch" in explorer.status.value
    assert "diverged at epoch" in explorer.loss_plot.message.get_text()
    explorer.sliders["lr"].value = 0.003
    assert explorer.loss_plot.message.get_text() == ""


def test_failed_retrain_is_shown_in_the_widget(explorer, monkeypatch):
    def broken(key):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(explorer, "compute", broken)
    explorer.sliders["lambd"].value = 5.0  # must not raise into the widget machinery
    assert isinstance(explorer.last_error, RuntimeError)
    assert "out of memory" in explorer.status.value


def test_concurrent_slider_events_never_overlap_and_the_last_value_wins(explorer, monkeypatch):
    running, overlaps = [0], []
    original = explorer.compute

    def slow_compute(key):
        running[0] += 1
        overlaps.append(running[0])
        time.sleep(0.01)
        try:
            return original(key)
        finally:
            running[0] -= 1

    monkeypatch.setattr(explorer, "compute", slow_compute)
    values = [v for v in LAMBDA_CHOICES if v > 0]

    def mover(offset):
        for v in values[offset::4]:
            explorer.sliders["lambd"].value = v

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(overlaps) == 1
    final = explorer.sliders["lambd"].value
    assert explorer.history.lambd == final
    assert shown_test_loss(explorer) == explorer.history.test_loss


def test_explorer_refuses_values_off_its_sliders():
    with pytest.raises(ValueError, match="lambd"):
        weight_decay_explorer(lambd=0.7)
    with pytest.raises(ValueError, match=r"lr must be in \[0.0001, 0.1\], got 1.0"):
        weight_decay_explorer(lr=1.0)


def test_lr_slider_shows_exactly_the_lessons_values(explorer):
    slider = explorer.sliders["lr"]
    labels = dict((v, label) for label, v in slider.options)
    assert labels[0.003] == "0.003" and labels[0.03] == "0.03"  # the lesson's two rates, not 0.00316
    values = [v for _, v in slider.options]
    ratios = np.diff(np.log10(values))
    assert (ratios > 0).all() and ratios.max() < 0.2  # fine enough to find the 2/L edge
    slider.value = 0.03
    assert explorer.history.lr == 0.03 and "lr = 0.03," in explorer.title.get_text()


def test_choice_slider_takes_an_off_grid_value_in_range():
    choices = _live.log_choices(1e-3, 1.0)
    assert choices[:4] == (0.001, 0.0015, 0.002, 0.003) and choices[-1] == 1.0
    slider = _live.choice_slider("lr", 0.0042, choices)
    assert slider.value == 0.0042 and ("0.0042", 0.0042) in slider.options
    values = [v for _, v in slider.options]
    assert values == sorted(values) and len(values) == len(choices) + 1
    with pytest.raises(ValueError, match=r"lr must be in \[0.001, 1\], got 2"):
        _live.choice_slider("lr", 2, choices)


def test_explorer_displays_as_a_widget(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


# --- the optimizer explorer ---------------------------------------------------------------

from wd_helpers.widgets import FUNCTIONS, OPTIMIZERS, optimizer_explorer  # noqa: E402
from wd_helpers.widgets.optimizers import LR_CHOICES as OPTIMIZER_LR_CHOICES  # noqa: E402
import torch  # noqa: E402


@pytest.fixture
def opt_explorer():
    return optimizer_explorer(optimizer="SGD", lr=0.4, steps=20)


def test_optimizer_explorer_reproduces_the_published_end_points(opt_explorer):
    assert opt_explorer.points.shape == (21, 2)
    assert np.allclose(opt_explorer.points[-1].tolist(), [-0.943467, -0.000073], atol=1e-5)
    opt_explorer.controls["optimizer"].value = "Momentum"
    opt_explorer.sliders["lr"].value = 0.6
    opt_explorer.sliders["beta"].value = 0.5
    assert np.allclose(opt_explorer.points[-1].tolist(), [0.007188, 0.002553], atol=1e-5)


def test_optimizer_explorer_redraws_the_latest_choice(opt_explorer):
    png = opt_explorer.live.view.value
    opt_explorer.controls["optimizer"].value = "Adam"
    opt_explorer.sliders["steps"].value = 50
    path_x = list(opt_explorer.path_plot.path.get_xdata())
    assert path_x == opt_explorer.points[:, 0].tolist()
    assert len(opt_explorer.loss_plot.line.get_ydata()) == 51
    assert opt_explorer.title.get_text().startswith("Adam")
    assert opt_explorer.loss_plot.ax.get_xlim() == (0, 50)
    assert opt_explorer.live.view.value != png


def test_optimizer_explorer_outcome_is_plain_text(opt_explorer):
    opt_explorer.controls["optimizer"].value = "Momentum"
    opt_explorer.sliders["lr"].value = 0.6
    opt_explorer.sliders["beta"].value = 0.5
    assert opt_explorer.outcome.startswith("Momentum: after 20 steps x = (0.007188, 0.002553)")
    assert "<" not in opt_explorer.outcome and opt_explorer.outcome in opt_explorer.status.value
    opt_explorer.controls["optimizer"].value = "SGD"
    opt_explorer.sliders["lr"].value = 1.0  # above 2/L = 0.5 along x₂
    opt_explorer.sliders["steps"].value = 200
    assert opt_explorer.outcome.startswith("SGD: diverged at step") and "<" not in opt_explorer.outcome


def test_optimizer_explorer_greys_out_unused_sliders(opt_explorer):
    expected = {"SGD": (True, True), "Momentum": (False, True), "RMSProp": (True, False), "Adam": (False, False),
                "Adadelta": (True, False), "AMSGrad": (False, False)}
    for name, (beta_off, beta2_off) in expected.items():
        opt_explorer.controls["optimizer"].value = name
        assert (opt_explorer.controls["beta"].disabled, opt_explorer.controls["beta2"].disabled) == (beta_off, beta2_off)


@pytest.mark.parametrize("name, make_torch, symbol", [
    ("Adadelta", lambda p, lr, b1, b2: torch.optim.Adadelta(p, lr=lr, rho=b2), "ρ = 0.95"),
    ("AMSGrad", lambda p, lr, b1, b2: torch.optim.Adam(p, lr=lr, betas=(b1, b2), amsgrad=True), "β₂ = 0.95"),
    ("RMSProp", lambda p, lr, b1, b2: torch.optim.RMSprop(p, lr=lr, alpha=b2), "α = 0.95"),
])
def test_optimizer_explorer_paths_equal_torch(opt_explorer, name, make_torch, symbol):
    """The explorer's Adadelta, AMSGrad and RMSProp walk torch's path, and the title names each slider as the
    optimizer does (Adadelta's ρ, RMSProp's α, Adam's β₂)."""
    opt_explorer.controls["optimizer"].value = name
    opt_explorer.sliders["lr"].value = 0.5
    opt_explorer.sliders["beta"].value = 0.8
    opt_explorer.sliders["beta2"].value = 0.95
    f, grad, x0, _ = FUNCTIONS[opt_explorer.controls["function"].value]
    x = torch.tensor(x0, requires_grad=True)
    reference = make_torch([x], 0.5, 0.8, 0.95)
    path = [x.detach().clone()]
    for _ in range(20):
        reference.zero_grad()
        f(x).backward()
        reference.step()
        path.append(x.detach().clone())
    assert torch.allclose(opt_explorer.points, torch.stack(path), rtol=1e-6, atol=1e-7)
    assert symbol in opt_explorer.title.get_text() and opt_explorer.title.get_text().startswith(name)


def test_optimizer_explorer_reports_divergence(opt_explorer):
    opt_explorer.sliders["lr"].value = 1.0  # above 2/L = 0.5 along x₂
    opt_explorer.sliders["steps"].value = 200
    assert opt_explorer.last_error is None
    assert "diverged at step" in opt_explorer.status.value
    assert len(opt_explorer.path_plot.path.get_xdata()) >= 1  # the finite part is still drawn


def test_optimizer_explorer_creates_no_figures(opt_explorer):
    figures = plt.get_fignums()
    for i, name in enumerate(list(OPTIMIZERS) * 5):
        opt_explorer.controls["optimizer"].value = name
        opt_explorer.sliders["lr"].value = OPTIMIZER_LR_CHOICES[i % len(OPTIMIZER_LR_CHOICES)]
    for function in FUNCTIONS:
        opt_explorer.controls["function"].value = function
    assert plt.get_fignums() == figures
    assert opt_explorer.retrain_count == len(opt_explorer._cache)  # one training per distinct setting


def test_optimizer_explorer_refuses_bad_settings():
    with pytest.raises(ValueError, match="optimizer"):
        optimizer_explorer(optimizer="LBFGS")
    with pytest.raises(ValueError, match="lr"):
        optimizer_explorer(lr=100.0)
    with pytest.raises(ValueError, match="steps"):
        optimizer_explorer(steps=0)
