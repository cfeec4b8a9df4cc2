"""Our from-scratch optimizers step exactly like torch.optim, and ``trace`` follows any optimizer."""

import inspect
import math
from functools import partial

import pytest
import torch
from torch import nn

from wd_helpers.optim import (
    SGD,
    Adadelta,
    AdaGrad,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    RMSProp,
    first_nonfinite,
    loss_along,
    trace,
)
from wd_helpers.regularizers import decay_param_groups

ATOL, RTOL = 1e-6, 1e-5
STEPS = 50

# (our optimizer, torch's counterpart, keyword arguments that both take with the same meaning)
CASES = [
    (SGD, torch.optim.SGD, dict(lr=0.05)),
    (SGD, torch.optim.SGD, dict(lr=0.02, weight_decay=0.1)),
    (Momentum, torch.optim.SGD, dict(lr=0.02, momentum=0.9)),
    (Momentum, torch.optim.SGD, dict(lr=0.05, momentum=0.5, weight_decay=0.05)),
    (Nesterov, partial(torch.optim.SGD, nesterov=True), dict(lr=0.02, momentum=0.9)),
    (Nesterov, partial(torch.optim.SGD, nesterov=True), dict(lr=0.05, momentum=0.3, weight_decay=0.05)),
    (AdaGrad, torch.optim.Adagrad, dict(lr=0.1)),
    (AdaGrad, torch.optim.Adagrad, dict(lr=0.5, eps=1e-6, weight_decay=0.1)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.003, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    (Adam, torch.optim.Adam, dict(lr=0.01)),
    (Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.1)),
    (partial(Adam, decoupled=True), torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01)),  # both defaults: weight_decay = 1e-2
    (AdamW, torch.optim.AdamW, dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.5)),
    (Adadelta, torch.optim.Adadelta, dict()),  # torch's defaults: lr = 1, rho = 0.9, eps = 1e-6
    (Adadelta, torch.optim.Adadelta, dict(lr=0.5, rho=0.5, eps=1e-3, weight_decay=0.1)),
    (Adadelta, torch.optim.Adadelta, dict(lr=2.0, rho=0.0, eps=1e-4)),
    (Adam, torch.optim.Adam, dict(lr=0.05, amsgrad=True)),
    (Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.5, amsgrad=True)),
]


def case_id(case):
    ours, _, kwargs = case
    name = f"{ours.func.__name__}{ours.keywords}" if isinstance(ours, partial) else ours.__name__
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


def quadratic(seed, d=10):
    """f(x) = ½ xᵀAx + bᵀx with A symmetric positive definite; returns ([x], loss)."""
    generator = torch.Generator().manual_seed(seed)
    M = torch.randn(d, d, generator=generator)
    A = M @ M.T / d + 0.1 * torch.eye(d)  # eigenvalues in [0.1, ~4.1]
    b = torch.randn(d, generator=generator)
    x = torch.randn(d, generator=generator).requires_grad_()
    return [x], lambda: 0.5 * x @ A @ x + b @ x


