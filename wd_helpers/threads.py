"""How many CPU threads the course's computations use: one, chosen by measurement.

Every computation in the course is small (a 200-input linear model, an MLP on a few hundred images,
a 2-D optimizer trace), and a classroom server is shared: with one other busy process on a 2-core
machine, PyTorch's OpenMP threads spin waiting for the busy core, and a dropout retrain on two
threads went from 0.54 s to 1.9 s (p50), while on one thread it stayed at 0.6 s. On a quiet
machine, two threads save at most a quarter of that time. ``benchmarks/bench_all.py --threads``
prints the measurement per computation, quiet and with one busy process.

The package runs its own work under ``course_threads()`` and restores the caller's setting after,
so the choice never leaks into the learner's own code; nested uses restore it once, when the
outermost leaves, and a widget callback running beside a cell restores only its own thread's.
"""

import functools
import threading
from contextlib import contextmanager

import torch

COURSE_THREADS = 1

# torch's setting is per OS thread (OpenMP's nthreads-var): a widget callback on a kernel subshell and
# the cell running meanwhile each have their own, so each saves and restores its own
_state = threading.local()


@contextmanager
def course_threads(n: int = COURSE_THREADS):
    """Run the block on ``n`` torch threads, then give the calling thread its own setting back."""
    depth = getattr(_state, "depth", 0)
    if depth == 0:
        _state.saved = torch.get_num_threads()
    _state.depth = depth + 1
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        _state.depth -= 1
        if _state.depth == 0 and torch.get_num_threads() != _state.saved:
            torch.set_num_threads(_state.saved)


def on_course_threads(fn):
    """Decorator: ``fn`` runs under ``course_threads()``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with course_threads():
            return fn(*args, **kwargs)

    return wrapper
