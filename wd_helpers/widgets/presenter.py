"""Presenter mode: every explorer of the course as a page for a projector, with the lesson's turning points
one click away.

``EXHIBITS`` lists the explorers an instructor shows in class: which lesson each comes from, what it shows,
the two lines of the caption (what it shows, what to try), the settings it opens with, and its presets: the
moments the lesson turns on ("λ = 0 → 3 at lr 0.003", "lr past the bound", "p = 0 vs 0.5"), each one click
that sets several controls at once and retrains once (``Explorer.set``). ``present(key)`` builds one:

    present("weight_decay")      # in a notebook, or as a Voilà page (presenter/explorers/, `make present`)

The page is sized for a projector: the figure is rendered 1 280 px wide whatever its size in inches (fonts
scale with it) and the course's Voilà template scales it to the window; controls are enlarged there too
(class ``course-presenter``). The same list feeds the gallery that `make present` opens (presenter/build.py).
"""

import html
import weakref
from dataclasses import dataclass, field

import ipywidgets as widgets

from . import (
    activation_explorer, coin_explorer, dropout_explorer, gradient_depth_explorer, momentum_explorer,
    optimizer_explorer, outlier_explorer, schedule_explorer, weight_decay_explorer,
)
from . import _lifetime
from ._live import Explorer, _widget_tree

PROJECTOR_WIDTH_PX = 1280  # the figure's width in pixels on a presenter page, whatever its size in inches
CSS_CLASS = "course-presenter"  # the course's Voilà template enlarges what is inside it (controls, figure)
# the page's height above an explorer's figure, for the presenter template's sizes (links, title, caption,
# presets, status line), and per row of the explorer's controls: the figure gets the rest of the window
ABOVE_THE_FIGURE_PX, CONTROL_ROW_PX = 290, 46


@dataclass(frozen=True)
class Preset:
    """One click of a presenter: ``values`` (control name → value, set in this order) under ``label``."""

    label: str
    values: dict
    says: str  # the tooltip: what the audience should see


@dataclass(frozen=True)
class Exhibit:
    """An explorer as the presenter shows it."""

    key: str
    title: str
    lesson: str  # the notebook it comes from (notebooks/<lesson>)
    shows: str  # caption, first line: what the figure shows
    try_this: str  # caption, second line: what to do with it in class
    build: object  # the factory in wd_helpers.widgets
    options: dict = field(default_factory=dict)  # the settings it opens with (the lesson's)
    presets: tuple = ()

    @property
    def caption(self) -> tuple[str, str]:
        return self.shows, self.try_this

    @property
    def page(self) -> str:
        """Its Voilà page, relative to the repository (written by presenter/build.py): `make present` serves it."""
        return f"presenter/explorers/{self.lesson.split('_')[0]}_{self.key}.ipynb"


