"""The likelihood losses and weighted losses of notebook 02b, each against PyTorch; bad input is refused by name."""

import math

import pytest
import torch
import torch.nn.functional as F

from wd_helpers import losses as L

REDUCTIONS = ["none", "mean", "sum"]
N, C = 8, 4


def generator(seed):
    return torch.Generator().manual_seed(seed)


def regression_batch(seed=0, shape=(N, 3)):
    g = generator(seed)
    y_hat = (2 * torch.randn(shape, generator=g)).requires_grad_(True)
    y = 2 * torch.randn(shape, generator=g)
    var = (torch.rand(shape, generator=g) + 0.1).requires_grad_(True)
    return y_hat, y, var


def gradients(loss, *tensors):
    return torch.autograd.grad(loss.sum(), tensors)


# ---------------------------------------------------------------- Gaussian NLL


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_matches_torch_values_and_gradients(reduction, full):
    y_hat, y, var = regression_batch(seed=1)
    ours = L.gaussian_nll_loss(y_hat, y, var, full=full, reduction=reduction)
    theirs = F.gaussian_nll_loss(y_hat, y, var, full=full, reduction=reduction)
    torch.testing.assert_close(ours, theirs)
    for a, b in zip(gradients(ours, y_hat, var), gradients(theirs, y_hat, var)):
        torch.testing.assert_close(a, b)


def test_gaussian_nll_loss_takes_a_variance_not_a_std():
    y_hat, y, var = regression_batch(seed=2)
    sigma = var.detach().sqrt()
    full = L.gaussian_nll_loss(y_hat, y, var, full=True, reduction="none")
    torch.testing.assert_close(full, -torch.distributions.Normal(y_hat, sigma).log_prob(y))
    assert not torch.allclose(L.gaussian_nll_loss(y_hat, y, sigma, full=True, reduction="none"), full)


def test_gaussian_nll_loss_full_adds_half_log_two_pi():
    y_hat, y, var = regression_batch(seed=3)
    gap = L.gaussian_nll_loss(y_hat, y, var, full=True) - L.gaussian_nll_loss(y_hat, y, var)
    assert gap.item() == pytest.approx(0.5 * math.log(2 * math.pi), rel=1e-5)


def test_gaussian_nll_loss_with_unit_variance_is_half_mse_plus_a_constant():
    y_hat, y, _ = regression_batch(seed=4)
    torch.testing.assert_close(L.gaussian_nll_loss(y_hat, y, 1.0), L.mse_loss(y_hat, y) / 2)


@pytest.mark.parametrize("var", [0.5, 2, 1e-9, 0.0])
def test_gaussian_nll_loss_takes_one_number_for_every_example_like_torch(var):
    y_hat, y, _ = regression_batch(seed=5)
    torch.testing.assert_close(L.gaussian_nll_loss(y_hat, y, var), F.gaussian_nll_loss(y_hat, y, float(var)))


@pytest.mark.parametrize("eps", [1e-6, 1e-2])
def test_gaussian_nll_loss_clamps_the_variance_in_value_only_like_torch(eps):
    y_hat, y = torch.tensor([0.1, 0.0, 1.0]), torch.tensor([0.0, 1.0, 1.0])
    var = torch.tensor([0.0, 1e-9, 0.5], requires_grad=True)
    ours = L.gaussian_nll_loss(y_hat, y, var, eps=eps)
    theirs = F.gaussian_nll_loss(y_hat, y, var, eps=eps)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(gradients(ours, var)[0], gradients(theirs, var)[0])


def test_gaussian_nll_is_smallest_at_the_mean_and_the_biased_variance():
    y = torch.tensor([1.0, 2.0, 4.0, 9.0], dtype=torch.float64)
    mu, var = y.mean(), y.var(correction=0)
    best = L.gaussian_nll_loss(mu.expand(4), y, var.item())
    for d_mu, d_var in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert L.gaussian_nll_loss((mu + d_mu).expand(4), y, var.item() + d_var) > best
    assert L.gaussian_nll_loss(mu.expand(4), y, y.var().item()) > best  # the N − 1 variance is not the MLE


