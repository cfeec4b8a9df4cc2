"""wd_helpers.generalisation: each computation against an independent one, and bad input named."""

import math

import numpy as np
import pytest
import torch

from wd_helpers.data import synthetic_regression
from wd_helpers.generalisation import (
    best_epoch, gd_path, lesson_problem, min_norm_solution, row_space_split, scale_invariant_model,
    scale_invariant_training, with_bias_column,
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


def test_row_space_split_is_numpys_projection():
    problem = lesson_problem()
    P, P_perp = _numpy_projections(problem.X)
    inside, outside = row_space_split(problem.w_start, problem.X)
    w0 = problem.w_start.numpy()
    assert np.allclose(inside.numpy(), P @ w0, atol=1e-12) and np.allclose(outside.numpy(), P_perp @ w0, atol=1e-12)


def _lesson_run(start, *, lambd=0.0, steps=2000, noise=0.01):
    """Full-batch GD (η = 0.02 < 2/L) on the lesson's problem: (problem, path, ‖P⊥w_t‖ per step from numpy)."""
    problem = lesson_problem(noise=noise)
    w0 = torch.zeros(201) if start == "zero" else problem.w_start
    path = gd_path(problem.X, problem.y, w0, lr=0.02, steps=steps, lambd=lambd)
    _, P_perp = _numpy_projections(problem.X)
    return problem, path, np.linalg.norm(path.numpy() @ P_perp, axis=1)


def _mse(w, X, y):
    return float(np.mean((X.numpy() @ np.asarray(w) - y.numpy()) ** 2))


def test_gradient_descent_from_zero_ends_at_pinv_y_with_test_loss_about_0_02():
    problem, path, outside = _lesson_run("zero")
    expected = np.linalg.pinv(problem.X.numpy()) @ problem.y.numpy()
    assert np.allclose(path[-1].numpy(), expected, atol=1e-12)
    assert round(_mse(expected, problem.X_test, problem.y_test), 4) == 0.0198  # measured, printed
    assert _mse(path[-1], problem.X, problem.y) < 1e-25 and outside.max() < 1e-12  # interpolates; stays in the row space


def test_gradient_descent_from_the_random_start_keeps_its_orthogonal_part_unchanged_at_every_step():
    problem, path, outside_norms = _lesson_run("random")
    _, P_perp = _numpy_projections(problem.X)
    outside = P_perp @ problem.w_start.numpy()
    expected = np.linalg.pinv(problem.X.numpy()) @ problem.y.numpy() + outside
    assert np.allclose(path[-1].numpy(), expected, atol=1e-12)
    assert np.allclose(outside_norms, np.linalg.norm(outside), rtol=1e-12)  # constant: ‖P⊥w₀‖ = 14.124
    assert round(np.linalg.norm(outside), 3) == 14.124
    test = [_mse(w, problem.X_test, problem.y_test) for w in path]
    assert _mse(path[-1], problem.X, problem.y) < 1e-25 and round(test[-1], 1) == 192.5
    epoch, best = best_epoch(test)  # stopping early cannot help: the best step is hardly below the start
    assert best > 150 and best > 0.95 * test[0] and epoch < 10


def test_noise_free_targets_still_overfit_from_the_random_start():
    problem, path, _ = _lesson_run("random", noise=0.0)
    assert _mse(path[-1], problem.X, problem.y) < 1e-25 and _mse(path[-1], problem.X_test, problem.y_test) > 150
    problem, path, _ = _lesson_run("zero", noise=0.0)
    assert _mse(path[-1], problem.X_test, problem.y_test) < 0.02  # 0.0195: the same data from w₀ = 0


def test_decay_shrinks_the_orthogonal_part_by_exactly_one_minus_eta_lambda_per_step():
    _, _, outside_norms = _lesson_run("random", lambd=0.5, steps=200)
    expected = outside_norms[0] * (1 - 0.02 * 0.5) ** np.arange(201)  # after t steps: (1 − ηλ)ᵗ
    assert np.allclose(outside_norms, expected, rtol=1e-9)
    assert not np.allclose(outside_norms[1:], expected[1:] / (1 - 0.02 * 0.5), rtol=1e-3)  # one step off: refused


def test_early_stopping_keeps_the_best_epoch_of_the_unregularised_run():
    plain = train_weight_decay(0.0)
    epoch, best = best_epoch(plain.test_loss)
    assert epoch == int(np.argmin(plain.test_loss)) + 1 and best == min(plain.test_loss)
    assert (epoch, round(best, 1)) == (3, 188.4) and best > 1000 * train_weight_decay(100.0).final_test_loss


# --- scale-invariant layers ------------------------------------------------------------------------------------------

def _invariance(c, norm, affine, eps=1e-5):
    """max |f_cW − f_W|, cos(∇_W loss, W) and ‖∇ at cW‖ / ‖∇ at W‖ for a seeded v · Norm(W x), float64."""
    generator = torch.Generator().manual_seed(2)
    W, v = torch.randn(16, 8, generator=generator, dtype=torch.float64), torch.randn(16, generator=generator, dtype=torch.float64)
    X, y = torch.randn(32, 8, generator=generator, dtype=torch.float64), torch.randn(32, 1, generator=generator, dtype=torch.float64)
    scale, shift = torch.rand(16, generator=generator, dtype=torch.float64) + 0.5, torch.randn(16, generator=generator, dtype=torch.float64)
    outputs, grads = [], []
    for factor in (1.0, c):
        model = scale_invariant_model(factor * W, v, norm=norm, affine=affine, eps=eps)
        if affine:
            with torch.no_grad():
                model[1].weight.copy_(scale)
                model[1].bias.copy_(shift)
        out = model(X)
        torch.nn.functional.mse_loss(out, y).backward()
        outputs.append(out.detach())
        grads.append(model[0].weight.grad)
    cosine = torch.nn.functional.cosine_similarity(grads[0].flatten(), W.flatten(), dim=0).item()
    return (outputs[1] - outputs[0]).abs().max().item(), cosine, (grads[1].norm() / grads[0].norm()).item()


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("affine", [False, True])
def test_a_norm_layer_makes_the_output_scale_invariant_and_the_gradient_orthogonal_shrinking_as_one_over_c(norm, affine):
    for c in (0.1, 10.0):
        change, cosine, ratio = _invariance(c, norm, affine, eps=1e-12)  # float64: only ε breaks it
        assert change < 1e-9 and abs(cosine) < 1e-12 and ratio == pytest.approx(1 / c, rel=1e-9)
    change, _, ratio = _invariance(10.0, norm, affine)  # torch's ε = 1e-5: close, not exact
    assert 1e-7 < change < 1e-4 and ratio == pytest.approx(0.1, rel=1e-5)


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


def test_the_summed_loss_with_n_lambda_and_eta_over_n_reaches_the_ridge_minimiser(small):
    X, y, w0 = small
    n, lambd = len(X), 0.5
    lambd_sum, lr_sum = n * lambd, 0.1 / n  # η = 0.1 < 2/L for the mean loss: converged after 3000 steps
    end = gd_path(X, y, w0, lr=lr_sum, steps=3000, lambd=lambd_sum, reduction="sum")[-1].numpy()
    Xn, yn = X.numpy(), y.numpy()
    # mean loss + λ/2‖w‖²: (2/n)Xᵀ(Xw − y) + λw = 0  ⇔  (XᵀX + nλ/2·I) w = Xᵀy  (numpy's solve)
    ridge = np.linalg.solve(Xn.T @ Xn + n * lambd / 2 * np.eye(30), Xn.T @ yn)
    assert np.allclose(end, ridge, atol=1e-9)
    for wrong in (n * lambd, n * lambd / 4):  # the minimiser of λ‖w‖² or of λ/4‖w‖²
        assert not np.allclose(np.linalg.solve(Xn.T @ Xn + wrong * np.eye(30), Xn.T @ yn), end, atol=1e-3)
    unscaled = gd_path(X, y, w0, lr=0.1, steps=50, lambd=lambd_sum, reduction="sum")  # η not divided by n
    assert not torch.isfinite(unscaled[-1]).all() or (unscaled[-1] - torch.from_numpy(end)).abs().max() > 1