EXHIBITS = {exhibit.key: exhibit for exhibit in (
    Exhibit(
        "activations", "Activation functions and their slopes", "01_activations.ipynb",
        "Each activation and its derivative: where the slope is flat, gradients stop.",
        "Widen the input range on sigmoid (it saturates), then compare ReLU and ELU.",
        activation_explorer, {"activation": "sigmoid", "x_range": 6.0},
        (Preset("sigmoid, |x| ≤ 6", {"activation": "sigmoid", "x_range": 6.0},
                "slope at most 0.25, at x = 0; below 0.01 at the edges"),
         Preset("sigmoid, |x| ≤ 20", {"activation": "sigmoid", "x_range": 20.0},
                "saturated: the slope is below 0.01 on three quarters of the range"),
         Preset("ReLU", {"activation": "ReLU", "x_range": 6.0}, "slope exactly 1 for x > 0, exactly 0 for x < 0"),
         Preset("ELU, α = 1.5", {"activation": "ELU", "alpha": 1.5, "x_range": 6.0},
                "smooth below 0; its largest slope is α = 1.5, at 0")),
    ),
    Exhibit(
        "gradient_depth", "Vanishing gradients with depth", "01_activations.ipynb",
        "The gradient norm of each layer's weights at initialisation, first layer to last.",
        "Add layers with sigmoid and watch the first layers' gradient vanish; then switch to ReLU.",
        gradient_depth_explorer, {"activation": "sigmoid", "depth": 10},
        (Preset("sigmoid, 10 layers", {"activation": "sigmoid", "depth": 10},
                "the first layer gets 3e-06 of the last layer's gradient"),
         Preset("sigmoid, 30 layers", {"activation": "sigmoid", "depth": 30}, "5e-16 of it: vanished"),
         Preset("ReLU, 30 layers", {"activation": "ReLU", "depth": 30}, "0.073 of it: no exponential decay")),
    ),
    Exhibit(
        "outlier", "One outlier against three losses", "02_losses.ipynb",
        "Lines fitted by L1, MSE and Huber to twenty points, one of which you drag away.",
        "Move the last point by 50: MSE's line tilts, L1's and Huber's hardly move.",
        outlier_explorer, {"outlier": 0.0},
        (Preset("no outlier", {"outlier": 0.0}, "the three slopes agree, near 2.1"),
         Preset("outlier +50", {"outlier": 50.0}, "MSE's slope moves by 1.36, L1's by 0.05, Huber's by 0.06"),
         Preset("outlier −40", {"outlier": -40.0}, "MSE's slope falls by 1.09; L1's does not move")),
    ),
    Exhibit(
        "coin", "The coin's negative log-likelihood", "02_losses.ipynb",
        "The NLL of θ for a coin that showed some heads in some flips; its minimum is heads / flips.",
        "Same 70 % with 10 and with 100 flips: the minimum stays, the valley narrows.",
        coin_explorer, {"heads": 7, "flips": 10},
        (Preset("7 heads in 10", {"flips": 10, "heads": 7}, "the minimum is at θ = 0.7"),
         Preset("70 heads in 100", {"flips": 100, "heads": 70}, "the same minimum; 10× the NLL, so a narrower valley"),
         Preset("0 heads in 10", {"flips": 10, "heads": 0}, "the minimum runs to θ = 0, the edge")),
    ),
    Exhibit(
        "optimizer", "Optimizers on a valley", "03_optimizers.ipynb",
        "The path of an optimizer on a 2-D quadratic and f per step.",
        "SGD at η = 0.4, then past the bound 2/L = 0.5; then momentum, then Adam.",
        optimizer_explorer, {"optimizer": "SGD", "lr": 0.4, "steps": 20},
        (Preset("SGD η = 0.4", {"optimizer": "SGD", "lr": 0.4, "beta": 0.5, "beta2": 0.9},
                "zig-zags across the valley, crawls along it"),
         Preset("SGD η = 0.6: past the bound", {"optimizer": "SGD", "lr": 0.6, "beta": 0.5, "beta2": 0.9},
                "η > 2/L = 0.5: diverges along x₂"),
         Preset("Momentum η = 0.6, β = 0.5", {"optimizer": "Momentum", "lr": 0.6, "beta": 0.5, "beta2": 0.9},
                "the same η converges with momentum: f < 1e-4 in 20 steps"),
         Preset("Adam (torch's β)", {"optimizer": "Adam", "lr": 0.4, "beta": 0.9, "beta2": 0.999},
                "its first step is η in each coordinate, whatever the slope")),
    ),
    Exhibit(
        "momentum", "Momentum: rate and damping", "03b_momentum.ipynb",
        "Heavy ball on a valley: the path, ‖x_t‖ against the rate ρᵗ, and the (α, β) map of rates.",
        "Start at Polyak's optimum; then β = 0.9: the rate is √0.9 for every α up to the edge.",
        momentum_explorer, {"kappa": 10},
        (Preset("optimum, κ = 10", {"kappa": 10, "alpha": 2.31, "beta": 0.28}, "near Polyak's optimum: ρ within 0.02 of ρ*"),
         Preset("β = 0.9, α = 0.03", {"kappa": 10, "alpha": 0.03, "beta": 0.9}, "under-damped: ρ = √0.9 = 0.949"),
         Preset("β = 0.9, α = 4: past the edge", {"kappa": 10, "alpha": 4.0, "beta": 0.9},
                "past 2(1 + β)/L = 3.8: ρ > 1, diverges")),
    ),
    Exhibit(
        "schedules", "Learning-rate schedules and SGD noise", "03c_schedules_and_noise.ipynb",
        "Four seeded SGD runs: L − L* against the floor η·L*·tr(H)/B that the noise keeps them at.",
        "Constant η = 0.02: the runs sit on the floor; raise B, or pick a decaying schedule, to go below.",
        schedule_explorer, {"lr": 0.02, "batch_size": 1, "schedule": "constant"},
        (Preset("constant η = 0.02, B = 1", {"schedule": "constant", "lr": 0.02, "batch_size": 1},
                "settles within 0.7–1.45× of its floor"),
         Preset("B = 8", {"schedule": "constant", "lr": 0.02, "batch_size": 8}, "the floor falls 8× (1/B), the runs with it"),
         Preset("cosine to 0", {"schedule": "cosine to 0", "lr": 0.02, "batch_size": 1},
                "follows η_t down: ends more than 4× below the constant floor"),
         Preset("η = 0.1, B = 1: blows up", {"schedule": "constant", "lr": 0.1, "batch_size": 1},
                "η·tr(H)/B = 1: too large for one example")),
    ),
    Exhibit(
        "weight_decay", "Weight decay against overfitting", "04_weight_decay.ipynb",
        "Train and test loss per epoch, and ‖w‖, for 20 examples of 200 features (faint: λ = 0).",
        "λ from 0 to 3 at lr 0.003: the test loss falls, ‖w‖ below 1; then lr past the bound.",
        weight_decay_explorer, {"lambd": 0.0, "lr": 0.003},
        (Preset("λ = 0", {"lambd": 0.0, "lr": 0.003, "penalty": "l2"}, "fits the training set; test loss 192"),
         Preset("λ = 3 at lr 0.003", {"lambd": 3.0, "lr": 0.003, "penalty": "l2"}, "test loss 0.307; ‖w‖ = 0.391 < 1"),
         Preset("λ = 3, lr 0.03: past the bound", {"lambd": 3.0, "lr": 0.03, "penalty": "l2"}, "diverges"),
         Preset("L1, λ = 3", {"lambd": 3.0, "lr": 0.003, "penalty": "l1"}, "L1 instead: ‖w‖ = 0.076, test loss 0.032")),
    ),
    Exhibit(
        "dropout", "Dropout on a small training set", "05_dropout.ipynb",
        "Train and test loss and accuracy of an MLP on 300 digits (faint: without dropout).",
        "p₂ = 0, then 0.5: the test loss falls; both at 0.8: underfitting.",
        dropout_explorer, {"dropout1": 0.2, "dropout2": 0.5},
        (Preset("p = 0", {"dropout1": 0.0, "dropout2": 0.0}, "no dropout: train loss 0.001, test loss 0.28"),
         Preset("p₂ = 0.5", {"dropout1": 0.0, "dropout2": 0.5}, "test loss 0.17, down from 0.28"),
         Preset("both 0.8", {"dropout1": 0.8, "dropout2": 0.8}, "too much noise: the training loss stays above 0.1"),
         Preset("1 200 images", {"dropout1": 0.2, "dropout2": 0.5, "n_train": 1200},
                "more data: dropout lowers the test loss by less than on 300")),
    ),
)}


