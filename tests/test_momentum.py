"""Heavy-ball momentum on a quadratic (wd_helpers.momentum): rates, optima, damping and the stable region,
each against trajectories or an independent computation."""

import math

import numpy as np
import pytest
import torch

from wd_helpers import optim
from wd_helpers.momentum import (
    damping, fit_rate, gd_optimum, is_stable, iteration_matrix, momentum_optimum, run_quadratic, spectral_radius,
)

BOWLS = {10: (0.1, 1.0), 100: (0.02, 2.0)}  # κ: (μ, L)


def errors(alpha, beta, lams, steps=600):
    return run_quadratic(alpha, beta, lams, [1.0] * len(lams), steps).norm(dim=1)


@pytest.mark.parametrize("kappa", BOWLS)
def test_gradient_descent_at_its_best_step_converges_at_kappa_minus_one_over_kappa_plus_one(kappa):
    mu, L = BOWLS[kappa]
    alpha, rate = gd_optimum(mu, L)
    assert alpha == pytest.approx(2 / (L + mu)) and rate == pytest.approx((kappa - 1) / (kappa + 1))
    measured = fit_rate(errors(alpha, 0.0, [mu, L], steps=3000))
    assert abs(measured - rate) < 1e-4
    assert abs(fit_rate(errors(1 / L, 0.0, [mu, L], steps=3000)) - rate) > 1e-3  # the step 1/L: slower, refused


@pytest.mark.parametrize("kappa", BOWLS)
def test_momentum_at_its_optimum_converges_at_root_kappa_and_its_error_is_t_rho_to_the_t(kappa):
    mu, L = BOWLS[kappa]
    alpha, beta, rate = momentum_optimum(mu, L)
    root = math.sqrt(kappa)
    assert rate == pytest.approx((root - 1) / (root + 1)) and beta == pytest.approx(rate**2)
    assert alpha == pytest.approx((2 / (math.sqrt(L) + math.sqrt(mu))) ** 2)
    e = errors(alpha, beta, [mu, L])
    assert abs(fit_rate(e, kind="repeated") - rate) < 1e-3
    # the unsquared β = (√κ − 1)/(√κ + 1) is a common slip: its measured rate is far from the optimum's
    assert abs(fit_rate(errors(alpha, rate, [mu, L])) - rate) > 0.05
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
    if damping(alpha, beta, 0.1) != "critically damped" and damping(alpha, beta, 1.0) != "critically damped":
        e = errors(alpha, beta, lams, steps=400)
        assert abs(fit_rate(e) - radius) < 2e-2 * (1 - radius) + 1e-3


def test_spectral_radius_takes_grids():
    A, B = torch.linspace(0.05, 2.0, 7)[:, None], torch.linspace(0.0, 0.95, 5)[None, :]
    grid = spectral_radius(A, B, [0.1, 1.0])
    assert grid.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            assert grid[i, j].item() == pytest.approx(spectral_radius(A[i, 0].item(), B[0, j].item(), [0.1, 1.0]))
    assert torch.equal(is_stable(A, B, [0.1, 1.0]), grid < 1 - 1e-12) or torch.equal(is_stable(A, B, [0.1, 1.0]), grid < 1)
    assert spectral_radius(np.float64(0.5), 0.0, np.array([1.0])) == pytest.approx(0.5)  # β = 0: |1 − αλ|


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
    under = run_quadratic(alpha, 0.8, [lam], [1.0], 60)[:, 0]
    assert (over > 0).all() and (under < 0).any()


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


def test_run_quadratic_is_torchs_sgd_with_momentum_and_ours():
    lams, x0, alpha, beta = [0.2, 4.0], [-5.0, -2.0], 0.3, 0.9
    f = lambda x: 0.5 * (torch.tensor(lams, dtype=x.dtype) * x**2).sum()
    ours = run_quadratic(alpha, beta, lams, x0, 50)
    theirs = optim.trace(lambda p: torch.optim.SGD(p, lr=alpha, momentum=beta), f, torch.tensor(x0), 50)
    scratch = optim.trace(lambda p: optim.Momentum(p, lr=alpha, momentum=beta), f, torch.tensor(x0), 50)
    assert torch.allclose(ours.float(), theirs, rtol=1e-4, atol=1e-5)
    assert torch.allclose(ours.float(), scratch, rtol=1e-4, atol=1e-5)
    assert ours.dtype == torch.float64 and ours.shape == (51, 2)


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
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()
