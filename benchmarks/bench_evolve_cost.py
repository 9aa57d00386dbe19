# SPDX-License-Identifier: BSD-3-Clause
"""What FreeEvolve's default costs in fit time, paired against no evolution.

On every regression set of ``bench_levers.py``'s suites (the small real suite,
scikit-learn's bundled sets and ``tune_defaults.py``'s synthetic tuning sets),
with ``bench_tabular.py``'s folds and preprocessing, each fold fits
``FreeNetRegressor()`` (the default: ``rule="phi"``, 60 rounds) and
``FreeNetRegressor(evolve_rounds=0)`` back to back, in alternating order, with the
same seed. (The classifier's default does not evolve, so its default fit *is*
the unevolved one.) The report gives, per set, the median over the folds of the
fit-time ratio, of the epoch counts' ratio and of the time-per-epoch ratio, the
edges the default wires and its R^2 minus the unevolved one's; idle, and with
every core held by a spinning process (``--busy``). Issue 18's target: the ratio
at most 1.2 on every set (1.1 where no edge is wired).

Cells (one per data set, mode and ``--label``) go to
``results/evolve_cost/cells.jsonl``; a cell already there is not rerun.
``--label`` names the code measured, so that the same script run against an
earlier checkout (``PYTHONPATH=<checkout>``) puts a before column beside it; the
report shows the labels in the order they were first recorded.

    python benchmarks/bench_evolve_cost.py                 # idle, label "current"
    python benchmarks/bench_evolve_cost.py --busy
    python benchmarks/bench_evolve_cost.py --aggregate-only
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import bench_levers as bl
import bench_tabular as bt
import harness
import numpy as np

OUT = Path(__file__).parent / "results" / "evolve_cost"
CELLS = "cells.jsonl"
CONFIGS = {"default": {}, "unevolved": {"evolve_rounds": 0}}


def regression_sets() -> list[str]:
    """The regression members of bench_levers.py's suites, in its order."""
    names = bt.register_small_suite() + bl.BUNDLED + bl.register_tuning_sets()
    return [n for n in names if bt.DATASETS[n].task == "regression"]


def _edges(model: Any) -> int:
    G = np.asarray(model.adjacency_, dtype=bool)
    return int(np.tril(G, -1).sum())


