"""The dropout explorer: two dropout-rate sliders and the training-set size; loss and accuracy per epoch."""

import ipywidgets as widgets

from ..classify import DEFAULT_NUM_EPOCHS, sweep_dropout
from ..classify_plots import ClassifierCurves, describe_classifier
from ..data import load_course_images
from ..device import on_course_device
from ._live import Explorer

RATE_SLIDER = {"min": 0.0, "max": 0.9, "step": 0.05}  # p = 1 would drop every unit: nothing to learn
N_TRAIN_CHOICES = (100, 200, 300, 500, 800, 1200)
LOSS_RANGE = (1e-4, 1e1)


def _check_rate(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not RATE_SLIDER["min"] <= p <= RATE_SLIDER["max"]:
        raise ValueError(f"{name} must be in [{RATE_SLIDER['min']}, {RATE_SLIDER['max']}], got {p!r}")
    return float(p)


class DropoutExplorer(Explorer):
    """Dropout rates p₁, p₂ and the training-set size: the MLP retrains, loss and accuracy redraw.

    The faint dashed curves are the same model without dropout (trained once per training-set
    size). A retrain takes a few tenths of a second, so the sliders act when released and a progress
    bar runs meanwhile; the figure keeps the last finished result until the new one is ready.
    """

    def __init__(self, *, dropout1=0.2, dropout2=0.5, n_train=None, num_epochs=DEFAULT_NUM_EPOCHS, seed=0,
                 root=None):
        dropout1, dropout2 = _check_rate("dropout1", dropout1), _check_rate("dropout2", dropout2)
        if n_train is not None and (isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 10):
            raise ValueError(f"n_train must be an integer >= 10 (or None: the data's own size), got {n_train!r}")
        if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or not 1 <= num_epochs <= 500:
            raise ValueError(f"num_epochs must be an integer in [1, 500], got {num_epochs!r}")
        self.num_epochs, self.seed, self.root = num_epochs, seed, root
        self._data, self._baselines = {}, {}  # n_train -> ImageData, n_train -> the no-dropout run
        if n_train is None:  # the notebook's training set: 300 digits, or 2 000 Fashion-MNIST images
            default, _ = load_course_images(root, seed=seed)
            n_train = default.n_train
            self._data[n_train] = default
        self.n_train_choices = tuple(sorted({*N_TRAIN_CHOICES, n_train}))  # the data's own size is always one
        style, layout = {"description_width": "initial"}, widgets.Layout(width="360px")
        rate = dict(RATE_SLIDER, continuous_update=False, readout_format=".2f", style=style, layout=layout)
        controls = {
            "dropout1": widgets.FloatSlider(value=dropout1, description="dropout p₁ (hidden layer 1)", **rate),
            "dropout2": widgets.FloatSlider(value=dropout2, description="dropout p₂ (hidden layer 2)", **rate),
            "n_train": widgets.SelectionSlider(options=self.n_train_choices, value=n_train, continuous_update=False,
                                               description="training images", style=style, layout=layout),
        }
        self.progress = widgets.IntProgress(value=0, min=0, max=num_epochs, description="training",
                                            layout=widgets.Layout(visibility="hidden"))
        super().__init__(controls, figsize=(9, 3.4))
        self.curves = ClassifierCurves(self.figure.subplots(1, 2), num_epochs=num_epochs,
                                       loss_ylim=LOSS_RANGE, acc_ylim=(0.0, 1.02))
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([*self.curves.artists, self.title])
        self.baseline = None
        self.widget = widgets.VBox([
            widgets.HBox([controls["dropout1"], controls["dropout2"]]),
            widgets.HBox([controls["n_train"], self.progress]),
            self.status, self.live.view,
        ])
        self._on_change()

    def data(self, n_train: int):
        """The training data with ``n_train`` images (Fashion-MNIST if present in ``root``, else digits)."""
        if n_train not in self._data:
            self._data[n_train], _ = load_course_images(self.root, seed=self.seed, n_train=n_train)
        return self._data[n_train]

    def _show_progress(self, epoch, _num_epochs):
        self.progress.value = epoch

    def compute(self, key):
        p1, p2, n_train = key
        data = self.data(n_train)
        rates = [(p1, p2)]
        if n_train not in self._baselines and (p1, p2) != (0.0, 0.0):
            rates.insert(0, (0.0, 0.0))  # the no-dropout baseline, trained alongside in the same run
        self.status.value = f"<i>training p₁ = {p1:.2f}, p₂ = {p2:.2f} on {n_train} images…</i>"
        self.progress.value, self.progress.layout.visibility = 0, "visible"
        try:
            runs = sweep_dropout(rates, data=data, seed=self.seed, num_epochs=self.num_epochs,
                                 progress=self._show_progress)
        finally:
            self.progress.layout.visibility = "hidden"
        self._baselines.setdefault(n_train, runs[0])
        return runs[-1], self._baselines[n_train], data.name

    def draw(self, key, result):
        p1, p2, n_train = key
        history, baseline, name = result
        self.history, self.baseline = history, baseline
        no_dropout = (p1, p2) == (0.0, 0.0)
        self.curves.update(history, None if no_dropout else baseline)
        summary = describe_classifier(history)
        if not no_dropout and not baseline.diverged:
            summary += f"   (no dropout: test loss {baseline.final_test_loss:.3g})"
        self.title.set_text(f"p₁ = {p1:.2f}, p₂ = {p2:.2f}, {n_train} {name} training images\n{summary}")
        self.show_outcome(self.title, summary, failed=history.diverged)


@on_course_device
def dropout_explorer(**options) -> DropoutExplorer:
    """Build the dropout explorer; display it by leaving it as a cell's last expression."""
    return DropoutExplorer(**options)
