"""A TensorFlow-Playground-like experiment: 2-D toy data, a small MLP on chosen input features, trained
with a chosen optimizer, penalty and dropout; deterministic, resumable and fast enough to animate.

``make_dataset`` draws the points (TF Playground's generators, seeded), ``PlaygroundNet`` is the network,
``Run`` trains it a few epochs at a time (``Run(**settings).step(10)`` then ``.step(27)`` gives the numbers of
one ``.step(37)``, bit for bit), ``train`` is one whole run. Every random number comes from a generator derived
from ``seed`` (``seeding.derived_generator``): the points, the initial weights, the minibatch order and the
dropout masks each have their own stream, and torch's global generator is never used.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from . import init, validate
from .device import on_course_device
from .optim import SGD, Adam, AdamW, Momentum
from .regularizers import dropout as inverted_dropout
from .regularizers import penalty_grad
from .seeding import derived_generator
from .threads import on_course_threads

DATASETS = ("circle", "xor", "gauss", "spiral")
FEATURES = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂", "sin(x1)": "sin x₁",
            "sin(x2)": "sin x₂"}  # name -> label shown beside the input neuron
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
OPTIMIZERS = ("SGD", "Momentum", "Adam", "AdamW")
PENALTIES = ("none", "l1", "l2")
MAX_LAYERS, MAX_WIDTH = 4, 8

EXTENT = 6.0  # the points and the drawn surfaces lie in [-EXTENT, EXTENT]²
N_POINTS_RANGE = (20, 10_000)  # 20: at least one training and one test point per class at any train_fraction
MAX_EPOCHS = 100_000  # far more than anyone watches: refuses a typo (1e9) up front
MAX_RESOLUTION = 500
DIVERGED_LOSS = 1e6  # a cross-entropy above this is not training any more

_FEATURE_FUNCTIONS = {
    "x1": lambda x1, x2: x1, "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1, "x2^2": lambda x1, x2: x2 * x2, "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: torch.sin(x1), "sin(x2)": lambda x1, x2: torch.sin(x2),
}
_ACTIVATION_FUNCTIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda z: z}
_ACTIVATION_GRADIENTS = {  # f'(z) written with H = f(z), as autograd computes it
    "relu": lambda H: H > 0, "tanh": lambda H: 1 - H * H, "sigmoid": lambda H: H * (1 - H), "linear": lambda H: 1.0,
}


# ---------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)  # eq=False: == on tensors is elementwise, so the generated __eq__ would raise
class PlaygroundData:
    """Points of one toy data set: X_* float32 (n, 2) in [-6, 6]², y_* float32 (n,) in {0., 1.}."""

    name: str
    noise: float
    seed: int
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    def __repr__(self) -> str:  # the points themselves would fill the screen
        return (f"PlaygroundData(name={self.name!r}, noise={self.noise}, seed={self.seed}, "
                f"n_train={len(self.X_train)}, n_test={len(self.X_test)})")


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator, dtype=torch.float64) * (high - low) + low  # U(low, high), float64


def _circle(n1: int, n0: int, noise: float, g: torch.Generator):
    """Class 1 uniform in radius inside 2.5, class 0 in the ring 3.5..5; the label is read at the point moved by
    U(-5, 5)·noise in each coordinate (TF's label noise: the drawn point stays where it was)."""
    r = torch.cat([_uniform(n1, 0.0, 2.5, g), _uniform(n0, 3.5, 5.0, g)])
    angle = _uniform(n1 + n0, 0.0, 2 * math.pi, g)
    X = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)  # (n, 2)
    moved = X + _uniform(2 * (n1 + n0), -5.0, 5.0, g).reshape(-1, 2) * noise
    return X, (moved.norm(dim=1) < 2.5).double()


def _xor(n1: int, n0: int, noise: float, g: torch.Generator):
    """|x|, |y| ~ U(0, 5) + 0.3 (kept off the axes); class 1 in the quadrants where x·y > 0. The label is read at
    the point moved by U(-5, 5)·noise in each coordinate."""
    n = n1 + n0
    size = _uniform(2 * n, 0.0, 5.0, g).reshape(n, 2) + 0.3
    sign_x = torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0).double()
    same = torch.cat([torch.ones(n1), -torch.ones(n0)]).double()  # class 1: sign y = sign x
    X = size * torch.stack([sign_x, sign_x * same], dim=1)
    moved = X + _uniform(2 * n, -5.0, 5.0, g).reshape(n, 2) * noise
    return X, (moved[:, 0] * moved[:, 1] >= 0).double()


