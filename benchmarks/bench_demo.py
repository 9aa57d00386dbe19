# SPDX-License-Identifier: BSD-3-Clause
"""The README's demo over several seeds, and the classifier's defaults on digits.

``python -m sklearn_freenets`` fits each estimator with its defaults and the
same network unevolved (``evolve_rounds=0``), with one seed, on a regression
where depth pays and on digits. This script fits the demo's models (its own
code) on seeds 0-4, beside scikit-learn's ``MLPRegressor()`` /
``MLPClassifier()`` at their defaults, and prints each model's test score per
seed, the paired difference from the unevolved net (points for accuracy, R^2
units for regression; mean and spread over seeds) and the edges.

A second table fits what a user gets with every parameter at its default
(``random_state`` aside) on the digits splits: ``FreeNetClassifier()``,
``FreeNetClassifier(evolve_rounds=0)`` (no FreeEvolve: a one-hidden-layer net,
the classifier's default), ``FreeNetClassifier(evolve_rounds=60)`` (FreeEvolve's
default rule and schedule, asked for), the same with ``rule="paper"`` and
scikit-learn's ``MLPClassifier()``, each on the demo's inputs (pixels / 16,
in [0, 1]) and after a ``StandardScaler``, with the paired difference from
``MLPClassifier()`` on the same inputs, the FreeNet's edges and the share of its
neurons active on more than 3/4 of the activity sample at the first FreeEvolve
round.

Usage::

    python benchmarks/bench_demo.py [--seeds 5] [--out benchmarks/results/demo.md]

A few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_freenets import FreeNetClassifier
from sklearn_freenets import __main__ as demo

OUT = Path(__file__).resolve().parent / "results" / "demo.md"
UNEVOLVED = "  evolve_rounds=0"


def models(task: str, seed: int) -> dict:
    """The demo's two models of ``task`` for ``seed``, and the MLP at its defaults."""
    mlp = MLPRegressor if task == "regression" else MLPClassifier
    return {
        **demo.demo_models(task, seed),
        f"{mlp.__name__}()": mlp(random_state=seed),
    }


DEFAULTS = {
    "FreeNetClassifier()": lambda seed: FreeNetClassifier(random_state=seed),
    "FreeNetClassifier(evolve_rounds=0)": lambda seed: FreeNetClassifier(
        evolve_rounds=0, random_state=seed
    ),
    # FreeEvolve, which the classifier runs only when asked: its default rule,
    # and the paper's (the default rule before phi)
    "FreeNetClassifier(evolve_rounds=60)": lambda seed: FreeNetClassifier(
        evolve_rounds=60, random_state=seed
    ),
    'FreeNetClassifier(evolve_rounds=60, rule="paper")': lambda seed: FreeNetClassifier(
        evolve_rounds=60, rule="paper", random_state=seed
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
        X_train, X_test, y_train, y_test = demo.demo_split(seed)
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


def _seed_columns(scores: list[float], base: list[float], unit: float = 100.0) -> str:
    """Table cells: score per seed, mean, and the paired difference from base."""
    diff = unit * (np.array(scores) - np.array(base))
    return (
        " | ".join(f"{a:.4f}" for a in scores)
        + f" | {np.mean(scores):.4f} | {diff.mean():+.2f} (sd {diff.std():.2f}) |"
    )


def demo_table(n_seeds: int) -> list[str]:
    """Markdown lines: the demo's models per task over seeds, against unevolved."""
    lines = []
    for task, (title, split, _, k, score_name) in demo.DEMO_TASKS.items():
        scores: dict[str, list[float]] = {}
        edges: dict[str, list[int]] = {}
        for seed in range(n_seeds):
            X_train, X_test, y_train, y_test = split(seed)
            for name, model in models(task, seed).items():
                model.fit(X_train, y_train)
                scores.setdefault(name, []).append(float(model.score(X_test, y_test)))
                edges.setdefault(name, []).append(int(getattr(model, "n_edges_", -1)))
        unit, units = (1.0, "R^2") if task == "regression" else (100.0, "points")
        lines += [
            f"**{title}** ({score_name}, k={k}): the paired difference from the same"
            f" net unevolved in {units} (mean, sd over seeds).",
            "",
            "| model | "
            + " | ".join(f"seed {s}" for s in range(n_seeds))
            + " | mean | - unevolved | edges |",
            "|---|" + "---:|" * (n_seeds + 3),
        ]
        for name, values in scores.items():
            n_edges = edges[name]
            lines.append(
                f"| {name.strip()} | "
                + _seed_columns(values, scores[UNEVOLVED], unit)
                + (f" {np.mean(n_edges):.0f} |" if min(n_edges) >= 0 else " – |")
            )
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=str(OUT))
    options = parser.parse_args(argv)
    lines = [
        f"The demo's models on seeds 0-{options.seeds - 1}: test score per seed.",
        "",
        *demo_table(options.seeds),
        *defaults_table(options.seeds),
    ]
    text = "\n".join(lines) + "\n"
    Path(options.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
