"""wd_helpers.generalisation: each computation against an independent one, and bad input named."""

import math

import numpy as np
import pytest
import torch

from wd_helpers.data import synthetic_regression
from wd_helpers.generalisation import (
    best_epoch, early_stopping_vs_weight_decay, gd_path, lesson_gradient_descent, lesson_problem, min_norm_solution,
    optimizer_path, row_space_split, scale_invariance_check, scale_invariant_model, scale_invariant_training,
    span_decomposition, summed_loss_equivalent, with_bias_column,
)
from wd_helpers.train import train_weight_decay


@pytest.fixture(scope="module")
def lesson():
    """Notebook 04's data and the random start train_weight_decay draws after it (seed 0)."""
    generator = torch.Generator().manual_seed(0)
    data = synthetic_regression(generator=generator)
    return data, torch.randn(200, generator=generator)


def test_min_norm_solution_is_numpys_lstsq_and_interpolates(lesson):
    data, _ = lesson
    X = with_bias_column(data.X_train)
    w = min_norm_solution(X, data.y_train)
    expected = np.linalg.lstsq(X.numpy(), data.y_train[:, 0].double().numpy(), rcond=None)[0]  # minimum norm too
    assert np.allclose(w.numpy(), expected, atol=1e-12)
    assert torch.allclose(X @ w, data.y_train[:, 0].double(), atol=1e-10)
    # any other interpolant is longer: add a direction orthogonal to the rows
    other = w + row_space_split(torch.randn(201, dtype=torch.float64), X)[1]
    assert torch.allclose(X @ other, X @ w, atol=1e-10) and other.norm() > w.norm()


def test_row_space_split_is_an_orthogonal_decomposition(lesson):
    data, w_start = lesson
    X = data.X_train.double()
    inside, outside = row_space_split(w_start, X)
    assert torch.allclose(inside + outside, w_start.double())
    assert abs(inside @ outside) < 1e-9 and torch.allclose(X @ outside, torch.zeros(20, dtype=torch.float64), atol=1e-9)
    Q = torch.linalg.qr(X.T).Q  # an independent basis of the row space
    assert torch.allclose(inside, Q @ (Q.T @ w_start.double()), atol=1e-10)


def test_gradient_descent_from_zero_reaches_the_min_norm_interpolant_and_from_w0_adds_its_outside_part(lesson):
    data, w_start = lesson
    X = with_bias_column(data.X_train)
    w0 = torch.cat([w_start.double(), torch.zeros(1, dtype=torch.float64)])
    target = min_norm_solution(X, data.y_train)
    from_zero = gd_path(X, data.y_train, torch.zeros(201), lr=0.02, steps=3000)[-1]
    from_w0 = gd_path(X, data.y_train, w0, lr=0.02, steps=3000)[-1]
    assert torch.allclose(from_zero, target, atol=1e-9)
    assert torch.allclose(from_w0, target + row_space_split(w0, X)[1], atol=1e-9)
    # the per-step path against numpy, three steps by hand
    w = w0.numpy().copy()
    Xn, yn = X.numpy(), data.y_train[:, 0].double().numpy()
    for _ in range(3):
        w = w - 0.02 * (2 / 20 * Xn.T @ (Xn @ w - yn) + 0.5 * w)
    assert np.allclose(gd_path(X, data.y_train, w0, lr=0.02, steps=3, lambd=0.5)[-1].numpy(), w, atol=1e-12)


def test_the_minibatch_trainer_ends_where_the_decomposition_says(lesson):
    """train_weight_decay (minibatch SGD, float32) from its random start at λ = 0: the orthogonal part of w is
    the start's, untouched; at λ = 3 it has shrunk by exactly (1 − ηλ) per step (400 steps)."""
    data, w_start = lesson
    X = data.X_train.double()
    outside0 = row_space_split(w_start, X)[1].norm().item()
    for lambd in (0.0, 3.0):
        history = train_weight_decay(lambd)
        outside = row_space_split(history.w, X)[1].norm().item()
        assert outside == pytest.approx(outside0 * (1 - 0.003 * lambd) ** 400, rel=1e-3), lambd
    assert train_weight_decay(0.0).final_test_loss > 100  # the untouched start is what the test loss sees


