"""Loss functions and information-theory quantities written from elementary tensor operations.

The losses match ``torch.nn.functional`` (the tests check this) with ``reduction`` one of
"none" (one loss per example), "mean" or "sum"; like torch, the mean of no examples is NaN and
their sum is 0. Unlike torch, mismatched shapes raise instead of broadcasting silently.
Notation: ŷ = ``y_hat`` the prediction, y the target, d = ŷ − y, z a logit, p a probability.
"""

import math

import torch

from . import validate

REDUCTIONS = ("none", "mean", "sum")
_SUM_TOLERANCE = 1e-5  # how far a probability vector's sum may stray from 1

# ---------------------------------------------------------------- validation and helpers


def _check_reduction(reduction: str) -> None:
    if not (isinstance(reduction, str) and reduction in REDUCTIONS):
        raise ValueError(f"reduction must be one of {list(REDUCTIONS)}, got {reduction!r:.60}")


def _check_tensor(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__} (torch.tensor(...) makes one)")
    return value


def _check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    _check_tensor(name_a, a)
    _check_tensor(name_b, b)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def _check_positive(name: str, value: float) -> float:
    return validate.number(name, value, low=0.0, low_open=True)  # a bool or a string: TypeError; NaN: ValueError


def _check_probabilities(name: str, p: torch.Tensor) -> None:
    if not ((p >= 0) & (p <= 1)).all():  # also rejects NaN
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values outside")


def _check_distribution(name: str, p: torch.Tensor) -> None:
    """Each vector along the last dimension must be a probability distribution."""
    _check_probabilities(name, p)
    if p.numel() and not ((p.sum(dim=-1) - 1).abs() <= _SUM_TOLERANCE).all():
        raise ValueError(
            f"{name} must sum to 1 along the last dimension (tolerance {_SUM_TOLERANCE}), "
            f"got sums {p.sum(dim=-1)}"
        )


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()  # NaN for no examples, as in torch
    if reduction == "sum":
        return loss.sum()
    return loss


def _log_sigmoid(z: torch.Tensor) -> torch.Tensor:
    """log σ(z) = min(z, 0) − log(1 + e^(−|z|)): finite for every finite z."""
    return torch.clamp(z, max=0) - torch.log1p(torch.exp(-z.abs()))


def _log_softmax(z: torch.Tensor, dim: int) -> torch.Tensor:
    """log softmax(z) = (z − m) − log Σ e^(z − m), m = max z (log-sum-exp trick)."""
    if z.shape[dim] == 0:
        return torch.empty_like(z)
    shifted = z - z.amax(dim=dim, keepdim=True).detach()
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


# ---------------------------------------------------------------- regression losses


