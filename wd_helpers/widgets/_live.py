"""What every explorer shares: a figure that redraws in place, and serialised, cached callbacks.

Redraws happen in place. Under ipympl (``%matplotlib widget``) the figure is the interactive
canvas; under any other backend (inline, headless) the same figure is rendered to a PNG image
widget. Callbacks are serialised: if a slider event arrives while a retrain is running (widget
messages on kernel subshells run concurrently with cells), it is queued, and only the latest
values are trained next, so no two redraws overlap and the last value always wins.
"""

import io
import math
import threading
from collections import OrderedDict

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

from ..device import on_course_device

CACHE_SIZE = 512  # settings remembered per explorer: moving back to a value redraws without training

_SLIDERS = (widgets.FloatLogSlider, widgets.FloatSlider, widgets.IntSlider, widgets.SelectionSlider)

# values per decade of a log-scale choice slider: round numbers a lesson can quote exactly
LOG_MANTISSAS = (1, 1.5, 2, 3, 4, 5, 6, 8)


def log_choices(low: float, high: float, mantissas=LOG_MANTISSAS) -> tuple:
    """The round values from ``low`` to ``high`` (powers of ten), ``mantissas`` per decade."""
    first, last = round(math.log10(low)), round(math.log10(high))
    values = [round(m * 10.0**e, 12) for e in range(first, last) for m in mantissas]
    return tuple(values) + (round(10.0**last, 12),)


def choice_slider(name: str, value: float, choices: tuple, **options) -> widgets.SelectionSlider:
    """A slider over explicit values, so the value shown is exactly the value used (a FloatLogSlider
    snaps 0.003 to 0.00316 in the browser). A ``value`` inside the range but off the grid is added to
    it; outside the range it is refused, naming ``name`` and the range."""
    low, high = choices[0], choices[-1]
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    if value not in choices:
        choices = tuple(sorted({*choices, value}))
    return widgets.SelectionSlider(options=[(f"{v:g}", v) for v in choices], value=value, **options)


def _is_interactive_backend() -> bool:
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend == "widget"  # matplotlib >= 3.9 reports %matplotlib widget as "widget"


class _LiveFigure:
    """A figure that redraws in place by blitting: axes, ticks and labels are drawn once, and a
    slider move redraws only the registered (animated) artists over that saved background.

    Under ipympl the canvas widget is the view; under any other backend the figure is rendered
    into a PNG image widget. A full draw (first show, a resize) re-captures the background.
    """

    def __init__(self, figsize):
        self.interactive = _is_interactive_backend()
        if self.interactive:
            with plt.ioff():  # create without displaying: the explorer places it in its layout
                self.figure = plt.figure(figsize=figsize, layout="constrained")
            self.figure.canvas.header_visible = False
            self.figure.canvas.toolbar_position = "right"
            # ipympl#472: a canvas drawn before it is shown inside a box stays 0×0 unless it knows its size
            self.figure.canvas._size = tuple(self.figure.bbox.size)
            # ipympl 0.10 keeps frames drawn before the page connects as a bare base64 "_data_url" (no
            # "data:" prefix), which a page opened later requests as a file (403). The page asks for a
            # fresh frame when it connects, so that copy is not needed.
            self.figure.canvas.syncing_data_url = False
            self.view = self.figure.canvas
        else:
            self.figure = Figure(figsize=figsize, layout="constrained")  # no pyplot: no global state
            FigureCanvasAgg(self.figure)
            self.view = widgets.Image(format="png")
        self.canvas = self.figure.canvas
        self.animated = []
        self._background = None
        self.canvas.mpl_connect("draw_event", self._on_draw)

    def invalidate(self):
        """The background changed (limits, contours, tick labels): the next redraw is a full draw,
        laid out again if wider tick labels would push a label off the figure."""
        self._background = None

    def animate(self, artists):
        """Register artists that change on every update; everything else is background."""
        for artist in artists:
            artist.set_animated(True)
            self.animated.append(artist)

    def _on_draw(self, _event=None):
        # a full draw skips animated artists: save the background, then paint them on top
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._draw_animated()

    def _draw_animated(self):
        for artist in self.animated:
            self.figure.draw_artist(artist)

    def redraw(self):
        if self.interactive:
            # ipympl loads frames into one image element: a frame that arrives while the previous one
            # is still loading replaces it, so send whole frames (never diffs), one per redraw
            self.canvas._force_full = True
        if self._background is None:
            self.canvas.draw()  # lays out the figure once (constrained layout), then fixes it
            if self._overflows():  # new tick labels are wider than the layout allowed for
                self.figure.set_layout_engine("constrained")
                self.canvas.draw()
            self.figure.set_layout_engine("none")
            if self.interactive:
                return  # ipympl's draw() has sent the frame
        else:
            self.canvas.restore_region(self._background)
            self._draw_animated()
        if self.interactive:
            self.canvas.blit(self.figure.bbox)
        else:
            self.view.value = self.png()

    def _overflows(self) -> bool:
        """Whether any axes' labels or tick labels reach outside the figure."""
        if not isinstance(self.figure.get_layout_engine(), (type(None), PlaceHolderLayoutEngine)):
            return False  # this draw was laid out already
        renderer, figure_box = self.canvas.get_renderer(), self.figure.bbox
        for ax in self.figure.axes:
            box = ax.get_tightbbox(renderer)
            if box is not None and (box.x0 < figure_box.x0 or box.y0 < figure_box.y0
                                    or box.x1 > figure_box.x1 or box.y1 > figure_box.y1):
                return True
        return False

    def png(self) -> bytes:
        """The figure as it is on the canvas now, as PNG bytes (fast: no re-render)."""
        width, height = self.canvas.get_width_height(physical=True)
        image = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba()).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)  # RGB, light compression: measured fastest
        return buffer.getvalue()


