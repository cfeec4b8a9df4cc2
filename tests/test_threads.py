"""The package computes on one torch thread and gives the caller their own setting back."""

import threading

import ipywidgets as widgets
import pytest
import torch

from wd_helpers.threads import COURSE_THREADS, course_threads, on_course_threads
from wd_helpers.widgets import Explorer


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_the_block_runs_on_one_thread_and_the_callers_setting_comes_back(two_threads):
    with course_threads():
        assert torch.get_num_threads() == COURSE_THREADS == 1
    assert torch.get_num_threads() == 2


def test_nested_uses_and_errors_restore_once(two_threads):
    with pytest.raises(RuntimeError), course_threads():
        with course_threads():
            pass
        assert torch.get_num_threads() == 1  # the inner block left it to the outer one
        raise RuntimeError("a failed training")
    assert torch.get_num_threads() == 2


def test_a_callback_on_another_thread_leaves_the_cells_setting_alone(two_threads):
    inside, release, seen = threading.Event(), threading.Event(), []

    def callback():  # a widget callback on a kernel subshell, while a cell computes
        with course_threads():
            seen.append(torch.get_num_threads())
            inside.set()
            release.wait(5)
        seen.append(torch.get_num_threads())

    worker = threading.Thread(target=callback)
    worker.start()
    inside.wait(5)
    assert torch.get_num_threads() == 2  # the cell's own code keeps its setting meanwhile
    with course_threads():
        assert torch.get_num_threads() == 1
    release.set()
    worker.join()
    assert torch.get_num_threads() == 2
    assert seen[0] == 1


def test_decorated_functions_and_explorer_retrains_compute_on_one_thread(two_threads):
    seen = []

    @on_course_threads
    def train():
        seen.append(torch.get_num_threads())

    class Probe(Explorer):
        def __init__(self):
            super().__init__({"x": widgets.IntSlider(value=0, min=0, max=3)}, figsize=(1, 1))
            self.widget = widgets.VBox([self.controls["x"], self.status, self.live.view])
            self._on_change()

        def compute(self, key):
            seen.append(torch.get_num_threads())
            return key

        def draw(self, key, result):
            pass

    train()
    explorer = Probe()
    explorer.sliders["x"].value = 2
    assert seen == [1, 1, 1] and torch.get_num_threads() == 2  # the learner's own code keeps two
    explorer.close()