def test_mean_and_summed_losses_give_the_same_path_when_lambda_and_eta_are_scaled(lesson):
    data, _ = lesson
    X, y, n = data.X_train[:, :30], data.y_train, 20  # 30 inputs: a problem where λ matters
    w0 = torch.zeros(30)
    mean = gd_path(X, y, w0, lr=0.01, steps=200, lambd=0.5)
    summed = gd_path(X, y, w0, lr=0.01 / n, steps=200, lambd=0.5 * n, reduction="sum")
    assert torch.allclose(mean, summed, atol=1e-12)
    wrong = gd_path(X, y, w0, lr=0.01 / n, steps=200, lambd=0.5, reduction="sum")  # λ not scaled
    assert not torch.allclose(mean[-1], wrong[-1], atol=1e-3)


def test_best_epoch():
    assert best_epoch([3.0, 1.0, 2.0, 1.0]) == (2, 1.0)  # ties to the earliest, counted from 1
    assert best_epoch(np.array([5.0])) == (1, 5.0)
    assert best_epoch(torch.tensor([2.0, 0.5])) == (2, 0.5)


def test_a_scale_invariant_layer_gives_the_same_output_and_an_orthogonal_gradient_shrinking_as_one_over_c():
    generator = torch.Generator().manual_seed(3)
    W, v, X = torch.randn(16, 8, generator=generator), torch.randn(16, generator=generator), torch.randn(32, 8, generator=generator)
    y = torch.randn(32, 1, generator=generator)
    grads = {}
    for c in (1.0, 10.0):
        model = scale_invariant_model(c * W, v)
        out = model(X)
        torch.nn.functional.mse_loss(out, y).backward()
        grads[c] = (out.detach(), model[0].weight.grad.clone())
    assert torch.allclose(grads[1.0][0], grads[10.0][0], atol=1e-5)  # same output
    assert torch.allclose(grads[10.0][1] * 10, grads[1.0][1], rtol=1e-3, atol=1e-5)  # gradient / c (float32; BN eps)
    assert not torch.allclose(grads[10.0][1], grads[1.0][1], rtol=0.5)  # and not the same gradient
    assert abs((grads[1.0][1] * W).sum()) < 1e-4 * grads[1.0][1].norm() * W.norm()  # ⟂ W


def test_without_decay_the_norm_only_grows_and_decay_raises_the_effective_rate():
    none = scale_invariant_training(weight_decay=0.0, init_scale=10.0, steps=300)
    decayed = scale_invariant_training(weight_decay=0.1, init_scale=10.0, steps=300)
    assert all(b >= a * (1 - 1e-6) for a, b in zip(none["norms"], none["norms"][1:]))  # ‖W‖² + η²‖g‖²
    assert max(map(abs, none["cosines"])) < 1e-4
    assert decayed["norms"][-1] < none["norms"][-1] / 10 and decayed["effective_lrs"][-1] > 100 * none["effective_lrs"][-1]
    assert decayed["losses"][-1] < none["losses"][-1] / 100  # the larger effective rate learns; the same function class
    assert none["losses"][0] == decayed["losses"][0]  # the same start


