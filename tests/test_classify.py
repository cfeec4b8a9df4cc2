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
    ("optimizer", "rmsprop", r"optimizer must be one of \['adam', 'sgd'\]"),
    ("seed", -1, "seed must be an integer >= 0"),
])
def test_bad_options_are_refused(option, value, message):
    with pytest.raises(ValueError, match=message):
        train_classifier(mlp(0), load_digits_data(n_train=100), **{option: value})
