"""The explorers' controls: ipywidgets sliders (and choice controls) that refuse a bad value set from code.

A presenter moves an explorer from Python: ``explorer.sliders["beta"].value = 0.9``. ipywidgets would
clamp 1.2 to the slider's 0.99, cast True to 1.0 and 5.5 to 5, keep 0.333 on a 0.01-step slider (the
handle shows 0.33), and answer a value missing from a selection with ``TraitError: Invalid selection``.
These subclasses refuse instead, with a ValueError (out of range, off the slider's steps, not one of its
values) or a TypeError (a string, a bool, None), saying what was asked, the control's name (its key in
``.sliders`` / ``.controls``), its range or values, and what it still shows. The value is unchanged,
so the explorer does not retrain. The errors are TraitErrors too: traitlets rolls back a refused
change made inside ``hold_trait_notifications``.

Values the page sends (a drag, a click) are always the control's own; they are taken as ipywidgets
takes them. Model and view names are ipywidgets' own, so the page and the look are unchanged.

The same checks serve the explorers' constructors (``check_float``, ``check_int``, ``check_choice``),
which refuse a bad argument before any widget exists.
"""

import math
import numbers

import ipywidgets as widgets
import traitlets

from .. import validate

# in steps: 0.35 is 6.999999999999999 steps of 0.05, a float32 0.3 is 30.0000012 steps of 0.01: both on
# the grid (and kept as given); 0.333 is 33.3 steps: off it
STEP_TOLERANCE = 1e-4
LISTED = 10  # a control with more values than this is described by its ends and the values nearest


class ControlValueError(traitlets.TraitError, ValueError):
    """A value set from code is outside a control's range, off its steps, or not one of its values."""


class ControlTypeError(traitlets.TraitError, TypeError):
    """A value set from code is of the wrong kind (a string or a bool for a number)."""


def _g(x) -> str:
    return f"{x:g}" if isinstance(x, numbers.Real) and not isinstance(x, bool) else repr(x)


def _nearest(values, x) -> str:
    """The values just below and just above ``x`` (numbers in increasing order)."""
    below = [v for v in values if v < x][-1:]
    above = [v for v in values if v > x][:1]
    return " and ".join(_g(v) for v in below + above)


def _kind(check, name: str, value, accepted: str):
    """``check(name, value)``, a TypeError from it also saying what the control takes."""
    try:
        return check(name, value)
    except TypeError as error:
        raise TypeError(f"{error} (it takes {accepted})") from None


def check_float(name: str, value, slider: dict) -> float:
    """``value`` as a float on a slider's grid ``{min, max, step}``, or a TypeError / ValueError naming
    ``name``, the range and the step. Off the steps is refused (0.333 on a 0.01 slider): the page would
    show the handle at 0.33 and the learner could not drag back to the value used."""
    low, high, step = slider["min"], slider["max"], slider.get("step")
    accepted = f"[{low:g}, {high:g}]" + (f" in steps of {step:g}" if step else "")
    x = _kind(lambda n, v: validate.number(n, v, low=low, high=high), name, value, accepted)
    if step:
        k = (x - low) / step
        if abs(k - round(k)) > STEP_TOLERANCE:
            below = round(low + math.floor(k) * step, 12)
            raise ValueError(f"{name} must be on the slider's steps of {step:g} from {low:g} to {high:g} "
                             f"(nearest: {_g(below)} and {_g(round(below + step, 12))}), got {value!r}")
    return x


def check_int(name: str, value, slider: dict) -> int:
    """``value`` as an int in a slider's ``[min, max]`` (on its ``step``, when given), or a named error."""
    low, high, step = slider["min"], slider["max"], slider.get("step") or 1
    accepted = f"the integers in [{low}, {high}]" + (f" in steps of {step}" if step != 1 else "")
    x = _kind(lambda n, v: validate.integer(n, v, low=low, high=high), name, value, accepted)
    if (x - low) % step:
        raise ValueError(f"{name} must be on the slider's steps of {step} from {low} to {high}, got {value!r}")
    return x