def _gauss(n1: int, n0: int, noise: float, g: torch.Generator):
    """Two Gaussians, class 1 around (2, 2), class 0 around (-2, -2), variance 0.5 + 7·noise (0.5 to 4, as TF),
    truncated to the square (drawn by the inverse CDF, so a point never sits on the border)."""
    std = math.sqrt(0.5 + 7.0 * noise)
    centre = torch.cat([torch.full((n1, 2), 2.0), torch.full((n0, 2), -2.0)]).double()
    low, high = torch.special.ndtr((-EXTENT - centre) / std), torch.special.ndtr((EXTENT - centre) / std)
    u = low + (high - low) * torch.rand(centre.shape, generator=g, dtype=torch.float64)
    X = centre + std * torch.special.ndtri(u)
    return X, torch.cat([torch.ones(n1), torch.zeros(n0)]).double()


def _spiral(n1: int, n0: int, noise: float, g: torch.Generator):
    """Two interleaved spirals r = 5i/n, θ = 3.5π i/n (+π for class 0), each coordinate moved by U(-1, 1)·noise."""
    arms = []
    for n, turn in ((n1, 0.0), (n0, math.pi)):
        i = torch.arange(n, dtype=torch.float64)
        r, theta = i / n * 5, 1.75 * i / n * 2 * math.pi + turn
        arms.append(torch.stack([r * torch.sin(theta), r * torch.cos(theta)], dim=1))
    X = torch.cat(arms) + _uniform(2 * (n1 + n0), -1.0, 1.0, g).reshape(-1, 2) * noise
    return X, torch.cat([torch.ones(n1), torch.zeros(n0)]).double()


_GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}


def _check_data_settings(label: str, name, n_points, noise, train_fraction) -> tuple[str, int, float, float]:
    """make_dataset's arguments, checked; ``label`` names the data set's argument ("name", or Run's "dataset")."""
    return (validate.choice(label, name, DATASETS),
            validate.integer("n_points", n_points, low=N_POINTS_RANGE[0], high=N_POINTS_RANGE[1]),
            validate.number("noise", noise, low=0.0, high=0.5),
            validate.number("train_fraction", train_fraction, low=0.1, high=0.9))


@on_course_device
def make_dataset(name: str = "circle", *, n_points: int = 500, noise: float = 0.0, train_fraction: float = 0.5,
                 seed: int = 0) -> PlaygroundData:
    """One of TF Playground's classification data sets, split into training and test points.

    Half the points come from each class's generator (⌈n/2⌉ and ⌊n/2⌋); with noise > 0, circle and xor read the
    label at a randomly moved point, so some labels flip, as in TF. The split is stratified: ``train_fraction``
    of each class's points (rounded) are training points. The same arguments give the same points: every draw
    comes from the seed's "playground data" stream.
    """
    name, n_points, noise, train_fraction = _check_data_settings("name", name, n_points, noise, train_fraction)
    seed = validate.seed(seed)
    g = derived_generator(seed, "playground data")
    n1, n0 = n_points - n_points // 2, n_points // 2
    X, y = _GENERATORS[name](n1, n0, noise, g)
    X = X.clamp(-EXTENT, EXTENT)  # no-op for every generator (radii <= 5.5, gauss truncated): float64 rounding
    train, test = [], []
    for start, count in ((0, n1), (n1, n0)):  # stratified by the generating class
        order = start + torch.randperm(count, generator=g)
        k = int(train_fraction * count + 0.5)
        train.append(order[:k])
        test.append(order[k:])
    train, test = torch.cat(train), torch.cat(test)
    train, test = train[torch.randperm(len(train), generator=g)], test[torch.randperm(len(test), generator=g)]
    return PlaygroundData(name, noise, seed, X[train].float(), y[train].float(), X[test].float(), y[test].float())


