"""Heavy-ball momentum on a quadratic (wd_helpers.momentum): rates, optima, damping and the stable region,
each against trajectories or an independent computation."""

import math

import numpy as np
import pytest
import torch

from wd_helpers import optim
from wd_helpers.momentum import (
    CRITICAL_TOLERANCE, damping, fit_rate, gd_optimum, is_stable, iteration_matrix, momentum_optimum, run_quadratic,
    spectral_radius,
)

BOWLS = {10: (0.1, 1.0), 100: (0.02, 2.0)}  # κ: (μ, L)
# Tolerances of the measured rates (the brief asks ~1e-2 or better). Each is far tighter than the gap to the common
# slips, which the tests check are refused by the same tolerance: GD's measured rate at the step 1/L is off by ≥ 0.008
# (κ = 10: 0.9 against 9/11), momentum's with the unsquared β by ≥ 0.08.
GD_TOLERANCE, MOMENTUM_TOLERANCE = 1e-4, 1e-3


def errors(alpha, beta, lams, steps=600):
    return run_quadratic(alpha, beta, lams, [1.0] * len(lams), steps).norm(dim=1)


@pytest.mark.parametrize("kappa", BOWLS)
def test_gradient_descent_at_its_best_step_converges_at_kappa_minus_one_over_kappa_plus_one(kappa):
    mu, L = BOWLS[kappa]
    alpha, rate = gd_optimum(mu, L)
    assert alpha == pytest.approx(2 / (L + mu)) and rate == pytest.approx((kappa - 1) / (kappa + 1))
    measured = fit_rate(errors(alpha, 0.0, [mu, L], steps=3000))
    assert abs(measured - rate) < GD_TOLERANCE
    slip = fit_rate(errors(1 / L, 0.0, [mu, L], steps=3000))  # the textbook step 1/L: rate 1 − 1/κ, slower
    assert abs(slip - (1 - 1 / kappa)) < GD_TOLERANCE and abs(slip - rate) > 80 * GD_TOLERANCE


@pytest.mark.parametrize("kappa", BOWLS)
def test_momentum_at_its_optimum_converges_at_root_kappa_and_its_error_is_t_rho_to_the_t(kappa):
    mu, L = BOWLS[kappa]
    alpha, beta, rate = momentum_optimum(mu, L)
    root = math.sqrt(kappa)
    assert rate == pytest.approx((root - 1) / (root + 1)) and beta == pytest.approx(rate**2)
    assert alpha == pytest.approx((2 / (math.sqrt(L) + math.sqrt(mu))) ** 2)
    e = errors(alpha, beta, [mu, L])
    assert abs(fit_rate(e, kind="repeated") - rate) < MOMENTUM_TOLERANCE
    # the unsquared β = (√κ − 1)/(√κ + 1) is a common slip: its measured rate is far from the optimum's
    slip = fit_rate(errors(alpha, rate, [mu, L]))
    assert abs(slip - spectral_radius(alpha, rate, [mu, L])) < 1e-2 and abs(slip - rate) > 80 * MOMENTUM_TOLERANCE
    assert abs(fit_rate(errors(2 / (L + mu), beta, [mu, L]), kind="repeated") - rate) > 50 * MOMENTUM_TOLERANCE
    assert spectral_radius(alpha, beta, [mu, L]) == pytest.approx(rate, abs=1e-6)
    assert rate < gd_optimum(mu, L)[1]  # and it beats gradient descent at its best


def test_the_repeated_fit_is_what_recovers_the_rate_of_a_jordan_block():
    """On e_t = t·ρᵗ the geometric fit is biased upwards (by the growing t), the repeated one is exact."""
    t = torch.arange(400, dtype=torch.float64)
    e = (t + 1e-300) * 0.8**t
    assert fit_rate(e, kind="repeated") == pytest.approx(0.8, abs=1e-9)
    assert fit_rate(e) > 0.8 + 1e-3


