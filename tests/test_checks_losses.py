"""Checkers of notebook 02 (losses)."""

import torch
import torch.nn.functional as F

from wd_helpers.checks import check_entropy, check_loss_for_task, check_stable_cross_entropy


def test_loss_checkers_accept_right_answers_and_refuse_wrong_ones():
    assert check_stable_cross_entropy(lambda z, t: F.cross_entropy(z, t))
    assert not check_stable_cross_entropy(lambda z, t: -torch.log(torch.softmax(z, 1)[range(len(t)), t]).mean() * 1.01)
    assert check_entropy(1.0, [0.5, 0.5]) and not check_entropy(0.6931, [0.5, 0.5])
    assert check_loss_for_task("multi-label", "BCEWithLogitsLoss") and not check_loss_for_task("multi-label", "CrossEntropyLoss")
