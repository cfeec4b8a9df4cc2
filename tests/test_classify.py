import math
import statistics

import pytest
import torch

from wd_helpers.classify import train_classifier
from wd_helpers.data import load_digits_data
from wd_helpers.models import MLP

SEEDS = range(5)


def mlp(seed, p1=0.0, p2=0.0, *, scratch=False):
    return MLP(64, 256, 256, 10, dropout1=p1, dropout2=p2, scratch=scratch,
               generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def default_runs():
    """The dropout notebook's experiment with the defaults, without and with dropout, on 5 seeds."""
    runs = {}
    for seed in SEEDS:
        data = load_digits_data(seed=seed)
        runs[seed] = (train_classifier(mlp(seed), data, seed=seed),
                      train_classifier(mlp(seed, 0.2, 0.5), data, seed=seed))
    return runs


def test_without_dropout_the_mlp_overfits_the_digits(default_runs):
    for plain, _ in default_runs.values():
        assert not plain.diverged
        assert plain.train_loss[-1] < 0.05 and plain.train_acc[-1] == 1.0
        assert plain.test_loss[-1] > 3 * plain.train_loss[-1]  # measured: > 80x
        assert plain.test_acc[-1] < plain.train_acc[-1] - 0.03


def test_dropout_lowers_the_test_loss_on_every_seed(default_runs):
    for plain, dropped in default_runs.values():
        assert dropped.test_loss[-1] < plain.test_loss[-1] - 0.03  # measured: 0.09 to 0.20 lower
    mean_acc = {k: statistics.mean(runs[k].test_acc[-1] for runs in default_runs.values()) for k in (0, 1)}
    assert mean_acc[1] > mean_acc[0]  # measured: about one point higher


def test_histories_have_one_entry_per_epoch_and_call_progress():
    data = load_digits_data(n_train=100)
    calls = []
    history = train_classifier(mlp(0, 0.2, 0.5), data, num_epochs=4, batch_size=32, optimizer="sgd", lr=0.1,
                               progress=lambda epoch, total: calls.append((epoch, total)))
    for values in (history.train_loss, history.test_loss, history.train_acc, history.test_acc):
        assert len(values) == 4 and all(math.isfinite(v) for v in values)
    assert all(0.0 <= a <= 1.0 for a in history.train_acc + history.test_acc)
    assert history.diverged_at is None and history.epochs == [1, 2, 3, 4]
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_huge_learning_rate_is_reported_as_divergence():
    history = train_classifier(mlp(0), load_digits_data(n_train=100), lr=1e8, optimizer="sgd", num_epochs=20)
    assert history.diverged and history.diverged_at < 20
    assert len(history.train_loss) <= history.diverged_at  # stopped there
    assert all(math.isfinite(v) for v in history.train_loss + history.test_loss)
    assert history.final_test_loss == math.inf


def test_losses_are_measured_in_eval_mode():
    data = load_digits_data(n_train=100)
    model = mlp(1, 0.5, 0.5)
    history = train_classifier(model, data, num_epochs=3)
    model.eval()
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(data.X_test), data.y_test).item()
    assert history.test_loss[-1] == pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize("scratch", [True, False], ids=["scratch", "nn.Dropout"])
