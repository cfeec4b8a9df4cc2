import math

import pytest
import torch
import torch.nn.functional as F

from wd_helpers import losses as L

REDUCTIONS = ["none", "mean", "sum"]
N, C = 8, 5


def generator(seed):
    return torch.Generator().manual_seed(seed)


def regression_pair(seed=0, shape=(N, 3)):
    g = generator(seed)
    return 2 * torch.randn(shape, generator=g), 2 * torch.randn(shape, generator=g)


def probabilities(seed=0, shape=(N, C)):
    return torch.softmax(2 * torch.randn(shape, generator=generator(seed)), dim=-1)


# ---------------------------------------------------------------- regression losses


REGRESSION = {
    "l1": (L.l1_loss, F.l1_loss),
    "mse": (L.mse_loss, F.mse_loss),
    "huber": (L.huber_loss, F.huber_loss),
    "huber_0.5": (
        lambda a, b, reduction: L.huber_loss(a, b, delta=0.5, reduction=reduction),
        lambda a, b, reduction: F.huber_loss(a, b, delta=0.5, reduction=reduction),
    ),
    "smooth_l1": (L.smooth_l1_loss, F.smooth_l1_loss),
    "smooth_l1_2": (
        lambda a, b, reduction: L.smooth_l1_loss(a, b, beta=2.0, reduction=reduction),
        lambda a, b, reduction: F.smooth_l1_loss(a, b, beta=2.0, reduction=reduction),
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_loss_matches_torch(name, reduction):
    ours, reference = REGRESSION[name]
    y_hat, y = regression_pair()
    torch.testing.assert_close(ours(y_hat, y, reduction=reduction), reference(y_hat, y, reduction=reduction))


@pytest.mark.parametrize("name", REGRESSION)
def test_empty_batch_like_torch_mean_is_nan_sum_is_zero(name):
    ours, reference = REGRESSION[name]
    empty = torch.empty(0)
    assert math.isnan(ours(empty, empty, reduction="mean").item())
    assert ours(empty, empty, reduction="sum").item() == 0.0
    assert ours(empty, empty, reduction="none").shape == (0,)
    assert math.isnan(reference(empty, empty, reduction="mean").item())  # the behaviour we copy


def test_smooth_l1_is_huber_divided_by_delta():
    y_hat, y = regression_pair(seed=1)
    for delta in [0.3, 1.0, 2.5]:
        torch.testing.assert_close(
            L.smooth_l1_loss(y_hat, y, beta=delta, reduction="none"),
            L.huber_loss(y_hat, y, delta=delta, reduction="none") / delta,
        )


def test_huber_is_half_squared_error_near_zero_and_linear_far_away():
    y = torch.zeros(2)
    y_hat = torch.tensor([0.5, 10.0])
    assert L.huber_loss(y_hat, y, reduction="none").tolist() == [0.125, 9.5]  # ½·0.5², 1·(10 − ½)


# ---------------------------------------------------------------- classification losses


def class_batch(seed=0, shape=(N, C)):
    g = generator(seed)
    logits = 3 * torch.randn(shape, generator=g)
    target = torch.randint(0, shape[1], shape[:1] + shape[2:], generator=g)
    return logits, target


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction):
    logits, target = class_batch()
    log_probs = torch.log_softmax(logits, dim=1)
    torch.testing.assert_close(
        L.nll_loss(log_probs, target, reduction=reduction), F.nll_loss(log_probs, target, reduction=reduction)
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(N, C), (N, C, 4)])
def test_cross_entropy_with_class_indices_matches_torch(shape, reduction, label_smoothing):
    logits, target = class_batch(seed=1, shape=shape)
    torch.testing.assert_close(
        L.cross_entropy(logits, target, reduction=reduction, label_smoothing=label_smoothing),
        F.cross_entropy(logits, target, reduction=reduction, label_smoothing=label_smoothing),
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_probability_targets_matches_torch(reduction, label_smoothing):
    logits, _ = class_batch(seed=2)
    target = probabilities(seed=3)
    torch.testing.assert_close(
        L.cross_entropy(logits, target, reduction=reduction, label_smoothing=label_smoothing),
        F.cross_entropy(logits, target, reduction=reduction, label_smoothing=label_smoothing),
    )


def test_cross_entropy_with_one_hot_targets_equals_class_indices():
    logits, target = class_batch(seed=4)
    one_hot = F.one_hot(target, C).float()
    torch.testing.assert_close(L.cross_entropy(logits, one_hot), L.cross_entropy(logits, target))


def test_cross_entropy_is_log_softmax_then_nll():
    logits, target = class_batch(seed=5)
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    torch.testing.assert_close(L.cross_entropy(logits, target), L.nll_loss(log_probs, target))


def test_cross_entropy_is_finite_for_huge_logits():
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    target = torch.tensor([1, 1])
    loss = L.cross_entropy(logits, target, reduction="none")
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss, F.cross_entropy(logits, target, reduction="none"))