@pytest.mark.parametrize("alpha, beta", [(0.5, 0.3), (1.2, 0.6), (0.1, 0.95), (1.9, 0.05)])
def test_spectral_radius_is_the_measured_rate_and_optim_momentum_rate(alpha, beta):
    lams = [0.1, 1.0]
    radius = spectral_radius(alpha, beta, lams)
    assert radius == pytest.approx(max(optim.momentum_rate(alpha, lam, beta) for lam in lams), abs=1e-9)
    assert radius == pytest.approx(max(torch.linalg.eigvals(iteration_matrix(alpha, beta, lam)).abs().max().item()
                                       for lam in lams), abs=1e-9)
    assert "critically damped" not in {damping(alpha, beta, lam) for lam in lams}  # no t·ρᵗ: the geometric fit holds
    e = errors(alpha, beta, lams, steps=400)
    assert abs(fit_rate(e) - radius) < 2e-2 * (1 - radius) + 1e-3


def test_spectral_radius_takes_grids():
    A, B = torch.linspace(0.05, 3.0, 7)[:, None], torch.linspace(0.0, 0.95, 5)[None, :]
    grid = spectral_radius(A, B, [0.1, 1.0])
    assert grid.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            assert grid[i, j].item() == pytest.approx(spectral_radius(A[i, 0].item(), B[0, j].item(), [0.1, 1.0]))
    assert torch.equal(is_stable(A, B, [0.1, 1.0]), grid < 1)
    assert (grid < 1).any() and (grid > 1).any()  # the grid crosses the boundary, so the comparison means something
    assert spectral_radius(np.float64(0.5), 0.0, np.array([1.0])) == pytest.approx(0.5)  # β = 0: |1 − αλ|
    from_numpy = spectral_radius(A.numpy(), B.numpy(), np.array([0.1, 1.0]))
    assert torch.equal(from_numpy, grid)


def test_spectral_radius_overflows_to_inf_not_nan():
    assert spectral_radius(1e300, 0.5, [1e300]) == math.inf and not is_stable(1e300, 0.5, [1e300])


def test_iteration_matrix_is_one_step_of_run_quadratic():
    lams, alpha, beta = [0.3, 2.0], 0.7, 0.6
    path = run_quadratic(alpha, beta, lams, [1.0, -2.0], 6)
    z = (path[:-1] - path[1:]) / alpha  # x_t = x_{t-1} − α z_t  →  z_t = (x_{t-1} − x_t)/α
    for i, lam in enumerate(lams):
        R = iteration_matrix(alpha, beta, lam)
        for t in range(1, 6):  # (z_t, x_t) → (z_{t+1}, x_{t+1})
            state = torch.stack([z[t - 1, i], path[t, i]])
            assert torch.allclose(R @ state, torch.stack([z[t, i], path[t + 1, i]]), atol=1e-12)


def test_the_three_damping_regimes():
    lam, alpha = 1.0, 0.5
    # critical β for (α, λ): (1 + β − αλ)² = 4β  →  β = (1 − √(αλ))²
    critical = (1 - math.sqrt(alpha * lam)) ** 2
    assert damping(alpha, critical, lam) == "critically damped"
    assert damping(alpha, critical * 0.9, lam) == "over-damped"
    assert damping(alpha, critical * 1.1, lam) == "under-damped"
    assert damping(alpha, 0.0, lam) == "over-damped"  # gradient descent: one real eigenvalue 1 − αλ and 0
    # under-damped: every eigenvalue has modulus √β, whatever α
    assert spectral_radius(alpha, 0.81, [lam]) == pytest.approx(0.9)
    # the trajectories: over-damped never crosses 0, under-damped does
    over = run_quadratic(alpha, critical * 0.5, [lam], [1.0], 60)[:, 0]
    at = run_quadratic(alpha, critical, [lam], [1.0], 60)[:, 0]
    under = run_quadratic(alpha, 0.8, [lam], [1.0], 60)[:, 0]
    assert (over > 0).all() and (at > 0).all() and (under < 0).any()


