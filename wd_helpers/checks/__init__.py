"""Checkers for the notebooks' exercises: each says right or wrong, and why, without raising.

A checker returns True or False and prints one line for the learner. An unfinished exercise
(a function still returning None, or an answer left as ...) is reported as "not done yet", so
a notebook with open exercises still runs top to bottom. One module per notebook.
"""

from .activations import OUTPUT_ACTIVATIONS, check_output_activation, check_sigmoid_derivative, check_stable_softmax
from .beyond_weight_decay import check_adamw_shrink, check_outside_shrink, check_summed_lambda
from .dropout import check_dropout_module, check_dropout_variance, check_drop_weights, check_swap_prediction
from .dropout_in_depth import check_dropout_penalty, check_gaussian_std, check_mc_predict
from .initialisation import check_he_uniform, check_he_variance
from .likelihoods import check_kl_batchmean, check_pos_weight, check_weighted_mean
from .momentum import check_critical_beta, check_momentum_rate, check_optimal_momentum
from .losses import LOSS_FOR_TASK, check_entropy, check_loss_for_task, check_stable_cross_entropy
from .optimizers import check_fastest_optimizer, check_largest_stable_lr, check_momentum_step
from .playground import check_gap_closed, check_small_spiral_net
from .schedules import check_cosine_schedule, check_lowest_floor, check_scaled_lr
from .weight_decay import check_best_lambda, check_frobenius_penalty, check_l1_penalty, check_norm_limit

__all__ = [
    "LOSS_FOR_TASK", "OUTPUT_ACTIVATIONS",
    "check_best_lambda", "check_drop_weights", "check_dropout_module", "check_dropout_variance",
    "check_entropy", "check_fastest_optimizer", "check_frobenius_penalty", "check_l1_penalty",
    "check_largest_stable_lr", "check_loss_for_task", "check_momentum_step", "check_norm_limit",
    "check_output_activation", "check_sigmoid_derivative", "check_stable_cross_entropy", "check_stable_softmax",
    "check_swap_prediction",
    "check_he_uniform", "check_he_variance", "check_small_spiral_net", "check_gap_closed",
    "check_dropout_penalty", "check_gaussian_std", "check_mc_predict",
    "check_cosine_schedule", "check_lowest_floor", "check_scaled_lr",
    "check_kl_batchmean", "check_pos_weight", "check_weighted_mean",
    "check_critical_beta", "check_momentum_rate", "check_optimal_momentum",
    "check_adamw_shrink", "check_outside_shrink", "check_summed_lambda",
]
