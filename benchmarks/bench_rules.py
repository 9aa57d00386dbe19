"""FreeEvolve rules against the same network unevolved, paired by seed.

What is compared: for each data set and seed, ``FreeNetClassifier`` /
``FreeNetRegressor`` with every parameter at its default except ``k`` and the
rule, against the same estimator with ``evolve_rounds=0`` (the unevolved net:
same k, same training, same seed). Methods:

- ``none``: ``evolve_rounds=0``;
- ``dense``: the dense graph (every edge), unevolved: what depth alone gives;
- ``paper``: the paper's rule at epsilon 0.25 (the default before phi);
- ``phi``: ``rule="phi"``, the default rule (co-firing measured as the
  correlation of the two neurons' activities, so busy neurons are not wired for
  being busy), at the default epsilon 0.25 (add when phi > 0.75) and at 0.1,
  0.5 and 0.75. Every method but ``none`` and ``dense`` runs with
  ``evolve_rounds=60`` (the classifier's default is 0);
- ``rigl eps=0.1``: ``rule="rigl"`` (RigL: 10 % of the possible edges, grown by
  the loss gradient, swapped by weight magnitude); ``rigl eps=0.3`` and ``0.6``:
  30 % and 60 % of them;
- ``gated ...``: the rule inside ``GatedRule`` (a round's change kept only if
  a paired branch lowers the held-out loss by 2 standard errors; ``margin=0``:
  does not raise it);
- ``... every=5``: rounds every 5 epochs, at most 12, none within the first
  epoch (the default schedule runs one every epoch, up to 60, and one every 20
  mini-batches of the first epoch);
- ``l1 dense S``: ``initial_graph="dense", rule=L1Rule(S)`` (an L1 penalty on
  the edge weights, edges at 0 pruned).

Data sets (all with the estimator's own convergence-based training):

- ``digits16``: scikit-learn's digits as pixels / 16, k=64, stratified 70/30;
- ``digits_std``: the same after a ``StandardScaler`` fitted on the training part;
- ``product4``, ``power6``, ``friedman``: ``y = x1 x2 x3 x4``, ``(x1 + x2 -
  x3)^6`` and ``10 sin(pi x1 x2) + 20 (x3 - 0.5)^2 + 10 x4 + 5 x5``, plus 1 %
  noise, 8 inputs uniform on [-1, 1], 5,000 training and 1,000 test rows, k=32
  (targets where depth pays: the unevolved dense graph beats the FCNN there);
- ``tune:NAME``: the tabular tuning sets of ``tune_defaults.py`` (moons,
  circles, Hastie, a wide 4-class set, two noisy larger sets, Friedman #2 and #3,
  a sparse regression in the thousands, a smooth 8,000-row regression), split
  70/30 per seed and standardised, k=100 (the estimators' default), 3 seeds;
- ``real:NAME``: scikit-learn's bundled diabetes (regression), breast cancer
  and wine, split 70/30 per seed and standardised, k=100: small real data;
- ``fashion15k`` (with ``--fashion``): a fixed stratified 15,000-row subset of
  Fashion-MNIST's training set, pixels in [0, 1], k=50, scored on the full test
  split.

Each fit uses 80 % of the training split; the other 20 % is the validation
split (never trained on), scored beside the test split. The regressor runs with
``early_stopping=False`` (trained to convergence, its default when these cells
were measured; ``bench_levers.py``'s ``evolve_rounds=0`` lever pairs the rule
against no evolution under the current defaults). Each finished cell is
appended to ``results/rules/cells.jsonl`` (keyed by data set, method, seed) and
skipped when the script runs again; the report ``results/rules/rules.md`` pairs
every method with ``none`` (mean and sd over seeds of the validation and test
differences, in points for classification and R^2 units for regression, the
edges added and the fit-time ratio, paired: each cell of a method also times a
fit of ``none`` right before its own) and gives each method's verdict under the
no-harm rule, on the validation differences only: a mean of at least -0.05
points on the image members and -0.002 on every other one.

Run: ``python benchmarks/bench_rules.py [--seeds 5] [--small-seeds 3] [--fashion]
[--data ...] [--methods ...]``; ``--report`` only rewrites the report from the
cells; ``--retime`` reruns the selected cells of earlier runs that have no
paired timing (their scores do not change: every fit is seeded), appending the
new cell, which replaces the old one; ``--rerun`` reruns the selected cells
whatever they hold (after a change to the library).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import harness
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor
from sklearn_freenets.evolve import GatedRule, L1Rule

OUT = Path(__file__).parent / "results" / "rules"
# Rounds every 5 epochs, 12 at most (epochs 5 to 60), none within the first epoch.
SPARSE_SCHEDULE = {"evolve_every": 5, "evolve_rounds": 12, "evolve_every_batches": None}
METHODS = {
    "none": {"evolve_rounds": 0},
    "dense": {"initial_graph": "dense", "evolve_rounds": 0},
    "paper": {"rule": "paper"},
    "phi": {"rule": "phi"},
    "phi eps=0.5": {"rule": "phi", "epsilon": 0.5},
    "phi eps=0.75": {"rule": "phi", "epsilon": 0.75},
    "phi eps=0.1": {"rule": "phi", "epsilon": 0.1},
    "rigl eps=0.1": {"rule": "rigl", "epsilon": 0.1},
    "rigl eps=0.3": {"rule": "rigl", "epsilon": 0.3},
    "rigl eps=0.6": {"rule": "rigl", "epsilon": 0.6},
    "gated margin=0 paper": {"rule": GatedRule("paper", margin=0)},
    "gated margin=0 phi eps=0.75": {
        "rule": GatedRule("phi", margin=0),
        "epsilon": 0.75,
    },
    "gated margin=0 rigl eps=0.1": {
        "rule": GatedRule("rigl", margin=0),
        "epsilon": 0.1,
    },
    "gated paper": {"rule": GatedRule("paper")},
    "gated phi eps=0.75": {"rule": GatedRule("phi"), "epsilon": 0.75},
    "gated rigl eps=0.1": {"rule": GatedRule("rigl"), "epsilon": 0.1},
    "gated dense-start paper": {"rule": GatedRule("paper"), "initial_graph": "dense"},
    "rigl eps=0.1 every=5": {
        "rule": "rigl",
        "epsilon": 0.1,
        **SPARSE_SCHEDULE,
    },
    "rigl eps=0.05 every=5": {
        "rule": "rigl",
        "epsilon": 0.05,
        **SPARSE_SCHEDULE,
    },
    "phi every=5": {"rule": "phi", **SPARSE_SCHEDULE},
    "l1 dense 0.1": {"rule": L1Rule(0.1), "initial_graph": "dense"},
    "l1 dense 0.3": {"rule": L1Rule(0.3), "initial_graph": "dense"},
}


def _digits(seed: int, standardise: bool):
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X / 16.0, y, test_size=0.3, stratify=y, random_state=seed
    )
    if standardise:
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    return X_tr, X_te, y_tr, y_te


def _synthetic(target, seed: int):
    rng = np.random.default_rng(1000 + seed)
    X = rng.uniform(-1, 1, size=(6000, 8))
    f = target(X)
    y = f + 0.01 * f.std() * rng.standard_normal(len(f))
    return X[:5000], X[5000:], y[:5000], y[5000:]


def _product4(seed: int):
    return _synthetic(lambda X: X[:, :4].prod(axis=1), seed)


def _power6(seed: int):
    return _synthetic(lambda X: (X[:, 0] + X[:, 1] - X[:, 2]) ** 6, seed)


def _friedman(seed: int):
    return _synthetic(
        lambda X: (
            10 * np.sin(np.pi * X[:, 0] * X[:, 1])
            + 20 * (X[:, 2] - 0.5) ** 2
            + 10 * X[:, 3]
            + 5 * X[:, 4]
        ),
        seed,
    )


def _fashion(seed: int):
    from sklearn_freenets.datasets import load_fashion_mnist

    X_tr, y_tr = load_fashion_mnist(subset="train", return_X_y=True)
    X_te, y_te = load_fashion_mnist(subset="test", return_X_y=True)
    # one fixed subset for every seed: the seeds vary the training only
    X_tr, _, y_tr, _ = train_test_split(
        X_tr, y_tr, train_size=15_000, stratify=y_tr, random_state=0
    )
    return X_tr, X_te, y_tr, y_te


def _split_scaled(X, y, classification: bool, seed: int):
    """Split 70/30 by ``seed`` (stratified for classes), standardised on train."""
    X_tr, X_te, y_tr, y_te = train_test_split(
        X,
        y,
        test_size=0.3,
        stratify=y if classification else None,
        random_state=seed,
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def _tuning(name: str):
    """A tabular tuning set of tune_defaults.py, split 70/30 per seed, scaled."""

    def load(seed: int):
        from tune_defaults import tuning_sets

        X, y = tuning_sets()[name]
        classification = np.issubdtype(np.asarray(y).dtype, np.integer)
        return _split_scaled(X, y, classification, seed)

    return load


def _bundled(name: str):
    """A real data set bundled with scikit-learn, split 70/30 per seed, scaled."""

    def load(seed: int):
        from sklearn import datasets

        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        return _split_scaled(X, y, name != "diabetes", seed)

    return load


TUNING = {
    "moons": FreeNetClassifier,
    "circles": FreeNetClassifier,
    "hastie": FreeNetClassifier,
    "wide_classification": FreeNetClassifier,
    "noisy_classification_8k": FreeNetClassifier,
    "onehot_classification_6k": FreeNetClassifier,
    "friedman2": FreeNetRegressor,
    "friedman3": FreeNetRegressor,
    "sparse_regression_x1000": FreeNetRegressor,
    "smooth_regression_8k": FreeNetRegressor,
}

DATASETS = {
    "digits16": (lambda seed: _digits(seed, False), FreeNetClassifier, 64),
    "digits_std": (lambda seed: _digits(seed, True), FreeNetClassifier, 64),
    "product4": (_product4, FreeNetRegressor, 32),
    "power6": (_power6, FreeNetRegressor, 32),
    "friedman": (_friedman, FreeNetRegressor, 32),
    "fashion15k": (_fashion, FreeNetClassifier, 50),
    **{f"tune:{name}": (_tuning(name), Est, 100) for name, Est in TUNING.items()},
    # Small real sets (scikit-learn's bundled ones), k=100 (the default).
    "real:diabetes": (_bundled("diabetes"), FreeNetRegressor, 100),
    "real:breast_cancer": (_bundled("breast_cancer"), FreeNetClassifier, 100),
    "real:wine": (_bundled("wine"), FreeNetClassifier, 100),
}


# The parts of a round's time (its record's "seconds").
ROUND_PARTS = ("activity", "statistics", "rule", "gate", "rebuild")


def cell_key(cell: dict) -> tuple[str, str, int]:
    """What identifies a cell: (data set, method, seed)."""
    return cell["data"], cell["method"], cell["seed"]


# Image members of the suite: the no-harm threshold is in points of accuracy there.
IMAGES = ("digits16", "digits_std", "fashion15k")
# No harm: a method's mean validation difference with `none` is at least this on
# every member (points on the image members, score units on the others).
NO_HARM = {"image": -0.05, "other": -0.002}


def run_cell(data: str, method: str, seed: int) -> dict:
    """Fit on 80 % of the training split, score the other 20 % and the test split.

    The validation score (held-out rows of the training split, never trained on)
    is what the report's verdicts use; the test score is reported beside it.
    """
    load, Estimator, k = DATASETS[data]
    X_tr, X_te, y_tr, y_te = load(seed)
    classification = Estimator is FreeNetClassifier
    X_fit, X_va, y_fit, y_va = train_test_split(
        X_tr,
        y_tr,
        test_size=0.2,
        stratify=y_tr if classification else None,
        random_state=seed,
    )

    def fit(name: str):
        # an evolving method runs the regressor's schedule (the classifier's
        # default is evolve_rounds=0); "none" and "dense" set 0 themselves
        params = {"evolve_rounds": 60, **METHODS[name]}
        if not classification:
            # the cells were measured training to convergence, the regressor's
            # default before it stopped on held-out rows (early_stopping="auto");
            # pinned so that every cell, old or new, pairs with the same "none"
            params["early_stopping"] = False
        est = Estimator(k=k, random_state=seed, **params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_fit, y_fit)
        return est, time.perf_counter() - start

    # The unevolved net is timed again right before the method, so that the
    # time ratio pairs two fits of one run on the machine in one state.
    paired = {}
    if method != "none":
        base, base_seconds = fit("none")
        paired = {
            "none_fit_seconds": round(base_seconds, 3),
            "none_epochs": int(base.n_iter_),
        }
    est, seconds = fit(method)
    rounds = est.evolution_history_
    return {
        **paired,
        "data": data,
        "method": method,
        "seed": seed,
        "valid": float(est.score(X_va, y_va)),
        "score": float(est.score(X_te, y_te)),
        "edges": int(est.n_edges_),
        "epochs": int(est.n_iter_),
        "rounds": len(est.evolution_history_),
        "fit_seconds": round(seconds, 3),
        "round_seconds": {
            part: round(sum(r["seconds"].get(part, 0.0) for r in rounds), 4)
            for part in ROUND_PARTS
        },
    }


def _paired(cells, data: str, method: str, key: str) -> tuple[np.ndarray, list]:
    """``method - none`` of ``key`` per seed both have, in report units."""
    unit = 100.0 if DATASETS[data][1] is FreeNetClassifier else 1.0
    base = {c["seed"]: c for (d, m, _), c in cells.items() if d == data and m == "none"}
    rows = {c["seed"]: c for (d, m, _), c in cells.items() if d == data and m == method}
    seeds = sorted(set(rows) & set(base))
    diff = np.array([rows[s][key] - base[s][key] for s in seeds]) * unit
    return diff, [(rows[s], base[s]) for s in seeds]


def _sd(diff: np.ndarray) -> float:
    return float(diff.std(ddof=1)) if len(diff) > 1 else float("nan")


def _threshold(data: str) -> float:
    """The no-harm threshold of ``data`` in report units (points, or R^2)."""
    if data in IMAGES:
        return NO_HARM["image"]
    points = DATASETS[data][1] is FreeNetClassifier
    return NO_HARM["other"] * (100.0 if points else 1.0)


def _round_profile(cells: dict[tuple, dict]) -> list[str]:
    """Where a fit's time goes: rounds' share of it, and each part's share of them."""
    timed: dict[tuple[str, str], list[dict]] = {}
    for (data, method, _), cell in cells.items():
        if method != "none" and sum(cell.get("round_seconds", {}).values()) > 0:
            timed.setdefault((data, method), []).append(cell)
    if not timed:
        return []
    lines = [
        "",
        "Round cost (cells that timed their rounds): the rounds' share of the fit"
        " time, and each part's share of the rounds' time (activity: the forward"
        " pass over the activity sample; statistics: the matrices and, for rigl,"
        " the gradient; gate: the recovery epochs of both branches).",
        "",
        "| data | method | cells | rounds | rounds / fit | "
        + " | ".join(ROUND_PARTS)
        + " |",
        "|---|---|---:|---:|---:|" + "---:|" * len(ROUND_PARTS),
    ]
    for (data, method), group in sorted(timed.items()):
        spent = np.array([sum(c["round_seconds"].values()) for c in group])
        fit = np.array([c["fit_seconds"] for c in group])
        parts = [
            sum(c["round_seconds"].get(p, 0.0) for c in group) / spent.sum()
            for p in ROUND_PARTS
        ]
        lines.append(
            f"| {data} | {method} | {len(group)} | "
            f"{np.mean([c['rounds'] for c in group]):.1f} | "
            f"{np.median(spent / fit):.2f} | "
            + " | ".join(f"{p:.2f}" for p in parts)
            + " |"
        )
    return lines