@pytest.mark.parametrize("kappa", [1.5, 10, 100, 1e4, 1e8])
def test_the_optimum_is_critical_at_both_ends_within_the_stated_tolerance(kappa):
    """CRITICAL_TOLERANCE covers float64 rounding of Polyak's formulas, and little more: β a little away is not
    repeated (a larger β is under-damped at both ends, a smaller one over-damped). The discriminant moves by
    4(1 − √β)·Δβ, so the band of β read as critical is 1e-9 / (4(1 − √β)) wide: 1e-8 at κ = 10⁴, 1e-6 at 10⁸."""
    mu, L = 0.5, 0.5 * kappa
    alpha, beta, _ = momentum_optimum(mu, L)
    assert damping(alpha, beta, mu) == damping(alpha, beta, L) == "critically damped"
    nudge = 1e-6 if kappa <= 1e4 else 1e-4  # relative change of β, about 80× outside that band
    assert damping(alpha, beta * (1 + nudge), mu) == damping(alpha, beta * (1 + nudge), L) == "under-damped"
    assert damping(alpha, beta * (1 - nudge), mu) == damping(alpha, beta * (1 - nudge), L) == "over-damped"
    assert damping(alpha, beta, math.sqrt(mu * L)) == "under-damped"  # every curvature between: |eigenvalue| = √β
    band = CRITICAL_TOLERANCE / (4 * (1 - math.sqrt(beta)))  # the docstring's width, against the nudge used
    assert 30 * band < nudge * beta < 1e3 * band


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_the_stable_region_is_alpha_lambda_below_two_times_one_plus_beta(beta):
    lams = [0.1, 1.0]
    bound = 2 * (1 + beta) / max(lams)
    for factor, stable in ((0.99, True), (1.01, False)):
        assert is_stable(factor * bound, beta, lams) is stable
        e = errors(factor * bound, beta, lams, steps=3000)
        assert bool(e[-1] < e[0]) is stable
    # and in β: at a fixed α just above 2/L, β must reach αL/2 − 1
    alpha = 2.4 / max(lams)
    edge = alpha * max(lams) / 2 - 1  # 0.2
    assert not is_stable(alpha, edge - 0.01, lams) and is_stable(alpha, edge + 0.01, lams)
    assert spectral_radius(alpha, edge - 0.01, lams) > 1 > spectral_radius(alpha, edge + 0.01, lams)
    below, above = errors(alpha, edge - 0.01, lams, steps=3000), errors(alpha, edge + 0.01, lams, steps=3000)
    assert below[-1] > 1e20 * below[0] and above[-1] < 1e-20 * above[0]  # β too small diverges, just enough converges


def test_run_quadratic_is_torchs_sgd_with_momentum_and_ours():
    lams, x0, alpha, beta = [0.2, 4.0], [-5.0, -2.0], 0.3, 0.9
    f = lambda x: 0.5 * (torch.tensor(lams, dtype=x.dtype) * x**2).sum()
    ours = run_quadratic(alpha, beta, lams, x0, 50)
    theirs = optim.trace(lambda p: torch.optim.SGD(p, lr=alpha, momentum=beta), f, torch.tensor(x0), 50)
    scratch = optim.trace(lambda p: optim.Momentum(p, lr=alpha, momentum=beta), f, torch.tensor(x0), 50)
    assert torch.allclose(ours.float(), theirs, rtol=1e-4, atol=1e-5)
    assert torch.allclose(ours.float(), scratch, rtol=1e-4, atol=1e-5)
    assert ours.dtype == torch.float64 and ours.shape == (51, 2)


def test_a_diverging_run_turns_nan_from_its_first_overflow_like_optim_trace():
    path = run_quadratic(10.0, 0.5, [1.0], [1.0], 2000)[:, 0]
    first = optim.first_nonfinite(path[:, None])
    assert first is not None and 300 < first < 400  # |eigenvalue| ≈ 8.9: 1e308 after ~330 steps
    assert torch.isfinite(path[:first]).all() and path[first:].isnan().all()
    assert path[first - 1].abs() > 1e300


def test_the_fit_window_skips_the_transient_by_default():
    t = torch.arange(200, dtype=torch.float64)
    e = 0.9**t + 50 * 0.5**t  # a fast mode that dominates the first steps, then the slow one alone
    assert fit_rate(e) == pytest.approx(0.9, abs=1e-9)  # from step 50: 50·0.5⁵⁰ is 1e-11 of 0.9⁵⁰
    assert abs(fit_rate(e, start=1) - 0.9) > 1e-3  # from the first steps on, the fast mode bends the line


