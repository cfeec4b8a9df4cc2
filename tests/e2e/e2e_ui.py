"""What a student does in the browser, as functions: open a notebook, run all cells, find the
explorers, move a slider with the keyboard, read the figure's pixels.

Everything here goes through the page (clicks, keys, the DOM), except ``KernelProbe``, which
asks the notebook's own kernel what it holds (the explorer's title text, its canvas pixels) to
check that the browser shows what the kernel drew last.
"""

import base64
import io
import json
import time
import urllib.parse
from dataclasses import dataclass

import numpy as np
import PIL.Image

RUN_TIMEOUT = 300  # seconds for "Run All Cells"; the slowest notebook (05) takes ~25 s here
SETTLE_TIMEOUT = 30  # seconds for one slider move to retrain and redraw
ERROR_MIME = "application/vnd.jupyter.stderr"
# a widget shown as text means the front-end extension is missing or broken
UNRENDERED_WIDGET = ("VBox(children=", "HBox(children=", "Canvas(toolbar=", "Error displaying widget")


def until(condition, *, timeout, message, interval=0.1):
    """Poll condition() until it returns a true value; return it, or fail with message()."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {message() if callable(message) else message}")
        time.sleep(interval)


class ConsoleLog:
    """What a page reported: console errors and uncaught exceptions.

    Loads from other hosts are not errors of ours: this machine may have no network (Voilà's
    widget manager fetches Font Awesome's CSS from a CDN); they are listed in ``offline``.
    """

    def __init__(self, page):
        self.errors: list[str] = []
        self.offline: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("requestfailed", self._on_request_failed)

    def _on_console(self, message):
        offline = message.text.startswith("Failed to load resource: net::ERR_NAME_NOT_RESOLVED")
        if message.type == "error" and not offline:
            self.errors.append(message.text)

    def _on_request_failed(self, request):
        if urllib.parse.urlsplit(request.url).hostname not in ("127.0.0.1", "localhost", None):
            self.offline.append(request.url)


# --- JupyterLab ---------------------------------------------------------------------------------

def open_notebook(page, lab, name):
    """Open notebooks/<name> in a fresh JupyterLab workspace and wait for its kernel to be idle."""
    page.goto(lab.at(f"/lab/tree/{name}?reset"))
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    # the status bar names the kernel once it is connected ("Python 3 (ipykernel) | Idle"); the
    # toolbar's indicator already says idle before that, while there is no kernel yet
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(item => {
            const text = item.textContent.trim();
            return text.endsWith('| Idle') && !text.startsWith('No Kernel');
        })""",
        timeout=90_000, polling=100,
    )


def run_all_cells(page, *, timeout=RUN_TIMEOUT):
    """Run → Run All Cells, as a student would, and wait until nothing is queued or running."""
    start_run_all(page)
    wait_until_run(page, timeout=timeout)


def start_run_all(page):
    """Run → Run All Cells, without waiting (several students' pages can then run at once)."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()


def wait_until_run(page, *, timeout=RUN_TIMEOUT):
    """Wait until Run All has finished: the first cell has run, no [*] prompt is left and the kernel is idle (the
    notebook opened with no outputs; after an error, later cells stay unrun)."""
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent);
            const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
            return prompts.length > 0 && /[0-9]/.test(prompts[0]) && !prompts.some(p => p.includes('*'))
                && indicator !== null && indicator.dataset.status === 'idle';
        }""",
        timeout=timeout * 1000, polling=250,
    )


def unexecuted_cells(page) -> list[int]:
    """Indices (1-based, code cells only) of the code cells without an execution count."""
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_text_contents()
    return [i for i, text in enumerate(prompts, 1) if not any(c.isdigit() for c in text)]


def cell_errors(page) -> list[str]:
    """Tracebacks shown in the notebook, and widgets that did not render (shown as text)."""
    errors = []
    # textContent, not innerText: JupyterLab skips rendering cells out of view (content-visibility)
    for text in page.locator(f".jp-OutputArea-output[data-mime-type='{ERROR_MIME}']").all_text_contents():
        if "Traceback" in text:  # warnings go to stderr too; exceptions come with a traceback
            errors.append(text.strip()[-1500:])
    for text in page.locator(".jp-OutputArea-output").all_text_contents():
        if any(marker in text for marker in UNRENDERED_WIDGET):
            errors.append(f"widget not rendered: {text.strip()[:300]}")
    return errors


