"""Helpers for the interactive course on activations, losses, optimizers, weight decay and dropout.

Layers, imported downwards only::

    seeding, regularizers, data  ->  train  ->  plots  ->  widgets

Import the module you need (``from wd_helpers import train``); nothing heavy runs at import time,
and nothing in the package imports ``widgets`` (only notebooks do).
"""

__version__ = "0.1.0"
