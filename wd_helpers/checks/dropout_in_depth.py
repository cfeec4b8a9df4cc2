"""Checkers for notebook 05b (dropout in depth): the MC-dropout prediction, the penalty dropout puts on a
linear model's weights, and the noise level of Gaussian dropout.

``check_mc_predict`` runs the learner's function on a small network of its own, with torch's global generator
forked and seeded (``nn.Dropout`` draws its masks there): the verdict never depends on luck, and the learner's
random state is left as it was. Its tolerance is set by the Monte-Carlo error of the number of passes asked for.
"""

import functools

import torch

from ..device import on_course_device
from ..models import MLP
from ._report import _agrees, _as_fraction, _call, _number, _report, _tensor, checker

# --- check_mc_predict -----------------------------------------------------------------------------

MC_PASSES = 200  # the passes the checker asks the learner's function for
REFERENCE_PASSES = 1000  # the checker's own estimate of the MC-dropout prediction
# Mean total-variation distance (½ Σ_c |p_c − q_c|, averaged over the probe inputs) accepted between the
# learner's 200-pass average and the reference. Measured: 200-pass averages drawn with other masks lie 0.02 to
# 0.04 from it (tests/test_checks_dropout_in_depth.py, 20 seeds); the wrong answers lie far beyond: averaged
# logits and eval mode about 0.19, one pass about 0.4.
MC_TOLERANCE = 0.07
_GLOBAL_SEED = 50_500  # the global generator's seed while the learner's code runs
_PROBE_SHAPE = (150, 16)  # probe inputs: 150 examples of 16 features


def _probe_model() -> MLP:
    """A fresh small network with nn.Dropout (masks from torch's global generator), in eval mode.

    Weights 3× PyTorch's default init, so that the logits are large and dropout moves them far: averaging
    probabilities and averaging logits then give measurably different predictions.
    """
    model = MLP(16, 48, 48, 4, dropout1=0.3, dropout2=0.5, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        for layer in (model.lin1, model.lin2, model.lin3):
            layer.weight.mul_(3.0)
    return model.eval()


def _probe_inputs() -> torch.Tensor:
    return torch.randn(_PROBE_SHAPE, generator=torch.Generator().manual_seed(12))


@functools.cache
def _references() -> dict[str, torch.Tensor]:
    """The MC-dropout prediction (mean of probabilities), the softmax of the mean logits, and the eval-mode
    prediction of the probe network, float64 (n, C); computed once, from the same REFERENCE_PASSES passes."""
    model, X = _probe_model(), _probe_inputs()
    probs, logits = 0.0, 0.0
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model.train()
        for _ in range(REFERENCE_PASSES):
            z = model(X).double()  # (n, C): one thinned network's logits
            probs, logits = probs + torch.softmax(z, dim=1), logits + z
        model.eval()
        eval_probs = torch.softmax(model(X).double(), dim=1)
    return {"mc": probs / REFERENCE_PASSES, "mean logits": torch.softmax(logits / REFERENCE_PASSES, dim=1),
            "eval": eval_probs}


def _distance(P: torch.Tensor, Q: torch.Tensor) -> float:
    """Mean total-variation distance between the rows of two (n, C) probability tables."""
    return 0.5 * (P - Q).abs().sum(1).mean().item()


def _run_mc(fn, num_passes: int):
    """(result, model after the call, problem): the learner's function on a fresh probe network, seeded."""
    model = _probe_model()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_GLOBAL_SEED)
        result, problem = _call(fn, model, _probe_inputs(), num_passes)
    if isinstance(result, torch.Tensor):
        result = result.detach()
    return result, model, problem


