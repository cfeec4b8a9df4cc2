"""The optimizer explorer: pick an optimizer and a function, drag lr, β and steps; path and f per step redraw."""

import ipywidgets as widgets
import torch

from .. import optim, validate
from ..plots import LossPerStep, TrajectoryPlot
from ..device import on_course_device
from ._controls import Dropdown, FloatSlider, IntSlider, check_float, check_int
from ._live import Explorer, choice_slider, log_choices


def _quadratic(a1: float, a2: float):
    """f(x) = a1·x₁² + a2·x₂² (x stacked as (2, ...)) and its gradient, written out."""
    return (lambda x: a1 * x[0] ** 2 + a2 * x[1] ** 2), (lambda x: torch.stack([2 * a1 * x[0], 2 * a2 * x[1]]))


# The explorer's test functions: name -> (f, ∇f, start, window)
WINDOW = {"xlim": (-6.0, 6.0), "ylim": (-3.0, 3.0)}
FUNCTIONS = {
    "0.1·x₁² + 2·x₂² (ill-conditioned)": (*_quadratic(0.1, 2.0), (-5.0, -2.0), WINDOW),
    "x₁² + 2·x₂²": (*_quadratic(1.0, 2.0), (-5.0, -2.0), WINDOW),
}
# optimizer name -> (factory(params, lr, beta, beta2), which of beta / beta2 it uses)
OPTIMIZERS = {
    "SGD": (lambda p, lr, b1, b2: optim.SGD(p, lr=lr), ()),
    "Momentum": (lambda p, lr, b1, b2: optim.Momentum(p, lr=lr, momentum=b1), ("beta",)),
    "Nesterov": (lambda p, lr, b1, b2: optim.Nesterov(p, lr=lr, momentum=b1), ("beta",)),
    "AdaGrad": (lambda p, lr, b1, b2: optim.AdaGrad(p, lr=lr), ()),
    "RMSProp": (lambda p, lr, b1, b2: optim.RMSProp(p, lr=lr, alpha=b2), ("beta2",)),
    "Adadelta": (lambda p, lr, b1, b2: optim.Adadelta(p, lr=lr, rho=b2), ("beta2",)),
    "Adam": (lambda p, lr, b1, b2: optim.Adam(p, lr=lr, betas=(b1, b2)), ("beta", "beta2")),
    "AMSGrad": (lambda p, lr, b1, b2: optim.Adam(p, lr=lr, betas=(b1, b2), amsgrad=True), ("beta", "beta2")),
}
# the name each optimizer gives the shared sliders, in the title
SLIDER_SYMBOLS = {"RMSProp": {"beta2": "α"}, "Adadelta": {"beta2": "ρ"}}
STEP_LOSS_RANGE = (1e-8, 1e4)
LR_CHOICES = log_choices(1e-3, 10.0)  # 0.001 … 10, eight round values per decade (0.4, 0.5, 0.6 among them)
BETA_SLIDER = {"min": 0.0, "max": 0.99, "step": 0.01}
BETA2_SLIDER = {"min": 0.5, "max": 0.999, "step": 0.001}
STEPS_SLIDER = {"min": 1, "max": 200}


