"""The playground's training core: its data, its network, its training loop checked against plain PyTorch, and
the facts the playground notebook asserts (each with the counterfactual that must fail)."""

import dataclasses
import math

import pytest
import torch
from torch import nn

from wd_helpers.playground import (ACTIVATIONS, DATASETS, FEATURES, OPTIMIZERS, PlaygroundData, PlaygroundHistory,
                                   PlaygroundNet, Run, feature_matrix, make_dataset, train)
from wd_helpers.regularizers import dropout as inverted_dropout

ALL_FEATURES = tuple(FEATURES)
FEATURE_FUNCTIONS = {  # written again here, independently of the module
    "x1": lambda X: X[:, 0], "x2": lambda X: X[:, 1], "x1^2": lambda X: X[:, 0] ** 2, "x2^2": lambda X: X[:, 1] ** 2,
    "x1*x2": lambda X: X[:, 0] * X[:, 1], "sin(x1)": lambda X: torch.sin(X[:, 0]),
    "sin(x2)": lambda X: torch.sin(X[:, 1]),
}


# ---------------------------------------------------------------- data


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_have_the_promised_shapes_split_and_square(name):
    data = make_dataset(name, n_points=400, noise=0.5, train_fraction=0.3, seed=3)
    assert (data.name, data.noise, data.seed) == (name, 0.5, 3)
    assert data.X_train.shape == (120, 2) and data.X_test.shape == (280, 2)
    assert data.y_train.shape == (120,) and data.y_test.shape == (280,)
    for tensor in (data.X_train, data.y_train, data.X_test, data.y_test):
        assert tensor.dtype == torch.float32
    for y in (data.y_train, data.y_test):
        assert set(y.unique().tolist()) == {0.0, 1.0}
    X = torch.cat([data.X_train, data.X_test])
    assert X.abs().max() <= 6.0


@pytest.mark.parametrize("name", DATASETS)
def test_classes_are_balanced_in_both_splits_without_noise(name):
    data = make_dataset(name, n_points=500, train_fraction=0.5)
    assert data.y_train.sum() == 125 and data.y_test.sum() == 125


def test_wide_gaussians_are_truncated_to_the_square_not_piled_on_its_border():
    data = make_dataset("gauss", n_points=10_000, noise=0.5, train_fraction=0.9)
    X = torch.cat([data.X_train, data.X_test])
    assert X.abs().max() < 6.0  # variance 4: about 2 % of the untruncated points would lie outside
    assert (X.abs() > 5.99).sum() < 30  # clamped, some 450 coordinates would sit at ±6


@pytest.mark.parametrize("name", DATASETS)
def test_the_same_seed_gives_the_same_points_and_another_seed_others(name):
    a, b, c = make_dataset(name, seed=7), make_dataset(name, seed=7), make_dataset(name, seed=8)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.X_train, c.X_train)


def test_make_dataset_ignores_torch_global_generator():
    torch.manual_seed(0)
    a = make_dataset("spiral", noise=0.3)
    torch.manual_seed(1)
    assert torch.equal(a.X_train, make_dataset("spiral", noise=0.3).X_train)


@pytest.mark.parametrize("name", ["gauss", "spiral"])
def test_noise_moves_the_points_of_gauss_and_spiral(name):
    clean, noisy = make_dataset(name), make_dataset(name, noise=0.3)
    assert not torch.allclose(clean.X_train, noisy.X_train, atol=0.01)


@pytest.mark.parametrize("name", ["circle", "xor"])
def test_noise_flips_labels_of_circle_and_xor_as_in_tf_playground(name):
    # TF Playground reads these labels at a randomly moved point and draws the point where it was
    clean, noisy = make_dataset(name), make_dataset(name, noise=0.3)
    assert torch.equal(clean.X_train, noisy.X_train)
    flipped = (clean.y_train != noisy.y_train).float().mean()
    assert 0.03 < flipped < 0.4


