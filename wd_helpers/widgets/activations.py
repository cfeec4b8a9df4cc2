"""Explorers for the activations lesson: one activation and its derivative; gradient norms by depth."""

import ipywidgets as widgets
import torch

from .. import validate
from ..activations import ACTIVATIONS, PARAMETRIC, derivative
from ..experiments import layer_gradient_norms
from ..plots import log_axis
from ..device import on_course_device
from ._controls import Dropdown, FloatSlider, IntSlider, check_float, check_int
from ._live import Explorer

STYLE, LAYOUT = {"description_width": "initial"}, widgets.Layout(width="360px")
GRADIENT_RANGE = (1e-18, 1e2)  # 30 sigmoid layers reach 5e-16: every point stays on the plot
MAX_DEPTH = 30
X_RANGE_SLIDER = {"min": 0.5, "max": 20.0, "step": 0.5}
ALPHA_SLIDER = {"min": 0.01, "max": 2.0, "step": 0.01}
DEPTH_SLIDER = {"min": 1, "max": MAX_DEPTH}
# PReLU is left out of the depth explorer: its α is learned, and at initialisation it is only a LeakyReLU
DEPTH_ACTIVATIONS = [name for name in ACTIVATIONS if name != "PReLU"]


def _signed(value: float) -> str:
    """A number to 3 significant digits as the course prints it: no −0, and a true minus sign (−, not -)."""
    return f"{value + 0.0:.3g}".replace("-", "−")


def _peak_text(x: torch.Tensor, dy: torch.Tensor) -> str:
    """Where |f′| is largest: "0.25 at x = 0" for one point, "1 for x > 0" when a whole side attains it.

    argmax alone would report the first grid point of a plateau (ReLU: "at x = 0.03", moving with the range).
    """
    size = dy.abs()
    top = size.max().item()
    peak = int(size.argmax())
    where = x[size >= top * (1 - 1e-6)]
    value = _signed(dy[peak].item())
    if len(where) <= 1:  # one point (or none: a nan derivative)
        return f"{value} at x = {_signed(x[peak].item())}"
    if len(where) == len(x):
        return f"{value} for every x"
    low, high = where.min().item(), where.max().item()
    if low > 0 or (low == 0 and high > 0):
        return f"{value} for x {'>' if low > 0 else '≥'} 0"
    if high < 0 or (high == 0 and low < 0):
        return f"{value} for x {'<' if high < 0 else '≤'} 0"
    return f"{value} at x = {_signed(x[peak].item())}"  # a rounded top around one point: that point


