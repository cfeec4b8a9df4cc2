"""The momentum explorer: α and β of heavy ball on a 2-D valley; path, error against the predicted rate,
and the (α, β) plane with its stable region and Polyak's optimum."""

import math

import ipywidgets as widgets
import matplotlib
import torch

from .. import momentum
from ..device import on_course_device
from ..plots import TrajectoryPlot
from ._controls import FloatSlider, IntSlider, SelectionSlider, check_choice, check_float, check_int
from ._live import Explorer, choice_slider, log_choices

KAPPAS = (10, 100)  # condition numbers offered: f(x) = ½(x₁²/κ + x₂²), so μ = 1/κ and L = 1
L_TOP = 1.0
X0 = (1.0, 1.0)
# 0.01 … 10 (past the stable edge 2(1 + β)/L ≤ 3.98), with gradient descent's best step 2/(L + μ) and Polyak's α
# (3 digits) for both κ, so that the tour's settings are on the slider
ALPHA_CHOICES = tuple(sorted({*log_choices(1e-2, 10.0), 1.82, 1.98, 2.31, 3.31}))
BETA_SLIDER = {"min": 0.0, "max": 0.99, "step": 0.01}
STEPS_SLIDER = {"min": 10, "max": 300}
WINDOW = {"xlim": (-1.6, 1.6), "ylim": (-1.6, 1.6)}
ERROR_RANGE = (1e-12, 1e3)  # ‖x_t‖ from the start's √2: below, converged; above, diverged
PLANE_ALPHAS = torch.logspace(-2, 1, 240, dtype=torch.float64)  # the (α, β) map's grid
PLANE_BETAS = torch.linspace(0.0, 0.99, 100, dtype=torch.float64)
PLANE_COLOURS = matplotlib.colormaps["viridis"].with_extremes(over="#d9d9d9")
STYLE, LAYOUT = {"description_width": "initial"}, widgets.Layout(width="380px")


def valley(kappa: int):
    """f(x) = ½(x₁²/κ + x₂²) over stacked (2, ...) coordinates, and its curvatures (μ, L)."""
    mu = L_TOP / kappa
    return (lambda x: 0.5 * (mu * x[0] ** 2 + L_TOP * x[1] ** 2)), (mu, L_TOP)


def _best_beta_on_slider(alpha: float, lams) -> float:
    """The β on the slider's 0.01 steps with the lowest rate at this α: near the optimum the rate moves like the
    square root of the distance to (α*, β*), so rounding β* to 2 decimals is not the best slider setting."""
    betas = torch.arange(0, 100, dtype=torch.float64) / 100
    return round(betas[momentum.spectral_radius(alpha, betas, list(lams)).argmin()].item(), 2)