def test_circle_labels_are_inside_radius_2_5_and_the_ring_is_3_5_to_5():
    data = make_dataset("circle", n_points=1000)
    r = torch.cat([data.X_train, data.X_test]).norm(dim=1)
    y = torch.cat([data.y_train, data.y_test])
    assert r[y == 1].max() <= 2.5 and r[y == 0].min() >= 3.5 - 1e-5 and r.max() <= 5 + 1e-5


def test_xor_labels_are_the_sign_of_x1_x2_and_points_stay_off_the_axes():
    data = make_dataset("xor", n_points=1000)
    assert torch.equal(data.y_train, (data.X_train.prod(dim=1) > 0).float())
    assert data.X_train.abs().min() >= 0.3 - 1e-6


def test_gauss_classes_are_centred_at_2_2_and_minus_2_minus_2():
    data = make_dataset("gauss", n_points=4000)
    X, y = data.X_train, data.y_train
    assert torch.allclose(X[y == 1].mean(dim=0), torch.tensor([2.0, 2.0]), atol=0.1)
    assert torch.allclose(X[y == 0].mean(dim=0), torch.tensor([-2.0, -2.0]), atol=0.1)


def test_playground_data_is_frozen_and_short_to_print():
    data = make_dataset()
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.noise = 0.1
    assert repr(data) == "PlaygroundData(name='circle', noise=0.0, seed=0, n_train=250, n_test=250)"


def test_feature_matrix_has_one_column_per_feature_in_the_order_given():
    X = make_dataset("spiral", noise=0.2).X_train
    features = ("sin(x2)", "x1*x2", "x1", "x2^2", "x1^2", "sin(x1)", "x2")
    expected = torch.stack([FEATURE_FUNCTIONS[name](X) for name in features], dim=1)
    assert torch.equal(feature_matrix(X, features), expected)
    assert feature_matrix(X, ("x2",)).shape == (len(X), 1)


# ---------------------------------------------------------------- the network


def test_initial_weights_depend_on_the_seed_only():
    torch.manual_seed(0)
    a = PlaygroundNet(seed=4)
    torch.manual_seed(1)
    b, c = PlaygroundNet(seed=4), PlaygroundNet(seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.weights()[0], c.weights()[0])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_initialisation_is_xavier_or_he_uniform_with_zero_biases(activation):
    net = PlaygroundNet(ALL_FEATURES, (8, 8, 8), activation)
    for i, W in enumerate(net.weights()):
        fan_out, fan_in = W.shape
        hidden_relu = activation == "relu" and i < 3
        bound = math.sqrt(6 / fan_in) if hidden_relu else math.sqrt(6 / (fan_in + fan_out))
        assert W.abs().max() <= bound and W.abs().max() > bound / 2
    assert all(bool((b == 0).all()) for b in net.biases())


def test_no_hidden_layer_is_logistic_regression_on_the_features():
    net = PlaygroundNet(("x1", "x1*x2"), layers=())
    X = make_dataset("xor").X_test
    (W,) = net.weights()
    assert W.shape == (1, 2) and net.hidden_outputs(X) == []
    expected = torch.stack([X[:, 0], X[:, 0] * X[:, 1]], dim=1) @ W[0] + net.biases()[0]
    assert torch.allclose(net(X), expected)


def test_weights_are_the_matrices_input_layer_first():
    net = PlaygroundNet(("x1", "x2", "x1^2"), layers=(5, 3, 2))
    assert [tuple(W.shape) for W in net.weights()] == [(5, 3), (3, 5), (2, 3), (1, 2)]


def test_hidden_outputs_are_each_layers_activations_in_eval_mode():
    net = PlaygroundNet(layers=(6, 3), activation="sigmoid", dropout=0.5).train()
    X = make_dataset().X_train
    H1, H2 = net.hidden_outputs(X)
    assert H1.shape == (250, 6) and H2.shape == (250, 3)
    W1, W2, _ = net.weights()
    b1, b2, _ = net.biases()
    expected = torch.sigmoid(X @ W1.T + b1)
    assert torch.allclose(H1, expected) and torch.allclose(H2, torch.sigmoid(expected @ W2.T + b2))
    assert net.training  # left as it was


