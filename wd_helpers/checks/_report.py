"""What every checker shares: one printed line, right or wrong, and never an exception."""

import torch


def _report(ok: bool, message: str) -> bool:
    print(("✓ correct: " if ok else "✗ not yet: ") + message)
    return ok


def _probe_tensors():
    generator = torch.Generator().manual_seed(1234)
    return [torch.randn(shape, generator=generator) for shape in ((7,), (3, 4), (1,))] + [
        torch.zeros(5), torch.tensor([-2.0, 0.0, 3.5])
    ]


def _number(answer, unset: str):
    """The learner's numeric answer: (value, None), or (None, a message: ``unset`` when it is not set yet)."""
    if answer is None or answer is Ellipsis:
        return None, unset
    try:
        return float(answer), None
    except (TypeError, ValueError):
        return None, f"answer with a number, got {answer!r}"


def _call(fn, *args):
    """Run the learner's function; (result, None) or (None, a message saying what went wrong)."""
    try:
        result = fn(*args)
    except Exception as error:
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None or result is Ellipsis:
        return None, "the function returns nothing yet"
    return result, None
