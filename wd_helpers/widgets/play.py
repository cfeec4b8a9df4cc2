"""The playground, ``wd_helpers.widgets.playground(**settings)``: TensorFlow Playground's experiment on the
course's own package, training live.

Pick a 2-D data set, the input features and a network; press play: the kernel trains a few epochs per tick of an
``ipywidgets.Play`` and redraws in place the decision surface under the train and test points, each hidden
neuron's output over the plane, and the train and test loss curves with the gap between them. Beyond TF
Playground: dropout per hidden layer, the optimizer (SGD, Momentum, Adam, AdamW), an A/B comparison (freeze a run
as A, change a knob, compare curves and boundaries), and ``reproduce()``: the one call to
``wd_helpers.playground.train`` that gives the numbers on screen. The training is ``wd_helpers.playground.Run``;
this module only drives and draws it.

Any change of a control starts a new run (as in TF Playground: the network is rebuilt), so that ``reproduce()`` is
always one call; if the old run had trained at most REPLAY_EPOCHS epochs, the new one is trained as far at once, so
that a paused learner sees what the knob does at the same epoch. Play goes on.
"""

import html
import inspect
import math
import time
import weakref

import ipywidgets as widgets
import matplotlib.colors
import numpy as np
import traitlets

from .. import playground as pg
from .. import validate
from ..device import on_course_device
from ..threads import on_course_threads
from ._controls import Dropdown, FloatSlider, IntSlider, SelectionSlider, ToggleButtons, check_choice
from ._live import Explorer, log_choices

SURFACE_RES, NEURON_RES = 60, 16  # grid points per side: the output's surface, each neuron's thumbnail
FRAME_BUDGET_S = 0.016  # per tick of the Play widget: train for about half of it (at least one epoch), then draw
# A control change starts a new run; if the old one had trained at most this many epochs, the new one is trained as
# far at once (~4 ms an epoch): a paused learner sees what the knob does at the same epoch. Past it: epoch 0.
REPLAY_EPOCHS = 20
QUEUED_TICK_S = 0.01  # a tick handled this soon after the last frame arrived while it was drawn: dropped
TICK_MS = 60  # the Play widget's interval: up to 16 ticks a second (a frame takes ~40 ms here: ≥ 10 frames/s)
LR_CHOICES = log_choices(1e-4, 1.0) + (1.5, 2.0, 3.0)
LAMBDA_CHOICES = (0.0,) + log_choices(1e-4, 1.0)
NOISE_SLIDER = {"min": 0.0, "max": 0.5, "step": 0.05}
FRACTION_SLIDER = {"min": 0.1, "max": 0.9, "step": 0.1}
BATCH_SLIDER = {"min": 1, "max": 30}
DROPOUT_SLIDER = {"min": 0.0, "max": 0.9, "step": 0.05}
CLASS_COLORS = ("#f59322", "#0877bd")  # TF Playground's orange (class 0) and blue (class 1)
SURFACE_CMAP = matplotlib.colors.LinearSegmentedColormap.from_list(
    "playground", [CLASS_COLORS[0], "#fbf6ef", CLASS_COLORS[1]]).with_extremes(bad="white")
STYLE = {"description_width": "initial"}


class _Composite(widgets.HBox):
    """A control made of several widgets whose ``value`` is a tuple (the features on, the layer widths, the
    dropout rates). Setting ``value`` from code is checked by ``check`` (a named ValueError / TypeError, the value
    unchanged); the inner widgets follow it, and set it when the learner clicks them."""

    value = traitlets.Any(())  # a tuple once checked: any value reaches check(), which names this control

    def __init__(self, *, name: str, value, **kwargs):
        self.name = name
        self._syncing = False
        super().__init__(**kwargs)
        self.value = tuple(value)
        self.observe(lambda change: self._show(), names="value")
        self._show()

    @staticmethod
    def check(label: str, value) -> tuple:
        raise NotImplementedError

    def _show(self):
        raise NotImplementedError

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        try:
            return self.check(f"controls[{self.name!r}]", proposal.value)
        except (TypeError, ValueError) as error:
            kind = TypeError if isinstance(error, TypeError) else ValueError
            shown = self._trait_values.get("value")
            raise kind(f"{error}; it still shows {shown}") from None


