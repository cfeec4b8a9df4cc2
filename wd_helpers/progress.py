"""A progress bar for trainings that take more than a couple of seconds (tqdm's notebook-friendly one)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm


@contextmanager
def progress_bar(total: int, desc: str = "training") -> Iterator[Callable[[int, int], None]]:
    """Yield a ``progress(epoch, num_epochs)`` callback that advances a tqdm bar of ``total`` steps.

    ``with progress_bar(40, "dropout sweep") as progress: sweep_dropout(..., progress=progress)``.
    In JupyterLab tqdm.auto draws a widget bar, elsewhere a text bar; the bar closes on exit.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ValueError(f"total must be an integer >= 1, got {total!r}")
    bar = tqdm(total=total, desc=desc, leave=True)
    try:
        yield lambda epoch, num_epochs: bar.update(epoch - bar.n)  # jump to the epoch reached
    finally:
        bar.close()
