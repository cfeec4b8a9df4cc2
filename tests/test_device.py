"""The package computes on the CPU, chosen explicitly: a learner who changed PyTorch's default device
(``torch.set_default_device("cuda")``) still gets working explorers and the same numbers.

No GPU is needed to check it: the "meta" device stands in for any other default device (tensors
created there have no values, so anything the package created there would fail or differ).
"""

import matplotlib.pyplot as plt
import pytest
import torch

from wd_helpers.checks import check_largest_stable_lr, check_sigmoid_derivative
from wd_helpers.classify import dropout_mlp, train_classifier
from wd_helpers.data import load_digits_data, synthetic_regression
from wd_helpers.device import COURSE_DEVICE, on_course_device
from wd_helpers.experiments import fit_lines, layer_gradient_norms
from wd_helpers.optim import Adam, loss_along, trace
from wd_helpers.train import sweep_weight_decay, train_with_optimizer
from wd_helpers.widgets import (
    activation_explorer, coin_explorer, dropout_explorer, gradient_depth_explorer, optimizer_explorer,
    momentum_explorer, outlier_explorer, schedule_explorer, weight_decay_explorer,
)


@pytest.fixture
def other_default_device():
    torch.set_default_device("meta")
    try:
        assert torch.empty(0).device.type == "meta"
        yield
    finally:
        torch.set_default_device(None)
    assert torch.empty(0).device == COURSE_DEVICE


def everything():
    """What the notebooks call that creates tensors, reduced to plain numbers (inputs given on the CPU)."""
    bowl = lambda x: 0.1 * x[0] ** 2 + 2 * x[1] ** 2
    digits = load_digits_data(n_train=50, seed=1)
    regression = synthetic_regression(generator=torch.Generator().manual_seed(2), n_train=10, num_inputs=5)
    return {
        "sweep": [h.w_norm for h in sweep_weight_decay([0.0, 3.0], num_epochs=5)],
        "autograd": train_with_optimizer(lambda m: torch.optim.SGD(m.parameters(), lr=0.003), num_epochs=2).w_norm,
        "regression": float(regression.X_train.sum()),
        "digits": float(digits.X_train.sum()),
        "dropout": train_classifier(dropout_mlp(digits, 0.2, 0.5, seed=0), digits, num_epochs=2).test_loss,
        "trace": loss_along(bowl, trace(lambda p: Adam(p, lr=0.4), bowl, [-5.0, -2.0], 10)).tolist(),
        "gradients": layer_gradient_norms("ReLU", 3, batch_size=32),
        "lines": fit_lines(*torch.linspace(0, 1, 16, device="cpu").view(2, 8), steps=20),
    }


def test_training_gives_the_cpu_numbers_whatever_the_default_device(other_default_device):
    on_meta = everything()
    torch.set_default_device(None)
    assert on_meta == everything()


def test_explorers_work_whatever_the_default_device(other_default_device, tmp_path):
    explorers = {
        weight_decay_explorer(num_epochs=10): ("lambd", 3.0),
        optimizer_explorer(steps=10): ("lr", 0.6),
        activation_explorer(): ("x_range", 3.0),
        gradient_depth_explorer(): ("depth", 4),
        outlier_explorer(): ("outlier", 20.0),
        coin_explorer(): ("heads", 8),
        dropout_explorer(num_epochs=2, root=tmp_path): ("dropout1", 0.5),
        schedule_explorer(): ("batch_size", 4),
        momentum_explorer(): ("beta", 0.9),
    }
    for explorer, (name, value) in explorers.items():
        explorer.sliders[name].value = value
        assert explorer.last_error is None, (type(explorer).__name__, explorer.last_error)
        assert explorer.redraw_count == 2
        plt.close(explorer.figure)


def test_checkers_work_whatever_the_default_device(other_default_device, capsys):
    assert check_sigmoid_derivative(lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    assert check_largest_stable_lr(0.5, curvature=4.0) and not check_largest_stable_lr(0.25, curvature=4.0)


def test_the_usual_case_adds_no_device_context():
    modes = []
    probe = on_course_device(lambda: modes.append(torch.overrides._get_current_function_mode_stack()))
    probe()
    assert modes == [[]]  # default device already the CPU: called directly, torch calls stay fast
