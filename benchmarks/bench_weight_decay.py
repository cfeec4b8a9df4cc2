"""Weight-decay explorer performance: the figures the README quotes.

    make bench        (or: .venv/bin/python benchmarks/bench_weight_decay.py [--moves N])

Times, on this machine and in one run:
  * one slider move of the weight-decay explorer, uncached (retrain + redraw + PNG for the view),
  * the same move when the value was seen before (cache hit: redraw only),
  * a 64-value λ sweep (one batched training) vs 64 separate trainings,
  * a d2l-style loop (DataLoader, nn.Linear, torch.optim.SGD, evaluation through DataLoaders every
    5 epochs), alone and with d2l's Animator-style plotting (clear and redraw the figure every 5 epochs),
  * one training with 1 and with 2 torch threads (how set_num_threads was chosen).
Ratios are what to compare across machines; absolute times depend on the CPU.
"""

import argparse
import io
import itertools
import os
import statistics
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Sampler, TensorDataset  # noqa: E402

from _timing import median_p95, timed  # noqa: E402
from wd_helpers.data import synthetic_regression  # noqa: E402
from wd_helpers.regularizers import decay_param_groups  # noqa: E402
from wd_helpers import train as train_module  # noqa: E402
from wd_helpers.train import sweep_weight_decay, train_weight_decay  # noqa: E402
from wd_helpers.widgets import LAMBDA_CHOICES, weight_decay_explorer  # noqa: E402


class EpochPermutation(Sampler):
    """Shuffling for a DataLoader: exactly one torch.randperm(n, generator) per epoch.

    What ``shuffle=True`` does, minus two extra draws that would shift the stream: a DataLoader
    given a generator also draws a worker seed from it every epoch, and RandomSampler draws one
    more permutation when it is exhausted.
    """

    def __init__(self, n, generator):
        self.n, self.generator = n, generator

    def __iter__(self):
        return iter(torch.randperm(self.n, generator=self.generator).tolist())

    def __len__(self):
        return self.n


