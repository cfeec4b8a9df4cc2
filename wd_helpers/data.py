"""Data: the seeded weight-decay regression (the d2l setting) and fast minibatches."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class RegressionData:
    """Train and test splits of y = Xw* + b* + noise. X: (n, d), y: (n, 1)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    true_w: torch.Tensor
    true_b: float

    @property
    def num_inputs(self) -> int:
        return self.X_train.shape[1]


def synthetic_regression(
    *,
    n_train: int = 20,
    n_test: int = 100,
    num_inputs: int = 200,
    true_w_value: float = 0.01,
    true_b: float = 0.05,
    noise: float = 0.01,
    generator: torch.Generator | None = None,
) -> RegressionData:
    """y = 0.05 + Σ 0.01·xᵢ + ε, x ~ N(0, I), ε ~ N(0, noise²): few examples, many features.

    With 20 examples and 200 features a linear model can fit the training set exactly,
    in many ways, and nearly all of them generalise badly: the setting to overfit in.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test), ("num_inputs", num_inputs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not noise >= 0.0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    true_w = torch.full((num_inputs, 1), float(true_w_value))

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        X = torch.randn(n, num_inputs, generator=generator)
        y = X @ true_w + true_b + noise * torch.randn(n, 1, generator=generator)
        return X, y

    X_train, y_train = draw(n_train)
    X_test, y_test = draw(n_test)
    return RegressionData(X_train, y_train, X_test, y_test, true_w, float(true_b))


def minibatch_indices(
    n: int, batch_size: int, *, generator: torch.Generator | None = None, shuffle: bool = True
) -> tuple[torch.Tensor, ...]:
    """One epoch of minibatches as index tensors: a shuffled 0..n-1 cut into batch_size pieces.

    Slicing ``X[idx]`` with these is what a DataLoader does for in-memory tensors, without
    its per-batch Python overhead; the last batch is smaller when batch_size does not divide n.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be an integer in [1, {n}], got {batch_size!r}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return order.split(batch_size)
