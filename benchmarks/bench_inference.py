# SPDX-License-Identifier: BSD-3-Clause
"""Speed of pruned FreeNets (inference, or training steps) against the dense kernels.

What is compared
----------------
For each width ``k`` (default 100 and 300) and each fraction of the
``k (k - 1) / 2`` possible edges kept (default 1.0, 0.5, 0.2, 0.1, 0.05, 0.01 and 0),
a ``FreeNetModule`` (``--features`` inputs, 784 by default, and 10 outputs) with a
randomly pruned graph predicts, under ``torch.no_grad()``, a batch of 128 rows and
a batch of 10000 rows (``--rows``) in two ways:

- ``dense``: the module with its sparse kernels switched off, i.e. the dense
  compiled kernel on ``W * G`` (the cost of the full triangle whatever the
  graph), or for a graph of at most two topological levels the level-by-level
  matrix products;
- ``pruned``: the module's default path, which runs the sparse kernels (work only
  for the kept edges) when the graph is sparse enough for them to pay off and the
  dense path otherwise.

With ``--train`` each call is instead a training step's forward and backward
pass (loss: the mean squared output), e.g. ``--train --features 13 --ks 30 100
300 --rows 64 200 1000`` for tabular widths and batch sizes.

The time is the whole forward pass (encoder, recurrence, decoder). With
``--evolved``, a ``FreeNetClassifier`` is also trained with FreeEvolve on sklearn's
digits (64 features) and its evolved graph is timed the same way (``k=100``). The
two ways are timed alternately in one process. With ``--cells DIR``, the graphs
that ``bench_table2.py`` evolved (stored in ``DIR/cells.jsonl``) are timed too,
with fresh random weights on their edges (the cost depends on the graph only).
The report gives medians in ms per batch and the speed-up ``dense / pruned`` next
to the fraction of edges kept and the path taken. ``--clock thread`` (the default, with
one torch thread) measures the CPU time of the calling thread, which is much less
sensitive to other processes sharing the cores than the wall clock.

How to run
----------
::

    python benchmarks/bench_inference.py                    # k = 100 300
    python benchmarks/bench_inference.py --ks 100 --rows 128 --evolved
    python benchmarks/bench_inference.py --dtype float64 --activation tanh
    python benchmarks/bench_inference.py --ks 30 100 --rows 128 10000 \
        --cells benchmarks/results/table2   # graphs evolved by bench_table2

What counts as a pass
---------------------
Pruned inference (and, with ``--train``, pruned training) is never slower than
dense: every speed-up on the sparse path is at least 1.0 up to timing noise (the
script flags rows below ``--tolerance``, 0.95 by default). Where the dense path is
chosen, or the graph has no edge (path ``act``: both ways compute ``act(A)``), both
columns run the same code, so their ratio shows the noise level and does not count.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_freenets.nn import ACTIVATIONS, FreeNetModule, sparse_max_density

N_FEATURES = 784
N_CLASSES = 10


def _random_graph(k: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Keep exactly ``round(fraction * k (k - 1) / 2)`` random edges."""
    rows, cols = np.tril_indices(k, -1)
    n_keep = int(round(fraction * rows.size))
    keep = rng.choice(rows.size, size=n_keep, replace=False)
    G = np.zeros((k, k), dtype=bool)
    G[rows[keep], cols[keep]] = True
    return G


def _time_pair(
    module: FreeNetModule, X: torch.Tensor, repeats: int, clock, train: bool = False
) -> tuple[float, float]:
    """Median seconds per call: (dense, pruned), timed alternately.

    A call is a forward pass under ``torch.no_grad()``, or with ``train`` a
    training step's forward and backward pass (loss: mean squared output).
    """

    def call() -> None:
        if train:
            module.zero_grad(set_to_none=True)
            module(X).square().mean().backward()
        else:
            with torch.no_grad():
                module(X)

    times: dict[bool, list[float]] = {False: [], True: []}
    for sparse in (False, True):  # warm-up (compiles, builds the cache)
        module._sparse_kernels = sparse
        call()
    for _ in range(repeats):
        for sparse in (False, True):
            module._sparse_kernels = sparse
            call()  # untimed call: both paths start from warm caches
            t0 = clock()
            call()
            times[sparse].append(clock() - t0)
    module._sparse_kernels = True
    return statistics.median(times[False]), statistics.median(times[True])


