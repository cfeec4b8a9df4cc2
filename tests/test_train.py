import math

import pytest
import torch

from wd_helpers.data import RegressionData, synthetic_regression
from wd_helpers.regularizers import l1_penalty, l2_penalty
from wd_helpers.train import sweep_weight_decay, train_weight_decay


def autograd_reference(lambd, *, lr, num_epochs, batch_size=5, seed=0, penalty="l2", decay_bias=False):
    """The textbook loop: autograd, penalty added to the loss, manual SGD. Same random stream."""
    generator = torch.Generator().manual_seed(seed)
    data = synthetic_regression(generator=generator)
    w = torch.randn(data.num_inputs, 1, generator=generator).requires_grad_()
    b = torch.zeros(1, requires_grad=True)
    penalty_fn = l2_penalty if penalty == "l2" else l1_penalty
    for _ in range(num_epochs):
        order = torch.randperm(len(data.X_train), generator=generator)
        for idx in order.split(batch_size):
            X, y = data.X_train[idx], data.y_train[idx]
            loss = ((X @ w + b - y) ** 2).mean() + lambd * penalty_fn(w)
            if decay_bias:
                loss = loss + lambd * penalty_fn(b)
            loss.backward()
            with torch.no_grad():
                for p in (w, b):
                    p -= lr * p.grad
                    p.grad = None
    with torch.no_grad():
        test = ((data.X_test @ w + b - data.y_test) ** 2).mean().item()
    return w.detach().flatten(), b.item(), test


@pytest.mark.parametrize(
    "options",
    [
        {"lambd": 0.0},
        {"lambd": 3.0},
        {"lambd": 0.5, "penalty": "l1"},
        {"lambd": 2.0, "decay_bias": True},
        {"lambd": 0.2, "penalty": "l1", "decay_bias": True},
        {"lambd": 1.0, "batch_size": 3},  # 20 is not a multiple of 3: the last batch is smaller
    ],
)
def test_closed_form_training_equals_autograd_loop(options):
    w_ref, b_ref, test_ref = autograd_reference(lr=0.003, num_epochs=15, **options)
    history = train_weight_decay(lr=0.003, num_epochs=15, **options)
    assert torch.allclose(history.w, w_ref, atol=1e-5, rtol=1e-4)
    assert history.b == pytest.approx(b_ref, abs=1e-5)
    assert history.test_loss[-1] == pytest.approx(test_ref, rel=1e-4)


def test_published_weight_norms_and_test_loss_gap():
    no_decay, decay = train_weight_decay(0.0), train_weight_decay(3.0)
    assert 10 < no_decay.w_norm < 16  # published ≈ 13: the weights barely move from ‖w₀‖ ≈ √200
    assert decay.w_norm < 1  # published ≈ 0.35
    assert decay.final_test_loss * 10 <= no_decay.final_test_loss
    assert no_decay.final_train_loss < decay.final_train_loss  # λ = 0 fits the training set better


def test_sweep_equals_single_runs_with_the_same_seed():
    lambdas = [0.0, 0.01, 0.3, 3.0, 30.0]
    swept = sweep_weight_decay(lambdas, seed=4, num_epochs=40)
    for lambd, history in zip(lambdas, swept):
        single = train_weight_decay(lambd, seed=4, num_epochs=40)
        assert history.lambd == lambd
        assert history.diverged_at == single.diverged_at
        assert history.train_loss == pytest.approx(single.train_loss, rel=1e-5, abs=1e-12)
        assert history.test_loss == pytest.approx(single.test_loss, rel=1e-5)
        assert history.w_norms == pytest.approx(single.w_norms, rel=1e-5)


def test_sweep_accepts_one_learning_rate_per_value():
    swept = sweep_weight_decay([0.0, 0.0], lr=[0.003, 0.05], num_epochs=30)
    assert swept[0].lr == 0.003 and not swept[0].diverged
    assert swept[1].lr == 0.05 and swept[1].diverged


def test_same_seed_same_numbers_other_seed_other_numbers():
    assert train_weight_decay(1.0, seed=3).test_loss == train_weight_decay(1.0, seed=3).test_loss
    assert train_weight_decay(1.0, seed=3).test_loss != train_weight_decay(1.0, seed=4).test_loss


def test_divergence_is_detected_and_reported():
    history = train_weight_decay(0.0, lr=0.03)  # above the step-size bound of nn.MSELoss here
    assert history.diverged_at is not None and 1 <= history.diverged_at <= 100
    assert len(history.train_loss) in (history.diverged_at - 1, history.diverged_at)
    assert all(math.isfinite(v) for v in history.train_loss + history.test_loss + history.w_norms)
    assert history.w_norm == math.inf and history.final_test_loss == math.inf
    assert train_weight_decay(0.0, lr=0.003).diverged_at is None


