"""Presenter mode: the list of exhibits, what each preset claims, the page widget, and the files that
presenter/build.py writes from them (explorer pages, gallery, Voilà's kernel pools)."""

import ast
import gc
import importlib.util
import json
import re
from pathlib import Path

import ipywidgets as widgets
import PIL.Image
import pytest

from wd_helpers.widgets import presenter as presenter_module
from wd_helpers.widgets.presenter import EXHIBITS, PROJECTOR_WIDTH_PX, present

ROOT = Path(__file__).resolve().parents[1]


def _load_build():
    spec = importlib.util.spec_from_file_location("presenter_build", ROOT / "presenter" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def explorer_calls() -> dict[str, list[tuple[str, dict]]]:
    """Every ``*_explorer(...)`` call in the lessons: factory name -> [(notebook, literal keyword arguments)]."""
    calls = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            try:
                tree = ast.parse("\n".join(line for line in source.splitlines() if not line.startswith(("%", "!"))))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("_explorer"):
                    literal = {}
                    for keyword in node.keywords:
                        try:
                            literal[keyword.arg] = ast.literal_eval(keyword.value)
                        except ValueError:
                            pass  # a notebook variable (seed=SEED, n_train=data.n_train)
                    calls.setdefault(node.func.id, []).append((path.name, literal))
    return calls


# --- the list ------------------------------------------------------------------------------------

def test_every_explorer_of_the_course_is_an_exhibit_with_the_lessons_settings():
    calls = explorer_calls()
    assert len(calls) >= 9
    by_factory = {exhibit.build.__name__: exhibit for exhibit in EXHIBITS.values()}
    assert set(by_factory) == set(calls), "an explorer of the lessons has no presenter page, or the reverse"
    for factory, uses in calls.items():
        exhibit = by_factory[factory]
        assert exhibit.lesson in {notebook for notebook, _ in uses}, f"{exhibit.key}: not in {exhibit.lesson}"
        _, lesson_options = next(use for use in uses if use[0] == exhibit.lesson)
        assert exhibit.options == lesson_options, f"{exhibit.key} opens at {exhibit.options}, the lesson at {lesson_options}"


def test_exhibits_are_complete():
    for key, exhibit in EXHIBITS.items():
        assert exhibit.key == key and (ROOT / "notebooks" / exhibit.lesson).is_file()
        assert len(exhibit.caption) == 2 and all(10 < len(line) <= 110 for line in exhibit.caption), key
        assert len(exhibit.presets) >= 3, f"{key}: fewer than three presets"
        labels = [preset.label for preset in exhibit.presets]
        assert len(set(labels)) == len(labels) and "reset" not in labels


def test_present_refuses_an_unknown_key():
    with pytest.raises(ValueError, match=r"key must be one of activations, .*weight_decay.*got 'weightdecay'"):
        present("weightdecay")


# --- what each preset says is what it shows ---------------------------------------------------------

def _slope_shift(explorer, loss):
    return explorer.fits[loss][0] - explorer.clean_fits[loss][0]


def _first_over_last(explorer):
    return explorer.norms[0] / explorer.norms[-1]


# (exhibit, preset label) -> a check of what its tooltip ("says") claims, on the explorer after the click.
# Each compares with what the claim would be if false (the other preset, the bound's other side).
PRESET_CLAIMS = {
    ("activations", "sigmoid, |x| ≤ 6"): lambda e: abs(e.dy.max().item() - 0.25) < 1e-4 and e.dy[0].item() < 0.01
    and e.x[e.dy.argmax()].abs().item() < 0.05,
    ("activations", "sigmoid, |x| ≤ 20"): lambda e: 0.75 <= (e.dy < 0.01).float().mean().item() < 0.8,
    ("activations", "ReLU"): lambda e: bool((e.dy[e.x > 0] == 1).all() and (e.dy[e.x < 0] == 0).all()),
    ("activations", "ELU, α = 1.5"): lambda e: abs(e.dy.max().item() - 1.5) < 1e-3 and abs(e.x[e.dy.argmax()].item()) < 0.05,
    ("gradient_depth", "sigmoid, 10 layers"): lambda e: f"{_first_over_last(e):.0e}" == "3e-06",
    ("gradient_depth", "sigmoid, 30 layers"): lambda e: f"{_first_over_last(e):.0e}" == "5e-16",
    ("gradient_depth", "ReLU, 30 layers"): lambda e: f"{_first_over_last(e):.2g}" == "0.073",
    ("outlier", "no outlier"): lambda e: all(abs(a - 2.1) < 0.05 for a, _ in e.fits.values()),
    ("outlier", "outlier +50"): lambda e: [f"{_slope_shift(e, n):.2f}" for n in ("MSE", "L1", "Huber")] == ["1.36", "0.05", "0.06"],
    ("outlier", "outlier −40"): lambda e: f"{_slope_shift(e, 'MSE'):.2f}" == "-1.09" and abs(_slope_shift(e, "L1")) < 0.005,
    ("coin", "7 heads in 10"): lambda e: abs(e.theta[e.nll.argmin()].item() - 0.7) < 1e-3,
    ("coin", "70 heads in 100"): lambda e: abs(e.theta[e.nll.argmin()].item() - 0.7) < 1e-3,  # 10×: see below
    ("coin", "0 heads in 10"): lambda e: e.nll.argmin().item() == 0,
    ("optimizer", "SGD η = 0.4"): lambda e: abs(e.points[-1, 0].item()) > 0.9
    and all(a * b < 0 for a, b in zip(e.points[1:6, 1].tolist(), e.points[2:7, 1].tolist())),
    ("optimizer", "SGD η = 0.6: past the bound"): lambda e: abs(e.points[-1, 1].item()) > 1e3,
    ("optimizer", "Momentum η = 0.6, β = 0.5"): lambda e: e.losses[-1] < 1e-4,
    ("optimizer", "Adam (torch's β)"): lambda e: ((e.points[1] - e.points[0]).abs() - 0.4).abs().max().item() < 1e-4,
    ("momentum", "optimum, κ = 10"): lambda e: 0 <= e.rate - e.best_rate < 0.02,
    ("momentum", "β = 0.9, α = 0.03"): lambda e: abs(e.rate - 0.9**0.5) < 1e-3 and e.diverged_at is None,
    ("momentum", "β = 0.9, α = 4: past the edge"): lambda e: e.rate > 1 and e.diverged_at is not None,
    ("schedules", "constant η = 0.02, B = 1"): lambda e: 0.7 < e.final / e.floor < 1.45,
    ("schedules", "B = 8"): lambda e: e.blew_up is None and 0.7 < e.final / e.floor < 1.45,  # 8× lower: see below
    ("schedules", "cosine to 0"): lambda e: e.final < e.floor / 4,
    ("schedules", "η = 0.1, B = 1: blows up"): lambda e: e.blew_up is not None,
    ("weight_decay", "λ = 0"): lambda e: e.history.train_loss[-1] < 1e-6 and f"{e.history.test_loss[-1]:.3g}" == "192",
    ("weight_decay", "λ = 3 at lr 0.003"): lambda e: f"{e.history.test_loss[-1]:.3g}" == "0.307"
    and f"{e.history.w_norm:.3g}" == "0.391",
    ("weight_decay", "λ = 3, lr 0.03: past the bound"): lambda e: e.history.diverged,
    ("weight_decay", "L1, λ = 3"): lambda e: f"{e.history.w_norm:.2g}" == "0.076" and f"{e.history.test_loss[-1]:.2g}" == "0.032",
    ("dropout", "p = 0"): lambda e: f"{e.history.train_loss[-1]:.1g}" == "0.001" and f"{e.history.test_loss[-1]:.2g}" == "0.28",
    ("dropout", "p₂ = 0.5"): lambda e: f"{e.history.test_loss[-1]:.2g}" == "0.17" and f"{e.baseline.test_loss[-1]:.2g}" == "0.28",
    ("dropout", "both 0.8"): lambda e: e.history.train_loss[-1] > 0.1 > e.baseline.train_loss[-1],
    ("dropout", "1 200 images"): lambda e: 0 < e.baseline.test_loss[-1] - e.history.test_loss[-1] < 0.281 - 0.177,
}


def test_every_preset_has_a_claim_check():
    assert set(PRESET_CLAIMS) == {(key, preset.label) for key, e in EXHIBITS.items() for preset in e.presets}


@pytest.mark.parametrize("key", list(EXHIBITS))
def test_each_preset_shows_what_it_says_in_one_retrain_and_reset_goes_back(key):
    shown = present(key)
    explorer = shown.explorer
    first, first_values = explorer.status.value, explorer.values()
    seen = {}
    for preset in EXHIBITS[key].presets:
        before = explorer.retrain_count
        shown.apply(preset.label)
        assert explorer.last_error is None, f"{preset.label}: {explorer.status.value}"
        assert explorer.retrain_count - before <= 1, f"{preset.label}: more than one retrain for one click"
        for name, value in preset.values.items():
            assert explorer.controls[name].value == value, f"{preset.label}: {name} shows {explorer.controls[name].value}"
        assert PRESET_CLAIMS[key, preset.label](explorer), f"{key}, {preset.label!r} does not show {preset.says!r}"
        seen[preset.label] = explorer.values()
    assert len(set(seen.values())) == len(seen), "two presets set the same values"
    assert seen[EXHIBITS[key].presets[1].label] != first_values  # the browser test clicks it to see a change
    shown.apply("reset")
    assert explorer.values() == first_values and explorer.status.value == first
    explorer.close()


def test_the_comparative_claims_hold_between_presets():
    """What a preset claims against another one: the coin's NLL is 10× with 100 flips, the floor falls 8× with B = 8,
    and dropout gains less on 1 200 images than on 300."""
    coin = present("coin")
    coin.apply("7 heads in 10")
    nll_10 = coin.explorer.nll.clone()
    coin.apply("70 heads in 100")
    assert (coin.explorer.nll - 10 * nll_10).abs().max().item() < 1e-3 * nll_10.abs().max().item()
    coin.explorer.close()

    schedules = present("schedules")
    schedules.apply("constant η = 0.02, B = 1")
    floor_1, final_1 = schedules.explorer.floor, schedules.explorer.final
    schedules.apply("B = 8")
    assert schedules.explorer.floor * 8 == pytest.approx(floor_1, rel=1e-12)
    assert final_1 / schedules.explorer.final > 5  # the runs follow it down
    schedules.explorer.close()

    dropout = present("dropout")
    explorer = dropout.explorer
    gain_300 = explorer.baseline.test_loss[-1] - explorer.history.test_loss[-1]  # as it opens: p = 0.2, 0.5 on 300
    dropout.apply("1 200 images")
    gain_1200 = explorer.baseline.test_loss[-1] - explorer.history.test_loss[-1]
    assert 0 < gain_1200 < gain_300
    explorer.close()


# --- the page widget ------------------------------------------------------------------------------

def test_a_presentation_is_sized_for_a_projector_and_titled():
    shown = present("weight_decay")
    figure = shown.explorer.figure
    assert figure.get_size_inches()[0] * figure.dpi == pytest.approx(PROJECTOR_WIDTH_PX)
    png = PIL.Image.open(__import__("io").BytesIO(shown.explorer.live.png()))
    assert png.width == PROJECTOR_WIDTH_PX
    width = shown.explorer.live.view.layout.width
    aspect = float(re.search(r"\* ([0-9.]+)\)\)$", width).group(1))
    assert aspect == pytest.approx(9 / 3.4, rel=1e-3) and width.startswith("min(100%, calc((100vh - ")
    assert presenter_module.CSS_CLASS in shown.widget._dom_classes
    assert "Weight decay against overfitting" in shown.header.value
    assert all(line in shown.header.value for line in EXHIBITS["weight_decay"].caption)
    assert list(shown.buttons) == [p.label for p in EXHIBITS["weight_decay"].presets] + ["reset"]
    shown.explorer.close()


def test_closing_the_explorer_closes_the_page_and_a_button_holds_nothing():
    before = set(widgets.widget._instances)
    shown = present("coin")
    button = shown.buttons["70 heads in 100"]
    assert shown.header.comm is not None
    shown.explorer.close()
    assert shown.header.comm is None and button.comm is None and shown.widget.comm is None
    assert set(widgets.widget._instances) <= before  # nothing left behind
    button.click()  # a click that arrives late does nothing, and raises nothing

    shown = present("coin")
    explorer_ref = __import__("weakref").ref(shown.explorer)
    del shown
    gc.collect()
    assert explorer_ref() is None, "the page's buttons keep the explorer alive"


def test_a_refused_preset_is_shown_in_the_status_line_not_raised():
    shown = present("coin")
    shown.buttons["oops"] = presenter_module._button("oops", "", __import__("weakref").ref(shown.explorer),
                                                     {"flips": 5, "heads": 9})
    values = shown.explorer.values()
    shown.apply("oops")
    assert "error" in shown.explorer.status.value and "heads" in shown.explorer.status.value
    assert shown.explorer.values() == values
    with pytest.raises(ValueError, match="label must be one of"):
        shown.apply("nothing")
    shown.explorer.close()


def test_explorer_set_changes_several_controls_with_one_retrain_or_none():
    shown = present("coin")
    explorer = shown.explorer
    count = explorer.retrain_count
    explorer.set(flips=100, heads=70)
    assert explorer.values() == (70, 100) and explorer.retrain_count == count + 1
    explorer.set(flips=100, heads=70)  # nothing changes: nothing retrains, nothing redraws
    assert explorer.retrain_count == count + 1
    with pytest.raises(ValueError, match="'bogus' is not a control of this explorer: its controls are heads, flips"):
        explorer.set(flips=5, bogus=1)
    with pytest.raises(ValueError, match=r"heads.*\[0, 5\].*got 9"):
        explorer.set(flips=5, heads=9)
    assert explorer.values() == (70, 100) and explorer.sliders["heads"].max == 100  # all put back
    assert explorer.retrain_count == count + 1
    explorer.close()


# --- the files presenter/build.py writes ------------------------------------------------------------

def test_the_written_files_are_up_to_date():
    for path, text in build.written().items():
        assert path.is_file() and path.read_text() == text, f"{path.relative_to(ROOT)} is stale: run presenter/build.py"
    pages = {path.name for path in build.EXPLORER_PAGES.glob("*.ipynb")}
    assert pages == {build.page_name(e) for e in EXHIBITS.values()}, "a page of an explorer no longer listed"


def test_each_exhibit_has_a_thumbnail():
    for key in EXHIBITS:
        image = PIL.Image.open(build.THUMBNAILS / f"{key}.png")
        assert image.width == build.THUMBNAIL_WIDTH and 100 < image.height < 300


def test_an_explorer_page_runs_and_links_back():
    page = json.loads((build.EXPLORER_PAGES / "04_weight_decay.ipynb").read_text())
    links, code = page["cells"]
    assert "[← all explorers](../../../..)" in links["source"] and "(../../notebooks/04_weight_decay.ipynb)" in links["source"]
    namespace = {}
    exec(compile("\n".join(line for line in code["source"].splitlines() if not line.startswith("%")), "page", "exec"),
         namespace)  # the page's code, as Voilà runs it (less the backend magic)
    shown = eval(code["source"].splitlines()[-1], namespace)
    assert shown.exhibit is EXHIBITS["weight_decay"] and shown.explorer.last_error is None
    shown.explorer.close()


def test_the_gallery_links_every_page_thumbnail_and_lesson():
    gallery = build.gallery_html()
    for exhibit in EXHIBITS.values():
        assert f"voila/render/{exhibit.page}\"" in gallery
        assert f"static/thumbnails/{exhibit.key}.png" in gallery
    for lesson in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"voila/render/notebooks/{lesson.name}\"" in gallery


def test_voila_preheats_one_kernel_per_explorer_page_and_none_for_lessons():
    config = json.loads(build.VOILA_CONFIG.read_text())
    assert config["VoilaConfiguration"]["preheat_kernel"] is True and config["VoilaConfiguration"]["classic_tree"] is True
    pools = config["VoilaKernelManager"]["kernel_pools_config"]
    assert pools.pop("default") == {"pool_size": 0}
    assert pools == {exhibit.page: {"pool_size": 1} for exhibit in EXHIBITS.values()}
    for page in pools:
        assert (ROOT / page).is_file()