def test_dropout_acts_in_train_mode_only_with_reproducible_masks():
    X = make_dataset().X_train
    net = PlaygroundNet(layers=(8, 8), dropout=(0.5, 0.2), seed=1)
    net.eval()
    assert torch.equal(net(X), net(X))  # eval mode: deterministic
    net.train()
    first, second = net(X), net(X)
    assert not torch.equal(first, second)  # fresh masks at each call
    again = PlaygroundNet(layers=(8, 8), dropout=(0.5, 0.2), seed=1).train()
    assert torch.equal(again(X), first)  # the same seed draws the same masks


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_written_out_backprop_equals_autograd(activation):
    net = PlaygroundNet(ALL_FEATURES, (8, 5, 3), activation, dropout=(0.1, 0.5, 0.3), seed=2)
    data = make_dataset("spiral", noise=0.2)
    X, y = feature_matrix(data.X_train[:17], net.features), data.y_train[:17]
    state = net.generator.get_state()
    net._backprop(X, y)
    grads = [p.grad.clone() for p in net.parameters()]
    net.generator.set_state(state)  # the same masks for autograd
    net.zero_grad()
    reference = nn.functional.binary_cross_entropy_with_logits(net.train()._logits(X), y)
    reference.backward()
    for grad, p in zip(grads, net.parameters()):
        assert torch.allclose(grad, p.grad, atol=1e-7)


# ---------------------------------------------------------------- training equals plain PyTorch


class ReferenceDropout(nn.Module):
    """regularizers.dropout with its own generator, for the plain-PyTorch reference."""

    def __init__(self, p, generator):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, H):
        return inverted_dropout(H, self.p, training=self.training, generator=self.generator)


