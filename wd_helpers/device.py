"""Where the course computes: on the CPU, chosen explicitly.

The course's models are tiny (a 200-input linear model, an 85 000-parameter MLP on 300 images):
each step is a few small tensor operations, where a GPU's per-launch cost outweighs its speed, and
CPU results are the same on every machine, which the notebooks' asserted numbers rely on.

Choosing explicitly matters when a learner has changed PyTorch's default device (for instance
``torch.set_default_device("cuda")`` in their own cells): tensors the package creates would
otherwise land there, apart from the CPU data and generators, and training would fail with a
device mismatch. Every entry point that creates tensors runs under ``on_course_device``, so the
package gives the same numbers whatever the default device is; tensors the caller passes in are
used where they are.
"""

import functools

import torch

COURSE_DEVICE = torch.device("cpu")


def on_course_device(fn):
    """Run ``fn`` with COURSE_DEVICE as PyTorch's default device, then restore the caller's."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if torch.empty(0).device == COURSE_DEVICE:  # the usual case: nothing to change, no overhead
            return fn(*args, **kwargs)
        # torch.device as a context manager sets the default device for factory calls; it routes every
        # torch call through Python (measured: +55 % on a weight-decay training), hence only when needed
        with COURSE_DEVICE:
            return fn(*args, **kwargs)

    return wrapper