class ActivationExplorer(Explorer):
    """Pick an activation, drag the input range (and α): f(x) and f′(x) (by autograd) redraw."""

    @on_course_device
    def __init__(self, *, activation="sigmoid", x_range=6.0, alpha=0.1):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        activation = validate.choice("activation", activation, ACTIVATIONS)
        x_range, alpha = check_float("x_range", x_range, X_RANGE_SLIDER), check_float("alpha", alpha, ALPHA_SLIDER)
        controls = {
            "activation": Dropdown(name="activation", options=list(ACTIVATIONS), value=activation,
                                   description="activation"),
            "x_range": FloatSlider(name="x_range", value=x_range, **X_RANGE_SLIDER, description="x from −r to r, r",
                                   style=STYLE, layout=LAYOUT),
            "alpha": FloatSlider(name="alpha", value=alpha, **ALPHA_SLIDER, description="α (slope / weight / ELU α)",
                                 style=STYLE, layout=LAYOUT),
        }
        super().__init__(controls, figsize=(9, 3.2))
        self.ax_f, self.ax_df = self.figure.subplots(1, 2)
        (self.f_line,) = self.ax_f.plot([], [], color="tab:blue")
        (self.df_line,) = self.ax_df.plot([], [], color="tab:orange")
        for ax, label in ((self.ax_f, "f(x)"), (self.ax_df, "f′(x)")):
            ax.set(xlabel="x", ylabel=label)
            ax.axhline(0, color="#cccccc", lw=0.8), ax.axvline(0, color="#cccccc", lw=0.8)
            ax.grid(True, alpha=0.3)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.x = self.y = self.dy = None
        self.widget = widgets.VBox([widgets.HBox([controls["activation"], controls["x_range"]]), controls["alpha"],
                                    self.status, self.live.view])
        self._on_change()

    def compute(self, key):
        name, x_range, alpha = key
        fn = ACTIVATIONS[name]
        x = torch.arange(-200, 201) * x_range / 200  # exactly 0 in the middle (linspace gives ±1e-7 there)
        with torch.no_grad():
            y = fn(x, alpha)
        return x, y, derivative(lambda t: fn(t, alpha), x)

    def draw(self, key, result):
        name, x_range, alpha = key
        self.x, self.y, self.dy = result
        self.controls["alpha"].disabled = name not in PARAMETRIC
        self.f_line.set_data(self.x, self.y)
        self.df_line.set_data(self.x, self.dy)
        for ax in (self.ax_f, self.ax_df):
            ax.set_xlim(-x_range, x_range)
            ax.relim()
            ax.autoscale_view(scalex=False)
        text = (f"{name}{f' (α = {_signed(alpha)})' if name in PARAMETRIC else ''}: largest |f′| = "
                f"{_peak_text(self.x, self.dy)}")
        self.title.set_text(text)
        self.status.value = text
        self.live.invalidate()  # the y-limits follow the function: a full redraw


class GradientDepthExplorer(Explorer):
    """Depth slider and activation dropdown: the gradient norm of every layer of a deep MLP (He init) redraws."""

    @on_course_device
    def __init__(self, *, activation="sigmoid", depth=10, seed=0):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        activation = validate.choice("activation", activation, DEPTH_ACTIVATIONS)
        depth = check_int("depth", depth, DEPTH_SLIDER)
        self.seed = validate.seed(seed)
        controls = {
            "activation": Dropdown(name="activation", options=DEPTH_ACTIVATIONS, value=activation,
                                   description="activation"),
            "depth": IntSlider(name="depth", value=depth, **DEPTH_SLIDER, description="hidden layers",
                               style=STYLE, layout=LAYOUT),
        }
        super().__init__(controls, figsize=(7, 3.2))
        self.ax = self.figure.subplots()
        (self.line,) = self.ax.plot([], [], "o-", ms=4, color="tab:purple")
        self.ax.set(yscale="log", xlabel="layer (1 = next to the input)", ylabel="‖∂loss/∂W‖",
                    xlim=(0.5, MAX_DEPTH + 0.5), ylim=GRADIENT_RANGE)
        log_axis(self.ax.yaxis)
        self.ax.grid(True, alpha=0.3)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([self.line, self.title])
        self.norms = None
        self.widget = widgets.VBox([widgets.HBox([controls["activation"], controls["depth"]]), self.status, self.live.view])
        self._on_change()

    def compute(self, key):
        activation, depth = key
        return layer_gradient_norms(activation, depth, seed=self.seed)

    def draw(self, key, norms):
        activation, depth = key
        self.norms = norms
        self.line.set_data(range(1, depth + 1), norms)
        ratio = norms[0] / norms[-1] if norms[-1] > 0 else float("nan")
        text = f"{activation}, {depth} layer{'s' if depth != 1 else ''}: first layer's gradient is {ratio:.2g}× the last one's"
        self.title.set_text(text)
        self.status.value = text


@on_course_device
def activation_explorer(**options) -> ActivationExplorer:
    """Build the activation explorer; display it by leaving it as a cell's last expression."""
    return ActivationExplorer(**options)


@on_course_device
def gradient_depth_explorer(**options) -> GradientDepthExplorer:
    """Build the vanishing-gradient explorer (depth and activation)."""
    return GradientDepthExplorer(**options)