def reference_training(run, epochs):
    """Train a copy of ``run``'s initial network with nn.Sequential, torch.optim, BCEWithLogitsLoss and the
    penalty taped by autograd, on the same minibatches and dropout masks; per-epoch losses and final weights."""
    s = run.history.settings
    activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity}[s["activation"]]
    mask_generator = torch.Generator()
    mask_generator.set_state(run.net.generator.get_state())
    modules = []
    for layer, p in zip(run.net.linears, run.net.dropout):
        modules += [nn.Linear(layer.in_features, layer.out_features), activation(), ReferenceDropout(p, mask_generator)]
    modules.append(nn.Linear(run.net.linears[-1].in_features, 1))
    model = nn.Sequential(*modules)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for mine, theirs in zip(run.net.linears, linears):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
    weights, biases = [m.weight for m in linears], [m.bias for m in linears]
    if s["optimizer"] == "SGD":
        optimizer = torch.optim.SGD(model.parameters(), lr=s["lr"])
    elif s["optimizer"] == "Momentum":
        optimizer = torch.optim.SGD(model.parameters(), lr=s["lr"], momentum=s["momentum"])
    elif s["optimizer"] == "Adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=s["lr"], betas=s["betas"])
    else:
        optimizer = torch.optim.AdamW([{"params": weights, "weight_decay": s["weight_decay"]},
                                       {"params": biases, "weight_decay": 0.0}], lr=s["lr"], betas=s["betas"])
    order_generator = torch.Generator()
    order_generator.set_state(run.batch_generator.get_state())

    def features(X):
        return torch.stack([FEATURE_FUNCTIONS[name](X) for name in s["features"]], dim=1)

    X, y = features(run.data.X_train), run.data.y_train
    X_test, y_test = features(run.data.X_test), run.data.y_test
    bce = nn.BCEWithLogitsLoss()
    train_losses, test_losses = [], []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X), generator=order_generator)
        for batch in order.split(s["batch_size"]):
            loss = bce(model(X[batch]).squeeze(1), y[batch])
            if s["penalty"] == "l2":
                loss = loss + s["lambd"] * sum((W**2).sum() / 2 for W in weights)
            elif s["penalty"] == "l1":
                loss = loss + s["lambd"] * sum(W.abs().sum() for W in weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            train_losses.append(bce(model(X).squeeze(1), y).item())
            test_losses.append(bce(model(X_test).squeeze(1), y_test).item())
    return train_losses, test_losses, [p.detach() for p in model.parameters()]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("penalty", ["none", "l1", "l2"])
def test_training_equals_plain_pytorch(optimizer, penalty):
    lr = 0.01 if optimizer in ("Adam", "AdamW") else 0.1
    run = Run("gauss", noise=0.2, features=("x1", "x2", "x1*x2"), layers=(4, 3), optimizer=optimizer, lr=lr,
              penalty=penalty, lambd=0.01, weight_decay=0.1, batch_size=16, seed=5, n_points=200)
    train_losses, test_losses, parameters = reference_training(run, 3)
    history = run.step(3)
    assert history.train_loss == pytest.approx(train_losses, abs=1e-6)
    assert history.test_loss == pytest.approx(test_losses, abs=1e-6)
    for mine, theirs in zip(run.net.parameters(), parameters):
        assert torch.allclose(mine, theirs, atol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_training_with_dropout_equals_plain_pytorch_with_the_same_masks(activation):
    run = Run("spiral", noise=0.1, features=ALL_FEATURES, layers=(8, 6, 4), activation=activation,
              dropout=(0.1, 0.3, 0.5), optimizer="Momentum", penalty="l2", lambd=0.003, lr=0.01, seed=6,
              n_points=200)
    train_losses, test_losses, parameters = reference_training(run, 2)
    history = run.step(2)
    assert history.train_loss == pytest.approx(train_losses, abs=1e-6)
    assert history.test_loss == pytest.approx(test_losses, abs=1e-6)
    for mine, theirs in zip(run.net.parameters(), parameters):
        assert torch.allclose(mine, theirs, atol=1e-6)


def test_the_last_minibatch_may_be_smaller():
    run = Run(batch_size=100, train_fraction=0.3)  # 150 training points: batches of 100 and 50
    train_losses, _, parameters = reference_training(run, 2)
    assert run.step(2).train_loss == pytest.approx(train_losses, abs=1e-6)


def test_adamw_decays_the_weight_matrices_but_not_the_biases():
    run = Run(optimizer="AdamW", weight_decay=0.5)
    decayed, kept = run.optimizer.param_groups
    assert decayed["weight_decay"] == 0.5 and kept["weight_decay"] == 0.0
    assert [id(p) for p in decayed["params"]] == [id(W) for W in run.net.weights()]
    assert [id(p) for p in kept["params"]] == [id(b) for b in run.net.biases()]
    for optimizer in ("SGD", "Momentum", "Adam"):  # weight_decay is AdamW's only
        assert all(group["weight_decay"] == 0.0 for group in Run(optimizer=optimizer).optimizer.param_groups)


# ---------------------------------------------------------------- resumable, reproducible


SETTINGS = dict(dataset="xor", noise=0.2, features=("x1", "x2", "sin(x1)"), layers=(5, 3), activation="relu",
                penalty="l1", lambd=0.001, dropout=0.2, optimizer="Adam", lr=0.01, seed=3, n_points=200)


def test_a_run_continued_gives_the_numbers_of_one_run_bit_for_bit():
    pieces = Run(**SETTINGS)
    pieces.step(10)
    pieces.step(27)
    whole = Run(**SETTINGS)
    whole.step(37)
    history = train(**SETTINGS, epochs=37)
    assert pieces.history == whole.history == history  # lists of floats compared exactly
    assert pieces.epoch == whole.epoch == history.epochs == 37
    assert all(torch.equal(p, q) for p, q in zip(pieces.net.parameters(), whole.net.parameters()))


def test_settings_reproduce_the_run():
    history = train(**SETTINGS, epochs=5)
    assert train(**history.settings, epochs=history.epochs) == history
    data = make_dataset("gauss", noise=0.1, seed=9)
    custom = train(data=data, layers=(3,), epochs=3)
    assert custom.settings["data"] is data and custom.settings["dataset"] == "gauss"
    assert custom.settings["noise"] == 0.1 and custom.settings["n_points"] == 500
    assert train(**custom.settings, epochs=3) == custom


def test_custom_data_in_another_dtype_trains_as_float32():
    data = make_dataset("xor", seed=2)
    as_float64 = dataclasses.replace(data, X_train=data.X_train.double(), X_test=data.X_test.double(),
                                     y_train=data.y_train.long(), y_test=data.y_test.long())
    assert train(data=as_float64, epochs=2).train_loss == train(data=data, epochs=2).train_loss


def test_another_seed_gives_other_numbers():
    assert train(**SETTINGS, epochs=2).train_loss != train(**dict(SETTINGS, seed=4), epochs=2).train_loss


def test_training_does_not_touch_torch_global_generator_or_thread_count():
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    train(**SETTINGS, epochs=2)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_history_reports_epochs_and_gap():
    history = train(epochs=4)
    assert isinstance(history, PlaygroundHistory)
    assert history.epochs == 4 and not history.diverged
    assert history.gap == history.test_loss[-1] - history.train_loss[-1]
    assert math.isnan(Run().history.gap) and Run().history.epochs == 0
    assert all(0 <= acc <= 1 for acc in history.train_acc + history.test_acc)


def test_history_train_loss_is_the_data_loss_in_eval_mode_on_the_whole_training_set():
    run = Run(penalty="l2", lambd=1.0, dropout=0.5, layers=(8,))
    run.step(2)
    run.net.eval()
    with torch.no_grad():
        logits = run.net(run.data.X_train)
    expected = nn.functional.binary_cross_entropy_with_logits(logits, run.data.y_train).item()
    assert run.history.train_loss[-1] == pytest.approx(expected, abs=1e-7)
    accuracy = ((logits >= 0).float() == run.data.y_train).float().mean().item()
    assert run.history.train_acc[-1] == pytest.approx(accuracy)


# ---------------------------------------------------------------- predictions and surfaces


def test_predict_gives_probabilities_in_eval_mode():
    run = Run(dropout=0.5)
    run.step(2)
    X = run.data.X_test
    p = run.predict(X)
    assert p.shape == (250,) and bool(((0 <= p) & (p <= 1)).all())
    assert torch.equal(p, run.predict(X))  # no dropout


def test_surface_rows_run_along_x2_and_columns_along_x1():
    run = Run(features=("x1", "x2", "x1*x2"))
    run.step(3)
    xs, ys, probs = run.surface(resolution=7)
    assert torch.equal(xs, torch.linspace(-6, 6, 7)) and torch.equal(ys, xs) and probs.shape == (7, 7)
    assert probs[1, 4] == pytest.approx(run.predict(torch.tensor([[xs[4], ys[1]]])).item(), abs=1e-7)
    assert probs[5, 0] == pytest.approx(run.predict(torch.tensor([[xs[0], ys[5]]])).item(), abs=1e-7)


def test_neuron_surfaces_hold_every_hidden_neuron_on_the_grid():
    run = Run(layers=(4, 2))
    surfaces = run.neuron_surfaces(resolution=5)
    assert [len(layer) for layer in surfaces] == [4, 2]
    assert all(s.shape == (5, 5) for layer in surfaces for s in layer)
    xs, ys, _ = run.surface(resolution=5)
    H1, _ = run.net.hidden_outputs(torch.tensor([[xs[3], ys[1]]]))
    assert surfaces[0][2][1, 3] == pytest.approx(H1[0, 2].item(), abs=1e-7)
    assert Run(layers=()).neuron_surfaces() == []


# ---------------------------------------------------------------- facts the notebook asserts


def test_xor_needs_the_product_feature_without_hidden_layers():
    linear = train("xor", layers=(), epochs=30)
    product = train("xor", layers=(), features=("x1", "x2", "x1*x2"), epochs=30)
    assert linear.test_acc[-1] <= 0.75  # measured 0.53 (0.48 to 0.56 on seeds 0-4): no line separates XOR
    assert product.test_acc[-1] >= 0.95  # measured 1.0 on seeds 0-4


def test_circle_is_linear_in_the_squared_features():
    squares = train("circle", layers=(), features=("x1^2", "x2^2"), epochs=30)
    plain = train("circle", layers=(), epochs=30)
    assert squares.test_acc[-1] >= 0.95  # measured 1.0 on seeds 0-4 (0.94 to 0.98 after 10 epochs)
    assert plain.test_acc[-1] <= 0.75  # measured 0.52 (0.45 to 0.56 on seeds 0-4)


def test_l1_drives_the_weights_of_useless_features_to_zero_and_l2_does_not():
    useless = [ALL_FEATURES.index(name) for name in ("x1", "x2", "x1*x2", "sin(x1)", "sin(x2)")]
    useful = [ALL_FEATURES.index(name) for name in ("x1^2", "x2^2")]
    first_layer = {}
    for penalty in ("l1", "l2"):
        run = Run("circle", noise=0.3, train_fraction=0.2, features=ALL_FEATURES, layers=(), penalty=penalty,
                  lambd=0.1)
        run.step(100)
        first_layer[penalty] = run.net.weights()[0].detach().abs()
    assert first_layer["l1"][:, useless].max() < 0.02  # measured 0.0034 (0.003 to 0.011 on seeds 0-4)
    assert first_layer["l1"][:, useful].min() > 0.2  # measured 0.30 (0.23 to 0.33): the useful ones stay
    assert first_layer["l2"][:, useless].max() > 0.05  # measured 0.21 (0.12 to 0.21)


def test_a_too_large_learning_rate_diverges_without_raising():
    history = train(activation="linear", lr=3.0, epochs=20)
    assert history.diverged and history.diverged_at == 1  # measured: the first epoch already
    assert history.epochs == 0 and all(map(math.isfinite, history.train_loss + history.test_loss))
    assert not train(activation="linear", lr=0.03, epochs=20).diverged


def test_a_diverged_run_stops_and_step_returns_at_once():
    run = Run(penalty="l2", lambd=1.0, lr=3.0)  # p ← p − 3 (g + p): the weights flip and triple at each step
    history = run.step(5)
    assert history.diverged_at == 1 and run.epoch == 1
    assert run.step(10) is history and run.epoch == 1 and history.epochs == 0


def test_a_wide_net_on_few_noisy_points_has_a_larger_gap_without_l2():
    settings = dict(dataset="gauss", noise=0.5, train_fraction=0.1, layers=(8, 8, 8, 8), activation="relu",
                    optimizer="Adam", lr=0.03, epochs=100)
    plain = train(**settings)
    l2 = train(**settings, penalty="l2", lambd=0.03)
    assert plain.gap > 0.5  # measured 1.15 (train 0.08, test 1.23); 0.36 to 1.38 on seeds 0-4
    assert l2.gap < plain.gap / 2  # measured 0.10 (train 0.23, test 0.34); -0.03 to 0.22 on seeds 0-4


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, name", [
    (dict(dataset="moons"), "dataset"),
    (dict(noise=0.6), "noise"),
    (dict(noise=-0.1), "noise"),
    (dict(train_fraction=0.95), "train_fraction"),
    (dict(train_fraction=0.05), "train_fraction"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=101), "batch_size"),
    (dict(batch_size=60, train_fraction=0.1), "batch_size"),  # 50 training points
    (dict(batch_size=2.5), "batch_size"),
    (dict(features=("x1", "x3")), "features"),
    (dict(features=("x1", "x1")), "features"),
    (dict(features=()), "features"),
    (dict(features="x1"), "features"),
    (dict(layers=(9,)), "layers"),
    (dict(layers=(0,)), "layers"),
    (dict(layers=(2, 2, 2, 2, 2)), "layers"),
    (dict(layers=4), "layers"),
    (dict(activation="gelu"), "activation"),
    (dict(penalty="l3"), "penalty"),
    (dict(lambd=-0.1), "lambd"),
    (dict(lambd=11), "lambd"),
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(dropout=(0.1,)), "dropout"),  # two hidden layers
    (dict(dropout="0.5"), "dropout"),
    (dict(optimizer="RMSProp"), "optimizer"),
    (dict(lr=0.0), "lr"),
    (dict(lr=10.5), "lr"),
    (dict(lr=math.nan), "lr"),
    (dict(momentum=1.0), "momentum"),
    (dict(betas=(0.9,)), "betas"),
    (dict(betas=(0.9, 1.0)), "betas"),
    (dict(weight_decay=-1), "weight_decay"),
    (dict(seed=-1), "seed"),
    (dict(seed=1.5), "seed"),
    (dict(n_points=10), "n_points"),
    (dict(data="circle"), "data"),
])
def test_every_bad_setting_is_refused_with_its_name(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=rf"\b{name}\b"):
        Run(**kwargs)