def _path(module: FreeNetModule, train: bool) -> str:
    """The path the module takes: ``act`` (no edges: both ways compute act(A)),
    ``sparse`` or ``dense`` (both ways run the same code).

    On the CPU the sparse kernels run when the graph keeps at most
    :func:`~sklearn_freenets.nn.sparse_max_density` of the possible edges (for
    the module's ``k``, in training or in prediction).
    """
    n_edges, k = module.n_edges(), module.k
    if n_edges == 0:
        return "act"
    possible = k * (k - 1) // 2
    density = n_edges / possible if possible else 1.0
    limit = sparse_max_density(module.weight.dtype, k=k, training=train)
    return "sparse" if density <= limit else "dense"


def _row(label: str, fraction: float, module, X_by_rows, args, clock) -> list[float]:
    """Print one row; return its speed-ups where the two ways run different code."""
    speedups = []
    cells = [f"{label:>18} {fraction:>6.3f} {_path(module, args.train):>6}"]
    for n, X in X_by_rows.items():
        repeats = args.repeats if n <= 1000 else max(3, args.repeats // 10)
        dense, pruned = _time_pair(module, X, repeats, clock, args.train)
        speedups.append(dense / pruned)
        cells.append(f"{1e3 * dense:>9.3f} {1e3 * pruned:>9.3f} {dense / pruned:>6.2f}")
    if (
        _path(module, args.train) != "sparse"
    ):  # the same code both ways: the noise level
        print(" | ".join(cells), flush=True)
        return []
    flag = "" if min(speedups) >= args.tolerance else "  <-- slower than dense?"
    print(" | ".join(cells) + flag, flush=True)
    return speedups


def _evolved_module(args) -> tuple[FreeNetModule, np.ndarray]:
    from sklearn.datasets import load_digits

    from sklearn_freenets import FreeNetClassifier

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    # Exactly --evolved-epochs epochs, with the rounds spread over them (one
    # every epochs // (rounds + 1) epochs), from the dense graph with PyTorch's
    # initialisation, lr 1e-3 and batches of 128.
    clf = FreeNetClassifier(
        k=100,
        max_epochs=args.evolved_epochs,
        n_iter_no_change=np.inf,
        evolve_rounds=args.evolved_rounds,
        evolve_every=max(1, args.evolved_epochs // (args.evolved_rounds + 1)),
        initial_graph="dense",
        init="torch",
        lr=1e-3,
        batch_size=128,
        activation=args.activation,
        dtype=args.dtype,
        random_state=args.seed,
    )
    t0 = time.perf_counter()
    clf.fit(X, y)
    print(
        f"# evolved: FreeNetClassifier(k=100) on digits, {args.evolved_epochs} "
        f"epochs, {args.evolved_rounds} FreeEvolve rounds, fitted in "
        f"{time.perf_counter() - t0:.1f} s, train accuracy {clf.score(X, y):.3f}"
    )
    return clf.net_.module_, X


def _module_and_inputs(k: int, args, rng, dtype) -> tuple[FreeNetModule, dict]:
    """A module of ``k`` neurons in eval mode, and random inputs per batch size."""
    module = FreeNetModule(
        args.features, k, N_CLASSES, activation=args.activation, dtype=args.dtype
    )
    module.train(args.train)
    X_by_rows = {
        n: torch.from_numpy(rng.random((n, args.features))).to(dtype) for n in args.rows
    }
    return module, X_by_rows


def _set_graph(module: FreeNetModule, G: np.ndarray, dtype) -> float:
    """Give ``module`` the graph ``G`` with random weights; return the kept fraction."""
    k = module.k
    module.set_adjacency(G)
    with torch.no_grad():  # weights for the kept edges (new edges start at 0)
        module.weight.copy_(torch.randn(k, k, dtype=dtype) / k**0.5)
    return module.n_edges() / max(1, k * (k - 1) // 2)


def _time_cells(args, rng, dtype, clock) -> list[float]:
    """Time the graphs that bench_table2 evolved (random weights on their edges).

    The cost depends on the graph only, so the weights are drawn afresh; one row
    per (method, k), each the cell of the lowest seed, on MNIST's 784 inputs.
    """
    from table2.common import load_records
    from table2.run import unpack_adjacency

    speedups: list[float] = []
    records = load_records(Path(args.cells))
    for method in args.cell_methods:
        for k in args.ks:
            found = sorted(
                (r for r in records if r["method"] == method and r["k"] == k
                 and r.get("adjacency") and r["dataset"] != "emnist"),
                key=lambda r: (r["seed"], r["dataset"]),
            )  # fmt: skip
            if not found:
                continue
            rec = found[0]
            module, X_by_rows = _module_and_inputs(k, args, rng, dtype)
            kept = _set_graph(module, unpack_adjacency(rec["adjacency"], k), dtype)
            label = f"{method.split()[0][:5]} {rec['dataset'][:5]} k={k}"
            speedups += _row(label, kept, module, X_by_rows, args, clock)
    return speedups


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[100, 300])
    parser.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=[1.0, 0.5, 0.2, 0.1, 0.05, 0.01, 0.0],
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[128, 10000])
    parser.add_argument("--features", type=int, default=N_FEATURES)
    parser.add_argument(
        "--train",
        action="store_true",
        help="time training steps (forward and backward) instead of inference",
    )
    parser.add_argument("--repeats", type=int, default=60, help="timed pairs")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--clock", default="thread", choices=["thread", "wall"])
    parser.add_argument("--tolerance", type=float, default=0.95)
    parser.add_argument("--evolved", action="store_true", help="also digits")
    parser.add_argument("--evolved-epochs", type=int, default=12)
    parser.add_argument("--evolved-rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cells",
        default=None,
        help="also time the evolved graphs stored in the cells of this "
        "bench_table2 results folder (its cells.jsonl)",
    )
    parser.add_argument(
        "--cell-methods",
        nargs="+",
        default=["contribution eps=0.5", "contribution eps=0.25", "usage eps=0.25"],
        help="methods of --cells to time (at the k of --ks)",
    )
    parser.add_argument(
        "--neuron-major-everywhere",
        action="store_true",
        help="take the neuron-major sparse path at every density and k (how its "
        "thresholds were chosen): the pruned column then times it where the "
        "module would run the dense kernels",
    )
    args = parser.parse_args(argv)
    if args.neuron_major_everywhere:
        from sklearn_freenets import _kernel

        _kernel._NETWORK_TRAIN_MAX_DENSITY = ((None, 1.0),)
        _kernel._NETWORK_PREDICT_MAX_DENSITY = ((None, 1.0),)

    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    if args.clock == "thread" and args.threads != 1:
        print("# warning: --clock thread only counts the calling thread")
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    print(
        f"# torch {torch.__version__}, threads={torch.get_num_threads()}, "
        f"clock={args.clock}, dtype={args.dtype}, activation={args.activation}, "
        f"{args.features} features, "
        + ("training steps (forward + backward)" if args.train else "inference")
    )
    limits = ", ".join(
        f"{sparse_max_density(dtype, k=k, training=args.train)} at k={k}"
        for k in args.ks
    )
    print(
        f"# sparse kernels used up to density {limits}; "
        "ms per batch (median), speed-up = dense / pruned"
    )
    header = f"{'graph':>18} {'kept':>6} {'path':>6}"
    header += f" | {'dense':>9} {'pruned':>9} {'x':>6}" * len(args.rows)
    print(f"{'':>33}" + "".join(f" | {f'{n} rows':^26}" for n in args.rows))
    print(header)

    all_speedups: list[float] = []
    for k in args.ks:
        module, X_by_rows = _module_and_inputs(k, args, rng, dtype)
        for fraction in args.fractions:
            kept = _set_graph(module, _random_graph(k, fraction, rng), dtype)
            all_speedups += _row(f"k={k} rnd", kept, module, X_by_rows, args, clock)

    if args.evolved:
        module, X = _evolved_module(args)
        module.train(args.train)
        k = module.k
        kept = module.n_edges() / max(1, k * (k - 1) // 2)
        X_by_rows = {
            n: torch.from_numpy(np.resize(X, (n, X.shape[1]))).to(dtype)
            for n in args.rows
        }
        all_speedups += _row("k=100 evo", kept, module, X_by_rows, args, clock)

    if args.cells:
        all_speedups += _time_cells(args, rng, dtype, clock)

    worst = min(all_speedups, default=float("nan"))
    verdict = "PASS" if worst >= args.tolerance else "FAIL"
    print(
        f"# {verdict}: worst speed-up {worst:.2f} (pass: pruned never slower than "
        f"dense, i.e. every speed-up >= {args.tolerance} allowing for timing noise)"
    )


if __name__ == "__main__":
    main()
