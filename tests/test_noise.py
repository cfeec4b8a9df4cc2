"""wd_helpers.noise: each function against an independent computation, and bad input refused by name."""

import itertools
import math

import pytest
import torch
from torch import nn

from wd_helpers.classify import train_dropout
from wd_helpers.data import load_digits_data
from wd_helpers.models import MLP
from wd_helpers.noise import (SHIFTS, augment_with_shifts, dropout_penalties, dropout_ridge, entropy,
                              expected_dropout_loss, gaussian_dropout, mc_dropout_probs, mutual_information,
                              predictive_entropy, rank_separation, ridge, shift_images, train_dropout_model,
                              variance_shift)
from wd_helpers.regularizers import dropout
from wd_helpers.seeding import derived_generator


def _small_mlp(*, scratch: bool) -> MLP:
    return MLP(6, 16, 16, 3, dropout1=0.3, dropout2=0.5, scratch=scratch, generator=torch.Generator().manual_seed(0))


def _regression_problem(n=12, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.tensor([0.5, 1.0, 2.0, 3.0][:d], dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    w = torch.randn(d, generator=g, dtype=torch.float64)
    return X, y, w


# --- the trained model -----------------------------------------------------------------------------

def test_train_dropout_model_is_train_dropout_with_its_model():
    data = load_digits_data(n_train=100)
    model, history = train_dropout_model(0.2, 0.5, data=data, seed=3, num_epochs=5)
    reference = train_dropout(0.2, 0.5, data=data, seed=3, num_epochs=5)
    assert history.test_loss == reference.test_loss and history.options == reference.options
    assert not model.training and (model.dropout1, model.dropout2) == (0.2, 0.5)
    with torch.no_grad():  # the returned model is the trained one: its final test loss is the history's
        loss = nn.functional.cross_entropy(model(data.X_test), data.y_test).item()
    assert loss == pytest.approx(history.final_test_loss, rel=1e-6)


# --- Monte-Carlo dropout ---------------------------------------------------------------------------

def test_mc_dropout_probs_are_softmaxes_of_train_mode_passes_from_the_seed_stream():
    model, X = _small_mlp(scratch=True).eval(), torch.rand(5, 6, generator=torch.Generator().manual_seed(1))
    probs = mc_dropout_probs(model, X, num_passes=7, seed=4)
    by_hand = _small_mlp(scratch=True).train()
    by_hand.generator = derived_generator(4, "mc dropout")
    with torch.no_grad():
        expected = torch.stack([torch.softmax(by_hand(X), dim=1) for _ in range(7)])
    assert torch.equal(probs, expected)
    assert len({tuple(p.flatten().tolist()) for p in probs}) == 7  # a different thinned network per pass


def test_mc_dropout_probs_seeds_nn_dropout_and_restores_everything():
    model, X = _small_mlp(scratch=False).eval(), torch.rand(5, 6, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = mc_dropout_probs(model, X, num_passes=20, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's global generator is untouched
    assert not model.training
    assert torch.equal(first, mc_dropout_probs(model, X, num_passes=20, seed=0))
    assert not torch.equal(first, mc_dropout_probs(model, X, num_passes=20, seed=1))
    scratch = _small_mlp(scratch=True).train()
    own = scratch.generator
    mc_dropout_probs(scratch, X, num_passes=3)
    assert scratch.training and scratch.generator is own  # mode and mask generator put back


def test_mc_dropout_probs_without_dropout_are_the_eval_prediction_every_time():
    model = MLP(6, 8, 8, 3, generator=torch.Generator().manual_seed(0)).eval()
    X = torch.rand(4, 6, generator=torch.Generator().manual_seed(2))
    probs = mc_dropout_probs(model, X, num_passes=5)
    with torch.no_grad():
        assert torch.allclose(probs, torch.softmax(model(X), 1).expand(5, 4, 3))
    assert mutual_information(probs).max() == 0.0


def test_entropy_against_the_definition():
    p = torch.tensor([[0.5, 0.25, 0.25], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    expected = [-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)), 0.0, math.log(3)]
    assert entropy(p).tolist() == pytest.approx(expected)


def test_mutual_information_is_total_minus_expected_entropy():
    probs = torch.tensor([[[0.9, 0.1], [0.5, 0.5]],
                          [[0.1, 0.9], [0.5, 0.5]]])  # input 0: the passes disagree; input 1: they agree
    h = lambda q: -sum(x * math.log(x) for x in q if x > 0)  # noqa: E731
    total = [h([0.5, 0.5]), h([0.5, 0.5])]
    expected_entropy = [h([0.9, 0.1]), h([0.5, 0.5])]
    assert predictive_entropy(probs).tolist() == pytest.approx(total)
    assert mutual_information(probs).tolist() == pytest.approx([total[0] - expected_entropy[0], 0.0], abs=1e-7)
    one_hot = torch.eye(3)[torch.tensor([0, 1, 2, 0])].unsqueeze(1)  # (4 passes, 1 input, 3): confident, disagreeing
    assert mutual_information(one_hot).item() == pytest.approx(h([0.5, 0.25, 0.25]))  # all of it is disagreement


def test_rank_separation_is_the_area_under_the_roc_curve():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(40, generator=g) + 1, torch.randn(60, generator=g)
    a[:5] = b[:5]  # some ties
    labels = [1] * len(a) + [0] * len(b)
    auc = sklearn_metrics.roc_auc_score(labels, torch.cat([a, b]).numpy())
    assert rank_separation(a, b) == pytest.approx(auc)
    assert rank_separation(torch.tensor([2.0]), torch.tensor([1.0])) == 1.0
    assert rank_separation(torch.tensor([1.0]), torch.tensor([1.0])) == 0.5


# --- dropout on the inputs of linear regression ----------------------------------------------------

def test_expected_dropout_loss_is_the_exact_average_over_every_mask():
    X, y, w = _regression_problem(n=3, d=4)
    p = 0.3
    for x_i, y_i in zip(X, y):  # per example: all 2^4 masks, each with its probability
        total = 0.0
        for mask in itertools.product((0, 1), repeat=4):
            m = torch.tensor(mask, dtype=torch.float64)
            weight = math.prod((1 - p) if k else p for k in mask)
            total += weight * (y_i - (m * x_i / (1 - p)) @ w).item() ** 2
        assert total == pytest.approx(expected_dropout_loss(x_i[None], y_i[None], w, p), rel=1e-12)


def test_expected_dropout_loss_matches_random_masks():
    X, y, w = _regression_problem()
    masked = dropout(X.expand(50_000, *X.shape), 0.4, generator=torch.Generator().manual_seed(0))
    losses = (y - masked @ w).square().mean(1)
    assert abs(losses.mean().item() - expected_dropout_loss(X, y, w, 0.4)) < 4 * losses.std().item() / math.sqrt(50_000)


def test_dropout_ridge_minimises_the_expected_loss():
    X, y, _ = _regression_problem()
    w = dropout_ridge(X, y, 0.25).requires_grad_()
    loss = (y - X @ w).square().mean() + (0.25 / 0.75 * X.square().mean(0) * w.square()).sum()
    loss.backward()
    assert w.grad.abs().max() < 1e-12
    # the same point as least squares on the augmented system [X; √(n·λ) I] w ≈ [y; 0]
    n, d = X.shape
    A = torch.cat([X, torch.diag((n * dropout_penalties(X, 0.25)).sqrt())])
    b = torch.cat([y, torch.zeros(d, dtype=torch.float64)])
    assert torch.allclose(w.detach(), torch.linalg.lstsq(A, b.unsqueeze(1)).solution.flatten())


def test_ridge_with_one_lambda_is_sklearn_ridge():
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y, _ = _regression_problem()
    fitted = linear_model.Ridge(alpha=len(X) * 0.7, fit_intercept=False).fit(X.numpy(), y.numpy())
    assert torch.allclose(ridge(X, y, 0.7), torch.from_numpy(fitted.coef_))


def test_dropout_keeps_one_minus_p_of_each_weight_on_uncorrelated_features():
    X, y, _ = _regression_problem(n=20)
    Q, _ = torch.linalg.qr(X)
    X_orth = Q * torch.tensor([0.1, 1.0, 5.0, 30.0], dtype=torch.float64)
    assert torch.allclose(dropout_ridge(X_orth, y, 0.3), 0.7 * ridge(X_orth, y, 0.0))
    plain = ridge(X_orth, y, 0.1) / ridge(X_orth, y, 0.0)
    assert plain[0] < 0.5 < plain[-1]  # a plain L2 penalty does depend on the scale


def test_dropout_ridge_predictions_do_not_depend_on_feature_scales():
    X, y, _ = _regression_problem()
    c = torch.tensor([10.0, 0.1, 3.0, 1.0], dtype=torch.float64)
    assert torch.allclose((X * c) @ dropout_ridge(X * c, y, 0.5), X @ dropout_ridge(X, y, 0.5))
    assert not torch.allclose((X * c) @ ridge(X * c, y, 0.5), X @ ridge(X, y, 0.5), atol=1e-3)


def test_dropout_with_rate_zero_is_least_squares():
    X, y, _ = _regression_problem()
    assert torch.allclose(dropout_ridge(X, y, 0.0), torch.linalg.lstsq(X, y.unsqueeze(1)).solution.flatten())


# --- Gaussian dropout ------------------------------------------------------------------------------

def test_gaussian_dropout_factor_has_inverted_dropouts_mean_and_variance():
    ones = torch.ones(400_000, dtype=torch.float64)
    for p in (0.2, 0.5, 0.7):
        factor = gaussian_dropout(ones, p, generator=torch.Generator().manual_seed(0))
        assert factor.dtype == torch.float64
        assert factor.mean().item() == pytest.approx(1.0, abs=4 * math.sqrt(p / (1 - p) / 400_000))
        assert factor.var().item() == pytest.approx(p / (1 - p), rel=0.01)
        bernoulli = dropout(ones, p, generator=torch.Generator().manual_seed(0))
        assert bernoulli.var().item() == pytest.approx(factor.var().item(), rel=0.02)


def test_gaussian_dropout_is_the_identity_in_eval_mode_and_at_zero_and_follows_its_generator():
    X = torch.rand(3, 4)
    assert gaussian_dropout(X, 0.5, training=False) is X and gaussian_dropout(X, 0.0) is X
    a = gaussian_dropout(X, 0.5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, gaussian_dropout(X, 0.5, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(a, X * (1 + torch.randn(3, 4, generator=torch.Generator().manual_seed(1))))  # √(0.5/0.5) = 1


# --- shifted images --------------------------------------------------------------------------------

def test_shift_images_moves_every_pixel_and_fills_with_zeros():
    X = torch.arange(1.0, 13.0).reshape(1, 12)  # one 3×4 image
    image = X.view(3, 4)
    for dy, dx in [(0, 1), (1, 0), (-1, 0), (0, -2), (2, 3), (0, 0)]:
        expected = torch.zeros(3, 4)
        for r in range(3):
            for c in range(4):
                if 0 <= r - dy < 3 and 0 <= c - dx < 4:
                    expected[r, c] = image[r - dy, c - dx]
        assert torch.equal(shift_images(X, (3, 4), (dy, dx)).view(3, 4), expected), (dy, dx)


def test_augment_with_shifts_appends_one_shifted_copy_per_shift():
    data = load_digits_data(n_train=50)
    augmented = augment_with_shifts(data)
    assert augmented.n_train == 50 * (len(SHIFTS) + 1)
    assert torch.equal(augmented.X_train[:50], data.X_train)
    assert torch.equal(augmented.X_train[50:100], shift_images(data.X_train, (8, 8), SHIFTS[0]))
    assert torch.equal(augmented.y_train, data.y_train.repeat(len(SHIFTS) + 1))
    assert augmented.X_test is data.X_test and augmented.y_test is data.y_test


# --- batch norm after dropout ----------------------------------------------------------------------

def test_variance_shift_matches_batch_norm_trained_on_dropped_out_activations():
    g = torch.Generator().manual_seed(0)
    for p, mu, v in ((0.5, 1.0, 1.0), (0.3, -2.0, 0.5)):
        bn = nn.BatchNorm1d(1, momentum=None).train()
        with torch.no_grad():
            for _ in range(300):
                bn(dropout(mu + math.sqrt(v) * torch.randn(512, 1, generator=g), p, generator=g))
            out = bn.eval()(mu + math.sqrt(v) * torch.randn(100_000, 1, generator=g))
        assert out.var().item() == pytest.approx(variance_shift(p, mu, v), rel=0.03)
    assert variance_shift(0.0, 3.0, 2.0) == 1.0 and variance_shift(0.5, 0.0, 2.0) == 0.5


# --- bad input --------------------------------------------------------------------------------------

_X, _y, _w = _regression_problem()

BAD_INPUT = [
    (lambda: mc_dropout_probs("model", torch.rand(2, 6)), TypeError, "model"),
    (lambda: mc_dropout_probs(_small_mlp(scratch=True), torch.rand(6)), ValueError, "X must be 2-D"),
    (lambda: mc_dropout_probs(_small_mlp(scratch=True), torch.rand(2, 6), num_passes=0), ValueError, "num_passes"),
    (lambda: mc_dropout_probs(_small_mlp(scratch=True), torch.rand(2, 6), num_passes=2.5), TypeError, "num_passes"),
    (lambda: mc_dropout_probs(_small_mlp(scratch=True), torch.rand(2, 6), seed=-1), ValueError, "seed"),
    (lambda: mutual_information(torch.softmax(torch.rand(3, 4), 1)), ValueError, "probs must be \\(num_passes"),
    (lambda: entropy(torch.tensor([0.5, 0.7])), ValueError, "sum to 1"),
    (lambda: entropy([0.5, 0.5]), TypeError, "probs"),
    (lambda: rank_separation(torch.tensor([]), torch.tensor([1.0])), ValueError, "at least one"),
    (lambda: rank_separation(torch.tensor([float("nan")]), torch.tensor([1.0])), ValueError, "higher"),
    (lambda: expected_dropout_loss(_X, _y, _w, 1.0), ValueError, "p must be a dropout rate in \\[0, 1\\)"),
    (lambda: expected_dropout_loss(_X, _y, _w, True), TypeError, "p"),
    (lambda: expected_dropout_loss(_X, _y[:3], _w, 0.5), ValueError, "y must be"),
    (lambda: expected_dropout_loss(_X, _y, _w[:2], 0.5), ValueError, "w must be"),
    (lambda: dropout_ridge(_X.numpy(), _y, 0.5), TypeError, "X"),
    (lambda: ridge(_X, _y, -1.0), ValueError, "penalty"),
    (lambda: ridge(_X, _y, torch.ones(2)), ValueError, "penalty"),
    (lambda: ridge(torch.zeros(5, 2, dtype=torch.float64), torch.zeros(5), 0.0), ValueError, "no unique minimiser"),
    (lambda: gaussian_dropout(torch.ones(3), 1.0), ValueError, "p must be"),
    (lambda: gaussian_dropout([1.0], 0.5), TypeError, "X"),
    (lambda: gaussian_dropout(torch.ones(3), 0.5, training="yes"), TypeError, "training"),
    (lambda: gaussian_dropout(torch.ones(3), 0.5, generator=0), TypeError, "generator"),
    (lambda: shift_images(torch.ones(2, 64), (8, 8), (8, 0)), ValueError, "shift\\[0\\]"),
    (lambda: shift_images(torch.ones(2, 60), (8, 8), (1, 0)), ValueError, "64 columns"),
    (lambda: shift_images(torch.ones(2, 64), (8, 8), 1), TypeError, "shift"),
    (lambda: augment_with_shifts("digits"), TypeError, "data"),
    (lambda: augment_with_shifts(load_digits_data(n_train=20), shifts=[]), TypeError, "shifts"),
    (lambda: variance_shift(1.0, 0.0, 1.0), ValueError, "p must be in \\[0, 1\\)"),
    (lambda: variance_shift(0.5, 0.0, 0.0), ValueError, "var"),
    (lambda: variance_shift(0.5, "1", 1.0), TypeError, "mean"),
]


@pytest.mark.parametrize("call, error, match", BAD_INPUT, ids=[m for _, _, m in BAD_INPUT])
def test_bad_input_is_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()