# ---------------------------------------------------------------- Laplace NLL


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", ["tensor", "number"])
def test_laplace_nll_matches_torch_distributions(reduction, scale):
    y_hat, y, var = regression_batch(seed=6)
    b = var if scale == "tensor" else 0.7
    ours = L.laplace_nll(y_hat, y, b, reduction=reduction)
    per_element = -torch.distributions.Laplace(y_hat, b if scale == "tensor" else torch.full_like(y, 0.7)).log_prob(y)
    theirs = {"none": per_element, "mean": per_element.mean(), "sum": per_element.sum()}[reduction]
    torch.testing.assert_close(ours, theirs)
    if scale == "tensor":
        for a, c in zip(gradients(ours, y_hat, var), gradients(theirs, y_hat, var)):
            torch.testing.assert_close(a, c)


def test_laplace_nll_with_unit_scale_is_l1_plus_log_two():
    y_hat, y, _ = regression_batch(seed=7)
    torch.testing.assert_close(L.laplace_nll(y_hat, y, 1.0), L.l1_loss(y_hat, y) + math.log(2))


def test_laplace_nll_is_smallest_at_the_median():
    y = torch.tensor([1.0, 2.0, 4.0, 9.0, 50.0], dtype=torch.float64)
    c = torch.arange(0, 60, 0.01, dtype=torch.float64)
    grid_c, grid_y = torch.broadcast_tensors(c[:, None], y)
    total = L.laplace_nll(grid_c, grid_y, 1.0, reduction="none").sum(dim=1)
    assert c[total.argmin()].item() == pytest.approx(4.0)  # the median, not the mean 13.2


# ---------------------------------------------------------------- weighted cross-entropy and ignore_index


def class_batch(seed=0, shape=(N, C), ignored=(2, 5), marker=-100):
    g = generator(seed)
    logits = (2 * torch.randn(shape, generator=g)).requires_grad_(True)
    target = torch.randint(0, shape[1], shape[:1] + shape[2:], generator=g)
    target.view(-1)[list(ignored)] = marker
    return logits, target


WEIGHT = torch.tensor([1.0, 4.0, 0.5, 2.0])


@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["no weight", "weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_cross_entropy_matches_torch(reduction, weight):
    logits, target = class_batch(seed=8)
    ours = L.weighted_cross_entropy(logits, target, weight, reduction=reduction)
    theirs = F.cross_entropy(logits, target, weight=weight, reduction=reduction)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(gradients(ours, logits)[0], gradients(theirs, logits)[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_cross_entropy_with_another_ignore_index_and_spatial_targets(reduction):
    logits, target = class_batch(seed=9, shape=(3, C, 5), ignored=(0, 7, 14), marker=-1)
    ours = L.weighted_cross_entropy(logits, target, WEIGHT, ignore_index=-1, reduction=reduction)
    theirs = F.cross_entropy(logits, target, weight=WEIGHT, ignore_index=-1, reduction=reduction)
    torch.testing.assert_close(ours, theirs)


def test_weighted_mean_divides_by_the_weights_of_the_targets_not_by_n():
    logits, target = class_batch(seed=10, ignored=())
    per_example = L.weighted_cross_entropy(logits, target, WEIGHT, reduction="none")
    mean = L.weighted_cross_entropy(logits, target, WEIGHT)
    torch.testing.assert_close(mean, per_example.sum() / WEIGHT[target].sum())
    assert not torch.isclose(mean, per_example.mean(), rtol=0.05)  # the from-scratch mistake


def test_ignored_targets_leave_the_loss_and_the_denominator():
    logits, target = class_batch(seed=11)
    kept = target != -100
    torch.testing.assert_close(L.weighted_cross_entropy(logits, target, WEIGHT),
                               F.cross_entropy(logits[kept], target[kept], weight=WEIGHT))
    assert (L.weighted_cross_entropy(logits, target, WEIGHT, reduction="none")[~kept] == 0).all()


def test_every_target_ignored_gives_nan_mean_and_zero_sum_like_torch():
    logits = torch.zeros(3, C)
    target = torch.full((3,), -100)
    assert math.isnan(L.weighted_cross_entropy(logits, target).item())
    assert math.isnan(F.cross_entropy(logits, target).item())  # the behaviour we copy
    assert L.weighted_cross_entropy(logits, target, reduction="sum").item() == 0.0


def test_weighted_cross_entropy_without_weights_is_the_plain_cross_entropy():
    logits, target = class_batch(seed=12, ignored=())
    torch.testing.assert_close(L.weighted_cross_entropy(logits, target), L.cross_entropy(logits, target))


def test_weighted_cross_entropy_is_exact_for_large_logits():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 500.0, 0.0]])
    target = torch.tensor([2, 0])
    weight = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(L.weighted_cross_entropy(logits, target, weight),
                               F.cross_entropy(logits, target, weight=weight))


