"""Explorers: controls + a figure + the callback that retrains and redraws. The only part of the
package that imports ipywidgets; notebooks import it, nothing else in the package does.

Every explorer displays itself in Jupyter and exposes ``.sliders[name]``, ``.controls[name]``,
``.figure`` and its last result, so tests and benchmarks can move a slider from Python. See
``_live`` for how redraws stay in place, fast, and serialised.
"""

from ._live import Explorer
from .activations import ActivationExplorer, GradientDepthExplorer, activation_explorer, gradient_depth_explorer
from .dropout import N_TRAIN_CHOICES, DropoutExplorer, dropout_explorer
from .losses import CoinExplorer, OutlierExplorer, coin_explorer, outlier_explorer
from .momentum import MomentumExplorer, momentum_explorer
from .optimizers import FUNCTIONS, OPTIMIZERS, OptimizerExplorer, optimizer_explorer
from .play import Playground, playground
from .schedules import SCHEDULES, ScheduleExplorer, schedule_explorer
from .weight_decay import LAMBDA_CHOICES, WeightDecayExplorer, weight_decay_explorer

__all__ = [
    "ActivationExplorer", "CoinExplorer", "DropoutExplorer", "N_TRAIN_CHOICES", "dropout_explorer", "GradientDepthExplorer", "OutlierExplorer",
    "activation_explorer", "coin_explorer", "gradient_depth_explorer", "outlier_explorer",
    "Explorer", "FUNCTIONS", "LAMBDA_CHOICES", "OPTIMIZERS", "OptimizerExplorer", "WeightDecayExplorer",
    "optimizer_explorer", "weight_decay_explorer",
    "SCHEDULES", "ScheduleExplorer", "schedule_explorer",
    "MomentumExplorer", "momentum_explorer",
    "Playground", "playground",
]