def linear_regression(seed, n=32, d=5):
    """Mean squared error of an nn.Linear(d, 1) on random data; returns ([weight, bias], loss)."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=generator)
    y = X @ torch.randn(d, 1, generator=generator) + 0.1 * torch.randn(n, 1, generator=generator)
    model = nn.utils.skip_init(nn.Linear, d, 1)  # no draw from the global RNG
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, d, generator=generator))
        model.bias.copy_(torch.randn(1, generator=generator))
    return [model.weight, model.bias], lambda: nn.functional.mse_loss(model(X), y)


def one_step(optimizer, loss):
    optimizer.zero_grad()
    loss().backward()
    optimizer.step()


@pytest.mark.parametrize("problem", [quadratic, linear_regression])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_optimizer_steps_equal_torchs(case, problem):
    ours, theirs, kwargs = case
    our_params, our_loss = problem(seed=0)
    torch_params, torch_loss = problem(seed=0)  # an identical copy
    our_optimizer, torch_optimizer = ours(our_params, **kwargs), theirs(torch_params, **kwargs)
    for t in range(1, STEPS + 1):
        one_step(our_optimizer, our_loss)
        one_step(torch_optimizer, torch_loss)
        for p, q in zip(our_params, torch_params):
            assert torch.allclose(p, q, atol=ATOL, rtol=RTOL), f"step {t}: {(p - q).abs().max()}"
    assert not torch.equal(our_params[0], problem(seed=0)[0][0])  # it did move


@pytest.mark.parametrize("problem", [quadratic, linear_regression])
@pytest.mark.parametrize("case", [case for case in CASES if case[2].get("amsgrad")], ids=case_id)
def test_amsgrad_cases_differ_from_plain_adam(case, problem):
    # Without this, the amsgrad cases of the equality test could pass with the keyword ignored.
    ours, _, kwargs = case
    (amsgrad_params, amsgrad_loss), (plain_params, plain_loss) = problem(seed=0), problem(seed=0)
    amsgrad, plain = ours(amsgrad_params, **kwargs), ours(plain_params, **{**kwargs, "amsgrad": False})
    for _ in range(STEPS):
        one_step(amsgrad, amsgrad_loss)
        one_step(plain, plain_loss)
    assert max((p - q).abs().max() for p, q in zip(amsgrad_params, plain_params)) > 100 * ATOL


@pytest.mark.parametrize(
    "ours, theirs, names",
    [
        (SGD, torch.optim.SGD, ["lr", "weight_decay"]),
        (Momentum, torch.optim.SGD, ["lr", "weight_decay"]),
        (Nesterov, torch.optim.SGD, ["lr", "weight_decay"]),
        (AdaGrad, torch.optim.Adagrad, ["lr", "eps", "weight_decay"]),
        (RMSProp, torch.optim.RMSprop, ["lr", "alpha", "eps", "weight_decay"]),
        (Adam, torch.optim.Adam, ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
        (AdamW, torch.optim.AdamW, ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
        (Adadelta, torch.optim.Adadelta, ["lr", "rho", "eps", "weight_decay"]),
    ],
)
def test_defaults_are_torchs(ours, theirs, names):
    for name in names:
        ours_default = inspect.signature(ours).parameters[name].default
        assert ours_default == inspect.signature(theirs).parameters[name].default, name


def test_parameter_groups_set_weight_decay_per_group():
    models = [linear_regression(seed=1) for _ in range(2)]
    groups = [decay_param_groups([("w", w), ("b", b)], 0.1) for (w, b), _ in models]
    ours, theirs = Adam(groups[0], lr=0.01), torch.optim.Adam(groups[1], lr=0.01)
    for _ in range(STEPS):
        one_step(ours, models[0][1])
        one_step(theirs, models[1][1])
    for p, q in zip(models[0][0], models[1][0]):
        assert torch.allclose(p, q, atol=ATOL, rtol=RTOL)


def test_step_returns_the_closure_loss_and_skips_params_without_grad():
    x, untouched = torch.tensor([3.0], requires_grad=True), torch.tensor([7.0], requires_grad=True)
    optimizer = Momentum([x, untouched], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (x**2).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 9.0
    assert x.item() == pytest.approx(3.0 - 0.1 * 6.0)
    assert untouched.item() == 7.0 and untouched not in optimizer.state


# ---------------------------------------------------------------- trace

ELONGATED = lambda x: 0.1 * x[0] ** 2 + 2 * x[1] ** 2  # noqa: E731  d2l's f(x) = 0.1 x₁² + 2 x₂²
START = (-5.0, -2.0)
ROSENBROCK = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2  # noqa: E731  non-convex, a curved valley


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda p: Adam(p, lr=0.1), lambda p: torch.optim.Adam(p, lr=0.1)),
        (lambda p: Nesterov(p, lr=0.1, momentum=0.5), lambda p: torch.optim.SGD(p, 0.1, 0.5, nesterov=True)),
        (lambda p: RMSProp(p, lr=0.1, alpha=0.9), lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.9)),
    ],
    ids=["adam", "nesterov", "rmsprop"],
)
def test_trace_with_our_optimizer_equals_trace_with_torchs(ours, theirs):
    assert torch.allclose(trace(ours, ELONGATED, START, 100), trace(theirs, ELONGATED, START, 100), atol=ATOL)


@pytest.mark.parametrize("f", [ELONGATED, ROSENBROCK], ids=["elongated", "rosenbrock"])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda p: Adadelta(p), lambda p: torch.optim.Adadelta(p)),
        (lambda p: Adadelta(p, lr=0.3, rho=0.95, eps=1e-2, weight_decay=0.01),
         lambda p: torch.optim.Adadelta(p, lr=0.3, rho=0.95, eps=1e-2, weight_decay=0.01)),
        (lambda p: Adam(p, lr=0.01, amsgrad=True), lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True)),
        (lambda p: Adam(p, lr=0.02, betas=(0.5, 0.9), weight_decay=0.05, amsgrad=True),
         lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), weight_decay=0.05, amsgrad=True)),
        (lambda p: AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True),
         lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True)),
    ],
    ids=["adadelta", "adadelta-wd", "amsgrad", "amsgrad-wd", "adamw-amsgrad"],
)
def test_adadelta_and_amsgrad_follow_torch_over_a_long_run(ours, theirs, f):
    start = (-1.5, 2.0)
    path, reference = trace(ours, f, start, 1000), trace(theirs, f, start, 1000)
    assert first_nonfinite(reference) is None and (reference[-1] - reference[0]).abs().max() > 0.1  # it went somewhere
    assert torch.allclose(path, reference, atol=1e-5, rtol=1e-5), (path - reference).abs().max()


@pytest.mark.parametrize("lr, expected", [(0.2, 0.060466), (0.05, 3.486784), (1.1, 61.917364)])
def test_gradient_descent_on_x_squared_matches_published_numbers(lr, expected):
    points = trace(lambda p: SGD(p, lr=lr), lambda x: (x**2).sum(), [10.0], 10)
    assert points[-1].item() == pytest.approx(expected, abs=1e-4)  # x₁₀ = 10 (1 − 2η)¹⁰


def test_gradient_descent_on_elongated_quadratic_matches_published_numbers():
    x = trace(lambda p: SGD(p, lr=0.4), ELONGATED, START, 20)[-1]
    assert x.tolist() == pytest.approx([-0.943467, -0.000073], abs=1e-5)
    x = trace(lambda p: SGD(p, lr=0.6), ELONGATED, START, 20)[-1]
    assert x[1].item() == pytest.approx(-1673.37, rel=1e-4)  # x₂ ← (1 − 4η) x₂ = −1.4 x₂ diverges


def test_momentum_on_elongated_quadratic_matches_published_numbers():
    x = trace(lambda p: Momentum(p, lr=0.6, momentum=0.5), ELONGATED, START, 20)[-1]
    assert x.tolist() == pytest.approx([0.007188, 0.002553], abs=1e-5)


def test_trace_has_one_row_per_step_starting_at_x0():
    x0 = torch.tensor([1.5, -0.5, 2.0])
    points = trace(lambda p: Adam(p, lr=0.1), lambda x: (x**2).sum(), x0, 7)
    assert points.shape == (8, 3) and points.dtype == torch.float32
    assert torch.equal(points[0], x0)
    assert first_nonfinite(points) is None
    assert trace(lambda p: SGD(p, lr=0.1), lambda x: (x**2).sum(), x0, 0).shape == (1, 3)


def test_trace_does_not_modify_x0():
    x0 = torch.tensor([1.0, 2.0])
    trace(lambda p: SGD(p, lr=0.1), lambda x: (x**2).sum(), x0, 5)
    assert torch.equal(x0, torch.tensor([1.0, 2.0]))


def test_diverging_trace_keeps_its_shape_and_fills_nan():
    x0, factor = 1.0, 1.2  # x_t = (1 − 2η) x_{t−1} = (−1.2)ᵗ x₀ with η = 1.1
    points = trace(lambda p: SGD(p, lr=1.1), lambda x: (x**2).sum(), [x0], 2000)
    # The gradient 2x overflows first: x_t is inf at the first t with 2 |x_{t−1}| > float32 max.
    overflow = math.floor(math.log(torch.finfo(torch.float32).max / (2 * x0)) / math.log(factor)) + 2  # 484
    assert points.shape == (2001, 1)
    assert first_nonfinite(points) == overflow
    assert torch.isfinite(points[:overflow]).all() and points[:overflow].abs().max() > 1e38
    assert torch.isnan(points[overflow:]).all()


def test_loss_along_evaluates_f_at_each_row_and_is_nan_after_divergence():
    f = lambda x: (x**2).sum()  # noqa: E731
    points = trace(lambda p: SGD(p, lr=0.2), f, [10.0], 3)
    assert loss_along(f, points).tolist() == pytest.approx([100.0, 36.0, 12.96, 4.6656], rel=1e-5)
    diverged = trace(lambda p: SGD(p, lr=1.1), f, [1.0], 600)
    losses, start = loss_along(f, diverged), first_nonfinite(diverged)
    assert losses.shape == (601,)
    assert torch.isnan(losses[start:]).all()
    assert not torch.isnan(losses[:start]).any()  # a finite row gives f(row): +inf once x² overflows


# ---------------------------------------------------------------- validation

BAD_HYPER_PARAMETERS = [
    (lambda p: SGD(p, lr=0.0), "lr must be > 0"),
    (lambda p: SGD(p, lr=-0.1), "lr must be > 0"),
    (lambda p: Adam(p, lr=math.nan), "lr must be > 0"),
    (lambda p: Momentum(p, momentum=-0.1), r"momentum must be in \[0, 1\)"),
    (lambda p: Momentum(p, momentum=1.0), r"momentum must be in \[0, 1\)"),
    (lambda p: Nesterov(p, momentum=1.5), r"momentum must be in \[0, 1\)"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
    (lambda p: Adam(p, betas=(-0.1, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
    (lambda p: AdamW(p, betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\)"),
    (lambda p: Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: Adam(p, eps=0.0), "eps must be > 0"),
    (lambda p: AdaGrad(p, eps=-1e-10), "eps must be > 0"),
    (lambda p: RMSProp(p, eps=0.0), "eps must be > 0"),
    (lambda p: RMSProp(p, alpha=1.0), r"alpha must be in \[0, 1\)"),
    (lambda p: RMSProp(p, alpha=-0.5), r"alpha must be in \[0, 1\)"),
    (lambda p: SGD(p, weight_decay=-1e-3), "weight_decay must be >= 0"),
    (lambda p: Momentum(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    (lambda p: Nesterov(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    (lambda p: AdaGrad(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    (lambda p: RMSProp(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    (lambda p: Adam(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    (lambda p: AdamW(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    (lambda p: Adam([{"params": p, "lr": -1.0}]), "lr must be > 0"),  # a group's own value, too
    (lambda p: Adadelta(p, lr=0.0), "lr must be > 0"),
    (lambda p: Adadelta(p, lr=-1.0), "lr must be > 0"),
    (lambda p: Adadelta(p, rho=1.0), r"rho must be in \[0, 1\)"),  # torch allows 1: s, u never move, Δ = g
    (lambda p: Adadelta(p, rho=-0.1), r"rho must be in \[0, 1\)"),
    (lambda p: Adadelta(p, rho=math.nan), r"rho must be in \[0, 1\)"),
    (lambda p: Adadelta(p, eps=0.0), "eps must be > 0"),  # torch allows 0: u = 0 and Adadelta would never move
    (lambda p: Adadelta(p, weight_decay=-1.0), "weight_decay must be >= 0"),
    (lambda p: Adadelta([{"params": p, "rho": 2.0}]), r"rho must be in \[0, 1\)"),
    (lambda p: Adam(p, eps=-1.0, amsgrad=True), "eps must be > 0"),
    (lambda p: AdamW(p, betas=(0.9, 1.5), amsgrad=True), r"betas\[1\] must be in \[0, 1\)"),
]


@pytest.mark.parametrize("make, message", BAD_HYPER_PARAMETERS, ids=[m for _, m in BAD_HYPER_PARAMETERS])
def test_bad_hyper_parameter_raises_value_error_naming_it(make, message):
    with pytest.raises(ValueError, match=f"^{message}.*got"):
        make([torch.zeros(2, requires_grad=True)])


def test_boundary_hyper_parameters_are_accepted():
    p = [torch.zeros(2, requires_grad=True)]
    Momentum(p, momentum=0.0)
    Nesterov(p, momentum=0.0)
    Adam(p, betas=(0.0, 0.0), weight_decay=0.0)
    RMSProp(p, alpha=0.0)
    Adadelta(p, rho=0.0, weight_decay=0.0)
    Adam(p, amsgrad=True)
    AdamW(p, amsgrad=False)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: Adam(p, amsgrad="yes"), "amsgrad must be True or False"),
        (lambda p: AdamW(p, amsgrad=1), "amsgrad must be True or False"),
        (lambda p: Adam([{"params": p, "amsgrad": None}]), "amsgrad must be True or False"),
        (lambda p: Adadelta(p, rho="0.9"), "rho must be a number"),
        (lambda p: Adadelta(p, lr=True), "lr must be a number"),
        # torch.optim's keywords that we do not implement: refused, not silently ignored
        (lambda p: Adadelta(p, maximize=True), "unexpected keyword argument 'maximize'"),
        (lambda p: Adadelta(p, foreach=False), "unexpected keyword argument 'foreach'"),
        (lambda p: Adadelta(p, 1.0, 0.9), "positional argument"),  # rho and eps are keyword-only
        (lambda p: Adam(p, capturable=True, amsgrad=True), "unexpected keyword argument 'capturable'"),
        (lambda p: AdamW(p, decoupled=False), "unexpected keyword argument 'decoupled'"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bad_type_or_unsupported_keyword_raises_type_error(make, message):
    with pytest.raises(TypeError, match=message):
        make([torch.zeros(2, requires_grad=True)])


@pytest.mark.parametrize("steps, error", [(-1, ValueError), (2.5, TypeError), (True, TypeError), ("10", TypeError)])
def test_trace_rejects_bad_steps(steps, error):
    # a negative count is out of range (ValueError); 2.5, a bool or a string is not a count at all (TypeError)
    with pytest.raises(error, match="^steps must be (an int >= 0|a whole number|a number)"):
        trace(lambda p: SGD(p, lr=0.1), lambda x: (x**2).sum(), [1.0], steps)


def test_trace_rejects_a_bool_tensor_among_the_numbers_of_x0():
    # found by the hypothesis table of tests/test_bad_input.py: [tensor(True), 0.0] used to start at (1, 0)
    with pytest.raises(TypeError, match=r"^x0\[0\] must be a real number"):
        trace(lambda p: SGD(p, lr=0.1), lambda x: (x**2).sum(), [torch.tensor(True), 0.0], 1)
    assert trace(lambda p: SGD(p, lr=0.1), lambda x: (x**2).sum(), [torch.tensor(2.0), 0.0], 1)[0].tolist() == [2.0, 0.0]


@pytest.mark.parametrize("x0, message", [([[1.0, 2.0]], "x0 must be 1-D"), ([1.0, math.inf], "x0 must be finite")])
def test_trace_rejects_bad_x0(x0, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        trace(lambda p: SGD(p, lr=0.1), lambda x: (x**2).sum(), x0, 5)


# ---------------------------------------------------------------- weight decay and bias correction


def test_adamw_decay_is_decoupled():
    p0 = torch.tensor([1.0, -2.0, 3.0])
    lr, weight_decay = 0.1, 0.5
    p = p0.clone().requires_grad_()
    p.grad = torch.zeros_like(p)  # no data gradient: only the decay acts
    AdamW([p], lr=lr, weight_decay=weight_decay).step()
    assert torch.equal(p.detach(), p0 * (1 - lr * weight_decay))  # exactly p (1 − η λ)

    q = p0.clone().requires_grad_()
    q.grad = torch.zeros_like(q)
    Adam([q], lr=lr, weight_decay=weight_decay).step()  # coupled: λ p enters the gradient ...
    assert not torch.allclose(q.detach(), p0 * (1 - lr * weight_decay))
    assert torch.allclose(q.detach(), p0 - lr * torch.sign(p0))  # ... and Adam's first step is η sign(g)


class AdamWithoutStepCount(torch.optim.Optimizer):
    """The pitfall: m̂ = m / (1 − β1) and v̂ = v / (1 − β2) — constants instead of (1 − β1ᵗ), (1 − β2ᵗ)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                m = self.state[p].setdefault("m", torch.zeros_like(p))
                v = self.state[p].setdefault("v", torch.zeros_like(p))
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                m_hat, v_hat = m / (1 - beta1), v / (1 - beta2)  # wrong: no t
                p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