def _listing(values, x=None) -> str:
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    if len(values) <= LISTED or not numeric:
        return "one of " + ", ".join(_g(v) for v in values)
    near = f"; nearest: {_nearest(values, x)}" if isinstance(x, float) and values[0] < x < values[-1] else ""
    return f"one of {len(values)} values from {_g(values[0])} to {_g(values[-1])}{near}"


def check_choice(name: str, value, values):
    """The one of ``values`` equal to ``value``, or a ValueError listing them (a TypeError for a value that
    is not a number when the values are numbers: True is not 1.0, '0.3' is not 0.3)."""
    values = tuple(values)
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    x = _kind(_a_number, name, value, _listing(values)) if numeric else value
    for v in values:
        if (numeric or type(v) is type(x)) and v == x:  # 'SGD' only as a str; an array never
            return v
    raise ValueError(f"{name} must be {_listing(values, x if numeric else None)}, got {value!r:.60}")


def _checked(trait_type):
    """``trait_type`` whose validate first lets its widget refuse a value of the wrong kind by name (the
    plain traits cast silently: CFloat takes True as 1.0 and '0.5' as 0.5, CInt takes 5.5 as 5)."""

    class Checked(trait_type):
        def validate(self, obj, value):
            return super().validate(obj, obj._check_kind(self.name, value))

    Checked.__name__ = Checked.__qualname__ = f"Checked{trait_type.__name__}"
    return Checked


class _Named:
    """What the checked controls share: a ``name`` for messages, and refusals that say what is shown."""

    _collection = "controls"  # where the explorer keeps it: explorer.controls[name]

    def __init__(self, *args, name: str, **kwargs):
        self.name = name
        super().__init__(*args, **kwargs)

    def _from_page(self) -> bool:
        """Whether the change being validated came from the page (a drag): always one of the control's
        own values, taken as ipywidgets takes it."""
        return bool(self._property_lock)

    def _shown(self) -> str:
        return _g(self._trait_values.get("value"))

    def _refuse(self, check, value, trait: str = "value"):
        """``check(label, value)``, its TypeError / ValueError re-raised naming this control and saying
        what it still shows."""
        label = f"{self._collection}[{self.name!r}]" + ("" if trait == "value" else f".{trait}")
        try:
            return check(label, value)
        except (TypeError, ValueError) as error:
            kind = ControlTypeError if isinstance(error, TypeError) else ControlValueError
            raise kind(f"{error}; it still shows {self._shown()}") from None

    def _check_kind(self, trait: str, value):
        return value


def _a_label(name: str, value):
    raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r:.60}")


def _a_number(name: str, value):
    """``value`` as a number, or a TypeError naming ``name``. NaN and ±inf pass (as floats): the check that
    follows refuses them naming the range or the values."""
    try:
        return validate.number(name, value)
    except ValueError:  # not finite: number's only ValueError when given no bounds
        return float(value)


class _NamedNumber(_Named):
    """Number sliders: the whole check (kind, range, steps) as the value is set; while traitlets holds
    notifications (the constructor's keywords, in any order) only the kind, and the range when they end."""

    _collection = "sliders"
    _kind_check = staticmethod(_a_number)

    def _check(self, name: str, value):
        raise NotImplementedError

    def _check_kind(self, trait, value):
        if self._from_page():
            return value
        return self._refuse(self._kind_check if self._cross_validation_lock else self._check, value)

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        if self._from_page():
            return super()._validate_value(proposal)
        return self._refuse(self._check, proposal.value)


class FloatSlider(_NamedNumber, widgets.FloatSlider):
    """A FloatSlider that refuses, from code, a value off its range or steps, or not a number."""

    value = _checked(traitlets.CFloat)(0.0, help="Float value").tag(sync=True)

    def _check(self, name, value):
        return check_float(name, value, {"min": self.min, "max": self.max, "step": self.step})


