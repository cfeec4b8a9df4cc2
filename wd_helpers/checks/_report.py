"""What every checker shares: one printed line, right or wrong, and never an exception."""

import contextlib
import functools
import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import torch


def _report(ok: bool, message: str) -> bool:
    print(("✓ correct: " if ok else "✗ not yet: ") + message)
    return ok


def checker(fn):
    """Decorate every public checker: whatever the learner passes, an error while checking is answered, not raised.

    The checkers handle the answers they expect (numbers, names, functions) with a specific hint; this is the
    net under them for everything else (a list where a name was expected, a tensor of the wrong dtype, ...).
    """

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return bool(fn(*args, **kwargs))
        except Exception as error:  # the learner's answer is arbitrary: report, never raise
            return _report(False, f"could not check this answer ({type(error).__name__}: {error}); "
                                  "see the exercise text for what to pass")

    return wrapped


def _probe_tensors():
    generator = torch.Generator().manual_seed(1234)
    return [torch.randn(shape, generator=generator) for shape in ((7,), (3, 4), (1,))] + [
        torch.zeros(5), torch.tensor([-2.0, 0.0, 3.5])
    ]


def _number(answer, unset: str):
    """The learner's numeric answer: (value, None), or (None, a message: ``unset`` when it is not set yet)."""
    if answer is None or answer is Ellipsis:
        return None, unset
    if isinstance(answer, bool):
        return None, f"answer with a number, got {answer!r}"
    if getattr(answer, "shape", None) is not None and getattr(answer, "size", None) == 1 and not isinstance(answer, torch.Tensor):
        answer = answer.reshape(-1)[0]  # a one-element NumPy array, as a one-element tensor is taken below
    try:
        value = float(answer)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of more than one element
        return None, f"answer with a number, got {answer!r}"
    except OverflowError:  # an int beyond float's range, 10**400
        return None, "answer with a finite number, got one too large for a float"
    if not math.isfinite(value):
        return None, f"answer with a finite number, got {answer!r}"
    return value, None


def _as_fraction(answer):
    """A learner's "2/300", "53/40" or "10.6/8" typed as a string, read as a number; anything else unchanged (a
    plain string such as "0.30" stays text, so that the digits typed still count in ``_agrees``)."""
    if isinstance(answer, str) and answer.count("/") == 1:
        numerator, denominator = answer.replace(" ", "").split("/")
        try:
            return float(Fraction(numerator) / Fraction(denominator))
        except (ValueError, ZeroDivisionError, OverflowError):
            return answer
    return answer


def _shortest_repr(answer) -> str:
    """The shortest decimal that reads back as ``answer`` in its own precision: torch.tensor(0.33) and
    numpy.float32(0.33) hold 0.33000001311..., which repr(float(...)) would show in full; here they give "0.33"."""
    dtype = {torch.float32: "float32", torch.float16: "float16"}.get(getattr(answer, "dtype", None),
                                                                      str(getattr(answer, "dtype", "")))
    if dtype in ("float32", "float16"):  # numpy's float32 / float16, or a 0-d torch tensor of those
        import numpy

        return numpy.format_float_positional(numpy.dtype(dtype).type(float(answer)), unique=True, trim="-")
    return repr(float(answer))


def _typed_digits(answer) -> tuple[int, int] | None:
    """(decimal exponent of the last digit typed, significant digits typed) of a number as written, e.g.
    0.33 → (−2, 2), 2.16 → (−2, 3), 1e-05 → (−5, 1); None when it cannot be read as a decimal."""
    text = answer.strip() if isinstance(answer, str) else _shortest_repr(answer)
    try:
        sign, digits, exponent = Decimal(text).as_tuple()
    except (InvalidOperation, ValueError):
        return None
    if not isinstance(exponent, int):
        return None
    significant = len("".join(map(str, digits)).lstrip("0")) or 1
    return exponent, significant


def _agrees(answer, target: float, *, rel_tol: float = 1e-6, min_significant: int = 2) -> bool:
    """Does the learner's number equal ``target``, as far as the digits they typed go?

    Accepts the exact value (to ``rel_tol``) and any rounding of it to at least ``min_significant``
    significant digits: 0.33, 0.333 and 1/3 all agree with 1/3; 0.3 does not (one digit), nor does 0.34.
    """
    value, _ = _number(answer, "")
    if value is None:
        return False
    if math.isclose(value, target, rel_tol=rel_tol, abs_tol=1e-12):
        return True
    typed = _typed_digits(answer)
    if typed is None:
        return False
    exponent, significant = typed
    half_unit = 0.5 * 10.0**exponent
    return significant >= min_significant and abs(value - target) <= half_unit * (1 + 1e-9)


def _call(fn, *args):
    """Run the learner's function; (result, None) or (None, a message saying what went wrong)."""
    if not callable(fn):
        return None, f"pass a function, got {type(fn).__name__}"
    try:
        result = fn(*args)
    except Exception as error:
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None or result is Ellipsis:
        return None, "the function returns nothing yet"
    return result, None


def _tensor(result, shape, what: str):
    """The learner's result as a float tensor of ``shape``: (tensor, None) or (None, a message naming the problem)."""
    try:
        tensor = torch.as_tensor(result, dtype=torch.float64)
    except Exception:
        return None, f"{what} should be a tensor, got {type(result).__name__}"
    if tuple(tensor.shape) != tuple(shape):
        return None, f"{what} should have shape {tuple(shape)}, got {tuple(tensor.shape)}"
    return tensor, None


_MISSING = object()


@contextlib.contextmanager
def _replaced(replacements):
    """Set each (owner, name) to its replacement while the block runs; always put the originals back.

    The checkers use it to refuse a ready-made function (torch's softmax, cross_entropy, ...) where the exercise
    asks the learner to write one: the learner's code runs with those replaced by functions that raise.
    """
    saved = []
    try:
        for owner, name, replacement in replacements:
            saved.append((owner, name, vars(owner).get(name, _MISSING)))
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in reversed(saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
