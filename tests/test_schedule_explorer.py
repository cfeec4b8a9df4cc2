"""The schedule explorer of notebook 03c: η, batch size and schedule of minibatch SGD against the noise floor."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from wd_helpers.schedules import lr_sequence, sgd_least_squares
from wd_helpers.widgets import SCHEDULES, schedule_explorer
from wd_helpers.widgets.schedules import (EXCESS_RANGE, LAST, NUM_RUNS, NUM_STEPS, RUN_STRIDE, first_blow_up,
                                         regression_problem)


@pytest.fixture(scope="module")
def problem():
    return regression_problem(0)


@pytest.fixture
def explorer():
    built = schedule_explorer()
    yield built
    built.close()


def test_the_problem_is_notebook_03cs(problem):
    """1000 × 10, L* = 0.2361 and tr(H) ≈ d = 10: the numbers notebook 03c prints."""
    X, y, L_star, trace_H = problem
    assert X.shape == (1000, 10) and y.shape == (1000, 1)
    assert f"{L_star:.4f}" == "0.2361" and abs(trace_H - 10) < 0.05
    w_hat = torch.linalg.pinv(X.double()) @ y.double()  # an independent minimiser: the pseudo-inverse
    assert math.isclose(((X.double() @ w_hat - y.double()) ** 2).mean().item(), L_star, rel_tol=1e-10)


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_curves_are_sgd_least_squares_and_the_rate_line_is_the_schedule(explorer, problem, schedule):
    X, y, L_star, trace_H = problem
    explorer.controls["schedule"].value = schedule
    explorer.sliders["lr"].value = 0.03
    explorer.sliders["batch_size"].value = 2
    expected = sgd_least_squares(X, y, lr=0.03, batch_size=2, num_steps=NUM_STEPS, num_runs=NUM_RUNS,
                                 schedule=SCHEDULES[schedule], seed=0) - L_star
    assert torch.allclose(explorer.excess, expected, rtol=1e-9, atol=1e-12)  # bmm's sums: threads may differ
    rates = [0.03] * NUM_STEPS if SCHEDULES[schedule] is None else lr_sequence(SCHEDULES[schedule], 0.03, NUM_STEPS)
    assert torch.allclose(torch.as_tensor(explorer.rate_line.get_ydata()), torch.tensor(rates) / 0.03)
    floor = torch.as_tensor(explorer.floor_line.get_ydata())
    assert torch.allclose(floor, torch.tensor(rates) * L_star * trace_H / 2)  # η_t·L*·tr(H)/B
    for line, run in zip(explorer.run_lines, expected):
        assert torch.allclose(torch.as_tensor(line.get_ydata()), run.clamp(EXCESS_RANGE[0] / 10)[::RUN_STRIDE])
    assert torch.allclose(torch.as_tensor(explorer.mean_line.get_ydata()), expected.clamp(EXCESS_RANGE[0] / 10).mean(0))
    assert explorer.final == pytest.approx(expected[:, -LAST:].mean().item())


def test_a_constant_rate_settles_at_the_floor_and_the_decays_go_below(explorer):
    """η = 0.02, B = 1 (η·tr(H)/B = 0.2): the last 100 steps of 4 runs hover near ηL*tr(H)/B (1.27× it: a
    larger step sits a little above the formula, notebook 03c; ½ or 2× the floor would be refused); each decaying
    schedule ends at least 4× lower. With half or twice the η the reading moves with it (it is not a constant)."""
    readings = {}
    for lr in (0.01, 0.02, 0.04):
        explorer.sliders["lr"].value = lr
        readings[lr] = explorer.final
        if lr == 0.02:
            assert 0.7 < explorer.final / explorer.floor < 1.45, (explorer.final, explorer.floor)
    assert readings[0.01] < readings[0.02] < readings[0.04]
    explorer.sliders["lr"].value = 0.02
    constant = explorer.final
    for name in list(SCHEDULES)[1:]:
        explorer.controls["schedule"].value = name
        assert explorer.final < constant / 4, name
    assert f"{explorer.final:.2g}" in explorer.title.get_text() and "η = 0.02, B = 1" in explorer.outcome


def test_a_larger_batch_lowers_the_floor(explorer):
    finals = []
    for batch_size in (1, 4, 16):
        explorer.sliders["batch_size"].value = batch_size
        finals.append(explorer.final)
    assert finals[0] > 2.5 * finals[1] > 2.5 ** 2 * finals[2]  # the floor ∝ 1/B: 4× per step here, ≥ 2.5× measured


def test_a_step_too_large_for_the_noise_says_so_and_draws_what_it_has(explorer):
    explorer.sliders["lr"].value = 0.1  # η·tr(H)/B ≈ 1 with B = 1
    assert explorer.last_error is None and explorer.blew_up is not None and explorer.final is None
    assert f"blew up at step {explorer.blew_up}" in explorer.status.value and "color:#c0392b" in explorer.status.value
    assert explorer.title.get_color() == "tab:red"
    drawn = explorer.mean_line.get_ydata()
    assert len(drawn) == explorer.blew_up + 1 and all(map(math.isfinite, drawn))  # up to the blow-up, finite
    explorer.sliders["batch_size"].value = 8  # the same η with 8 examples per step converges
    assert explorer.blew_up is None and explorer.final < 0.1 and explorer.title.get_color() == "black"


def test_first_blow_up():
    excess = torch.tensor([[10.0, 1.0, 0.1, 0.1], [10.0, 20.0, EXCESS_RANGE[1] * 2, math.inf]])
    assert first_blow_up(excess) == 2
    assert first_blow_up(torch.tensor([[10.0, math.nan]])) == 1
    assert first_blow_up(torch.tensor([[10.0, 1.0], [5.0, 2.0]])) is None


def test_each_setting_trains_once_and_the_last_value_wins(explorer):
    figures = plt.get_fignums()
    retrains = explorer.retrain_count
    for lr in (0.01, 0.02, 0.03, 0.01):  # back to 0.01: from the cache
        explorer.sliders["lr"].value = lr
    assert explorer.retrain_count == retrains + 2  # 0.02 was the start: only 0.01 and 0.03 are new
    assert explorer.outcome.startswith("η = 0.01, B = 1, constant")
    assert plt.get_fignums() == figures


def test_close_frees_the_widgets_and_the_figure():
    built = schedule_explorer(lr=0.01, batch_size=4, schedule="cosine to 0")
    assert built.outcome.startswith("η = 0.01, B = 4, cosine to 0")
    figures = plt.get_fignums()
    built.close()
    assert built.closed and built.figure is None and len(plt.get_fignums()) <= len(figures)
    built.close()  # idempotent


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="schedule"):
        schedule_explorer(schedule="linear")
    with pytest.raises(ValueError, match="lr"):
        schedule_explorer(lr=2.0)
    with pytest.raises(ValueError, match="batch_size"):
        schedule_explorer(batch_size=3)
