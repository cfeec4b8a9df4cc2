"""Our learning-rate schedules equal torch.optim.lr_scheduler's, rate by rate and in training; SGD under a schedule."""

import math
from functools import partial

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as S

from wd_helpers.schedules import (
    attach,
    cosine_lr,
    exponential_lr,
    inverse_time_lr,
    linear_lr,
    lr_sequence,
    sgd_least_squares,
    step_lr,
    torch_lr_sequence,
    train_with_scheduler,
    warmup_cosine_lr,
)

NUM_STEPS = 100
# torch computes most rates recursively (η_t from η_{t-1}: StepLR multiplies by γ, CosineAnnealingLR by a ratio of
# cosines), ours in closed form. Each recursive step rounds once, so the two drift apart by a few units in the last
# place per step: measured ≤ 3.5e-14 relative over 130 steps. 1e-12 leaves room for that drift and still refuses an
# off-by-one (relative differences of 1e-3 and more, test_an_off_by_one_is_caught). RATE_ATOL covers rates of 0
# (cosine_lr at T_max with eta_min = 0), where a relative tolerance means nothing.
RATE_RTOL, RATE_ATOL = 1e-12, 1e-15
LR = 0.1

# (name, ours, torch's counterpart as make_scheduler(optimizer))
CASES = [
    ("step", partial(step_lr, step_size=7, gamma=0.5), lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    ("step-default-gamma", partial(step_lr, step_size=30), lambda o: S.StepLR(o, step_size=30)),
    ("exponential", partial(exponential_lr, gamma=0.97), lambda o: S.ExponentialLR(o, gamma=0.97)),
    ("cosine", partial(cosine_lr, T_max=NUM_STEPS), lambda o: S.CosineAnnealingLR(o, T_max=NUM_STEPS)),
    ("cosine-eta_min", partial(cosine_lr, T_max=40, eta_min=0.001),  # 100 steps: past T_max, the rate climbs back
     lambda o: S.CosineAnnealingLR(o, T_max=40, eta_min=0.001)),
    ("cosine-short", partial(cosine_lr, T_max=1), lambda o: S.CosineAnnealingLR(o, T_max=1)),
    ("linear-warmup", partial(linear_lr, start_factor=0.1, total_iters=20),
     lambda o: S.LinearLR(o, start_factor=0.1, total_iters=20)),
    ("linear-defaults", linear_lr, lambda o: S.LinearLR(o)),  # torch's defaults: 1/3 → 1 in 5 steps
    ("linear-decay", partial(linear_lr, start_factor=1.0, end_factor=0.2, total_iters=60),
     lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=60)),
    ("warmup-cosine", partial(warmup_cosine_lr, warmup_steps=10, T_max=90, start_factor=0.1, eta_min=0.001),
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=10),
                                  S.CosineAnnealingLR(o, T_max=90, eta_min=0.001)], milestones=[10])),
    ("inverse-time", partial(inverse_time_lr, decay=0.05), lambda o: S.LambdaLR(o, lambda t: 1 / (1 + 0.05 * t))),
]
IDS = [name for name, _, _ in CASES]


