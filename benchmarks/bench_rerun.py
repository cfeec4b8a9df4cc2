"""Re-running a cell must not leak: each explorer-building cell run 40 times in one real kernel.

    .venv/bin/python benchmarks/bench_rerun.py [--runs N] [--backend agg|ipympl]   (also part of make bench)

A kernel is started (the same Python), and the cell that builds an explorer is sent N + 1 times with
the same cell id, as JupyterLab sends it (the execute request's ``metadata.cellId``); the cell
leaves the explorer as its last expression, so IPython's ``Out`` history holds every one of them.
After the first run and after the last, the kernel reports its resident memory, the figures
pyplot holds, the open widgets and the explorers still alive. Targets: growth ≤ 30 MB and at
most one pyplot figure per explorer on screen.
"""

import argparse
import json
import os
import sys

from jupyter_client.manager import start_new_kernel

CELLS = {  # what the notebooks' explorer cells do, one per explorer
    "weight decay": "explorer = weight_decay_explorer(lambd=0.0, lr=0.003)\nexplorer",
    "optimizer": "explorer = optimizer_explorer(optimizer='Adam', steps=200)\nexplorer",
    "activation": "explorer = activation_explorer(activation='GELU')\nexplorer",
    "gradient depth": "explorer = gradient_depth_explorer()\nexplorer",
    "loss outlier": "explorer = outlier_explorer(outlier=0.0)\nexplorer",
    "coin": "coin = coin_explorer(heads=7, flips=10)\ncoin",
    "dropout": "explorer = dropout_explorer(dropout1=0.2, dropout2=0.5, num_epochs=10)\nexplorer",
    "schedule": "explorer = schedule_explorer()\nexplorer",
    "momentum": "explorer = momentum_explorer()\nexplorer",
}

SETUP = {
    "agg": "import matplotlib\nmatplotlib.use('Agg')\n",
    "ipympl": "%matplotlib widget\n",
}

PROBE = """
import gc as _gc, json as _json, os as _os
import matplotlib.pyplot as _plt
import ipywidgets as _widgets
from wd_helpers.widgets import Explorer as _Explorer
_gc.collect()
print(_json.dumps({
    "rss_mb": int(open("/proc/self/statm").read().split()[1]) * _os.sysconf("SC_PAGE_SIZE") / 2**20,
    "figures": len(_plt.get_fignums()),
    "widgets": len(_widgets.widget._instances),
    "open_explorers": sum(issubclass(type(o), _Explorer) and not o.closed for o in _gc.get_objects()),
}))
"""


def run_cell(client, code: str, cell_id: str, timeout: float = 120.0) -> str:
    """Execute ``code`` as JupyterLab would for the cell ``cell_id``; return its printed text."""
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    msg = client.session.msg("execute_request", content, metadata={"cellId": cell_id})
    client.shell_channel.send(msg)
    out = []
    while True:
        reply = client.get_iopub_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind = reply["msg_type"]
        if kind == "stream" and reply["content"]["name"] == "stdout":
            out.append(reply["content"]["text"])
        elif kind == "error":
            raise RuntimeError(f"cell {cell_id} failed: {reply['content']['ename']}: {reply['content']['evalue']}")
        elif kind == "status" and reply["content"]["execution_state"] == "idle":
            return "".join(out)


def measure(runs: int, backend: str, names=None) -> dict:
    """{explorer name: (first probe, last probe)} for ``runs`` re-runs after a first run."""
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        run_cell(client, SETUP[backend] + "from wd_helpers.widgets import *\n", "setup")
        results = {}
        for name in names or CELLS:
            cell_id = f"cell-{name}"
            run_cell(client, CELLS[name], cell_id)
            first = json.loads(run_cell(client, PROBE, "probe"))
            for _ in range(runs):
                run_cell(client, CELLS[name], cell_id)
            last = json.loads(run_cell(client, PROBE, "probe"))
            results[name] = first, last
        return results
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def rows(runs: int = 40, backends=("agg", "ipympl")) -> list[tuple]:
    """(what, measured, target, ok) rows for bench_all's table."""
    out = []
    for backend in backends:
        results = measure(runs, backend)
        for cells_run, (name, (first, last)) in enumerate(results.items(), start=1):
            growth = last["rss_mb"] - first["rss_mb"]
            figures = last["figures"]
            # one explorer open per cell run so far (the newest of each), and at most one figure each
            ok = growth <= 30 and figures <= last["open_explorers"] == cells_run
            out.append((f"re-run {runs}x: {name} explorer cell ({backend})",
                        f"{first['rss_mb']:.0f} -> {last['rss_mb']:.0f} MB ({growth:+.0f} MB), "
                        f"{figures} pyplot figure(s), {last['open_explorers']} open explorer(s)",
                        "≤ +30 MB, ≤ 1 figure each", ok))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--backend", choices=sorted(SETUP), action="append")
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    for what, measured, target, ok in rows(args.runs, tuple(args.backend or SETUP)):
        print(f"{what:<48} {measured:<66} {target:<26} {'meets' if ok else 'MISSES'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
