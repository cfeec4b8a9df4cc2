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
import types
import weakref
from collections import OrderedDict

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

from .. import validate
from ..device import on_course_device
from ..threads import on_course_threads
from . import _controls, _lifetime

CACHE_SIZE = 512  # settings remembered per explorer: moving back to a value redraws without training

_SLIDERS = (widgets.FloatLogSlider, widgets.FloatSlider, widgets.IntSlider, widgets.SelectionSlider)

# values per decade of a log-scale choice slider: round numbers a lesson can quote exactly
LOG_MANTISSAS = (1, 1.5, 2, 3, 4, 5, 6, 8)


def log_choices(low: float, high: float, mantissas=LOG_MANTISSAS) -> tuple:
    """The round values from ``low`` to ``high`` (powers of ten), ``mantissas`` per decade."""
    first, last = round(math.log10(low)), round(math.log10(high))
    values = [round(m * 10.0**e, 12) for e in range(first, last) for m in mantissas]
    return tuple(values) + (round(10.0**last, 12),)


def choice_slider(name: str, value: float, choices: tuple, **options) -> _controls.SelectionSlider:
    """A slider over explicit values, so the value shown is exactly the value used (a FloatLogSlider
    snaps 0.003 to 0.00316 in the browser). A ``value`` inside the range but off the grid is added to
    it; outside the range, or not a number, it is refused, naming ``name`` and the range. The slider
    refuses, from code, any value that is not one of its own, naming ``name`` (see _controls)."""
    low, high = choices[0], choices[-1]
    value = validate.number(name, value, low=low, high=high)
    if value not in choices:
        choices = tuple(sorted({*choices, value}))
    return _controls.SelectionSlider(name=name, options=[(f"{v:g}", v) for v in choices], value=value, **options)


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
            self.figure.canvas.get_diff_image = types.MethodType(_full_frame_png, self.figure.canvas)
            self.view = self.figure.canvas
        else:
            self.figure = Figure(figsize=figsize, layout="constrained")  # no pyplot: no global state
            FigureCanvasAgg(self.figure)
            self.view = widgets.Image(format="png")
        self.canvas = self.figure.canvas
        self.animated = []
        self._background = None
        self.canvas.mpl_connect("draw_event", self._on_draw)

    def scale_to_width(self, pixels: int) -> None:
        """Render the figure ``pixels`` wide whatever its size in inches (fonts and lines scale with it): a
        presenter's page scales that image to the window. No toolbar, no resize handle: the page sizes it."""
        self.figure.set_dpi(pixels / self.figure.get_figwidth())
        if self.interactive:
            self.canvas._size = tuple(self.figure.bbox.size)
            self.canvas.toolbar_visible = False
            self.canvas.resizable = False
        self.invalidate()

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

    def close(self) -> None:
        """Let go of the figure: pyplot forgets it (ipympl), its artists and saved background are freed."""
        self._background = None
        self.animated.clear()
        if self.interactive:
            plt.close(self.figure)  # closes the canvas widget too
        else:
            self.view.close()
        self.figure.clear()

    def png(self) -> bytes:
        """The figure as it is on the canvas now, as PNG bytes (fast: no re-render)."""
        width, height = self.canvas.get_width_height(physical=True)
        image = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba()).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)  # RGB, light compression: measured fastest
        return buffer.getvalue()


def _full_frame_png(canvas) -> bytes | None:
    """ipympl's frame encoder (matplotlib's get_diff_image), for frames that are always whole: every redraw
    sends a full frame (see redraw), so no diff against the last frame and no alpha are needed, and the PNG is
    written as RGB at compression level 1. That halves the encoding, the kernel's largest cost after the
    training itself (12 → 6 ms for a 900 × 340 figure; a student's key press → new pixels is ~80 ms in all)."""
    if not canvas._png_is_old:
        return None
    canvas.set_image_mode("full")
    canvas._force_full = canvas._png_is_old = False
    width, height = canvas.get_width_height(physical=True)
    image = PIL.Image.frombuffer("RGBA", (width, height), canvas.get_renderer().buffer_rgba()).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


_KEPT_WHEN_CLOSED = {"controls", "sliders", "history", "retrain_count", "redraw_count", "last_error", "_finalizer",
                     "_busy", "_dirty", "_held"}


