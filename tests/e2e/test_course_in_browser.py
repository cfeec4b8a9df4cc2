"""The course in a real browser: every notebook in JupyterLab, the weight-decay explorer under a
slider storm, and the presenter's Voilà dashboards.

A notebook passes when Run All Cells leaves no error and no unrun cell, every explorer shows its
controls and a drawn ipympl figure, and every enabled slider, moved with the keyboard, changes the
readout and the figure's pixels; moving back and forth again must redraw exactly the image seen the
first time at that value (the figure is the one for the value shown). Nothing may be logged as an
error by the page, the browser console or the kernel. Screenshots: test-artifacts/e2e/.
"""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from wd_helpers.widgets.presenter import EXHIBITS

from e2e_servers import ARTIFACTS, ROOT, pids_with_argument
from e2e_ui import (
    Explorer, KernelProbe, cell_errors, explorers, frames_painted, key_to_pixels_ms, open_notebook, run_all_cells,
    unexecuted_cells, until, visible_content,
)

# every notebook of the course, and how many explorers it shows
NOTEBOOKS = {
    "01_activations.ipynb": 2,
    "01b_initialisation.ipynb": 0,
    "02_losses.ipynb": 2,
    "02b_losses_as_likelihoods.ipynb": 0,
    "03_optimizers.ipynb": 1,
    "03b_momentum.ipynb": 1,
    "03c_schedules_and_noise.ipynb": 1,
    "04_weight_decay.ipynb": 1,
    "04b_beyond_weight_decay.ipynb": 0,
    "05_dropout.ipynb": 1,
    "05b_dropout_in_depth.ipynb": 0,
    "06_playground.ipynb": 1,
}
LATENCIES = ARTIFACTS / "latency.json"  # key press → new pixels, ms, per explorer (written by the tests below)
# Speed targets are met in `make bench`, not in `make test` (DEVELOPERS.md: never in a timed test): `make bench`
# runs the timed browser tests with WD_E2E_TARGETS=1, which makes a missed target fail them; in `make test` they
# measure, record (test-artifacts/e2e/) and report a miss at the end of the run, and fail only on a breakage.
ENFORCE_TARGETS = os.environ.get("WD_E2E_TARGETS") == "1"
MISSED_TARGETS: list[str] = []


def speed_target(met: bool, what: str) -> None:
    if ENFORCE_TARGETS:
        assert met, what
    elif not met:
        MISSED_TARGETS.append(what)
WEIGHT_DECAY = "04_weight_decay.ipynb"
README_SCREENSHOT = ARTIFACTS / "weight-decay-explorer.png"


@pytest.fixture
def lab_page(page, lab):
    """A browser page on the Lab server; the kernels it started are shut down afterwards."""
    page.log_start = len(lab.log_text())
    try:
        yield page
    finally:
        lab.shut_down_kernels()


def differing_share(pixels, reference) -> float:
    """Share of pixels that differ by more than a rounding error (1.0 when the sizes differ)."""
    if pixels.shape != reference.shape:
        return 1.0
    return float((np.abs(pixels.astype(int) - reference.astype(int)).max(axis=-1) > 2).mean())


def no_errors_anywhere(page, server):
    assert cell_errors(page) == []
    assert page.console.errors == [], "the browser console logged errors"
    assert server.log_errors(since=page.log_start) == [], f"the server or a kernel logged errors: {server.log_path}"


def test_every_notebook_is_covered():
    assert set(NOTEBOOKS) == {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}


def test_course_settings_and_extensions_are_in_effect(lab):
    """The course's overrides.json (comms not on subshells) is what JupyterLab serves, and the
    widget and ipympl front-end extensions are loaded."""
    setting = lab.api("/lab/api/settings/@jupyterlab/apputils-extension:kernels-settings")
    assert setting["schema"]["properties"]["commsOverSubshells"]["default"] == "disabled"
    assert "commsOverSubshells" not in json.loads(setting["raw"] or "{}")  # no user setting overrides it
    html = lab.fetch("/lab").decode()
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  html, re.DOTALL).group(1))
    loaded = {extension["name"] for extension in config["federated_extensions"]}
    assert {"@jupyter-widgets/jupyterlab-manager", "jupyter-matplotlib"} <= loaded


