"""Argument checks shared by the whole package: a bad value is refused up front with a ValueError or
TypeError whose message names the argument, the accepted range and the value given; nothing is
silently substituted (a bool is not a number, 5.5 is not a step count, NaN is not a learning rate).

TypeError: the kind of value is wrong (a string for a rate, a non-bool flag, several values where one
is expected). ValueError: the kind is right but the value is outside its range (a rate of 1.5,
``steps=-1``, an empty list, a NaN in the data).
"""

import math
import numbers
from collections.abc import Iterable

import torch

__all__ = ["choice", "flag", "integer", "number", "numbers_of", "seed", "finite_tensor"]

SEED_RANGE = (0, 2**63 - 1)  # what torch.Generator.manual_seed and NumPy both accept


def _is_numpy_bool(value) -> bool:
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool_", "bool")  # NumPy 2 names it "bool"


def _fmt(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"  # 2**63 - 1 and 1 000 000 exactly, 0.99 as 0.99


def _scalar(name: str, value):
    """``value`` as a Python int or float, or a TypeError naming ``name``."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"{name} must be one number, got a tensor of shape {tuple(value.shape)}")
        if value.dtype == torch.bool:
            raise TypeError(f"{name} must be a number, got a bool tensor {value.item()!r}")
        return value.item()
    if isinstance(value, bool) or _is_numpy_bool(value):  # True is not 1 here (numpy's bools too)
        raise TypeError(f"{name} must be a number, got the bool {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r:.60}")


def _interval(low, high, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return "a finite number"
    if high is None:
        return f"{'>' if low_open else '>='} {_fmt(low)}"
    if low is None:
        return f"{'<' if high_open else '<='} {_fmt(high)}"
    return f"in {'(' if low_open else '['}{_fmt(low)}, {_fmt(high)}{')' if high_open else ']'}"


def number(name: str, value, *, low=None, high=None, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float in the interval given, or a named TypeError / ValueError.

    Accepts Python and NumPy numbers and one-element tensors; refuses bools, strings, None,
    several values, NaN and ±inf, and values outside [low, high] (ends excluded when ``*_open``).
    """
    x = _scalar(name, value)
    accepted = _interval(low, high, low_open, high_open)
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"{name} must be finite{'' if low is None and high is None else ' and ' + accepted}, "
                         f"got {x!r}")
    if ((low is not None and (x < low or (low_open and x == low)))
            or (high is not None and (x > high or (high_open and x == high)))):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    return float(x)


def integer(name: str, value, *, low=None, high=None) -> int:
    """``value`` as an int in [low, high], or a named error. A float is accepted only when it is a
    whole number (5.0 → 5); 5.5 is refused, never rounded."""
    x = _scalar(name, value)
    if isinstance(x, float):
        if not (math.isfinite(x) and x.is_integer()):
            raise TypeError(f"{name} must be a whole number, got {value!r}")
        x = int(x)
    if (low is not None and x < low) or (high is not None and x > high):
        raise ValueError(f"{name} must be an integer {_interval(low, high, False, False)}, got {value!r}")
    return x


def seed(value, name: str = "seed") -> int:
    """A random seed: an integer in [0, 2⁶³ − 1]."""
    return integer(name, value, low=SEED_RANGE[0], high=SEED_RANGE[1])


def flag(name: str, value) -> bool:
    """``value`` as a bool; only True and False (and NumPy's bools) are accepted: ``'no'`` is truthy."""
    if isinstance(value, bool):
        return value
    if _is_numpy_bool(value):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r:.60}")


def choice(name: str, value, options):
    """``value`` if it is one of ``options``, else a ValueError listing them."""
    try:
        if value in options:
            return value
    except TypeError:  # an unhashable value looked up in a set or dict
        pass
    shown = sorted(options) if all(isinstance(o, str) for o in options) else list(options)
    raise ValueError(f"{name} must be one of {shown}, got {value!r:.60}")


def numbers_of(name: str, values, *, min_count: int = 1, **interval) -> list[float]:
    """A sequence of numbers (list, tuple, NumPy array, 1-D tensor, any iterable) as a list of floats,
    each checked as ``number`` does with ``interval``; a single number or a string is refused."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable | torch.Tensor):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__} {values!r:.60}")
    if isinstance(values, torch.Tensor) or hasattr(values, "ndim"):
        if getattr(values, "ndim", 1) != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(values.shape)}")
        values = values.tolist()
    out = [number(f"{name}[{i}]", v, **interval) for i, v in enumerate(values)]
    if len(out) < min_count:
        raise ValueError(f"{name} must hold at least {min_count} value{'s' * (min_count > 1)}, got {len(out)}")
    return out


def finite_tensor(name: str, value, *, ndim=None) -> torch.Tensor:
    """``value`` if it is a floating-point tensor with no NaN or ±inf (and ``ndim`` dimensions, when
    given), else a named error."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name} must be finite: it holds {bad} NaN or infinite value{'s' * (bad > 1)}")
    return value
