# SPDX-License-Identifier: BSD-3-Clause
"""Table 2's figures: Figs. 5, 8 and 6 across k from the cells; 4, 6, 7, 9 from fits.

- ``fig5_<dataset>.png``: test accuracy against k (the main methods, and the
  paper's rows); ``fig8_<dataset>.png``: edges at the start and end of evolution;
  ``fig6k_<dataset>.png``: edges pruned and added in every round against the
  optimizer step, one line per k (FreeEvolve from the dense start at the reported
  epsilon, seed 0): Fig. 6 across k.
- :func:`figures` fits, on Fashion-MNIST with the table's budget, the FCNN and
  FreeEvolve (dense start, epsilon 0.25) at k = 40 and k = 90, each with
  ``early_stopping=True`` and ``n_iter_no_change=np.inf`` (so it records the
  validation accuracy of every epoch on its own 10 % hold-out, and trains the
  whole budget), and draws ``fig4_fashion_mnist.png`` (validation accuracy over
  the epochs) and, for the FreeEvolve net at k = 90, ``fig6`` (edges added and
  pruned per round), ``fig7`` (NCAM / NCIM distributions, first and last round)
  and ``fig9`` (edges over training).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sklearn_freenets import FreeNetClassifier, plotting

from .common import DATASET_NAMES, load_dataset, load_records
from .run import EVOLUTION, REPORTED_EPSILON, TRAINING

MAIN = ("FreeEvolve", "FCNN", "Dense", "FCNN (param-matched)")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def from_cells(out: Path) -> None:
    """Figs. 5, 8 and 6 across k per data set, from the finished cells."""
    plt = _pyplot()
    records = load_records(out)
    main = f"FreeEvolve eps={REPORTED_EPSILON}"
    for dataset in sorted({r["dataset"] for r in records}):
        recs = [
            {**r, "method": r["family"]}
            for r in records
            if r["dataset"] == dataset
            and (r["method"] == main or (r["family"] in MAIN[1:] and r["rule"] is None))
        ]
        for name, func in (
            ("fig5", plotting.plot_accuracy_vs_neurons),
            ("fig8", plotting.plot_edges_vs_neurons),
        ):
            shown = recs if name == "fig5" else [r for r in recs if r["rule"]]
            if not shown:
                continue
            fig, ax = plt.subplots(figsize=(6, 4))
            func(shown, dataset=dataset, ax=ax)
            ax.set_title(f"{DATASET_NAMES.get(dataset, dataset)}: {ax.get_title()}")
            fig.tight_layout()
            fig.savefig(out / f"{name}_{dataset}.png", dpi=120)
            plt.close(fig)
            print(f"wrote {out / f'{name}_{dataset}.png'}")
        cells = sorted(
            (r for r in records if r["dataset"] == dataset and r["method"] == main),
            key=lambda r: r["k"],
        )
        cells = [r for r in cells if r["seed"] == 0 and r["rounds"]]
        if cells:
            fig = _rounds_across_k(plt, cells)
            fig.suptitle(
                f"{DATASET_NAMES.get(dataset, dataset)}: edges changed per round, "
                f"{main} from the dense graph (seed 0)"
            )
            fig.tight_layout()
            fig.savefig(out / f"fig6k_{dataset}.png", dpi=120)
            plt.close(fig)
            print(f"wrote {out / f'fig6k_{dataset}.png'}")


def _rounds_across_k(plt, cells: list[dict]):
    """Edges pruned (left) and added (right) per round against the step, per k."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(cells)))
    for cell, color in zip(cells, colors, strict=True):
        steps = [r["step"] for r in cell["rounds"]]
        for ax, key in ((left, "n_pruned"), (right, "n_added")):
            ax.plot(
                steps,
                [r[key] for r in cell["rounds"]],
                marker="o",
                markersize=3,
                color=color,
                label=f"k={cell['k']}",
            )
    for ax, what, key in ((left, "pruned", "n_pruned"), (right, "added", "n_added")):
        top = max(r[key] for cell in cells for r in cell["rounds"])
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(plt.matplotlib.ticker.NullFormatter())
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylim(-0.3, 2 * top + 2)
        ax.set_xlabel("optimizer step of the round")
        ax.set_ylabel(f"edges {what} in the round")
        ax.grid(True, alpha=0.3)
    left.legend(fontsize="small", ncol=2)
    return fig


def figures(out: Path, data_home: str | None = None, epochs: int | None = None) -> None:
    """Figs. 4, 6, 7 and 9 from fits on Fashion-MNIST (see the module docstring)."""
    plt = _pyplot()
    data = load_dataset("fashion_mnist", data_home)
    X, y = data["X_train"], data["y_train"]
    training = {**TRAINING, "max_epochs": epochs or TRAINING["max_epochs"]}
    common = {**training, "early_stopping": True, "random_state": 0, "n_threads": 1}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    evolved = None
    for ax, k in zip(axes, (40, 90), strict=True):
        fcnn = FreeNetClassifier(k, initial_graph="empty", evolve_rounds=0, **common)
        free = FreeNetClassifier(
            k, initial_graph="dense", epsilon=REPORTED_EPSILON, **EVOLUTION, **common
        )
        fcnn.fit(X, y)
        free.fit(X, y)
        plotting.plot_validation_curves(
            {f"FCNN (k={k})": fcnn, f"FreeEvolve (k={k}, dense start)": free}, ax=ax
        )
        ax.set_title(f"Fashion-MNIST, k = {k}")
        last = {
            name: 100 * np.mean(est.validation_scores_[-5:])
            for name, est in (("FCNN", fcnn), ("FreeEvolve", free))
        }
        print(f"k={k}: mean validation accuracy of the last 5 epochs {last}")
        evolved = free
    fig.tight_layout()
    fig.savefig(out / "fig4_fashion_mnist.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'fig4_fashion_mnist.png'}")
    for name, func in (
        ("fig6", plotting.plot_edge_changes),
        ("fig7", plotting.plot_coactivation_distributions),
        ("fig9", plotting.plot_edges_over_training),
    ):
        if name == "fig7":  # NCAM and NCIM side by side
            fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        else:
            fig, ax = plt.subplots(figsize=(6, 4))
        func(evolved, ax=ax)
        fig.suptitle("Fashion-MNIST, k = 90, FreeEvolve from the dense graph")
        fig.tight_layout()
        fig.savefig(out / f"{name}_fashion_mnist_dense.png", dpi=120)
        plt.close(fig)
        print(f"wrote {out / f'{name}_fashion_mnist_dense.png'}")