def test_harness_sees_a_failing_cell(lab, lab_page):
    """The error check itself: a notebook whose second cell raises is reported as failing."""
    cells = ["x = 1", "assert x == 2, 'the harness must see this'", "y = 3"]
    notebook = {
        "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                   "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (lab.notebooks / "zz_failing.ipynb").write_text(json.dumps(notebook))
    try:
        open_notebook(lab_page, lab, "zz_failing.ipynb")
        run_all_cells(lab_page)
        errors = cell_errors(lab_page)
        assert len(errors) == 1 and "AssertionError" in errors[0] and "the harness must see this" in errors[0]
        assert unexecuted_cells(lab_page) == [3]
    finally:
        (lab.notebooks / "zz_failing.ipynb").unlink()


def record_latencies(name: str, latencies: list[float]) -> None:
    """Add key → pixel latencies (ms) of an explorer to test-artifacts/e2e/latency.json."""
    measured = json.loads(LATENCIES.read_text()) if LATENCIES.exists() else {}
    measured[name] = [round(ms, 1) for ms in latencies]
    LATENCIES.write_text(json.dumps(measured, indent=1))


def exercise_slider(explorer: Explorer, slider, name: str) -> float:
    """Move a slider one step with the keyboard, back, and forward again: the readout and the
    figure change each time, and the figure at a value is the same image whenever we return to it.
    Returns the first move's latency, key press → new pixels on the figure (ms, measured in the page)."""
    now, _, high = slider.position()
    forward, back = ("ArrowRight", "ArrowLeft") if now < high else ("ArrowLeft", "ArrowRight")
    first_readout, first_image = slider.readout, explorer.settled_png(what=f"{name} before the move")

    latency = key_to_pixels_ms(slider.root.page, explorer, slider, forward)
    until(lambda: slider.readout != first_readout, timeout=10, message=f"{name}: the readout did not change")
    moved_readout = slider.readout
    moved_image = explorer.settled_png(differs_from={first_image}, what=f"{name} after {forward}")

    slider.press(back)
    until(lambda: slider.readout != moved_readout, timeout=10, message=f"{name}: the readout did not move back")
    explorer.settled_png(differs_from={moved_image}, what=f"{name} after {back}")

    slider.press(forward)
    until(lambda: slider.readout == moved_readout, timeout=10, message=f"{name}: the readout did not return")
    explorer.settled_png(equals=moved_image, what=f"{name} back at {moved_readout}")
    assert not explorer.status.startswith("error:"), explorer.status
    return latency


@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_notebook_runs_and_its_explorers_respond(lab, lab_page, notebook):
    page = lab_page
    open_notebook(page, lab, notebook)
    run_all_cells(page)
    assert cell_errors(page) == []
    assert unexecuted_cells(page) == []

    found = [Explorer(root) for root in explorers(page)]
    assert len(found) == NOTEBOOKS[notebook], f"{len(found)} explorers shown"
    for number, explorer in enumerate(found, 1):
        name = f"{notebook} explorer {number}"
        explorer.root.scroll_into_view_if_needed()
        assert explorer.has_canvas(), f"{name}: no ipympl canvas (a static image: is %matplotlib widget in effect?)"
        for slider in explorer.sliders:
            assert slider.handle.is_visible() and slider.readout_locator.is_visible(), f"{name}: {slider.label}"
        assert explorer.canvas.is_visible(), f"{name}: the figure is not visible"
        box = explorer.canvas.bounding_box()
        assert box["width"] > 200 and box["height"] > 100, f"{name}: the figure is {box['width']}×{box['height']} px"
        until(lambda shown=explorer: visible_content(shown.pixels()) > 0.01, timeout=15,
              message=f"{name}: the figure is blank")
        assert not explorer.status.startswith("error:"), explorer.status
        explorer.root.screenshot(path=ARTIFACTS / f"{Path(notebook).stem}-explorer-{number}.png")

        latencies = [exercise_slider(explorer, slider, f"{name}, slider {slider.label!r}")
                     for slider in explorer.sliders if not slider.disabled]
        assert latencies, f"{name}: no enabled slider"
        record_latencies(name, latencies)

    no_errors_anywhere(page, lab)


# key press → new pixels, p95 over PRESSES presses, each waited for (ms): the issue's targets
PRESSES = 30
LATENCY_TARGETS = {
    "04_weight_decay.ipynb": ("weight decay", 100), "03_optimizers.ipynb": ("learning rate", 100),
    "06_playground.ipynb": ("learning rate", 150),  # at epoch 10: the new run is drawn, then replayed to epoch 10
}


@pytest.mark.parametrize("notebook", list(LATENCY_TARGETS))
def test_key_press_to_new_pixels(lab, lab_page, notebook):
    """What a student feels: 30 key presses on a slider, each waited for, timed in the page from the keydown to the
    first animation frame with new pixels on the figure."""
    label, target = LATENCY_TARGETS[notebook]
    page = lab_page
    open_notebook(page, lab, notebook)
    run_all_cells(page)
    assert cell_errors(page) == [] and unexecuted_cells(page) == []
    (explorer,) = [e for e in map(Explorer, explorers(page)) if any(s.label.startswith(label) for s in e.sliders)]
    explorer.root.scroll_into_view_if_needed()
    slider = explorer.slider(label)
    explorer.settled_png(what=f"{notebook} before the presses")
    latencies, key = [], "ArrowRight"
    for _ in range(2 + PRESSES):  # the first two warm up the path (a first redraw can take a second): not counted
        now, low, high = slider.position()
        key = "ArrowLeft" if now >= high else "ArrowRight" if now <= low else key
        latencies.append(key_to_pixels_ms(page, explorer, slider, key))
        explorer.settled_png(what=f"{notebook} after a press")
    record_latencies(f"{notebook}: {PRESSES} presses on {label!r} (after 2 not counted)", latencies[2:])
    latencies = latencies[2:]
    p50, p95 = np.percentile(latencies, [50, 95])
    assert p95 < 1000, f"{notebook}: key → pixels p95 {p95:.0f} ms: the page or the kernel is stuck"
    speed_target(p95 <= target, f"{notebook}: key → pixels p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p95 ≤ {target} ms)")
    no_errors_anywhere(page, lab)


def play_then_pause(page, explorer: Explorer, where: str):
    """Press ▶ on a playground: the epoch counter runs and the figure paints ≥ 10 new frames a second; press ❚❚: both
    stop. Returns the paused epoch and image."""
    root = explorer.root
    epoch = lambda: int(root.locator(".widget-label", has_text="epoch").first.inner_text().split()[-1])  # noqa: E731
    start_epoch = epoch()
    root.locator(".widget-play button").first.click()  # ▶
    page.wait_for_timeout(500)  # the first ticks
    seconds = 4
    frames = frames_painted(explorer, seconds)
    assert epoch() > start_epoch
    record_latencies(f"{where}: frames painted per second while playing", [frames / seconds])
    assert frames >= 4, f"{where}: {frames} new frames in {seconds} s of play"  # it plays at all
    speed_target(frames / seconds >= 10, f"{where}: {frames / seconds:.1f} frames/s while playing (target ≥ 10)")
    root.locator(".widget-play button").nth(1).click()  # ❚❚
    page.wait_for_timeout(600)  # a tick already under way
    paused_epoch, paused = epoch(), explorer.png()
    page.wait_for_timeout(1500)
    assert epoch() == paused_epoch and explorer.png() == paused, f"{where}: the playground trained on after pause"
    return paused_epoch, paused


def test_playground_plays_pauses_steps_and_redraws(lab, lab_page):
    """Notebook 06's playground in JupyterLab: play paints new frames (≥ 10 a second), pause stops them, step trains
    one epoch, and a slider move starts a new run and redraws."""
    page = lab_page
    open_notebook(page, lab, "06_playground.ipynb")
    run_all_cells(page)
    assert cell_errors(page) == [] and unexecuted_cells(page) == []
    roots = [root for root in explorers(page) if root.locator(".widget-play").count()]
    assert len(roots) == 1
    explorer, root = Explorer(roots[0]), roots[0]
    root.scroll_into_view_if_needed()
    epoch = lambda: int(root.locator(".widget-label", has_text="epoch").first.inner_text().split()[-1])  # noqa: E731
    explorer.settled_png(what="the playground before play")

    paused_epoch, paused = play_then_pause(page, explorer, "06_playground.ipynb in JupyterLab")
    root.screenshot(path=ARTIFACTS / "playground.png")  # trained for a few seconds: the README's picture

    root.locator("button", has_text="step").first.click()
    until(lambda: epoch() == paused_epoch + 1, timeout=10, message="step did not train one epoch")
    stepped = explorer.settled_png(differs_from={paused}, what="the playground after step")

    explorer.slider("learning rate").press("ArrowLeft")
    until(lambda: epoch() == 0, timeout=10, message="a slider move did not start a new run")
    explorer.settled_png(differs_from={stepped}, what="the playground after a slider move")
    no_errors_anywhere(page, lab)


def test_weight_decay_slider_storm(lab, lab_page):
    """50 rapid key presses on λ: no error anywhere, and the figure is the kernel's figure for the final λ."""
    from wd_helpers.train import train_weight_decay
    from wd_helpers.widgets.weight_decay import LAMBDA_CHOICES

    page = lab_page
    open_notebook(page, lab, WEIGHT_DECAY)
    run_all_cells(page)
    assert cell_errors(page) == [] and unexecuted_cells(page) == []
    (root,) = explorers(page)
    explorer = Explorer(root)
    explorer.root.scroll_into_view_if_needed()
    lambd = explorer.slider("weight decay")
    start = int(lambd.position()[0])
    initial_image = explorer.settled_png(what="the weight-decay figure")

    # both ends included (the first press is at λ = 0, the fourth burst reaches 100); ends at λ = 3
    storm = ["ArrowLeft"] + ["ArrowRight"] * 20 + ["ArrowLeft"] * 11 + ["ArrowRight"] * 12 + ["ArrowLeft"] * 6
    assert len(storm) == 50 and start == 0
    index = start
    for key in storm:  # where the handle must end: it stops at both ends
        index = min(max(index + (1 if key == "ArrowRight" else -1), 0), len(LAMBDA_CHOICES) - 1)
    final = LAMBDA_CHOICES[index]
    lambd.handle.focus()
    for key in storm:
        page.keyboard.press(key)

    until(lambda: lambd.readout == f"{final:g}", timeout=10,
          message=lambda: f"the readout says {lambd.readout!r}, not {final:g}")

    probe = KernelProbe(lab, WEIGHT_DECAY)
    try:
        # The widget manager holds back slider messages while the kernel is busy, and the kernel
        # handles them in order: it is done when it is at the final λ and has stopped redrawing.
        seen = []

        def kernel_done():
            seen.append(probe.value("[explorer.sliders['lambd'].value, explorer.redraw_count]"))
            return len(seen) > 1 and seen[-1] == seen[-2] and seen[-1][0] == final

        until(kernel_done, timeout=30, interval=0.5,
              message=lambda: f"the kernel is at λ = {seen[-1][0]}, not {final:g}")
        lr, title, error = probe.value(
            "[explorer.sliders['lr'].value, explorer.title.get_text(), repr(explorer.last_error)]"
        )
        kernel_pixels = probe.canvas_pixels("explorer.figure")
    finally:
        probe.close()
    assert error == "None"
    assert title.startswith(f"λ = {final:g}, lr = {lr:g}, L2, bias not decayed:"), title
    # the browser shows exactly what the kernel drew last (once that frame has arrived) ...
    until(lambda: differing_share(explorer.pixels(), kernel_pixels) == 0, timeout=15,
          message=lambda: f"{differing_share(explorer.pixels(), kernel_pixels):.2%} of the pixels are not the kernel's")
    storm_image = explorer.png()
    assert storm_image != initial_image
    # ... and its ‖w‖ is that of a training at the final λ, computed here, independently
    shown = float(re.search(r"‖w‖ = ([0-9.e+-]+)", explorer.status).group(1))
    assert shown == pytest.approx(train_weight_decay(lambd=final, lr=lr).w_norm, rel=5e-3)
    assert f"‖w‖ = {shown:g}" in title

    # a calm move away and back redraws the very same image
    lambd.press("ArrowRight")
    explorer.settled_png(differs_from={storm_image}, what="the figure one step further")
    lambd.press("ArrowLeft")
    explorer.settled_png(equals=storm_image, what=f"the figure back at λ = {final:g}")

    root.screenshot(path=README_SCREENSHOT)
    no_errors_anywhere(page, lab)


def test_rerunning_the_explorer_cell_frees_the_old_one(lab, lab_page):
    """A student re-runs the explorer's cell 10 times (Ctrl+Enter): the page shows one explorer, the
    newest, and it responds; the kernel holds one open explorer, no more pyplot figures than after the first re-run,
    and its memory stays flat."""
    page = lab_page
    open_notebook(page, lab, WEIGHT_DECAY)
    run_all_cells(page)
    assert cell_errors(page) == [] and unexecuted_cells(page) == []
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="explorer = weight_decay_explorer(")
    assert cell.count() == 1

    state = ("[int(open('/proc/self/statm').read().split()[1]) * __import__('os').sysconf('SC_PAGE_SIZE') / 2**20, "
             "len(__import__('matplotlib.pyplot').pyplot.get_fignums()), "
             "sum(issubclass(type(o), type(explorer)) and not o.closed for o in __import__('gc').get_objects())]")

    def rerun():
        prompt = cell.locator(".jp-InputPrompt").text_content()
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        until(lambda: cell.locator(".jp-InputPrompt").text_content() not in (prompt, "[*]:"), timeout=60,
              message="the explorer cell did not finish running")

    probe = KernelProbe(lab, WEIGHT_DECAY)
    try:
        rerun()
        probe.run("import gc; gc.collect()")
        first_rss, first_figures, _ = probe.value(state)
        for _ in range(9):
            rerun()
        probe.run("import gc; gc.collect()")
        last_rss, figures, open_explorers = probe.value(state)
    finally:
        probe.close()
    assert open_explorers == 1 and figures == first_figures  # the notebook's own figures, and one explorer's
    assert last_rss - first_rss <= 20, f"the kernel grew {first_rss:.0f} -> {last_rss:.0f} MB over 9 re-runs"
    (root,) = explorers(page)  # the old outputs are gone with their widgets: only the newest is shown
    explorer = Explorer(root)
    explorer.root.scroll_into_view_if_needed()
    before = explorer.settled_png(what="the re-run explorer")
    explorer.slider("weight decay").press("ArrowRight")
    explorer.settled_png(differs_from={before}, what="the re-run explorer after a move")
    no_errors_anywhere(page, lab)


