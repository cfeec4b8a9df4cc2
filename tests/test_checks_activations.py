"""Checkers of notebook 01 (activations)."""

import torch

from wd_helpers.checks import check_output_activation, check_sigmoid_derivative, check_stable_softmax


def test_activation_checkers_accept_right_answers_and_refuse_wrong_ones():
    assert check_sigmoid_derivative(lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    assert not check_sigmoid_derivative(torch.sigmoid)
    assert check_stable_softmax(lambda z: torch.exp(z - z.max(-1, keepdim=True).values) / torch.exp(z - z.max(-1, keepdim=True).values).sum(-1, keepdim=True))
    assert not check_stable_softmax(lambda z: torch.exp(z) / torch.exp(z).sum(-1, keepdim=True))
    assert check_output_activation("multi-class", "softmax") and not check_output_activation("multi-class", "sigmoid")