def run_cell(data: dict[str, Any], mode: str, label: str) -> dict[str, Any]:
    """Five folds of the default and the unevolved fit, timed back to back."""
    from sklearn.model_selection import KFold

    from sklearn_freenets import FreeNetRegressor

    cv = KFold(n_splits=5, shuffle=True, random_state=0)
    folds = []
    splits = cv.split(np.zeros(len(data["y"])), data["y"])
    for fold, (train, test) in enumerate(splits):
        X_tr, y_tr = bt._take(data["X"], train), data["y"][train]
        X_te, y_te = bt._take(data["X"], test), data["y"][test]
        order = list(CONFIGS) if fold % 2 == 0 else list(CONFIGS)[::-1]
        row: dict[str, Any] = {}
        for name in order:
            model = FreeNetRegressor(random_state=fold, **CONFIGS[name])
            pipe = bt.make_pipeline(data, model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                pipe.fit(X_tr, y_tr)
                seconds = time.perf_counter() - t0
                score = bt.score("regression", y_te, pipe.predict(X_te))
            row[name] = {
                "score": score,
                "fit_seconds": round(seconds, 4),
                "n_iter": int(pipe[-1].n_iter_),
                "edges": _edges(pipe[-1]),
            }
        folds.append(row)
    return {
        "dataset": data["name"],
        "mode": mode,
        "label": label,
        "n_samples": data["shape"]["n_samples"],
        "folds": folds,
        "source": bt.source(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def warm_up() -> None:
    """Compile (or load) the kernels a wired fit uses, before anything is timed."""
    import torch

    from sklearn_freenets.nn import FreeNetModule

    G = np.zeros((30, 30), dtype=bool)
    G[np.arange(1, 30), np.arange(29)] = True  # a chain: sparse, many levels
    for dtype in ("float32", "float64"):
        module = FreeNetModule(4, 30, 1, initial_graph=G, dtype=dtype)
        X = torch.zeros(8, 4, dtype=module.weight.dtype)
        module(X).sum().backward()
        with torch.no_grad():
            module(X)
            module.hidden(X)


def cell_key(cell: dict[str, Any]) -> tuple[str, str, str]:
    return cell["dataset"], cell["mode"], cell["label"]


def ratios(cell: dict[str, Any]) -> dict[str, float]:
    """Medians over the folds: fit-time, epochs and per-epoch ratios, and more."""
    fit, epochs, per_epoch, diff, edges = [], [], [], [], []
    for row in cell["folds"]:
        a, b = row["default"], row["unevolved"]
        fit.append(a["fit_seconds"] / b["fit_seconds"])
        epochs.append(a["n_iter"] / b["n_iter"])
        per_epoch.append(
            (a["fit_seconds"] / a["n_iter"]) / (b["fit_seconds"] / b["n_iter"])
        )
        diff.append(a["score"] - b["score"])
        edges.append(a["edges"])
    return {
        "fit": statistics.median(fit),
        "epochs": statistics.median(epochs),
        "per_epoch": statistics.median(per_epoch),
        "diff": float(np.mean(diff)),
        "edges": statistics.median(edges),
    }


def aggregate(out: Path) -> str:
    cells = harness.read_cells(out / CELLS, cell_key)
    labels = list(dict.fromkeys(lab for _, _, lab in cells))  # as first recorded
    sets = sorted({d for d, _, _ in cells})
    lines = [
        "# FreeEvolve's default: fit time against no evolution",
        "",
        "Generated by `benchmarks/bench_evolve_cost.py`. Each regression set of "
        "`bench_levers.py`'s suites, `bench_tabular.py`'s 5 folds and "
        "preprocessing; every fold fits `FreeNetRegressor()` and "
        "`FreeNetRegressor(evolve_rounds=0)` back to back (alternating which goes "
        "first) with the same seed. Ratios are default / unevolved, the median "
        "over the folds: whole fit, epochs run, time per epoch. *edges*: the "
        "default's wired edges (median over folds); *R^2 diff*: its mean test "
        "R^2 minus the unevolved one's. *idle*: nothing else running; *busy*: "
        "every core held by a spinning process (noisier: a small set's fits last "
        "a fraction of a second). Target: an idle fit ratio of at most 1.2 (1.1 "
        "where no edge is wired). The classifier's default does not evolve, so "
        "its default fit is the unevolved one.",
    ]
    for label in labels:
        commits = sorted(
            {
                (c["source"].get("git_commit") or "?")[:7]
                + ("+" if c["source"].get("git_dirty") else "")
                for (_, _, lab), c in cells.items()
                if lab == label
            }
        )
        lines += [
            "",
            f"## {label} (sklearn_freenets at {', '.join(commits)})",
            "",
            "| data set | n | edges | R^2 diff | fit idle | epochs idle | "
            "per epoch idle | fit busy | per epoch busy | target (idle) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
        ]
        worst: list[float] = []
        for d in sets:
            idle = cells.get((d, "idle", label))
            busy = cells.get((d, "busy", label))
            if idle is None and busy is None:
                continue
            ri = ratios(idle) if idle else None
            rb = ratios(busy) if busy else None
            first = ri or rb
            assert first is not None
            limit = 1.2 if first["edges"] > 0 else 1.1
            # judged idle (busy: with a reading, if only busy ran), at the
            # precision shown
            ok = round((ri or rb or first)["fit"], 2) <= limit
            worst += [r["fit"] for r in (ri, rb) if r]

            def fmt(r: dict[str, float] | None, key: str) -> str:
                return "-" if r is None else f"{r[key]:.2f}"

            n = (idle or busy or {}).get("n_samples", "-")
            lines.append(
                f"| {d} | {n} | {first['edges']:g} | {first['diff']:+.4f} | "
                f"{fmt(ri, 'fit')} | {fmt(ri, 'epochs')} | {fmt(ri, 'per_epoch')} | "
                f"{fmt(rb, 'fit')} | {fmt(rb, 'per_epoch')} | "
                f"{'yes' if ok else '**no**'} |"
            )
        if worst:
            lines += [
                "",
                f"Median fit ratio over the sets and modes: "
                f"{statistics.median(worst):.2f}; largest: {max(worst):.2f}.",
            ]
    text = "\n".join(lines) + "\n"
    (out / "evolve_cost.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=None)
    p.add_argument("--busy", action="store_true", help="every core held busy")
    p.add_argument("--label", default="current", help="name of the code measured")
    p.add_argument("--aggregate-only", action="store_true")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.aggregate_only:
        names = regression_sets()
        if args.datasets:
            names = [n for n in names if n in args.datasets]
        mode = "busy" if args.busy else "idle"
        done = harness.read_cells(args.out / CELLS, cell_key)
        todo = [n for n in names if (n, mode, args.label) not in done]
        warm_up()
        with harness.busy_load((os.cpu_count() or 1) if args.busy else 0):
            for name in todo:
                cell = run_cell(bt.load_dataset(name), mode, args.label)
                harness.append_cell(args.out / CELLS, cell)
                r = ratios(cell)
                print(
                    f"{name:16s} {mode} {args.label}: fit {r['fit']:.2f}x "
                    f"epochs {r['epochs']:.2f}x per epoch {r['per_epoch']:.2f}x "
                    f"edges {r['edges']:g} diff {r['diff']:+.4f}",
                    flush=True,
                )
    print(aggregate(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
