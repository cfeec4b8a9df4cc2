"""Dropout in depth: Monte-Carlo dropout and its uncertainty, dropout as an adaptive L2 penalty, Gaussian
dropout, shifted-image augmentation, and the variance shift that dropout causes in a following batch norm.

Notebook 05b uses these; each is tested against an independent computation in tests/test_noise.py.
"""

import dataclasses
import math

import torch
from torch import nn

from . import validate
from .classify import DEFAULT_HIDDENS, ClassifierHistory, dropout_mlp, train_classifier
from .data import ImageData
from .device import on_course_device
from .models import MLP, _check_rate
from .seeding import derived_generator
from .threads import on_course_threads

MAX_PASSES = 10_000  # more forward passes than any estimate here needs: refuses a typo (1e9) up front


def train_dropout_model(
    dropout1: float = 0.0, dropout2: float = 0.0, *, data: ImageData, seed: int = 0,
    num_hiddens: tuple[int, int] = DEFAULT_HIDDENS, **options,
) -> tuple[MLP, ClassifierHistory]:
    """``classify.train_dropout``, returning the trained model (in eval mode) beside its history.

    The same network, initial weights, masks and numbers as ``train_dropout(dropout1, dropout2, data=data,
    seed=seed, ...)``; Monte-Carlo dropout needs the model itself.
    """
    model = dropout_mlp(data, dropout1, dropout2, seed=seed, num_hiddens=num_hiddens)
    history = train_classifier(model, data, seed=seed, **options)
    history.options.update(dropout1=model.dropout1, dropout2=model.dropout2)
    return model, history


# --- Monte-Carlo dropout ------------------------------------------------------------------------


def _mask_generators(model: nn.Module) -> list[tuple[nn.Module, torch.Generator]]:
    """(module, generator) for every module drawing its own masks (our scratch MLP keeps ``generator``)."""
    return [(m, m.generator) for m in model.modules() if isinstance(getattr(m, "generator", None), torch.Generator)]