# --- presenter mode: Voilà ----------------------------------------------------------------------

TIME_TO_INTERACTION_S = 3.0  # an explorer page: navigation → a slider to move and a drawn figure
TIMINGS = ARTIFACTS / "presenter-timings.json"


@pytest.fixture
def voila_page(page, voila):
    page.log_start = len(voila.log_text())
    return page


def wait_until_kernels_idle(server, *, settle=2.0, timeout=180):
    """Until the server's kernels (pre-heated or refilling) have used less than 5 % of a core over ``settle``
    seconds: an idle kernel still wakes now and then (heartbeats, its I/O thread), so "no CPU at all" can take
    forever with ten of them."""
    import time

    ticks_per_second = os.sysconf("SC_CLK_TCK")

    def cpu():
        total = 0
        for pid in pids_with_argument(str(server.runtime_dir)):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
            except (OSError, IndexError):
                continue
        return total

    deadline, samples = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        samples.append((time.monotonic(), cpu()))
        window = [(t, c) for t, c in samples if t >= samples[-1][0] - settle]
        if samples[-1][0] - samples[0][0] >= settle and window[-1][1] - window[0][1] <= 0.05 * settle * ticks_per_second:
            return
        time.sleep(0.25)
    raise AssertionError(f"the kernels of {server.name} were still busy after {timeout} s")


