"""An explorer's lifetime: closed on request, freed when dropped, replaced when its cell runs again.

The kernel side (a real kernel, cells re-run 40 times with JupyterLab's cell id) is measured by
benchmarks/bench_rerun.py; the browser side by tests/e2e. Here the cell that is running is stood in
for by patching ``_lifetime.current_execution``.
"""

import gc
import weakref

import ipywidgets as widgets
import pytest

from wd_helpers.widgets import Explorer, _lifetime, activation_explorer, coin_explorer

open_widgets = widgets.widget._instances  # ipywidgets' registry: every widget not closed


@pytest.fixture
def cell(monkeypatch):
    """``cell("c1", "run1")`` makes the package believe cell c1 is running, in execute request run1."""
    running = [(None, None)]
    monkeypatch.setattr(_lifetime, "current_execution", lambda: running[0])
    yield lambda cell_id, msg_id: running.__setitem__(0, (cell_id, msg_id))
    _lifetime._built_by_cell.clear()
    _lifetime._shown_by_cell.clear()


class TinyExplorer(Explorer):
    """The smallest explorer: one slider, an empty figure (these tests are about widgets, not plots)."""

    def __init__(self):
        super().__init__({"heads": widgets.IntSlider(value=7, min=0, max=10)}, figsize=(1, 1))
        self.widget = widgets.VBox([self.controls["heads"], self.status, self.live.view])
        self._on_change()

    def compute(self, key):
        return key

    def draw(self, key, result):
        self.history = result


make = TinyExplorer


def test_close_closes_every_widget_it_made_and_is_idempotent():
    before = set(open_widgets)
    explorer = make()
    made = set(open_widgets) - before
    assert len(made) >= 5  # sliders, their layouts and styles, boxes, status, image
    explorer.close()
    assert set(open_widgets) == before
    assert explorer.closed and explorer.figure is None  # the figure and its plots are let go
    explorer.close()  # a second close is harmless
    assert "closed" in explorer._repr_mimebundle_()["text/plain"]


def test_a_closed_explorer_ignores_slider_moves():
    explorer = make()
    explorer.close()
    count = explorer.retrain_count
    explorer.sliders["heads"].value = 8  # the widget is closed; the trait still takes a value from code
    assert explorer.retrain_count == count and explorer.last_error is None


def test_an_explorer_nobody_holds_is_freed_with_its_widgets():
    before = set(open_widgets)
    explorer = make()
    explorer.sliders["heads"].value = 8  # observers ran: they must not keep it alive
    ref = weakref.ref(explorer)
    del explorer
    gc.collect()
    assert ref() is None
    assert set(open_widgets) == before


def test_closing_one_explorer_leaves_shared_widgets_to_the_next():
    # widgets that existed before an explorer was built (a layout shared at module level) are not its own
    activation_explorer().close()
    explorer = activation_explorer()  # failed when the first close closed a shared layout
    assert explorer.last_error is None and not explorer.closed


def test_a_real_explorer_is_freed_when_dropped():
    gc.collect()  # an explorer an earlier test dropped is closed now, not during this test's collect
    before = set(open_widgets)
    explorer = coin_explorer(heads=7, flips=10)
    explorer.sliders["heads"].value = 8
    ref = weakref.ref(explorer)
    del explorer
    gc.collect()
    assert ref() is None and set(open_widgets) == before


def test_rerunning_the_building_cell_closes_what_its_earlier_run_built(cell):
    cell("c1", "run1")
    first, second = make(), make()  # one run may build two (side by side): both stay
    assert not first.closed and not second.closed
    cell("c2", "run2")
    other = make()  # another cell's explorer is not touched
    cell("c1", "run3")  # the learner re-runs c1
    third = make()
    assert first.closed and second.closed
    assert not third.closed and not other.closed
    assert _lifetime.live_count() == 2


def test_a_shown_explorer_lives_while_on_screen_even_if_no_variable_holds_it(cell):
    cell("c1", "run1")
    explorer = make()
    explorer._repr_mimebundle_()  # display(coin_explorer(...)): nothing else holds it
    ref = weakref.ref(explorer)
    del explorer
    gc.collect()
    assert ref() is not None and not ref().closed
    cell("c1", "run2")  # the cell runs again: its old output leaves the page
    replacement = make()
    replacement._repr_mimebundle_()
    gc.collect()
    assert ref() is None or ref().closed
    assert not replacement.closed


def test_without_a_cell_id_nothing_is_closed_by_building_another(cell):
    cell(None, None)  # nbclient and Voilà send no cell id: every cell runs once
    first, second = make(), make()
    assert not first.closed and not second.closed


class FakeEvents:
    """IPython's ``shell.events``: callbacks registered per event, triggered by the test."""

    def __init__(self):
        self.callbacks = {"post_run_cell": []}

    def register(self, event, callback):
        self.callbacks[event].append(callback)

    def unregister(self, event, callback):
        self.callbacks[event].remove(callback)

    def trigger(self, event):
        for callback in list(self.callbacks[event]):
            callback(None)


@pytest.fixture
def trims(monkeypatch):
    """Count the collect-and-trim passes; with ``shell`` set, run as if inside IPython."""
    done = []
    monkeypatch.setattr(_lifetime, "_collect_and_trim", lambda: done.append(1))
    monkeypatch.setattr(_lifetime, "_trim_pending", False)
    return done


def test_a_rerun_returns_the_memory_after_the_cell_has_finished_once(cell, trims, monkeypatch):
    import IPython

    events = FakeEvents()
    monkeypatch.setattr(IPython, "get_ipython", lambda: type("Shell", (), {"events": events})())
    cell("c1", "run1")
    kept = [make()]  # the learner holds it (a variable): only the re-run frees it
    assert trims == [] and events.callbacks["post_run_cell"] == []  # a first run replaces nothing
    cell("c1", "run2")
    kept += [make(), make()]  # the re-run replaces the first; its second explorer replaces nothing more
    cell("c2", "run3")
    assert trims == []  # not while the cell runs: the new explorer goes on screen first
    assert len(events.callbacks["post_run_cell"]) == 1
    events.trigger("post_run_cell")
    assert trims == [1] and events.callbacks["post_run_cell"] == []
    events.trigger("post_run_cell")  # the next cell run: nothing left to do
    assert trims == [1]


def test_outside_ipython_the_memory_is_returned_at_once(cell, trims, monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    cell("c1", "run1")
    first = make()
    cell("c1", "run2")
    second = make()
    assert first.closed and not second.closed and trims == [1]


def test_collect_and_trim_frees_a_closed_explorers_figure():
    explorer = coin_explorer(heads=7, flips=10)
    figure = weakref.ref(explorer.figure)
    explorer.close()
    _lifetime._collect_and_trim()  # a full collection, then malloc_trim where glibc has it
    assert figure() is None