def test_adam_bias_correction_uses_the_step_count():
    reference = trace(lambda p: torch.optim.Adam(p, lr=0.1), ELONGATED, START, 50)
    ours = trace(lambda p: Adam(p, lr=0.1), ELONGATED, START, 50)
    wrong = trace(lambda p: AdamWithoutStepCount(p, lr=0.1), ELONGATED, START, 50)
    assert torch.allclose(ours, reference, atol=ATOL)
    # At t = 1, 1 − β1ᵗ = 1 − β1: the wrong variant agrees on the first step only ...
    assert torch.allclose(wrong[:2], reference[:2], atol=ATOL)
    # ... then its step is (1 − β1ᵗ)/(1 − β1) · √((1 − β2)/(1 − β2ᵗ)) times Adam's: 1.34 at t = 2,
    ratio = (wrong[2] - wrong[1]) / (reference[2] - reference[1])
    assert ratio.tolist() == pytest.approx([1.9 / math.sqrt(1.999)] * 2, rel=1e-3)
    # ... falling towards √(1 − β2)/(1 − β1) ≈ 0.32 as t grows: the trajectories part ways.
    assert (wrong - reference).abs().max() > 0.5


# ---------------------------------------------------------------- AMSGrad's rate, Adadelta's units


def rates_read_off(make, gradients):
    """The rate of each step, −Δx / g, for one float64 coordinate fed ``gradients`` (β1 = 0: the step is rate × g)."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer, rates = make([x]), []
    for g in gradients:
        x.grad = torch.tensor([g], dtype=torch.float64)
        before = x.item()
        optimizer.step()
        rates.append((before - x.item()) / g)
    return torch.tensor(rates, dtype=torch.float64)


@pytest.mark.parametrize("make", [Adam, AdamW, torch.optim.Adam], ids=["ours", "ours-adamw", "torch"])
def test_amsgrad_rate_never_grows_where_adams_does(make):
    # Small gradients long enough for the bias correction to vanish (0.9²⁰⁰ ≈ 7e-10), one large one, small ones again:
    # Adam's v̂ forgets the large gradient and its rate η/(√v̂ + ε) climbs back; AMSGrad's maximum remembers it.
    gradients = [0.1] * 200 + [10.0] + [0.1] * 199
    kwargs = dict(lr=0.01, betas=(0.0, 0.9), weight_decay=0.0)
    adam = rates_read_off(lambda p: make(p, **kwargs), gradients)
    amsgrad = rates_read_off(lambda p: make(p, **kwargs, amsgrad=True), gradients)
    rises = lambda rates: rates[1:] > rates[:-1] * (1 + 1e-9)  # noqa: E731  float64 rounding aside
    assert not rises(amsgrad).any()
    assert rises(adam)[200:300].all() and adam[-1] > 30 * adam[200]  # Adam's rate climbs from η/√10 back to η/0.1
    assert amsgrad[-1].item() == pytest.approx(amsgrad[200].item(), rel=1e-9) and amsgrad[200] < amsgrad[199] / 30


@pytest.mark.parametrize("make", [Adam, torch.optim.Adam], ids=["ours", "torch"])
def test_amsgrad_keeps_the_max_of_raw_v_and_bias_corrects_it_after(make):
    # A large gradient at step 1: the maximum is v₁ = (1 − β2)·100 and stays; dividing it by 1 − β2ᵗ each step
    # raises the rate by √((1 − β2ᵗ)/(1 − β2)). Keeping the max of the already corrected v̂ would hold the rate flat.
    lr, beta2, eps = 0.01, 0.999, 1e-8
    rates = rates_read_off(lambda p: make(p, lr=lr, betas=(0.0, beta2), eps=eps, amsgrad=True), [10.0] + [0.1] * 99)
    t = torch.arange(1, 101, dtype=torch.float64)
    v_max = (1 - beta2) * 10.0**2
    assert torch.allclose(rates, lr / ((v_max / (1 - beta2**t)).sqrt() + eps), rtol=1e-9)
    assert rates[-1] > 9 * rates[0]


def test_amsgrad_escapes_the_trap_where_adam_goes_to_the_worst_point():
    # Reddi et al. (2018) in spirit: x in [−1, 1], gradients +3, −1, −1, … (sum +1 per period: the best x is −1).
    # With β2 = 0.1 Adam's v̂ forgets the +3 at once, favours the two −1 steps and climbs to +1.
    def final_mean(amsgrad):
        x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        optimizer, points = Adam([x], lr=0.1, betas=(0.0, 0.1), amsgrad=amsgrad), []
        for t in range(300):
            x.grad = torch.tensor([3.0 if t % 3 == 0 else -1.0], dtype=torch.float64)
            optimizer.step()
            with torch.no_grad():
                x.clamp_(-1.0, 1.0)
            points.append(x.item())
        return sum(points[-30:]) / 30

    assert final_mean(amsgrad=False) > 0.9 and final_mean(amsgrad=True) < -0.9


def test_adadelta_first_step_is_set_by_eps_not_by_the_slope():
    # Δ₁ = √ε / √((1 − ρ) g² + ε) · g ≈ √(ε/(1 − ρ)) sign(g) when (1 − ρ) g² ≫ ε: ε inside both roots, as torch.
    for rho, eps in ((0.9, 1e-6), (0.5, 1e-4)):
        x = torch.zeros(3, requires_grad=True)
        x.grad = torch.tensor([-1.0, 8.0, 300.0])
        Adadelta([x], rho=rho, eps=eps).step()
        exact = math.sqrt(eps) / torch.sqrt((1 - rho) * x.grad**2 + eps) * x.grad
        assert torch.allclose(-x.detach(), exact, rtol=1e-6)
        assert torch.allclose(x.detach().abs(), torch.tensor(math.sqrt(eps / (1 - rho))), rtol=2e-3)


def test_adadelta_step_has_the_parameters_units():
    # Measure x in units ten times larger (y = x/10, F(y) = f(10 y)). With ε/100 (ε has the units of x²) and the
    # same lr, Adadelta follows the same path; Adam needs lr/10 instead, so with its lr unchanged it does not.
    k = 0.1
    rescaled = lambda y: ELONGATED(y / k)  # noqa: E731
    for make, same, other in (
        (Adadelta, dict(eps=1e-6 * k**2), dict(eps=1e-6)),
        (Adam, dict(lr=0.1 * k), dict(lr=0.1)),
    ):
        in_x = trace(lambda p: make(p, **other), ELONGATED, START, 100)
        follows = trace(lambda p: make(p, **same), rescaled, [k * v for v in START], 100) / k
        leaves = trace(lambda p: make(p, **other), rescaled, [k * v for v in START], 100) / k
        assert torch.allclose(follows, in_x, atol=1e-4)
        assert (leaves - in_x).abs().max() > 0.3


# ---------------------------------------------------------------- momentum_rate


@pytest.mark.parametrize("make, nesterov", [(Momentum, False), (Nesterov, True)])
@pytest.mark.parametrize("lr, curvature, beta", [(0.3, 4.0, 0.5), (0.3, 0.2, 0.9), (0.1, 4.0, 0.9), (0.2, 2.0, 0.0)])
def test_momentum_rate_is_the_measured_shrink_per_step(make, nesterov, lr, curvature, beta):
    from wd_helpers.optim import momentum_rate

    rate = momentum_rate(lr, curvature, beta, nesterov=nesterov)
    f = lambda x: 0.5 * curvature * (x**2).sum()
    x = trace(lambda p: make(p, lr=lr, momentum=beta), f, torch.tensor([1.0]), 100)[:, 0].abs()
    measured = (x[80:].max() / x[40:60].max()).item() ** (1 / 40)  # envelopes: oscillating paths cross zero
    assert measured == pytest.approx(rate, rel=0.03)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_momentum_rate_crosses_one_at_the_stability_bounds(beta):
    from wd_helpers.optim import momentum_rate

    L = 4.0
    for nesterov, bound in ((False, 2 * (1 + beta) / L), (True, 2 * (1 + beta) / (L * (1 + 2 * beta)))):
        assert momentum_rate(0.99 * bound, L, beta, nesterov=nesterov) < 1 < momentum_rate(1.01 * bound, L, beta, nesterov=nesterov)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0, curvature=1.0, beta=0.5), "lr"),
    (dict(lr=0.1, curvature=-1.0, beta=0.5), "curvature"),
    (dict(lr=0.1, curvature=1.0, beta=1.0), "beta"),
    (dict(lr=float("nan"), curvature=1.0, beta=0.5), "lr"),
])
def test_momentum_rate_rejects_bad_input(kwargs, message):
    from wd_helpers.optim import momentum_rate

    with pytest.raises(ValueError, match=message):
        momentum_rate(**kwargs)