class Presentation:
    """An explorer with its title, two-line caption, presets and reset, sized for a projector.

    ``.explorer`` is the explorer itself; ``.buttons[label]`` the preset buttons, and ``"reset"``, which puts
    back the settings it opened with. Displays itself in Jupyter. Its widgets belong to the explorer: closing
    the explorer (or re-running the cell) closes them, and the buttons hold the explorer weakly.
    """

    def __init__(self, exhibit: Exhibit, explorer: Explorer):
        self.exhibit, self.explorer = exhibit, explorer
        existing = set(widgets.widget._instances)  # not ours to close (a layout shared at module level)
        self.initial = dict(zip(explorer.controls, explorer.values()))
        explorer.live.scale_to_width(PROJECTOR_WIDTH_PX)
        # on the page: the window's width, unless the window is too short for that height under the controls
        width, height = explorer.figure.get_size_inches()
        above = ABOVE_THE_FIGURE_PX + CONTROL_ROW_PX * (len(explorer.widget.children) - 2)  # minus status, figure
        explorer.live.view.layout.width = f"min(100%, calc((100vh - {above}px) * {width / height:.4f}))"
        explorer.live.redraw()
        target = weakref.ref(explorer)
        self.buttons = {}
        for preset in exhibit.presets:
            self.buttons[preset.label] = _button(preset.label, preset.says, target, preset.values)
        self.buttons["reset"] = _button("reset", "back to the settings it opened with", target, self.initial)
        shows, try_this = exhibit.caption
        self.header = widgets.HTML(
            f"<div class='{CSS_CLASS}-title'>{html.escape(exhibit.title)}</div>"
            f"<div class='{CSS_CLASS}-caption'>{html.escape(shows)}<br>{html.escape(try_this)}</div>")
        presets = widgets.HBox(list(self.buttons.values()))
        presets.add_class(f"{CSS_CLASS}-presets")
        self.widget = widgets.VBox([self.header, presets, explorer.widget])
        self.widget.add_class(CSS_CLASS)
        explorer._parts.extend(part for part in _widget_tree([self.widget]) if part.model_id not in existing)

    def apply(self, label: str) -> None:
        """Click the button ``label`` (a preset's label, or "reset") from code."""
        if label not in self.buttons:
            raise ValueError(f"label must be one of {', '.join(map(repr, self.buttons))}, got {label!r}")
        self.buttons[label].click()

    def _repr_mimebundle_(self, **kwargs):
        if self.explorer.closed:
            return self.explorer._repr_mimebundle_(**kwargs)
        _lifetime.pin(self.explorer)  # on screen: kept alive even if no variable holds it
        return self.widget._repr_mimebundle_(**kwargs)


def _button(label: str, says: str, target, values: dict) -> widgets.Button:
    """A button that sets ``values`` on the explorer ``target()`` with one retrain; a refusal (never expected:
    the tests click every preset) is shown in the explorer's status line, not raised into the page."""

    def click(_button):
        explorer = target()
        if explorer is None or explorer.closed:
            return
        try:
            explorer.set(**values)
        except Exception as error:  # noqa: BLE001 - a button must not break the page
            explorer.last_error = error
            explorer.status.value = f"<b style='color:#c0392b'>error: {type(error).__name__}: {html.escape(str(error))}</b>"

    button = widgets.Button(description=label, tooltip=says, icon="undo" if label == "reset" else "")
    button.add_class(f"{CSS_CLASS}-button")
    button.on_click(click)
    return button


def present(key: str) -> Presentation:
    """The explorer ``key`` (one of ``EXHIBITS``) as a presenter's page; leave it as a cell's last expression."""
    if key not in EXHIBITS:
        raise ValueError(f"key must be one of {', '.join(EXHIBITS)}, got {key!r}")
    exhibit = EXHIBITS[key]
    return Presentation(exhibit, exhibit.build(**exhibit.options))
