import pytest
import torch
from torch import nn

from wd_helpers.regularizers import decay_param_groups, dropout, l1_penalty, l2_penalty


def test_l2_penalty_is_half_the_squared_norm():
    w = torch.tensor([3.0, -4.0])
    assert l2_penalty(w).item() == pytest.approx(12.5)  # (9 + 16) / 2


def test_l1_penalty_is_the_sum_of_absolute_values():
    w = torch.tensor([[1.5, -2.0], [0.0, -0.5]])
    assert l1_penalty(w).item() == pytest.approx(4.0)


def test_penalty_gradients_are_w_and_sign_w():
    w = torch.randn(7, generator=torch.Generator().manual_seed(0), requires_grad=True)
    l2_penalty(w).backward()
    assert torch.allclose(w.grad, w.detach())
    w.grad = None
    l1_penalty(w).backward()
    assert torch.equal(w.grad, torch.sign(w.detach()))


def test_unsquared_norm_is_not_weight_decay():
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    torch.norm(w).backward()  # gradient w/‖w‖: unit length whatever the size of w
    assert torch.allclose(w.grad, torch.tensor([0.6, 0.8]))
    assert not torch.allclose(w.grad, w.detach())


def test_bias_is_not_decayed():
    model = nn.Linear(4, 1)
    weight, bias = model.weight.detach().clone(), model.bias.detach().clone()
    optimizer = torch.optim.SGD(decay_param_groups(model, 3.0), lr=0.1)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # no data gradient: only the decay moves parameters
    optimizer.step()
    assert torch.allclose(model.weight, (1 - 0.1 * 3.0) * weight)
    assert torch.equal(model.bias, bias)


def test_plain_weight_decay_also_decays_the_bias():
    model = nn.Linear(4, 1)
    bias = model.bias.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=3.0)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    assert torch.allclose(model.bias, 0.7 * bias)


def test_negative_weight_decay_is_refused():
    with pytest.raises(ValueError, match="weight_decay"):
        decay_param_groups(nn.Linear(2, 1), -1.0)


def test_dropout_keeps_expectation():
    X = torch.ones(2000, 50)
    out = dropout(X, 0.3, generator=torch.Generator().manual_seed(0))
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)
    survivors = out[out != 0]
    assert torch.allclose(survivors, torch.full_like(survivors, 1 / 0.7))  # scaled by 1/(1 − p)
    assert (out == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)


def test_dropout_edge_rates_and_eval_mode():
    X = torch.randn(5, 6)
    assert torch.equal(dropout(X, 0.0), X)
    assert torch.equal(dropout(X, 1.0), torch.zeros_like(X))
    assert torch.equal(dropout(X, 0.5, training=False), X)  # nothing is rescaled at test time


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_rate_outside_unit_interval_is_refused(p):
    with pytest.raises(ValueError, match=r"dropout p must be in \[0, 1\]"):
        dropout(torch.ones(3), p)