class FloatLogSlider(_NamedNumber, widgets.FloatLogSlider):
    """A FloatLogSlider that refuses, from code, a value outside its range, or not a number. Its steps are
    in the exponent, where round values (0.003) are rarely on the grid: any value in range is taken."""

    value = _checked(traitlets.CFloat)(1.0, help="Float value").tag(sync=True)

    def _check(self, name, value):
        low, high = self.base**self.min, self.base**self.max
        return _kind(lambda n, v: validate.number(n, v, low=low, high=high), name, value, f"[{low:g}, {high:g}]")


class IntSlider(_NamedNumber, widgets.IntSlider):
    """An IntSlider that refuses, from code, a value outside its range, 5.5, or not a number."""

    value = _checked(traitlets.CInt)(0, help="Int value").tag(sync=True)
    _kind_check = staticmethod(validate.integer)

    def _check(self, name, value):
        return check_int(name, value, {"min": self.min, "max": self.max, "step": self.step})


class _NotNone(traitlets.Any):
    """Any value but None, which then reaches the validators (``Any(allow_none=False)`` keeps Any's True)."""

    allow_none = False


class _NamedSelection(_Named):
    """Selection controls: ``value``, ``label`` and ``index`` set from code are checked against the options.
    (Each control declares ``value`` as _NotNone: traitlets skips every validator for a None that the trait
    allows, and ipywidgets' selections allow it, so ``value = None`` would empty them.)"""

    def _check_kind(self, trait, value):
        if self._from_page():
            return value
        if trait == "index":
            return self._refuse(validate.integer, value, "index")  # 2.0 is index 2; True is not 1
        if trait == "label" and not isinstance(value, str):
            return self._refuse(_a_label, value, "label")
        return value

    def _shown(self) -> str:
        index = self._trait_values.get("index")  # (ipywidgets leaves .label empty for a first value given)
        return "nothing" if index is None else self._options_labels[index]

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        if self._from_page():
            return super()._validate_value(proposal)
        return self._refuse(lambda label, x: check_choice(label, x, self._options_values), proposal.value)

    @traitlets.validate("label")
    def _validate_label(self, proposal):
        if self._from_page():
            return super()._validate_label(proposal)
        return self._refuse(lambda label, x: check_choice(label, x, self._options_labels), proposal.value, "label")

    @traitlets.validate("index")
    def _validate_index(self, proposal):
        if self._from_page():
            return super()._validate_index(proposal)
        last = {"min": 0, "max": len(self._options_labels) - 1}
        return self._refuse(lambda label, x: check_int(label, x, last), proposal.value, "index")


class SelectionSlider(_NamedSelection, widgets.SelectionSlider):
    """A SelectionSlider that refuses, from code, a value (label, index) that is not one of its own."""

    _collection = "sliders"
    value = _NotNone(help="Selected value")
    label = _checked(traitlets.Unicode)(help="Selected label")
    index = _checked(traitlets.Int)(help="Selected index").tag(sync=True)


class Dropdown(_NamedSelection, widgets.Dropdown):
    """A Dropdown that refuses, from code, a value or label that is not one of its options."""

    value = _NotNone(None, help="Selected value")


class ToggleButtons(_NamedSelection, widgets.ToggleButtons):
    """ToggleButtons that refuse, from code, a value or label that is not one of their options."""

    value = _NotNone(None, help="Selected value")


class Checkbox(_Named, widgets.Checkbox):
    """A Checkbox that refuses, from code, anything but True or False (and NumPy's bools): traitlets' Bool
    would take 1 and 0 as True and False, and answer 2 or ``'no'`` with a TraitError that names no control."""

    value = _checked(traitlets.Bool)(False, help="Bool value").tag(sync=True)

    def _check_kind(self, trait, value):
        if self._from_page():
            return value
        return self._refuse(validate.flag, value)