def test_presenter_gallery_lists_every_explorer_and_every_lesson(voila, voila_page):
    """`make present` opens the gallery: one card per explorer (title, what it shows, thumbnail, lesson), then every
    lesson as a dashboard; every link leads to a page that exists."""
    page = voila_page
    page.goto(voila.at("/"))
    cards = page.locator(".course-card")
    cards.first.wait_for()
    assert cards.count() == len(EXHIBITS)
    for card, exhibit in zip(cards.all(), EXHIBITS.values()):
        assert card.locator(".course-card-title").inner_text() == exhibit.title
        assert card.locator(".course-card-shows").inner_text() == exhibit.shows
        thumbnail = card.locator("img")
        until(lambda t=thumbnail: t.evaluate("img => img.complete && img.naturalWidth") == 480, timeout=10,
              message=f"{exhibit.key}: the thumbnail did not load")
        assert card.locator(".course-card-page").get_attribute("href") == f"/voila/render/{exhibit.page}"
        assert card.locator(".course-card-lesson").get_attribute("href") == f"/voila/render/notebooks/{exhibit.lesson}"
        assert (voila.course / exhibit.page).is_file()  # what the link opens is served (the next test opens each)
    lessons = page.locator(".course-lessons a")
    assert {name.strip() for name in lessons.all_text_contents()} == {Path(n).stem for n in NOTEBOOKS}
    assert {a.get_attribute("href") for a in lessons.all()} == {f"/voila/render/notebooks/{n}" for n in NOTEBOOKS}
    page.screenshot(path=ARTIFACTS / "presenter-gallery.png", full_page=True)
    assert page.console.errors == [], "the gallery logged errors"


