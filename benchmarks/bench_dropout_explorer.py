"""Dropout explorer performance: a retrain of the default setting, the figure the README quotes.

    make bench        (or: .venv/bin/python benchmarks/bench_dropout_explorer.py [--moves N])

Times, on this machine and in one run:
  * the explorer's first draw (the lesson's rates and the no-dropout baseline, one batched run),
  * one slider move to a new pair of rates (retrain 40 epochs on 300 digits + redraw), uncached,
    median and p95 over --moves moves, each to a pair not seen before,
  * one training with 1 and with 2 torch threads (why the classifier keeps torch's default),
  * a 9-rate sweep in one batched run vs 9 separate trainings (the notebook's sweep).
"""

import argparse
import itertools
import os
import statistics
import tempfile
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

from _timing import median_p95, timed  # noqa: E402
from wd_helpers.classify import sweep_dropout, train_dropout  # noqa: E402
from wd_helpers.data import load_digits_data  # noqa: E402
from wd_helpers.widgets import dropout_explorer  # noqa: E402


def time_moves(explorer, moves):
    """Move p₁ or p₂ (alternately) so that every move lands on a pair of rates not trained before."""
    grid = [round(0.05 * i, 2) for i in range(19)]
    seen = {(explorer.sliders["dropout1"].value, explorer.sliders["dropout2"].value)}
    times = []
    for i, (p1, p2) in enumerate(itertools.product(grid[:8], grid[4:])):
        if len(times) == moves:
            break
        name, value = ("dropout1", p1) if i % 2 else ("dropout2", p2)
        pair = (value, explorer.sliders["dropout2"].value) if name == "dropout1" else (
            explorer.sliders["dropout1"].value, value)
        if pair in seen:
            continue
        seen.add(pair)
        before = explorer.retrain_count
        start = time.perf_counter()
        explorer.sliders[name].value = value
        times.append(time.perf_counter() - start)
        assert explorer.retrain_count == before + 1, "every timed move must retrain"
    assert explorer.last_error is None, explorer.last_error
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=40)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads\n")
    data = load_digits_data()
    train_dropout(0.2, 0.5, data=data, num_epochs=5)  # warm-up: first calls pay for allocation and imports

    with tempfile.TemporaryDirectory() as empty:  # the bundled digits, whatever the machine has cached
        start = time.perf_counter()
        explorer = dropout_explorer(root=empty)
        first = time.perf_counter() - start
        median, p95 = median_p95(time_moves(explorer, args.moves))
    print(f"dropout explorer, first draw (lesson's rates + no-dropout baseline): {first * 1e3:6.0f} ms")
    print(f"dropout explorer, slider move to new rates (retrain + redraw)      : "
          f"median {median * 1e3:4.0f} ms   p95 {p95 * 1e3:4.0f} ms   ({args.moves} moves)")
    print(f"target p95 < 1 s for the default retrain: {'meets' if p95 < 1.0 else 'MISSES'}\n")

    default_threads = torch.get_num_threads()
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        t = statistics.median(timed(lambda: train_dropout(0.2, 0.5, data=data), 5))
        print(f"one training (40 epochs, 300 digits), {threads} torch thread(s): median {t * 1e3:4.0f} ms")
    torch.set_num_threads(default_threads)

    rates = [round(0.1 * i, 1) for i in range(9)]
    batched = statistics.median(timed(lambda: sweep_dropout(rates, data=data), 3))
    separate = statistics.median(timed(lambda: [train_dropout(p, p, data=data) for p in rates], 3))
    print(f"\n9-rate sweep: one run {batched * 1e3:5.0f} ms, 9 separate trainings {separate * 1e3:5.0f} ms "
          f"(ratio {separate / batched:.2f})")


if __name__ == "__main__":
    main()
