"""Plots of ClassifierHistory results (the dropout notebook), made once and updated in place.

Like ``plots``: functions take ``ax=None`` and return the plot object; nothing here trains or
calls ``plt.show()``.
"""

import math
from collections.abc import Sequence

from matplotlib.axes import Axes

from .classify import ClassifierHistory
from .plots import TEST_COLOR, TRAIN_COLOR, _axes, _finite_or_nan, log_axis

GAP_COLOR = "tab:red"


def describe_classifier(history: ClassifierHistory) -> str:
    """One line for a title or a readout: final losses and test accuracy, or where the run diverged."""
    if history.diverged:
        return f"diverged at epoch {history.diverged_at}: lower the learning rate (lr = {history.options['lr']:.3g})"
    return (f"train loss {history.final_train_loss:.3g}   test loss {history.final_test_loss:.3g}"
            f"   test accuracy {100 * history.test_acc[-1]:.1f}%")


class ClassifierCurves:
    """Loss (log scale) and accuracy per epoch, train and test, with an optional faint baseline run."""

    def __init__(self, axes: Sequence[Axes] | None = None, *, num_epochs: int = 40, loss_ylim=None,
                 acc_ylim=None, baseline_label: str | None = "no dropout"):
        """``loss_ylim`` / ``acc_ylim``: fixed limits (the explorer), or None to fit each update.
        ``baseline_label``: the legend entry of the faint baseline curves (None: no baseline entry)."""
        self.ax_loss, self.ax_acc = axes if axes is not None else _axes(None, ncols=2)
        self.loss_ylim, self.acc_ylim = loss_ylim, acc_ylim
        self.lines = {}
        for ax, what in ((self.ax_loss, "loss"), (self.ax_acc, "accuracy")):
            for split, colour in (("train", TRAIN_COLOR), ("test", TEST_COLOR)):
                (self.lines[split, what],) = ax.plot([], [], color=colour, label=f"{split} {what}")
            label = f"test {what}, {baseline_label}" if baseline_label else "_baseline"  # "_": not in the legend
            (self.lines["baseline", what],) = ax.plot([], [], color=TEST_COLOR, alpha=0.4, linestyle="--", label=label)
            ax.set(xlabel="epoch", ylabel=what, xlim=(1, max(num_epochs, 2)))
            ax.grid(True, which="major", alpha=0.3)
        self.ax_loss.set_yscale("log")
        log_axis(self.ax_loss.yaxis)
        if loss_ylim is not None:
            self.ax_loss.set_ylim(*loss_ylim)
        if acc_ylim is not None:
            self.ax_acc.set_ylim(*acc_ylim)
        self.ax_loss.legend(loc="lower left", fontsize="small")
        self.ax_acc.legend(loc="lower right", fontsize="small")
        self.message = self.ax_loss.text(0.5, 0.5, "", transform=self.ax_loss.transAxes, ha="center",
                                         va="center", color="tab:red", fontsize="large")
        self.artists = [*self.lines.values(), self.message]

    def update(self, history: ClassifierHistory, baseline: ClassifierHistory | None = None) -> "ClassifierCurves":
        epochs = history.epochs
        for split, loss, acc in (("train", history.train_loss, history.train_acc),
                                 ("test", history.test_loss, history.test_acc)):
            self.lines[split, "loss"].set_data(epochs, loss)
            self.lines[split, "accuracy"].set_data(epochs, acc)
        base = baseline if baseline is not None else ClassifierHistory([], [], [], [], None)
        self.lines["baseline", "loss"].set_data(base.epochs, base.test_loss)
        self.lines["baseline", "accuracy"].set_data(base.epochs, base.test_acc)
        self.message.set_text(f"diverged at epoch {history.diverged_at}" if history.diverged else "")
        num_epochs = max(history.options.get("num_epochs", 1), 2)
        for ax, fixed in ((self.ax_loss, self.loss_ylim), (self.ax_acc, self.acc_ylim)):
            if fixed is None:
                ax.set_xlim(1, num_epochs)
                ax.relim(visible_only=True)
                ax.autoscale_view(scalex=False)
        if self.acc_ylim is None:
            self.ax_acc.set_ylim(top=min(self.ax_acc.get_ylim()[1], 1.01))  # accuracy never exceeds 1
        return self


def plot_classifier_history(history: ClassifierHistory, axes: Sequence[Axes] | None = None, *,
                            baseline: ClassifierHistory | None = None) -> ClassifierCurves:
    """Draw one ClassifierHistory (loss and accuracy); returns the ClassifierCurves."""
    curves = ClassifierCurves(axes, num_epochs=history.options.get("num_epochs", 40),
                              baseline_label="no dropout" if baseline is not None else None)
    return curves.update(history, baseline)


class DropoutSweepPlot:
    """Final train loss, test loss and their gap (test − train) against the dropout rate."""

    def __init__(self, ax: Axes | None = None, *, xlabel: str = "dropout rate p"):
        self.ax = ax = _axes(ax)
        (self.train_line,) = ax.plot([], [], "o-", ms=3, color=TRAIN_COLOR, label="final train loss")
        (self.test_line,) = ax.plot([], [], "o-", ms=3, color=TEST_COLOR, label="final test loss")
        (self.gap_line,) = ax.plot([], [], "s--", ms=3, color=GAP_COLOR, label="gap: test − train")
        self.best = ax.axvline(math.nan, color=TEST_COLOR, alpha=0.4, linestyle=":", label="lowest test loss")
        ax.set(xlabel=xlabel, ylabel="loss")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")

    def update(self, rates: Sequence[float], histories: Sequence[ClassifierHistory]) -> "DropoutSweepPlot":
        train = _finite_or_nan(h.final_train_loss for h in histories)
        test = _finite_or_nan(h.final_test_loss for h in histories)
        self.train_line.set_data(rates, train)
        self.test_line.set_data(rates, test)
        self.gap_line.set_data(rates, [b - a for a, b in zip(train, test)])
        finite = [(t, p) for t, p in zip(test, rates) if math.isfinite(t)]
        best = min(finite)[1] if finite else math.nan
        self.best.set_xdata([best, best])
        self.ax.relim()
        self.ax.autoscale_view()
        return self


def plot_dropout_sweep(rates: Sequence[float], histories: Sequence[ClassifierHistory],
                       ax: Axes | None = None) -> DropoutSweepPlot:
    """Draw a dropout-rate sweep (from ``sweep_dropout``); returns the DropoutSweepPlot."""
    return DropoutSweepPlot(ax).update(rates, histories)