class OptimizerExplorer(Explorer):
    """Pick an optimizer and a function, drag lr / β / steps: the path and f per step redraw.

    The β sliders are shared (momentum β and Adam's β₁; RMSProp's α, Adadelta's ρ and Adam's β₂), so they start at the
    notebook's momentum and RMSProp settings, β = 0.5 and α = 0.9, not at torch's Adam defaults
    (β₁, β₂) = (0.9, 0.999); the notebook says so and sets them to torch's for Adam.
    """

    @on_course_device  # the contours are computed here: on the CPU whatever torch's default device
    def __init__(self, *, optimizer="SGD", lr=0.4, beta=0.5, beta2=0.9, steps=20, function=None):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        function = next(iter(FUNCTIONS)) if function is None else validate.choice("function", function, FUNCTIONS)
        optimizer = validate.choice("optimizer", optimizer, OPTIMIZERS)
        check_float("lr", lr, {"min": LR_CHOICES[0], "max": LR_CHOICES[-1]})  # off the grid: added to it
        beta, beta2 = check_float("beta", beta, BETA_SLIDER), check_float("beta2", beta2, BETA2_SLIDER)
        steps = check_int("steps", steps, STEPS_SLIDER)
        style, layout = {"description_width": "initial"}, widgets.Layout(width="340px")
        controls = {
            "function": Dropdown(name="function", options=list(FUNCTIONS), value=function, description="f(x) =",
                                 style=style),
            "optimizer": Dropdown(name="optimizer", options=list(OPTIMIZERS), value=optimizer, description="optimizer",
                                  style=style),
            "lr": choice_slider("lr", lr, LR_CHOICES, description="learning rate η", style=style, layout=layout),
            "beta": FloatSlider(name="beta", value=beta, **BETA_SLIDER,
                                description="momentum β / Adam β₁", style=style, layout=layout),
            "beta2": FloatSlider(name="beta2", value=beta2, **BETA2_SLIDER, readout_format=".3f",
                                 description="RMSProp α / Adadelta ρ / Adam β₂", style=style, layout=layout),
            "steps": IntSlider(name="steps", value=steps, **STEPS_SLIDER, description="steps", style=style,
                               layout=layout),
        }
        super().__init__(controls, figsize=(9, 3.6))
        f, _, _, window = FUNCTIONS[function]
        ax_path, ax_loss = self.figure.subplots(1, 2, width_ratios=(3, 2))
        self.path_plot = TrajectoryPlot(f, ax_path, **window)
        self.loss_plot = LossPerStep(ax_loss, steps=steps, ylim=STEP_LOSS_RANGE)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([*self.path_plot.artists, *self.loss_plot.artists, self.title])
        self.points = self.losses = self.outcome = None
        self._drawn = (function, steps)  # what the background shows
        self.widget = widgets.VBox([
            widgets.HBox([controls["function"], controls["optimizer"]]),
            widgets.HBox([controls["lr"], controls["steps"]]),
            widgets.HBox([controls["beta"], controls["beta2"]]),
            self.status, self.live.view,
        ])
        self._on_change()

    def compute(self, key):
        function, name, lr, beta, beta2, steps = key
        f, grad, x0, _ = FUNCTIONS[function]
        factory, _ = OPTIMIZERS[name]
        points = optim.trace(lambda params: factory(params, lr, beta, beta2), f, torch.tensor(x0), steps, grad=grad)
        return points, f(points.T)  # f takes stacked coordinates: every step's loss in one call

    def draw(self, key, result):
        function, name, lr, beta, beta2, steps = key
        self.points, self.losses = result
        used = OPTIMIZERS[name][1]
        self.controls["beta"].disabled = "beta" not in used
        self.controls["beta2"].disabled = "beta2" not in used
        if (function, steps) != self._drawn:  # new contours or a new step axis: redraw the background
            f, _, _, window = FUNCTIONS[function]
            self.path_plot.set_function(f, **window)
            self.loss_plot.ax.set_xlim(0, steps)
            self._drawn = (function, steps)
            self.live.invalidate()
        self.path_plot.update(self.points)
        self.loss_plot.update(self.losses)
        symbols = {"beta": "β", "beta2": "β₂", **SLIDER_SYMBOLS.get(name, {})}
        settings = ", ".join([f"η = {lr:g}"] + [f"{symbols[u]} = {v:g}"
                                                   for u, v in (("beta", beta), ("beta2", beta2)) if u in used])
        diverged = optim.first_nonfinite(self.points)
        if diverged is not None:
            outcome = f"diverged at step {diverged}"
        else:
            end = self.points[-1].tolist()
            outcome = f"after {steps} steps x = ({end[0]:.4g}, {end[1]:.4g}), f = {float(self.losses[-1]):.3g}"
        self.title.set_text(f"{name} ({settings}): {outcome}")
        self.outcome = f"{name}: {outcome}"  # plain text, for print(); the status line holds it as HTML
        self.show_outcome(self.title, self.outcome, failed=diverged is not None)


@on_course_device
def optimizer_explorer(**options) -> OptimizerExplorer:
    """Build the optimizer explorer; display it by leaving it as a cell's last expression."""
    return OptimizerExplorer(**options)