def _check_features(features) -> tuple[str, ...]:
    """A non-empty sequence of distinct names from FEATURES, as a tuple."""
    if isinstance(features, str | bytes | Mapping) or not isinstance(features, Iterable):
        raise TypeError(f"features must be a sequence of feature names such as ('x1', 'x2'), "
                        f"got {type(features).__name__} {features!r:.60}")
    features = tuple(features)
    if not features:
        raise ValueError(f"features must name at least one of {list(FEATURES)}, got none")
    for name in features:
        if not isinstance(name, str) or name not in FEATURES:
            raise ValueError(f"features must be names from {list(FEATURES)}, got {name!r:.60}")
    duplicates = sorted({name for name in features if features.count(name) > 1})
    if duplicates:
        raise ValueError(f"features must be distinct, got {duplicates[0]!r} more than once in {features}")
    return features


def _check_points(name: str, X) -> torch.Tensor:
    """Raw 2-D points: a finite float tensor of shape (n, 2), returned in float32, the network's dtype."""
    X = validate.finite_tensor(name, X, ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"{name} must hold points (x1, x2), shape (n, 2), got {tuple(X.shape)}")
    return X.float()


def _features(X: torch.Tensor, features: tuple[str, ...]) -> torch.Tensor:
    x1, x2 = X[:, 0], X[:, 1]
    return torch.stack([_FEATURE_FUNCTIONS[name](x1, x2) for name in features], dim=1)  # (n, len(features))


@on_course_device
def feature_matrix(X: torch.Tensor, features) -> torch.Tensor:
    """The input features of points X (n, 2): float32, shape (n, len(features)), one column per name, in the order
    given."""
    return _features(_check_points("X", X), _check_features(features))


# ---------------------------------------------------------------- the network


def _check_layers(layers) -> tuple[int, ...]:
    accepted = f"layers must have at most {MAX_LAYERS} hidden layers of 1 to {MAX_WIDTH} neurons"
    if isinstance(layers, str | bytes | Mapping) or not isinstance(layers, Iterable):
        raise TypeError(f"{accepted}, such as (4, 2); got {type(layers).__name__} {layers!r:.60}")
    widths = tuple(layers)
    for i, width in enumerate(widths):
        try:
            validate.integer(f"layers[{i}]", width, low=1, high=MAX_WIDTH)
        except ValueError:
            raise ValueError(f"{accepted}, got {widths!r:.60}") from None
    if len(widths) > MAX_LAYERS:
        raise ValueError(f"{accepted}, got {widths!r:.60}")
    return tuple(int(width) for width in widths)


def _check_dropout(rates, num_layers: int) -> tuple[float, ...]:
    """One rate in [0, 1) for every hidden layer, or one per hidden layer: a tuple of ``num_layers`` rates."""
    accepted = f"dropout must be a rate in [0, 1) or a sequence of {num_layers} rates, one per hidden layer"
    several = isinstance(rates, Iterable | torch.Tensor) and not isinstance(rates, str | bytes | Mapping)
    several = several and getattr(rates, "ndim", 1) != 0  # a 0-d tensor or array is one rate
    values = tuple(rates) if several else (rates,)
    if several and len(values) != num_layers:
        raise ValueError(f"{accepted}, got {len(values)} rates {values!r:.60}")
    checked = []
    for rate in values:
        try:  # a bool, a string: validate's TypeError naming dropout
            checked.append(validate.number("dropout", rate, low=0.0, high=1.0, high_open=True))
        except ValueError:
            raise ValueError(f"{accepted}, got {rate!r:.60}") from None
    return tuple(checked) if several else tuple(checked) * num_layers


