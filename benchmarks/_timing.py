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
