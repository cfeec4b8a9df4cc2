"""Plots of Histories and sweeps. Each plot is made once and then updated in place.

Functions take ``ax=None`` (a new figure is made then) and return the plot object; nothing
here calls ``plt.show()`` or trains anything.
"""

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

from .train import History

TRAIN_COLOR, TEST_COLOR, NORM_COLOR = "tab:blue", "tab:orange", "tab:green"


def _axes(ax: Axes | None, ncols: int = 1):
    if ax is not None:
        return ax
    _, ax = plt.subplots(1, ncols, figsize=(5 * ncols, 3.6), layout="constrained")
    return ax


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _position=None) -> str:
    """Tick label 10ⁿ in plain text: the default mathtext labels cost several ms per redraw."""
    exponent = math.log10(value) if value > 0 else math.nan
    if not math.isfinite(exponent) or abs(exponent - round(exponent)) > 1e-9:
        return ""
    return "10" + str(round(exponent)).translate(_SUPERSCRIPT)


def log_axis(axis) -> None:
    """Label a log-scaled axis with plain-text powers of ten and no minor labels."""
    axis.set_major_formatter(FuncFormatter(_power_of_ten))
    axis.set_minor_formatter(NullFormatter())


def _finite_or_nan(values):
    return [v if math.isfinite(v) else math.nan for v in values]


def describe(history: History) -> str:
    """One line for a title or a readout: the final ‖w‖ and losses, or where the run diverged."""
    if history.diverged:
        return f"diverged at epoch {history.diverged_at}: lower the learning rate (lr = {history.lr:.3g})"
    return (
        f"‖w‖ = {history.w_norm:.3g}   train loss {history.final_train_loss:.3g}"
        f"   test loss {history.final_test_loss:.3g}"
    )


class LossCurves:
    """Train and test loss per epoch on a log scale, plus an optional faint baseline test curve."""

    def __init__(self, ax: Axes | None = None, *, num_epochs: int = 100, ylim=None):
        self.ax = ax = _axes(ax)
        self.ylim = ylim  # fixed limits (the explorers: curves move, axes stay) or None: autoscale
        (self.train_line,) = ax.plot([], [], color=TRAIN_COLOR, label="train loss")
        (self.test_line,) = ax.plot([], [], color=TEST_COLOR, label="test loss")
        (self.baseline_line,) = ax.plot(
            [], [], color=TEST_COLOR, alpha=0.35, linestyle="--", label="test loss, λ = 0"
        )
        ax.set(xlabel="epoch", ylabel="loss", yscale="log", xlim=(1, num_epochs))
        log_axis(ax.yaxis)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
        self.message = ax.text(
            0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", color="tab:red",
            fontsize="large",
        )
        self.artists = [self.train_line, self.test_line, self.baseline_line, self.message]

    def update(self, history: History, baseline: History | None = None) -> "LossCurves":
        self.train_line.set_data(history.epochs, history.train_loss)
        self.test_line.set_data(history.epochs, history.test_loss)
        if baseline is None:
            self.baseline_line.set_data([], [])
        else:
            self.baseline_line.set_data(baseline.epochs, baseline.test_loss)
        self.baseline_line.set_visible(baseline is not None)
        self.message.set_text(f"diverged at epoch {history.diverged_at}" if history.diverged else "")
        if self.ylim is None:
            self.ax.set_xlim(1, max(history.options.get("num_epochs", 1), 2))
            self.ax.relim(visible_only=True)
            self.ax.autoscale_view(scalex=False)
        return self


class NormCurve:
    """‖w‖ per epoch: weight decay pulls it down, epoch after epoch."""

    def __init__(self, ax: Axes | None = None, *, num_epochs: int = 100, ylim=None):
        self.ax = ax = _axes(ax)
        self.ylim = ylim
        (self.line,) = ax.plot([], [], color=NORM_COLOR, label="‖w‖")
        ax.set(xlabel="epoch", ylabel="‖w‖", yscale="log", xlim=(1, num_epochs))
        log_axis(ax.yaxis)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.grid(True, which="major", alpha=0.3)
        self.artists = [self.line]

    def update(self, history: History) -> "NormCurve":
        self.line.set_data(history.epochs, history.w_norms)
        if self.ylim is None:
            self.ax.set_xlim(1, max(history.options.get("num_epochs", 1), 2))
            self.ax.relim()
            self.ax.autoscale_view(scalex=False)
        return self


def plot_history(history: History, ax: Axes | None = None, *, baseline: History | None = None):
    """Draw one History's loss curves; returns the LossCurves (call ``.update`` to redraw)."""
    return LossCurves(ax, num_epochs=history.options.get("num_epochs", 100)).update(history, baseline)