def d2l_style_training(lambd, *, plot, lr=0.003, num_epochs=100, batch_size=5, seed=0):
    """The textbook loop: DataLoaders, autograd, optimizer, evaluation loaders every 5 epochs.

    It draws from the same random stream as ``train_weight_decay`` (data, then w0, then one
    permutation per epoch, see EpochPermutation), so
    the two compute the same numbers and the timing compares like with like. Evaluation goes through
    unshuffled loaders, which draw nothing. Returns the final ‖w‖.
    """
    generator = torch.Generator().manual_seed(seed)
    data = synthetic_regression(generator=generator)
    w0 = torch.randn(200, 1, generator=generator)
    train_set = TensorDataset(data.X_train, data.y_train)
    train_iter = DataLoader(train_set, batch_size, sampler=EpochPermutation(len(train_set), generator))
    train_eval_iter = DataLoader(TensorDataset(data.X_train, data.y_train), batch_size)
    test_iter = DataLoader(TensorDataset(data.X_test, data.y_test), batch_size)
    net = nn.Linear(200, 1)
    with torch.no_grad():
        net.weight.copy_(w0.T)
        net.bias.zero_()
    loss = nn.MSELoss(reduction="none")
    trainer = torch.optim.SGD(decay_param_groups(net, lambd), lr=lr)
    points = []
    figure = plt.figure(figsize=(5, 3.5)) if plot else None

    def evaluate(loader):
        total, count = 0.0, 0
        with torch.no_grad():
            for X, y in loader:
                total += loss(net(X), y).sum().item()
                count += y.numel()
        return total / count

    for epoch in range(num_epochs):
        for X, y in train_iter:
            trainer.zero_grad()
            loss(net(X), y).mean().backward()
            trainer.step()
        if (epoch + 1) % 5 == 0:
            points.append((epoch + 1, evaluate(train_eval_iter), evaluate(test_iter)))
            if plot:  # d2l's Animator: clear the axes, plot every point again, render
                figure.clf()
                ax = figure.add_subplot()
                epochs, train, test = zip(*points)
                ax.plot(epochs, train, label="train")
                ax.plot(epochs, test, label="test")
                ax.set(yscale="log", xlim=(5, num_epochs), xlabel="epoch", ylabel="loss")
                ax.legend()
                figure.savefig(io.BytesIO(), format="png")
    if plot:
        plt.close(figure)
    return net.weight.norm().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60, help="uncached slider moves to time")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs\n")

    explorer = weight_decay_explorer()
    lrs = [0.001, 0.002, 0.003, 0.005, 0.01]
    settings = itertools.cycle(itertools.product(lrs, LAMBDA_CHOICES))
    moves = [next(settings) for _ in range(args.moves)]  # distinct (lr, λ) pairs: every move retrains

    move_times = []
    for setting in moves:
        explorer.sliders["lr"].value = setting[0]  # untimed: only the λ move below is timed
        start = time.perf_counter()
        explorer.sliders["lambd"].value = setting[1]
        move_times.append(time.perf_counter() - start)
    assert explorer.last_error is None
    retrain_times = timed(lambda: explorer.compute((3.0, 0.003, "l2", False)), 20)
    cached = []
    for setting in moves[:20]:  # seen before: a redraw only
        explorer.sliders["lr"].value = setting[0]
        start = time.perf_counter()
        explorer.sliders["lambd"].value = setting[1]
        cached.append(time.perf_counter() - start)

    sweep_time = statistics.median(timed(lambda: sweep_weight_decay(torch.logspace(-3, 2, 64).tolist()), 3))
    single_times = timed(lambda: train_weight_decay(3.0), 20)
    d2l_train = timed(lambda: d2l_style_training(3.0, plot=False), 5)
    d2l_plot = timed(lambda: d2l_style_training(3.0, plot=True), 3)

    threads = {}
    for n in (1, 2, 1, 2):  # interleaved, best of each: the machine is noisy
        train_module.TRAIN_THREADS = n
        best = min(timed(lambda: train_weight_decay(3.0), 10))
        threads[n] = min(threads.get(n, best), best)
    train_module.TRAIN_THREADS = 1

    move_med, move_p95 = median_p95(move_times)
    cached_med, cached_p95 = median_p95(cached)
    single = statistics.median(single_times)
    d2l_train_med, d2l_plot_med = statistics.median(d2l_train), statistics.median(d2l_plot)
    rows = [
        ("slider move, retrain + redraw (uncached)", f"median {move_med * 1e3:6.1f} ms   p95 {move_p95 * 1e3:6.1f} ms"),
        ("  of which retraining (explorer.compute)", f"median {statistics.median(retrain_times) * 1e3:6.1f} ms"),
        ("slider move to a value seen before", f"median {cached_med * 1e3:6.1f} ms   p95 {cached_p95 * 1e3:6.1f} ms"),
        ("one training, train_weight_decay", f"median {single * 1e3:6.1f} ms"),
        ("64-value λ sweep, one batched run", f"{sweep_time * 1e3:6.1f} ms  ({64 * single / sweep_time:.0f}x faster than 64 runs)"),
        ("d2l-style loop, training + eval", f"median {d2l_train_med * 1e3:6.1f} ms"),
        ("d2l-style loop with Animator plotting", f"median {d2l_plot_med * 1e3:6.1f} ms"),
        ("threads: one training, 1 / 2 threads (best)", f"{threads[1] * 1e3:.1f} ms / {threads[2] * 1e3:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    print(f"training:  ours is {d2l_train_med / single:.0f}x faster than the d2l-style loop")
    print(f"slider move (retrain + redraw) is {d2l_plot_med / move_p95:.0f}x faster (at p95) than a d2l-style run with its plot,")
    print(f"                                  {d2l_train_med / move_p95:.0f}x faster than its training alone")
    target = "meets" if move_p95 < 0.1 else "MISSES"
    print(f"target p95 < 100 ms for a slider move: {target} ({move_p95 * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