# ---------------------------------------------------------------- pos_weight


@pytest.mark.parametrize("pos_weight", [None, 19.0, 0.0, torch.tensor([1.0, 5.0, 0.2])],
                         ids=["none", "19", "0", "per label"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pos_weighted_bce_matches_torch(reduction, pos_weight):
    g = generator(13)
    z = (4 * torch.randn(N, 3, generator=g)).requires_grad_(True)
    y = (torch.rand(N, 3, generator=g) < 0.3).float()
    ours = L.weighted_binary_cross_entropy_with_logits(z, y, pos_weight, reduction=reduction)
    theirs = F.binary_cross_entropy_with_logits(
        z, y, pos_weight=None if pos_weight is None else torch.as_tensor(pos_weight), reduction=reduction)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(gradients(ours, z)[0], gradients(theirs, z)[0])


def test_pos_weight_one_is_the_plain_loss_and_mean_divides_by_n():
    g = generator(14)
    z, y = torch.randn(N, generator=g), (torch.rand(N, generator=g) < 0.5).float()
    torch.testing.assert_close(L.weighted_binary_cross_entropy_with_logits(z, y, 1.0),
                               L.binary_cross_entropy_with_logits(z, y))
    per_element = L.weighted_binary_cross_entropy_with_logits(z, y, 7.0, reduction="none")
    torch.testing.assert_close(L.weighted_binary_cross_entropy_with_logits(z, y, 7.0), per_element.sum() / N)


def test_pos_weighted_bce_stays_finite_for_huge_logits():
    z = torch.tensor([200.0, -200.0, 30.0])
    y = torch.tensor([0.0, 1.0, 1.0])
    ours = L.weighted_binary_cross_entropy_with_logits(z, y, 3.0, reduction="none")
    torch.testing.assert_close(ours, torch.tensor([200.0, 600.0, 0.0]))


def test_class_weights_and_pos_weight_differ_by_the_mean_denominator():
    g = generator(15)
    y = torch.cat([torch.zeros(95, dtype=torch.long), torch.ones(5, dtype=torch.long)])
    z = torch.randn(100, generator=g)
    ce = L.weighted_cross_entropy(torch.stack([torch.zeros_like(z), z], dim=1), y, torch.tensor([1.0, 19.0]))
    bce = L.weighted_binary_cross_entropy_with_logits(z, y.float(), 19.0)
    assert (bce / ce).item() == pytest.approx((95 + 5 * 19) / 100, rel=1e-5)


# ---------------------------------------------------------------- validation

Y2 = torch.zeros(2, 3)
LOGITS, TARGET = torch.zeros(2, 4), torch.tensor([0, 3])


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: L.gaussian_nll_loss(Y2, Y2, 1.0, reduction="batchmean"), ValueError, "reduction"),
        (lambda: L.gaussian_nll_loss(Y2, torch.zeros(3), 1.0), ValueError, "y_hat and y"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, -1.0), ValueError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, math.nan), ValueError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, "1"), TypeError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, None), TypeError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, True), TypeError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, torch.ones(3)), ValueError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, torch.full((2, 3), -0.5)), ValueError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, torch.full((2, 3), math.nan)), ValueError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, torch.full((2, 3), math.inf)), ValueError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, torch.ones(2, 3, dtype=torch.long)), TypeError, "var"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, 1.0, eps=0.0), ValueError, "eps"),
        (lambda: L.gaussian_nll_loss(Y2, Y2, 1.0, full="yes"), TypeError, "full"),
        (lambda: L.laplace_nll(Y2, Y2, 0.0), ValueError, "b"),
        (lambda: L.laplace_nll(Y2, Y2, torch.zeros(2, 3)), ValueError, "b"),
        (lambda: L.laplace_nll(Y2, Y2, [1.0]), TypeError, "b"),
        (lambda: L.laplace_nll(Y2, Y2, 1.0, reduction="avg"), ValueError, "reduction"),
        (lambda: L.laplace_nll(Y2.tolist(), Y2, 1.0), TypeError, "y_hat"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, reduction="batchmean"), ValueError, "reduction"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET.float()), TypeError, "target"),
        (lambda: L.weighted_cross_entropy(LOGITS, torch.tensor([True, False])), TypeError, "target"),
        (lambda: L.weighted_cross_entropy(LOGITS, torch.tensor([0, 4])), ValueError, "target class indices"),
        (lambda: L.weighted_cross_entropy(LOGITS, torch.tensor([0, -1])), ValueError, "target class indices"),
        (lambda: L.weighted_cross_entropy(LOGITS, torch.tensor([0, 1, 2])), ValueError, "target must have shape"),
        (lambda: L.weighted_cross_entropy(torch.zeros(4), TARGET), ValueError, "logits"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, torch.ones(3)), ValueError, "weight"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, torch.ones(4, dtype=torch.long)), ValueError, "weight"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, torch.tensor([1.0, -1.0, 1.0, 1.0])), ValueError, "weight"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, torch.tensor([1.0, math.nan, 1.0, 1.0])), ValueError,
         "weight"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, [1.0, 1.0, 1.0, 1.0]), TypeError, "weight"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, ignore_index=0.5), TypeError, "ignore_index"),
        (lambda: L.weighted_cross_entropy(LOGITS, TARGET, ignore_index="none"), TypeError, "ignore_index"),
        (lambda: L.weighted_binary_cross_entropy_with_logits(Y2, torch.zeros(3), 2.0), ValueError, "logits and y"),
        (lambda: L.weighted_binary_cross_entropy_with_logits(Y2, Y2, -1.0), ValueError, "pos_weight"),
        (lambda: L.weighted_binary_cross_entropy_with_logits(Y2, Y2, math.inf), ValueError, "pos_weight"),
        (lambda: L.weighted_binary_cross_entropy_with_logits(Y2, Y2, "19"), TypeError, "pos_weight"),
        (lambda: L.weighted_binary_cross_entropy_with_logits(Y2, Y2, torch.ones(2)), ValueError, "pos_weight"),
        (lambda: L.weighted_binary_cross_entropy_with_logits(Y2, Y2, torch.tensor([1.0, -2.0, 1.0])), ValueError,
         "pos_weight"),
        (lambda: L.weighted_binary_cross_entropy_with_logits(Y2, Y2, 2.0, reduction="avg"), ValueError, "reduction"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, error, argument):
    with pytest.raises(error, match=argument):
        call()


def test_good_edge_values_are_accepted():
    assert torch.isfinite(L.gaussian_nll_loss(Y2, Y2, 0.0))  # a variance of 0 is clamped, as in torch
    assert torch.isfinite(L.gaussian_nll_loss(Y2, Y2, torch.tensor(2.0)))  # a one-element tensor is one number
    assert L.weighted_binary_cross_entropy_with_logits(Y2, Y2, torch.tensor(3.0)).shape == ()
    assert L.weighted_cross_entropy(LOGITS, TARGET, torch.zeros(4), reduction="sum").item() == 0.0