def l1_loss(y_hat: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """L1 = |ŷ − y| per element."""
    _check_reduction(reduction)
    _check_same_shape("y_hat", y_hat, "y", y)
    return _reduce((y_hat - y).abs(), reduction)


def mse_loss(y_hat: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """MSE = (ŷ − y)² per element (no ½: that is ``torch.nn.MSELoss``'s convention)."""
    _check_reduction(reduction)
    _check_same_shape("y_hat", y_hat, "y", y)
    return _reduce((y_hat - y) ** 2, reduction)


def huber_loss(
    y_hat: torch.Tensor, y: torch.Tensor, delta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Huber: ½ d² for |d| < δ, δ (|d| − ½ δ) otherwise — quadratic near 0, linear in the tails."""
    _check_reduction(reduction)
    _check_positive("delta", delta)
    _check_same_shape("y_hat", y_hat, "y", y)
    d = (y_hat - y).abs()
    return _reduce(torch.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta)), reduction)


def smooth_l1_loss(
    y_hat: torch.Tensor, y: torch.Tensor, beta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Smooth L1: ½ d² / β for |d| < β, |d| − ½ β otherwise. Equals Huber / δ when β = δ."""
    _check_reduction(reduction)
    _check_positive("beta", beta)
    _check_same_shape("y_hat", y_hat, "y", y)
    d = (y_hat - y).abs()
    return _reduce(torch.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta), reduction)


# ---------------------------------------------------------------- classification losses


def _check_class_indices(target: torch.Tensor, scores: torch.Tensor, name: str) -> None:
    """target (N, ...) of integer class indices in [0, C) for scores (N, C, ...)."""
    _check_tensor(name, scores)
    if _check_tensor("target", target).dtype == torch.bool or target.is_complex():
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    if scores.dim() < 2:
        raise ValueError(f"{name} must have shape (N, C, ...), got {tuple(scores.shape)}")
    expected = scores.shape[:1] + scores.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"target must have shape {tuple(expected)} for {name} of shape "
            f"{tuple(scores.shape)}, got {tuple(target.shape)}"
        )
    num_classes = scores.shape[1]
    if target.numel() and not ((target >= 0) & (target < num_classes)).all():
        raise ValueError(
            f"target class indices must be in [0, {num_classes - 1}], "
            f"got values from {target.min().item()} to {target.max().item()}"
        )


def nll_loss(
    log_probs: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """NLL = −log p̂[target]: pick each example's log-probability at its true class.

    ``log_probs`` (N, C, ...) holds log-probabilities (e.g. from log_softmax); ``target``
    (N, ...) holds integer class indices.
    """
    _check_reduction(reduction)
    _check_tensor("log_probs", log_probs)
    if _check_tensor("target", target).is_floating_point() or target.shape == log_probs.shape:
        raise ValueError(
            "target must hold integer class indices of shape (N,), not one-hot vectors or "
            f"probabilities (got dtype {target.dtype}, shape {tuple(target.shape)}): "
            "NLLLoss wants class indices — pass target.argmax(dim=1), or use cross_entropy "
            "with probability targets"
        )
    _check_class_indices(target, log_probs, "log_probs")
    picked = log_probs.gather(1, target.unsqueeze(1)).squeeze(1)  # log p̂[n, target[n]]
    return _reduce(-picked, reduction)


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy from logits: −Σ_c q_c log softmax(z)_c, i.e. log-softmax then NLL.

    ``logits`` (N, C, ...). ``target`` is either class indices (integer, (N, ...)), q being
    one-hot, or probabilities (float, same shape as logits). Label smoothing ε replaces q by
    (1 − ε) q + ε / C.
    """
    _check_reduction(reduction)
    label_smoothing = validate.number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    if _check_tensor("logits", logits).dim() < 2:
        raise ValueError(f"logits must have shape (N, C, ...), got {tuple(logits.shape)}")
    log_probs = _log_softmax(logits, dim=1)
    num_classes = logits.shape[1]
    if _check_tensor("target", target).is_floating_point():  # probability targets
        _check_same_shape("logits", logits, "target", target)
        q = (1 - label_smoothing) * target + label_smoothing / num_classes
        return _reduce(-(q * log_probs).sum(dim=1), reduction)
    _check_class_indices(target, logits, "logits")
    nll = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)  # −log p̂[target]
    uniform = -log_probs.mean(dim=1)  # −(1/C) Σ_c log p̂_c: cross-entropy with the uniform q
    return _reduce((1 - label_smoothing) * nll + label_smoothing * uniform, reduction)


def binary_cross_entropy(p: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BCE = −[y log p + (1 − y) log(1 − p)] on probabilities p.

    Each log is clamped at −100, exactly as torch does, so p = 0 or 1 gives a finite loss
    (at most 100) instead of inf — and a gradient instead of NaN.
    """
    _check_reduction(reduction)
    _check_same_shape("p", p, "y", y)
    _check_probabilities("p", p)
    log_p = torch.clamp(torch.log(p), min=-100)
    log_1mp = torch.clamp(torch.log(1 - p), min=-100)
    return _reduce(-(y * log_p + (1 - y) * log_1mp), reduction)


def binary_cross_entropy_with_logits(
    logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """BCE on logits z, p = σ(z): max(z, 0) − z y + log(1 + e^(−|z|)).

    The same value as ``binary_cross_entropy(sigmoid(z), y)``, but exp never overflows and
    σ(z) never rounds to exactly 0 or 1, so no clamping is needed.
    """
    _check_reduction(reduction)
    _check_same_shape("logits", logits, "y", y)
    z = logits
    return _reduce(torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs())), reduction)


def soft_margin_loss(x: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Soft margin = log(1 + e^(−y x)) for labels y ∈ {−1, 1}: a smooth hinge (logistic loss).

    Computed as −log σ(y x), which stays finite where torch's log1p(exp(·)) overflows to inf
    (−y x ≳ 88 in float32).
    """
    _check_reduction(reduction)
    _check_same_shape("x", x, "y", y)
    if not ((y == 1) | (y == -1)).all():
        raise ValueError("y must hold labels -1 or 1 for soft_margin_loss")
    return _reduce(-_log_sigmoid(y * x), reduction)


def multilabel_soft_margin_loss(
    x: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Multi-label: −(1/C) Σ_c [y_c log σ(x_c) + (1 − y_c) log σ(−x_c)] for x, y of shape (N, C).

    One binary cross-entropy per label, averaged over the C labels (the last dimension).
    """
    _check_reduction(reduction)
    _check_same_shape("x", x, "y", y)
    per_label = y * _log_sigmoid(x) + (1 - y) * _log_sigmoid(-x)
    return _reduce(-per_label.mean(dim=-1), reduction)


def multi_margin_loss(
    scores: torch.Tensor, target: torch.Tensor, margin: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Multi-class hinge: (1/C) Σ_{i ≠ y} max(0, margin − s_y + s_i) for scores s (N, C), class y.

    Zero, with zero gradient, once the true class's score beats every other by at least ``margin``;
    cross-entropy, in contrast, keeps pushing. Equals ``torch.nn.MultiMarginLoss`` (p = 1, no weights).
    """
    _check_reduction(reduction)
    margin = validate.number("margin", margin, low=0.0)
    if _check_tensor("scores", scores).dim() != 2:
        raise ValueError(f"scores must have shape (N, C), got {tuple(scores.shape)}")
    if _check_tensor("target", target).is_floating_point():
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
    _check_class_indices(target, scores, "scores")
    true_score = scores.gather(1, target.unsqueeze(1))  # s_y, (N, 1)
    hinge = torch.clamp(margin - true_score + scores, min=0)  # (N, C); the i = y term is max(0, margin)
    hinge = hinge.scatter(1, target.unsqueeze(1), 0.0)  # drop i = y
    return _reduce(hinge.sum(dim=1) / scores.shape[1], reduction)


# ---------------------------------------------------------------- information theory


def entropy(p: torch.Tensor) -> torch.Tensor:
    """H(p) = −Σᵢ pᵢ log pᵢ in nats, along the last dimension, with 0 · log 0 = 0."""
    _check_distribution("p", _check_tensor("p", p))
    return -torch.xlogy(p, p).sum(dim=-1)  # xlogy(0, 0) = 0, with a finite gradient


def cross_entropy_of(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """H(p, q) = −Σᵢ pᵢ log qᵢ in nats, along the last dimension: inf if qᵢ = 0 where pᵢ > 0."""
    _check_same_shape("p", p, "q", q)
    _check_distribution("p", p)
    _check_distribution("q", q)
    return -torch.xlogy(p, q).sum(dim=-1)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) = Σᵢ pᵢ log(pᵢ / qᵢ) = H(p, q) − H(p) ≥ 0; terms with pᵢ = 0 count 0."""
    _check_same_shape("p", p, "q", q)
    _check_distribution("p", p)
    _check_distribution("q", q)
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)


def negative_log_likelihood_coin(theta: torch.Tensor, heads: int, flips: int) -> torch.Tensor:
    """−log L(θ) = −[h log θ + (n − h) log(1 − θ)] for h heads in n flips; minimal at θ = h / n."""
    flips = validate.integer("flips", flips, low=0)  # a bool is not a count: True is refused, not taken as 1
    heads = validate.integer("heads", heads)
    if not 0 <= heads <= flips:
        raise ValueError(f"heads must be an integer in [0, flips] = [0, {flips}], got {heads}")
    if not isinstance(theta, torch.Tensor):
        theta = validate.number("theta", theta) if not isinstance(theta, list | tuple) else validate.numbers_of(
            "theta", theta, min_count=0)
    elif theta.dtype == torch.bool:
        raise TypeError("theta must hold probabilities, got a bool tensor")
    theta = torch.as_tensor(theta)
    if not ((theta > 0) & (theta < 1)).all():
        raise ValueError("theta must hold probabilities in (0, 1), got values outside")
    return -(heads * torch.log(theta) + (flips - heads) * torch.log1p(-theta))


# ---------------------------------------------------------------- losses as likelihoods, weighted losses
# (notebook 02b) MSE and L1 are the negative log-likelihoods of Gaussian and Laplace noise; the losses with
# class weights, pos_weight and ignore_index follow torch's conventions, including what "mean" divides by.

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _check_scale(name: str, value, like: torch.Tensor, *, allow_zero: bool) -> torch.Tensor:
    """A variance or scale: a number, or a tensor of ``like``'s shape, finite and ≥ 0 (> 0 unless allow_zero).

    A 0-d tensor is one number for every element, and keeps its gradient (a learnable σ², say)."""
    if not isinstance(value, torch.Tensor):
        value = validate.number(name, value, low=0.0, low_open=not allow_zero)
        return torch.full_like(like, value)
    if value.dtype == torch.bool or not value.is_floating_point():
        raise TypeError(f"{name} must be a number or a floating-point tensor, got dtype {value.dtype}")
    if value.dim() == 0:
        validate.number(name, value, low=0.0, low_open=not allow_zero)  # the checks only: the tensor is kept
        return value.expand_as(like)
    if value.shape != like.shape:
        raise ValueError(f"{name} must be a number or have y_hat's shape {tuple(like.shape)}, "
                         f"got {tuple(value.shape)}")
    if not (value >= 0 if allow_zero else value > 0).all():  # also refuses NaN
        raise ValueError(f"{name} must hold values {'>=' if allow_zero else '>'} 0, got values outside")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} must be finite, got inf")
    return value


def gaussian_nll_loss(y_hat: torch.Tensor, y: torch.Tensor, var, *, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> torch.Tensor:
    """−log N(y; ŷ, σ²) = ½ (log σ² + (y − ŷ)² / σ²) [+ ½ log 2π when ``full``], as ``F.gaussian_nll_loss``.

    ``var`` is the VARIANCE σ² (not the std): a number or a tensor of ``y_hat``'s shape, ≥ 0. Like torch, it is
    clamped to at least ``eps`` in the value only (the gradient passes as if unclamped), and ``full=False`` drops
    the constant ½ log 2π. With σ² = 1 it is ½ (ŷ − y)² + const: MSE is a Gaussian likelihood.
    """
    _check_reduction(reduction)
    full = validate.flag("full", full)
    eps = _check_positive("eps", eps)
    _check_same_shape("y_hat", y_hat, "y", y)
    var = _check_scale("var", var, y_hat, allow_zero=True)
    var = var + (var.clamp(min=eps) - var).detach()  # the value clamped, the gradient untouched (torch's no_grad clamp)
    loss = 0.5 * (torch.log(var) + (y - y_hat) ** 2 / var)
    if full:
        loss = loss + _HALF_LOG_2PI
    return _reduce(loss, reduction)


def laplace_nll(y_hat: torch.Tensor, y: torch.Tensor, b, *, reduction: str = "mean") -> torch.Tensor:
    """−log Laplace(y; ŷ, b) = |y − ŷ| / b + log 2b, the full negative log-likelihood.

    ``b`` is the scale (> 0; the std is √2·b): a number or a tensor of ``y_hat``'s shape. Equals
    ``−torch.distributions.Laplace(ŷ, b).log_prob(y)``; with b = 1 it is |ŷ − y| + log 2: L1 is a Laplace likelihood.
    """
    _check_reduction(reduction)
    _check_same_shape("y_hat", y_hat, "y", y)
    b = _check_scale("b", b, y_hat, allow_zero=False)
    return _reduce((y - y_hat).abs() / b + torch.log(2 * b), reduction)


def weighted_cross_entropy(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None, *,
                           ignore_index: int = -100, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy with class weights and ignored targets, as ``F.cross_entropy(..., weight=, ignore_index=)``.

    ℓₙ = −w[yₙ] · log softmax(zₙ)[yₙ], and ℓₙ = 0 where yₙ = ``ignore_index`` (an unlabelled example).
    ``reduction="mean"`` returns Σₙ ℓₙ / Σₙ w[yₙ], the sums over the targets not ignored: a weighted average,
    NOT Σₙ ℓₙ / N. ``logits`` (N, C, ...), ``target`` (N, ...) class indices, ``weight`` (C,) ≥ 0 or None (all 1).
    """
    _check_reduction(reduction)
    ignore_index = validate.integer("ignore_index", ignore_index)
    if _check_tensor("logits", logits).dim() < 2:
        raise ValueError(f"logits must have shape (N, C, ...), got {tuple(logits.shape)}")
    if _check_tensor("target", target).is_floating_point() or target.dtype == torch.bool or target.is_complex():
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype} "
                        "(for probability targets use cross_entropy)")
    num_classes = logits.shape[1]
    if weight is not None:
        if _check_tensor("weight", weight).shape != (num_classes,) or not weight.is_floating_point():
            raise ValueError(f"weight must be a floating-point tensor of shape ({num_classes},), one weight per "
                             f"class, got dtype {weight.dtype} and shape {tuple(weight.shape)}")
        if not (torch.isfinite(weight) & (weight >= 0)).all():
            raise ValueError("weight must hold finite weights >= 0")
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))  # any valid class where ignored: its loss is zeroed
    _check_class_indices(safe, logits, "logits")  # (the ignored ones are 0 here, so only real targets are checked)
    nll = -_log_softmax(logits, dim=1).gather(1, safe.unsqueeze(1)).squeeze(1)  # −log p̂[yₙ]
    w = torch.ones_like(nll) if weight is None else weight.to(nll.dtype)[safe]  # w[yₙ]
    w = torch.where(kept, w, torch.zeros_like(w))
    loss = torch.where(kept, w * nll, torch.zeros_like(nll))
    if reduction == "mean":
        return loss.sum() / w.sum()  # Σ w[yₙ] ℓₙ / Σ w[yₙ]; 0 / 0 = NaN when every target is ignored, as in torch
    return _reduce(loss, reduction)


def weighted_binary_cross_entropy_with_logits(logits: torch.Tensor, y: torch.Tensor, pos_weight=None, *,
                                              reduction: str = "mean") -> torch.Tensor:
    """BCE on logits with the positive term weighted, as ``F.binary_cross_entropy_with_logits(..., pos_weight=)``.

    ℓ = −[w₊ · y · log σ(z) + (1 − y) · log(1 − σ(z))], w₊ = ``pos_weight``: a number ≥ 0, or a tensor with one
    weight per label (the last dimension), or None (1: the plain loss). ``"mean"`` divides by the number of
    elements N, not by the weights. w₊ = n_negative / n_positive makes both classes weigh the same in total.
    """
    _check_reduction(reduction)
    _check_same_shape("logits", logits, "y", y)
    if pos_weight is None:
        pos_weight = 1.0
    if isinstance(pos_weight, torch.Tensor) and pos_weight.dim() > 0:
        labels = logits.shape[-1:] if logits.dim() else ()
        if pos_weight.shape != labels or not pos_weight.is_floating_point():
            raise ValueError(f"pos_weight must be a number or a floating-point tensor of shape {tuple(labels)}, "
                             f"one weight per label, got dtype {pos_weight.dtype} and shape {tuple(pos_weight.shape)}")
        if not (torch.isfinite(pos_weight) & (pos_weight >= 0)).all():
            raise ValueError("pos_weight must hold finite weights >= 0")
    else:
        pos_weight = validate.number("pos_weight", pos_weight, low=0.0)
    # log σ(z) and log(1 − σ(z)) = log σ(−z), both finite for every finite z
    return _reduce(-(pos_weight * y * _log_sigmoid(logits) + (1 - y) * _log_sigmoid(-logits)), reduction)
