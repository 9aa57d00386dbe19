# SPDX-License-Identifier: BSD-3-Clause
"""Speed of a FreeNet against an equal-width MLP, both trained through skorch.

What is compared
----------------
For each width ``k`` (default 30, 100 and 300) this script trains, in ONE process and
with interleaved repeats:

- ``mlp``: ``Linear(784, k) -> ReLU -> Linear(k, 10)``;
- ``freenet``: a FreeNet of ``k`` neurons with a dense strictly lower triangular
  adjacency (the worst case for the recurrence), whose recurrence uses the numba
  kernels (``backend="numba"``);
- ``freenet-torch``: the same FreeNet with the plain torch backend
  (``backend="torch"``), to show the gap the compiled kernels close.

All are ``skorch.NeuralNetClassifier`` with Adam, batch size 128, cross-entropy, on
the same synthetic data of MNIST shape (784 float32 features, 10 classes). A skorch
callback times every training step (forward + backward + Adam step) between
``on_batch_begin`` and ``on_batch_end``; the first epoch of every model is a
warm-up and the report gives medians. Inference is the median time of one forward
pass on a batch of 128 under ``torch.no_grad()``.

The FreeNet is ``sklearn_freenets.nn.FreeNetModule`` with the dense graph.

How to run
----------
::

    python benchmarks/bench_speed.py                 # k = 30 100 300
    python benchmarks/bench_speed.py --ks 100 --repeats 7
    python benchmarks/bench_speed.py --threads 1 --clock thread   # shared machine

Both models use torch's default thread count unless ``--threads`` is given. Shared
or noisy cores blur the absolute numbers, and BLAS settings (``OMP_NUM_THREADS``,
``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``) change them, so compare only the
ratios printed by one run: every ratio is measured side by side in the same process.
On a loaded machine use ``--threads 1 --clock thread``: the CPU time of the calling
thread (which runs all the work with one torch thread) hardly depends on other
processes, while wall-clock medians can swing by 2x. The final table also gives the
spread of the step ratio (its 25th-75th percentile range over the timed epochs).

Whole fits (``--whole-fit``)
----------------------------
The same data and widths through the estimator, timed as whole ``fit`` calls
(``--fit-epochs`` epochs, default 5, no early stop, batch 128, interleaved
repeats, medians): ``FreeNetClassifier(k, initial_graph="dense",
evolve_rounds=0)`` against ``FreeNetClassifier(k, initial_graph="empty",
evolve_rounds=0)`` (the equal-width MLP through the identical training loop) and
against the skorch MLP above fitted for the same epochs (skorch's own loop, with
its DataLoader).

What counts as a pass
---------------------
A training step of the FreeNet (numba backend) at ``k=100`` takes at most 1.2 times
that of the MLP (``train ratio <= 1.2``); the work floor is about 1.13x for training
and 1.06x for inference at ``k=100``. A whole fit of the dense FreeNet at ``k=100``
takes at most 1.15x that of the skorch MLP.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback

from sklearn_freenets import FreeNetClassifier
from sklearn_freenets.nn import ACTIVATIONS, FreeNetModule

N_FEATURES = 784
N_CLASSES = 10
_clock = time.perf_counter


class StepTimer(Callback):
    """Record the wall time of every training step.

    Parameters
    ----------
    times : list of float
        List the step durations, in seconds, are appended to.
    """

    def __init__(self, times: list[float]) -> None:
        self.times = times

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self._t0 = _clock()

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.times.append(_clock() - self._t0)


class MLP(torch.nn.Module):
    """``Linear(n_features, k) -> ReLU -> Linear(k, n_outputs)``."""

    def __init__(self, n_features: int, k: int, n_outputs: int) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, k)
        self.out = torch.nn.Linear(k, n_outputs)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(X)))


def skorch_net(
    module: type, k: int, args: argparse.Namespace, max_epochs: int, **params
) -> NeuralNetClassifier:
    """A skorch classifier of width ``k`` with the benchmark's optimizer and data."""
    return NeuralNetClassifier(
        module,
        module__n_features=N_FEATURES,
        module__k=k,
        module__n_outputs=N_CLASSES,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        optimizer__fused=args.optimizer == "adam-fused",
        lr=1e-3,
        batch_size=args.batch_size,
        max_epochs=max_epochs,
        train_split=None,
        verbose=0,
        **params,
    )


