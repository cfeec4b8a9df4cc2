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
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 21}, "batch_size"),
        ({"penalty": "l3"}, "penalty"),
        ({"loss": "huber"}, "loss"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_input_names_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        train_weight_decay(**kwargs)


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"num_epochs": 2.5}, "num_epochs"), ({"lambd": [1.0, 2.0]}, "lambd"), ({"lr": True}, "lr"),
     ({"decay_bias": 2}, "decay_bias")],
)
def test_a_value_of_the_wrong_kind_is_a_type_error_naming_the_argument(kwargs, argument):
    with pytest.raises(TypeError, match=argument):
        train_weight_decay(**kwargs)


def test_mismatched_data_shapes_are_refused():
    good = synthetic_regression(generator=torch.Generator().manual_seed(0))
    bad = RegressionData(good.X_train, good.y_train[:-1], good.X_test, good.y_test, good.true_w, 0.05)
    with pytest.raises(ValueError, match="shapes"):
        train_weight_decay(1.0, data=bad)


@pytest.mark.parametrize("option", [{"n_train": 50}, {"n_test": 10}, {"num_inputs": 20}, {"noise": 0.1}])
def test_options_that_shape_generated_data_are_refused_beside_given_data(option):
    """They were ignored silently: n_train=50 with data= trained on the given 20 examples."""
    data = synthetic_regression(generator=torch.Generator().manual_seed(0))
    (name, value), = option.items()
    with pytest.raises(ValueError, match=rf"{name}={value!r} describe\(s\) the generated data"):
        train_weight_decay(1.0, data=data, num_epochs=2, **option)
    with pytest.raises(ValueError, match=name):
        sweep_weight_decay([0.0, 1.0], data=data, num_epochs=2, **option)
    train_weight_decay(1.0, data=data, num_epochs=2)  # data alone, or the options alone, are fine
    train_weight_decay(1.0, num_epochs=2, **option)


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


def _soft_threshold_reference(lambd, *, lr, num_epochs, data, seed=0):
    """Proximal SGD for loss + λ‖w‖₁ written out: gradient step, then w ← sign(w)·max(|w| − ηλ, 0)."""
    from wd_helpers.seeding import derived_generator

    generator = derived_generator(seed, "train")
    n, d = data.X_train.shape
    w = torch.randn(d, 1, generator=generator).double()
    b = torch.zeros(1, 1, dtype=torch.float64)
    X, y = data.X_train.double(), data.y_train.double()
    for _ in range(num_epochs):
        for idx in torch.randperm(n, generator=generator).split(5):
            residual = X[idx] @ w + b - y[idx]
            w = w - lr * 2 / len(idx) * X[idx].T @ residual
            b = b - lr * 2 / len(idx) * residual.sum(0, keepdim=True)
            w = torch.sign(w) * (w.abs() - lr * lambd).clamp_min(0.0)
    return w.flatten(), float(b)


def test_proximal_l1_equals_soft_thresholding_and_lands_on_exact_zeros():
    data = synthetic_regression(n_train=50, generator=torch.Generator().manual_seed(1))
    run = train_weight_decay(0.3, penalty="l1", proximal=True, data=data, num_epochs=60)
    w_ref, b_ref = _soft_threshold_reference(0.3, lr=0.003, num_epochs=60, data=data)
    assert torch.allclose(run.w.double(), w_ref, atol=1e-6) and run.b == pytest.approx(b_ref, abs=1e-6)
    subgradient = train_weight_decay(0.3, penalty="l1", data=data, num_epochs=60)
    assert (run.w == 0).sum() > 40  # exact zeros ...
    assert (subgradient.w == 0).sum() == 0  # ... which the subgradient step never produces
    assert run.options["proximal"] and "proximal" not in subgradient.options


@pytest.mark.parametrize("kwargs, error", [({"penalty": "l2", "proximal": True}, ValueError),
                                           ({"penalty": "l1", "proximal": "yes"}, TypeError)])
def test_proximal_needs_the_l1_penalty(kwargs, error):
    with pytest.raises(error, match="proximal"):
        train_weight_decay(1.0, **kwargs)


@pytest.mark.parametrize("decoupled, optimizer", [(False, torch.optim.Adam), (True, torch.optim.AdamW)])
def test_train_adam_equals_torch_optim(decoupled, optimizer):
    from wd_helpers.regularizers import decay_param_groups
    from wd_helpers.regression import train_adam
    from wd_helpers.train import train_with_optimizer

    reference = train_with_optimizer(lambda m: optimizer(decay_param_groups(m, 1.0), lr=0.01), num_epochs=25)
    ours = train_adam(1.0, decoupled=decoupled, lr=0.01, num_epochs=25)
    assert torch.allclose(ours.w, reference.w, atol=1e-5) and ours.b == pytest.approx(reference.b, abs=1e-5)
    assert ours.test_loss == pytest.approx(reference.test_loss, rel=1e-4)
    assert ours.options["optimizer"] == optimizer.__name__


def test_train_adam_decay_rates_are_per_weight_for_adam_and_constant_for_adamw():
    from wd_helpers.regression import train_adam

    adam, adamw = train_adam(1.0, num_epochs=5), train_adam(1.0, decoupled=True, num_epochs=5)
    assert adam.decay_rates.shape == adamw.decay_rates.shape == (5, 200)
    assert torch.all(adamw.decay_rates == 0.01)
    assert adam.decay_rates.max() > 2 * adam.decay_rates.min()  # ηλ/√v̂ differs from weight to weight