def test_cross_entropy_of_an_empty_batch_like_torch():
    logits, target = torch.empty(0, C), torch.empty(0, dtype=torch.long)
    assert math.isnan(L.cross_entropy(logits, target).item())
    assert L.cross_entropy(logits, target, reduction="sum").item() == 0.0


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(reduction):
    g = generator(6)
    p, y = torch.rand(N, 3, generator=g), torch.rand(N, 3, generator=g)
    torch.testing.assert_close(
        L.binary_cross_entropy(p, y, reduction=reduction), F.binary_cross_entropy(p, y, reduction=reduction)
    )


def test_binary_cross_entropy_at_p_0_and_1_is_clamped_like_torch():
    p = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0])
    y = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5])
    ours = L.binary_cross_entropy(p, y, reduction="none")
    torch.testing.assert_close(ours, F.binary_cross_entropy(p, y, reduction="none"))
    assert ours.tolist() == [100.0, 100.0, 0.0, 0.0, 50.0]  # log 0 is clamped to −100


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_matches_torch(reduction):
    g = generator(7)
    z, y = 4 * torch.randn(N, 3, generator=g), torch.rand(N, 3, generator=g)
    torch.testing.assert_close(
        L.binary_cross_entropy_with_logits(z, y, reduction=reduction),
        F.binary_cross_entropy_with_logits(z, y, reduction=reduction),
    )


def test_binary_cross_entropy_with_logits_is_finite_and_exact_at_plus_minus_100():
    z = torch.tensor([-100.0, 100.0, 100.0, -100.0, 100.0])
    y = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.5])
    ours = L.binary_cross_entropy_with_logits(z, y, reduction="none")
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(z, y, reduction="none"))
    assert ours[0].item() == pytest.approx(100.0)  # the probability version would clamp, not compute


