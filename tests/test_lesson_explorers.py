"""The activation and loss explorers, and the computations behind them."""

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F

from wd_helpers.experiments import fit_lines, layer_gradient_norms
from wd_helpers.widgets import activations as activation_widgets
from wd_helpers.widgets import activation_explorer, coin_explorer, gradient_depth_explorer, outlier_explorer
from wd_helpers.widgets.losses import line_data


def test_sigmoid_gradients_vanish_and_relu_gradients_do_not():
    sigmoid, relu = layer_gradient_norms("sigmoid", 20), layer_gradient_norms("ReLU", 20)
    assert sigmoid[0] / sigmoid[-1] < 1e-6
    assert 1e-2 < relu[0] / relu[-1] < 1e2


def test_layer_gradient_norms_refuse_bad_settings():
    with pytest.raises(ValueError, match="activation"):
        layer_gradient_norms("softplus", 3)
    with pytest.raises(ValueError, match="depth"):
        layer_gradient_norms("ReLU", 0)
    with pytest.raises(ValueError, match="init"):
        layer_gradient_norms("ReLU", 3, init="glorot")
    with pytest.raises(ValueError, match="wrt"):
        layer_gradient_norms("ReLU", 3, wrt="inputs")


def test_each_activation_keeps_its_gradient_with_the_init_made_for_it():
    """What backprop multiplies per layer (∂loss/∂z_l), first layer / last: Xavier suits tanh, He suits ReLU."""
    def ratio(activation, init):
        norms = layer_gradient_norms(activation, 20, init=init, wrt="pre-activations")
        return norms[0] / norms[-1]

    assert 0.1 < ratio("tanh", "xavier") < 10 and 0.1 < ratio("ReLU", "he") < 10
    assert ratio("ReLU", "xavier") < 1e-2  # Xavier's variance is half what ReLU needs: √2 lost per layer
    assert ratio("tanh", "pytorch") < 1e-4 and ratio("ReLU", "pytorch") < 1e-4  # nn.Linear's default: too small
    assert max(ratio("sigmoid", init) for init in ("xavier", "he", "pytorch")) < 1e-9  # σ′ ≤ ¼ whatever the init
    assert layer_gradient_norms("ReLU", 5) == layer_gradient_norms("ReLU", 5, wrt="weights")  # the default


def test_mse_follows_an_outlier_and_l1_does_not():
    x, y = line_data(0)
    y[-1] += 50
    fits = fit_lines(x, y)
    assert abs(fits["L1"][0] - 2) < 0.3 and abs(fits["Huber"][0] - 2) < 0.5
    assert abs(fits["MSE"][0] - 2) > 1.0
    with pytest.raises(ValueError, match="same shape"):
        fit_lines(x, y[:-1])


def test_the_mse_line_is_the_least_squares_line():
    x, y = line_data(0)
    y[-1] += 50
    exact = torch.linalg.lstsq(torch.stack([x, torch.ones_like(x)], dim=1), y[:, None]).solution[:, 0]
    assert fits_close(fit_lines(x, y, steps=5)["MSE"], exact.tolist())  # exact whatever the Adam steps
    threads = torch.get_num_threads()
    fit_lines(x, y, steps=5)
    assert torch.get_num_threads() == threads  # the learner's thread setting is restored


def fits_close(fit, exact):
    return all(abs(a - b) < 1e-3 for a, b in zip(fit, exact))


def test_outlier_explorer_reports_each_slope_against_its_own_clean_fit():
    explorer = outlier_explorer()
    explorer.sliders["outlier"].value = 50.0
    shift = {name: a - explorer.clean_fits[name][0] for name, (a, _) in explorer.fits.items()}
    assert shift["MSE"] > 1 and max(abs(shift["L1"]), abs(shift["Huber"])) < 0.1
    assert f"MSE {explorer.fits['MSE'][0]:.2f} ({shift['MSE']:+.2f})" in explorer.status.value


def test_activation_explorer_draws_the_latest_function():
    explorer = activation_explorer(activation="sigmoid")
    figures = plt.get_fignums()
    explorer.controls["activation"].value = "LeakyReLU"
    explorer.sliders["alpha"].value = 0.3
    explorer.sliders["x_range"].value = 10.0
    assert torch.allclose(explorer.y, F.leaky_relu(explorer.x, 0.3))
    assert list(explorer.f_line.get_ydata()) == explorer.y.tolist()
    assert explorer.ax_f.get_xlim() == (-10.0, 10.0)
    assert torch.allclose(explorer.dy[explorer.x < 0], torch.tensor(0.3))
    explorer.controls["activation"].value = "GELU"
    assert explorer.controls["alpha"].disabled
    assert plt.get_fignums() == figures and explorer.last_error is None


def test_gradient_depth_explorer_redraws_one_point_per_layer():
    explorer = gradient_depth_explorer(activation="sigmoid", depth=5)
    explorer.sliders["depth"].value = 25
    assert len(explorer.line.get_xdata()) == 25 == len(explorer.norms)
    assert "25 layers" in explorer.title.get_text()
    explorer.controls["activation"].value = "ReLU"
    assert explorer.norms == layer_gradient_norms("ReLU", 25)


def test_activation_explorer_status_prints_clean_numbers():
    """The grid holds x = 0 exactly (no 1.34e-07), negatives print with a true minus sign, never −0."""
    explorer = activation_explorer(activation="sigmoid", x_range=6.0)
    assert explorer.status.value == "sigmoid: largest |f′| = 0.25 at x = 0"
    for activation, x_range in (("tanh", 20.0), ("GELU", 6.0)):
        explorer.controls["activation"].value = activation
        explorer.sliders["x_range"].value = x_range
        assert "e-0" not in explorer.status.value and "-" not in explorer.status.value, explorer.status.value
    assert explorer.status.value.endswith("at x = 1.41")  # GELU′ peaks at x ≈ 1.41
    assert activation_widgets._signed(-0.03) == "−0.03" and activation_widgets._signed(-0.0) == "0"