def _time_inference(module: torch.nn.Module, X: torch.Tensor, n: int) -> list[float]:
    module.eval()
    times = []
    with torch.no_grad():
        for _ in range(n):
            t0 = _clock()
            module(X)
            times.append(_clock() - t0)
    module.train()
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[30, 100, 300])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-batches", type=int, default=10, help="steps per epoch")
    parser.add_argument("--repeats", type=int, default=15, help="timed epochs each")
    parser.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    parser.add_argument("--no-torch-backend", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--clock",
        default="wall",
        choices=["wall", "thread"],
        help="wall clock, or CPU time of the calling thread (needs --threads 1)",
    )
    parser.add_argument(
        "--optimizer",
        choices=["adam-fused", "adam"],
        default="adam-fused",
        help="Adam for both models; fused is the estimators' default on CPU and CUDA",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--whole-fit", action="store_true", help="time whole fits")
    parser.add_argument("--fit-epochs", type=int, default=5)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.clock == "thread" and torch.get_num_threads() != 1:
        parser.error("--clock thread needs --threads 1")
    global _clock
    _clock = time.thread_time if args.clock == "thread" else time.perf_counter

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    n = args.batch_size * args.n_batches
    X = rng.random((n, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, size=n).astype(np.int64)
    X_batch = torch.from_numpy(X[: args.batch_size])

    print(
        f"# torch {torch.__version__}, threads={torch.get_num_threads()}, "
        f"clock={args.clock}"
    )
    if args.whole_fit:
        whole_fits(args, X, y)
        return
    print(f"# FreeNet module: FreeNetModule; activation={args.activation}")
    print(
        f"# batch={args.batch_size}, steps/epoch={args.n_batches}, "
        f"timed epochs={args.repeats} (+1 warm-up), medians in ms"
    )

    variants = ["numba"] + ([] if args.no_torch_backend else ["torch"])
    header = (
        f"{'k':>5} {'mlp train':>10} {'fn train':>9} {'ratio':>6} "
        f"{'mlp infer':>10} {'fn infer':>9} {'ratio':>6}"
    )
    if "torch" in variants:
        header += f" {'torch-be train':>15} {'ratio':>6} {'torch/numba':>11}"
    print(header)
    final: list[str] = []
    for k in args.ks:
        models: dict[str, tuple[NeuralNetClassifier, list[float], str]] = {}
        specs: list[tuple[str, type, dict, str]] = [("mlp", MLP, {}, "auto")]
        for backend in variants:
            extra = {"activation": args.activation, "backend": backend}
            specs.append((f"fn-{backend}", FreeNetModule, extra, backend))
        for name, cls, extra, backend in specs:
            times: list[float] = []
            params = {f"module__{key}": val for key, val in extra.items()}
            net = skorch_net(
                cls, k, args, max_epochs=1, callbacks=[StepTimer(times)], **params
            )
            models[name] = (net, times, backend)
        # Warm-up epoch (compiles the kernels), then interleaved timed epochs.
        infer: dict[str, list[float]] = {name: [] for name in models}
        for rep in range(args.repeats + 1):
            for name, (net, times, _) in models.items():
                if rep == 0:
                    net.fit(X, y)
                    times.clear()
                    _time_inference(net.module_, X_batch, 5)
                else:
                    net.partial_fit(X, y)
                    infer[name] += _time_inference(net.module_, X_batch, 20)
        med = {name: 1e3 * statistics.median(t) for name, (_, t, _) in models.items()}
        # Spread of the train ratio: per timed epoch, median step ratio.
        n_b = args.n_batches
        epoch_ratios = [
            statistics.median(models["fn-numba"][1][e * n_b : (e + 1) * n_b])
            / statistics.median(models["mlp"][1][e * n_b : (e + 1) * n_b])
            for e in range(args.repeats)
        ]
        q25, _, q75 = statistics.quantiles(epoch_ratios, n=4)
        inf = {name: 1e3 * statistics.median(t) for name, t in infer.items()}
        row = (
            f"{k:>5} {med['mlp']:>10.3f} {med['fn-numba']:>9.3f} "
            f"{med['fn-numba'] / med['mlp']:>6.2f} {inf['mlp']:>10.3f} "
            f"{inf['fn-numba']:>9.3f} {inf['fn-numba'] / inf['mlp']:>6.2f}"
        )
        if "torch" in variants:
            row += (
                f" {med['fn-torch']:>15.3f} {med['fn-torch'] / med['mlp']:>6.2f}"
                f" {med['fn-torch'] / med['fn-numba']:>11.2f}"
            )
        print(row, flush=True)
        final.append(
            f"{k:>5} {med['mlp']:>10.3f} {med['fn-numba']:>9.3f} "
            f"{med['fn-numba'] / med['mlp']:>6.2f} {q25:>5.2f}-{q75:<5.2f} "
            f"{inf['mlp']:>10.3f} {inf['fn-numba']:>9.3f} "
            f"{inf['fn-numba'] / inf['mlp']:>6.2f}"
        )
    print()
    print("# final table (medians in ms; spread = 25th-75th percentile of the")
    print("# per-epoch train ratio)")
    print(
        f"{'k':>5} {'mlp train':>10} {'fn train':>9} {'ratio':>6} {'spread':^11} "
        f"{'mlp infer':>10} {'fn infer':>9} {'ratio':>6}"
    )
    for line in final:
        print(line)
    print("# pass: train ratio (fn train / mlp train) <= 1.2 at k=100")


def whole_fits(args: argparse.Namespace, X: np.ndarray, y: np.ndarray) -> None:
    """Time whole estimator fits of the dense FreeNet, the FCNN and a skorch MLP."""
    print(
        f"# whole fits: {args.fit_epochs} epochs of {len(X)} rows, batch "
        f"{args.batch_size}, {args.repeats} interleaved repeats, medians in s"
    )
    print(
        f"{'k':>5} {'skorch mlp':>11} {'fcnn':>8} {'freenet':>8} "
        f"{'fn/mlp':>7} {'fn/fcnn':>8}"
    )
    common = dict(
        evolve_rounds=0,
        max_epochs=args.fit_epochs,
        n_iter_no_change=np.inf,
        batch_size=args.batch_size,
        lr=1e-3,
        activation=args.activation,
        random_state=args.seed,
    )
    for k in args.ks:
        fits = {
            "mlp": lambda k=k: skorch_net(MLP, k, args, max_epochs=args.fit_epochs).fit(
                X, y
            ),
            "fcnn": lambda k=k: FreeNetClassifier(
                k, initial_graph="empty", **common
            ).fit(X, y),
            "freenet": lambda k=k: FreeNetClassifier(
                k, initial_graph="dense", **common
            ).fit(X, y),
        }
        times: dict[str, list[float]] = {name: [] for name in fits}
        for rep in range(args.repeats + 1):
            for name, fit in fits.items():
                t0 = _clock()
                fit()
                if rep:  # the first round is a warm-up
                    times[name].append(_clock() - t0)
        med = {name: statistics.median(t) for name, t in times.items()}
        print(
            f"{k:>5} {med['mlp']:>11.3f} {med['fcnn']:>8.3f} {med['freenet']:>8.3f} "
            f"{med['freenet'] / med['mlp']:>7.2f} {med['freenet'] / med['fcnn']:>8.2f}",
            flush=True,
        )
    print("# pass: fn/mlp (whole fit of the dense FreeNet over the skorch MLP)")
    print("# <= 1.15 at k=100")


if __name__ == "__main__":
    main()