class SweepPlot:
    """Final train/test loss and ‖w‖ against λ (log x). λ = 0 is drawn as dotted levels."""

    def __init__(self, axes: Sequence[Axes] | None = None):
        self.ax_loss, self.ax_norm = axes if axes is not None else _axes(None, ncols=2)
        (self.train_line,) = self.ax_loss.plot([], [], "o-", ms=3, color=TRAIN_COLOR, label="train loss")
        (self.test_line,) = self.ax_loss.plot([], [], "o-", ms=3, color=TEST_COLOR, label="test loss")
        (self.norm_line,) = self.ax_norm.plot([], [], "o-", ms=3, color=NORM_COLOR, label="‖w‖")
        self.zero_levels = [
            self.ax_loss.axhline(math.nan, color=TRAIN_COLOR, ls=":", alpha=0.6),
            self.ax_loss.axhline(math.nan, color=TEST_COLOR, ls=":", alpha=0.6, label="λ = 0"),
            self.ax_norm.axhline(math.nan, color=NORM_COLOR, ls=":", alpha=0.6, label="λ = 0"),
        ]
        self.ax_loss.set(xscale="log", yscale="log", xlabel="λ", ylabel="final loss")
        self.ax_norm.set(xscale="log", yscale="log", xlabel="λ", ylabel="final ‖w‖")
        for ax in (self.ax_loss, self.ax_norm):
            log_axis(ax.xaxis)
            log_axis(ax.yaxis)
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize="small")

    def update(self, histories: Sequence[History]) -> "SweepPlot":
        positive = [h for h in histories if h.lambd > 0]
        lambdas = [h.lambd for h in positive]
        self.train_line.set_data(lambdas, _finite_or_nan(h.final_train_loss for h in positive))
        self.test_line.set_data(lambdas, _finite_or_nan(h.final_test_loss for h in positive))
        self.norm_line.set_data(lambdas, _finite_or_nan(h.w_norm for h in positive))
        zero = next((h for h in histories if h.lambd == 0), None)
        levels = (zero.final_train_loss, zero.final_test_loss, zero.w_norm) if zero else (math.nan,) * 3
        for line, level in zip(self.zero_levels, levels):
            line.set_ydata([level, level] if math.isfinite(level) else [math.nan, math.nan])
        for ax in (self.ax_loss, self.ax_norm):
            ax.relim()
            ax.autoscale_view()
        return self


def plot_sweep(histories: Sequence[History], axes: Sequence[Axes] | None = None) -> SweepPlot:
    """Draw a λ sweep (from ``sweep_weight_decay``); returns the SweepPlot."""
    return SweepPlot(axes).update(histories)


def draw_contours(f, ax: Axes | None = None, *, xlim=(-6.0, 6.0), ylim=(-3.0, 3.0), levels=20):
    """Contours of a 2-D function over a window; returns the ContourSet (its ``.axes`` is the axes).

    ``f`` takes a stacked (2, ...) tensor, written with x[0] and x[1], so the grid is one call.
    """
    import torch  # only for the grid: plotting code never trains

    ax = _axes(ax)
    X1, X2 = torch.meshgrid(torch.linspace(*xlim, 200), torch.linspace(*ylim, 200), indexing="xy")
    Z = f(torch.stack([X1, X2]))
    contours = ax.contour(X1.numpy(), X2.numpy(), Z.numpy(), levels=levels, colors="#bbbbbb", linewidths=0.7)
    ax.set(xlim=xlim, ylim=ylim, xlabel="x₁", ylabel="x₂")
    return contours


def _finite_rows(points) -> tuple[list[float], list[float]]:
    rows = [row for row in points.tolist() if all(math.isfinite(v) for v in row)]
    return [r[0] for r in rows], [r[1] for r in rows]


class TrajectoryPlot:
    """An optimizer's path over the contours of f (drawn once); the path updates in place.

    Points outside the window are clipped, not rescaled to; rows that are NaN (after a
    divergence) are skipped.
    """

    def __init__(self, f, ax: Axes | None = None, **window):
        self.contours = draw_contours(f, ax, **window)
        self.ax = self.contours.axes
        (self.path,) = self.ax.plot([], [], "-o", ms=2.5, lw=1.2, color="tab:orange")
        (self.start,) = self.ax.plot([], [], "o", ms=6, color="black")
        (self.end,) = self.ax.plot([], [], "*", ms=10, color="tab:red")
        self.artists = [self.path, self.start, self.end]

    def set_function(self, f, **window) -> "TrajectoryPlot":
        """Replace the contours (a new function or window); the caller redraws the background."""
        self.contours.remove()
        self.contours = draw_contours(f, self.ax, **window)
        return self

    def update(self, points) -> "TrajectoryPlot":
        xs, ys = _finite_rows(points)
        self.path.set_data(xs, ys)
        self.start.set_data(xs[:1], ys[:1])
        self.end.set_data(xs[-1:], ys[-1:])
        return self


def plot_trajectories(f, paths: dict, ax: Axes | None = None, **window) -> Axes:
    """Several labelled paths {label: points (steps + 1, 2)} over the contours of f."""
    ax = draw_contours(f, ax, **window).axes
    for label, points in paths.items():
        ax.plot(*_finite_rows(points), "-o", ms=2, lw=1, label=label)
    ax.legend(fontsize="small", loc="upper right")
    return ax


class LossPerStep:
    """f(x_t) against the step t on a log scale, updatable in place."""

    def __init__(self, ax: Axes | None = None, *, steps: int = 50, ylim=None):
        self.ax = ax = _axes(ax)
        self.ylim = ylim
        (self.line,) = ax.plot([], [], color="tab:orange")
        ax.set(xlabel="step", ylabel="f(x)", yscale="log", xlim=(0, steps))
        log_axis(ax.yaxis)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.grid(True, which="major", alpha=0.3)
        self.artists = [self.line]

    def update(self, losses) -> "LossPerStep":
        values = _finite_or_nan(losses.tolist() if hasattr(losses, "tolist") else losses)
        self.line.set_data(range(len(values)), values)
        if self.ylim is None:
            self.ax.set_xlim(0, max(len(values) - 1, 1))
            self.ax.relim()
            self.ax.autoscale_view(scalex=False)
        return self