@pytest.mark.parametrize("key", list(EXHIBITS))
def test_presenter_explorer_page_opens_at_once_and_responds(voila, voila_page, key):
    """An explorer's page: a slider to move and a drawn figure within 3 s of opening (its kernel was pre-heated), no
    code and no printout; a key press on a slider, a preset and reset each redraw the figure as in JupyterLab."""
    exhibit = EXHIBITS[key]
    page = voila_page
    wait_until_kernels_idle(voila)  # the instructor opens a page once `make present` has warmed up
    page.goto(voila.at(f"/voila/render/{exhibit.page}"))
    ready_ms = page.wait_for_function(
        """() => {
            const root = document.querySelector('.course-presenter');
            const canvas = root && root.querySelector('.jupyter-matplotlib-canvas-div canvas');
            const control = root && root.querySelector('.noUi-handle');
            if (!canvas || !control || canvas.width < 100 || control.getBoundingClientRect().width === 0) return false;
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 0; i < pixels.length; i += 4 * 97) {  // a drawn figure: something not white
                if (pixels[i] < 200 || pixels[i + 1] < 200 || pixels[i + 2] < 200) return performance.now();
            }
            return false;
        }""", polling="raf", timeout=60_000,
    ).json_value()
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    timings[key] = round(ready_ms / 1000, 2)
    TIMINGS.write_text(json.dumps(timings, indent=1))
    speed_target(ready_ms / 1000 <= TIME_TO_INTERACTION_S,
                 f"{key}: first interaction after {ready_ms / 1000:.1f} s (target ≤ {TIME_TO_INTERACTION_S:g} s)")

    assert page.locator(".jp-CodeCell .jp-InputArea, .cm-editor").count() == 0, "the page shows code"
    assert "import" not in page.locator("body").inner_text()
    shown = page.locator('.jp-OutputArea-output.jp-RenderedText[data-mime-type="text/plain"]')
    assert not shown.evaluate_all("els => els.filter(e => e.offsetParent !== null).map(e => e.innerText)")
    root = page.locator(".course-presenter")
    assert root.locator(".course-presenter-title").inner_text() == exhibit.title
    assert root.locator(".course-presenter-caption").inner_text().splitlines() == list(exhibit.caption)
    explorer = Explorer(page.locator(".course-presenter > .widget-vbox").first)
    box = explorer.canvas.bounding_box()
    assert box["width"] >= 0.5 * 1400 or box["height"] >= 0.45 * 1000, f"{key}: the figure is {box} in a 1400×1000 window"
    assert box["y"] + box["height"] <= 1000 + 1, f"{key}: the figure runs below the window ({box})"
    opened = explorer.settled_png(what=f"{key} as it opened")
    opened_status, opened_readouts = explorer.status, [s.readout for s in explorer.sliders]

    slider = next(s for s in explorer.sliders if not s.disabled)
    exercise_slider(explorer, slider, f"presenter {key}, {slider.label!r}")

    buttons = root.locator(".course-presenter-button")
    assert buttons.all_inner_texts()[-1].strip() == "reset"
    assert [text.strip() for text in buttons.all_inner_texts()[:-1]] == [p.label for p in exhibit.presets]
    # a preset that changes what it opened with, then reset: the figure changes, then shows the opening settings
    # again (the same status and readouts; its pixels may differ where a preset's wider tick labels re-laid it out)
    preset = exhibit.presets[1]  # one that changes the opening settings (tests/test_presenter.py checks that)
    buttons.filter(has_text=preset.label).first.click()
    at_preset = explorer.settled_png(differs_from={opened}, what=f"{key} after the preset {preset.label!r}")
    assert (explorer.status, [s.readout for s in explorer.sliders]) != (opened_status, opened_readouts)
    page.screenshot(path=ARTIFACTS / f"presenter-{key}.png")
    buttons.filter(has_text="reset").press("Enter")  # the keyboard: a focused button clicks on Enter
    explorer.settled_png(differs_from={at_preset}, what=f"{key} after reset")
    until(lambda: explorer.status == opened_status, timeout=10, message=lambda: f"after reset: {explorer.status!r}")
    assert [s.readout for s in explorer.sliders] == opened_readouts
    no_errors_anywhere(page, voila)

    # back to the gallery: Voilà shuts the page's kernel down (the template's fix for voila#1458: opened directly,
    # a page has no _xsrf cookie, and its kernel used to stay, ~300 MB each)
    kernel_id = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
    page.goto(voila.at("/"))
    until(lambda: f"Kernel shutdown: {kernel_id}" in voila.log_text(), timeout=20,
          message=f"{key}: the page's kernel {kernel_id} was not shut down when the page was left")
    assert voila.log_errors(since=page.log_start) == []


