"""The dropout explorer: two dropout-rate sliders and the training-set size; loss and accuracy per epoch."""

import numbers
import os

import ipywidgets as widgets

from .. import validate
from ..classify import DEFAULT_NUM_EPOCHS, sweep_dropout
from ..classify_plots import ClassifierCurves, describe_classifier
from ..data import load_course_images
from ..device import on_course_device
from ._controls import FloatSlider, SelectionSlider, check_float
from . import _lifetime
from ._live import Explorer

RATE_SLIDER = {"min": 0.0, "max": 0.9, "step": 0.05}  # p = 1 would drop every unit: nothing to learn
N_TRAIN_CHOICES = (100, 200, 300, 500, 800, 1200)
LOSS_RANGE = (1e-4, 1e1)


def _check_rate(name: str, p) -> float:
    """A dropout rate on the slider: in [0, 0.9], on its steps of 0.05 (a named TypeError for a non-number)."""
    if isinstance(p, numbers.Real) and not isinstance(p, bool) and not RATE_SLIDER["min"] <= p <= RATE_SLIDER["max"]:
        raise ValueError(f"{name} must be in [{RATE_SLIDER['min']}, {RATE_SLIDER['max']}], got {p!r}")  # NaN too
    return check_float(name, p, RATE_SLIDER)


def _check_root(root):
    """None (the default data folder) or a folder path: a str or os.PathLike (validate.py has no path check)."""
    if isinstance(root, str) and not root:
        raise ValueError("root must be a non-empty folder path (or None: the default data folder), got ''")
    if root is None or isinstance(root, str | os.PathLike):
        return root
    raise TypeError(f"root must be a folder path (a str or os.PathLike) or None, got {type(root).__name__} "
                    f"{root!r:.60}")


_FIXED_TEST_SET = "Fashion-MNIST"  # load_course_images keeps its whole official test set at every size


def _cut_from_loaded(loaded, n_train, root):
    """load_course_images(root, seed, n_train=n_train) for Fashion-MNIST, cut from ``loaded`` (ImageData of
    the same root and seed) without reading the files again; None where nothing loaded can give it.

    The loader keeps the first n_train images of one seeded, stratified order, so a size is the prefix
    of any larger size, and the test set is the same at every size. That holds for a loaded set smaller
    than the whole training file only (the whole file comes in file order). The cut is views of the
    loaded tensors: no copy. tests/test_memory.py checks it against the loader, size by size.
    """
    # imported here, not at the top, only because another change to this module's imports was in progress
    from dataclasses import replace
    from pathlib import Path

    from ..data import FASHION_MNIST_FILES, DataError, default_data_root, read_idx

    if isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1:
        return None  # the loader says what is wrong with it
    larger = [data for data in loaded if data.name == _FIXED_TEST_SET and data.n_train > n_train]
    if not larger:
        return None
    source = min(larger, key=lambda data: data.n_train)
    folder = default_data_root() if root is None else Path(root).expanduser()  # as load_course_images
    try:  # how many training images the files hold (the labels file: 60 kB)
        whole = len(read_idx(folder / FASHION_MNIST_FILES[1], ndim=1))
    except (OSError, DataError):
        return None
    if source.n_train >= whole:
        return None
    return replace(source, X_train=source.X_train[:n_train], y_train=source.y_train[:n_train])


class DropoutExplorer(Explorer):
    """Dropout rates p₁, p₂ and the training-set size: the MLP retrains, loss and accuracy redraw.

    The faint dashed curves are the same model without dropout (trained once per training-set
    size). A retrain takes a few tenths of a second, so the sliders act when released and a progress
    bar runs meanwhile; the figure keeps the last finished result until the new one is ready.
    """

    @on_course_device
    def __init__(self, *, dropout1=0.2, dropout2=0.5, n_train=None, num_epochs=DEFAULT_NUM_EPOCHS, seed=0,
                 root=None):
        # every argument is checked before any widget exists (and before the data is loaded)
        dropout1, dropout2 = _check_rate("dropout1", dropout1), _check_rate("dropout2", dropout2)
        # (a ValueError for a string too, as this message always was: tests and notebooks quote it)
        if n_train is not None and (isinstance(n_train, bool) or not isinstance(n_train, numbers.Integral)
                                    or n_train < 10):
            raise ValueError(f"n_train must be an integer >= 10 (or None: the data's own size), got {n_train!r}")
        n_train = None if n_train is None else int(n_train)
        num_epochs = validate.integer("num_epochs", num_epochs, low=1, high=500)
        self.num_epochs, self.seed, self.root = num_epochs, validate.seed(seed), _check_root(root)
        self._data, self._baselines = {}, {}  # n_train -> ImageData, n_train -> the no-dropout run
        if n_train is None:  # the notebook's training set: 300 digits, or 2 000 Fashion-MNIST images
            default, _ = load_course_images(root, seed=seed)
            n_train = default.n_train
            self._data[n_train] = default
        else:
            self.data(n_train)  # now, not at the first draw: more images than the data holds is refused here
        self.n_train_choices = tuple(sorted({*N_TRAIN_CHOICES, n_train}))  # the data's own size is always one
        style, layout = {"description_width": "initial"}, widgets.Layout(width="360px")
        rate = dict(RATE_SLIDER, continuous_update=False, readout_format=".2f", style=style, layout=layout)
        controls = {
            "dropout1": FloatSlider(name="dropout1", value=dropout1, description="dropout p₁ (hidden layer 1)", **rate),
            "dropout2": FloatSlider(name="dropout2", value=dropout2, description="dropout p₂ (hidden layer 2)", **rate),
            "n_train": SelectionSlider(name="n_train", options=self.n_train_choices, value=n_train,
                                       continuous_update=False, description="training images", style=style,
                                       layout=layout),
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
        """The training data with ``n_train`` images, as load_course_images(root, seed=seed, n_train=n_train)
        gives it (Fashion-MNIST if present in ``root``, else digits).

        Fashion-MNIST is read once: a smaller size is cut from a larger one already loaded (see
        _cut_from_loaded: views, so every size shares one copy of the 10 000 test images, 31 MB). The
        digits' test set is "the rest", which changes with the size: each size is loaded (a few ms).
        """
        if n_train not in self._data:
            cut = _cut_from_loaded(self._data.values(), n_train, self.root)
            self._data[n_train] = cut if cut is not None else load_course_images(
                self.root, seed=self.seed, n_train=n_train)[0]
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
            _lifetime.trim()  # the run's activations (10 000 test images per epoch) are freed, not resident
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