def test_half_squared_loss_halves_the_curvature():
    # d2l's ½(ŷ − y)² has half the gradient of nn.MSELoss: lr = 0.03 is stable with it
    assert train_weight_decay(0.0, lr=0.03, loss="half_mse").diverged_at is None
    assert train_weight_decay(0.0, lr=0.03, loss="mse").diverged_at is not None


def test_divergence_on_the_very_first_epoch_leaves_a_usable_history():
    history = train_weight_decay(0.0, lr=1.0, num_epochs=5)
    assert history.diverged_at == 1
    assert len(history.train_loss) == len(history.test_loss) == len(history.epochs) <= 1


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"lambd": -1.0}, "lambd"),
        ({"lambd": float("nan")}, "lambd"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -0.1}, "lr"),
        ({"num_epochs": 0}, "num_epochs"),
        ({"num_epochs": 2.5}, "num_epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 21}, "batch_size"),
        ({"penalty": "l3"}, "penalty"),
        ({"loss": "huber"}, "loss"),
        ({"seed": -1}, "seed"),
        ({"lambd": [1.0, 2.0]}, "lambd"),
    ],
)
def test_bad_input_names_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        train_weight_decay(**kwargs)


def test_mismatched_data_shapes_are_refused():
    good = synthetic_regression(generator=torch.Generator().manual_seed(0))
    bad = RegressionData(good.X_train, good.y_train[:-1], good.X_test, good.y_test, good.true_w, 0.05)
    with pytest.raises(ValueError, match="shapes"):
        train_weight_decay(1.0, data=bad)


def test_empty_sweep_is_refused():
    with pytest.raises(ValueError, match="lambdas"):
        sweep_weight_decay([])


def test_data_drawn_from_the_same_seed_does_not_become_the_initial_weights():
    # with a shared stream, w0 would equal the first training input and be fitted away at once
    data = synthetic_regression(n_train=100, generator=torch.Generator().manual_seed(0))
    history = train_weight_decay(0.0, data=data, seed=0)
    untouched = 200 - 100  # directions outside the span of the 100 training inputs
    assert history.w_norm > 0.7 * math.sqrt(untouched)


def test_torch_optimizer_training_equals_the_closed_form_trainer():
    from wd_helpers.regularizers import decay_param_groups
    from wd_helpers.train import train_with_optimizer

    torch_run = train_with_optimizer(lambda m: torch.optim.SGD(decay_param_groups(m, 3.0), lr=0.003), num_epochs=30)
    ours = train_weight_decay(3.0, num_epochs=30)
    assert torch.allclose(torch_run.w, ours.w, atol=1e-5)
    assert torch_run.test_loss == pytest.approx(ours.test_loss, rel=1e-4)


def test_torch_optimizer_training_reports_divergence():
    from wd_helpers.train import train_with_optimizer

    history = train_with_optimizer(lambda m: torch.optim.SGD(m.parameters(), lr=0.05), num_epochs=50)
    assert history.diverged_at is not None and len(history.train_loss) <= history.diverged_at


@pytest.mark.parametrize(
    "options",
    [
        {"lambdas": [0.0, 0.3, 3.0, 30.0]},
        {"lambdas": [0.0, 3.0], "decay_bias": True, "batch_size": 3},
        {"lambdas": [0.0, 1.0], "lr": [0.003, 0.03]},  # the second run diverges
        {"lambdas": [2.0], "lr": 0.05, "num_epochs": 30},  # ηλ = 0.1 and a large step: diverges
    ],
)
def test_dual_form_equals_the_primal_form(monkeypatch, options):
    """L2 with n < d trains the coefficients of w = c·w0 + Xᵀa (n + 2 numbers, not d + 1): same runs."""
    import wd_helpers.train as train

    assert train._form("l2", 20, 200) is train._Dual and train._form("l1", 20, 200) is train._Primal
    assert train._form("l2", 300, 64) is train._Primal  # more examples than inputs: nothing to gain
    dual = sweep_weight_decay(**options)
    monkeypatch.setattr(train, "_form", lambda penalty, n, d: train._Primal)
    primal = sweep_weight_decay(**options)
    for a, b in zip(dual, primal):
        assert a.diverged_at == b.diverged_at
        assert a.w_norms == pytest.approx(b.w_norms, rel=1e-9)
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-9, abs=1e-15)
        assert a.test_loss == pytest.approx(b.test_loss, rel=1e-9)
        if not a.diverged:
            assert torch.allclose(a.w, b.w, rtol=1e-5, atol=1e-6) and a.b == pytest.approx(b.b, rel=1e-9)
    assert any(h.diverged for h in dual) == ("lr" in options)


def test_primal_form_trains_l2_with_more_examples_than_inputs():
    generator = torch.Generator().manual_seed(1)
    data = synthetic_regression(n_train=60, n_test=30, num_inputs=8, generator=generator)
    history = sweep_weight_decay([0.0, 1.0], data=data, lr=0.01, num_epochs=50)
    assert not any(h.diverged for h in history)
    assert history[1].w_norm < history[0].w_norm