class Explorer:
    """Base of the explorers: serialised, cached retrain-and-redraw on every control change."""

    def __new__(cls, *args, **kwargs):
        explorer = super().__new__(cls)
        # the widgets that exist before this explorer's constructor runs (a layout shared at module level,
        # the learner's own) are not its to close
        explorer._widgets_before = set(widgets.widget._instances)
        return explorer

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
        self._held = 0  # > 0 while set() changes several controls: one retrain, for the final values
        self._widget = None
        self._parts: list = []  # every widget this explorer made (controls, boxes, layouts, styles, canvas)
        # ipywidgets' registry keeps every widget alive, and with it whatever its observers reference: the
        # observers hold the explorer weakly, so an explorer nobody holds is collected, and then closed
        self._finalizer = weakref.finalize(self, _release, self._parts, self.live, self._cache)
        self._finalizer.atexit = False  # at kernel exit the comm socket is already shut: nothing to close
        on_change = weakref.WeakMethod(self._on_change)
        for control in controls.values():
            control.observe(lambda change: (method := on_change()) and method(change), names="value")

    @property
    def widget(self):
        """The explorer's whole view (controls, status line, figure); what Jupyter displays."""
        return self._widget

    @widget.setter
    def widget(self, view):
        # set once by each explorer's constructor, when all its widgets exist: remember them all (to close
        # them), and close the explorers built by earlier runs of the cell that is building this one
        self._widget = view
        before, self._widgets_before = self._widgets_before, set()
        self._parts[:] = [part for part in _widget_tree([view, *self.controls.values(), self.status, self.live.view])
                          if part.model_id not in before]
        replaced = _lifetime.adopt(self)
        for old in replaced:
            old.close()
        if replaced:
            del old, replaced
            _lifetime.return_freed_memory()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Free the explorer now: close its widgets (the page removes their views), its figure (pyplot
        forgets it under ipympl) and drop its cache. Idempotent. Re-running the cell that built an
        explorer calls this for the one it replaces; an explorer nobody holds is closed when collected."""
        self._finalizer()
        _lifetime.forget(self)
        _lifetime.unpin(self)
        # IPython's Out history may hold this object for the rest of the session: keep only the small
        # parts (the controls, now closed, the last result and counters), let go of figure, plots and data
        for name in vars(self).keys() - _KEPT_WHEN_CLOSED:
            setattr(self, name, None)

    # subclasses: values() -> hashable key of the current settings; compute(key); draw(key, result)
    def values(self) -> tuple:
        return tuple(control.value for control in self.controls.values())

    def set(self, **values) -> None:
        """Set several controls at once and retrain once, for the final values (a presenter's preset:
        ``explorer.set(lambd=3.0, lr=0.003)``). Controls are set in the order given (set a limit before
        the value it limits: ``flips`` before ``heads``). A name that is not a control, or a value a
        control refuses, raises before anything retrains, naming it, and every control is put back."""
        unknown = [name for name in values if name not in self.controls]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a control of this explorer: its controls are "
                             f"{', '.join(self.controls)}")
        before = {name: control.value for name, control in self.controls.items()}
        self._held += 1
        try:
            done = []
            try:
                for name, value in values.items():
                    self.controls[name].value = value
                    done.append(name)
            except Exception:
                # undo in reverse order (a limit is put back before the value it had limited), then whatever a
                # control's own observer changed (a value clamped by a new limit)
                for name in [*reversed(done), *before]:
                    if self.controls[name].value != before[name]:
                        self.controls[name].value = before[name]
                self._dirty = False
                raise
        finally:
            self._held -= 1
        if self.values() != tuple(before.values()) or self._dirty:
            self._on_change()

    def _on_change(self, _change=None):
        if self.closed:
            return
        if self._held:  # set() is changing several controls: it calls this once, when they are all set
            self._dirty = True
            return
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
    @on_course_threads
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
            with self.status.hold_sync():  # the status line's update is sent after the new frame, not before it
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
        if self.closed:
            return {"text/plain": f"{type(self).__name__} (closed: build a new one to explore again)"}
        _lifetime.pin(self)  # on screen: keep it alive even if no variable holds it
        return self.widget._repr_mimebundle_(**kwargs)


def _widget_tree(roots) -> list:
    """Every widget reachable from ``roots`` through widget-valued traits (children, layout, style,
    toolbar, ...), each once."""
    seen, stack = {}, list(roots)
    while stack:
        widget = stack.pop()
        if not isinstance(widget, widgets.Widget) or id(widget) in seen:
            continue
        seen[id(widget)] = widget
        for name in widget.keys:
            value = getattr(widget, name, None)
            if isinstance(value, widgets.Widget):
                stack.append(value)
            elif isinstance(value, list | tuple):
                stack.extend(item for item in value if isinstance(item, widgets.Widget))
    return list(seen.values())


def _release(parts: list, live: "_LiveFigure", cache: OrderedDict) -> None:
    """Close an explorer's widgets and figure and drop its cache (its finalizer: holds no reference to
    the explorer itself)."""
    cache.clear()
    live.close()
    for widget in parts:
        widget.close()
    parts.clear()
