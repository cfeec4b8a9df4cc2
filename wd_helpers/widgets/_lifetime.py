"""How long an explorer lives: until it is closed, dropped, or the cell that built it runs again.

A class re-runs cells all day, and nothing in Jupyter frees the explorer a re-run replaces:
ipywidgets keeps every widget in its registry until it is closed, and IPython's output history
(``Out``, ``_``) keeps the object a cell showed. So an explorer remembers which cell built it
(JupyterLab sends the cell's id with each execute request), and building a new one from the same
cell, in a later run of it, closes those built by earlier runs. Explorers built in the same run
(two side by side) live on together. Outside a kernel, or with a front end that sends no cell id
(nbclient, Voilà: every cell runs once there), nothing is keyed and only ``close()`` and garbage
collection free an explorer.
"""

import ctypes
import gc
import sys
import threading
import weakref

_lock = threading.Lock()
# cell id -> (the execute request's msg id, weak references to the explorers that run built)
_built_by_cell: dict[str, tuple[str, list[weakref.ref]]] = {}


def current_execution() -> tuple[str | None, str | None]:
    """(cell id, execute request id) of the cell running now, or (None, None) outside a kernel or
    when the front end sends no cell id."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not hasattr(kernel, "get_parent"):
        return None, None
    try:
        parent = kernel.get_parent() or {}
    except Exception:  # a kernel without a parent message yet
        return None, None
    cell_id = (parent.get("metadata") or {}).get("cellId")
    msg_id = (parent.get("header") or {}).get("msg_id")
    if parent.get("msg_type", (parent.get("header") or {}).get("msg_type")) != "execute_request":
        return None, None  # built from a widget callback, not by running a cell
    return cell_id, msg_id


def adopt(explorer) -> list:
    """Record that ``explorer`` was built by the cell running now; return the explorers built by that
    cell's earlier runs (still alive), for the caller to close."""
    cell_id, msg_id = current_execution()
    if cell_id is None:
        return []
    with _lock:
        previous_msg, refs = _built_by_cell.get(cell_id, (None, []))
        if previous_msg == msg_id:  # the same run built another one: both stay
            refs.append(weakref.ref(explorer))
            return []
        _built_by_cell[cell_id] = (msg_id, [weakref.ref(explorer)])
    return [old for ref in refs if (old := ref()) is not None]


def forget(explorer) -> None:
    """Drop ``explorer`` from the record (it was closed)."""
    with _lock:
        for cell_id, (msg_id, refs) in list(_built_by_cell.items()):
            kept = [ref for ref in refs if ref() is not None and ref() is not explorer]
            if kept:
                _built_by_cell[cell_id] = (msg_id, kept)
            else:
                del _built_by_cell[cell_id]


def live_count() -> int:
    """How many recorded explorers are still alive (for tests and benchmarks)."""
    with _lock:
        return sum(ref() is not None for _, refs in _built_by_cell.values() for ref in refs)


# cell id (None: no id sent) -> (msg id, the explorers that run displayed). A shown explorer must live
# while it is on screen even if no variable holds it (``display(weight_decay_explorer())``); the next run
# of the same cell replaces its output, and with it this hold.
_shown_by_cell: dict[str | None, tuple[str | None, list]] = {}


def pin(explorer) -> None:
    """Keep ``explorer`` alive while the output of the cell showing it is on screen."""
    cell_id, msg_id = current_execution()
    with _lock:
        previous_msg, shown = _shown_by_cell.get(cell_id, (None, []))
        if cell_id is not None and previous_msg != msg_id:
            shown = []  # a new run of this cell: what its last run showed is gone from the page
        if not any(item is explorer for item in shown):
            shown.append(explorer)
        _shown_by_cell[cell_id] = (msg_id, shown)


def unpin(explorer) -> None:
    with _lock:
        for cell_id, (msg_id, shown) in list(_shown_by_cell.items()):
            kept = [item for item in shown if item is not explorer]
            if kept:
                _shown_by_cell[cell_id] = (msg_id, kept)
            else:
                del _shown_by_cell[cell_id]


def _load_malloc_trim():
    """glibc's ``malloc_trim`` (Linux), or None where the C library has none (macOS, musl, Windows)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_malloc_trim = _load_malloc_trim() if sys.platform.startswith("linux") else None


def trim() -> None:
    """Hand the allocator's free pages back to the operating system (glibc; elsewhere nothing): ~1 ms.

    What a computation freed stays resident in glibc's arenas; a memory limit counts it. Measured on
    the dropout explorer over its seven training-set sizes (full-size Fashion-MNIST): resident
    +59 MiB after the last retrain, +0 after trimming."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _collect_and_trim() -> None:
    gc.collect()  # the closed explorers' figures are reference cycles: free them before trimming
    trim()


_trim_pending = False


def return_freed_memory() -> None:
    """Give the memory of the explorers just closed back to the operating system.

    Closing an explorer frees its figure, plots and cache, but glibc's allocator keeps freed pages in
    its arenas for reuse: measured over 40 re-runs of the optimizer cell, the kernel's resident size
    still grew 25-37 MB, and 2 MB with a collection and ``malloc_trim`` after each re-run. Resident
    size is what a JupyterHub or Binder memory limit counts. The full collection costs ~0.2 s in a
    kernel that has imported torch and matplotlib, so in IPython it runs once the cell has finished
    (the new explorer is already on screen), at most once per cell run; elsewhere, at once."""
    global _trim_pending
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    events = getattr(shell, "events", None)
    if events is None:
        _collect_and_trim()
        return
    with _lock:
        if _trim_pending:
            return
        _trim_pending = True

    def after_cell(result=None):
        global _trim_pending
        events.unregister("post_run_cell", after_cell)
        _trim_pending = False
        _collect_and_trim()

    events.register("post_run_cell", after_cell)
