# SPDX-License-Identifier: BSD-3-Clause
"""The README's demo over several seeds, and what changes its outcome.

``python -m sklearn_freenets`` fits one FreeNet and its FCNN baseline on digits
with one seed. This script fits the same two models (the demo's own code and
options) on seeds 0-4, with three variants of the graph and of the recurrent
weights' learning rate, and prints each model's test accuracy per seed and its
paired difference from the FCNN (mean and spread over seeds, percentage points):

- ``FreeNet (FreeEvolve)`` and ``FCNN baseline``: the demo's two models;
- ``dense, no evolution``: the FCNN with every edge of the DAG, never evolved;
- ``..., edges at lr/10``: the recurrent weights (the edges) trained at a tenth
  of the demo's rate (``optimizer__param_groups``), the other weights at the
  rate.

A second table fits what a user gets with every parameter at its default
(``random_state`` aside) on the same splits: ``FreeNetClassifier()``,
``FreeNetClassifier(evolve_rounds=0)`` (no FreeEvolve: a one-hidden-layer net)
and scikit-learn's ``MLPClassifier()``, each on the demo's inputs (pixels / 16,
in [0, 1]) and after a ``StandardScaler``, with the paired difference from
``MLPClassifier()`` on the same inputs, the FreeNet's edges and the share of its
neurons active on more than 3/4 of the activity sample at the first FreeEvolve
round (the neurons that the paper's rule can wire together at epsilon 0.25).

Usage::

    python benchmarks/bench_demo.py [--seeds 5] [--out benchmarks/results/demo.md]

About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_freenets import FreeNetClassifier
from sklearn_freenets.__main__ import _parser, demo_models, demo_split

OUT = Path(__file__).resolve().parent / "results" / "demo.md"


def models(seed: int) -> tuple[argparse.Namespace, dict]:
    """The demo's models for ``seed``, and the variants."""
    args = _parser()[0].parse_args(["--seed", str(seed)])
    demo = demo_models(args)
    free, fcnn = demo["FreeNet (FreeEvolve)"], demo["FCNN baseline"]
    slow = {"optimizer__param_groups": [("weight", {"lr": args.lr / 10})]}
    dense = dict(initial_graph="dense")
    return args, {
        "FreeNet (FreeEvolve)": free,
        "FCNN baseline": fcnn,
        "dense, no evolution": clone(fcnn).set_params(**dense),
        "FreeNet, edges at lr/10": clone(free).set_params(net_params=slow),
        "dense, edges at lr/10": clone(fcnn).set_params(net_params=slow, **dense),
    }


DEFAULTS = {
    "FreeNetClassifier()": lambda seed: FreeNetClassifier(random_state=seed),
    "FreeNetClassifier(evolve_rounds=0)": lambda seed: FreeNetClassifier(
        evolve_rounds=0, random_state=seed
    ),
    "MLPClassifier()": lambda seed: MLPClassifier(random_state=seed),
}
INPUTS = ("pixels / 16", "StandardScaler")


def default_models(seed: int) -> dict[tuple[str, str], object]:
    """Every model of :data:`DEFAULTS` on each of :data:`INPUTS`, for ``seed``."""
    return {
        (name, inputs): make(seed)
        if inputs == "pixels / 16"
        else make_pipeline(StandardScaler(), make(seed))
        for inputs in INPUTS
        for name, make in DEFAULTS.items()
    }


def defaults_table(n_seeds: int) -> list[str]:
    """Markdown lines: the defaults against ``MLPClassifier()``, per input."""
    scores: dict[tuple[str, str], list[float]] = {}
    edges: dict[tuple[str, str], list[int]] = {}
    busy: dict[tuple[str, str], list[float]] = {}
    for seed in range(n_seeds):
        X_train, X_test, y_train, y_test = demo_split(seed)
        for key, model in default_models(seed).items():
            model.fit(X_train, y_train)
            scores.setdefault(key, []).append(float(model.score(X_test, y_test)))
            last = model[-1] if hasattr(model, "steps") else model
            if hasattr(last, "n_edges_"):
                edges.setdefault(key, []).append(int(last.n_edges_))
            if getattr(last, "evolution_history_", None):
                rates = np.asarray(last.evolution_history_[0]["activity_rates"])
                busy.setdefault(key, []).append(float(np.mean(rates > 0.75)))
    lines = [
        "Every parameter at its default (`random_state` aside) on the same splits: "
        "test accuracy per seed, the paired difference from `MLPClassifier()` on "
        "the same inputs in points (mean, sd over seeds), the FreeNet's edges and "
        "the share of its neurons active on more than 3/4 of the activity sample "
        "at the first FreeEvolve round (means over seeds).",
        "",
        "| model | inputs | "
        + " | ".join(f"seed {s}" for s in range(n_seeds))
        + " | mean | - MLPClassifier() | edges | active > 3/4 |",
        "|---|---|" + "---:|" * (n_seeds + 4),
    ]
    for (name, inputs), accs in scores.items():
        n_edges = edges.get((name, inputs))
        lines.append(
            f"| {name} | {inputs} | "
            + _seed_columns(accs, scores["MLPClassifier()", inputs])
            + " "
            + (f"{np.mean(n_edges):.0f}" if n_edges else "–")
            + " | "
            + (f"{np.mean(busy[name, inputs]):.2f}" if (name, inputs) in busy else "–")
            + " |"
        )
    return lines


def _seed_columns(accs: list[float], base: list[float]) -> str:
    """Table cells: accuracy per seed, mean, and the paired difference from base."""
    diff = 100 * (np.array(accs) - np.array(base))
    return (
        " | ".join(f"{a:.4f}" for a in accs)
        + f" | {np.mean(accs):.4f} | {diff.mean():+.2f} (sd {diff.std():.2f}) |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=str(OUT))
    options = parser.parse_args(argv)
    scores: dict[str, list[float]] = {}
    for seed in range(options.seeds):
        X_train, X_test, y_train, y_test = demo_split(seed)
        args, fits = models(seed)
        for name, model in fits.items():
            model.fit(X_train, y_train)
            scores.setdefault(name, []).append(float(model.score(X_test, y_test)))
    lines = [
        f"The demo's models (k={args.k}, {args.epochs} epochs, lr {args.lr}) on "
        f"seeds 0-{options.seeds - 1}: test accuracy per seed, and the paired "
        "difference from the FCNN baseline in points (mean, sd over seeds).",
        "",
        "| model | "
        + " | ".join(f"seed {s}" for s in range(options.seeds))
        + " | mean | - FCNN |",
        "|---|" + "---:|" * (options.seeds + 2),
    ]
    for name, accs in scores.items():
        lines.append(f"| {name} | " + _seed_columns(accs, scores["FCNN baseline"]))
    lines += ["", *defaults_table(options.seeds)]
    text = "\n".join(lines) + "\n"
    Path(options.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