def test_gradient_depth_explorer_says_one_layer_and_keeps_every_point_on_the_plot():
    explorer = gradient_depth_explorer(activation="sigmoid", depth=1)
    assert explorer.status.value.startswith("sigmoid, 1 layer:")
    explorer.sliders["depth"].value = 30
    assert explorer.status.value.startswith("sigmoid, 30 layers:")
    assert explorer.ax.get_ylim()[0] <= min(explorer.norms)  # 30 sigmoid layers reach 5e-16


def test_outlier_explorer_moves_the_point_and_the_lines():
    explorer = outlier_explorer()
    explorer.sliders["outlier"].value = 40.0
    y_last = explorer.outlier_point.get_ydata()[0]
    assert y_last == pytest.approx(float(explorer.y_clean[-1]) + 40.0)
    a, b = explorer.fits["MSE"]
    assert list(explorer.lines["MSE"].get_ydata()) == pytest.approx([a * -0.5 + b, a * 10.5 + b])


def test_coin_explorer_keeps_heads_within_flips():
    explorer = coin_explorer(heads=7, flips=10)
    assert abs(explorer.theta[explorer.nll.argmin()].item() - 0.7) < 1e-3
    explorer.sliders["flips"].value = 4
    assert explorer.sliders["heads"].value == 4 and explorer.last_error is None
    assert explorer.theta[explorer.nll.argmin()].item() > 0.99  # 4 heads in 4 flips
    with pytest.raises(ValueError, match="heads"):
        coin_explorer(heads=11, flips=10)


def test_full_redraw_lays_out_again_when_tick_labels_grow():
    # GELU's first layout leaves room for "0"; tanh's "−1.0" is wider and pushed "f(x)" off the figure
    explorer = activation_explorer(activation="GELU")
    renderer, figure_box = explorer.live.canvas.get_renderer(), explorer.figure.bbox
    for activation in ("tanh", "sigmoid", "ReLU"):
        explorer.controls["activation"].value = activation
        for ax in explorer.figure.axes:
            box = ax.get_tightbbox(renderer)
            assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1, (activation, box)
            assert figure_box.y0 <= box.y0 and box.y1 <= figure_box.y1, (activation, box)


def test_activation_explorer_names_a_plateau_not_its_first_point():
    """ReLU's |f′| = 1 on all of x > 0: argmax alone said "at x = 0.03" and moved with the range."""
    explorer = activation_explorer(activation="ReLU")
    for x_range in (0.5, 6.0, 20.0):
        explorer.sliders["x_range"].value = x_range
        assert explorer.status.value == "ReLU: largest |f′| = 1 for x > 0", explorer.status.value
    explorer.controls["activation"].value = "PReLU"
    explorer.sliders["alpha"].value = 2.0
    assert explorer.status.value == "PReLU (α = 2): largest |f′| = 2 for x ≤ 0"
    explorer.sliders["alpha"].value = 1.0
    assert explorer.status.value.endswith("= 1 for every x")
    explorer.controls["activation"].value = "sigmoid"
    explorer.sliders["x_range"].value = 0.5  # a flat top 3.9e-7 below 0.25 at x = ±0.0025: still one point
    assert explorer.status.value == "sigmoid: largest |f′| = 0.25 at x = 0"


def test_gradient_depth_explorer_leaves_out_prelu():
    """PReLU at initialisation is a LeakyReLU (its α is learned): the depth explorer does not offer it."""
    explorer = gradient_depth_explorer(activation="ReLU", depth=2)
    assert "PReLU" not in explorer.controls["activation"].options
    assert "LeakyReLU" in explorer.controls["activation"].options
    with pytest.raises(ValueError, match="activation"):
        gradient_depth_explorer(activation="PReLU")


def best_l1_line_through_two_points(x, y):
    """Brute force: the L1 line fit passes through two data points, so try every pair."""
    best = None
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            a = (y[j] - y[i]) / (x[j] - x[i])
            b = y[i] - a * x[i]
            total = (a * x + b - y).abs().sum().item()
            if best is None or total < best[0]:
                best = (total, a.item(), b.item())
    return best[1:]


@pytest.mark.parametrize("outlier", [0.0, 50.0, -40.0])
def test_the_l1_line_is_the_exact_l1_line(outlier):
    x, y = line_data(0)
    y[-1] += outlier
    assert fits_close(fit_lines(x, y)["L1"], best_l1_line_through_two_points(x.double(), y.double()))


def test_explorer_statuses_print_no_negative_zero_and_name_the_grid_edge():
    from wd_helpers.widgets.losses import _count, _hundredths

    assert f"{_hundredths(-0.004):+.2f}" == "+0.00" and f"{_hundredths(-0.006):+.2f}" == "-0.01"
    explorer = outlier_explorer(outlier=-40.0)
    assert "-0.00" not in explorer.status.value, explorer.status.value
    assert _count(1, "head") == "1 head" and _count(0, "head") == "0 heads"
    coin = coin_explorer(heads=0, flips=10)
    assert coin.status.value.startswith("0 heads in 10 flips") and coin.status.value.endswith("the MLE is θ = 0")
    coin.sliders["flips"].value = 1
    coin.sliders["heads"].value = 1
    assert coin.status.value.startswith("1 head in 1 flip:") and coin.status.value.endswith("the MLE is θ = 1")
    coin.sliders["flips"].value = 10
    coin.sliders["heads"].value = 7
    assert "edge" not in coin.status.value
