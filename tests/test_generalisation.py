"""wd_helpers.generalisation: each computation against an independent one, and bad input named."""

import math

import numpy as np
import pytest
import torch

from wd_helpers.data import synthetic_regression
from wd_helpers.generalisation import (
    best_epoch, gd_path, min_norm_solution, row_space_split, scale_invariant_model, scale_invariant_training,
    with_bias_column,
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
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()