class PlaygroundNet(nn.Module):
    """features(X) → [Linear → activation → dropout] × len(layers) → Linear → one logit. X: (n, 2) → (n,).

    ``layers`` holds 0 to 4 hidden widths of 1 to 8 (no hidden layer: logistic regression on the features).
    Initialisation, deterministic from ``seed`` (its "playground init" stream): hidden weights He-uniform
    (``init.kaiming_uniform``, Var(w) = 2/fan_in) for relu, Xavier-uniform (``init.xavier_uniform``, gain 1)
    for tanh, sigmoid and linear; the output layer Xavier-uniform; every bias 0. ``dropout`` is inverted
    dropout after each hidden activation (``regularizers.dropout``), active in ``train()`` mode only, its
    masks drawn from ``self.generator`` (the seed's "playground dropout" stream), so a run repeats exactly.
    """

    @on_course_device
    def __init__(self, features=("x1", "x2"), layers=(4, 2), activation: str = "tanh", dropout=0.0, *,
                 seed: int = 0):
        super().__init__()
        self.features = _check_features(features)
        self.layers = _check_layers(layers)
        self.activation = validate.choice("activation", activation, ACTIVATIONS)
        self.dropout = _check_dropout(dropout, len(self.layers))
        self.seed = validate.seed(seed)
        init_generator = derived_generator(self.seed, "playground init")
        self.generator = derived_generator(self.seed, "playground dropout")
        sizes = [len(self.features), *self.layers, 1]
        self.linears = nn.ModuleList()
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shape = (fan_out, fan_in)
            if self.activation == "relu" and i < len(self.layers):
                weight = init.kaiming_uniform(shape, nonlinearity="relu", generator=init_generator)
            else:
                weight = init.xavier_uniform(shape, generator=init_generator)
            layer = nn.utils.skip_init(nn.Linear, fan_in, fan_out, dtype=torch.float32)
            with torch.no_grad():
                layer.weight.copy_(weight)
                layer.bias.zero_()
            self.linears.append(layer)

    def _forward(self, X_features: torch.Tensor, training: bool):
        """From the feature matrix (n, d): the logits (n,), the last hidden output after dropout (the output
        layer's input), and per hidden layer (its input, its activation H, its dropout mask M or None)."""
        A, cache, f = X_features, [], _ACTIVATION_FUNCTIONS[self.activation]
        for layer, p in zip(self.linears, self.dropout):  # zip stops at the last hidden layer
            H = f(nn.functional.linear(A, layer.weight, layer.bias))  # (n, width)
            # M ∈ {0, 1/(1 − p)}: regularizers.dropout's mask (its draws from self.generator), kept for backprop
            M = inverted_dropout(torch.ones_like(H), p, generator=self.generator) if training and p > 0 else None
            cache.append((A, H, M))
            A = H if M is None else H * M
        out = self.linears[len(self.layers)]
        return nn.functional.linear(A, out.weight, out.bias).squeeze(1), A, cache

    def _logits(self, X_features: torch.Tensor) -> torch.Tensor:
        """Logits (n,) from the feature matrix (n, d), with dropout in train() mode."""
        return self._forward(X_features, self.training)[0]

    @torch.no_grad()
    def _backprop(self, X_features: torch.Tensor, y: torch.Tensor) -> None:
        """Set every parameter's .grad to the gradient of the mean binary cross-entropy of one minibatch
        (features (B, d), labels (B,)), dropout on.

        Backpropagation written out, as autograd computes it (the tests compare the two): on a network this
        small, autograd's bookkeeping costs more than the arithmetic (measured with the TF defaults, one core:
        3.9 ms an epoch instead of 6.9).
        """
        s, A, cache = self._forward(X_features, training=True)  # logits s (B,), output layer input A (B, w)
        dS = (torch.sigmoid(s) - y) / len(y)  # ∂loss/∂s_i = (σ(s_i) − y_i) / B
        linears, f_prime = list(self.linears), _ACTIVATION_GRADIENTS[self.activation]
        out = linears.pop()
        out.weight.grad = dS.unsqueeze(0) @ A  # (1, w): ∂loss/∂W = dSᵀ A
        out.bias.grad = dS.sum(0, keepdim=True)  # (1,)
        dA = dS.unsqueeze(1) * out.weight  # (B, w): ∂loss/∂A = dS W
        for layer, (A_in, H, M) in zip(reversed(linears), reversed(cache)):
            dH = dA if M is None else dA * M  # through dropout: the same mask
            dZ = dH * f_prime(H)  # through the activation: f'(z), computed from H = f(z)
            layer.weight.grad = dZ.T @ A_in  # (width, fan_in)
            layer.bias.grad = dZ.sum(0)  # (width,)
            dA = dZ @ layer.weight  # (B, fan_in): ∂loss/∂(layer input)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (n,) of raw points X (n, 2); the features are computed here."""
        return self._logits(feature_matrix(X, self.features))

    @torch.no_grad()
    def hidden_outputs(self, X: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden layer's activations (n, width) at raw points X (n, 2), in eval mode (no dropout)."""
        return [H for _, H, _ in self._forward(feature_matrix(X, self.features), training=False)[2]]

    def weights(self) -> list[nn.Parameter]:
        """The weight matrices (out, in), input layer first, output layer last; not the biases."""
        return [layer.weight for layer in self.linears]

    def biases(self) -> list[nn.Parameter]:
        return [layer.bias for layer in self.linears]

    def extra_repr(self) -> str:
        return (f"features={self.features}, layers={self.layers}, activation={self.activation!r}, "
                f"dropout={self.dropout}, seed={self.seed}")


# ---------------------------------------------------------------- training


@dataclass
class PlaygroundHistory:
    """Per-epoch data loss (mean binary cross-entropy, without the penalty) and accuracy (threshold 0.5).

    Both splits are measured after each epoch, in eval mode (no dropout) on the whole split: the training loss
    is not the average of the epoch's minibatch losses. When a loss becomes non-finite or exceeds 1e6 the run
    stops: ``diverged_at`` is that epoch (1-based) and the lists hold the epochs before it, all finite numbers.
    ``settings`` are the arguments of ``train`` (``epochs`` aside) that made the run:
    ``train(**history.settings, epochs=history.epochs)`` repeats it.
    """

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    settings: dict = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Epochs recorded (the diverged one excluded)."""
        return len(self.train_loss)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def gap(self) -> float:
        """Last test loss − last training loss (NaN before the first epoch)."""
        return self.test_loss[-1] - self.train_loss[-1] if self.train_loss else math.nan


def _bounded(name: str, value, low: float, high: float, **open_ends) -> float:
    return validate.number(name, value, low=low, high=high, **open_ends)


def _check_betas(betas) -> tuple[float, float]:
    if isinstance(betas, str | bytes) or not isinstance(betas, Iterable | torch.Tensor):
        raise TypeError(f"betas must be a pair (beta1, beta2), each in [0, 1), got {type(betas).__name__} "
                        f"{betas!r:.60}")
    values = validate.numbers_of("betas", betas, low=0.0, high=1.0, high_open=True)
    if len(values) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), each in [0, 1), got {len(values)} values")
    return values[0], values[1]


def _check_data(data) -> PlaygroundData:
    if not isinstance(data, PlaygroundData):
        raise TypeError(f"data must be a PlaygroundData (from make_dataset) or None, got {type(data).__name__}")
    for split in ("train", "test"):
        X = _check_points(f"data.X_{split}", getattr(data, f"X_{split}"))
        y = getattr(data, f"y_{split}")
        if not isinstance(y, torch.Tensor) or y.shape != (len(X),) or not bool(((y == 0) | (y == 1)).all()):
            raise ValueError(f"data.y_{split} must be a tensor of {len(X)} labels in {{0., 1.}}")
        if len(X) == 0:
            raise ValueError(f"data.X_{split} must hold at least one point, got 0")
    return data


class Run:
    """A training run that can be continued: ``Run(**settings).step(10)`` then ``.step(27)`` gives exactly the
    same numbers (bit for bit) as one ``.step(37)`` and as ``train(**settings, epochs=37)``.

    Each epoch shuffles the training points (the seed's "playground minibatches" stream) and takes one
    optimizer step per ``batch_size`` slice (the last may be smaller) on the mean binary cross-entropy plus
    ``lambd`` times the penalty of every weight matrix (never the biases): "l2" adds λ·½‖W‖², "l1" λ·‖W‖₁.
    ``optimizer``: wd_helpers.optim's SGD, Momentum (``momentum``), Adam (``betas``) or AdamW (``betas``, and
    ``weight_decay``, decoupled, on the weight matrices only; the other optimizers ignore ``weight_decay``).
    ``data``: train on these points instead of ``make_dataset(dataset, n_points=, noise=, train_fraction=,
    seed=)``; then the settings record the data's own name, noise, size and split.

    Accepted ranges: noise [0, 0.5], train_fraction [0.1, 0.9], batch_size [1, 100] and at most the number of
    training points, lr (0, 10], lambd [0, 10], momentum and betas [0, 1), weight_decay [0, 10], dropout [0, 1).

    A run that diverges stops (see ``PlaygroundHistory``) and keeps its last weights, inf or NaN perhaps:
    ``predict`` and ``surface`` then give NaN where the network does.
    """

    @on_course_device
    def __init__(self, dataset: str = "circle", *, noise: float = 0.0, train_fraction: float = 0.5,
                 batch_size: int = 10, features=("x1", "x2"), layers=(4, 2), activation: str = "tanh",
                 penalty: str = "none", lambd: float = 0.0, dropout=0.0, optimizer: str = "SGD", lr: float = 0.03,
                 momentum: float = 0.9, betas=(0.9, 0.999), weight_decay: float = 0.01, seed: int = 0,
                 n_points: int = 500, data: PlaygroundData | None = None):
        # every argument is checked before anything is built
        dataset, n_points, noise, train_fraction = _check_data_settings("dataset", dataset, n_points, noise,
                                                                        train_fraction)
        layers = _check_layers(layers)
        one_rate = not isinstance(dropout, Iterable | torch.Tensor) or getattr(dropout, "ndim", 1) == 0
        rates = _check_dropout(dropout, len(layers))
        settings = dict(
            dataset=dataset, noise=noise, train_fraction=train_fraction,
            batch_size=validate.integer("batch_size", batch_size),  # its bound, below, needs the data
            features=_check_features(features), layers=layers,
            activation=validate.choice("activation", activation, ACTIVATIONS),
            penalty=validate.choice("penalty", penalty, PENALTIES), lambd=_bounded("lambd", lambd, 0.0, 10.0),
            dropout=validate.number("dropout", dropout) if one_rate else rates,
            optimizer=validate.choice("optimizer", optimizer, OPTIMIZERS),
            lr=_bounded("lr", lr, 0.0, 10.0, low_open=True),
            momentum=_bounded("momentum", momentum, 0.0, 1.0, high_open=True), betas=_check_betas(betas),
            weight_decay=_bounded("weight_decay", weight_decay, 0.0, 10.0), seed=validate.seed(seed),
            n_points=n_points, data=data,
        )
        seed = settings["seed"]
        if data is None:
            data = make_dataset(dataset, n_points=n_points, noise=noise, train_fraction=train_fraction, seed=seed)
        else:  # the settings describe the points trained on
            data = _check_data(data)
            settings.update(dataset=data.name, noise=data.noise, n_points=len(data.X_train) + len(data.X_test))
            settings["train_fraction"] = len(data.X_train) / settings["n_points"]
        n_train = len(data.X_train)
        if not 1 <= settings["batch_size"] <= min(100, n_train):
            raise ValueError(f"batch_size must be an integer in [1, 100] and at most the {n_train} training "
                             f"points, got {batch_size!r}")
        self.net = PlaygroundNet(settings["features"], layers, settings["activation"], rates, seed=seed)
        self.data = data
        self.history = PlaygroundHistory(settings=settings)
        self.epoch = 0  # epochs trained, the diverged one included
        self.batch_generator = derived_generator(seed, "playground minibatches")
        self.optimizer = self._make_optimizer(settings)
        self._penalty = None if settings["penalty"] == "none" or settings["lambd"] == 0 else settings["penalty"]
        self._weights = self.net.weights()
        self._lambd, self._batch_size = settings["lambd"], settings["batch_size"]
        # the features of every point, computed once: the training loop only slices them
        # (float32 whatever the data's dtype: the network's)
        self._X_train = _features(data.X_train.float(), self.net.features)  # (n_train, d)
        self._X_all = torch.cat([self._X_train, _features(data.X_test.float(), self.net.features)])  # (n, d)
        self._y_train, self._y_all = data.y_train.float(), torch.cat([data.y_train, data.y_test]).float()
        self.net.eval()

    def _make_optimizer(self, settings: dict) -> torch.optim.Optimizer:
        name, lr = settings["optimizer"], settings["lr"]
        if name == "SGD":
            return SGD(self.net.parameters(), lr)
        if name == "Momentum":
            return Momentum(self.net.parameters(), lr, momentum=settings["momentum"])
        if name == "Adam":
            return Adam(self.net.parameters(), lr, betas=settings["betas"])
        groups = [{"params": self.net.weights(), "weight_decay": settings["weight_decay"]},  # matrices decay,
                  {"params": self.net.biases(), "weight_decay": 0.0}]  # biases do not
        return AdamW(groups, lr, betas=settings["betas"])

    def _add_penalty_grad(self) -> None:
        """W.grad += λ ∇penalty(W) for every weight matrix: the gradient of λ · Σ penalty(W) added to the loss
        (λW for ½‖W‖², λ sign W for ‖W‖₁, as autograd gives), written out as ``PlaygroundNet._backprop`` is."""
        for W in self._weights:
            W.grad.add_(penalty_grad(W, self._penalty), alpha=self._lambd)

    @torch.no_grad()
    def _epoch(self) -> None:
        """One pass over the shuffled training set, one optimizer step per minibatch.

        A diverging run is caught by the evaluation after the epoch (once a weight is inf or NaN, every later
        loss is too) rather than by reading each minibatch's loss, a ``.item()`` per step.
        """
        order = torch.randperm(len(self._X_train), generator=self.batch_generator)
        X, y = self._X_train[order], self._y_train[order]  # shuffled once: each minibatch is a slice, no copy
        for start in range(0, len(X), self._batch_size):
            self.net._backprop(X[start:start + self._batch_size], y[start:start + self._batch_size])
            if self._penalty is not None:
                self._add_penalty_grad()
            self.optimizer.step()

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float, float, float]:
        """(train_loss, test_loss, train_acc, test_acc) now, in eval mode, on the whole splits; data loss only."""
        self.net.eval()
        n = len(self._X_train)
        logits = self.net._logits(self._X_all)  # (n_train + n_test,): both splits in one pass
        losses = nn.functional.binary_cross_entropy_with_logits(logits, self._y_all, reduction="none")
        correct = ((logits >= 0) == (self._y_all > 0.5)).float()  # p = σ(logit) >= 0.5
        train_loss, test_loss, train_acc, test_acc = torch.stack(
            [losses[:n].mean(), losses[n:].mean(), correct[:n].mean(), correct[n:].mean()]).tolist()
        return train_loss, test_loss, train_acc, test_acc

    @on_course_device
    @on_course_threads  # minibatches of 10: a second thread only waits
    def step(self, epochs: int = 1) -> PlaygroundHistory:
        """Train ``epochs`` more epochs (fewer if the run diverges; none once it has) and return ``self.history``."""
        epochs = validate.integer("epochs", epochs, low=0, high=MAX_EPOCHS)
        history = self.history
        for _ in range(epochs):
            if history.diverged:
                break
            self.epoch += 1
            self._epoch()
            numbers = self.evaluate()
            if not all(map(math.isfinite, numbers[:2])) or max(numbers[:2]) > DIVERGED_LOSS:
                history.diverged_at = self.epoch
                break
            for values, number in zip((history.train_loss, history.test_loss, history.train_acc, history.test_acc),
                                      numbers):
                values.append(number)
        return history

    @on_course_device
    @on_course_threads
    @torch.no_grad()
    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """P(y = 1) (n,) at raw points X (n, 2), in eval mode (the net is left in eval mode)."""
        return torch.sigmoid(self.net.eval()(X))

    @staticmethod
    def _grid(resolution: int):
        resolution = validate.integer("resolution", resolution, low=2, high=MAX_RESOLUTION)
        xs = torch.linspace(-EXTENT, EXTENT, resolution, dtype=torch.float32)
        X1, X2 = torch.meshgrid(xs, xs, indexing="xy")  # X1[i, j] = xs[j], X2[i, j] = ys[i]
        return xs, xs.clone(), torch.stack([X1.flatten(), X2.flatten()], dim=1)  # points (resolution², 2)

    @on_course_device
    def surface(self, resolution: int = 50) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(xs, ys, probs): P(y = 1) on a resolution × resolution grid over [-6, 6]²; probs[i, j] is at
        (xs[j], ys[i]), rows along x2, as ``imshow(probs, origin="lower", extent=(-6, 6, -6, 6))`` draws it."""
        xs, ys, points = self._grid(resolution)
        return xs, ys, self.predict(points).reshape(len(ys), len(xs))

    @on_course_device
    @on_course_threads
    def neuron_surfaces(self, resolution: int = 20) -> list[list[torch.Tensor]]:
        """Each hidden neuron's activation on the grid of ``surface`` (eval mode): [layer][neuron] → (res, res)."""
        xs, ys, points = self._grid(resolution)
        return [[H[:, k].reshape(len(ys), len(xs)) for k in range(H.shape[1])]
                for H in self.net.hidden_outputs(points)]


def train(dataset: str = "circle", *, epochs: int = 100, **settings) -> PlaygroundHistory:
    """One whole run: ``Run(dataset, **settings).step(epochs)``; see ``Run`` for the settings."""
    epochs = validate.integer("epochs", epochs, low=0, high=MAX_EPOCHS)
    return Run(dataset, **settings).step(epochs)
