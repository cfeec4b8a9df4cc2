import torch

from wd_helpers.checks import check_best_lambda, check_frobenius_penalty, check_l1_penalty, check_norm_limit
from wd_helpers.train import sweep_weight_decay


def test_l1_checker_accepts_the_right_answer_and_names_the_mistakes(capsys):
    assert check_l1_penalty(lambda w: w.abs().sum())
    assert not check_l1_penalty(lambda w: -w.abs().sum())
    assert "sign is flipped" in capsys.readouterr().out
    assert not check_l1_penalty(lambda w: torch.norm(w))
    assert "L2 norm" in capsys.readouterr().out
    assert not check_l1_penalty(lambda w: None)
    assert "nothing yet" in capsys.readouterr().out
    assert not check_l1_penalty(lambda w: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_frobenius_checker(capsys):
    assert check_frobenius_penalty(lambda W: (W**2).sum() / 2)
    assert not check_frobenius_penalty(lambda W: (W**2).sum())
    assert "½" in capsys.readouterr().out
    assert not check_frobenius_penalty(lambda W: torch.linalg.norm(W))
    assert "unsquared" in capsys.readouterr().out


def test_best_lambda_checker():
    histories = sweep_weight_decay([0.0, 1.0, 10.0, 100.0], num_epochs=20)
    best = min(histories, key=lambda h: h.final_test_loss).lambd
    assert check_best_lambda(best, histories)
    assert not check_best_lambda(0.0 if best else 1.0, histories)
    assert not check_best_lambda(0.5, histories)
    assert not check_best_lambda(..., histories)
    assert not check_best_lambda("ten", histories)  # a word is answered, never raised on


def test_norm_limit_checker():
    assert check_norm_limit(0)
    assert not check_norm_limit(1.0)
    assert not check_norm_limit("zero")
    assert not check_norm_limit(None)


def test_momentum_step_checker(capsys):
    from wd_helpers.checks import check_momentum_step

    def right(x, v, g, lr, beta):
        v = beta * v + g
        return x - lr * v, v

    assert check_momentum_step(right)
    assert not check_momentum_step(lambda x, v, g, lr, beta: (x - lr * v, beta * v + g))
    assert "new v" in capsys.readouterr().out
    assert not check_momentum_step(lambda x, v, g, lr, beta: None)


def test_largest_stable_lr_checker():
    from wd_helpers.checks import check_largest_stable_lr

    assert check_largest_stable_lr(1 / 3, curvature=6.0)
    assert not check_largest_stable_lr(1 / 6, curvature=6.0)
    assert not check_largest_stable_lr(..., curvature=6.0)


def test_fastest_optimizer_checker_accepts_only_the_measured_winner(capsys):
    from wd_helpers.checks import check_fastest_optimizer

    results = {name: check_fastest_optimizer(name) for name in ("SGD", "Momentum", "AdaGrad", "Adam")}
    assert sum(results.values()) == 1
    assert not check_fastest_optimizer("LBFGS")


def test_lesson_checkers_accept_right_answers_and_refuse_wrong_ones():
    import torch.nn.functional as F

    from wd_helpers.checks import (
        check_entropy, check_loss_for_task, check_output_activation, check_sigmoid_derivative,
        check_stable_cross_entropy, check_stable_softmax,
    )

    assert check_sigmoid_derivative(lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    assert not check_sigmoid_derivative(torch.sigmoid)
    assert check_stable_softmax(lambda z: torch.exp(z - z.max(-1, keepdim=True).values) / torch.exp(z - z.max(-1, keepdim=True).values).sum(-1, keepdim=True))
    assert not check_stable_softmax(lambda z: torch.exp(z) / torch.exp(z).sum(-1, keepdim=True))
    assert check_stable_cross_entropy(lambda z, t: F.cross_entropy(z, t))
    assert not check_stable_cross_entropy(lambda z, t: -torch.log(torch.softmax(z, 1)[range(len(t)), t]).mean() * 1.01)
    assert check_entropy(1.0, [0.5, 0.5]) and not check_entropy(0.6931, [0.5, 0.5])
    assert check_output_activation("multi-class", "softmax") and not check_output_activation("multi-class", "sigmoid")
    assert check_loss_for_task("multi-label", "BCEWithLogitsLoss") and not check_loss_for_task("multi-label", "CrossEntropyLoss")
