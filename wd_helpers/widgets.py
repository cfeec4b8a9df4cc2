"""Explorers: controls + a figure + the callback that retrains and redraws. The only module
that imports ipywidgets; notebooks import it, nothing in the package does.

An explorer displays itself in Jupyter and exposes ``.sliders[name]``, ``.controls[name]``
(sliders and the other inputs), ``.figure`` and the last result ``.history``, so tests and
benchmarks can move a slider from Python (``explorer.sliders["lambd"].value = 3.0``).

Redraws happen in place. Under ipympl (``%matplotlib widget``) the figure is the interactive
canvas; under any other backend (inline, headless) the same figure is rendered to a PNG image
widget. Callbacks are serialised: if a slider event arrives while a retrain is running (widget
messages on kernel subshells run concurrently with cells), it is queued, and only the latest
values are trained next, so no two redraws overlap and the last value always wins.
"""

import io
import threading
from collections import OrderedDict

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import PIL.Image
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import optim
from .plots import LossCurves, LossPerStep, NormCurve, TrajectoryPlot, describe
from .train import History, sweep_weight_decay

# λ: exactly 0, then 1-2-3-5 steps per decade from 0.001 to 100 (log-spaced, with the lesson's 3)
LAMBDA_CHOICES = (0.0,) + tuple(
    round(m * 10.0**e, 10) for e in range(-3, 2) for m in (1, 2, 3, 5)
) + (100.0,)
CACHE_SIZE = 512
LOSS_RANGE = (1e-6, 1e6)  # below: "fits the training set exactly"; above: blowing up
NORM_RANGE = (1e-3, 1e3)


_SLIDERS = (widgets.FloatLogSlider, widgets.FloatSlider, widgets.IntSlider, widgets.SelectionSlider)


def _is_interactive_backend() -> bool:
    return "ipympl" in matplotlib.get_backend()


class _LiveFigure:
    """A figure that redraws in place by blitting: axes, ticks and labels are drawn once, and a
    slider move redraws only the registered (animated) artists over that saved background.

    Under ipympl the canvas widget is the view; under any other backend the figure is rendered
    into a PNG image widget. A full draw (first show, a resize) re-captures the background.
    """

    def __init__(self, figsize):
        self.interactive = _is_interactive_backend()
        if self.interactive:
            with plt.ioff():  # create without displaying: the explorer places it in its layout
                self.figure = plt.figure(figsize=figsize, layout="constrained")
            self.figure.canvas.header_visible = False
            self.figure.canvas.toolbar_position = "right"
            self.view = self.figure.canvas
        else:
            self.figure = Figure(figsize=figsize, layout="constrained")  # no pyplot: no global state
            FigureCanvasAgg(self.figure)
            self.view = widgets.Image(format="png")
        self.canvas = self.figure.canvas
        self.animated = []
        self._background = None
        self.canvas.mpl_connect("draw_event", self._on_draw)

    def invalidate(self):
        """The background changed (limits, contours): the next redraw is a full draw."""
        self._background = None

    def animate(self, artists):
        """Register artists that change on every update; everything else is background."""
        for artist in artists:
            artist.set_animated(True)
            self.animated.append(artist)

    def _on_draw(self, _event=None):
        # a full draw skips animated artists: save the background, then paint them on top
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._draw_animated()

    def _draw_animated(self):
        for artist in self.animated:
            self.figure.draw_artist(artist)

    def redraw(self):
        if self._background is None:
            self.canvas.draw()  # lays out the figure once (constrained layout), then fixes it
            self.figure.set_layout_engine("none")
        else:
            self.canvas.restore_region(self._background)
            self._draw_animated()
        if self.interactive:
            self.canvas.blit(self.figure.bbox)
        else:
            self.view.value = self.png()

    def png(self) -> bytes:
        """The figure as it is on the canvas now, as PNG bytes (fast: no re-render)."""
        width, height = self.canvas.get_width_height(physical=True)
        image = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba()).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)  # RGB, light compression: measured fastest
        return buffer.getvalue()