@on_course_device
@on_course_threads
@torch.no_grad()
def mc_dropout_probs(model: nn.Module, X: torch.Tensor, *, num_passes: int = 100, seed: int = 0) -> torch.Tensor:
    """Class probabilities of ``num_passes`` forward passes with dropout deliberately on: (T, n, C).

    Each pass runs ``model`` in training mode (a fresh random thinned network) and takes the softmax of
    its logits. The masks depend on ``seed`` only: a scratch model's own generator and torch's global
    generator are both replaced by streams of ``seed`` for the call, then put back, as is the model's mode
    (train or eval). ``probs.mean(0)`` is the MC-dropout prediction.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X = validate.finite_tensor("X", X, ndim=2)
    num_passes = validate.integer("num_passes", num_passes, low=1, high=MAX_PASSES)
    seed = validate.seed(seed)
    was_training, owners = model.training, _mask_generators(model)
    masks = derived_generator(seed, "mc dropout")
    try:
        for module, _ in owners:
            module.generator = masks
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derived_generator(seed, "mc dropout global").initial_seed())  # nn.Dropout's masks
            model.train()
            probs = torch.stack([torch.softmax(model(X), dim=-1) for _ in range(num_passes)])  # (T, n, C)
    finally:
        for module, generator in owners:
            module.generator = generator
        model.train(was_training)
    return probs


def _probabilities(name: str, probs) -> torch.Tensor:
    """(…, C) probabilities: finite, in [0, 1], summing to 1 along the last dimension."""
    probs = validate.finite_tensor(name, probs)
    if probs.dim() < 1 or probs.shape[-1] < 2:
        raise ValueError(f"{name} must hold probabilities over at least 2 classes in its last dimension, "
                         f"got shape {tuple(probs.shape)}")
    if (probs < 0).any() or (probs > 1).any() or not torch.allclose(probs.sum(-1), torch.ones((), dtype=probs.dtype),
                                                                      atol=1e-4):
        raise ValueError(f"{name} must hold probabilities in [0, 1] that sum to 1 over the last dimension")
    return probs


def _passes(probs) -> torch.Tensor:
    probs = _probabilities("probs", probs)
    if probs.dim() != 3:
        raise ValueError(f"probs must be (num_passes, n, num_classes), got shape {tuple(probs.shape)}")
    return probs


def entropy(probs) -> torch.Tensor:
    """H(p) = −Σ_c p_c log p_c in nats, over the last dimension (0·log 0 = 0): (…, C) → (…)."""
    return torch.special.entr(_probabilities("probs", probs)).sum(-1)


def predictive_entropy(probs) -> torch.Tensor:
    """H[p̄] of the mean prediction p̄ = mean over passes: (T, n, C) → (n,). Total uncertainty."""
    return entropy(_passes(probs).mean(0))


def mutual_information(probs) -> torch.Tensor:
    """H[p̄] − mean_t H[p_t]: (T, n, C) → (n,), ≥ 0 (Jensen). The part of the uncertainty that comes
    from the passes disagreeing; a single deterministic pass cannot show it."""
    probs = _passes(probs)
    return (entropy(probs.mean(0)) - entropy(probs).mean(0)).clamp_min(0.0)  # rounding can give −1e-8


def rank_separation(higher, lower) -> float:
    """The fraction of pairs (a from ``higher``, b from ``lower``) with a > b, ties counting ½ (the area under
    the ROC curve): 1 when every score in ``higher`` exceeds every score in ``lower``, ½ when they mix."""
    a = validate.finite_tensor("higher", higher, ndim=1).double()
    b = validate.finite_tensor("lower", lower, ndim=1).double()
    if not len(a) or not len(b):
        raise ValueError(f"higher and lower must each hold at least one score, got {len(a)} and {len(b)}")
    above = (a[:, None] > b[None, :]).double().mean() + 0.5 * (a[:, None] == b[None, :]).double().mean()
    return above.item()


# --- Dropout on the inputs of linear regression = an adaptive L2 penalty -----------------------------


def _regression(X, y, w=None) -> tuple[torch.Tensor, ...]:
    X = validate.finite_tensor("X", X, ndim=2).double()
    if len(X) == 0:
        raise ValueError(f"X must hold at least one example, got shape {tuple(X.shape)}")
    y = validate.finite_tensor("y", y, ndim=1).double()
    if y.shape != (len(X),):
        raise ValueError(f"y must be ({len(X)},), one target per row of X, got {tuple(y.shape)}")
    if w is None:
        return X, y
    w = validate.finite_tensor("w", w, ndim=1).double()
    if w.shape != (X.shape[1],):
        raise ValueError(f"w must be ({X.shape[1]},), one weight per column of X, got {tuple(w.shape)}")
    return X, y, w


def _keep_rate(p) -> float:
    try:
        return validate.number("p", p, low=0.0, high=1.0, high_open=True)
    except ValueError:
        raise ValueError(f"p must be a dropout rate in [0, 1), got {p!r}") from None


def dropout_penalties(X, p) -> torch.Tensor:
    """λ_j = p/(1 − p) · mean_i x_ij²: the L2 coefficient dropout on the inputs puts on each weight. (d,)"""
    X = validate.finite_tensor("X", X, ndim=2).double()
    p = _keep_rate(p)
    return p / (1 - p) * X.square().mean(0)


def expected_dropout_loss(X, y, w, p) -> float:
    """mean_i E_mask[(y_i − (m ⊙ x_i / (1 − p))·w)²] = mean_i (y_i − x_i·w)² + Σ_j λ_j w_j², λ = dropout_penalties.

    Inverted dropout with rate p on the inputs of a linear model without bias, in closed form (float64).
    """
    X, y, w = _regression(X, y, w)
    p = _keep_rate(p)
    return ((y - X @ w).square().mean() + (dropout_penalties(X, p) * w.square()).sum()).item()


def ridge(X, y, penalty) -> torch.Tensor:
    """argmin_w mean_i (y_i − x_i·w)² + Σ_j λ_j w_j², no bias, in float64: (XᵀX/n + diag(λ)) w = Xᵀy/n.

    ``penalty``: one λ ≥ 0 for every weight (plain L2) or one per column of X.
    """
    X, y = _regression(X, y)
    n, d = X.shape
    if isinstance(penalty, torch.Tensor) and penalty.dim() == 1:
        lambdas = validate.finite_tensor("penalty", penalty.double(), ndim=1)
        if lambdas.shape != (d,) or (lambdas < 0).any():
            raise ValueError(f"penalty must be one λ >= 0 or ({d},) values >= 0, got shape {tuple(lambdas.shape)}")
    else:
        lambdas = torch.full((d,), validate.number("penalty", penalty, low=0.0), dtype=torch.float64)
    A = X.T @ X / n + torch.diag(lambdas)
    if torch.linalg.matrix_rank(A) < d:
        raise ValueError("the problem has no unique minimiser: X has dependent columns and penalty is 0 on them")
    return torch.linalg.solve(A, X.T @ y / n)


def dropout_ridge(X, y, p) -> torch.Tensor:
    """The minimiser of ``expected_dropout_loss(X, y, ·, p)``: ridge with λ_j = p/(1 − p)·mean_i x_ij²."""
    return ridge(X, y, dropout_penalties(X, p))


# --- Gaussian dropout -----------------------------------------------------------------------------


def gaussian_dropout(
    X: torch.Tensor, p: float, *, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Multiply every element by its own factor ~ N(1, p/(1 − p)): the mean (1) and variance (p/(1 − p)) of
    inverted dropout's factor m/(1 − p), m ~ Bernoulli(1 − p). Identity when not ``training`` or p = 0."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    p = _keep_rate(p)
    training = validate.flag("training", training)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if not training or p == 0.0:
        return X
    noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=torch.float32)
    return X * (1.0 + math.sqrt(p / (1.0 - p)) * noise).to(X.dtype)


# --- Data augmentation: shifted images ------------------------------------------------------------

SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (rows, columns): one pixel down, up, right, left


def shift_images(X: torch.Tensor, image_shape: tuple[int, int], shift: tuple[int, int]) -> torch.Tensor:
    """Each flattened image of X (n, h·w) moved by ``shift`` = (rows, columns), the uncovered pixels 0."""
    X = validate.finite_tensor("X", X, ndim=2)
    if not (isinstance(image_shape, tuple | list) and len(image_shape) == 2):
        raise TypeError(f"image_shape must be (h, w), got {image_shape!r:.60}")
    h, w = (validate.integer(f"image_shape[{i}]", v, low=1) for i, v in enumerate(image_shape))
    if X.shape[1] != h * w:
        raise ValueError(f"X must have h·w = {h * w} columns for image_shape {(h, w)}, got {X.shape[1]}")
    if not (isinstance(shift, tuple | list) and len(shift) == 2):
        raise TypeError(f"shift must be (rows, columns), got {shift!r:.60}")
    dy = validate.integer("shift[0]", shift[0], low=-(h - 1), high=h - 1)
    dx = validate.integer("shift[1]", shift[1], low=-(w - 1), high=w - 1)
    images = X.reshape(-1, h, w)
    out = torch.zeros_like(images)
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = images[:, max(-dy, 0):h - max(dy, 0),
                                                                          max(-dx, 0):w - max(dx, 0)]
    return out.reshape(X.shape)


@on_course_device
def augment_with_shifts(data: ImageData, shifts=SHIFTS) -> ImageData:
    """``data`` with its training images followed by a shifted copy of them for each of ``shifts``
    (labels repeated); the test set unchanged. No new information about the task's classes, only about
    what does not matter: where a digit sits."""
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData (wd_helpers.data.load_digits_data, load_course_images), "
                        f"got {type(data).__name__}")
    if isinstance(shifts, str | bytes) or not isinstance(shifts, tuple | list) or not shifts:
        raise TypeError(f"shifts must be a non-empty list of (rows, columns) pairs, got {shifts!r:.60}")
    copies = [shift_images(data.X_train, data.image_shape, s) for s in shifts]
    return dataclasses.replace(
        data, X_train=torch.cat([data.X_train, *copies]), y_train=data.y_train.repeat(len(shifts) + 1),
        name=f"{data.name} + {len(shifts)} shifted copies")


# --- Dropout before batch norm: the variance shift (Li et al., 2019) ----------------------------------


def variance_shift(p: float, mean: float, var: float) -> float:
    """Var at test time / Var batch norm learned in training, for an activation of ``mean`` and ``var``
    behind inverted dropout of rate p: (1 − p)·var / (var + p·mean²). 1 when p = 0; below 1 otherwise, so
    at test time the normalised activation has variance < 1 (the statistics came from noisier inputs)."""
    p = _check_rate("p", p)
    if p == 1.0:
        raise ValueError("p must be in [0, 1) for a variance shift: p = 1 drops everything")
    mean = validate.number("mean", mean)
    var = validate.number("var", var, low=0.0, low_open=True)
    return (1 - p) * var / (var + p * mean * mean)