def test_the_fit_window_stops_at_the_first_zero_and_at_the_inputs_underflow():
    exact = torch.tensor([1.0, 0.5, 0.25, 0.125, 0.0625, 0.0, 0.0, 0.0])  # an exact 0: the window ends before it
    assert fit_rate(exact, start=1) == pytest.approx(0.5, abs=1e-12)
    e32 = torch.empty(400, dtype=torch.float32)  # ρ = 0.7 computed in float32: below 1.2e-38 it turns subnormal
    e32[0] = 1.0
    for t in range(1, 400):
        e32[t] = e32[t - 1] * 0.7
    assert fit_rate(e32, start=50) == pytest.approx(0.7, abs=1e-6)  # stops at float32's smallest normal number
    assert fit_rate(e32.double(), start=50) > 0.75  # the same numbers read as float64 keep the subnormal tail: wrong
    assert fit_rate(e32.numpy(), start=50) == pytest.approx(0.7, abs=1e-6)


@pytest.mark.parametrize("call, name", [
    (lambda: spectral_radius(0.0, 0.5, [1.0]), "alpha"),
    (lambda: spectral_radius(-1.0, 0.5, [1.0]), "alpha"),
    (lambda: spectral_radius(0.5, 1.0, [1.0]), "beta"),
    (lambda: spectral_radius(0.5, -0.1, [1.0]), "beta"),
    (lambda: spectral_radius(0.5, math.nan, [1.0]), "beta"),
    (lambda: spectral_radius(0.5, 0.5, [1.0, -1.0]), "lams"),
    (lambda: spectral_radius(0.5, 0.5, []), "lams"),
    (lambda: spectral_radius(True, 0.5, [1.0]), "alpha"),
    (lambda: spectral_radius("a", 0.5, [1.0]), "alpha"),
    (lambda: gd_optimum(2.0, 1.0), "mu"),
    (lambda: momentum_optimum(0.0, 1.0), "mu"),
    (lambda: damping(0.5, 0.5, 0.0), "lam"),
    (lambda: iteration_matrix(math.inf, 0.5, 1.0), "alpha"),
    (lambda: run_quadratic(0.5, 0.5, [1.0, 2.0], [1.0], 10), "x0"),
    (lambda: run_quadratic(0.5, 0.5, [1.0], [1.0], -1), "steps"),
    (lambda: run_quadratic(0.5, 0.5, [1.0], [1.0], 2.5), "steps"),
    (lambda: fit_rate([1.0, 0.5], kind="geometric"), "errors"),
    (lambda: fit_rate([1.0, 0.5, 0.25, 0.125, 0.06], kind="linear"), "kind"),
    (lambda: fit_rate([1.0, -0.5, 0.25, 0.125, 0.06]), "errors"),
    (lambda: fit_rate(torch.ones(3, 4)), "errors"),
    (lambda: fit_rate([1.0, 0.5, 0.25, 0.125, 0.06], start=0), "start"),
    (lambda: spectral_radius(0.5, 0.5, [True, 2.0]), "lams"),
    (lambda: spectral_radius(0.5, 0.5, np.array([True])), "lams"),
    (lambda: spectral_radius(0.5, 0.5, [[1.0, 2.0]]), "lams"),
    (lambda: spectral_radius(0.5, 0.5, [None]), "lams"),
    (lambda: spectral_radius(torch.tensor([0.5 + 1j]), 0.5, [1.0]), "alpha"),
    (lambda: spectral_radius(torch.tensor([]), 0.5, [1.0]), "alpha"),
    (lambda: spectral_radius(torch.ones(3), torch.zeros(4), [1.0]), "alpha and beta"),
    (lambda: is_stable(torch.ones(3), torch.zeros(4), [1.0]), "alpha and beta"),
    (lambda: is_stable(0.5, torch.tensor([0.5, 1.0]), [1.0]), "beta"),
    (lambda: run_quadratic(0.5, 0.5, [1.0], np.array([True]), 3), "x0"),
    (lambda: run_quadratic(0.5, 0.5, [1.0, 2.0], [[1.0, 2.0]], 3), "x0"),
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()
