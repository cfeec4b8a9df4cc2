import math

import pytest
import torch
import torch.nn.functional as F

from wd_helpers import activations as A


def random_inputs(seed=0, shape=(4, 3, 5)):
    return 4 * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


EDGES = torch.tensor([-1000.0, -50.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 50.0, 1000.0])

# (ours, torch's reference) for every elementwise activation
ELEMENTWISE = {
    "sigmoid": (A.sigmoid, torch.sigmoid),
    "tanh": (A.tanh, torch.tanh),
    "relu": (A.relu, F.relu),
    "leaky_relu": (A.leaky_relu, F.leaky_relu),
    "leaky_relu_0.2": (lambda x: A.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    "prelu": (
        lambda x: A.prelu(x, torch.tensor([0.3])),
        lambda x: F.prelu(x, torch.tensor([0.3])),
    ),
    "elu": (A.elu, F.elu),
    "elu_2": (lambda x: A.elu(x, 2.0), lambda x: F.elu(x, 2.0)),
    "gelu": (A.gelu, F.gelu),
    "gelu_tanh": (lambda x: A.gelu(x, "tanh"), lambda x: F.gelu(x, approximate="tanh")),
    "silu": (A.silu, F.silu),
}
ALONG_DIM = {"softmax": (A.softmax, torch.softmax), "log_softmax": (A.log_softmax, torch.log_softmax)}


# ---------------------------------------------------------------- values match torch


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_matches_torch_on_random_inputs(name):
    ours, reference = ELEMENTWISE[name]
    x = random_inputs()
    torch.testing.assert_close(ours(x), reference(x))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_matches_torch_at_extremes_without_nan_or_inf(name):
    ours, reference = ELEMENTWISE[name]
    y = ours(EDGES)
    expected = reference(EDGES)
    assert torch.isfinite(y).all(), y
    torch.testing.assert_close(y, expected)


@pytest.mark.parametrize("name", list(ELEMENTWISE) + list(ALONG_DIM))
def test_activation_of_an_empty_tensor_is_empty(name):
    fn = ELEMENTWISE.get(name, ALONG_DIM.get(name))[0]
    for shape in [(0,), (3, 0), (0, 4)]:
        assert fn(torch.empty(shape)).shape == shape


@pytest.mark.parametrize("name", ALONG_DIM)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_matches_torch_along_any_dim(name, dim):
    ours, reference = ALONG_DIM[name]
    x = random_inputs(seed=1)
    torch.testing.assert_close(ours(x, dim=dim), reference(x, dim=dim))


@pytest.mark.parametrize("name", ALONG_DIM)
def test_softmax_family_is_finite_for_huge_logits(name):
    ours, reference = ALONG_DIM[name]
    x = torch.tensor([[1000.0, 0.0, -1000.0], [-50.0, 50.0, 0.0]])
    assert torch.isfinite(ours(x)).all()
    torch.testing.assert_close(ours(x), reference(x, dim=-1))


def test_prelu_takes_one_weight_per_channel_like_torch():
    x = random_inputs(seed=2)  # (N, C, L) = (4, 3, 5)
    weight = torch.tensor([0.1, -0.5, 2.0])
    torch.testing.assert_close(A.prelu(x, weight), F.prelu(x, weight))


def test_prelu_with_weight_zero_is_relu_and_one_is_identity():
    x = random_inputs(seed=3)
    torch.testing.assert_close(A.prelu(x, torch.tensor([0.0])), A.relu(x))
    torch.testing.assert_close(A.prelu(x, 1.0), x)


# ---------------------------------------------------------------- known values and identities


def test_softmax_of_3_1_minus3():
    p = A.softmax(torch.tensor([3.0, 1.0, -3.0]))
    assert p.tolist() == pytest.approx([0.8789, 0.1189, 0.0022], abs=5e-5)
    assert p.sum().item() == pytest.approx(1.0)


def test_naive_softmax_overflows_where_softmax_does_not():
    x = torch.tensor([1000.0, 0.0])
    assert torch.isnan(A.naive_softmax(x)).any()  # e^1000 = inf, inf / inf = nan
    assert A.softmax(x).tolist() == [1.0, 0.0]


def test_naive_softmax_agrees_with_softmax_for_small_inputs():
    x = random_inputs(seed=4)
    torch.testing.assert_close(A.naive_softmax(x), A.softmax(x))


def test_log_softmax_is_log_of_softmax_but_stays_finite():
    x = random_inputs(seed=5)
    torch.testing.assert_close(A.log_softmax(x), A.softmax(x).log())
    far = torch.tensor([0.0, -200.0])  # softmax underflows to 0, log would be -inf
    assert A.softmax(far)[1].item() == 0.0
    assert A.log_softmax(far)[1].item() == pytest.approx(-200.0)


def test_tanh_is_a_rescaled_sigmoid():
    x = random_inputs(seed=6)
    torch.testing.assert_close(A.tanh(x), 2 * A.sigmoid(2 * x) - 1)


def test_sigmoid_is_symmetric_and_saturates():
    x = random_inputs(seed=7)
    torch.testing.assert_close(A.sigmoid(-x), 1 - A.sigmoid(x))
    assert A.sigmoid(torch.tensor([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]


def test_silu_is_x_times_sigmoid():
    x = random_inputs(seed=8)
    torch.testing.assert_close(A.silu(x), x * torch.sigmoid(x))


def test_elu_saturates_at_minus_alpha():
    assert A.elu(torch.tensor([-1000.0]), alpha=2.0).item() == pytest.approx(-2.0)


# ---------------------------------------------------------------- derivatives


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    x = torch.linspace(-10, 10, 201)
    s = torch.sigmoid(x)
    torch.testing.assert_close(A.derivative(A.sigmoid, x), s * (1 - s))


def test_sigmoid_derivative_peaks_at_a_quarter_at_zero():
    x = torch.arange(-100, 101) / 10  # -10.0, -9.9, ..., 10.0, including 0 exactly
    d = A.derivative(A.sigmoid, x)
    assert d.max().item() == pytest.approx(0.25)
    assert x[d.argmax()].item() == 0.0


def test_tanh_derivative_is_one_minus_tanh_squared():
    x = torch.linspace(-10, 10, 201)
    torch.testing.assert_close(A.derivative(A.tanh, x), 1 - torch.tanh(x) ** 2)
    assert A.derivative(A.tanh, torch.tensor([0.0])).item() == pytest.approx(1.0)


def test_relu_derivative_is_the_step_and_zero_at_zero_like_torch():
    x = torch.tensor([-2.0, -1e-6, 0.0, 1e-6, 3.0])
    assert A.derivative(A.relu, x).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    torch.testing.assert_close(A.derivative(A.relu, x), A.derivative(F.relu, x))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_torch_autograd_and_is_finite_at_extremes(name):
    ours, reference = ELEMENTWISE[name]
    for x in (random_inputs(seed=9), EDGES):
        d = A.derivative(ours, x)
        assert torch.isfinite(d).all(), d
        torch.testing.assert_close(d, A.derivative(reference, x))


def test_derivative_does_not_touch_the_input():
    x = torch.tensor([1.0, 2.0])
    A.derivative(A.sigmoid, x)
    assert not x.requires_grad and x.grad is None


# ---------------------------------------------------------------- registry for the explorer


def test_registry_names_and_parametric_set():
    assert set(A.ACTIVATIONS) == {"sigmoid", "tanh", "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU"}
    assert A.PARAMETRIC == {"LeakyReLU", "PReLU", "ELU"}
    assert set(A.DEFAULT_ALPHA) == A.PARAMETRIC


@pytest.mark.parametrize(
    "name, reference",
    [
        ("sigmoid", torch.sigmoid),
        ("tanh", torch.tanh),
        ("ReLU", F.relu),
        ("LeakyReLU", lambda x: F.leaky_relu(x, 0.3)),
        ("PReLU", lambda x: F.prelu(x, torch.tensor([0.3]))),
        ("ELU", lambda x: F.elu(x, 0.3)),
        ("GELU", F.gelu),
        ("SiLU", F.silu),
    ],
)
def test_registry_passes_alpha_to_parametric_activations_only(name, reference):
    x = random_inputs(seed=10)
    torch.testing.assert_close(A.ACTIVATIONS[name](x, alpha=0.3), reference(x))


@pytest.mark.parametrize("name", sorted(A.PARAMETRIC))
def test_registry_defaults_alpha(name):
    x = random_inputs(seed=11)
    torch.testing.assert_close(A.ACTIVATIONS[name](x), A.ACTIVATIONS[name](x, alpha=A.DEFAULT_ALPHA[name]))


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda x: A.leaky_relu(x, negative_slope=math.inf), "negative_slope"),
        (lambda x: A.leaky_relu(x, negative_slope=math.nan), "negative_slope"),
        (lambda x: A.elu(x, alpha=0.0), "alpha"),
        (lambda x: A.elu(x, alpha=-1.0), "alpha"),
        (lambda x: A.elu(x, alpha=math.nan), "alpha"),
        (lambda x: A.gelu(x, approximate="erf"), "approximate"),
        (lambda x: A.prelu(x, torch.tensor([0.1, 0.2])), "weight"),
        (lambda x: A.prelu(x, torch.tensor([math.nan])), "weight"),
    ],
)
def test_bad_parameters_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call(random_inputs(seed=12))


def test_mean_feature_cosines_measures_how_examples_line_up():
    """ReLU features line up with depth (1/π after one layer, near 1 after 30); tanh with Xavier stays near 0."""
    from wd_helpers.experiments import mean_feature_cosines

    relu = mean_feature_cosines("ReLU", 30, seed=0)
    assert len(relu) == 30 and abs(relu[0] - 1 / math.pi) < 0.03 and relu[-1] > 0.95
    tanh = mean_feature_cosines("tanh", 30, init="xavier", seed=0)
    assert max(abs(c) for c in tanh) < 0.05
    # against a direct computation over all pairs
    g = torch.Generator().manual_seed(3)
    from wd_helpers.experiments import deep_mlp

    model = deep_mlp("GELU", 2, generator=g)
    h = model[1](model[0](torch.randn(256, 16, generator=g))).detach()
    u = h / h.norm(dim=1, keepdim=True)
    pairs = (u @ u.T)[~torch.eye(256, dtype=torch.bool)]
    assert abs(mean_feature_cosines("GELU", 2, seed=3)[0] - pairs.mean().item()) < 1e-5
    with pytest.raises(ValueError, match="batch_size"):
        mean_feature_cosines("ReLU", 3, batch_size=1)
