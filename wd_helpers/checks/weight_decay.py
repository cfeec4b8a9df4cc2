"""Checkers for the weight-decay notebook (04)."""

import math
import numbers

import torch

from ..device import on_course_device
from ..regularizers import l1_penalty, l2_penalty
from ..train import History
from ._report import _agrees, _call, _number, _probe_tensors, _report, checker


def _as_scalar(result):
    """(float, None) for a number or a 0-d tensor/array; else (None, "bool" | "not scalar" | "not a number")."""
    if isinstance(result, bool) or (isinstance(result, torch.Tensor) and result.dtype == torch.bool):
        return None, "bool"
    if isinstance(result, numbers.Real):
        return float(result), None
    shape = getattr(result, "shape", None)
    if shape is None or not isinstance(result, torch.Tensor | numbers.Number) and not hasattr(result, "dtype"):
        return None, "not a number"
    if len(shape) != 0:
        return None, "not scalar"
    try:
        return float(result.detach() if isinstance(result, torch.Tensor) else result), None
    except (TypeError, ValueError, RuntimeError):
        return None, "not a number"


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)


def _penalty_value(result, W: torch.Tensor, what: str, name: str = "W"):
    """The learner's penalty as a float: (value, None), or (None, a hint naming what is wrong with its type or shape)."""
    value, problem = _as_scalar(result)
    if problem == "bool":
        return None, f"{what} returned {result!r}, a truth value: return a number"
    if problem == "not a number":
        return None, f"{what} should return a number (a 0-d tensor or a float), got {type(result).__name__}"
    if problem == "not scalar":
        shape = tuple(result.shape)
        if shape == tuple(W.shape):
            return None, (f"{what} returned one value per entry, shape {shape}: return a single number,"
                          " the sum over all entries")
        return None, f"return a single number: sum over all entries (got a result of shape {shape})"
    if not math.isfinite(value):
        return None, f"{what} returned {value} for a finite {name}"
    return value, None


@checker
@on_course_device
def check_l1_penalty(fn) -> bool:
    """Exercise: write ``l1(w)`` = Σ|wᵢ| (a scalar tensor that autograd can differentiate)."""
    if not callable(fn):
        return _report(False, f"pass your function itself (my_l1), got {type(fn).__name__}")
    for w in _probe_tensors():
        w = w.clone().requires_grad_()
        result, problem = _call(fn, w)
        if problem:
            return _report(False, problem)
        value, problem = _penalty_value(result, w, "your function", "w")
        if problem:
            return _report(False, problem)
        plain = w.detach()
        expected = l1_penalty(plain).item()
        if not _close(value, expected):
            named = [
                (-expected, "the sign is flipped: a penalty is added to the loss, so it must be >= 0"),
                (plain.norm().item(), "that is the L2 norm ‖w‖₂; L1 sums absolute values"),
                (l2_penalty(plain).item(), "that is ½‖w‖², the L2 penalty; L1 sums absolute values"),
                ((plain**2).sum().item(), "that is ‖w‖², the squared L2 norm; L1 sums absolute values"),
                (plain.sum().item(), "you forgot the absolute value: Σwᵢ lets negative weights cancel positive ones"),
                (plain.abs().mean().item(), "that is the mean of |wᵢ|: the L1 norm is the sum, not the mean"),
                (plain.abs().max().item(), "that is the largest |wᵢ| (the ∞-norm); L1 sums all of them"),
                (float((plain != 0).sum()), "that counts the non-zero entries (torch.norm(w, p=0), the \"0-norm\"): it is"
                                            " not L1 and passes no gradient; use p=1 or w.abs().sum()"),
            ]
            if plain.dim() == 2:
                named.append((plain.abs().sum(0).max().item(),
                              "for a matrix, torch.linalg.norm(W, ord=1) is the largest column sum, not Σ|wᵢⱼ|:"
                              " use w.abs().sum() or torch.linalg.vector_norm(w, ord=1)"))
            for wrong, hint in named:
                if expected and _close(value, wrong):
                    return _report(False, hint)
            shown = [round(x, 3) for x in plain.flatten().tolist()]
            return _report(False, f"for w = {shown} (shape {tuple(plain.shape)}) expected {expected:.4g}, got {value:.4g}")
        if not isinstance(result, torch.Tensor) or not result.requires_grad:
            return _report(False, "the value is right but detached from w (a Python number, .item() or torch.tensor(...)):"
                                  " autograd cannot differentiate it; keep it a tensor, e.g. w.abs().sum()")
        try:
            (grad,) = torch.autograd.grad(result.sum(), w, allow_unused=True)
        except RuntimeError as error:
            return _report(False, f"autograd could not differentiate your result: {error}")
        if grad is None:
            return _report(False, "the result does not depend on w through autograd: compute it from w with torch operations")
        if not torch.isfinite(grad).all():
            return _report(False, "the value is right, but its gradient at a zero weight is NaN (sqrt(w**2) divides 0 by 0):"
                                  " use w.abs()")
        nonzero = plain != 0
        if not torch.allclose(grad[nonzero], torch.sign(plain[nonzero]), atol=1e-5):
            return _report(False, "the value is right but its gradient is not sign(w): compute it as w.abs().sum()")
    return _report(True, "‖w‖₁ = Σ|wᵢ|, and its gradient is sign(w)")