def test_presenter_lesson_dashboard_hides_code_and_printouts_and_responds(voila, voila_page):
    """From the gallery, a full lesson opens as a dashboard that shows no code and no check printout, and its
    explorer responds to the keyboard as in JupyterLab."""
    page = voila_page
    page.goto(voila.at("/"))
    page.locator(".course-lessons a", has_text=Path(WEIGHT_DECAY).stem).click()
    page.wait_for_url(f"**/voila/render/notebooks/{WEIGHT_DECAY}**")
    dashboard = page
    found = dashboard.locator(".jp-OutputArea-output").filter(has=dashboard.locator(".widget-slider"))
    found.first.wait_for(timeout=180_000)  # Voilà runs the whole notebook before it shows it
    assert dashboard.locator(".jp-CodeCell .jp-InputArea, .cm-editor").count() == 0, "the dashboard shows code"
    assert "import torch" not in dashboard.locator("body").inner_text()
    # the check cells' printouts are in the page (so this can fail) but hidden from the audience; plots are shown
    printed = dashboard.locator('.jp-OutputArea-output.jp-RenderedText[data-mime-type="text/plain"]')  # Voilà's streams
    assert printed.count() > 5, "the dashboard has no printed output to hide"
    shown = [text[:60] for text in printed.evaluate_all("els => els.filter(e => e.offsetParent !== null).map(e => e.innerText)")]
    assert not shown, f"check printouts reach the audience: {shown[:3]}"
    assert "max |" not in dashboard.locator("body").inner_text()  # e.g. the torch comparisons' printouts
    (root,) = explorers(dashboard)
    explorer = Explorer(root)
    explorer.root.scroll_into_view_if_needed()
    assert explorer.has_canvas(), "no ipympl canvas in the dashboard"
    until(lambda: visible_content(explorer.pixels()) > 0.01, timeout=30, message="the dashboard's figure is blank")
    exercise_slider(explorer, explorer.slider("weight decay"), "Voilà: λ")
    root.screenshot(path=ARTIFACTS / "voila-weight-decay-explorer.png")
    no_errors_anywhere(dashboard, voila)


def test_presenter_playground_lesson_plays_in_its_dashboard(voila, voila_page):
    """`make present` shows notebook 06 as a dashboard: its playground plays and pauses there as in JupyterLab."""
    page = voila_page
    page.goto(voila.at("/voila/render/notebooks/06_playground.ipynb"), wait_until="commit")  # it streams cells
    roots = page.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-play"))
    roots.first.wait_for(timeout=180_000)  # Voilà runs the whole notebook first
    assert roots.count() == 1 and page.locator(".jp-CodeCell .jp-InputArea, .cm-editor").count() == 0
    explorer = Explorer(roots.first)
    explorer.root.scroll_into_view_if_needed()
    explorer.settled_png(what="the dashboard's playground")
    play_then_pause(page, explorer, "06_playground.ipynb in Voilà")
    no_errors_anywhere(page, voila)
