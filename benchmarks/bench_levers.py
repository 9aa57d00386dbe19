# SPDX-License-Identifier: BSD-3-Clause
"""Levers against overfitting small noisy data, measured on the real suites.

Each lever is a set of FreeNet parameters changed from the defaults. Every lever
is cross-validated on the same folds as ``bench_tabular.py`` (5-fold, stratified
for classification, ``random_state`` = fold number) with the same preprocessing,
on the small real suite (``small_tabular.py``'s draw) and scikit-learn's bundled
sets, with ``MLPClassifier()`` / ``MLPRegressor()`` at their defaults run in the
same script on the same folds. The report gives each lever's mean score minus
the defaults' and minus the MLP's, per set and on average, and the sets where it
is more than 0.01 below the MLP (the target of the small-data issue).

Cells (one per data set and lever, with every fold's score and fit time) are
appended to ``results/levers/cells.jsonl`` (through ``harness.py``; a later line
replaces an earlier cell of the same key); a cell already there is not rerun, so
an interrupted run resumes. ``--aggregate-only`` rewrites ``levers.md`` from the
cells.

    python benchmarks/bench_levers.py                    # every lever, every set
    python benchmarks/bench_levers.py --levers default early_stopping
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import bench_tabular as bt
import harness
import numpy as np

OUT = Path(__file__).parent / "results" / "levers"
CELLS = "cells.jsonl"
BUNDLED = ["iris", "wine", "breast_cancer", "digits", "diabetes", "linnerud"]

# The levers measured, in report order. A lever's name is its parameters:
# ``name=value`` tokens (``valid`` is validation_fraction), a bare name is
# True; "default" changes nothing and "mlp" is scikit-learn's MLP.
LEVERS = [
    "mlp",
    "default",
    "early_stopping=False",
    "early_stopping",
    "early_stopping valid=0.1",
    "early_stopping valid=0.2",
    "alpha=1e-2",
    "alpha=3e-2",
    "alpha=1e-1",
    "lr=1e-3",
    "k=32",
    "early_stopping alpha=1e-2",
    "early_stopping alpha=1e-2 valid=0.1",
    "alpha=1e-2 lr=1e-3",
    "alpha=3e-3",
    "alpha=1e-2 early_stopping valid=0.2",
    "lr=1e-3 early_stopping valid=0.2",
    "lr=3e-3",
    "alpha=1e-2 lr=3e-3",
    "alpha=3e-2 lr=1e-3",
    "evolve_rounds=0",
    "evolve_rounds=60",
    "early_stopping=auto",
]
ALIASES = {"valid": "validation_fraction"}


def lever_params(name: str) -> dict[str, Any] | None:
    """The FreeNet parameters of lever ``name`` (None for the MLP)."""
    if name == "mlp":
        return None
    params: dict[str, Any] = {}
    for token in name.split():
        if token == "default":
            continue
        key, _, value = token.partition("=")
        key = ALIASES.get(key, key)
        if not value:
            params[key] = True
            continue
        if value in ("True", "False"):
            params[key] = value == "True"
            continue
        if value.isidentifier():  # a string option, such as early_stopping=auto
            params[key] = value
            continue
        number = float(value)
        params[key] = (
            int(number) if number.is_integer() and "e" not in value else number
        )
    return params


def register_tuning_sets() -> list[str]:
    """Add tune_defaults.py's synthetic tuning sets to bench_tabular's DATASETS."""
    import tune_defaults

    names = []
    for name, (X, y) in tune_defaults.tuning_sets().items():
        task = "classification" if np.issubdtype(y.dtype, np.integer) else "regression"
        key = f"tune:{name}"
        bt.DATASETS[key] = bt.Dataset(key, task, lambda X=X, y=y: (X, y))
        names.append(key)
    return names


def make_model(lever: str, task: str, seed: int) -> Any:
    clf = task == "classification"
    params = lever_params(lever)
    if params is None:
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        return (MLPClassifier if clf else MLPRegressor)(random_state=seed)
    from sklearn_freenets import FreeNetClassifier, FreeNetRegressor

    cls = FreeNetClassifier if clf else FreeNetRegressor
    return cls(random_state=seed, **params)


def run_cell(data: dict[str, Any], lever: str, repeat: int = 0) -> dict[str, Any]:
    """5-fold CV of ``lever``; repeat ``r`` shuffles the folds with seed ``r`` and
    seeds the models ``5 r + fold`` (repeat 0: bench_tabular.py's folds and seeds)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    task = data["task"]
    cv = (
        StratifiedKFold(n_splits=5, shuffle=True, random_state=repeat)
        if task == "classification"
        else KFold(n_splits=5, shuffle=True, random_state=repeat)
    )
    folds = []
    for fold, (train, test) in enumerate(cv.split(np.zeros(len(data["y"])), data["y"])):
        pipe = bt.make_pipeline(data, make_model(lever, task, 5 * repeat + fold))
        X_tr, y_tr = bt._take(data["X"], train), data["y"][train]
        X_te, y_te = bt._take(data["X"], test), data["y"][test]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            pipe.fit(X_tr, y_tr)
            seconds = time.perf_counter() - t0
            s = bt.score(task, y_te, pipe.predict(X_te))
        n_iter = getattr(pipe[-1], "n_iter_", None)
        folds.append(
            {
                "score": s,
                "fit_seconds": round(seconds, 4),
                "n_iter": None if n_iter is None else int(np.max(n_iter)),
            }
        )
    return {
        "dataset": data["name"],
        "lever": lever,
        "repeat": repeat,
        "params": lever_params(lever),
        "task": task,
        "n_samples": data["shape"]["n_samples"],
        "mean_score": float(np.mean([f["score"] for f in folds])),
        "median_fit_seconds": float(statistics.median(f["fit_seconds"] for f in folds)),
        "folds": folds,
        "source": bt.source(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def cell_key(cell: dict[str, Any]) -> tuple[str, str, int]:
    """A cell's key in ``cells.jsonl``: (data set, lever, repeat)."""
    return cell["dataset"], cell["lever"], cell.get("repeat", 0)


def all_cells(out: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Every cell by (data set, lever, repeat); a later line replaces an earlier."""
    return harness.read_cells(out / CELLS, cell_key)


def load_cells(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The cells of repeat 0 (bench_tabular.py's folds) by (data set, lever)."""
    return {(d, lev): c for (d, lev, r), c in all_cells(out).items() if r == 0}


def paired_section(
    cells: dict[tuple[str, str, int], dict[str, Any]],
    lever: str,
    baseline: str,
    intro: list[str],
) -> list[str]:
    """``lever`` against ``baseline``, paired fold by fold over every repeat run
    for both (repeat ``r`` shuffles the folds with seed ``r`` and seeds the models
    ``5 r + fold``), on the sets where some repeat after the first ran both.
    ``cells`` is :func:`all_cells`; ``intro`` opens the section. Differences are
    in points of accuracy or in R^2, mean and standard error over the folds. No
    harm: a mean of at least -0.2 points (-0.002 of R^2), as ``bench_rules.py``
    asks of tabular members. The fit time ratio is the median over the folds of
    ``lever``'s fit time over ``baseline``'s: a rough guide, since the two cells
    of a pair may come from different runs of this script."""
    pairs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for (d, lev, r), base in cells.items():
        other = cells.get((d, lever, r))
        if lev == baseline and other is not None:
            pairs.setdefault(d, []).append((other, base))
    sets = sorted(
        {d for d, lev, r in cells if lev == baseline and r > 0}
        & {d for d, lev, r in cells if lev == lever and r > 0}
    )
    if not sets:
        return []
    lines = [
        "",
        *intro,
        "",
        f"| data set | task | folds | {lever} - {baseline} | se | no harm | "
        "fit time ratio |",
        "|---|---|---:|---:|---:|:---:|---:|",
    ]
    for d in sets:
        task = pairs[d][0][1]["task"]
        scale = 100.0 if task == "classification" else 1.0
        folds = [
            (a, b)
            for other, base in pairs[d]
            for a, b in zip(other["folds"], base["folds"], strict=True)
        ]
        diffs = [scale * (a["score"] - b["score"]) for a, b in folds]
        ratios = [a["fit_seconds"] / b["fit_seconds"] for a, b in folds]
        mean = float(np.mean(diffs))
        se = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0
        limit = -0.2 if task == "classification" else -0.002
        lines.append(
            f"| {d} | {task[:3]} | {len(diffs)} | {mean:+.4f} | {se:.4f} | "
            f"{'yes' if mean >= limit else '**no**'} | "
            f"{statistics.median(ratios):.2f} |"
        )
    return lines


def evolution_section(cells: dict[tuple[str, str, int], dict[str, Any]]) -> list[str]:
    """FreeEvolve (``evolve_rounds=60``) against ``evolve_rounds=0``: the no-harm
    check of the evolution default on these sets."""
    return paired_section(
        cells,
        "evolve_rounds=60",
        "evolve_rounds=0",
        [
            "## FreeEvolve against the same defaults with evolve_rounds=0",
            "",
            "`evolve_rounds=60`: FreeEvolve's rule and schedule at their defaults "
            '(`rule="phi"`; the classifier\'s default before it became '
            "`evolve_rounds=0`), everything else at its default. Paired fold by "
            "fold over every repeat of the 5-fold CV run for both (repeat r "
            "shuffles the folds with seed r and seeds the models 5 r + fold), in "
            "points of accuracy or in R^2, mean and standard error over the "
            "folds. No harm: a mean of at least -0.2 points (-0.002 of R^2), as "
            "`bench_rules.py` asks of tabular members. Fit time ratio: the median "
            "over the folds of the first lever's fit time over the second's (a "
            "rough guide: a pair's two cells may come from different runs).",
        ],
    )


def finish_section(cells: dict[tuple[str, str, int], dict[str, Any]]) -> list[str]:
    """The regressor's default (``early_stopping="auto"``: stop on held-out rows,
    then finish on every row) against ``early_stopping=True`` (the same stopping,
    no finish)."""
    return paired_section(
        cells,
        "default",
        "early_stopping",
        [
            "## Finishing on every row after early stopping",
            "",
            '`default`: the regressor\'s `early_stopping="auto"`, which stops on '
            "the 20 % held out and then trains the restored network on every row "
            "for a fifth of the epochs that found it; `early_stopping`: True, the "
            "same stopping run without the finish (on a set too small to hold "
            "out 10 rows, `linnerud`, the default holds out nothing). Paired as "
            "above.",
        ],
    )


def classifier_auto_section(
    cells: dict[tuple[str, str, int], dict[str, Any]],
) -> list[str]:
    """The classifier's ``early_stopping="auto"`` (stop on the held-out rows'
    log-loss, then finish on every row) against its default (no early
    stopping), on the classification sets."""
    classification = {
        key: cell for key, cell in cells.items() if cell["task"] == "classification"
    }
    return paired_section(
        classification,
        "early_stopping=auto",
        "default",
        [
            '## The classifier\'s early_stopping="auto" against its default',
            "",
            "`early_stopping=auto`: the classifier holds out 10 % of the rows "
            "(stratified), stops when their log-loss stops improving, restores "
            "the best network and trains it on every row for a fifth of the "
            "epochs that found it; `default`: no early stopping. Paired as above, "
            "in points of accuracy.",
        ],
    )


def _signed(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:+.4f}"


def aggregate(out: Path) -> str:
    every = all_cells(out)
    cells = {(d, lev): c for (d, lev, r), c in every.items() if r == 0}
    task_of = {d: c["task"] for (d, _), c in cells.items()}
    sets = sorted(task_of, key=lambda d: (task_of[d], d))
    present = {lev for _, lev in cells}
    levers = [lev for lev in LEVERS if lev in present]
    levers += sorted(present - set(LEVERS))
    lines = [
        "# Levers against overfitting small data",
        "",
        "Generated by `benchmarks/bench_levers.py`: 5-fold CV (the folds of "
        "`bench_tabular.py`), mean test accuracy or R^2. Each lever changes the "
        "FreeNet's defaults as named; `mlp` is scikit-learn's MLP at its "
        "defaults on the same folds. Cells: lever - MLP. `default` is the "
        "current defaults, chosen here: the regressor's "
        '`early_stopping="auto"` with `validation_fraction=0.2`, which stops on '
        "the held-out rows and then finishes on every row (its earlier defaults "
        "are the levers `early_stopping=False` and `early_stopping`, the same "
        "stopping without the finish) and the classifier's `evolve_rounds=0` "
        "(its earlier default is the lever `evolve_rounds=60`). `early_stopping` "
        "alone holds out 0.1 for the classifier, 0.2 for the regressor; the "
        "classifier's `early_stopping=auto` stops on the held-out log-loss.",
        "",
    ]
    header = (
        "| data set | task | n | mlp | default | "
        + " | ".join(lev for lev in levers if lev not in ("mlp", "default"))
        + " |"
    )
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    summary: dict[str, dict[str, list[float]]] = {}
    for d in sets:
        mlp = cells.get((d, "mlp"))
        if mlp is None:
            continue
        task = mlp["task"]
        row = [d, task[:3], str(mlp["n_samples"]), f"{mlp['mean_score']:.4f}"]
        for lev in levers:
            if lev == "mlp":
                continue
            c = cells.get((d, lev))
            if c is None:
                row.append("-")
                continue
            diff = c["mean_score"] - mlp["mean_score"]
            # an R^2 far below 0 (the MLP on unscaled targets) would swamp the
            # means: each score is clipped at -1 (worse than the mean by 2x)
            clipped = max(c["mean_score"], -1.0) - max(mlp["mean_score"], -1.0)
            s = summary.setdefault(
                lev, {"classification": [], "regression": [], "fail": [], "ratio": []}
            )
            s[task].append(clipped)
            if diff < -0.01:
                s["fail"].append(f"{d} ({diff:+.3f})")
            s["ratio"].append(c["median_fit_seconds"] / mlp["median_fit_seconds"])
            row.append(f"{diff:+.4f}")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "| lever | sets | mean - mlp, classification | mean - mlp, regression "
        "(R^2s clipped at -1) | median fit time / mlp | sets below mlp - 0.01 |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for lev, s in summary.items():
        n = len(s["classification"]) + len(s["regression"])
        cls = np.mean(s["classification"]) if s["classification"] else np.nan
        reg = np.mean(s["regression"]) if s["regression"] else float("nan")
        lines.append(
            f"| {lev} | {n} | {_signed(cls)} | {_signed(reg)} | "
            f"{statistics.median(s['ratio']):.2f} | {len(s['fail'])}: "
            + ", ".join(s["fail"])
            + " |"
        )
    lines += evolution_section(every)
    lines += finish_section(every)
    lines += classifier_auto_section(every)
    text = "\n".join(lines) + "\n"
    (out / "levers.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--levers", nargs="+", default=list(LEVERS), metavar="LEVER")
    p.add_argument("--datasets", nargs="+", default=None)
    p.add_argument(
        "--suites",
        nargs="+",
        default=["small"],
        choices=["small", "tune"],
        help="small: small_tabular.py's real sets and scikit-learn's bundled ones; "
        "tune: tune_defaults.py's synthetic tuning sets",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="CV repeats 0..N-1 (repeat 0: bench_tabular.py's folds)",
    )
    p.add_argument("--aggregate-only", action="store_true")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.aggregate_only:
        suites = {
            "small": bt.register_small_suite() + BUNDLED,
            "tune": register_tuning_sets(),
        }
        names = args.datasets or [n for s in args.suites for n in suites[s]]
        done = all_cells(args.out)
        for name in names:
            data = None
            for repeat in range(args.repeats):
                for lever in args.levers:
                    if (name, lever, repeat) in done:
                        continue
                    data = data or bt.load_dataset(name)
                    cell = run_cell(data, lever, repeat)
                    harness.append_cell(args.out / CELLS, cell)
                    print(
                        f"{name:14s} {lever:28s} {repeat} {cell['mean_score']:9.4f} "
                        f"{cell['median_fit_seconds']:7.2f} s",
                        flush=True,
                    )
    print(aggregate(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