def _as_tuple(label: str, value) -> tuple:
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise TypeError(f"{label} must be a tuple, got {type(value).__name__} {value!r:.60}")
    return tuple(value)


class FeaturesControl(_Composite):
    """One toggle button per input feature; ``value`` is the tuple of those on, in FEATURES' order."""

    def __init__(self, *, name="features", value=("x1", "x2")):
        self.buttons = {key: widgets.ToggleButton(description=label, layout=widgets.Layout(width="64px"))
                        for key, label in pg.FEATURES.items()}
        for key, button in self.buttons.items():
            button.observe(lambda change, key=key: self._clicked(), names="value")
        super().__init__(name=name, value=value, children=[widgets.Label("features"), *self.buttons.values()])

    @staticmethod
    def check(label, value):
        value = _as_tuple(label, value)
        unknown = [f for f in value if f not in pg.FEATURES]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(f"{label} must be one or more different names of {', '.join(pg.FEATURES)}, "
                             f"got {value!r:.80}")
        return tuple(f for f in pg.FEATURES if f in value)

    def _show(self):
        self._syncing = True
        try:
            for key, button in self.buttons.items():
                button.value = key in self.value
        finally:
            self._syncing = False

    def _clicked(self):
        if self._syncing:
            return
        on = tuple(key for key, button in self.buttons.items() if button.value)
        if on:
            self.value = on
        else:  # the last feature cannot be switched off: a network needs an input
            self._show()


class LayersControl(_Composite):
    """Hidden layers: add or remove a layer (0 to 4), and neurons in each (1 to 8); ``value`` is the widths."""

    def __init__(self, *, name="layers", value=(4, 2)):
        self.count = widgets.Label()
        more = widgets.Button(description="+ layer", layout=widgets.Layout(width="72px"))
        fewer = widgets.Button(description="− layer", layout=widgets.Layout(width="72px"))
        more.on_click(lambda _b: self._change(len(self.value), +1, layer=True))
        fewer.on_click(lambda _b: self._change(len(self.value) - 1, -1, layer=True))
        self.rows = widgets.HBox()
        super().__init__(name=name, value=value, children=[widgets.Label("hidden layers"), fewer, more, self.count,
                                                           self.rows])

    @staticmethod
    def check(label, value):
        value = _as_tuple(label, value)
        if len(value) > pg.MAX_LAYERS or any(
                isinstance(w, bool) or not isinstance(w, int | np.integer) or not 1 <= w <= pg.MAX_WIDTH
                for w in value):
            raise ValueError(f"{label} must be 0 to {pg.MAX_LAYERS} hidden layers of 1 to "
                             f"{pg.MAX_WIDTH} neurons, got {value!r:.80}")
        return tuple(int(w) for w in value)

    def _show(self):
        self.count.value = f"{len(self.value)}"
        rows = []
        for i, width in enumerate(self.value):
            minus = widgets.Button(description="−", layout=widgets.Layout(width="36px"))
            plus = widgets.Button(description="+", layout=widgets.Layout(width="36px"))
            minus.on_click(lambda _b, i=i: self._change(i, -1))
            plus.on_click(lambda _b, i=i: self._change(i, +1))
            rows.append(widgets.HBox([minus, widgets.Label(f"{width}"), plus]))
        old = self.rows.children
        self.rows.children = rows
        for box in old:  # the buttons of the rows just replaced
            for child in box.children:
                child.close()
            box.close()

    def _change(self, index: int, delta: int, *, layer: bool = False):
        widths = list(self.value)
        if layer:
            if delta > 0 and len(widths) < pg.MAX_LAYERS:
                widths.append(widths[-1] if widths else 4)
            elif delta < 0 and widths:
                widths.pop()
        else:
            widths[index] = min(max(widths[index] + delta, 1), pg.MAX_WIDTH)
        self.value = tuple(widths)