class Explorer:
    """Base of the explorers: serialised, cached retrain-and-redraw on every control change."""

    def __init__(self, controls: dict, figsize):
        self.controls = controls
        self.sliders = {k: w for k, w in controls.items() if isinstance(w, _SLIDERS)}
        self.live = _LiveFigure(figsize)
        self.figure = self.live.figure
        self.status = widgets.HTML()
        self.history: History | None = None
        self.retrain_count = 0  # how many trainings ran (cached values do not retrain)
        self.redraw_count = 0
        self.last_error: Exception | None = None
        self._cache: OrderedDict = OrderedDict()
        self._busy = threading.Lock()
        self._dirty = False
        for control in controls.values():
            control.observe(self._on_change, names="value")

    # subclasses: values() -> hashable key of the current settings; compute(key); draw(key, result)
    def values(self) -> tuple:
        return tuple(control.value for control in self.controls.values())

    def _on_change(self, _change=None):
        self._dirty = True
        while self._busy.acquire(blocking=False):
            try:
                while self._dirty:
                    self._dirty = False
                    self._update(self.values())
            finally:
                self._busy.release()
            if not self._dirty:
                return
        # another thread holds the lock; it sees _dirty and trains the latest values

    def _update(self, key):
        try:
            result = self._cache.get(key)
            if result is None:
                self.status.value = "<i>training…</i>"
                result = self.compute(key)
                self.retrain_count += 1
                self._cache[key] = result
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            self.draw(key, result)
            self.live.redraw()
            self.redraw_count += 1
            self.last_error = None
        except Exception as error:  # a failed retrain must not break the widget: say what happened
            self.last_error = error
            self.status.value = f"<b style='color:#c0392b'>error: {type(error).__name__}: {error}</b>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class WeightDecayExplorer(Explorer):
    """λ and lr sliders, L2/L1 and bias-decay choices; loss curves and ‖w‖ redraw on every move."""

    def __init__(self, *, lambd=0.0, lr=0.003, penalty="l2", decay_bias=False, num_epochs=100, seed=0):
        if lambd not in LAMBDA_CHOICES:
            raise ValueError(f"lambd must be one of the slider's values {LAMBDA_CHOICES}, got {lambd}")
        if not 1e-4 <= lr <= 0.1:
            raise ValueError(f"lr must be in [0.0001, 0.1], got {lr}")
        self.num_epochs, self.seed = num_epochs, seed
        style = {"description_width": "initial"}
        layout = widgets.Layout(width="420px")
        controls = {
            "lambd": widgets.SelectionSlider(
                options=[(f"{v:g}", v) for v in LAMBDA_CHOICES], value=lambd,
                description="weight decay λ", style=style, layout=layout,
            ),
            "lr": widgets.FloatLogSlider(
                value=lr, base=10, min=-4, max=-1, step=0.05, readout_format=".2g",
                description="learning rate", style=style, layout=layout,
            ),
            "penalty": widgets.ToggleButtons(
                options=[("L2: λ/2‖w‖²", "l2"), ("L1: λ‖w‖₁", "l1")], value=penalty,
                description="penalty", style=style,
            ),
            "decay_bias": widgets.Checkbox(value=decay_bias, description="decay the bias too"),
        }
        super().__init__(controls, figsize=(9, 3.4))
        ax_loss, ax_norm = self.figure.subplots(1, 2, width_ratios=(3, 2))
        # fixed axes: a slider move moves the curves, not the scale under them
        self.loss_plot = LossCurves(ax_loss, num_epochs=num_epochs, ylim=LOSS_RANGE)
        self.norm_plot = NormCurve(ax_norm, num_epochs=num_epochs, ylim=NORM_RANGE)
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
        self.title.set_text(f"λ = {lambd:g}, lr = {lr:.2g}, {penalty.upper()}, {bias}:  {describe(history)}")
        self.title.set_color("tab:red" if history.diverged else "black")
        colour = "#c0392b" if history.diverged else "inherit"
        self.status.value = f"<span style='color:{colour}'>{describe(history)}</span>"


def weight_decay_explorer(**options) -> WeightDecayExplorer:
    """Build the weight-decay explorer; display it by leaving it as a cell's last expression."""
    return WeightDecayExplorer(**options)


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
    "Adam": (lambda p, lr, b1, b2: optim.Adam(p, lr=lr, betas=(b1, b2)), ("beta", "beta2")),
}
STEP_LOSS_RANGE = (1e-8, 1e4)


class OptimizerExplorer(Explorer):
    """Pick an optimizer and a function, drag lr / β / steps: the path and f per step redraw."""

    def __init__(self, *, optimizer="SGD", lr=0.4, beta=0.5, beta2=0.9, steps=20, function=None):
        function = function or next(iter(FUNCTIONS))
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
        if function not in FUNCTIONS:
            raise ValueError(f"function must be one of {list(FUNCTIONS)}, got {function!r}")
        if not 1e-3 <= lr <= 10:
            raise ValueError(f"lr must be in [0.001, 10], got {lr}")
        if not 1 <= steps <= 200:
            raise ValueError(f"steps must be in [1, 200], got {steps}")
        style, layout = {"description_width": "initial"}, widgets.Layout(width="340px")
        controls = {
            "function": widgets.Dropdown(options=list(FUNCTIONS), value=function, description="f(x) =", style=style),
            "optimizer": widgets.Dropdown(options=list(OPTIMIZERS), value=optimizer, description="optimizer", style=style),
            "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=1, step=0.05, readout_format=".3g",
                                         description="learning rate η", style=style, layout=layout),
            "beta": widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.01,
                                        description="momentum β / Adam β₁", style=style, layout=layout),
            "beta2": widgets.FloatSlider(value=beta2, min=0.5, max=0.999, step=0.001, readout_format=".3f",
                                         description="RMSProp α / Adam β₂", style=style, layout=layout),
            "steps": widgets.IntSlider(value=steps, min=1, max=200, description="steps", style=style, layout=layout),
        }
        super().__init__(controls, figsize=(9, 3.6))
        f, _, _, window = FUNCTIONS[function]
        ax_path, ax_loss = self.figure.subplots(1, 2, width_ratios=(3, 2))
        self.path_plot = TrajectoryPlot(f, ax_path, **window)
        self.loss_plot = LossPerStep(ax_loss, steps=steps, ylim=STEP_LOSS_RANGE)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([*self.path_plot.artists, *self.loss_plot.artists, self.title])
        self.points = self.losses = None
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
        settings = ", ".join([f"η = {lr:.3g}"] + [f"{'β' if u == 'beta' else 'β₂'} = {v:g}"
                                                   for u, v in (("beta", beta), ("beta2", beta2)) if u in used])
        diverged = optim.first_nonfinite(self.points)
        if diverged is not None:
            outcome = f"diverged at step {diverged}"
        else:
            end = self.points[-1].tolist()
            outcome = f"after {steps} steps x = ({end[0]:.4g}, {end[1]:.4g}), f = {float(self.losses[-1]):.3g}"
        self.title.set_text(f"{name} ({settings}): {outcome}")
        self.title.set_color("tab:red" if diverged is not None else "black")
        colour = "#c0392b" if diverged is not None else "inherit"
        self.status.value = f"<span style='color:{colour}'>{name}: {outcome}</span>"


def optimizer_explorer(**options) -> OptimizerExplorer:
    """Build the optimizer explorer; display it by leaving it as a cell's last expression."""
    return OptimizerExplorer(**options)