@checker
@on_course_device
def check_mc_predict(fn) -> bool:
    """Exercise: ``mc_predict(model, X, num_passes)``: the MC-dropout prediction, the average over
    ``num_passes`` forward passes with dropout on (``model.train()``) of the softmax probabilities, (n, C);
    the model is handed back in the mode it came in (eval).

    Accepted: any way of averaging the per-pass probabilities (a stack and ``.mean(0)``, a running sum,
    ``noise.mc_dropout_probs``). Refused, with the mistake named: eval mode (dropout off), num_passes ignored
    (one pass, a fixed number of passes, one mask reused), the passes' logits averaged before the softmax (a
    different ensemble), votes (argmax) counted, a (T, n, C) stack not averaged, and the model left in training
    mode afterwards (notebook 05's pitfall 1).
    """
    result, model, problem = _run_mc(fn, MC_PASSES)
    if problem:
        return _report(False, problem)
    n, C = len(_probe_inputs()), 4
    shape = tuple(getattr(result, "shape", ()))
    if shape == (MC_PASSES, n, C):
        return _report(False, f"you returned all {MC_PASSES} passes, shape {shape}: average them over the first "
                              f"dimension (.mean(0)) to get one prediction per input, ({n}, {C})")
    if shape == (n,):
        return _report(False, f"return the class probabilities, shape ({n}, {C}), not one value per input "
                              "(the predicted class is their argmax)")
    P, problem = _tensor(result, (n, C), "the prediction")
    if problem:
        return _report(False, problem)
    if not torch.isfinite(P).all():
        return _report(False, "the prediction holds inf or NaN")
    ref = _references()
    if torch.allclose(P, ref["eval"], atol=1e-6):
        return _report(False, "that is the eval-mode prediction: with dropout off every pass is the same network. "
                              "Switch dropout on deliberately (model.train()) for the passes, then back (model.eval())")
    if (P < -1e-6).any() or not torch.allclose(P.sum(1), torch.ones(n, dtype=P.dtype), atol=1e-4):
        return _report(False, "each row must be probabilities that sum to 1: take the softmax of each pass's logits, "
                              "then average the probabilities over the passes")
    # Counted votes are multiples of 1/MC_PASSES: atol 1e-4, not 1e-6, since in float32 k/200 · 200 misses k by
    # up to ~2e-5 (k ≤ 200); a real average of probabilities is nowhere near such a grid on all 600 entries.
    if ((P * MC_PASSES - (P * MC_PASSES).round()).abs() < 1e-4).all() and (P == 0).any():
        return _report(False, "you counted votes (the argmax of each pass): average the probabilities themselves, "
                              "which keep how sure each pass was")
    # The same answer for 1 and for 200 passes (same seed): one pass, a fixed number of passes, or one mask reused;
    # the checker cannot tell these apart, only that num_passes is not used. A right function never does this.
    one, _, _ = _run_mc(fn, 1)
    one, _ = _tensor(one, (n, C), "")
    distance = _distance(P, ref["mc"])
    if one is not None and torch.allclose(P, one, atol=1e-6):
        return _report(False, f"your result does not change with num_passes (the same for {MC_PASSES} passes as for "
                              "one): loop num_passes times, with a new mask each time (do not re-seed inside the "
                              "loop), and average the passes")
    if distance <= MC_TOLERANCE:
        if model.training:
            return _report(False, "the prediction is right, but your function left the model in training mode: "
                                  "every later evaluation would be noisy by accident (notebook 05, pitfall 1). "
                                  "Call model.eval() before returning")
        return _report(True, f"the mean of {MC_PASSES} dropout passes' probabilities, {distance:.3f} from the checker's "
                             f"{REFERENCE_PASSES}-pass estimate (Monte-Carlo error), and the model back in eval mode")
    if _distance(P, ref["mean logits"]) <= MC_TOLERANCE:
        return _report(False, "you averaged the logits and then took one softmax: that is a different ensemble "
                              "(a normalised geometric mean of the passes' distributions), more confident than the "
                              "mean of their probabilities, which is the predictive distribution MC dropout "
                              "estimates: softmax each pass, then average")
    return _report(False, f"your prediction is {distance:.3f} from the MC-dropout average (a total-variation "
                          f"distance; at most {MC_TOLERANCE} expected with {MC_PASSES} passes): average softmax(model(X)) "
                          "over num_passes passes in training mode")


def _named_mistake(answer, mistakes) -> str | None:
    """The hint of the mistake the answer equals, else of the first one it rounds to (as far as the digits typed
    go): 0.2 is the mistake 0.2 itself before it is a rounding of 0.25."""
    for min_significant in (99, 1):  # 99: exact values only (_agrees' rel_tol), then any rounding
        for wrong, hint in mistakes:
            if _agrees(answer, wrong, min_significant=min_significant):
                return hint
    return None


# --- check_dropout_penalty --------------------------------------------------------------------------

PENALTY_P = 0.2  # dropout rate on the inputs
PENALTY_ENERGIES = (2.0, 0.5)  # mean_i x_ij² of the two features
PENALTY_WEIGHTS = (1.0, 3.0)


def _penalty(rate_factor, energy_power=1, weight_power=2) -> float:
    return rate_factor * sum(e**energy_power * w**weight_power for e, w in zip(PENALTY_ENERGIES, PENALTY_WEIGHTS))


_P = PENALTY_P
PENALTY_ANSWER = _penalty(_P / (1 - _P))  # 0.25 · (2 · 1 + 0.5 · 9) = 1.625
_PENALTY_MISTAKES = [  # (value, hint naming the mistake); every value differs from the others and the answer
    (_penalty(_P), "that uses p where the factor is p/(1 − p): the survivors are divided by 1 − p, which "
                   "scales the variance by 1/(1 − p)² against the Bernoulli variance p(1 − p)"),
    (_penalty(_P * (1 - _P)), "that is the penalty of vanilla dropout (no 1/(1 − p)), variance p(1 − p); "
                              "inverted dropout's factor x/(1 − p) has variance p/(1 − p)·x²"),
    (_penalty(_P / (1 - _P) ** 2), "one 1/(1 − p) too many: Var[m/(1 − p)] = p(1 − p)/(1 − p)² = p/(1 − p)"),
    (_penalty((1 - _P) / _P), "p and 1 − p are swapped: the factor is p/(1 − p), small for light dropout"),
    (_penalty(_P / (1 - _P), weight_power=1), "square the weights: the term is Var[Σ_j x̃_j w_j] = Σ_j w_j²·Var[x̃_j]"),
    (_penalty(_P / (1 - _P), energy_power=0), "that is a plain L2 penalty, the same for every weight: each "
                                              "w_j² is weighted by its feature's energy mean_i x_ij²"),
    (_penalty(_P / (1 - _P), energy_power=2), "the energies enter once, not squared: Var[x̃_j] = p/(1 − p)·x_j²"),
    (_penalty(_P / (1 - _P)) / 2, "no ½ here: the variance term of E[(y − ŷ)²] adds whole"),
]


