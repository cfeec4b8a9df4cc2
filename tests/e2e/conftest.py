"""Fixtures for the browser tests: one JupyterLab and one Voilà server per session (see
e2e_servers.py), and Debian's Chromium driven by Playwright, one fresh context per test.

Without Chromium (or Playwright) every test here is skipped, with the reason and the fix.
Screenshots and the servers' logs go to test-artifacts/e2e/.
"""

import os
from pathlib import Path

import pytest

from e2e_servers import ARTIFACTS, LabServer, VoilaServer
from e2e_ui import ConsoleLog

# WD_E2E_CHROMIUM: another Chromium binary (or a missing path, to see the skip)
CHROMIUM = Path(os.environ.get("WD_E2E_CHROMIUM", "/usr/bin/chromium"))
# headless Chromium as root on a closed network: without these flags its connections are refused
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HERE = Path(__file__).parent


def why_skip() -> str | None:
    if os.environ.get("WD_E2E") == "0":
        return "browser tests switched off with WD_E2E=0"
    if not CHROMIUM.is_file():
        return (f"browser tests need Chromium at {CHROMIUM}: `apt-get install chromium` "
                "(Debian; .ci/run does it), or set WD_E2E_CHROMIUM to a Chromium binary")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need Playwright for Python: `make install` (it is in the [dev] extra)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = why_skip()
    if reason is not None:
        for item in items:
            if HERE in Path(item.fspath).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter):
    ran = [r for key in ("passed", "failed", "error") for r in terminalreporter.stats.get(key, [])
           if r.nodeid.startswith("tests/e2e/") and r.when == "call"]
    if ran:
        terminalreporter.write_line(f"browser tests: screenshots and server logs in {ARTIFACTS}")
        from test_course_in_browser import MISSED_TARGETS  # noqa: PLC0415 - the module the tests ran in

        for what in MISSED_TARGETS:  # measured here, enforced by `make bench` (WD_E2E_TARGETS=1)
            terminalreporter.write_line(f"speed target missed on this machine: {what}", yellow=True)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    server = LabServer("jupyter-lab", tmp_path_factory.mktemp("lab"))
    try:
        yield server.launch()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def voila(tmp_path_factory):
    server = VoilaServer("voila", tmp_path_factory.mktemp("voila"))
    try:
        yield server.launch()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh, empty profile (its own --user-data-dir)
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.call_failed = report.failed


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console = ConsoleLog(page)
    try:
        yield page
        if getattr(request.node, "call_failed", False):  # what the page looked like when it failed
            page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}.png", full_page=True)
    finally:
        context.close()
