"""A class on the course's JupyterHub (`make hub`), in real browser pages: two students sign in on the hub's login
page, each runs notebook 04 in their own JupyterLab at the same time, moves a slider, and sees their own explorer
and nothing of the other's; a student cannot open another's server. Needs configurable-http-proxy from npm
(`make hub-proxy`; `make test` installs it when npm is here), skipped without it."""

import re
import sys

import pytest

from e2e_servers import ARTIFACTS, ROOT
from e2e_ui import (
    ConsoleLog, Explorer, cell_errors, explorers, key_to_pixels_ms, open_notebook, start_run_all, unexecuted_cells,
    until, wait_until_run,
)

sys.path.insert(0, str(ROOT / "hub"))
from course_hub import CourseHub, proxy_missing  # noqa: E402

pytestmark = pytest.mark.skipif(proxy_missing() is not None, reason=str(proxy_missing()))
NOTEBOOK = "04_weight_decay.ipynb"
STUDENTS = ("ada", "bo")
# a line of the hub's log (its own, the proxy's, the students' servers' and kernels') that reports an error
HUB_LOG_ERROR = re.compile(r"Traceback \(most recent call last\)|^\[E |\berror\b.*ConfigProxy|\bERROR\b")


@pytest.fixture(scope="module")
def course_hub(tmp_path_factory):
    with CourseHub(tmp_path_factory.mktemp("course-hub")) as hub:
        yield hub


class SignedIn:
    """What e2e_ui's open_notebook needs of a server (``at``), for a student signed in on the hub: URLs of their
    own server, through the hub's proxy (the hub's cookie signs them in: no token)."""

    def __init__(self, hub, name):
        self.hub, self.name = hub, name

    def at(self, path: str) -> str:
        return f"{self.hub.url}/user/{self.name}{path}"


def sign_in(browser, hub, name):
    """A student's own browser (a fresh context: cookies of their own), signed in on the hub's login page, in their
    JupyterLab once their server has started."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console = ConsoleLog(page)
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", hub.password)
    page.locator("#login_submit, input[type=submit], button[type=submit]").first.click()
    page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=240_000)  # "your server is starting", then Lab
    return page


def weight_decay_explorer(page) -> Explorer:
    (explorer,) = [e for e in map(Explorer, explorers(page)) if any(s.label.startswith("weight decay") for s in e.sliders)]
    explorer.root.scroll_into_view_if_needed()
    return explorer


def test_two_students_sign_in_run_04_and_each_sees_only_their_own_explorer(course_hub, browser):
    pages = {name: sign_in(browser, course_hub, name) for name in STUDENTS}
    try:
        log_start = course_hub.log_path.stat().st_size
        for name, page in pages.items():
            open_notebook(page, SignedIn(course_hub, name), NOTEBOOK)
        for page in pages.values():  # both run at once, as a class does
            start_run_all(page)
        for name, page in pages.items():
            wait_until_run(page)
            assert cell_errors(page) == [] and unexecuted_cells(page) == [], name

        ada, bo = (weight_decay_explorer(pages[name]) for name in STUDENTS)
        start = {name: (e.slider("weight decay").readout, e.slider("learning rate").readout, e.settled_png())
                 for name, e in zip(STUDENTS, (ada, bo))}
        assert start["ada"][:2] == start["bo"][:2] == ("0", "0.003")  # the notebook's starting point, for both
        assert start["ada"][2] == start["bo"][2]  # the same seeds: the same figure

        # Ada moves λ, Bo the learning rate; each figure redraws (timed in the page, through the hub's proxy)
        ada_ms = key_to_pixels_ms(pages["ada"], ada, ada.slider("weight decay"), "ArrowRight")
        bo_ms = key_to_pixels_ms(pages["bo"], bo, bo.slider("learning rate"), "ArrowRight")
        ada_png = ada.settled_png(differs_from={start["ada"][2]}, what="Ada's figure after her move")
        bo_png = bo.settled_png(differs_from={start["bo"][2]}, what="Bo's figure after his move")

        # each sees their own move, and only theirs
        assert ada.slider("weight decay").readout == "0.001" and ada.slider("learning rate").readout == "0.003"
        assert bo.slider("weight decay").readout == "0" and bo.slider("learning rate").readout != "0.003"
        assert ada_png != bo_png and ada.status != bo.status, (ada.status, bo.status)
        assert not ada.status.startswith("error:") and not bo.status.startswith("error:")
        for name, explorer in zip(STUDENTS, (ada, bo)):
            explorer.root.scroll_into_view_if_needed()
            explorer.root.screenshot(path=ARTIFACTS / f"hub-{name}-explorer.png")
            assert pages[name].console.errors == [], f"{name}'s browser console logged errors"

        def logged_errors():
            text = course_hub.log_path.read_text(errors="replace")[log_start:]
            return [line for line in text.splitlines() if HUB_LOG_ERROR.search(line)]

        assert logged_errors() == [], f"the hub, a student's server or kernel logged errors: {course_hub.log_path}"

        # a student cannot open another's server: the hub refuses Bo on Ada's (and logs the refusal)
        response = pages["bo"].goto(f"{course_hub.url}/user/ada/lab/tree/{NOTEBOOK}")
        until(lambda: response.status == 403 or "403" in pages["bo"].title(), timeout=30,
              message=lambda: f"Bo opened Ada's server: {pages['bo'].url} ({response.status})")
        assert [line.split("] ", 1)[1] for line in logged_errors()] == [
            "User <User(bo 1/1 running)> not allowed to access Server at /user/ada/"]
        print(f"key → new pixels through the hub: Ada {ada_ms:.0f} ms, Bo {bo_ms:.0f} ms")
    finally:
        for page in pages.values():
            page.context.close()