@checker
def check_dropout_penalty(answer) -> bool:
    """Exercise: inverted dropout with p = PENALTY_P on the two inputs of a linear model with weights
    PENALTY_WEIGHTS, whose features have mean squares PENALTY_ENERGIES: what does the mask-averaged mean
    squared error add to the plain one? p/(1 − p)·Σ_j mean_i x_ij²·w_j² = 1.625; a rounding to 2 or more
    significant digits (1.63, 1.62) or a fraction typed as text ("13/8") is accepted, the common mistakes are
    named; a rounding that is also a mistake's (1.6: 1.5625 rounds to it too) asks for three digits."""
    answer = _as_fraction(answer)
    value, problem = _number(answer, "not answered yet: answer with one number")
    if problem:
        return _report(False, problem)
    if _agrees(answer, PENALTY_ANSWER) and _named_mistake(answer, _PENALTY_MISTAKES):
        return _report(False, f"{value:g} is a rounding of the answer, but also of a common mistake: give three "
                              "significant digits (1.62 or 1.63)")
    if _agrees(answer, PENALTY_ANSWER):
        return _report(True, f"p/(1 − p)·Σ_j mean(x_j²)·w_j² = 0.25 · (2 · 1 + 0.5 · 9) = {PENALTY_ANSWER:g}: "
                             "λ = (0.5, 0.125), so the larger weight, on the weaker feature, pays 0.125 · 9 = 1.125")
    hint = _named_mistake(answer, _PENALTY_MISTAKES)
    if hint:
        return _report(False, hint)
    return _report(False, f"{value:g} is not it: write E[(y − x̃·w)²] = (y − x·w)² + Var[x̃·w] and use "
                          "Var[x̃_j] = p/(1 − p)·x_j² for each feature")


# --- check_gaussian_std -------------------------------------------------------------------------------

GAUSSIAN_P = 0.2
GAUSSIAN_ANSWER = (GAUSSIAN_P / (1 - GAUSSIAN_P)) ** 0.5  # 0.5
_G = GAUSSIAN_P
_GAUSSIAN_MISTAKES = [
    (_G / (1 - _G), "that is the variance p/(1 − p); the standard deviation is its square root"),
    ((_G * (1 - _G)) ** 0.5, "that is the spread of the 0/1 mask m; the factor is m/(1 − p), so divide by (1 − p)"),
    (_G**0.5, "√p leaves out the keep probability: the factor m/(1 − p) has variance p/(1 − p)"),
    (_G, "p is the dropout rate, not the noise's standard deviation: match the variance of m/(1 − p)"),
    (((1 - _G) / _G) ** 0.5, "p and 1 − p are swapped: the variance is p/(1 − p), small for light dropout"),
    ((_G / (1 - _G) ** 2) ** 0.5, "Var[m/(1 − p)] = p(1 − p)/(1 − p)² = p/(1 − p): one (1 − p) cancels"),
    (1 - _G, "1 − p is the keep probability; the noise's standard deviation is √(p/(1 − p))"),
]


@checker
def check_gaussian_std(answer) -> bool:
    """Exercise: the standard deviation σ of Gaussian dropout's factor N(1, σ²) that matches inverted dropout
    with p = GAUSSIAN_P in mean and variance: √(p/(1 − p)) = 0.5. Roundings as printed and fractions typed as
    text ("1/2") are accepted."""
    answer = _as_fraction(answer)
    value, problem = _number(answer, "not answered yet: answer with one number")
    if problem:
        return _report(False, problem)
    if _agrees(answer, GAUSSIAN_ANSWER, min_significant=1):
        return _report(True, f"σ = √(p/(1 − p)) = √0.25 = {GAUSSIAN_ANSWER:g}: the factor m/(1 − p) has mean 1 and "
                             "variance p/(1 − p), and N(1, σ²) copies both")
    hint = _named_mistake(answer, _GAUSSIAN_MISTAKES)
    if hint:
        return _report(False, hint)
    if value < 0:
        return _report(False, "a standard deviation is never negative")
    return _report(False, f"{value:g} is not it: compute the variance of m/(1 − p) with m ~ Bernoulli(1 − p), "
                          "then take its square root")
