# SPDX-License-Identifier: BSD-3-Clause
"""Figures 6, 7 and 9 of the FreeNets paper, plus the evolved graph, for one fit.

What it shows
-------------
One ``FreeNetClassifier`` trained with the Table 2 settings of
``benchmarks/bench_table2.py`` (its ``DEFAULTS``: Adam, lr 3e-3, batch 128,
PyTorch's initialisation, exactly 10 epochs, epsilon 0.1, at most 5 rounds spread
over the epochs as in ``bench_table2.fixed_budget``, empty start) on one data set,
and, for contrast, the same network started from the dense DAG. For each start it
saves:

- ``fig6_<dataset>_<start>.png``: edges added and pruned per FreeEvolve round;
- ``fig7_<dataset>_<start>.png``: NCAM / NCIM value distributions, first and last
  round;
- ``fig9_<dataset>_<start>.png``: edges over training, with the training loss;
- ``graph_<dataset>_<start>.png``: the adjacency matrix and the evolved graph drawn
  by topological depth.

How to run
----------
::

    python benchmarks/figures_evolution.py                      # MNIST, k=100
    python benchmarks/figures_evolution.py --dataset fashion_mnist --k 60

Data come from ``--data-home``, else ``$SKLEARN_FREENETS_DATA``, else
``../shared/data`` beside the repository. There is no pass criterion: the script
draws what the library records (``evolution_history_``, ``adjacency_``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_freenets import (  # noqa: E402
    FreeNetClassifier,  # noqa: E402
    datasets,
    plotting,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_table2 import DEFAULTS, fixed_budget  # noqa: E402

LOADERS = {
    "mnist": datasets.load_mnist,
    "fashion_mnist": datasets.load_fashion_mnist,
    "emnist": lambda **kw: datasets.load_emnist(
        split="byclass", holdout_from_test=True, **kw
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="mnist")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/table2"))
    args = parser.parse_args(argv)
    data_home = args.data_home or os.environ.get(
        "SKLEARN_FREENETS_DATA", str(ROOT.parent / "shared" / "data")
    )
    X, y = LOADERS[args.dataset](subset="train", data_home=data_home, return_X_y=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for start in ("empty", "dense"):
        clf = FreeNetClassifier(
            args.k,
            epsilon=DEFAULTS["epsilon"],
            evolve_rounds=DEFAULTS["evolve_rounds"],
            initial_graph=start,
            max_epochs=DEFAULTS["max_epochs"],
            batch_size=DEFAULTS["batch_size"],
            lr=DEFAULTS["lr"],
            alpha=DEFAULTS["alpha"],
            init=DEFAULTS["init"],
            random_state=args.seed,
            **fixed_budget(DEFAULTS),
        ).fit(X, y)
        rounds = [(r["n_added"], r["n_pruned"]) for r in clf.evolution_history_]
        print(
            f"{args.dataset} k={args.k} start={start}: rounds (added, pruned) "
            f"{rounds}, edges {clf.n_edges_}"
        )
        tag = f"{args.dataset}_{start}"
        for name, draw in (
            ("fig6", plotting.plot_edge_changes),
            ("fig9", plotting.plot_edges_over_training),
        ):
            ax = draw(clf)
            ax.figure.savefig(out / f"{name}_{tag}.png", dpi=110)
            plt.close(ax.figure)
        axes = plotting.plot_coactivation_distributions(clf)
        axes[0].figure.savefig(out / f"fig7_{tag}.png", dpi=110)
        plt.close(axes[0].figure)
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
        plotting.plot_adjacency(clf, ax=left)
        plotting.plot_graph(clf, ax=right)
        fig.savefig(out / f"graph_{tag}.png", dpi=110)
        plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
