"""Checkers for the notebook beyond weight decay (04b)."""

import math

from ._report import _agrees, _number, _report, checker

# ---------------------------------------------------------------- exercise 1: λ for a summed loss

MEAN_LAMBDA, MEAN_LR, N_EXAMPLES = 0.01, 0.1, 500


@checker
def check_summed_lambda(answer) -> bool:
    """Exercise: λ = 0.01 with a mean loss over n = 500 is λ = 5 with a summed loss (and η/500)."""
    value, problem = _number(answer, "set summed_lambda to a number")
    if problem:
        return _report(False, problem)
    right = MEAN_LAMBDA * N_EXAMPLES
    if _agrees(answer, right):
        return _report(True, f"the summed loss and its gradient are n = {N_EXAMPLES} times the mean's, so the penalty "
                             f"must grow as much: λ = {MEAN_LAMBDA:g}·{N_EXAMPLES} = {right:g}, and η/{N_EXAMPLES} keeps "
                             "every step the same")
    mistakes = [
        (MEAN_LAMBDA, "that is the old λ: beside a loss 500 times larger, the same λ is 500 times weaker"),
        (MEAN_LAMBDA / N_EXAMPLES, "you divided by n: the summed loss is n times LARGER, so λ must grow by n too"),
        (MEAN_LAMBDA * math.sqrt(N_EXAMPLES), "λ·√n is not it: the loss grows by n, not √n, so λ grows by n"),
        (MEAN_LAMBDA * MEAN_LR, "λ·η is the decay per step of the mean-loss run; the question asks for λ beside a summed "
                                "loss: λ·n"),
    ]
    for wrong, hint in mistakes:
        if _agrees(answer, wrong):
            return _report(False, hint)
    if value <= 0:
        return _report(False, "λ is a positive number here")
    return _report(False, f"{value:g} is not it: by what factor does the loss (and its gradient) grow from mean to sum?")


# ---------------------------------------------------------------- exercise 2: the orthogonal part's shrink

SHRINK_LAMBDA, SHRINK_LR, SHRINK_STEPS = 1.0, 0.003, 400  # 100 epochs × 4 minibatches of 5 out of 20


@checker
def check_outside_shrink(answer) -> bool:
    """Exercise: λ = 1, η = 0.003, 400 steps: the orthogonal part shrinks by (1 − ηλ)⁴⁰⁰ ≈ 0.3007."""
    value, problem = _number(answer, "set outside_shrink to a number")
    if problem:
        return _report(False, problem)
    factor = 1 - SHRINK_LR * SHRINK_LAMBDA
    right = factor**SHRINK_STEPS
    if _agrees(answer, right):
        return _report(True, f"each step multiplies all of w by 1 − ηλ = {factor:g} and adds a gradient inside the span "
                             f"of the inputs, so the orthogonal part is ({factor:g})^{SHRINK_STEPS} ≈ {right:.4g} of what "
                             "it was")
    mistakes = [
        (1.0, "gradient descent alone never touches the orthogonal part, but the decay multiplies ALL of w by 1 − ηλ "
              "each step"),
        (factor**100, "that counts one step per epoch: an epoch of 20 examples in minibatches of 5 has 4 steps, 400 in "
                      "100 epochs"),
        (1 - SHRINK_LR * SHRINK_LAMBDA * SHRINK_STEPS, "1 − 400·ηλ adds the shrinks up; they multiply: (1 − ηλ)^400"),
        (math.exp(-SHRINK_LR * SHRINK_LAMBDA * 100), "that counts one step per epoch: an epoch has 4 steps, 400 in "
                                                     "all, (1 − ηλ)^400"),
        (factor, "that is one step's factor; there are 400 steps"),
        (SHRINK_LR * SHRINK_LAMBDA, "ηλ is how much one step removes; the factor left after 400 steps is (1 − ηλ)^400"),
        (math.exp(-SHRINK_LR * SHRINK_LAMBDA * SHRINK_STEPS), "e^(−400ηλ) is the continuous approximation; the "
                                                                  "steps are discrete: (1 − ηλ)^400 exactly"),
    ]
    if value == float(f"{right:.1g}"):  # 0.3: the answer rounded to one digit (a float cannot keep "0.30")
        return _report(False, f"right to one digit: give three ({right:.3g}), one digit also fits other answers")
    for wrong, hint in mistakes:
        if _agrees(answer, wrong):
            return _report(False, hint)
    if not 0 < value < 1:
        return _report(False, "a shrink factor lies between 0 and 1 (1: nothing removed)")
    return _report(False, f"{value:g} is not it: how many steps, and what does one step do to the orthogonal part?")


# ---------------------------------------------------------------- exercise 3: AdamW's decay alone

ADAMW_LR, ADAMW_DECAY, ADAMW_STEPS = 0.001, 0.01, 10_000


@checker
def check_adamw_shrink(answer) -> bool:
    """Exercise: AdamW(lr=0.001, weight_decay=0.01), zero gradient, 10 000 steps: (1 − 10⁻⁵)¹⁰⁰⁰⁰ ≈ 0.9048 left."""
    value, problem = _number(answer, "set adamw_left to a number")
    if problem:
        return _report(False, problem)
    per_step = 1 - ADAMW_LR * ADAMW_DECAY
    right = per_step**ADAMW_STEPS
    if _agrees(answer, right) or _agrees(answer, math.exp(-ADAMW_LR * ADAMW_DECAY * ADAMW_STEPS), rel_tol=1e-4):
        return _report(True, f"torch's AdamW multiplies p by 1 − lr·λ = {per_step:g} per step: {per_step:g}^10000 ≈ "
                             f"{right:.4g} (≈ e^(−lr·λ·t) = e^(−0.1))")
    mistakes = [
        (1.0, "with a zero gradient Adam's own step is 0, but the decoupled decay still acts, every step"),
        ((1 - ADAMW_DECAY) ** ADAMW_STEPS, "that uses 1 − λ per step: torch's AdamW multiplies λ by lr, 1 − lr·λ"),
        (1 - ADAMW_LR * ADAMW_DECAY * ADAMW_STEPS, "1 − t·lr·λ adds the steps' shrinks; they multiply: (1 − lr·λ)^t"),
        (per_step, "that is one step; there are 10 000"),
        (1 - right, "that is the fraction removed; the question asks what is left"),
    ]
    if value == float(f"{right:.1g}"):  # 0.9: one digit of 0.9048, and also exactly 1 − t·lr·λ
        return _report(False, f"0.9 is exactly 1 − t·lr·λ, the steps' shrinks added up; if you rounded {right:.4g}, give "
                              "three digits")
    for wrong, hint in mistakes:
        if _agrees(answer, wrong):
            return _report(False, hint)
    return _report(False, f"{value:g} is not it: what does one AdamW step do to a weight with no gradient?")