def test_the_layers_message_states_the_accepted_range():
    with pytest.raises(ValueError) as error:
        Run(layers=(9,))
    assert str(error.value) == "layers must have at most 4 hidden layers of 1 to 8 neurons, got (9,)"


def test_the_dropout_message_states_the_accepted_range():
    with pytest.raises(ValueError, match=r"dropout must be a rate in \[0, 1\) .* got 1.0"):
        Run(dropout=1.0)


def test_batch_size_larger_than_the_training_set_is_refused_not_clipped():
    with pytest.raises(ValueError, match="at most the 50 training points, got 60"):
        Run(batch_size=60, train_fraction=0.1)


@pytest.mark.parametrize("call, name", [
    (lambda: Run().step(-1), "epochs"),
    (lambda: Run().step(1.5), "epochs"),
    (lambda: train(epochs=-1), "epochs"),
    (lambda: Run().surface(resolution=1), "resolution"),
    (lambda: Run().neuron_surfaces(resolution=10_000), "resolution"),
    (lambda: Run().predict(torch.zeros(3, 3)), "X"),
    (lambda: Run().predict([[0.0, 0.0]]), "X"),
    (lambda: make_dataset("moons"), "name"),
    (lambda: make_dataset(n_points=5), "n_points"),
    (lambda: feature_matrix(torch.zeros(3, 2), ("x1", "x4")), "features"),
    (lambda: feature_matrix(torch.full((3, 2), math.nan), ("x1",)), "X"),
    (lambda: PlaygroundNet(activation="softplus"), "activation"),
    (lambda: PlaygroundNet(layers=(3,), dropout=(0.1, 0.2)), "dropout"),
    (lambda: PlaygroundNet(seed=-1), "seed"),
    (lambda: Run(data=dataclasses.replace(make_dataset(), y_train=torch.zeros(3))), "data.y_train"),
    (lambda: Run(data=dataclasses.replace(make_dataset(), X_test=torch.zeros(0, 2), y_test=torch.zeros(0))),
     "data.X_test"),
])
def test_every_bad_argument_elsewhere_is_refused_with_its_name(call, name):
    with pytest.raises((ValueError, TypeError), match=rf"\b{name}\b"):
        call()


def test_datasets_accept_every_valid_edge():
    for name in DATASETS:
        data = make_dataset(name, n_points=21, noise=0.5, train_fraction=0.1)
        assert len(data.X_train) >= 2 and len(data.X_test) >= 2  # at least one point per class in each split
    assert isinstance(make_dataset(n_points=20, train_fraction=0.9), PlaygroundData)
