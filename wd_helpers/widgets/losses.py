"""Explorers for the losses lesson: one outlier against L1 / MSE / Huber; the coin's likelihood."""

import ipywidgets as widgets
import torch

from .. import validate
from ..experiments import LINE_LOSSES, fit_lines
from ..losses import negative_log_likelihood_coin
from ..device import on_course_device
from ._controls import FloatSlider, IntSlider, check_float, check_int
from ._live import Explorer

STYLE, LAYOUT = {"description_width": "initial"}, widgets.Layout(width="420px")
LINE_COLORS = {"L1": "tab:green", "MSE": "tab:red", "Huber": "tab:blue"}
OUTLIER_SLIDER = {"min": -40.0, "max": 60.0, "step": 1.0}
FLIPS_SLIDER = {"min": 1, "max": 200}


@on_course_device
def line_data(seed: int = 0):
    """20 points near y = 2x + 1 on [0, 10] (seeded noise); the last one becomes the outlier."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.linspace(0, 10, 20)
    return x, 2 * x + 1 + 0.5 * torch.randn(20, generator=generator)


def _hundredths(value: float) -> float:
    """value rounded to 2 decimals, with −0.0 made 0.0: a change of −0.004 prints as +0.00, not −0.00."""
    return round(value, 2) + 0.0


def _count(n: int, noun: str) -> str:
    """'1 head', '0 heads', '7 heads'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


class OutlierExplorer(Explorer):
    """Drag one point away from the others: the L1, MSE and Huber line fits redraw."""

    @on_course_device
    def __init__(self, *, outlier=0.0, seed=0):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        outlier = check_float("outlier", outlier, OUTLIER_SLIDER)
        self.x, self.y_clean = line_data(validate.seed(seed))
        controls = {"outlier": FloatSlider(name="outlier", value=outlier, **OUTLIER_SLIDER,
                                           description="move the last point by", style=STYLE, layout=LAYOUT)}
        super().__init__(controls, figsize=(6.5, 3.6))
        self.ax = self.figure.subplots()
        self.ax.plot(self.x[:-1], self.y_clean[:-1], "o", color="black", ms=4, label="data")
        (self.outlier_point,) = self.ax.plot([], [], "o", color="tab:red", ms=8, label="the moved point")
        self.lines = {name: self.ax.plot([], [], color=LINE_COLORS[name], label=f"{name} fit")[0] for name in LINE_LOSSES}
        self.ax.set(xlim=(-0.5, 10.5), ylim=(-30, 90), xlabel="x", ylabel="y")
        self.ax.legend(loc="upper left", fontsize="small")
        self.ax.grid(True, alpha=0.3)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([self.outlier_point, *self.lines.values(), self.title])
        self.fits = None
        self.clean_fits = fit_lines(self.x, self.y_clean)  # each loss's own line without the outlier
        self.widget = widgets.VBox([controls["outlier"], self.status, self.live.view])
        self._on_change()

    def compute(self, key):
        (outlier,) = key
        y = self.y_clean.clone()
        y[-1] += outlier
        return fit_lines(self.x, y)

    def draw(self, key, fits):
        (outlier,) = key
        self.fits = fits
        self.outlier_point.set_data([self.x[-1]], [self.y_clean[-1] + outlier])
        ends = torch.tensor([-0.5, 10.5])
        for name, (a, b) in fits.items():
            self.lines[name].set_data(ends, a * ends + b)
        # each slope against its own fit without the outlier (≈ 2.1, not exactly the true 2: the noise)
        text = "slope (change from no outlier): " + ", ".join(
            f"{name} {a:.2f} ({_hundredths(a - self.clean_fits[name][0]):+.2f})" for name, (a, _) in fits.items())
        self.title.set_text(text)
        self.status.value = text


class CoinExplorer(Explorer):
    """Heads and flips sliders: the negative log-likelihood over θ and its minimum at θ = heads/flips."""

    @on_course_device  # θ's grid is made here: on the CPU whatever torch's default device
    def __init__(self, *, heads=7, flips=10):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        flips = check_int("flips", flips, FLIPS_SLIDER)
        heads = check_int(f"heads (at most flips = {flips})", heads, {"min": 0, "max": flips})
        flips_slider = IntSlider(name="flips", value=flips, **FLIPS_SLIDER, description="flips", style=STYLE,
                                 layout=LAYOUT)
        heads_slider = IntSlider(name="heads", value=heads, min=0, max=flips, description="heads", style=STYLE,
                                 layout=LAYOUT)
        # registered before the explorer's own observer: heads never exceeds flips when we train
        flips_slider.observe(lambda change: setattr(heads_slider, "max", change["new"]), names="value")
        super().__init__({"heads": heads_slider, "flips": flips_slider}, figsize=(6.5, 3.4))
        self.ax = self.figure.subplots()
        (self.curve,) = self.ax.plot([], [], color="tab:blue", label="−log L(θ)")
        (self.minimum,) = self.ax.plot([], [], "o", color="tab:red", label="minimum")
        self.ax.set(xlabel="θ = P(heads)", ylabel="negative log-likelihood", xlim=(0, 1))
        self.ax.legend(fontsize="small")
        self.ax.grid(True, alpha=0.3)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.theta = torch.linspace(0.001, 0.999, 999)
        self.nll = None
        self.widget = widgets.VBox([widgets.HBox([heads_slider, flips_slider]), self.status, self.live.view])
        self._on_change()

    def compute(self, key):
        heads, flips = key
        return negative_log_likelihood_coin(self.theta, heads, flips)

    def draw(self, key, nll):
        heads, flips = key
        self.nll = nll
        best = int(nll.argmin())
        self.curve.set_data(self.theta, nll)
        self.minimum.set_data([self.theta[best]], [nll[best]])
        top = float(nll[(self.theta > 0.02) & (self.theta < 0.98)].max())
        self.ax.set_ylim(float(nll.min()) - 0.05 * top, top)
        text = (f"{_count(heads, 'head')} in {_count(flips, 'flip')}: the NLL is smallest at θ = "
                f"{self.theta[best]:.3f} (heads/flips = {heads / flips:.3f})")
        if heads in (0, flips):  # the MLE is θ = 0 or 1, outside the grid (log 0 = −∞ there)
            text += (f", at the edge of the grid {self.theta[0]:.3f} … {self.theta[-1]:.3f}: "
                     f"the MLE is θ = {heads // flips}")
        self.title.set_text(text)
        self.status.value = text
        self.live.invalidate()  # the y-range follows the curve: a full redraw


@on_course_device
def outlier_explorer(**options) -> OutlierExplorer:
    """Build the outlier explorer (L1, MSE and Huber line fits)."""
    return OutlierExplorer(**options)


@on_course_device
def coin_explorer(**options) -> CoinExplorer:
    """Build the coin explorer (heads, flips → negative log-likelihood)."""
    return CoinExplorer(**options)