def explorers(page):
    """The outputs that hold an explorer: controls with at least one slider."""
    return page.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-slider")).all()


# --- one explorer -------------------------------------------------------------------------------

class Slider:
    """An ipywidgets slider: a focusable noUiSlider handle and a readout."""

    def __init__(self, root):
        self.root = root
        self.handle = root.locator(".noUi-handle")
        self.readout_locator = root.locator(".widget-readout")

    @property
    def label(self) -> str:
        return self.root.locator(".widget-label").first.text_content().strip()

    @property
    def readout(self) -> str:
        return self.readout_locator.text_content().strip()

    def position(self) -> tuple[float, float, float]:
        """(now, min, max) of the handle, as the slider itself reports them (aria attributes)."""
        values = [self.handle.get_attribute(f"aria-value{k}") for k in ("now", "min", "max")]
        return tuple(float(v) for v in values)

    @property
    def disabled(self) -> bool:
        return self.root.locator(".noUi-target[disabled]").count() > 0

    def press(self, key: str):
        """Focus the handle and press a key, as a keyboard user does (ArrowLeft/Right, Home, End)."""
        self.handle.focus()
        self.handle.press(key)


@dataclass
class Explorer:
    """An explorer's output: sliders, the status line, and the ipympl canvas."""

    root: object

    @property
    def sliders(self) -> list[Slider]:
        """The sliders shown (the playground hides the dropout sliders of layers it does not have)."""
        return [Slider(s) for s in self.root.locator(".widget-slider").all() if s.is_visible()]

    def slider(self, label_starts: str) -> Slider:
        matches = [s for s in self.sliders if s.label.startswith(label_starts)]
        assert len(matches) == 1, f"{len(matches)} sliders labelled {label_starts!r}"
        return matches[0]

    @property
    def canvas(self):
        # ipympl: the figure canvas (the second canvas is the transparent rubber-band layer)
        return self.root.locator(".jupyter-matplotlib-canvas-div canvas").first

    @property
    def status(self) -> str:
        """The explorer's status line (an HTML widget): its last result, or what it is doing."""
        return self.root.locator(".widget-html-content").first.text_content().strip()

    @property
    def busy(self) -> bool:
        """Retraining: the status says so ("training…", "training p₁ = 0.25, … on 300 images…")."""
        status = self.status
        return status.startswith("training") and status.endswith("…")

    def has_canvas(self) -> bool:
        return self.root.locator(".jupyter-matplotlib-canvas-div canvas").count() > 0

    def png(self) -> str:
        """The canvas's pixels, as a PNG data URL (equal strings: equal pixels)."""
        return self.canvas.evaluate("canvas => canvas.toDataURL('image/png')")

    def pixels(self) -> np.ndarray:
        return decode_data_url(self.png())

    def settled_png(self, *, differs_from=(), equals=None, timeout=SETTLE_TIMEOUT, what="the figure") -> str:
        """Wait until the explorer is done (not busy, the same pixels twice in a row) with
        pixels that differ from every image in differs_from (or equal ``equals``); return them."""
        last = [None]

        def done():
            if self.busy:
                return None
            now = self.png()
            stable, previous = now == last[0], last[0]
            last[0] = now
            if not stable or previous is None:
                return None
            if equals is not None:
                return now if now == equals else None
            return now if now not in differs_from else None

        def why():
            if equals is None:
                return f"{what} never changed (status: {self.status!r})"
            now, expected = decode_data_url(self.png()), decode_data_url(equals)
            if now.shape != expected.shape:
                return f"{what} is {now.shape}, not {expected.shape} as expected"
            differ = np.abs(now.astype(int) - expected).max(axis=-1)
            return (f"{what} never came back to the expected image: {(differ > 0).mean():.2%} of its pixels "
                    f"differ, by up to {differ.max()} (status: {self.status!r})")

        return until(done, timeout=timeout, message=why, interval=0.15)


def decode_data_url(url: str) -> np.ndarray:
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(PIL.Image.open(io.BytesIO(data)).convert("RGB"))


def visible_content(pixels: np.ndarray) -> float:
    """Share of pixels that are not the background colour (0 for a blank figure)."""
    background = pixels[0, 0]
    return float((np.abs(pixels.astype(int) - background).sum(axis=-1) > 30).mean())