class MomentumExplorer(Explorer):
    """Drag α (log scale) and β of heavy ball on the valley ½(x₁²/κ + x₂²); pick κ and the number of steps.

    Left: the path over the contours. Middle: ‖x_t‖ against the predicted envelope ρᵗ‖x₀‖ (ρ the spectral
    radius at the current α, β) and Polyak's optimum's ρ*ᵗ. Right: the rate over the (α, β) plane, its
    stable edge (ρ = 1), the optimum (star) and the current setting (circle).
    """

    @on_course_device
    def __init__(self, *, alpha=None, beta=None, kappa=10, steps=100):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        kappa = check_choice("kappa", kappa, KAPPAS)
        best_alpha = momentum.momentum_optimum(L_TOP / kappa, L_TOP)[0]
        if alpha is None:  # Polyak's α to 3 digits, added to the slider's values
            alpha = float(f"{best_alpha:.3g}")
        check_float("alpha", alpha, {"min": ALPHA_CHOICES[0], "max": ALPHA_CHOICES[-1]})  # off the grid: added
        if beta is None:
            beta = _best_beta_on_slider(alpha, valley(kappa)[1])
        else:
            beta = check_float("beta", beta, BETA_SLIDER)
        steps = check_int("steps", steps, STEPS_SLIDER)
        controls = {
            "kappa": SelectionSlider(name="kappa", options=[(str(k), k) for k in KAPPAS], value=kappa,
                                     description="condition number κ", style=STYLE, layout=LAYOUT),
            "alpha": choice_slider("alpha", alpha, ALPHA_CHOICES, description="step α", style=STYLE, layout=LAYOUT),
            "beta": FloatSlider(name="beta", value=beta, **BETA_SLIDER, description="momentum β", style=STYLE,
                                layout=LAYOUT),
            "steps": IntSlider(name="steps", value=steps, **STEPS_SLIDER, description="steps", style=STYLE,
                               layout=LAYOUT),
        }
        super().__init__(controls, figsize=(12, 3.7))
        ax_path, ax_error, ax_plane = self.figure.subplots(1, 3, width_ratios=(1, 1.1, 1.2))
        f, _ = valley(kappa)
        self.path_plot = TrajectoryPlot(f, ax_path, **WINDOW)
        ax_path.set_aspect("equal")
        (self.error_line,) = ax_error.plot([], [], color="tab:orange", lw=1.4, label="‖x_t‖")
        (self.rate_line,) = ax_error.plot([], [], color="black", ls="--", lw=1, label="ρᵗ‖x₀‖ (this α, β)")
        (self.best_line,) = ax_error.plot([], [], color="tab:red", ls=":", lw=1.2, label="ρ*ᵗ‖x₀‖ (optimum)")
        ax_error.set(yscale="log", ylim=ERROR_RANGE, xlabel="step t", ylabel="‖x_t‖")
        ax_error.legend(loc="lower left", fontsize="x-small")
        ax_error.grid(True, alpha=0.3)
        self.ax_plane = ax_plane
        ax_plane.set(xscale="log", xlabel="step α", ylabel="momentum β")
        (self.here,) = ax_plane.plot([], [], "o", ms=8, mfc="none", mec="white", mew=2)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([*self.path_plot.artists, self.error_line, self.rate_line, self.here, self.title])
        self._plane_artists, self._drawn = [], None
        self._draw_background(kappa, steps)
        self.points = self.errors = self.rate = self.diverged_at = self.outcome = None
        self.widget = widgets.VBox([
            widgets.HBox([controls["alpha"], controls["beta"]]),
            widgets.HBox([controls["kappa"], controls["steps"]]),
            self.status, self.live.view,
        ])
        self._on_change()

    def _draw_background(self, kappa: int, steps: int) -> None:
        """What changes with κ or the number of steps only: contours, the rate map, the optimum's line."""
        f, (mu, L) = valley(kappa)
        self.best_alpha, self.best_beta, self.best_rate = momentum.momentum_optimum(mu, L)
        if self._drawn is None or self._drawn[0] != kappa:
            if self._drawn is not None:
                self.path_plot.set_function(f, **WINDOW)
            for artist in self._plane_artists:
                artist.remove()
            rates = momentum.spectral_radius(PLANE_ALPHAS[None, :], PLANE_BETAS[:, None], [mu, L])
            # dark: fast (the optimum is the darkest point); grey: ρ ≥ 1, no convergence
            grid = PLANE_ALPHAS.numpy(), PLANE_BETAS.numpy()
            mesh = self.ax_plane.pcolormesh(*grid, rates.clamp(max=1.5).numpy(), cmap=PLANE_COLOURS,
                                            vmin=self.best_rate, vmax=1.0, shading="auto")
            edge = self.ax_plane.contour(*grid, rates.numpy(), levels=[1.0], colors="white", linewidths=1.2)
            (star,) = self.ax_plane.plot(self.best_alpha, self.best_beta, "*", ms=13, color="tab:red")
            self._plane_artists = [mesh, edge, star]
            self.ax_plane.set_title(f"rate over (α, β), κ = {kappa}; grey: ρ ≥ 1", fontsize="small")
        t = torch.arange(steps + 1, dtype=torch.float64)
        self.best_line.set_data(t, self.best_rate**t * math.hypot(*X0))
        self.rate_line.axes.set_xlim(0, steps)
        self._drawn = (kappa, steps)
        self.live.invalidate()

    def compute(self, key):
        kappa, alpha, beta, steps = key
        _, lams = valley(kappa)
        points = momentum.run_quadratic(alpha, beta, list(lams), list(X0), steps)
        return points, momentum.spectral_radius(alpha, beta, list(lams))

    def draw(self, key, result):
        kappa, alpha, beta, steps = key
        if (kappa, steps) != self._drawn:
            self._draw_background(kappa, steps)
        self.points, self.rate = result
        errors = self.points.norm(dim=1)
        bad = (~torch.isfinite(errors) | (errors > ERROR_RANGE[1])).nonzero()
        self.diverged_at = int(bad[0]) if len(bad) else None
        shown = errors if self.diverged_at is None else errors[:self.diverged_at + 1]
        self.errors = errors
        t = torch.arange(len(shown), dtype=torch.float64)
        self.path_plot.update(self.points[:len(shown)])
        self.error_line.set_data(t, shown.clamp(ERROR_RANGE[0] / 10, ERROR_RANGE[1] * 10))
        full_t = torch.arange(steps + 1, dtype=torch.float64)
        envelope = (self.rate**full_t * math.hypot(*X0)).clamp(ERROR_RANGE[0] / 10, ERROR_RANGE[1] * 10)
        self.rate_line.set_data(full_t, envelope)
        self.here.set_data([alpha], [beta])
        _, (mu, L) = valley(kappa)
        settings = f"α = {alpha:g}, β = {beta:g}, κ = {kappa}"
        if abs(self.rate - 1) <= 1e-12:  # on the edge: e.g. β = 0, α = 2/L, x₂ flips between ±1 for ever
            outcome = ("rate ρ = 1: neither converges nor diverges (a coordinate keeps its size, flipping or "
                       f"creeping); stable needs α < 2(1 + β)/L = {2 * (1 + beta) / L:.3g}")
        elif self.rate > 1:
            outcome = (f"rate ρ = {self.rate:.3f} > 1: diverges" +
                       (f" (‖x‖ passed {ERROR_RANGE[1]:g} at step {self.diverged_at})" if self.diverged_at else "")
                       + f"; stable needs α < 2(1 + β)/L = {2 * (1 + beta) / L:.3g}")
        else:
            regimes = ("β = 0: gradient descent" if beta == 0 else
                       "flat direction {}, steep direction {}".format(*(momentum.damping(alpha, beta, lam)
                                                                       for lam in (mu, L))))
            outcome = (f"rate ρ = {self.rate:.3f} per step (optimum ρ* = {self.best_rate:.3f} at α = "
                       f"{self.best_alpha:.3g}, β = {self.best_beta:.3g}); {regimes}")
        self.title.set_text(f"{settings}: {outcome}")
        self.outcome = f"{settings}: {outcome}"  # plain text, for print(); the status line holds it as HTML
        self.show_outcome(self.title, self.outcome, failed=self.rate > 1 + 1e-12)


@on_course_device
def momentum_explorer(**options) -> MomentumExplorer:
    """Build the momentum explorer; display it by leaving it as a cell's last expression."""
    return MomentumExplorer(**options)
