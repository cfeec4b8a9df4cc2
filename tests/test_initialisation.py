"""The initialisers of wd_helpers.init against torch.nn.init, and the per-layer signal statistics behind notebook 01b."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from wd_helpers import init
from wd_helpers.device import COURSE_DEVICE
from wd_helpers.experiments import deep_mlp, layer_gradient_norms, signal_statistics

SHAPES = [(200, 300), (64, 64), (256, 16), (1, 16), (8, 3, 3, 3), (3, 5), (1, 1)]  # the last two: < 16 values

# (ours, torch's, keyword arguments for both)
PAIRS = {
    "xavier_uniform": (init.xavier_uniform, nn.init.xavier_uniform_, {}),
    "xavier_uniform_tanh_gain": (init.xavier_uniform, nn.init.xavier_uniform_, {"gain": 5 / 3}),
    "xavier_normal": (init.xavier_normal, nn.init.xavier_normal_, {}),
    "xavier_normal_gain": (init.xavier_normal, nn.init.xavier_normal_, {"gain": 0.5}),
    "kaiming_uniform_relu": (init.kaiming_uniform, nn.init.kaiming_uniform_, {"nonlinearity": "relu"}),
    "kaiming_normal_relu": (init.kaiming_normal, nn.init.kaiming_normal_, {"nonlinearity": "relu"}),
    "kaiming_uniform_default": (init.kaiming_uniform, nn.init.kaiming_uniform_, {}),
    "kaiming_uniform_fan_out": (init.kaiming_uniform, nn.init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}),
    "kaiming_normal_leaky": (init.kaiming_normal, nn.init.kaiming_normal_, {"a": 0.2}),
    "kaiming_uniform_linear_default": (init.kaiming_uniform, nn.init.kaiming_uniform_, {"a": math.sqrt(5)}),
    "kaiming_normal_tanh": (init.kaiming_normal, nn.init.kaiming_normal_, {"nonlinearity": "tanh"}),
}


# ---------------------------------------------------------------- the same numbers as torch.nn.init


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", PAIRS)
def test_initialiser_draws_what_torch_draws_from_the_same_generator(name, shape):
    ours, theirs, kwargs = PAIRS[name]
    for seed in (0, 1, 12345):
        mine = ours(shape, generator=torch.Generator().manual_seed(seed), **kwargs)
        reference = theirs(torch.empty(shape), generator=torch.Generator().manual_seed(seed), **kwargs)
        assert mine.shape == reference.shape and mine.dtype == torch.float32
        if "uniform" in name or math.prod(shape) >= 16:
            assert torch.equal(mine, reference), (name, shape, seed)
        else:  # torch draws fewer than 16 normal values one by one in float64: equal to float32 rounding
            assert torch.allclose(mine, reference, rtol=3e-7, atol=0), (name, shape, seed)


def test_initialisers_use_the_global_generator_when_given_none():
    torch.manual_seed(7)
    mine = init.kaiming_normal((64, 32), nonlinearity="relu")
    torch.manual_seed(7)
    assert torch.equal(mine, nn.init.kaiming_normal_(torch.empty(64, 32), nonlinearity="relu"))


def test_nn_linear_default_is_kaiming_uniform_with_a_sqrt_5():
    torch.manual_seed(3)
    layer = nn.Linear(300, 200)
    torch.manual_seed(3)
    weight = init.kaiming_uniform(tuple(layer.weight.shape), a=math.sqrt(5))
    assert torch.equal(weight, layer.weight)
    assert init.kaiming_std((200, 300), a=math.sqrt(5)) * math.sqrt(3) == pytest.approx(1 / math.sqrt(300))  # U(±1/√n_in)


@pytest.mark.parametrize("init_name, nonlinearity", [("he", "relu"), ("xavier", None)])
def test_deep_mlp_weights_are_the_normal_initialisers_drawn_in_order(init_name, nonlinearity):
    model = deep_mlp("ReLU", 4, width=128, init=init_name, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    for layer in model:
        if isinstance(layer, nn.Linear):
            shape = tuple(layer.weight.shape)
            expected = (init.kaiming_normal(shape, nonlinearity=nonlinearity, generator=generator) if nonlinearity
                        else init.xavier_normal(shape, generator=generator))
            assert torch.equal(layer.weight, expected)


NONLINEARITIES = [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                  ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", math.sqrt(5)), ("leaky_relu", -1.5)]


@pytest.mark.parametrize("nonlinearity, param", NONLINEARITIES)
def test_gain_is_torchs(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == nn.init.calculate_gain(nonlinearity, param)


def test_gain_values():
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("sigmoid") == init.calculate_gain("linear") == 1.0


# ---------------------------------------------------------------- the formulas, measured


@pytest.mark.parametrize("shape", [(200, 300), (512, 256)], ids=str)
def test_std_and_bounds_follow_the_variance_argument(shape):
    fan_out, fan_in = shape[0], shape[1]
    g = torch.Generator().manual_seed(0)
    he_uniform = init.kaiming_uniform(shape, nonlinearity="relu", generator=g)
    bound = math.sqrt(6 / fan_in)
    assert he_uniform.abs().max().item() <= bound and he_uniform.abs().max().item() > 0.999 * bound
    assert he_uniform.var().item() == pytest.approx(2 / fan_in, rel=0.02)
    assert init.kaiming_normal(shape, nonlinearity="relu", generator=g).var().item() == pytest.approx(2 / fan_in, rel=0.02)
    xavier = init.xavier_uniform(shape, generator=g)
    assert xavier.abs().max().item() <= math.sqrt(6 / (fan_in + fan_out))
    assert xavier.var().item() == pytest.approx(2 / (fan_in + fan_out), rel=0.02)
    assert init.xavier_normal(shape, generator=g).var().item() == pytest.approx(2 / (fan_in + fan_out), rel=0.02)
    fan_out_mode = init.kaiming_normal(shape, mode="fan_out", nonlinearity="relu", generator=g)
    assert fan_out_mode.var().item() == pytest.approx(2 / fan_out, rel=0.02)
    assert fan_out_mode.var().item() != pytest.approx(2 / fan_in, rel=0.1)  # the modes differ for a non-square layer


def test_fans_of_a_convolution_kernel_count_the_kernel():
    assert init.fans((8, 3, 3, 3)) == (27, 72)
    assert init.fans(torch.Size([200, 300])) == (300, 200)
    assert init.fans([4, 5]) == (5, 4)


def test_initialisers_compute_on_the_cpu_whatever_the_default_device():
    torch.set_default_device("meta")
    try:
        w = init.xavier_uniform((4, 8), generator=torch.Generator().manual_seed(0))
    finally:
        torch.set_default_device(None)
    assert w.device == COURSE_DEVICE
    assert torch.equal(w, init.xavier_uniform((4, 8), generator=torch.Generator().manual_seed(0)))


BAD = [
    (lambda: init.xavier_uniform((5,)), ValueError, "shape must have at least 2 dimensions"),
    (lambda: init.xavier_uniform(5), TypeError, "shape must be a tuple"),
    (lambda: init.xavier_uniform("5, 3"), TypeError, "shape must be a tuple"),
    (lambda: init.xavier_uniform((0, 3)), ValueError, "shape[0]"),
    (lambda: init.xavier_uniform((3, -1)), ValueError, "shape[1]"),
    (lambda: init.xavier_uniform((3, 2.5)), TypeError, "shape[1]"),
    (lambda: init.xavier_uniform((True, 2)), TypeError, "shape[0]"),
    (lambda: init.xavier_uniform((3, 2), gain=0.0), ValueError, "gain"),
    (lambda: init.xavier_normal((3, 2), gain=math.nan), ValueError, "gain"),
    (lambda: init.xavier_normal((3, 2), gain="1"), TypeError, "gain"),
    (lambda: init.kaiming_normal((3, 2), mode="fan_avg"), ValueError, "mode"),
    (lambda: init.kaiming_normal((3, 2), nonlinearity="ReLU"), ValueError, "nonlinearity"),
    (lambda: init.kaiming_uniform((3, 2), a=math.inf), ValueError, "a must be finite"),
    (lambda: init.kaiming_uniform((3, 2), generator=0), TypeError, "generator"),
    (lambda: init.calculate_gain("softmax"), ValueError, "nonlinearity"),
    (lambda: init.calculate_gain("relu", 0.2), ValueError, "param"),
    (lambda: init.calculate_gain("leaky_relu", True), TypeError, "param"),
]


@pytest.mark.parametrize("call, error, words", BAD, ids=[w for _, _, w in BAD])
def test_bad_input_is_refused_naming_the_argument(call, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        call()


def test_numpy_and_tensor_sizes_are_accepted():
    shape = (np.int64(64), torch.tensor(32))
    assert init.kaiming_normal(shape, generator=torch.Generator()).shape == (64, 32)


# ---------------------------------------------------------------- signal_statistics


def test_signal_statistics_has_one_value_per_hidden_layer():
    stats = signal_statistics("tanh", 7, init="xavier", width=32, batch_size=16)
    assert set(stats) == {"activation_std", "gradient_std", "saturated"}
    assert all(len(values) == 7 for values in stats.values())


def test_signal_statistics_backward_signal_is_layer_gradient_norms_pre_activations():
    # the same network, batch and loss: ‖∂L/∂z_l‖ = √(N·(std² · (N − 1)/N + mean²)), about std·√N
    stats = signal_statistics("ReLU", 6, width=64, batch_size=128, seed=3)
    norms = layer_gradient_norms("ReLU", 6, width=64, batch_size=128, seed=3, wrt="pre-activations")
    for std, norm in zip(stats["gradient_std"], norms):
        assert std * math.sqrt(128 * 64) == pytest.approx(norm, rel=0.05)


def test_he_keeps_relu_activations_and_xavier_halves_their_variance_per_layer():
    he = signal_statistics("ReLU", 20, init="he", width=256, batch_size=64)["activation_std"]
    xavier = signal_statistics("ReLU", 20, init="xavier", width=256, batch_size=64)["activation_std"]
    assert 0.4 < he[-1] / he[0] < 2.5
    per_layer = (xavier[-1] / xavier[1]) ** (1 / 18)
    assert abs(per_layer - math.sqrt(0.5)) < 0.04  # not 1, not √2, not ½


def test_scale_multiplies_the_per_layer_factor():
    half = signal_statistics("ReLU", 12, init="he", scale=0.5, width=256, batch_size=64)["activation_std"]
    assert abs((half[-1] / half[1]) ** (1 / 10) - 0.5) < 0.04
    double = signal_statistics("ReLU", 12, init="he", scale=2.0, width=256, batch_size=64)["gradient_std"]
    assert abs((double[1] / double[-1]) ** (1 / 10) - 2.0) < 0.15  # backward: the same factor, towards the input


def test_saturated_share_counts_flat_units():
    relu = signal_statistics("ReLU", 5, width=128)["saturated"]
    assert all(0.4 < share < 0.6 for share in relu)  # ReLU′ = 0 on the inactive half
    small = signal_statistics("tanh", 5, init="xavier", width=128)["saturated"]
    large = signal_statistics("tanh", 5, init="xavier", scale=3.0, width=128)["saturated"]
    assert max(small) < 0.01 < 0.2 < min(large[1:])


def test_signal_statistics_restores_the_thread_count():
    before = torch.get_num_threads()
    signal_statistics("ReLU", 3, width=8, batch_size=4)
    assert torch.get_num_threads() == before


def test_signal_statistics_is_the_same_on_every_call():
    assert signal_statistics("tanh", 4, width=16, seed=5) == signal_statistics("tanh", 4, width=16, seed=5)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(scale=0.0), ValueError, "scale"),
    (dict(scale=-1.0), ValueError, "scale"),
    (dict(scale=math.nan), ValueError, "scale"),
    (dict(scale="2"), TypeError, "scale"),
    (dict(batch_size=1), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(init="kaiming"), ValueError, "init"),
    (dict(depth=0), ValueError, "depth"),
    (dict(width=0), ValueError, "width"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(activation="softmax"), ValueError, "activation"),
], ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_signal_statistics_refuses_bad_input(kwargs, error, words):
    arguments = dict(activation="ReLU", depth=3, width=8, batch_size=4) | kwargs
    with pytest.raises(error, match=words):
        signal_statistics(**arguments)
