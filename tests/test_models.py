import pytest
import torch

from wd_helpers.models import MLP


def make_mlp(*, scratch, p1=0.0, p2=0.0, seed=0, sizes=(16, 64, 64, 3)):
    return MLP(*sizes, dropout1=p1, dropout2=p2, scratch=scratch, generator=torch.Generator().manual_seed(seed))


def hidden_layers(model, X):
    """(H1, H2) before and after dropout, as ((H1_clean, H1), (H2_clean, H2)), for one forward pass."""
    seen = {}
    hooks = [
        model.lin2.register_forward_pre_hook(lambda m, args: seen.__setitem__("H1", args[0])),
        model.lin3.register_forward_pre_hook(lambda m, args: seen.__setitem__("H2", args[0])),
    ]
    try:
        model(X)
    finally:
        for hook in hooks:
            hook.remove()
    H1, H2 = seen["H1"].detach(), seen["H2"].detach()
    with torch.no_grad():
        H1_clean = torch.relu(model.lin1(X))
        H2_clean = torch.relu(model.lin2(H1))  # what the second dropout received
    return (H1_clean, H1), (H2_clean, H2)


@pytest.mark.parametrize("scratch", [True, False], ids=["scratch", "nn.Dropout"])
def test_dropout_in_the_model_zeroes_p_and_keeps_the_mean(scratch):
    torch.manual_seed(0)  # nn.Dropout draws from the global generator
    p1, p2 = 0.3, 0.6
    model = make_mlp(scratch=scratch, p1=p1, p2=p2).train()
    X = torch.rand(4000, 16, generator=torch.Generator().manual_seed(1))
    for (H_clean, H), p in zip(hidden_layers(model, X), (p1, p2)):
        active = H_clean > 0
        dropped = (H == 0) & active
        assert dropped.sum() / active.sum() == pytest.approx(p, abs=0.01)
        kept = (H != 0) & active
        assert torch.allclose(H[kept], H_clean[kept] / (1 - p))  # survivors scaled by 1/(1 − p)
        assert H.mean() == pytest.approx(H_clean.mean().item(), rel=0.02)  # E[dropout(H)] = H


@pytest.mark.parametrize("scratch", [True, False], ids=["scratch", "nn.Dropout"])
def test_eval_mode_makes_dropout_the_identity(scratch):
    model = make_mlp(scratch=scratch, p1=0.5, p2=0.5).eval()
    plain = make_mlp(scratch=scratch)  # no dropout at all
    plain.load_state_dict(model.state_dict())
    X = torch.rand(64, 16, generator=torch.Generator().manual_seed(2))
    for H_clean, H in hidden_layers(model, X):
        assert torch.equal(H, H_clean)
    assert torch.equal(model(X), model(X))
    assert torch.equal(model(X), plain(X))


def test_train_and_eval_switch_scratch_dropout_like_nn_dropout():
    model = make_mlp(scratch=True, p1=0.5, p2=0.5)
    X = torch.rand(64, 16, generator=torch.Generator().manual_seed(3))
    model.eval()
    reference = model(X)
    model.train()
    assert not torch.equal(model(X), reference)  # masks are drawn again
    model.eval()
    assert torch.equal(model(X), reference)


def test_scratch_and_nn_dropout_agree_exactly_in_eval_mode_with_shared_weights():
    ours = make_mlp(scratch=True, p1=0.2, p2=0.5, seed=4)
    theirs = make_mlp(scratch=False, p1=0.2, p2=0.5, seed=5)
    theirs.load_state_dict(ours.state_dict())
    X = torch.rand(128, 16, generator=torch.Generator().manual_seed(6))
    assert torch.equal(ours.eval()(X), theirs.eval()(X))


def test_scratch_masks_come_from_the_models_generator():
    X = torch.rand(32, 16, generator=torch.Generator().manual_seed(7))
    a, b = make_mlp(scratch=True, p1=0.5, p2=0.5, seed=8), make_mlp(scratch=True, p1=0.5, p2=0.5, seed=8)
    assert torch.equal(a(X), b(X))


def test_init_is_seeded_by_the_generator_and_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    a, b, c = make_mlp(scratch=True, seed=9), make_mlp(scratch=False, seed=9), make_mlp(scratch=True, seed=10)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.lin1.weight, c.lin1.weight)
    bound = 1 / 16**0.5  # PyTorch's default nn.Linear init: U(−1/√fan_in, 1/√fan_in)
    assert a.lin1.weight.abs().max() <= bound and a.lin1.weight.abs().max() > 0.9 * bound


def test_without_a_generator_init_is_pytorchs_default():
    torch.manual_seed(11)
    model = MLP(16, 8, 8, 3)
    torch.manual_seed(11)
    reference = torch.nn.Linear(16, 8)
    assert torch.equal(model.lin1.weight, reference.weight)
    assert model(torch.zeros(2, 16)).shape == (2, 3)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
@pytest.mark.parametrize("which", ["dropout1", "dropout2"])
def test_dropout_rate_outside_unit_interval_is_refused(p, which):
    with pytest.raises(ValueError, match=rf"{which} must be a dropout probability in \[0, 1\]"):
        MLP(4, 8, 8, 2, **{which: p})


@pytest.mark.parametrize("p", ["0.5", True, [0.5], torch.tensor([0.5, 0.5])])
@pytest.mark.parametrize("which", ["dropout1", "dropout2"])
def test_a_dropout_rate_that_is_not_one_number_is_a_type_error(p, which):
    with pytest.raises(TypeError, match=which):
        MLP(4, 8, 8, 2, **{which: p})


@pytest.mark.parametrize("sizes", [(0, 8, 8, 2), (4, 8, -1, 2)])
def test_layer_sizes_below_one_are_refused(sizes):
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        MLP(*sizes)


@pytest.mark.parametrize("sizes, name", [((4, 8.5, 8, 2), "num_hiddens1"), ((4, 8, 8, True), "num_outputs"),
                                         (("4", 8, 8, 2), "num_inputs")])
def test_layer_sizes_that_are_not_whole_numbers_are_refused(sizes, name):
    with pytest.raises(TypeError, match=name):  # 8.5 units are not rounded to 8
        MLP(*sizes)


def test_a_whole_float_size_is_the_integer():
    assert MLP(4, 8.0, 8, 2).lin1.out_features == 8  # 8.0 is exactly 8 (validate.integer): nothing substituted


def test_rate_one_drops_everything():
    model = make_mlp(scratch=True, p1=1.0).train()
    X = torch.rand(8, 16, generator=torch.Generator().manual_seed(12))
    (_, H1), _ = hidden_layers(model, X)
    assert torch.equal(H1, torch.zeros_like(H1))