@pytest.mark.parametrize("call, name", [
    (lambda: min_norm_solution(torch.ones(3), torch.ones(3)), "X"),
    (lambda: min_norm_solution(torch.ones(3, 2), torch.ones(4)), "y"),
    (lambda: min_norm_solution(torch.full((3, 2), math.nan), torch.ones(3)), "X"),
    (lambda: row_space_split(torch.ones(3), torch.ones(4, 2)), "w"),
    (lambda: gd_path(torch.ones(3, 2), torch.ones(3), torch.zeros(2), lr=0.0, steps=5), "lr"),
    (lambda: gd_path(torch.ones(3, 2), torch.ones(3), torch.zeros(2), lr=0.1, steps=-1), "steps"),
    (lambda: gd_path(torch.ones(3, 2), torch.ones(3), torch.zeros(2), lr=0.1, steps=5, lambd=-1), "lambd"),
    (lambda: gd_path(torch.ones(3, 2), torch.ones(3), torch.zeros(2), lr=0.1, steps=5, reduction="none"), "reduction"),
    (lambda: gd_path(torch.ones(3, 2), torch.ones(3), torch.zeros(3), lr=0.1, steps=5), "w0"),
    (lambda: best_epoch([]), "curve"),
    (lambda: best_epoch([1.0, math.nan]), "curve"),
    (lambda: scale_invariant_training(weight_decay=-0.1), "weight_decay"),
    (lambda: scale_invariant_training(weight_decay=0.1, init_scale=0), "init_scale"),
    (lambda: scale_invariant_model(torch.ones(4, 3), torch.ones(3)), "v"),
    (lambda: scale_invariant_model(torch.ones(4, 3), torch.ones(4), norm="group"), "norm"),
    (lambda: scale_invariant_model(torch.ones(4, 3), torch.ones(4), affine="yes"), "affine"),
    (lambda: scale_invariant_training(weight_decay=0.1, norm="instance"), "norm"),
    (lambda: lesson_problem(seed=-1), "seed"),
    (lambda: lesson_problem(noise=-0.1), "noise"),
    (lambda: lesson_gradient_descent("ones"), "start"),
    (lambda: lesson_gradient_descent(torch.zeros(200)), "start"),
    (lambda: lesson_gradient_descent("zero", num_epochs=0), "num_epochs"),
    (lambda: lesson_gradient_descent("zero", lr=-0.1), "lr"),
    (lambda: lesson_gradient_descent("zero", lambd=math.inf), "lambd"),
    (lambda: early_stopping_vs_weight_decay([-1.0]), "lambdas"),
    (lambda: early_stopping_vs_weight_decay("3"), "lambdas"),
    (lambda: early_stopping_vs_weight_decay([], ), "lambdas"),
    (lambda: scale_invariance_check(c=0.0), "c"),
    (lambda: scale_invariance_check(norm="group"), "norm"),
    (lambda: scale_invariance_check(affine=1), "affine"),
    (lambda: scale_invariance_check(eps=0.0), "eps"),
    (lambda: scale_invariance_check(dtype=torch.int64), "dtype"),
    (lambda: summed_loss_equivalent(0.1, 0.01, 0), "n"),
    (lambda: summed_loss_equivalent(0.1, 0.01, 2.5), "n"),
    (lambda: summed_loss_equivalent(-0.1, 0.01, 20), "lambd"),
    (lambda: summed_loss_equivalent(0.1, 0.0, 20), "lr"),
    (lambda: summed_loss_equivalent(0.1, 0.01, 20, optimizer="rmsprop"), "optimizer"),
    (lambda: optimizer_path(torch.ones(3, 2), torch.ones(3), torch.zeros(2), optimizer="lbfgs", lr=0.1, steps=2), "optimizer"),
    (lambda: optimizer_path(torch.ones(3, 2), torch.ones(3), torch.zeros(2), optimizer="adam", lr=0.1, steps=2, eps=0), "eps"),
    (lambda: optimizer_path(torch.ones(3, 2), torch.ones(3), torch.zeros(2), lr=0.1, steps=2, reduction="none"), "reduction"),
    (lambda: optimizer_path(torch.ones(3, 2), torch.ones(3), torch.zeros(3), lr=0.1, steps=2), "w0"),
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


# --- implicit regularisation on the lesson's problem -----------------------------------------------------------------

def _numpy_projections(X):
    """P (onto the row space) and I − P from numpy's SVD: an independent basis of the row space."""
    _, s, Vt = np.linalg.svd(X.numpy(), full_matrices=False)
    V = Vt[: int((s > 1e-10 * s[0]).sum())].T  # (d, rank)
    P = V @ V.T
    return P, np.eye(len(P)) - P


def test_the_lesson_problem_is_train_weight_decays_data_and_start(lesson):
    data, w_start = lesson
    problem = lesson_problem()
    assert torch.equal(problem.X[:, :200], data.X_train.double()) and torch.equal(problem.X[:, 200], torch.ones(20).double())
    assert torch.equal(problem.w_start, torch.cat([w_start.double(), torch.zeros(1, dtype=torch.float64)]))
    assert torch.equal(problem.y, data.y_train[:, 0].double()) and problem.X_test.shape == (100, 201)
    clean = lesson_problem(noise=0.0)  # the same draws, ε = 0: the targets are exactly X̃w*
    assert torch.equal(clean.X, problem.X) and torch.allclose(clean.y, clean.X @ clean.w_true, atol=1e-6)
    assert not torch.allclose(problem.y, problem.X @ problem.w_true, atol=1e-3)  # noise 0.01 is really there


def test_span_decomposition_is_numpys_projection_and_row_space_split_is_the_same_function():
    problem = lesson_problem()
    P, P_perp = _numpy_projections(problem.X)
    inside, outside = span_decomposition(problem.w_start, problem.X)
    w0 = problem.w_start.numpy()
    assert np.allclose(inside.numpy(), P @ w0, atol=1e-12) and np.allclose(outside.numpy(), P_perp @ w0, atol=1e-12)
    assert row_space_split is span_decomposition


def test_gradient_descent_from_zero_ends_at_pinv_y_with_test_loss_about_0_02():
    problem = lesson_problem()
    run = lesson_gradient_descent("zero")
    expected = np.linalg.pinv(problem.X.numpy()) @ problem.y.numpy()
    assert np.allclose(run.w.numpy(), expected, atol=1e-12)
    test = float(np.mean((problem.X_test.numpy() @ expected - problem.y_test.numpy()) ** 2))
    assert run.test_loss[-1] == pytest.approx(test, abs=1e-12) and round(test, 4) == 0.0198  # measured, printed
    assert run.train_loss[-1] < 1e-25 and max(run.outside_norms) < 1e-12  # interpolates; never leaves the row space
    assert len(run.train_loss) == len(run.test_loss) == len(run.outside_norms) == 2000


def test_gradient_descent_from_the_random_start_keeps_its_orthogonal_part_unchanged_at_every_epoch():
    problem = lesson_problem()
    _, P_perp = _numpy_projections(problem.X)
    run = lesson_gradient_descent("random")
    outside = P_perp @ problem.w_start.numpy()
    expected = np.linalg.pinv(problem.X.numpy()) @ problem.y.numpy() + outside
    assert np.allclose(run.w.numpy(), expected, atol=1e-12)
    assert np.allclose(run.outside_norms, np.linalg.norm(outside), rtol=1e-12)  # constant: ‖P⊥w₀‖ = 14.124
    assert round(np.linalg.norm(outside), 3) == 14.124
    assert run.train_loss[-1] < 1e-25 and round(run.test_loss[-1], 1) == 192.5
    epoch, best = best_epoch(run.test_loss)  # stopping early cannot help: the best epoch is hardly below the start
    assert best > 150 and best > 0.99 * run.test_loss[0] and epoch < 10
    given = lesson_gradient_descent(problem.w_start, num_epochs=5)  # a start passed as a tensor
    assert given.train_loss == pytest.approx(run.train_loss[:5], rel=1e-12)


def test_noise_free_targets_still_overfit_from_the_random_start():
    clean_random, clean_zero = lesson_gradient_descent("random", noise=0.0), lesson_gradient_descent("zero", noise=0.0)
    assert clean_random.train_loss[-1] < 1e-25 and clean_random.test_loss[-1] > 150  # 192.48
    assert clean_zero.test_loss[-1] < 0.02  # 0.0195: the same data from w₀ = 0


def test_decay_shrinks_the_orthogonal_part_by_exactly_one_minus_eta_lambda_per_step():
    problem = lesson_problem()
    outside0 = span_decomposition(problem.w_start, problem.X)[1].norm().item()
    run = lesson_gradient_descent("random", lambd=0.5, num_epochs=200)
    expected = outside0 * (1 - 0.02 * 0.5) ** np.arange(1, 201)  # after t steps: (1 − ηλ)ᵗ
    assert np.allclose(run.outside_norms, expected, rtol=1e-9)
    assert not np.allclose(run.outside_norms, expected / (1 - 0.02 * 0.5), rtol=1e-3)  # one step off is refused


def test_early_stopping_against_the_best_lambda_equals_single_runs():
    result = early_stopping_vs_weight_decay([1.0, 3.0, 100.0])
    plain = train_weight_decay(0.0)
    assert result.epoch == int(np.argmin(plain.test_loss)) + 1 and result.stopped_test_loss == min(plain.test_loss)
    finals = {lam: train_weight_decay(lam).final_test_loss for lam in (1.0, 3.0, 100.0)}
    assert result.best_lambda == min(finals, key=finals.get) == 100.0
    assert result.lambda_test_loss == pytest.approx(finals[100.0], rel=1e-9)
    assert (result.epoch, round(result.stopped_test_loss, 1), round(result.lambda_test_loss, 4)) == (3, 188.4, 0.0191)


# --- scale-invariant layers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("affine", [False, True])
def test_a_norm_layer_makes_the_output_scale_invariant_and_the_gradient_orthogonal_shrinking_as_one_over_c(norm, affine):
    for c in (0.1, 10.0):
        exact = scale_invariance_check(c=c, norm=norm, affine=affine, eps=1e-12)  # float64: only ε breaks it
        assert exact["output_change"] < 1e-9 and abs(exact["cosine"]) < 1e-12
        assert exact["grad_ratio"] == pytest.approx(1 / c, rel=1e-9)
    usual = scale_invariance_check(norm=norm, affine=affine)  # torch's ε = 1e-5: close, not exact
    assert 1e-7 < usual["output_change"] < 1e-4 and usual["grad_ratio"] == pytest.approx(0.1, rel=1e-5)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_autograd_says_the_loss_is_flat_along_w_and_not_without_the_norm(norm):
    """d/dc loss(cW) at c = 1 is ⟨∇loss, W⟩: 0 behind a norm layer, far from 0 behind nn.Identity."""
    generator = torch.Generator().manual_seed(1)
    W, v = torch.randn(16, 8, generator=generator, dtype=torch.float64), torch.randn(16, generator=generator, dtype=torch.float64)
    X, y = torch.randn(32, 8, generator=generator, dtype=torch.float64), torch.randn(32, 1, generator=generator, dtype=torch.float64)
    slopes = {}
    for kind in ("norm", "identity"):
        model = scale_invariant_model(W, v, norm=norm, eps=1e-12)
        if kind == "identity":
            model[1] = torch.nn.Identity()
        c = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        out = torch.func.functional_call(model, {"0.weight": c * W}, (X,))
        (slopes[kind],) = torch.autograd.grad(torch.nn.functional.mse_loss(out, y), c)
    assert abs(slopes["norm"]) < 1e-9 and abs(slopes["identity"]) > 0.1


def test_scale_invariant_training_with_layer_norm_and_the_effective_rate():
    none = scale_invariant_training(weight_decay=0.0, init_scale=10.0, steps=300, norm="layer")
    decayed = scale_invariant_training(weight_decay=0.1, init_scale=10.0, steps=300, norm="layer")
    assert all(b >= a * (1 - 1e-6) for a, b in zip(none["norms"], none["norms"][1:]))
    assert decayed["norms"][-1] < none["norms"][-1] / 10 and decayed["losses"][-1] < none["losses"][-1] / 10
    assert decayed["effective_lrs"] == [0.1 / n**2 for n in decayed["norms"]]


# --- how λ scales with the loss's reduction --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    """30 of the lesson's inputs (a problem where λ matters), its 20 examples, and a nonzero start."""
    problem = lesson_problem()
    return problem.X[:, :30], problem.y, problem.w_start[:30]


def test_optimizer_path_with_sgd_is_gd_paths_closed_form(small):
    X, y, w0 = small
    for reduction, lr in (("mean", 0.01), ("sum", 0.0005)):
        autograd = optimizer_path(X, y, w0, optimizer="sgd", lr=lr, steps=50, lambd=0.5, reduction=reduction)
        assert torch.allclose(autograd, gd_path(X, y, w0, lr=lr, steps=50, lambd=0.5, reduction=reduction), atol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_the_summed_loss_rule_gives_the_same_weights_and_half_or_double_lambda_does_not(small, optimizer):
    X, y, w0 = small
    n, lambd, lr = len(X), 0.5, 0.01
    lambd_sum, lr_sum = summed_loss_equivalent(lambd, lr, n, optimizer=optimizer)
    eps_sum = 1e-8 * n  # Adam's ε must scale with the gradient for an exact match (it is negligible here)
    mean = optimizer_path(X, y, w0, optimizer=optimizer, lr=lr, steps=200, lambd=lambd)
    summed = optimizer_path(X, y, w0, optimizer=optimizer, lr=lr_sum, steps=200, lambd=lambd_sum, reduction="sum",
                            eps=eps_sum)
    assert torch.allclose(mean, summed, atol=1e-10)
    for factor in (0.5, 2.0):  # λ/2‖w‖² read as λ‖w‖² (or the reverse): another regulariser
        other = optimizer_path(X, y, w0, optimizer=optimizer, lr=lr_sum, steps=200, lambd=factor * lambd_sum,
                               reduction="sum", eps=eps_sum)
        assert (other[-1] - mean[-1]).norm() > 1e-3 * mean[-1].norm(), factor
    if optimizer == "adamw":  # the SGD rule (λ·n) applied to AdamW decays n times too much
        wrong = optimizer_path(X, y, w0, optimizer="adamw", lr=lr, steps=200, lambd=n * lambd, reduction="sum")
        assert wrong[-1].norm() < 0.8 * mean[-1].norm()


def test_the_rule_is_n_lambda_over_n_eta_for_sgd_and_reaches_the_ridge_minimiser(small):
    assert summed_loss_equivalent(0.01, 0.1, 500) == (5.0, 0.1 / 500)
    assert summed_loss_equivalent(0.01, 0.1, 500, optimizer="adam") == (5.0, 0.1)
    assert summed_loss_equivalent(0.01, 0.1, 500, optimizer="adamw") == (0.01, 0.1)
    X, y, w0 = small
    n, lambd = len(X), 0.5
    lambd_sum, lr_sum = summed_loss_equivalent(lambd, 0.1, n)  # η = 0.1 < 2/L: converged after 3000 steps
    end = gd_path(X, y, w0, lr=lr_sum, steps=3000, lambd=lambd_sum, reduction="sum")[-1].numpy()
    Xn, yn = X.numpy(), y.numpy()
    # mean loss + λ/2‖w‖²: (2/n)Xᵀ(Xw − y) + λw = 0  ⇔  (XᵀX + nλ/2·I) w = Xᵀy  (numpy's solve)
    ridge = np.linalg.solve(Xn.T @ Xn + n * lambd / 2 * np.eye(30), Xn.T @ yn)
    assert np.allclose(end, ridge, atol=1e-9)
    for wrong in (n * lambd, n * lambd / 4):  # the minimiser of λ‖w‖² or of λ/4‖w‖²
        assert not np.allclose(np.linalg.solve(Xn.T @ Xn + wrong * np.eye(30), Xn.T @ yn), end, atol=1e-3)
    unscaled = gd_path(X, y, w0, lr=0.1, steps=50, lambd=lambd_sum, reduction="sum")  # η not divided by n
    assert not torch.isfinite(unscaled[-1]).all() or (unscaled[-1] - torch.from_numpy(end)).abs().max() > 1