def test_binary_cross_entropy_with_logits_equals_bce_of_sigmoid():
    g = generator(8)
    z, y = torch.randn(N, generator=g), torch.rand(N, generator=g)
    torch.testing.assert_close(
        L.binary_cross_entropy_with_logits(z, y), L.binary_cross_entropy(torch.sigmoid(z), y)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss_matches_torch(reduction):
    g = generator(9)
    x = 3 * torch.randn(N, 3, generator=g)
    y = torch.where(torch.rand(N, 3, generator=g) < 0.5, -1.0, 1.0)
    torch.testing.assert_close(
        L.soft_margin_loss(x, y, reduction=reduction), F.soft_margin_loss(x, y, reduction=reduction)
    )


def test_soft_margin_loss_stays_finite_where_torch_overflows():
    x, y = torch.tensor([-100.0]), torch.tensor([1.0])
    assert F.soft_margin_loss(x, y).item() == math.inf  # torch: log1p(exp(100)) in float32
    assert L.soft_margin_loss(x, y).item() == pytest.approx(100.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss_matches_torch(reduction):
    g = generator(10)
    x = 3 * torch.randn(N, C, generator=g)
    y = (torch.rand(N, C, generator=g) < 0.5).float()
    torch.testing.assert_close(
        L.multilabel_soft_margin_loss(x, y, reduction=reduction),
        F.multilabel_soft_margin_loss(x, y, reduction=reduction),
    )


@pytest.mark.parametrize("margin", [0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_matches_torch(reduction, margin):
    g = generator(18)
    x = 2 * torch.randn(N, C, generator=g, requires_grad=True)
    y = torch.randint(0, C, (N,), generator=g)
    ours = L.multi_margin_loss(x, y, margin=margin, reduction=reduction)
    theirs = F.multi_margin_loss(x, y, margin=margin, reduction=reduction)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(torch.autograd.grad(ours.sum(), x)[0], torch.autograd.grad(theirs.sum(), x)[0])


def test_multi_margin_loss_is_zero_once_the_true_class_wins_by_the_margin():
    scores, target = torch.tensor([[3.0, 1.0, -3.0]]), torch.tensor([0])  # wins by 2
    assert L.multi_margin_loss(scores, target, margin=2.0).item() == 0.0
    assert L.multi_margin_loss(scores, target, margin=3.0).item() == pytest.approx(1 / 3)  # (3 − 2) / C


def test_train_linear_fits_a_separable_problem_and_is_seeded():
    from wd_helpers.experiments import train_linear

    g = generator(19)
    X = torch.randn(64, 2, generator=g)
    y = (X[:, 0] > 0).long()
    model, history = train_linear(X, y, F.cross_entropy, outputs=2, optimizer="sgd", lr=1.0, steps=50)
    assert len(history) == 51 and history[-1] < history[0] / 2
    assert (model(X).argmax(1) == y).float().mean() > 0.9
    assert train_linear(X, y, F.cross_entropy, outputs=2, steps=3)[1] == train_linear(
        X, y, F.cross_entropy, outputs=2, steps=3)[1]


@pytest.mark.parametrize("option, value", [("optimizer", "rmsprop"), ("lr", 0.0), ("steps", -1), ("steps", 1.5),
                                           ("init_scale", 0.0), ("outputs", 0)])
def test_train_linear_bad_options_raise_value_error_naming_them(option, value):
    from wd_helpers.experiments import train_linear

    kwargs = {"outputs": 2, option: value}
    error = TypeError if value == 1.5 else ValueError  # 1.5 steps is not a count (the wrong kind): never rounded
    with pytest.raises(error, match=option):
        train_linear(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), F.cross_entropy, **kwargs)


# ---------------------------------------------------------------- information theory


def test_entropy_matches_torch_distributions():
    p = probabilities(seed=11)
    torch.testing.assert_close(L.entropy(p), torch.distributions.Categorical(probs=p).entropy())


def test_entropy_of_uniform_is_log_c_and_of_one_hot_is_zero():
    assert L.entropy(torch.full((4,), 0.25)).item() == pytest.approx(math.log(4))
    assert L.entropy(torch.tensor([0.0, 1.0, 0.0])).item() == 0.0  # 0 · log 0 = 0


def test_kl_divergence_matches_torch_kl_div():
    p, q = probabilities(seed=12), probabilities(seed=13)
    expected = F.kl_div(q.log(), p, reduction="none").sum(dim=-1)  # torch takes log q first
    torch.testing.assert_close(L.kl_divergence(p, q), expected)


def test_kl_is_cross_entropy_minus_entropy_and_nonnegative():
    p, q = probabilities(seed=14), probabilities(seed=15)
    kl = L.kl_divergence(p, q)
    torch.testing.assert_close(kl, L.cross_entropy_of(p, q) - L.entropy(p))
    assert (kl >= 0).all()
    torch.testing.assert_close(L.kl_divergence(p, p), torch.zeros(N))


def test_kl_ignores_zero_probability_terms_and_is_infinite_where_q_misses_p():
    p = torch.tensor([0.5, 0.5, 0.0])
    assert L.kl_divergence(p, torch.tensor([0.5, 0.5, 0.0])).item() == 0.0
    assert L.kl_divergence(p, torch.tensor([1.0, 0.0, 0.0])).item() == math.inf


def test_cross_entropy_of_distributions_agrees_with_cross_entropy_loss():
    logits, _ = class_batch(seed=16)
    p = probabilities(seed=17)
    torch.testing.assert_close(
        L.cross_entropy_of(p, torch.softmax(logits, dim=1)), L.cross_entropy(logits, p, reduction="none")
    )


def test_coin_negative_log_likelihood_is_minimal_at_the_observed_frequency():
    theta = torch.linspace(0.01, 0.99, 99)  # grid search in steps of 0.01
    nll = L.negative_log_likelihood_coin(theta, heads=7, flips=10)
    assert theta[nll.argmin()].item() == pytest.approx(0.7)


def test_coin_negative_log_likelihood_formula():
    nll = L.negative_log_likelihood_coin(torch.tensor(0.5), heads=3, flips=4)
    assert nll.item() == pytest.approx(4 * math.log(2))


# ---------------------------------------------------------------- validation

P = torch.full((2, 4), 0.25)
X, Y = torch.zeros(2, 3), torch.zeros(2, 3)
LOGITS, TARGET = torch.zeros(2, 4), torch.tensor([0, 3])


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: L.mse_loss(X, Y, reduction="avg"), "reduction"),
        (lambda: L.cross_entropy(LOGITS, TARGET, reduction="batchmean"), "reduction"),
        (lambda: L.mse_loss(X, torch.zeros(3)), r"y_hat and y .*\(2, 3\) and \(3,\)"),
        (lambda: L.l1_loss(X, torch.zeros(2, 1)), "y_hat and y"),
        (lambda: L.binary_cross_entropy(X, torch.zeros(3, 2)), "p and y"),
        (lambda: L.binary_cross_entropy_with_logits(X, torch.zeros(6)), "logits and y"),
        (lambda: L.huber_loss(X, Y, delta=0.0), "delta"),
        (lambda: L.huber_loss(X, Y, delta=-1.0), "delta"),
        (lambda: L.smooth_l1_loss(X, Y, beta=0.0), "beta"),
        (lambda: L.smooth_l1_loss(X, Y, beta=math.nan), "beta"),
        (lambda: L.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0])), "p must hold probabilities"),
        (lambda: L.binary_cross_entropy(torch.tensor([-0.1]), torch.tensor([1.0])), "p must hold probabilities"),
        (lambda: L.nll_loss(LOGITS, F.one_hot(TARGET, 4)), "target .*class indices"),
        (lambda: L.nll_loss(LOGITS, F.one_hot(TARGET, 4).float()), "NLLLoss wants class indices"),
        (lambda: L.nll_loss(LOGITS, torch.tensor([0, 4])), "target class indices"),
        (lambda: L.cross_entropy(LOGITS, torch.tensor([-1, 0])), "target class indices"),
        (lambda: L.cross_entropy(LOGITS, torch.tensor([0, 1, 2])), "target must have shape"),
        (lambda: L.cross_entropy(LOGITS, torch.zeros(2, 3)), "logits and target"),
        (lambda: L.cross_entropy(LOGITS, TARGET, label_smoothing=1.5), "label_smoothing"),
        (lambda: L.soft_margin_loss(X, Y), "y must hold labels"),
        (lambda: L.multi_margin_loss(LOGITS, TARGET, margin=-1.0), "margin"),
        (lambda: L.multi_margin_loss(LOGITS, TARGET.float()), "target must hold integer class indices"),
        (lambda: L.multi_margin_loss(LOGITS, torch.tensor([0, 4])), "target class indices"),
        (lambda: L.multi_margin_loss(torch.zeros(4), TARGET), "scores must have shape"),
        (lambda: L.entropy(torch.tensor([1.2, -0.2])), "p must hold probabilities"),
        (lambda: L.entropy(torch.tensor([0.5, 0.4])), "p must sum to 1"),
        (lambda: L.kl_divergence(P, torch.tensor([[0.5, 0.5, 0.5, 0.5]] * 2)), "q must sum to 1"),
        (lambda: L.kl_divergence(P, torch.full((2, 3), 1 / 3)), "p and q"),
        (lambda: L.cross_entropy_of(torch.tensor([0.7, 0.2]), torch.tensor([0.5, 0.5])), "p must sum to 1"),
        (lambda: L.negative_log_likelihood_coin(torch.tensor([0.0, 0.5]), 1, 2), "theta"),
        (lambda: L.negative_log_likelihood_coin(torch.tensor([1.0]), 1, 2), "theta"),
        (lambda: L.negative_log_likelihood_coin(torch.tensor(0.5), heads=11, flips=10), "heads"),
        (lambda: L.negative_log_likelihood_coin(torch.tensor(0.5), heads=-1, flips=10), "heads"),
        (lambda: L.negative_log_likelihood_coin(torch.tensor(0.5), heads=0, flips=-1), "flips"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_probability_vectors_within_tolerance_are_accepted():
    p = torch.tensor([0.5, 0.5 + 5e-6])  # sums to 1 + 5e-6, inside the 1e-5 tolerance
    assert torch.isfinite(L.entropy(p))