class DropoutControl(_Composite):
    """A dropout rate for each hidden layer (a slider per layer); ``value`` is the rates, one per layer."""

    def __init__(self, *, name="dropout", value=(0.0, 0.0)):
        self.sliders = [FloatSlider(name=f"dropout[{i}]", value=0.0, **DROPOUT_SLIDER, description=f"layer {i + 1}",
                                    continuous_update=False, style=STYLE, layout=widgets.Layout(width="190px"))
                        for i in range(pg.MAX_LAYERS)]
        for slider in self.sliders:
            slider.observe(lambda change: self._clicked(), names="value")
        super().__init__(name=name, value=value, children=list(self.sliders))

    @staticmethod
    def check(label, value):
        value = _as_tuple(label, value)
        if len(value) > pg.MAX_LAYERS:
            raise ValueError(f"{label} must have one rate per hidden layer (at most {pg.MAX_LAYERS}), "
                             f"got {value!r:.80}")
        return tuple(validate.number(f"{label}[{i}]", p, low=0.0, high=DROPOUT_SLIDER["max"])
                     for i, p in enumerate(value))

    def _show(self):
        self._syncing = True
        try:
            for i, slider in enumerate(self.sliders):
                shown = i < len(self.value)
                slider.layout.display = None if shown else "none"
                if shown and slider.value != self.value[i]:
                    slider.value = round(round(self.value[i] / DROPOUT_SLIDER["step"]) * DROPOUT_SLIDER["step"], 10)
        finally:
            self._syncing = False

    def _clicked(self):
        if not self._syncing:
            self.value = tuple(slider.value for slider in self.sliders[:len(self.value)])

    def fit(self, num_layers: int):
        """One rate per layer after layers were added (the last rate repeated, or 0) or removed."""
        rates = self.value[:num_layers]
        self.value = rates + (rates[-1] if rates else 0.0,) * (num_layers - len(rates))


