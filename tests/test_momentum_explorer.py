"""The momentum explorer of notebook 03b: α, β and κ of heavy ball on a 2-D valley."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from wd_helpers import momentum
from wd_helpers.widgets import momentum_explorer
from wd_helpers.widgets.momentum import ALPHA_CHOICES, ERROR_RANGE, X0, valley


@pytest.fixture
def explorer():
    built = momentum_explorer()
    yield built
    built.close()


def test_it_starts_at_polyaks_point_for_kappa_10(explorer):
    alpha, beta, rate = momentum.momentum_optimum(0.1, 1.0)
    assert explorer.sliders["alpha"].value == pytest.approx(alpha, rel=2e-3)  # 2.31, to 3 digits
    start_beta = explorer.sliders["beta"].value  # the slider's best β at that α (0.28), not β* rounded (0.27)
    assert abs(start_beta - beta) <= 0.02
    assert explorer.rate < momentum.spectral_radius(explorer.sliders["alpha"].value, round(beta, 2), [0.1, 1.0])
    assert explorer.rate == pytest.approx(momentum.spectral_radius(explorer.sliders["alpha"].value,
                                                                   explorer.sliders["beta"].value, [0.1, 1.0]))
    assert f"optimum ρ* = {rate:.3f}" in explorer.outcome and explorer.last_error is None


@pytest.mark.parametrize("alpha, beta, kappa", [(0.5, 0.5, 10), (2.0, 0.9, 100), (1.5, 0.0, 10), (3.0, 0.7, 100)])
def test_the_path_and_the_rate_are_the_analysis(explorer, alpha, beta, kappa):
    explorer.sliders["kappa"].value = kappa
    explorer.sliders["alpha"].value = alpha
    explorer.sliders["beta"].value = beta
    _, lams = valley(kappa)
    expected = momentum.run_quadratic(alpha, beta, list(lams), list(X0), explorer.sliders["steps"].value)
    assert torch.equal(explorer.points, expected)
    assert explorer.rate == momentum.spectral_radius(alpha, beta, list(lams))
    assert f"ρ = {explorer.rate:.3f}" in explorer.outcome and explorer.title.get_text() == explorer.outcome
    steps = torch.arange(len(expected), dtype=torch.float64)
    envelope = torch.as_tensor(explorer.rate_line.get_ydata())
    assert torch.allclose(envelope, (explorer.rate**steps * math.hypot(*X0)).clamp(ERROR_RANGE[0] / 10, ERROR_RANGE[1] * 10))
    assert list(explorer.here.get_xdata()) == [alpha] and list(explorer.here.get_ydata()) == [beta]


def test_the_damping_regimes_are_named(explorer):
    explorer.sliders["beta"].value = 0.9
    assert "flat direction under-damped, steep direction under-damped" in explorer.outcome
    explorer.sliders["alpha"].value = 1.5
    explorer.sliders["beta"].value = 0.0
    assert "β = 0: gradient descent" in explorer.outcome
    explorer.sliders["alpha"].value = 0.1
    explorer.sliders["beta"].value = 0.05
    assert "flat direction over-damped" in explorer.outcome


def test_a_step_past_the_edge_says_it_diverges_and_draws_the_finite_part(explorer):
    explorer.sliders["beta"].value = 0.5
    explorer.sliders["alpha"].value = 3.0  # 2(1 + β)/L = 3: on the edge
    assert explorer.rate == pytest.approx(1.0, abs=1e-9) and "neither converges nor diverges" in explorer.outcome
    assert explorer.title.get_color() == "black"
    explorer.sliders["alpha"].value = 4.0
    assert explorer.last_error is None and explorer.rate > 1 and explorer.diverged_at is not None
    assert "diverges" in explorer.status.value and "color:#c0392b" in explorer.status.value
    assert "stable needs α < 2(1 + β)/L = 3" in explorer.outcome
    drawn = explorer.error_line.get_ydata()
    assert len(drawn) == explorer.diverged_at + 1 and all(map(math.isfinite, drawn))
    assert len(explorer.path_plot.path.get_xdata()) >= 1  # never an empty plot
    explorer.sliders["alpha"].value = 2.0
    assert "diverges" not in explorer.outcome and explorer.title.get_color() == "black"


def test_the_tours_steps_are_on_the_slider():
    """gradient descent's best step 2/(L + μ) and Polyak's α, for both κ, to 3 digits"""
    for kappa in (10, 100):
        mu = 1 / kappa
        assert float(f"{2 / (1 + mu):.3g}") in ALPHA_CHOICES
        assert float(f"{momentum.momentum_optimum(mu, 1.0)[0]:.3g}") in ALPHA_CHOICES


def test_kappa_and_steps_redraw_the_background_once(explorer):
    explorer.sliders["kappa"].value = 100
    best = momentum.momentum_optimum(0.01, 1.0)
    assert explorer.best_rate == pytest.approx(best[2]) and "κ = 100" in explorer.outcome
    assert explorer.ax_plane.get_title().startswith("rate over (α, β), κ = 100")
    explorer.sliders["steps"].value = 250
    assert len(explorer.points) == 251 and explorer.rate_line.axes.get_xlim() == (0, 250)
    assert len(explorer.best_line.get_xdata()) == 251


def test_each_setting_computes_once_and_the_last_value_wins(explorer):
    figures = plt.get_fignums()
    retrains = explorer.retrain_count
    start = explorer.sliders["alpha"].value
    for alpha in (0.5, 1.0, 0.5, start):
        explorer.sliders["alpha"].value = alpha
    assert explorer.retrain_count == retrains + 2  # 0.5 and 1.0; the start and 0.5 again from the cache
    assert explorer.outcome.startswith(f"α = {start:g}, β = 0.28, κ = 10")
    assert plt.get_fignums() == figures


def test_close_frees_it():
    built = momentum_explorer(alpha=1.0, beta=0.5, kappa=100, steps=50)
    assert built.outcome.startswith("α = 1, β = 0.5, κ = 100")
    built.close()
    assert built.closed and built.figure is None
    built.close()


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="kappa"):
        momentum_explorer(kappa=50)
    with pytest.raises(ValueError, match="alpha"):
        momentum_explorer(alpha=ALPHA_CHOICES[-1] * 2)
    with pytest.raises(ValueError, match="beta"):
        momentum_explorer(beta=1.0)
    with pytest.raises((TypeError, ValueError), match="steps"):
        momentum_explorer(steps=5)
