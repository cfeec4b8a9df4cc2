"""Optimizer explorer performance: one slider move (trace + redraw), the figure the README quotes.

    make bench        (or: .venv/bin/python benchmarks/bench_optimizer_explorer.py [--moves N])

Every timed move is to a new learning rate, so each one runs the optimizer again (no cache hit);
it is timed for a short path (20 steps) and the longest the explorer offers (200 steps, Adam).
"""

import argparse
import os
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

from _timing import median_p95  # noqa: E402
from wd_helpers.widgets import optimizer_explorer  # noqa: E402
from wd_helpers.widgets.optimizers import LR_CHOICES  # noqa: E402


def time_moves(explorer, moves):
    """`moves` lr moves over the slider's values, each to a setting not seen before (β changes,
    untimed, whenever the values run out)."""
    times, betas = [], iter([0.3, 0.6, 0.7, 0.8, 0.9, 0.95])
    lrs = [lr for lr in LR_CHOICES if lr != explorer.sliders["lr"].value]
    for i in range(moves):
        if i and i % len(lrs) == 0:
            explorer.sliders["beta"].value = next(betas)
        start = time.perf_counter()
        explorer.sliders["lr"].value = lrs[i % len(lrs)]
        times.append(time.perf_counter() - start)
    assert explorer.last_error is None, explorer.last_error
    return median_p95(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs\n")
    rows = []
    for optimizer, steps in (("SGD", 20), ("Momentum", 50), ("Adam", 200)):
        explorer = optimizer_explorer(optimizer=optimizer, steps=steps)
        median, p95 = time_moves(explorer, args.moves)
        rows.append((f"optimizer explorer, {optimizer}, {steps} steps: slider move", median, p95))
    width = max(len(r[0]) for r in rows)
    for name, median, p95 in rows:
        print(f"{name:<{width}}  median {median * 1e3:6.1f} ms   p95 {p95 * 1e3:6.1f} ms")
    worst = max(p95 for _, _, p95 in rows)
    print(f"\ntarget p95 < 100 ms for a redraw: {'meets' if worst < 0.1 else 'MISSES'} (worst p95 {worst * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
