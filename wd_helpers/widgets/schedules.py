"""The schedule explorer: learning rate, batch size and schedule of minibatch SGD against its noise floor."""

import math
from functools import partial

import ipywidgets as widgets
import torch
import torch.nn.functional as F

from .. import validate
from ..data import synthetic_regression
from ..device import on_course_device
from ..schedules import cosine_lr, inverse_time_lr, lr_sequence, sgd_least_squares, step_lr, warmup_cosine_lr
from ._controls import Dropdown, SelectionSlider, check_choice, check_float
from ._live import Explorer, choice_slider, log_choices

NUM_STEPS = 1000  # each setting: NUM_RUNS seeded runs of this many steps (≈ 50 ms together)
NUM_RUNS = 4
RUN_STRIDE = 2  # each thin run line is drawn at every other step (half the drawing time; the mean at every step)
LAST = 100  # the title's final L − L*: the mean over the last LAST steps of every run (one step is noisy)
LR_CHOICES = log_choices(1e-3, 1.0)  # 0.001 … 1: SGD with B = 1 diverges on this data from η ≈ 0.1
BATCH_CHOICES = (1, 2, 4, 8, 16, 32, 64, 128)
# name -> the schedule for a budget of NUM_STEPS steps, as (step, lr) -> lr; None: constant η
SCHEDULES = {
    "constant": None,
    "step: ×0.1 after each third": partial(step_lr, step_size=math.ceil(NUM_STEPS / 3), gamma=0.1),
    "1/t: η/(1 + 0.01·t)": partial(inverse_time_lr, decay=0.01),
    "cosine to 0": partial(cosine_lr, T_max=NUM_STEPS),
    "warm-up (10 %) then cosine": partial(warmup_cosine_lr, warmup_steps=NUM_STEPS // 10,
                                          T_max=NUM_STEPS - NUM_STEPS // 10, start_factor=0.1),
}
EXCESS_RANGE = (1e-5, 1e3)  # L − L*: the start is ≈ 10; a run that passes the top has blown up
STYLE, LAYOUT = {"description_width": "initial"}, widgets.Layout(width="380px")


@on_course_device
def regression_problem(seed: int = 0):
    """Notebook 03c's least-squares problem: 1000 examples, 10 features, y = Σ xᵢ + N(0, 0.5²) noise.

    Returns (X, y, L*, tr(H)): the data, the lowest training loss and the trace of the curvature
    H = XᵀX/n, the two numbers of the noise floor η·L*·tr(H)/B.
    """
    data = synthetic_regression(n_train=1000, n_test=1, num_inputs=10, true_w_value=1.0, true_b=0.0, noise=0.5,
                                generator=torch.Generator().manual_seed(validate.seed(seed)))
    X, y = data.X_train, data.y_train
    X64, y64 = X.double(), y.double()
    w_hat = torch.linalg.lstsq(X64, y64).solution
    return X, y, F.mse_loss(X64 @ w_hat, y64).item(), torch.trace(X64.T @ X64 / len(X)).item()


def first_blow_up(excess: torch.Tensor) -> int | None:
    """The first step at which a run's L − L* is not finite or passes the top of the plot; None if none does."""
    bad = ~torch.isfinite(excess) | (excess > EXCESS_RANGE[1])
    steps = bad.any(dim=0).nonzero()
    return int(steps[0]) if len(steps) else None


class ScheduleExplorer(Explorer):
    """Drag η and the batch size, pick a schedule: four seeded SGD runs redraw beside the noise floor.

    Left: L − L* of each run (thin) and their mean (thick), with the floor that the rate of the moment
    would settle at, η_t·L*·tr(H)/B (dashed). Right: the schedule, η_t/η. The title gives L − L* over the
    last LAST steps (mean of the runs) against the floor of a constant η, or the step where a run blew up.
    """

    @on_course_device
    def __init__(self, *, lr=0.02, batch_size=1, schedule="constant", seed=0):
        # every argument is checked before any widget exists: a refused one leaves nothing behind
        check_float("lr", lr, {"min": LR_CHOICES[0], "max": LR_CHOICES[-1]})  # off the grid: added to it
        batch_size = check_choice("batch_size", batch_size, BATCH_CHOICES)
        schedule = validate.choice("schedule", schedule, SCHEDULES)
        self.seed = validate.seed(seed)
        self.X, self.y, self.L_star, self.trace_H = regression_problem(self.seed)
        controls = {
            "schedule": Dropdown(name="schedule", options=list(SCHEDULES), value=schedule, description="schedule",
                                 style=STYLE),
            "lr": choice_slider("lr", lr, LR_CHOICES, description="learning rate η", style=STYLE, layout=LAYOUT),
            "batch_size": SelectionSlider(name="batch_size", options=[(str(b), b) for b in BATCH_CHOICES],
                                          value=batch_size, description="batch size B", style=STYLE, layout=LAYOUT),
        }
        super().__init__(controls, figsize=(9.5, 3.6))
        ax_loss, ax_rate = self.figure.subplots(1, 2, width_ratios=(3, 2))
        steps = torch.arange(NUM_STEPS + 1)
        self.run_lines = [ax_loss.plot([], [], color="tab:blue", lw=0.6, alpha=0.35)[0] for _ in range(NUM_RUNS)]
        (self.mean_line,) = ax_loss.plot([], [], color="tab:blue", lw=1.6, label=f"mean of {NUM_RUNS} runs")
        (self.floor_line,) = ax_loss.plot([], [], color="black", ls="--", lw=1, label="floor of η_t: η_t·L*·tr(H)/B")
        ax_loss.set(yscale="log", xlim=(0, NUM_STEPS), ylim=EXCESS_RANGE, xlabel="step", ylabel="L − L*")
        ax_loss.legend(loc="upper right", fontsize="small")
        ax_loss.grid(True, alpha=0.3)
        (self.rate_line,) = ax_rate.plot(steps[:-1], torch.ones(NUM_STEPS), color="tab:orange")
        ax_rate.set(xlim=(0, NUM_STEPS), ylim=(0, 1.05), xlabel="step", ylabel="η_t / η", title="the schedule")
        ax_rate.grid(True, alpha=0.3)
        self.axes = (ax_loss, ax_rate)
        self.title = self.figure.suptitle(" ", fontsize="medium")
        self.live.animate([*self.run_lines, self.mean_line, self.floor_line, self.rate_line, self.title])
        self.excess = self.rates = self.final = self.floor = self.blew_up = self.outcome = None
        self.widget = widgets.VBox([
            widgets.HBox([controls["schedule"]]),
            widgets.HBox([controls["lr"], controls["batch_size"]]),
            self.status, self.live.view,
        ])
        self._on_change()

    def compute(self, key):
        name, lr, batch_size = key
        schedule = SCHEDULES[name]
        losses = sgd_least_squares(self.X, self.y, lr=lr, batch_size=batch_size, num_steps=NUM_STEPS,
                                   schedule=schedule, num_runs=NUM_RUNS, seed=self.seed)
        rates = torch.full((NUM_STEPS,), float(lr)) if schedule is None else \
            torch.tensor(lr_sequence(schedule, lr, NUM_STEPS))
        return losses - self.L_star, rates  # (NUM_RUNS, NUM_STEPS + 1), (NUM_STEPS,)

    def draw(self, key, result):
        name, lr, batch_size = key
        self.excess, self.rates = result
        self.floor = lr * self.L_star * self.trace_H / batch_size  # constant η's floor, for the title
        self.blew_up = first_blow_up(self.excess)
        shown = self.excess if self.blew_up is None else self.excess[:, :self.blew_up + 1]
        steps = torch.arange(shown.shape[1])
        clipped = shown.clamp(EXCESS_RANGE[0] / 10, EXCESS_RANGE[1] * 10)  # inf/NaN past the top: drawn at the edge
        for line, run in zip(self.run_lines, clipped):
            line.set_data(steps[::RUN_STRIDE], run[::RUN_STRIDE])
        self.mean_line.set_data(steps, clipped.mean(dim=0))
        self.floor_line.set_data(torch.arange(NUM_STEPS), self.rates * self.L_star * self.trace_H / batch_size)
        self.rate_line.set_ydata(self.rates / lr)
        settings = f"η = {lr:g}, B = {batch_size}, {name}"
        self.final = None if self.blew_up is not None else self.excess[:, -LAST:].mean().item()
        if self.blew_up is not None:
            outcome = f"blew up at step {self.blew_up} (η·tr(H)/B = {lr * self.trace_H / batch_size:.2g}: too large)"
        else:
            outcome = f"L − L* over the last {LAST} steps {self.final:.2g}; floor of constant η {self.floor:.2g}"
        self.title.set_text(f"{settings}: {outcome}")
        self.outcome = f"{settings}: {outcome}"  # plain text, for print(); the status line holds it as HTML
        self.show_outcome(self.title, self.outcome, failed=self.blew_up is not None)


@on_course_device
def schedule_explorer(**options) -> ScheduleExplorer:
    """Build the schedule explorer; display it by leaving it as a cell's last expression."""
    return ScheduleExplorer(**options)
