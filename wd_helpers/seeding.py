"""Seeding: one visible call at the top of a notebook makes every number repeatable."""

import random
import zlib

import numpy as np
import torch

from . import validate


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch's global generators and return a fresh torch.Generator.

    Library code in this package never uses the global generators: it takes a ``generator``
    or a ``seed`` argument. Seeding the globals protects the learner's own cells.
    """
    seed = validate.seed(seed)  # an integer in [0, 2⁶³ − 1]: a bool, 5.5 or -1 is refused, never rounded
    random.seed(seed)
    np.random.seed(seed % 2**32)  # NumPy's legacy seed accepts 32 bits only
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def derived_generator(seed: int, stream: str) -> torch.Generator:
    """A generator for one named stream of a seed, independent of ``Generator().manual_seed(seed)``.

    Use it where two pieces of code would otherwise both seed with the same number and silently
    draw the same random numbers (for instance data drawn with seed 0 and weights drawn with seed 0).
    """
    seed = validate.seed(seed)
    if not isinstance(stream, str):
        raise TypeError(f"stream must be a string naming the stream, got {type(stream).__name__} {stream!r:.60}")
    mixed = (seed * 6364136223846793005 + zlib.crc32(stream.encode())) % 2**63
    return torch.Generator().manual_seed(mixed)