@checker
@on_course_device
def check_frobenius_penalty(fn) -> bool:
    """Exercise: write ``frobenius_penalty(W)`` = ½‖W‖_F² = ½ Σᵢⱼ Wᵢⱼ² for a weight matrix.

    Probed with 2-D matrices only (so matrix_norm, trace(WᵀW) and einsum("ij,ij->") forms work), each with
    requires_grad: the result must be a tensor that autograd can differentiate, with gradient W.
    """
    if not callable(fn):
        return _report(False, f"pass your function itself (frobenius_penalty), got {type(fn).__name__}")
    for W in _probe_matrices():
        W_in = W.clone().requires_grad_()
        result, problem = _call(fn, W_in)
        if problem:
            return _report(False, problem)
        value, problem = _penalty_value(result, W, "your function")
        if problem:
            return _report(False, problem)
        expected = l2_penalty(W).item()
        if _close(value, expected):
            if not isinstance(result, torch.Tensor) or not result.requires_grad:
                return _report(False, "the value is right but detached from W (a Python number, .item() or"
                                      " torch.tensor(...)): autograd cannot differentiate it, so it would regularise"
                                      " nothing; keep it a tensor, e.g. (W ** 2).sum() / 2")
            try:
                (grad,) = torch.autograd.grad(result.sum(), W_in, allow_unused=True)
            except RuntimeError as error:
                return _report(False, f"autograd could not differentiate your result: {error}")
            if grad is None or not torch.allclose(grad, W, atol=1e-5):
                return _report(False, "the value is right but its gradient is not W: compute it from W with torch"
                                      " operations, e.g. (W ** 2).sum() / 2")
            continue
        named = [
            (-expected, "the sign is flipped: a penalty is added to the loss, so it must be >= 0 (½ Σ Wᵢⱼ², no minus)"),
            (2 * expected, "you forgot the ½ (its gradient should be W, not 2W)"),
            (math.sqrt(2 * expected), "that is ‖W‖_F, the unsquared norm: square it and halve it"),
            (math.sqrt(2 * expected) / 2, "that is ½‖W‖_F, the unsquared norm halved: square the norm first"),
            (expected / W.numel(), "you took the mean of the squares: the penalty sums over all entries (½ Σ Wᵢⱼ²)"),
            (2 * expected / W.numel(), "you took the mean of the squares: the penalty sums over all entries (½ Σ Wᵢⱼ²)"),
            (W.sum().item() / 2, "you forgot to square the entries: ½ Σ Wᵢⱼ², not ½ Σ Wᵢⱼ"),
            (W.abs().sum().item() / 2, "that is ½ Σ|Wᵢⱼ| (L1); square the entries instead"),
            (W.abs().sum().item(), "that is Σ|Wᵢⱼ| (L1); the Frobenius penalty squares the entries: ½ Σ Wᵢⱼ²"),
        ]
        if W.dim() == 2:
            spectral = torch.linalg.matrix_norm(W, ord=2).item()
            named += [(spectral**2 / 2, "that uses the spectral norm (ord=2 on a matrix is the largest singular value):"
                                        " the Frobenius norm is torch.linalg.norm(W) with no ord, or sum every W²"),
                      (spectral**2, "that uses the spectral norm (ord=2 on a matrix is the largest singular value):"
                                    " the Frobenius norm is torch.linalg.norm(W) with no ord, or sum every W²")]
        for wrong, hint in named:
            if expected and _close(value, wrong):
                return _report(False, hint)
        return _report(False, f"for a {tuple(W.shape)} matrix W expected ½ Σ Wᵢⱼ² = {expected:.4g}, got {value:.4g}")
    return _report(True, "½‖W‖_F² is the matrix version of ½‖w‖²: sum every squared entry")


def _probe_matrices():
    """2-D probes for the Frobenius checker: a weight matrix has rows and columns."""
    generator = torch.Generator().manual_seed(1234)
    return [torch.randn(shape, generator=generator) for shape in ((3, 4), (1, 5), (6, 2))] + [
        torch.zeros(2, 3), torch.tensor([[-2.0, 0.0], [3.5, 1.0]])
    ]


def _lambda_of(answer, histories):
    """The History among ``histories`` whose λ the learner's answer agrees with (as typed), or None."""
    return next((h for h in histories if _agrees(answer, h.lambd)), None)