# --- the kernel behind the page -----------------------------------------------------------------

class KernelProbe:
    """Runs code in the kernel of an open notebook (a second client of the same kernel)."""

    def __init__(self, lab, notebook_name):
        from jupyter_client import BlockingKernelClient

        sessions = [s for s in lab.api("/api/sessions") if s["path"].endswith(notebook_name)]
        assert len(sessions) == 1, f"{len(sessions)} kernel sessions for {notebook_name}"
        connection_file = lab.runtime_dir / f"kernel-{sessions[0]['kernel']['id']}.json"
        self.client = BlockingKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=30)

    def run(self, code: str, timeout=60) -> str:
        """Execute code in the kernel (without touching its history); return what it printed."""
        out = []

        def hook(message):
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                out.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                out.append("\n".join(message["content"]["traceback"]))

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout, store_history=False)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)

    def value(self, expression: str):
        """The value of an expression in the kernel, passed through JSON."""
        return json.loads(self.run(f"import json as _json\nprint(_json.dumps({expression}))"))

    def canvas_pixels(self, figure: str) -> np.ndarray:
        """The RGB pixels of a figure's canvas as the kernel last rendered them (no new draw)."""
        code = (
            "import base64 as _b64, io as _io, numpy as _np, PIL.Image as _Image\n"
            "_png = _io.BytesIO()\n"
            f"_Image.fromarray(_np.asarray({figure}.canvas.buffer_rgba())).save(_png, format='png')\n"
            "print('data:image/png;base64,' + _b64.b64encode(_png.getvalue()).decode())\n"
            "del _png"
        )
        return decode_data_url(self.run(code).strip())

    def close(self):
        self.client.stop_channels()


# --- what a student sees: key press → new pixels ------------------------------------------------------

# A hash of a canvas's pixels (every 7th pixel's red byte: any redraw changes it), for the two scripts below.
_CANVAS_HASH = """
    const context = canvas.getContext('2d');
    const hash = () => {
        const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
        let h = 0;
        for (let i = 0; i < data.length; i += 28) h = (Math.imul(h, 31) + data[i]) | 0;
        return h;
    };
"""

# Armed before a key press: a keydown listener notes performance.now(), then every animation frame hashes the
# figure's canvas until it differs from what it showed when armed; window.__wdLatency gets the milliseconds
# (-1 after 10 s without a change).
_ARM_LATENCY = """canvas => {
    window.__wdLatency = null;""" + _CANVAS_HASH + """    const before = hash();
    document.addEventListener('keydown', () => {
        const pressed = performance.now();
        const poll = () => {
            const now = performance.now();
            if (hash() !== before) window.__wdLatency = now - pressed;
            else if (now - pressed > 10000) window.__wdLatency = -1;
            else requestAnimationFrame(poll);
        };
        requestAnimationFrame(poll);
    }, {capture: true, once: true});
}"""


def key_to_pixels_ms(page, explorer: Explorer, slider: Slider, key: str) -> float:
    """Press ``key`` on ``slider``; the milliseconds from the keydown to the first animation frame whose canvas
    pixels differ (measured in the page). Raises if the figure did not change within 10 s."""
    explorer.canvas.evaluate(_ARM_LATENCY)
    slider.press(key)
    page.wait_for_function("window.__wdLatency !== null", timeout=15_000, polling=50)
    latency = page.evaluate("window.__wdLatency")
    assert latency >= 0, f"{slider.label}: the figure did not change within 10 s of {key}"
    return latency


# Counts the distinct frames the canvas shows, one check per animation frame, for ``ms`` milliseconds.
_COUNT_FRAMES = """([canvas, ms]) => new Promise(resolve => {""" + _CANVAS_HASH + """    let last = hash(), frames = 0;
    const start = performance.now();
    const poll = () => {
        const h = hash();
        if (h !== last) { frames += 1; last = h; }
        if (performance.now() - start < ms) requestAnimationFrame(poll);
        else resolve(frames);
    };
    requestAnimationFrame(poll);
})"""


def frames_painted(explorer: Explorer, seconds: float) -> int:
    """How many new images the figure's canvas showed over ``seconds`` (measured in the page)."""
    return explorer.canvas.evaluate(f"canvas => ({_COUNT_FRAMES})([canvas, {seconds * 1000}])")
