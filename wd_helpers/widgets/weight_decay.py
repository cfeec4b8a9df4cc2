"""The weight-decay explorer: λ and lr sliders, L2/L1, bias decay; loss curves and ‖w‖ per epoch."""

import ipywidgets as widgets

from .. import validate
from ..plots import LossCurves, NormCurve, describe
from ..train import MAX_EPOCHS, sweep_weight_decay
from ..device import on_course_device
from ._controls import Checkbox, SelectionSlider, ToggleButtons, check_choice, check_float
from ._live import Explorer, choice_slider, log_choices

# λ: exactly 0, then 1-2-3-5 steps per decade from 0.001 to 100 (log-spaced, with the lesson's 3)
LAMBDA_CHOICES = (0.0,) + tuple(
    round(m * 10.0**e, 10) for e in range(-3, 2) for m in (1, 2, 3, 5)
) + (100.0,)
LOSS_RANGE = (1e-6, 1e6)  # below: "fits the training set exactly"; above: blowing up
NORM_RANGE = (1e-3, 1e3)
LR_CHOICES = log_choices(1e-4, 0.1)  # 0.0001, 0.00015, 0.0002, ..., 0.003 (the lesson's), ..., 0.08, 0.1
PENALTIES = {"l2": "L2: λ/2‖w‖²", "l1": "L1: λ‖w‖₁"}


class WeightDecayExplorer(Explorer):
    """λ and lr sliders, L2/L1 and bias-decay choices; loss curves and ‖w‖ redraw on every move."""

    @on_course_device
    def __init__(self, *, lambd=0.0, lr=0.003, penalty="l2", decay_bias=False, num_epochs=100, seed=0):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        lambd = check_choice("lambd", lambd, LAMBDA_CHOICES)
        check_float("lr", lr, {"min": LR_CHOICES[0], "max": LR_CHOICES[-1]})  # off the grid: added to it
        penalty = validate.choice("penalty", penalty, PENALTIES)
        decay_bias = validate.flag("decay_bias", decay_bias)
        self.num_epochs = validate.integer("num_epochs", num_epochs, low=1, high=MAX_EPOCHS)
        self.seed = validate.seed(seed)
        style = {"description_width": "initial"}
        layout = widgets.Layout(width="420px")
        controls = {
            "lambd": SelectionSlider(
                name="lambd", options=[(f"{v:g}", v) for v in LAMBDA_CHOICES], value=lambd,
                description="weight decay λ", style=style, layout=layout,
            ),
            "lr": choice_slider("lr", lr, LR_CHOICES, description="learning rate", style=style, layout=layout),
            "penalty": ToggleButtons(
                name="penalty", options=[(label, key) for key, label in PENALTIES.items()], value=penalty,
                description="penalty", style=style,
            ),
            "decay_bias": Checkbox(name="decay_bias", value=decay_bias, description="decay the bias too"),
        }
        super().__init__(controls, figsize=(9, 3.4))
        ax_loss, ax_norm = self.figure.subplots(1, 2, width_ratios=(3, 2))
        # fixed axes: a slider move moves the curves, not the scale under them
        self.loss_plot = LossCurves(ax_loss, num_epochs=self.num_epochs, ylim=LOSS_RANGE)
        self.norm_plot = NormCurve(ax_norm, num_epochs=self.num_epochs, ylim=NORM_RANGE)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([*self.loss_plot.artists, *self.norm_plot.artists, self.title])
        self.widget = widgets.VBox(
            [widgets.HBox([controls["lambd"], controls["lr"]]),
             widgets.HBox([controls["penalty"], controls["decay_bias"]]),
             self.status, self.live.view]
        )
        self._on_change()

    def compute(self, key):
        lambd, lr, penalty, decay_bias = key
        lambdas = [0.0, lambd] if lambd > 0 else [lambd]  # the λ = 0 run is the faint baseline
        runs = sweep_weight_decay(
            lambdas, lr=lr, penalty=penalty, decay_bias=decay_bias,
            num_epochs=self.num_epochs, seed=self.seed,
        )
        return runs[-1], runs[0]

    def draw(self, key, result):
        history, baseline = result
        lambd, lr, penalty, decay_bias = key
        self.history = history
        self.loss_plot.update(history, baseline if history.lambd > 0 else None)
        self.norm_plot.update(history)
        bias = "bias decayed" if decay_bias else "bias not decayed"
        self.title.set_text(f"λ = {lambd:g}, lr = {lr:g}, {penalty.upper()}, {bias}:  {describe(history)}")
        self.show_outcome(self.title, describe(history), failed=history.diverged)


@on_course_device
def weight_decay_explorer(**options) -> WeightDecayExplorer:
    """Build the weight-decay explorer; display it by leaving it as a cell's last expression."""
    return WeightDecayExplorer(**options)