def test_training_is_repeatable_by_seed_and_leaves_the_global_generator_alone(scratch):
    data = load_digits_data(n_train=100)
    state = torch.get_rng_state()
    a = train_classifier(mlp(2, 0.5, 0.5, scratch=scratch), data, num_epochs=3, batch_size=25, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    b = train_classifier(mlp(2, 0.5, 0.5, scratch=scratch), data, num_epochs=3, batch_size=25, seed=7)
    c = train_classifier(mlp(2, 0.5, 0.5, scratch=scratch), data, num_epochs=3, batch_size=25, seed=8)
    assert a.test_loss == b.test_loss
    assert a.test_loss != c.test_loss


def test_weight_decay_shrinks_the_weights_but_not_the_biases():
    data = load_digits_data(n_train=100)
    plain, decayed = mlp(3), mlp(3)
    train_classifier(plain, data, num_epochs=5, optimizer="sgd", lr=0.1)
    train_classifier(decayed, data, num_epochs=5, optimizer="sgd", lr=0.1, weight_decay=1.0)
    assert decayed.lin1.weight.norm() < 0.9 * plain.lin1.weight.norm()
    fresh = mlp(3)  # without decay on the biases, they stay near their undecayed values
    assert (decayed.lin1.bias - fresh.lin1.bias).norm() < (decayed.lin1.weight - fresh.lin1.weight).norm()


@pytest.mark.parametrize(("option", "value", "message"), [
    ("lr", 0.0, "lr must be a finite number > 0"),
    ("lr", float("nan"), "lr must be a finite number > 0"),
    ("num_epochs", 0, "num_epochs must be an integer >= 1"),
    ("batch_size", 0, r"batch_size must be an integer in \[1, 100\]"),
    ("batch_size", 101, r"batch_size must be an integer in \[1, 100\]"),
    ("weight_decay", -1.0, "weight_decay must be a finite number >= 0"),
    ("optimizer", "rmsprop", r"optimizer must be one of \[.adam., .adamw., .sgd.\]"),
    ("seed", -1, r"seed must be an integer in \[0, "),  # validate.seed: the range [0, 2**63 - 1]
])
def test_bad_options_are_refused(option, value, message):
    with pytest.raises(ValueError, match=message):
        train_classifier(mlp(0), load_digits_data(n_train=100), **{option: value})


# --- dropout: one model, or a batched sweep -------------------------------------------------------

from wd_helpers.classify import dropout_mlp, sweep_dropout, train_dropout  # noqa: E402
from wd_helpers.models import StackedMLP  # noqa: E402


@pytest.fixture(scope="module")
def small_digits():
    return load_digits_data(n_train=120, seed=4)


def test_sweep_gives_the_numbers_of_single_runs(small_digits):
    rates = [0.0, (0.2, 0.5), 0.5, (0.8, 0.1)]
    options = {"num_epochs": 6, "batch_size": 40, "seed": 3}
    sweep = sweep_dropout(rates, data=small_digits, **options)
    for rate, batched in zip(rates, sweep):
        p1, p2 = rate if isinstance(rate, tuple) else (rate, rate)
        single = train_dropout(p1, p2, data=small_digits, **options)
        assert (batched.options["dropout1"], batched.options["dropout2"]) == (p1, p2)
        # model for model the same operations on the same numbers: equal, not just close
        assert (batched.train_loss, batched.test_loss, batched.test_acc) == (
            single.train_loss, single.test_loss, single.test_acc)


def test_sweep_with_weight_decay_and_sgd_matches_single_runs(small_digits):
    options = {"num_epochs": 4, "optimizer": "sgd", "lr": 0.2, "weight_decay": 0.5, "seed": 1}
    sweep = sweep_dropout([0.1, 0.6], data=small_digits, **options)
    for p, batched in zip([0.1, 0.6], sweep):
        assert batched.test_loss == train_dropout(p, p, data=small_digits, **options).test_loss


def test_one_diverging_model_does_not_disturb_the_others(small_digits):
    from wd_helpers import classify

    options = {"lr": 0.005, "num_epochs": 4, "batch_size": 40, "seed": 2, "weight_decay": 0.0, "optimizer": "adam"}
    models = [dropout_mlp(small_digits, 0.2, 0.5, seed=2), dropout_mlp(small_digits, 0.2, 0.5, seed=2)]
    with torch.no_grad():
        models[1].lin3.weight.fill_(float("nan"))  # model 1 is broken from the start
    fine, broken = classify._fit(StackedMLP(models), 2, small_digits, progress=None, options=[{}, {}], **options)
    assert broken.diverged_at == 1 and broken.train_loss == []
    single = train_dropout(0.2, 0.5, data=small_digits, **options)
    assert not fine.diverged and fine.test_loss == single.test_loss


def test_stacked_models_unstack_to_the_models_they_were_built_from(small_digits):
    models = [dropout_mlp(small_digits, p, p, seed=s) for s, p in ((0, 0.1), (1, 0.7))]
    stacked = StackedMLP(models).eval()
    X = small_digits.X_test[:50]
    with torch.no_grad():
        out = stacked(X)
        assert out.shape == (2, 50, 10)
        for k, (model, back) in enumerate(zip(models, stacked.unstack())):
            assert torch.equal(out[k], model.eval()(X))
            assert torch.equal(back.lin2.weight, model.lin2.weight) and back.dropout1 == model.dropout1


def test_stacking_refuses_nn_dropout_models_and_mixed_sizes(small_digits):
    with pytest.raises(ValueError, match="scratch=True"):
        StackedMLP([dropout_mlp(small_digits, scratch=False)])
    with pytest.raises(ValueError, match="same layer sizes"):
        StackedMLP([dropout_mlp(small_digits), dropout_mlp(small_digits, num_hiddens=(32, 32))])


@pytest.mark.parametrize(("rates", "message"), [
    ([], "at least one dropout setting"),
    ([(0.1, 0.2, 0.3)], r"p or a pair \(p1, p2\)"),
    ([1.5], r"dropout1 must be a dropout probability in \[0, 1\]"),
])
def test_bad_dropout_sweeps_are_refused(small_digits, rates, message):
    with pytest.raises(ValueError, match=message):
        sweep_dropout(rates, data=small_digits)


def test_adamw_decays_the_weights_decoupled_from_the_gradient(small_digits):
    # AdamW with lr η and λ multiplies the weights by (1 − ηλ) each step on top of the Adam step:
    # with a huge λ the weights collapse, with λ = 0 it is plain Adam
    plain, decayed = dropout_mlp(small_digits), dropout_mlp(small_digits)
    train_classifier(plain, small_digits, optimizer="adamw", num_epochs=5)
    train_classifier(decayed, small_digits, optimizer="adamw", weight_decay=50.0, lr=0.01, num_epochs=5)
    adam = dropout_mlp(small_digits)
    train_classifier(adam, small_digits, optimizer="adam", num_epochs=5)
    assert torch.allclose(plain.lin1.weight, adam.lin1.weight, atol=1e-6)
    assert decayed.lin1.weight.norm() < 0.5 * plain.lin1.weight.norm()
