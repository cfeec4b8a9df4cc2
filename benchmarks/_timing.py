"""Timing helpers shared by the benchmark scripts."""

import statistics
import time


def timed(fn, repeat: int) -> list[float]:
    """Wall times of ``repeat`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_p95(times) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) of a list of times."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def paired_ratio(slow, fast, rounds: int, fast_calls: int = 1) -> tuple[float, float, float]:
    """(median time of ``slow``, median time of ``fast``, median of the per-round ratios), the two timed in
    alternation: each round times ``slow`` once and ``fast`` ``fast_calls`` times (their mean). Timed in two
    separate blocks, a ratio moves with whatever else the machine did during one block and not the other
    (17.9x vs 26x for the same code on 2026-12-03); paired rounds see the same conditions."""
    slow_times, fast_times, ratios = [], [], []
    for _ in range(rounds):
        slow_time = timed(slow, 1)[0]
        fast_time = sum(timed(fast, fast_calls)) / fast_calls
        slow_times.append(slow_time)
        fast_times.append(fast_time)
        ratios.append(slow_time / fast_time)
    return statistics.median(slow_times), statistics.median(fast_times), statistics.median(ratios)
