import os

os.environ.setdefault("MPLBACKEND", "Agg")  # headless: explorers render to PNG image widgets

import re  # noqa: E402

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def pytest_make_parametrize_id(config, val, argname):
    """A test id that shows the value (a tuple, a function, a tensor: pytest would write ``answer3``),
    without memory addresses (``<function <lambda> at 0x7f…>``), so every collection names the same
    tests: pytest-xdist's workers must agree, and a failing id can be run again. Strings and numbers
    keep pytest's own ids."""
    if val is None or isinstance(val, str | int | float | bool):
        return None
    if hasattr(val, "shape") and hasattr(val, "dtype"):  # a tensor or array: its values may be random
        return f"{type(val).__name__}{tuple(val.shape)}:{val.dtype}"
    if isinstance(val, list | tuple) and any(hasattr(item, "shape") for item in val):
        return f"{type(val).__name__} of {len(val)}: " + ",".join(
            pytest_make_parametrize_id(config, item, argname) or repr(item) for item in val)
    return _ADDRESS.sub("", repr(val))