def report(cells: dict[tuple, dict]) -> str:
    """The paired table, and the no-harm verdict of every method on validation."""
    lines = [
        "# FreeEvolve rules against the same net unevolved",
        "",
        "Generated by `benchmarks/bench_rules.py`. Each fit uses 80 % of the"
        " training split; *valid* is the other 20 % (never trained on), *test* the"
        " test split. Difference = method - `none` on the same seed, mean ± sd over"
        " seeds: points (x100) for classification, R^2 for regression. Verdicts use"
        " the validation differences only. Time ratios (median over seeds) pair"
        " each fit with a fit of `none` run right before it in the same run (`-`:"
        " cells of earlier runs, timed unpaired; not shown); *epoch time* divides"
        " each fit's time by its epochs. Regressors train with"
        " `early_stopping=False` (to convergence, as when the cells were measured;"
        " `bench_levers.py` pairs the rule with no evolution under the current"
        " defaults).",
        "",
        "| data | method | seeds | test | valid - none | test - none | worst seed"
        " (valid) | edges | fit time / none | epoch time / none |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts: dict[str, list[tuple[str, float]]] = {m: [] for m in METHODS}
    for data in DATASETS:
        for method in METHODS:
            valid, pairs = _paired(cells, data, method, "valid")
            if not pairs:
                continue
            test, _ = _paired(cells, data, method, "score")
            score = np.mean([row["score"] for row, _ in pairs])
            edges = np.mean([row["edges"] for row, _ in pairs])
            timed = [r for r, _ in pairs if "none_fit_seconds" in r]
            ratios = [r["fit_seconds"] / r["none_fit_seconds"] for r in timed]
            ratio = f"{np.median(ratios):.2f}" if timed else "-"
            per_epoch = (
                np.median(
                    [
                        (r["fit_seconds"] / r["epochs"])
                        / (r["none_fit_seconds"] / r["none_epochs"])
                        for r in timed
                    ]
                )
                if timed
                else None
            )
            lines.append(
                f"| {data} | {method} | {len(pairs)} | {score:.4f} | "
                f"{valid.mean():+.3f} ± {_sd(valid):.3f} | "
                f"{test.mean():+.3f} ± {_sd(test):.3f} | {valid.min():+.3f} | "
                f"{edges:.0f} | {ratio} | "
                + ("-" if per_epoch is None else f"{per_epoch:.2f}")
                + " |"
            )
            if method != "none":
                verdicts[method].append((data, valid.mean()))
    lines += _round_profile(cells)
    lines += [
        "",
        "No harm (validation): mean `method - none` >= "
        f"{NO_HARM['image']} points on the image members ({', '.join(IMAGES)}) and "
        f">= {NO_HARM['other']} of the score on every other member (0.2 points of"
        " accuracy, 0.002 of R^2).",
        "",
        "Means over members of `method - none` (validation): classification in"
        " points, regression in R^2. A method is judged on the members it ran on"
        " (`members`); the suite has "
        f"{len(DATASETS)} of them.",
        "",
        "| method | members | passes | mean, classification | mean, regression"
        " | failing members |",
        "|---|---:|:---:|---:|---:|---|",
    ]
    for method, rows in verdicts.items():
        if not rows:
            continue
        failing = [f"{d} ({v:+.3f})" for d, v in rows if v < _threshold(d)]
        by_task = [
            [v for d, v in rows if (DATASETS[d][1] is FreeNetClassifier) == is_clf]
            for is_clf in (True, False)
        ]
        means = [f"{np.mean(v):+.3f}" if v else "-" for v in by_task]
        lines.append(
            f"| {method} | {len(rows)} | {'yes' if not failing else 'no'} | "
            f"{means[0]} | {means[1]} | {', '.join(failing) or '-'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fashion", action="store_true")
    parser.add_argument(
        "--small-seeds",
        type=int,
        default=3,
        help="seeds of fashion15k, tune:* and real:*",
    )
    parser.add_argument("--data", nargs="+", choices=list(DATASETS), default=None)
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=None)
    parser.add_argument("--report", action="store_true", help="only the report")
    parser.add_argument(
        "--retime",
        action="store_true",
        help="rerun the selected cells that have no paired timing (same scores: "
        "the fits are seeded), to pair their time with a fit of none",
    )
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="rerun the selected cells even when done (after a change to the "
        "library; the new cell replaces the old one)",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cells_path = OUT / "cells.jsonl"
    cells = harness.read_cells(cells_path, cell_key)
    if not args.report:
        datasets = args.data or [
            d for d in DATASETS if d != "fashion15k" or args.fashion
        ]
        for data in datasets:
            small = data == "fashion15k" or data.startswith(("tune:", "real:"))
            n_seeds = args.small_seeds if small else args.seeds
            for seed in range(n_seeds):
                for method in args.methods or METHODS:
                    done = cells.get((data, method, seed))
                    retime = (
                        args.retime
                        and method != "none"
                        and done is not None
                        and "none_fit_seconds" not in done
                    )
                    if done is not None and not (retime or args.rerun):
                        continue
                    cell = run_cell(data, method, seed)
                    cells[(data, method, seed)] = cell
                    harness.append_cell(cells_path, cell)  # a later line wins
                    print(json.dumps(cell), flush=True)
    text = report(cells)
    (OUT / "rules.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