@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
@pytest.mark.parametrize("decoupled, optimizer", [(False, torch.optim.Adam), (True, torch.optim.AdamW)])
def test_train_adam_linear_schedule_equals_torch_optim_with_lambda_lr(decoupled, optimizer):
    from wd_helpers.regularizers import decay_param_groups
    from wd_helpers.regression import train_adam
    from wd_helpers.train import train_with_optimizer

    epochs, steps = 15, 15 * 4
    schedulers = []

    def make(model):
        opt = optimizer(decay_param_groups(model, 1.0), lr=0.03)
        # factor for step k + 1 (k = 0, 1, ...): η_t = lr·(1 − t/T)
        schedulers.append(torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - (k + 1) / steps))
        real_step = opt.step

        def step(*args, **kwargs):  # the scheduler steps after every optimizer step
            result = real_step(*args, **kwargs)
            schedulers[0].step()
            return result

        opt.step = step
        return opt

    ours = train_adam(1.0, decoupled=decoupled, lr=0.03, num_epochs=epochs, lr_schedule="linear")
    reference = train_with_optimizer(make, num_epochs=epochs)
    assert torch.allclose(ours.w, reference.w, atol=1e-5)
    constant = train_adam(1.0, decoupled=decoupled, lr=0.03, num_epochs=epochs)
    assert not torch.allclose(ours.w, constant.w, atol=1e-3)  # the schedule changes the run
    assert ours.path.shape == (epochs, 201) and torch.allclose(ours.path[-1, :200], ours.w.double(), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"lambd": -1.0}, "lambd"), ({"lr": 0.0}, "lr"), ({"num_epochs": 0}, "num_epochs"), ({"decoupled": 1}, "decoupled"),
     ({"betas": (0.9, 1.0)}, "betas"), ({"eps": 0.0}, "eps"), ({"batch_size": 0}, "batch_size"),
     ({"lr_schedule": "cosine"}, "lr_schedule")],
)
def test_train_adam_bad_input_names_the_argument(kwargs, argument):
    from wd_helpers.regression import train_adam

    error = TypeError if argument == "decoupled" else ValueError  # 1 is not a flag: the wrong kind
    with pytest.raises(error, match=argument):
        train_adam(**kwargs)


@pytest.mark.parametrize("n_train", [20, 300])
def test_l2_minimiser_zeroes_the_gradient_of_the_penalised_mean_squared_error(n_train):
    from wd_helpers.regression import l2_minimiser

    data = synthetic_regression(n_train=n_train, generator=torch.Generator().manual_seed(0))
    X, y = data.X_train.double(), data.y_train.double()
    w, b = l2_minimiser(X, y, 0.5)
    w, b = w.clone().requires_grad_(), torch.tensor(b, dtype=torch.float64, requires_grad=True)
    objective = ((X @ w + b - y.flatten()) ** 2).mean() + 0.5 * (w**2).sum() / 2
    grad_w, grad_b = torch.autograd.grad(objective, (w, b))
    assert grad_w.norm() < 1e-10 * 0.5 * w.norm() and abs(grad_b) < 1e-10


def test_l2_minimiser_is_where_long_sgd_training_goes():
    from wd_helpers.regression import l2_minimiser

    data = synthetic_regression(generator=torch.Generator().manual_seed(0))
    w, b = l2_minimiser(data.X_train, data.y_train, 1.0)
    run = train_weight_decay(1.0, num_epochs=3000)
    assert run.w_norm == pytest.approx(float(w.norm()), rel=0.03)


@pytest.mark.parametrize("lambd", [0.0, -1.0, float("nan"), "1", True])
def test_l2_minimiser_needs_a_positive_lambda(lambd):
    from wd_helpers.regression import l2_minimiser

    with pytest.raises(TypeError if isinstance(lambd, str | bool) else ValueError, match="lambd"):
        l2_minimiser(torch.ones(3, 2), torch.ones(3, 1), lambd)


@pytest.mark.parametrize("lambd, decay_bias", [(0.0, False), (3.0, False), (100.0, False), (100.0, True)])
def test_largest_curvature_is_the_top_eigenvalue_of_the_autograd_hessian(lambd, decay_bias):
    from wd_helpers.regression import largest_curvature

    X = synthetic_regression(n_train=5, num_inputs=6, generator=torch.Generator().manual_seed(0)).X_train.double()
    y = torch.zeros(5, dtype=torch.float64)

    def objective(wb):
        w, b = wb[:-1], wb[-1]
        return ((X @ w + b - y) ** 2).mean() + lambd / 2 * (w**2).sum() + (lambd / 2 * b**2 if decay_bias else 0.0)

    hessian = torch.autograd.functional.hessian(objective, torch.zeros(7, dtype=torch.float64))
    assert largest_curvature(X, lambd, decay_bias=decay_bias) == pytest.approx(float(torch.linalg.eigvalsh(hessian).max()))
    if lambd == 0:  # the ½ in the loss halves the curvature
        assert largest_curvature(X, loss="half_mse") == pytest.approx(largest_curvature(X) / 2)


def test_largest_curvature_bound_separates_stable_from_diverging_full_batch_runs():
    from wd_helpers.regression import largest_curvature

    data = synthetic_regression(generator=torch.Generator().manual_seed(0))
    bound = 2 / largest_curvature(data.X_train, 100.0)
    runs = sweep_weight_decay([100.0, 100.0], lr=[0.97 * bound, 1.03 * bound], batch_size=20, num_epochs=300)
    assert [run.diverged for run in runs] == [False, True]


@pytest.mark.parametrize("kwargs, argument", [({"lambd": -1.0}, "lambd"), ({"lambd": float("inf")}, "lambd"),
                                              ({"loss": "l1"}, "loss")])
def test_largest_curvature_bad_input_names_the_argument(kwargs, argument):
    from wd_helpers.regression import largest_curvature

    with pytest.raises(ValueError, match=argument):
        largest_curvature(torch.ones(3, 2), **kwargs)