def rates_agree(ours, theirs) -> bool:
    return len(ours) == len(theirs) and all(
        math.isclose(a, b, rel_tol=RATE_RTOL, abs_tol=RATE_ATOL) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("name, ours, theirs", CASES, ids=IDS)
def test_each_schedule_equals_torch_rate_by_rate(name, ours, theirs):
    ours_rates = lr_sequence(ours, LR, NUM_STEPS)
    torch_rates = torch_lr_sequence(theirs, LR, NUM_STEPS)
    assert rates_agree(ours_rates, torch_rates), max(abs(a - b) / max(b, 1e-300) for a, b in zip(ours_rates, torch_rates))
    assert len(set(ours_rates)) > 1  # the schedule moves: a constant would make the comparison empty


def regression(seed=0, n=64, d=5):
    """A seeded float64 regression and an nn.Linear(d, 1) with seeded weights: (model, X, y)."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    y = X @ torch.randn(d, 1, generator=generator, dtype=torch.float64) + 0.3 * torch.randn(
        n, 1, generator=generator, dtype=torch.float64)
    model = nn.Linear(d, 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, d, generator=generator, dtype=torch.float64))
        model.bias.zero_()
    return model, X, y


def trained(make_scheduler, *, lr=0.05, num_steps=NUM_STEPS):
    """The parameters of the seeded regression after minibatch SGD under ``make_scheduler``."""
    model, X, y = regression()
    train_with_scheduler(model, X, y, make_optimizer=lambda p: torch.optim.SGD(p, lr=lr),
                         make_scheduler=make_scheduler, batch_size=8, num_steps=num_steps, seed=1)
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# float64 parameters: rates that differ by 1e-13 relative move them by about that much. 1e-10 is far above it and
# far below what a wrong schedule does (test_an_off_by_one_is_caught).
PARAM_TOL = 1e-10


@pytest.mark.parametrize("name, ours, theirs", CASES, ids=IDS)
def test_training_with_ours_through_lambdalr_equals_training_with_torchs_scheduler(name, ours, theirs):
    with_ours = trained(lambda o: attach(o, ours))
    with_torch = trained(theirs)
    assert torch.allclose(with_ours, with_torch, rtol=PARAM_TOL, atol=PARAM_TOL), (with_ours - with_torch).abs().max()
    assert not torch.allclose(with_ours, trained(None), rtol=1e-4, atol=1e-4)  # the schedule changed the training


MUTANTS = [  # a plausible bug, and the torch scheduler it pretends to be
    ("cosine period off by one", partial(cosine_lr, T_max=NUM_STEPS + 1),
     lambda o: S.CosineAnnealingLR(o, T_max=NUM_STEPS)),
    ("cosine counted from 1", lambda t, lr: cosine_lr(t + 1, lr, T_max=NUM_STEPS),
     lambda o: S.CosineAnnealingLR(o, T_max=NUM_STEPS)),
    ("warm-up one step too long", partial(linear_lr, start_factor=0.1, total_iters=21),
     lambda o: S.LinearLR(o, start_factor=0.1, total_iters=20)),
    ("warm-up hands over one step late", partial(warmup_cosine_lr, warmup_steps=11, T_max=89, start_factor=0.1),
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=10),
                                  S.CosineAnnealingLR(o, T_max=90)], milestones=[10])),
    ("step decay one step early", lambda t, lr: step_lr(t + 1, lr, step_size=7, gamma=0.5),
     lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
]


@pytest.mark.parametrize("name, mutant, theirs", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_an_off_by_one_is_caught(name, mutant, theirs):
    # the two comparisons above would fail for each of these bugs
    assert not rates_agree(lr_sequence(mutant, LR, NUM_STEPS), torch_lr_sequence(theirs, LR, NUM_STEPS))
    with_mutant, with_torch = trained(lambda o: attach(o, mutant)), trained(theirs)
    assert not torch.allclose(with_mutant, with_torch, rtol=PARAM_TOL, atol=PARAM_TOL)


def test_closed_forms_at_landmarks():
    assert cosine_lr(0, 0.1, T_max=50, eta_min=0.01) == 0.1
    assert math.isclose(cosine_lr(25, 0.1, T_max=50, eta_min=0.01), 0.055)  # halfway: the mean of lr and eta_min
    assert math.isclose(cosine_lr(50, 0.1, T_max=50, eta_min=0.01), 0.01)  # the bottom, at T_max
    assert math.isclose(cosine_lr(100, 0.1, T_max=50, eta_min=0.01), 0.1)  # one period (2 T_max) later: back at lr
    assert math.isclose(cosine_lr(10, 1.0, T_max=90), (1 + math.cos(math.radians(20))) / 2)  # π·10/90 = 20°
    assert step_lr(6, 1.0, step_size=7, gamma=0.5) == 1.0 and step_lr(7, 1.0, step_size=7, gamma=0.5) == 0.5
    assert exponential_lr(3, 2.0, gamma=0.5) == 0.25
    assert linear_lr(0, 1.0, start_factor=0.25, total_iters=4) == 0.25
    assert linear_lr(2, 1.0, start_factor=0.25, total_iters=4) == 0.625
    assert linear_lr(4, 1.0, start_factor=0.25, total_iters=4) == linear_lr(99, 1.0, start_factor=0.25, total_iters=4) == 1
    assert inverse_time_lr(4, 1.0, decay=0.25) == 0.5
    warm = partial(warmup_cosine_lr, warmup_steps=4, T_max=10, start_factor=0.5)
    assert [warm(t, 1.0) for t in range(5)] == [0.5, 0.625, 0.75, 0.875, 1.0]  # lr reached at t = warmup_steps
    assert warm(14, 1.0) == 0.0


def test_attach_follows_each_parameter_groups_own_base_lr():
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.02}])
    schedule = partial(cosine_lr, T_max=10, eta_min=0.01)  # eta_min is a rate, not a factor: (0.01 − 0.02) matters
    scheduler = attach(optimizer, schedule)
    for t in range(15):
        for group, base in zip(optimizer.param_groups, (0.1, 0.02)):
            assert math.isclose(group["lr"], schedule(t, base), rel_tol=RATE_RTOL), (t, base)
        optimizer.step()
        scheduler.step()


def test_lr_sequence_reads_the_schedule_at_steps_0_to_n_minus_1():
    assert lr_sequence(lambda t, lr: lr * t, 2.0, 4) == [0.0, 2.0, 4.0, 6.0]
    assert lr_sequence(partial(step_lr, step_size=1, gamma=0.5), 1.0, 0) == []


# ---------------------------------------------------------------- SGD on least squares


def least_squares(seed=0, n=200, d=4, noise=0.5):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator)
    return X, X @ torch.ones(d) + noise * torch.randn(n, generator=generator)


def test_sgd_least_squares_equals_a_plain_loop():
    # 300 steps: past the first chunk of minibatches drawn at once (DRAW_CHUNK = 256), one draw per step here
    X, y = least_squares()
    schedule = partial(step_lr, step_size=100, gamma=0.5)
    losses = sgd_least_squares(X, y, lr=0.05, batch_size=3, num_steps=300, schedule=schedule, num_runs=2, seed=4)
    generator = torch.Generator().manual_seed(4)
    X64, y64 = X.double(), y.double()
    W = torch.zeros(2, X.shape[1], dtype=torch.float64)
    expected = [((X64 @ W.T - y64[:, None]) ** 2).mean(0)]
    for t in range(300):
        idx = torch.randint(len(X), (2, 3), generator=generator)
        for r in range(2):
            X_b, y_b = X64[idx[r]], y64[idx[r]]
            W[r] -= schedule(t, 0.05) * 2 / 3 * X_b.T @ (X_b @ W[r] - y_b)
        expected.append(((X64 @ W.T - y64[:, None]) ** 2).mean(0))
    assert losses.shape == (2, 301) and losses.dtype == torch.float64
    assert torch.allclose(losses, torch.stack(expected, dim=1), rtol=1e-12, atol=1e-12)


def test_sgd_least_squares_is_seeded():
    X, y = least_squares()
    run = partial(sgd_least_squares, X, y[:, None], lr=0.05, batch_size=2, num_steps=50, num_runs=3)
    assert torch.equal(run(seed=1), run(seed=1))
    assert not torch.allclose(run(seed=1), run(seed=2))
    runs = run(seed=1)
    assert not torch.allclose(runs[0], runs[1])  # each run draws its own minibatches


def test_sgd_noise_floor_grows_with_lr_and_shrinks_with_batch_size():
    # the notebook's claim on a smaller problem: the floor above the minimum is about η·L*·tr(XᵀX/n)/B for small η
    X, y = least_squares(n=500, d=4)
    X64, y64 = X.double(), y.double()
    best = ((X64 @ torch.linalg.lstsq(X64, y64[:, None]).solution - y64[:, None]) ** 2).mean().item()
    trace_H = torch.trace(X64.T @ X64 / len(X)).item()

    def floor(lr, batch_size):
        losses = sgd_least_squares(X, y, lr=lr, batch_size=batch_size, num_steps=3000, num_runs=8)
        return losses[:, 1500:].mean().item() - best

    for lr, batch_size in ((0.01, 2), (0.02, 2), (0.01, 4)):
        predicted = lr * best * trace_H / batch_size
        assert 0.8 < floor(lr, batch_size) / predicted < 1.2, (lr, batch_size)


def test_train_with_scheduler_steps_the_scheduler_once_per_step():
    model, X, y = regression()
    made = []
    losses = train_with_scheduler(model, X, y, make_optimizer=lambda p: torch.optim.SGD(p, lr=0.01),
                                  make_scheduler=lambda o: made.append(S.StepLR(o, step_size=1)) or made[-1],
                                  batch_size=4, num_steps=12)
    assert len(losses) == 12 and made[0].last_epoch == 12


# ---------------------------------------------------------------- bad input

_ok = dict(step=3, lr=0.1)
BAD = [  # (call, exception, phrases its message must contain)
    (lambda: step_lr(-1, 0.1, step_size=5), ValueError, ["step", ">= 0", "-1"]),
    (lambda: step_lr(2.5, 0.1, step_size=5), TypeError, ["step", "whole number"]),
    (lambda: step_lr(True, 0.1, step_size=5), TypeError, ["step", "bool"]),
    (lambda: step_lr(1, 0.0, step_size=5), ValueError, ["lr", "> 0"]),
    (lambda: step_lr(1, float("nan"), step_size=5), ValueError, ["lr", "finite"]),
    (lambda: step_lr(1, "0.1", step_size=5), TypeError, ["lr", "number"]),
    (lambda: step_lr(1, 0.1, step_size=0), ValueError, ["step_size", ">= 1"]),
    (lambda: step_lr(1, 0.1, step_size=5, gamma=1.5), ValueError, ["gamma", "(0, 1]"]),
    (lambda: step_lr(1, 0.1, step_size=5, gamma=0.0), ValueError, ["gamma", "(0, 1]"]),
    (lambda: exponential_lr(1, 0.1, gamma=-0.5), ValueError, ["gamma", "(0, 1]"]),
    (lambda: exponential_lr(1, 0.1, gamma=None), TypeError, ["gamma", "number"]),
    (lambda: cosine_lr(1, 0.1, T_max=0), ValueError, ["T_max", ">= 1"]),
    (lambda: cosine_lr(1, 0.1, T_max=10.5), TypeError, ["T_max", "whole number"]),
    (lambda: cosine_lr(1, 0.1, T_max=10, eta_min=-0.01), ValueError, ["eta_min", ">= 0"]),
    (lambda: cosine_lr(1, 0.1, T_max=10, eta_min=0.2), ValueError, ["eta_min", "[0, lr] = [0, 0.1]"]),
    (lambda: linear_lr(1, 0.1, start_factor=0.0), ValueError, ["start_factor", "(0, 1]"]),
    (lambda: linear_lr(1, 0.1, start_factor=1.5), ValueError, ["start_factor", "(0, 1]"]),
    (lambda: linear_lr(1, 0.1, end_factor=2.0), ValueError, ["end_factor", "[0, 1]"]),
    (lambda: linear_lr(1, 0.1, total_iters=0), ValueError, ["total_iters", ">= 1"]),
    (lambda: warmup_cosine_lr(1, 0.1, warmup_steps=0, T_max=10), ValueError, ["warmup_steps", ">= 1"]),
    (lambda: warmup_cosine_lr(1, 0.1, warmup_steps=5, T_max=0), ValueError, ["T_max", ">= 1"]),  # even while warming up
    (lambda: warmup_cosine_lr(50, 0.1, warmup_steps=5, T_max=10, start_factor=0.0), ValueError, ["start_factor"]),
    (lambda: inverse_time_lr(1, 0.1, decay=-1.0), ValueError, ["decay", ">= 0"]),
    (lambda: lr_sequence("cosine", 0.1, 10), TypeError, ["schedule", "function"]),
    (lambda: lr_sequence(lambda t, lr: lr, 0.1, -1), ValueError, ["num_steps"]),
    (lambda: lr_sequence(lambda t, lr: lr, 0.1, 1e9), ValueError, ["num_steps"]),
    (lambda: lr_sequence(lambda t, lr: float("nan"), 0.1, 3), ValueError, ["schedule(0, lr)", "finite"]),
    (lambda: lr_sequence(lambda t, lr: "fast", 0.1, 3), TypeError, ["schedule(0, lr)", "number"]),
    (lambda: torch_lr_sequence(None, 0.1, 3), TypeError, ["make_scheduler", "function"]),
    (lambda: attach("adam", partial(cosine_lr, T_max=5)), TypeError, ["optimizer", "torch.optim.Optimizer"]),
    (lambda: attach(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), 0.5), TypeError, ["schedule"]),
]
_X, _y = least_squares(n=20)
BAD += [
    (lambda: sgd_least_squares(_X, _y, lr=0.0, batch_size=2, num_steps=5), ValueError, ["lr", "> 0"]),
    (lambda: sgd_least_squares(_X, _y, lr=0.1, batch_size=0, num_steps=5), ValueError, ["batch_size", "[1, 20]"]),
    (lambda: sgd_least_squares(_X, _y, lr=0.1, batch_size=21, num_steps=5), ValueError, ["batch_size", "[1, 20]"]),
    (lambda: sgd_least_squares(_X, _y, lr=0.1, batch_size=2, num_steps=-1), ValueError, ["num_steps"]),
    (lambda: sgd_least_squares(_X, _y, lr=0.1, batch_size=2, num_steps=5, num_runs=0), ValueError, ["num_runs"]),
    (lambda: sgd_least_squares(_X, _y, lr=0.1, batch_size=2, num_steps=5, seed=-1), ValueError, ["seed"]),
    (lambda: sgd_least_squares(_X, _y, lr=0.1, batch_size=2, num_steps=5, schedule="cosine"), TypeError, ["schedule"]),
    (lambda: sgd_least_squares(_X, _y[:10], lr=0.1, batch_size=2, num_steps=5), ValueError, ["y", "(20,)"]),
    (lambda: sgd_least_squares(_X[0], _y, lr=0.1, batch_size=2, num_steps=5), ValueError, ["X", "2-D"]),
    (lambda: sgd_least_squares(_X.tolist(), _y, lr=0.1, batch_size=2, num_steps=5), TypeError, ["X", "torch.Tensor"]),
    (lambda: sgd_least_squares(_X * float("nan"), _y, lr=0.1, batch_size=2, num_steps=5), ValueError, ["X", "finite"]),
    (lambda: train_with_scheduler("model", _X, _y, make_optimizer=torch.optim.SGD, batch_size=2, num_steps=1),
     TypeError, ["model", "nn.Module"]),
    (lambda: train_with_scheduler(nn.Linear(4, 1), _X, _y[:3], make_optimizer=torch.optim.SGD, batch_size=2,
                                  num_steps=1), ValueError, ["y", "one target per row"]),
    (lambda: train_with_scheduler(nn.Linear(4, 1), _X, _y, make_optimizer=None, batch_size=2, num_steps=1),
     TypeError, ["make_optimizer", "function"]),
    (lambda: train_with_scheduler(nn.Linear(4, 1), _X, _y, make_optimizer=torch.optim.SGD, make_scheduler=3,
                                  batch_size=2, num_steps=1), TypeError, ["make_scheduler", "function"]),
]


@pytest.mark.parametrize("call, error, phrases", BAD, ids=range(len(BAD)))
def test_bad_input_is_refused_with_a_named_error(call, error, phrases):
    with pytest.raises(error) as caught:
        call()
    for phrase in phrases:
        assert phrase in str(caught.value), str(caught.value)