@checker
@on_course_device
def check_best_lambda(answer, histories: list[History], *, test_histories: list[History] | None = None) -> bool:
    """Exercise: from a sweep on validation data, pick the λ with the lowest final validation loss.

    ``histories`` is the sweep on validation data (its ``test_loss`` is the validation loss); the optional
    ``test_histories`` (the same λ values on the test set) lets the checker name the choice made on test data.
    An answer typed as printed (0.316 for 10**-0.5) is accepted.
    """
    if isinstance(answer, History):
        return _report(False, "you passed a whole History: take its .lambd, e.g. min(on_validation, key=...).lambd")
    if isinstance(answer, (list, tuple)) and answer and all(isinstance(h, History) for h in answer):
        return _report(False, "you passed the whole sweep: pick one History from it and take its .lambd")
    value, problem = _number(answer, "set best_lambda to a value from the sweep")
    if problem:
        return _report(False, problem)
    finished = [h for h in histories if not h.diverged]
    best = min(finished, key=lambda h: h.final_test_loss)
    if _agrees(answer, best.lambd):
        return _report(True, f"λ = {best.lambd:.3g} has the lowest validation loss ({best.final_test_loss:.3g})")
    chosen = _lambda_of(answer, histories)
    if chosen is None:
        one_digit = float(f"{best.lambd:.1g}")
        if best.lambd and math.isclose(value, one_digit, rel_tol=1e-9):
            return _report(False, f"close: the best λ is {best.lambd:.3g}; type it with at least 2 significant digits"
                                  " as printed (or use the History's .lambd)")
        if float(value).is_integer() and 0 <= value < len(histories) and histories[int(value)] is best:
            return _report(False, f"{int(value)} is the position of the best run in the list: answer with its λ,"
                                  f" on_validation[{int(value)}].lambd")
        return _report(False, f"{answer!r} is not one of the swept values; choose one of "
                              + ", ".join(f"{h.lambd:.3g}" for h in histories))
    if chosen.lambd == 0:
        return _report(False, f"λ = 0 is no decay at all: validation loss {chosen.final_test_loss:.3g}, the model"
                              " memorises; choose the λ with the smallest final validation loss (.final_test_loss)")
    by_train = min(finished, key=lambda h: h.final_train_loss)
    if chosen is by_train:
        return _report(False, f"λ = {chosen.lambd:.3g} has the lowest TRAIN loss: the training loss rewards fitting the"
                              " training data, not predicting new data; choose by the validation loss"
                              " (.final_test_loss here)")
    by_curve_minimum = min(finished, key=lambda h: min(h.test_loss))
    if chosen is by_curve_minimum:
        return _report(False, f"λ = {chosen.lambd:.3g} has the lowest validation loss at some epoch, not at the end:"
                              " compare the final validation losses (.final_test_loss)")
    if test_histories:
        test_finished = [h for h in test_histories if not h.diverged]
        if test_finished and math.isclose(min(test_finished, key=lambda h: h.final_test_loss).lambd, chosen.lambd,
                                          rel_tol=1e-9):
            return _report(False, f"λ = {chosen.lambd:.3g} has the lowest TEST loss: choosing on the test set leaks"
                                  " it into the model; choose on the validation sweep")
    if chosen.diverged:
        return _report(False, f"λ = {chosen.lambd:.3g} diverged; look for the smallest final validation loss")
    return _report(
        False, f"λ = {chosen.lambd:.3g} gives validation loss {chosen.final_test_loss:.3g}; "
        "look for the smallest final validation loss (min over the sweep, not the train loss)"
    )


@checker
@on_course_device
def check_norm_limit(answer) -> bool:
    """Exercise: as λ → ∞ (with a stable step size), what does ‖w‖ tend to?"""
    if isinstance(answer, (int, float)) and not isinstance(answer, bool) and math.isinf(answer):
        return _report(False, "with a step size small enough to be stable, w does not blow up: the decay shrinks it")
    value, problem = _number(answer, "set norm_limit to a number")
    if problem:
        return _report(False, problem)
    if value == 0.0:
        return _report(True, "every step multiplies w by (1 − ηλ), so the penalty wins and w → 0")
    if value < 0:
        return _report(False, "a norm is never negative")
    if value < 1e-6:  # 1e-9, 1e-300: the learner means 0
        return _report(True, "that is 0 for all purposes, and the limit is exactly 0: every step multiplies w by"
                             " (1 − ηλ), so the penalty wins and w → 0")
    if value < 0.05:
        return _report(False, "that is ‖w‖ at a large but finite λ (the sweep's right end); the limit as λ keeps"
                              " growing is the value those numbers approach")
    if math.isclose(value, math.sqrt(200 * 0.01**2), rel_tol=0.02):
        return _report(False, "that is ‖w*‖, the norm of the true weights: the penalty does not know them;"
                              " when λ dominates, it pulls w towards 0, not towards w*")
    if 12 <= value <= 16:
        return _report(False, "that is about ‖w‖ with λ = 0 (the untouched part of w0); as λ grows the decay wins")
    return _report(False, "think of the update w ← (1 − ηλ) w − η∇L when λ dominates the data term")