class Playground(Explorer):
    """Every knob of the course on one network, training live. See the module's docstring."""

    @on_course_device
    def __init__(self, *, dataset="circle", noise=0.0, train_fraction=0.5, batch_size=10, features=("x1", "x2"),
                 layers=(4, 2), activation="tanh", penalty="none", lambd=0.0, dropout=0.0, optimizer="SGD",
                 lr=0.03, seed=0):
        # every argument is checked before any widget exists (by the controls' own checks, and Run's)
        layers = LayersControl.check("layers", layers)
        rates = (float(dropout),) * len(layers) if isinstance(dropout, int | float) and not isinstance(dropout, bool) \
            else dropout
        self.seed = validate.seed(seed)
        validate.choice("dataset", dataset, pg.DATASETS)
        pg.Run(dataset, noise=noise, train_fraction=train_fraction, batch_size=batch_size,
                       features=FeaturesControl.check("features", features), layers=layers,
                       activation=activation, penalty=penalty, lambd=lambd,
                       dropout=DropoutControl.check("dropout", rates) if layers else 0.0,
                       optimizer=optimizer, lr=lr, seed=self.seed)
        check_choice("lr", lr, LR_CHOICES)
        check_choice("lambd", lambd, LAMBDA_CHOICES)
        slider = dict(style=STYLE, layout=widgets.Layout(width="260px"), continuous_update=False)
        controls = {
            "dataset": ToggleButtons(name="dataset", options=list(pg.DATASETS), value=dataset,
                                     description="data", style={"button_width": "62px", **STYLE}),
            "noise": FloatSlider(name="noise", value=noise, **NOISE_SLIDER, description="noise", **slider),
            "train_fraction": FloatSlider(name="train_fraction", value=train_fraction, **FRACTION_SLIDER,
                                          description="training share", **slider),
            "batch_size": IntSlider(name="batch_size", value=batch_size, **BATCH_SLIDER, description="batch size",
                                    **slider),
            "features": FeaturesControl(value=features),
            "layers": LayersControl(value=layers),
            "activation": Dropdown(name="activation", options=list(pg.ACTIVATIONS), value=activation,
                                   description="activation", style=STYLE, layout=widgets.Layout(width="190px")),
            "penalty": ToggleButtons(name="penalty", options=list(pg.PENALTIES), value=penalty,
                                     description="penalty", style={"button_width": "54px", **STYLE}),
            "lambd": SelectionSlider(name="lambd", options=[(f"{v:g}", v) for v in LAMBDA_CHOICES], value=lambd,
                                     description="λ", **slider),
            "dropout": DropoutControl(value=rates),
            "optimizer": Dropdown(name="optimizer", options=list(pg.OPTIMIZERS), value=optimizer,
                                  description="optimizer", style=STYLE, layout=widgets.Layout(width="190px")),
            "lr": SelectionSlider(name="lr", options=[(f"{v:g}", v) for v in LR_CHOICES], value=lr,
                                  description="learning rate", **slider),
        }
        # before the explorer's own observers: the dropout rates follow the number of layers; λ is greyed out
        # without a penalty (it would change nothing)
        controls["layers"].observe(lambda change: controls["dropout"].fit(len(change["new"])), names="value")
        controls["lambd"].disabled = penalty == "none"
        controls["penalty"].observe(lambda change: setattr(controls["lambd"], "disabled", change["new"] == "none"),
                                    names="value")
        self.play = widgets.Play(value=0, min=0, max=10**9, step=1, interval=TICK_MS, show_repeat=False,
                                 description="play")
        # the page's widgets hold the playground weakly (as every explorer's): one nobody holds is collected
        self.play.observe(_weakly(self._tick), names="value")
        actions = {"step": self._step_once, "reset": self.reset, "regenerate": self.regenerate,
                   "freeze as A": self.freeze, "clear A": self.clear_a, "reproduce in code": self._show_code}
        buttons = {}
        for name, action in actions.items():
            buttons[name] = widgets.Button(description=name, layout=widgets.Layout(width="auto"))
            buttons[name].on_click(_weakly(action))
        self.buttons = buttons
        self.epoch_label = widgets.Label()  # (not HTML: the status line is the explorer's first HTML widget)
        self.code = widgets.HTML()
        self.run = None
        self.a = self._drawn_a = None  # the frozen run: {settings, history, surface, points}, or None
        self._last_frame = 0.0
        super().__init__(controls, figsize=(9.4, 4.0))  # 940 px: JupyterLab's output width in a 1400 px window
        self._build_figure()
        row = lambda *children: widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap"))  # noqa: E731
        self.widget = widgets.VBox([
            row(self.play, buttons["step"], buttons["reset"], buttons["regenerate"], self.epoch_label),
            row(controls["dataset"], controls["noise"]),
            row(controls["train_fraction"], controls["batch_size"]),
            controls["features"],
            controls["layers"],
            row(widgets.Label("dropout"), controls["dropout"]),
            row(controls["activation"], controls["penalty"], controls["lambd"]),
            row(controls["optimizer"], controls["lr"]),
            row(buttons["freeze as A"], buttons["clear A"], buttons["reproduce in code"]),
            self.status, self.live.view, self.code,
        ])
        self._on_change()

    # --- the figure ---------------------------------------------------------------------------------

    def _build_figure(self):
        grid = self.figure.add_gridspec(2, 3, width_ratios=(1.0, 0.62, 1.15))
        ax_surface = self.figure.add_subplot(grid[:, 0])
        ax_neurons = self.figure.add_subplot(grid[:, 1])
        ax_loss = self.figure.add_subplot(grid[0, 2])
        ax_a = self.figure.add_subplot(grid[1, 2])
        extent = (-6, 6, -6, 6)
        blank = np.full((SURFACE_RES, SURFACE_RES), 0.5)
        # "nearest": each grid cell a flat square; smoothing them cost 2 ms a frame and made the PNG 60 % larger
        self.surface_image = ax_surface.imshow(blank, extent=extent, origin="lower", cmap=SURFACE_CMAP, vmin=0, vmax=1,
                                               interpolation="nearest", aspect="equal")
        # one marker line per (split, class): Agg stamps a line's markers from one cached bitmap, 10× cheaper per
        # frame than a scatter's per-point paths (the points are redrawn over the surface on every frame)
        self.points = {(split, label): ax_surface.plot([], [], "o", ms=3.8, color=CLASS_COLORS[label],
                                                       mec="white" if split == "train" else "black", mew=0.6)[0]
                       for split in ("train", "test") for label in (0, 1)}
        ax_surface.set(xlim=(-6, 6), ylim=(-6, 6), xticks=[-6, 0, 6], yticks=[-6, 0, 6])
        ax_surface.set_title("output (white edge: train, black: test)", fontsize="small")
        self.neuron_image = ax_neurons.imshow(np.full((1, 1), np.nan), cmap=SURFACE_CMAP, vmin=-1, vmax=1,
                                              interpolation="nearest", aspect="equal")
        ax_neurons.set_axis_off()
        ax_neurons.set_title("each hidden neuron\n(columns: layers)", fontsize="small")
        self.ax_neurons = ax_neurons
        (self.train_line,) = ax_loss.plot([], [], color="tab:blue", label="train")
        (self.test_line,) = ax_loss.plot([], [], color="tab:orange", label="test")
        (self.a_train_line,) = ax_loss.plot([], [], color="tab:blue", ls="--", lw=1, alpha=0.6, label="A: train")
        (self.a_test_line,) = ax_loss.plot([], [], color="tab:orange", ls="--", lw=1, alpha=0.6, label="A: test")
        self.gap = ax_loss.fill_between([0, 1], [0, 0], [0, 0], color="tab:orange", alpha=0.15, lw=0, label="gap")
        ax_loss.set(xlim=(0, 50), ylim=(0, 1.0), xlabel="epoch", ylabel="loss (cross-entropy)")
        ax_loss.legend(loc="upper right", fontsize="x-small", ncols=2)
        ax_loss.grid(True, alpha=0.3)
        self.ax_loss = ax_loss
        self.a_image = ax_a.imshow(np.full((SURFACE_RES, SURFACE_RES), np.nan), extent=extent, origin="lower",
                                   cmap=SURFACE_CMAP, vmin=0, vmax=1, interpolation="nearest", aspect="equal")
        self.a_points = ax_a.scatter([], [], s=6, edgecolors="black", linewidths=0.3)
        ax_a.set(xlim=(-6, 6), ylim=(-6, 6), xticks=[], yticks=[])
        self.a_title = ax_a.set_title("A: freeze a run to compare", fontsize="small")
        ax_loss.set_title("loss per epoch (shaded: the train–test gap)", fontsize="small")
        # redrawn every frame: the output, the points over it, the neurons, the curves (the numbers are in the status
        # line: a figure title costs 5 ms a frame). A's panel and curves change only on freeze / clear: background.
        self.live.animate([self.surface_image, *self.points.values(), self.neuron_image,
                           self.train_line, self.test_line, self.gap])

    # --- training -----------------------------------------------------------------------------------

    def settings(self) -> dict:
        """The arguments of ``wd_helpers.pg.Run`` that the controls describe now."""
        values = {name: control.value for name, control in self.controls.items()}
        values["dropout"] = values["dropout"] if values["layers"] else 0.0
        return dict(values, seed=self.seed)

    @on_course_device
    @on_course_threads
    def _update(self, key):  # a control changed: a new run (the cache of Explorer is not used)
        try:
            settings = self.settings()
            dataset = settings.pop("dataset")
            reached = 0 if self.run is None else self.run.history.epochs
            self.run = pg.Run(dataset, **settings)
            self.retrain_count += 1
            self._draw(data_changed=True)  # at once: the new run at epoch 0 (the learner sees the change register)
            if 0 < reached <= REPLAY_EPOCHS:  # then the same epochs with the new setting: what the knob does
                self.run.step(reached)
                self._draw()
        except Exception as error:  # a refused combination (a batch larger than the training set): say so
            self.last_error = error
            self.status.value = f"<b style='color:#c0392b'>error: {type(error).__name__}: {html.escape(str(error))}</b>"

    @property
    def history(self):
        """The current run's PlaygroundHistory (per-epoch train/test loss and accuracy)."""
        return None if self.run is None else self.run.history

    @history.setter
    def history(self, _value):  # Explorer.__init__ sets it to None; the run holds it here
        pass

    def step(self, epochs: int = 1):
        """Train ``epochs`` more epochs (1 to 10 000) and redraw; returns the history. A run that diverged stays
        where it stopped (the status says so)."""
        epochs = validate.integer("epochs", epochs, low=1, high=10_000)
        if not self._busy.acquire(timeout=60):
            raise RuntimeError("the playground is busy")
        try:
            self._train(epochs)
        finally:
            self._busy.release()
        return self.history

    @on_course_device
    @on_course_threads
    def _train(self, epochs: int):
        if self.run is None or self.closed:
            return
        self.run.step(epochs)
        self._draw()

    def _step_once(self):
        self.step(1)

    def _tick(self):
        """A tick of the Play widget: train for about FRAME_BUDGET_S, then redraw. Ticks that queued up while
        the kernel was busy (a slow machine) are dropped, so the frames never fall behind."""
        if self.closed or self.run is None or time.monotonic() - self._last_frame < QUEUED_TICK_S:
            return
        if not self._busy.acquire(blocking=False):
            return
        try:
            if self.run.history.diverged:
                self.play.playing = False
                return
            start, epochs = time.monotonic(), 0
            while epochs == 0 or time.monotonic() - start < FRAME_BUDGET_S / 2:
                self.run.step(1)
                epochs += 1
                if self.run.history.diverged:
                    self.play.playing = False
                    break
            self._draw()
        except Exception as error:  # never break the page: say what happened, stop playing
            self.play.playing = False
            self.last_error = error
            self.status.value = f"<b style='color:#c0392b'>error: {type(error).__name__}: {html.escape(str(error))}</b>"
        finally:
            self._last_frame = time.monotonic()
            self._busy.release()

    def reset(self):
        """Stop playing and start the current settings again at epoch 0 (the same seed: the same run again)."""
        self.play.playing = False
        with self._busy:
            self.run = None  # nothing to replay: epoch 0
            self._update(self.values())

    def regenerate(self):
        """New data (and a new initialisation): the next seed."""
        self.seed += 1
        self.reset()

    def freeze(self):
        """Keep the current run as A: its curves stay on the loss plot (dashed), its boundary beside them."""
        if self.run is None:
            return
        xs, ys, probs = self.run.surface(SURFACE_RES)
        self.a = {"settings": dict(self.run.history.settings), "history": self.run.history,
                  "surface": probs.numpy().copy(), "points": self.run.data}
        self._draw()

    def clear_a(self):
        self.a = None
        self._draw()

    def reproduce(self) -> str:
        """The one Python call that reproduces the run on screen: running it gives the same numbers."""
        settings = dict(self.run.history.settings)
        dataset = settings.pop("dataset")
        rates = settings.get("dropout")
        if isinstance(rates, tuple) and len(set(rates)) <= 1:  # one rate for every layer reads as one number
            settings["dropout"] = rates[0] if rates else 0.0
        defaults = {name: parameter.default for name, parameter in inspect.signature(pg.Run).parameters.items()}
        # what differs from train()'s defaults, and always the seed: the call reads as the settings on screen
        arguments = ", ".join(f"{name}={value!r}" for name, value in settings.items()
                              if name not in ("epochs", "data") and (name == "seed" or value != defaults.get(name)))
        return ("from wd_helpers.playground import train\n\n"
                f"history = train({dataset!r}, {arguments}, epochs={self.run.epoch})")  # (a diverged run: its last epoch too)

    def _show_code(self):
        self.code.value = f"<pre style='font-size: 12px; white-space: pre-wrap'>{html.escape(self.reproduce())}</pre>"

    # --- drawing ------------------------------------------------------------------------------------

    def _draw(self, *, data_changed: bool = False):
        run, history = self.run, self.run.history
        _, _, probs = run.surface(SURFACE_RES)
        self.surface_image.set_data(probs.numpy())
        if data_changed:
            data = run.data
            for split, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
                for label in (0, 1):
                    chosen = X[y == label].numpy()
                    self.points[split, label].set_data(chosen[:, 0], chosen[:, 1])
        self.neuron_image.set_data(self._neuron_mosaic())
        epochs = np.arange(1, len(history.train_loss) + 1)
        self.train_line.set_data(epochs, history.train_loss)
        self.test_line.set_data(epochs, history.test_loss)
        if len(epochs):
            self.gap.set_verts([np.column_stack([np.r_[epochs, epochs[::-1]],
                                                 np.r_[history.train_loss, history.test_loss[::-1]]])])
        else:
            self.gap.set_verts([])
        if self._drawn_a is not self.a:  # A was frozen or cleared: its panel and curves are background
            self._draw_a()
            self._drawn_a = self.a
            self.live.invalidate()
        shown = max(len(epochs), len(self.a["history"].train_loss) if self.a else 0)
        xmax = self.ax_loss.get_xlim()[1]
        if shown > xmax or (shown < xmax / 4 and xmax > 50):  # the epoch axis grows (and shrinks after a reset)
            self.ax_loss.set_xlim(0, max(50, 2 ** math.ceil(math.log2(max(shown, 1) * 1.25))))
            self.live.invalidate()
        self.live.redraw()  # the frame first; the status line and the epoch counter after it
        self.redraw_count += 1
        self._describe()
        self.epoch_label.value = f"epoch {history.epochs}"

    def _neuron_mosaic(self) -> np.ndarray:
        """Each hidden neuron's output over the plane: one column of thumbnails per layer, NaN (white) between."""
        layers = self.run.neuron_surfaces(NEURON_RES)
        title = "each hidden neuron\n(columns: layers)" if layers else "no hidden layer"
        if self.ax_neurons.get_title() != title:
            self.ax_neurons.set_title(title, fontsize="small")
            self.live.invalidate()
        if not layers:
            return np.full((1, 1), np.nan)
        rows, cell = max(len(layer) for layer in layers), NEURON_RES + 2
        mosaic = np.full((rows * cell, len(layers) * cell), np.nan)
        for j, layer in enumerate(layers):
            for i, surface in enumerate(layer):
                values = surface.numpy()
                scale = max(abs(values).max(), 1e-12)
                mosaic[i * cell + 1:i * cell + 1 + NEURON_RES, j * cell + 1:j * cell + 1 + NEURON_RES] = \
                    np.flipud(values / scale)  # each neuron on its own scale: its pattern, not its size
        if self.neuron_image.get_array().shape != mosaic.shape:
            self.neuron_image.set_extent((-0.5, mosaic.shape[1] - 0.5, mosaic.shape[0] - 0.5, -0.5))
            self.ax_neurons.set(xlim=(-0.5, mosaic.shape[1] - 0.5), ylim=(mosaic.shape[0] - 0.5, -0.5))
            self.live.invalidate()
        return mosaic

    def _draw_a(self):
        if self.a is None:
            self.a_image.set_data(np.full((SURFACE_RES, SURFACE_RES), np.nan))
            self.a_points.set_offsets(np.empty((0, 2)))
            self.a_train_line.set_data([], [])
            self.a_test_line.set_data([], [])
            self.a_title.set_text("A: freeze a run to compare")
            return
        history = self.a["history"]
        epochs = np.arange(1, len(history.train_loss) + 1)
        self.a_train_line.set_data(epochs, history.train_loss)
        self.a_test_line.set_data(epochs, history.test_loss)
        self.a_image.set_data(self.a["surface"])
        data = self.a["points"]
        self.a_points.set_offsets(data.X_test.numpy())
        self.a_points.set_facecolors([CLASS_COLORS[int(y)] for y in data.y_test.tolist()])
        self.a_title.set_text(f"A: {history.epochs} epochs, test loss {_last(history.test_loss)}, "
                              f"accuracy {_percent(history.test_acc)}")

    def _describe(self):
        history = self.run.history
        if history.diverged:
            text = f"diverged at epoch {history.diverged_at}: lower the learning rate (lr = {self.run.history.settings['lr']:g})"
        elif not history.train_loss:
            text = "epoch 0: press play, or step"
        else:
            text = (f"epoch {history.epochs}: train loss {_last(history.train_loss)}, test loss {_last(history.test_loss)}"
                    f", gap {history.gap:+.3f}; test accuracy {_percent(history.test_acc)}")
        settings = history.settings
        if settings["penalty"] != "none" and settings["lambd"] == 0:
            text += f"  ({settings['penalty'].upper()} with λ = 0: the penalty is off)"
        if settings["optimizer"] == "AdamW":
            text += f"  (AdamW's decoupled weight decay {settings['weight_decay']:g})"
        if self.a is not None and history.test_loss:
            a = self.a["history"]
            text += f"  (A: test loss {_last(a.test_loss)})"
        colour = "#c0392b" if history.diverged else "inherit"
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"


def _weakly(method):
    """A callback for a widget that calls ``method`` (bound) while its object lives, and holds it weakly."""
    ref = weakref.WeakMethod(method)

    def call(*_args):
        bound = ref()
        if bound is not None and not bound.__self__.closed:
            bound()

    return call


def _last(values) -> str:
    return f"{values[-1]:.3f}" if values else "–"


def _percent(values) -> str:
    return f"{100 * values[-1]:.1f} %" if values else "–"


@on_course_device
def playground(**settings) -> Playground:
    """Build the playground (``wd_helpers.widgets.playground(dataset="spiral", layers=(8, 8))``); display it by
    leaving it as a cell's last expression. Settings as Playground's."""
    return Playground(**settings)