class Explorer:
    """Base of the explorers: serialised, cached retrain-and-redraw on every control change."""

    def __init__(self, controls: dict, figsize):
        self.controls = controls
        self.sliders = {k: w for k, w in controls.items() if isinstance(w, _SLIDERS)}
        self.live = _LiveFigure(figsize)
        self.figure = self.live.figure
        self.status = widgets.HTML()
        self.history = None  # the last result shown (a History, ClassifierHistory, ...)
        self.retrain_count = 0  # how many trainings ran (cached values do not retrain)
        self.redraw_count = 0
        self.last_error: Exception | None = None
        self._cache: OrderedDict = OrderedDict()
        self._busy = threading.Lock()
        self._dirty = False
        for control in controls.values():
            control.observe(self._on_change, names="value")

    # subclasses: values() -> hashable key of the current settings; compute(key); draw(key, result)
    def values(self) -> tuple:
        return tuple(control.value for control in self.controls.values())

    def _on_change(self, _change=None):
        self._dirty = True
        while self._busy.acquire(blocking=False):
            try:
                while self._dirty:
                    self._dirty = False
                    self._update(self.values())
            finally:
                self._busy.release()
            if not self._dirty:
                return
        # another thread holds the lock; it sees _dirty and trains the latest values

    @on_course_device
    def _update(self, key):
        try:
            result = self._cache.get(key)
            if result is None:
                self.status.value = "<i>training…</i>"
                result = self.compute(key)
                self.retrain_count += 1
                self._cache[key] = result
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            self.draw(key, result)
            self.live.redraw()
            self.redraw_count += 1
            self.last_error = None
        except Exception as error:  # a failed retrain must not break the widget: say what happened
            self.last_error = error
            self.status.value = f"<b style='color:#c0392b'>error: {type(error).__name__}: {error}</b>"

    def show_outcome(self, title, text: str, *, failed: bool) -> None:
        """Write the outcome of a run into the figure's ``title`` artist and the status line, in red
        when it ``failed`` (diverged): the learner sees why the curves stop, never an empty plot."""
        title.set_color("tab:red" if failed else "black")
        colour = "#c0392b" if failed else "inherit"
        self.status.value = f"<span style='color:{colour}'>{text}</span>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
