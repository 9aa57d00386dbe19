# SPDX-License-Identifier: BSD-3-Clause
"""Table 2 of the FreeNets paper: FreeEvolve against FCNN baselines, k = 30 ... 100.

What is compared
----------------
For every data set (MNIST, Fashion-MNIST, EMNIST), every number of neurons ``k`` of
the paper's Table 2 (30, 35, 40, 45, 50, 60, 70, 80, 90, 100) and several seeds, three
classifiers are trained with the same optimizer (Adam), learning rate, batch size, L2
penalty, initialisation and number of epochs:

- ``FreeEvolve``: ``FreeNetClassifier(k)``, ``k`` neurons with FreeEvolve rounds
  between training phases, starting from the empty graph (chosen on validation data,
  see ``tuning.md``, over the dense DAG, ``--initial-graph dense``);
- ``FCNN``: ``FreeNetClassifier(k, evolve_rounds=0, initial_graph="empty")``, exactly a
  one-hidden-layer MLP of ``k`` neurons (the paper's baseline of the same ``k``);
- ``FCNN (param-matched)``: the same MLP with ``hidden`` neurons, ``hidden >= k``
  chosen so that its parameter count matches the effective parameter count of the
  FreeEvolve net of the same data set, ``k`` and seed (encoder + decoder + kept
  edges); the paper adds neurons when parameter counts differ. Each hidden neuron
  costs ``n_features + 1 + n_classes`` parameters, so
  ``hidden = k + round(edges_end / (n_features + 1 + n_classes))``. When that gives
  ``hidden == k``, the cell is the very same model as the ``FCNN`` cell (same width,
  seed and hyperparameters), whose record is reused (``reused_from: "FCNN"``)
  instead of training it again.

Every fit runs exactly ``max_epochs`` epochs (``n_iter_no_change=np.inf``: no
stopping criterion) from PyTorch's initialisation (``init="torch"``). The FreeEvolve
rounds fall within these epochs: one after every ``max(1, max_epochs //
(evolve_rounds + 1))`` epochs (``evolve_every``; epochs 1, 2, 3, 4, 5 for 10 epochs
and 5 rounds) until ``evolve_rounds`` rounds ran or a round changed nothing, so the
epochs after the last round train the final graph. (Cells recorded before
``evolve_every`` existed placed round ``r`` after epoch ``floor(r * max_epochs /
(evolve_rounds + 1))``: epochs 1, 3, 5, 6, 8.)

The paper's FreeEvolve accuracies are printed beside ours.

Data and protocol
-----------------
- MNIST and Fashion-MNIST: the official 60,000 / 10,000 split. EMNIST: only the
  ByClass *test* split (116,323 images, 62 classes) is available offline, so
  ``load_emnist(split="byclass", holdout_from_test=True)`` divides it, stratified and
  seeded, into 80 % "train" and 20 % "test". That is **not** the paper's (truncated
  EMNIST) split, so the EMNIST numbers are not directly comparable.
- From each training split, 10 % is held out (stratified, seed 0, the same for all
  methods and seeds) as a validation set; models are trained on the other 90 % only.
  The defaults below were tuned on that validation set (``--tune``, a handful of
  configurations on an MNIST subsample, see ``tuning.md``), never on a test split.
  ``valid_accuracy`` is reported next to the test ``accuracy``.
- ``--seeds`` seeds per cell (default 3); the tables give mean and standard
  deviation (ddof=0, as in the figures) of the test accuracy, in percent. On the
  shared 2-core machine of the recorded run (load 4-8 from other jobs) a fit took
  15-170 s (EMNIST and large ``k`` slowest), about 50 minutes per seed for the whole
  table, so that run used ``--seeds 2`` (about 100 minutes); ``--seeds 3`` later
  adds the third seed to the same folder.

Results (in ``--out``, default ``benchmarks/results/table2``):

- ``cells/<dataset>__<method>__k<k>__s<seed>.json``: one record per finished cell.
  The run is resumable: finished cells are skipped, so rerunning the same command
  after an interruption continues where it stopped.
- ``table2.json`` (all records), ``table2.md`` (Markdown tables, printed) and, with
  ``--plots``, ``fig5_<dataset>.png`` (accuracy against ``k``) and
  ``fig8_<dataset>.png`` (edges at the start and end of evolution against ``k``).

Cells are run seed by seed (all of seed 0 first) and, within a seed, at spread-out
``k`` (30, 100, 60, 80, 45, ...) with all data sets at each ``k``, so that an
interrupted run already gives a useful (coarser, fewer seeds) table.

How to run
----------
::

    python benchmarks/bench_table2.py --quick            # a few minutes, smoke test
    python benchmarks/bench_table2.py --tune             # validation grid -> tuning.md
    nohup python benchmarks/bench_table2.py --seeds 2 --plots \
        > benchmarks/results/table2/run.log 2>&1 &                # the recorded run
    python benchmarks/bench_table2.py --aggregate-only --plots   # re-aggregate

Options: ``--datasets``, ``--ks``, ``--seeds``, ``--epochs``, ``--initial-graph``,
``--data-home``, ``--out``, ``--threads`` (torch threads, default 1: on the shared
2-core machine one thread was several times faster than two), ``--max-train``
(subsample the training rows), ``--plots``. A results folder holds one setting only:
the script refuses to add cells made with other hyperparameters to it.

What counts as a pass
---------------------
Printed at the end of the aggregate, per data set:

1. FreeEvolve beats the FCNN of the same ``k``: its test accuracy averaged over the
   finished ``k`` is at least the FCNN's (the paper's main claim).
2. MNIST and Fashion-MNIST only: FreeEvolve's test accuracy averaged over the
   finished ``k`` is within 1 percentage point of the paper's Table 2 row (EMNIST
   uses a different split and is reported, not judged).

FreeEvolve against the parameter-matched FCNN is reported but not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_freenets import FreeNetClassifier  # noqa: E402
from sklearn_freenets._module import n_parameters  # noqa: E402
from sklearn_freenets.datasets import (  # noqa: E402
    load_emnist,
    load_fashion_mnist,
    load_mnist,
)

KS = (30, 35, 40, 45, 50, 60, 70, 80, 90, 100)
DATASETS = ("mnist", "fashion_mnist", "emnist")
METHODS = ("FreeEvolve", "FCNN", "FCNN (param-matched)")
PAPER_FREEEVOLVE = {  # Table 2 of the paper, test accuracy in percent, k = KS
    "mnist": (95.63, 96.03, 96.37, 96.51, 96.65, 96.92, 97.26, 97.25, 97.40, 97.34),
    "fashion_mnist": (
        87.59,
        87.10,
        87.92,
        87.81,
        88.07,
        88.74,
        88.66,
        89.20,
        88.95,
        88.89,
    ),
    "emnist": (78.77, 80.75, 81.52, 81.38, 82.58, 83.33, 84.27, 84.23, 85.29, 85.51),
}
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "emnist": "EMNIST"}

# Defaults chosen on the validation split (see ``--tune`` and tuning.md).
DEFAULTS: dict[str, Any] = {
    "epsilon": 0.1,
    "evolve_rounds": 5,
    "max_epochs": 10,
    "lr": 3e-3,
    "initial_graph": "empty",
    "batch_size": 128,
    "alpha": 1e-4,
    "activation": "relu",
    "evolve_max_samples": 20000,
    "init": "torch",
}
VALID_FRACTION = 0.1
SPLIT_SEED = 0


# ----------------------------------------------------------------------- data
def load_dataset(
    name: str, data_home: str | None, max_train: int | None = None
) -> dict[str, Any]:
    """Return the train / validation / test arrays of one data set.

    10 % of the training split is held out (stratified, seed ``SPLIT_SEED``) as the
    validation set; ``max_train`` subsamples (stratified) the remaining training rows.
    """
    if name == "mnist":
        X, y = load_mnist(subset="train", data_home=data_home, return_X_y=True)
        Xte, yte = load_mnist(subset="test", data_home=data_home, return_X_y=True)
    elif name == "fashion_mnist":
        X, y = load_fashion_mnist(subset="train", data_home=data_home, return_X_y=True)
        Xte, yte = load_fashion_mnist(
            subset="test", data_home=data_home, return_X_y=True
        )
    elif name == "emnist":
        kw = {"split": "byclass", "holdout_from_test": True, "data_home": data_home}
        X, y = load_emnist(subset="train", return_X_y=True, **kw)
        Xte, yte = load_emnist(subset="test", return_X_y=True, **kw)
    else:
        raise ValueError(f"unknown data set {name!r}")
    Xtr, Xva, ytr, yva = train_test_split(
        X, y, test_size=VALID_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    if max_train is not None and max_train < len(ytr):
        Xtr, _, ytr, _ = train_test_split(
            Xtr, ytr, train_size=max_train, stratify=ytr, random_state=SPLIT_SEED
        )
    return {
        "X_train": np.ascontiguousarray(Xtr),
        "y_train": ytr,
        "X_valid": np.ascontiguousarray(Xva),
        "y_valid": yva,
        "X_test": np.ascontiguousarray(Xte),
        "y_test": yte,
        "n_classes": int(len(np.unique(y))),
    }


# ---------------------------------------------------------------------- cells
def fixed_budget(hp: dict[str, Any]) -> dict[str, Any]:
    """Estimator parameters that train exactly ``hp["max_epochs"]`` epochs.

    No stopping criterion, and the FreeEvolve rounds spread over the epochs: one
    after every ``max(1, max_epochs // (evolve_rounds + 1))`` epochs, so that
    ``evolve_rounds`` rounds split the epochs into ``evolve_rounds + 1`` phases.
    """
    every = max(1, hp["max_epochs"] // (hp["evolve_rounds"] + 1))
    return {"n_iter_no_change": np.inf, "evolve_every": every}


def paper_accuracy(dataset: str, k: int) -> float | None:
    """The paper's FreeEvolve test accuracy (percent), or None for other k."""
    if dataset in PAPER_FREEEVOLVE and k in KS:
        return PAPER_FREEEVOLVE[dataset][KS.index(k)]
    return None


def cell_path(out: Path, dataset: str, method: str, k: int, seed: int) -> Path:
    slug = {"FreeEvolve": "freeevolve", "FCNN": "fcnn"}.get(method, "fcnn-matched")
    return out / "cells" / f"{dataset}__{slug}__k{k}__s{seed}.json"


def cell_order(
    datasets: list[str], ks: list[int], seeds: list[int]
) -> list[tuple[int, int, str, str]]:
    """Seed-major, spread-out k, all data sets per k, FreeEvolve before the FCNNs."""
    remaining = sorted(ks)
    spread: list[int] = []
    if remaining:  # ends first, then repeatedly the middle of the widest gap
        spread = [remaining[0]] + ([remaining[-1]] if len(remaining) > 1 else [])
        rest = remaining[1:-1]
        while rest:
            chosen = sorted(spread)
            gaps = [
                (b - a, a, b)
                for a, b in zip(chosen, chosen[1:], strict=False)
                if any(a < r < b for r in rest)
            ]
            _, a, b = max(gaps)
            mid = min(
                (r for r in rest if a < r < b), key=lambda r: abs(r - (a + b) / 2)
            )
            spread.append(mid)
            rest.remove(mid)
    return [
        (seed, k, dataset, method)
        for seed in seeds
        for k in spread
        for dataset in datasets
        for method in METHODS
    ]


def matched_width(k: int, edges_end: int, per_neuron: int) -> int:
    """Width of the FCNN whose parameter count is nearest the FreeNet's.

    A FreeNet of ``k`` neurons has the parameters of an FCNN of ``k`` hidden
    neurons plus one per kept edge; each extra hidden neuron adds ``per_neuron =
    n_features + 1 + n_classes`` parameters.
    """
    return k + int(round(edges_end / per_neuron))


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def run_cell(
    data: dict[str, Any],
    dataset: str,
    method: str,
    k: int,
    seed: int,
    hp: dict[str, Any],
    *,
    edges_end: int | None = None,
    setting: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit one classifier and return its record."""
    n_features = data["X_train"].shape[1]
    n_classes = data["n_classes"]
    common = {
        k_: hp[k_]
        for k_ in ("max_epochs", "batch_size", "lr", "alpha", "activation", "init")
    }
    budget = fixed_budget(hp)
    common["n_iter_no_change"] = budget["n_iter_no_change"]
    if method == "FreeEvolve":
        hidden = k
        est = FreeNetClassifier(
            k,
            epsilon=hp["epsilon"],
            evolve_rounds=hp["evolve_rounds"],
            initial_graph=hp["initial_graph"],
            evolve_every=budget["evolve_every"],
            evolve_max_samples=hp["evolve_max_samples"],
            random_state=seed,
            **common,
        )
    else:
        hidden = k
        if method == "FCNN (param-matched)":
            if edges_end is None:
                raise ValueError("the param-matched FCNN needs the FreeEvolve edges")
            hidden = matched_width(k, edges_end, n_features + 1 + n_classes)
        est = FreeNetClassifier(
            hidden, evolve_rounds=0, initial_graph="empty", random_state=seed, **common
        )
    t0 = time.perf_counter()
    est.fit(data["X_train"], data["y_train"])
    fit_seconds = time.perf_counter() - t0
    history = [
        {
            key: row.get(key)
            for key in (
                "round",
                "epoch",
                "n_edges_before",
                "n_added",
                "n_pruned",
                "n_edges",
                "train_loss",
            )
        }
        for row in est.evolution_history_
    ]
    if method == "FreeEvolve":
        edges_start = history[0]["n_edges_before"] if history else int(est.n_edges_)
    else:
        edges_start = 0
    record = {
        "dataset": dataset,
        "method": method,
        "k": k,
        "hidden": hidden,
        "seed": seed,
        "accuracy": float(est.score(data["X_test"], data["y_test"])),
        "valid_accuracy": float(est.score(data["X_valid"], data["y_valid"])),
        "fit_seconds": round(fit_seconds, 3),
        "edges_start": int(edges_start),
        "edges_end": int(est.n_edges_),
        "n_params": int(
            n_parameters(n_features, hidden, n_classes, int(est.n_edges_), False)
        ),
        "epochs": int(est.n_iter_),
        "final_train_loss": est.loss_curve_[-1] if est.loss_curve_ else None,
        "n_rounds": len(history),
        "evolve_every": budget["evolve_every"] if method == "FreeEvolve" else None,
        "evolution_history": history,
        "paper_accuracy": paper_accuracy(dataset, k)
        if method == "FreeEvolve"
        else None,
        "hyperparameters": dict(hp),
        "setting": dict(setting or {}),
    }
    return record


# ------------------------------------------------------------------ aggregate
def load_records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((out / "cells").glob("*.json"))]


def _fmt(values: list[float], n_max: int) -> str:
    if not values:
        return "–"
    mean, std = float(np.mean(values)), float(np.std(values))
    text = f"{mean:.2f}" if len(values) == 1 else f"{mean:.2f} ± {std:.2f}"
    if len(values) < n_max:
        text += f" (n={len(values)})"
    return text


def aggregate(out: Path, plots: bool = False) -> str:
    """Write table2.json and table2.md from the finished cells; return the Markdown."""
    records = load_records(out)
    _write_json(out / "table2.json", records)
    if not records:
        md = "# Table 2 reproduction\n\nNo finished cell yet.\n"
        (out / "table2.md").write_text(md)
        return md
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in records)]
    datasets += sorted({r["dataset"] for r in records} - set(datasets))
    seeds = sorted({r["seed"] for r in records})
    n_max = max(
        sum(1 for r in records if (r["dataset"], r["method"], r["k"]) == key)
        for key in {(r["dataset"], r["method"], r["k"]) for r in records}
    )
    hps = {json.dumps(r["hyperparameters"], sort_keys=True) for r in records}
    settings = {json.dumps(r.get("setting", {}), sort_keys=True) for r in records}
    lines = ["# Table 2 reproduction: FreeEvolve vs FCNN baselines", ""]
    lines.append(
        f"Test accuracy in percent, mean ± std over seeds (ddof=0); {len(records)} "
        f"finished cells, seeds {seeds}. `(n=…)` marks cells with fewer seeds than "
        "the others. Produced by `benchmarks/bench_table2.py`."
    )
    lines.append("")
    verdicts: list[str] = []
    for dataset in datasets:
        recs = [r for r in records if r["dataset"] == dataset]
        ks = sorted({r["k"] for r in recs})
        lines.append(f"## {DATASET_NAMES.get(dataset, dataset)}")
        lines.append("")
        lines.append(
            "| method | " + " | ".join(f"k={k}" for k in ks) + " | mean, common k |"
        )
        lines.append("|---|" + "---:|" * (len(ks) + 1))
        means: dict[str, dict[int, float]] = {}
        cells: dict[str, list[str]] = {}
        for method in METHODS:
            cells[method] = []
            means[method] = {}
            for k in ks:
                vals = [
                    100 * r["accuracy"]
                    for r in recs
                    if r["method"] == method and r["k"] == k
                ]
                if vals:
                    means[method][k] = float(np.mean(vals))
                cells[method].append(_fmt(vals, n_max))
        # the mean column averages over the k finished for every method only
        common = [k for k in ks if all(k in means[m] for m in METHODS)]
        for method in METHODS:
            avg = (
                f"{np.mean([means[method][k] for k in common]):.2f}" if common else "–"
            )
            lines.append(f"| {method} | " + " | ".join(cells[method]) + f" | {avg} |")
        paper = {k: paper_accuracy(dataset, k) for k in ks}
        paper_row = [f"{paper[k]:.2f}" if paper[k] is not None else "–" for k in ks]
        pvals = [paper[k] for k in common if paper[k] is not None]
        pavg = f"{np.mean(pvals):.2f}" if pvals else "–"
        lines.append("| paper FreeEvolve | " + " | ".join(paper_row) + f" | {pavg} |")
        lines.append("")
        # sizes
        lines.append(
            "Sizes (means over seeds): FreeEvolve edges at the start → end of "
            "evolution, param-matched FCNN width, effective parameters, fit seconds."
        )
        lines.append("")
        lines.append("| quantity | " + " | ".join(f"k={k}" for k in ks) + " |")
        lines.append("|---|" + "---:|" * len(ks))

        def _mean_of(
            method: str, key: str, k: int, fmt: str = "{:.0f}", recs=recs
        ) -> str:
            vals = [r[key] for r in recs if r["method"] == method and r["k"] == k]
            return fmt.format(np.mean(vals)) if vals else "–"

        lines.append(
            "| FreeEvolve edges | "
            + " | ".join(
                _mean_of("FreeEvolve", "edges_start", k)
                + " → "
                + _mean_of("FreeEvolve", "edges_end", k)
                for k in ks
            )
            + " |"
        )
        lines.append(
            "| param-matched width | "
            + " | ".join(_mean_of("FCNN (param-matched)", "hidden", k) for k in ks)
            + " |"
        )
        for method in METHODS:
            lines.append(
                f"| params {method} | "
                + " | ".join(_mean_of(method, "n_params", k) for k in ks)
                + " |"
            )
        for method in METHODS:
            lines.append(
                f"| fit s {method} | "
                + " | ".join(_mean_of(method, "fit_seconds", k, "{:.1f}") for k in ks)
                + " |"
            )
        lines.append("")
        # verdicts
        common_k = [k for k in ks if k in means["FreeEvolve"] and k in means["FCNN"]]
        name = DATASET_NAMES.get(dataset, dataset)
        if common_k:
            fe = np.mean([means["FreeEvolve"][k] for k in common_k])
            fc = np.mean([means["FCNN"][k] for k in common_k])
            diff = [means["FreeEvolve"][k] - means["FCNN"][k] for k in common_k]
            ahead = sum(d > 1e-9 for d in diff)
            tied = sum(abs(d) <= 1e-9 for d in diff)
            verdicts.append(
                f"- {name}: FreeEvolve {fe:.2f} vs FCNN {fc:.2f} (same k, mean over "
                f"{len(common_k)} k; FreeEvolve ahead at {ahead}, tied at {tied}, "
                f"behind at {len(diff) - ahead - tied}): "
                f"{'PASS' if fe >= fc else 'FAIL'} (criterion 1)"
            )
        mk = [
            k
            for k in ks
            if k in means["FreeEvolve"] and k in means["FCNN (param-matched)"]
        ]
        if mk:
            fe = np.mean([means["FreeEvolve"][k] for k in mk])
            fm = np.mean([means["FCNN (param-matched)"][k] for k in mk])
            verdicts.append(
                f"- {name}: FreeEvolve {fe:.2f} vs param-matched FCNN {fm:.2f} "
                f"(mean over {len(mk)} k): reported, not judged"
            )
        pk = [k for k in means["FreeEvolve"] if paper.get(k) is not None]
        if pk:
            ours = np.mean([means["FreeEvolve"][k] for k in pk])
            theirs = np.mean([paper[k] for k in pk])
            judged = dataset in ("mnist", "fashion_mnist")
            tag = (
                ("PASS" if ours >= theirs - 1.0 else "FAIL") + " (criterion 2)"
                if judged
                else "not judged (different split)"
            )
            verdicts.append(
                f"- {name}: FreeEvolve {ours:.2f} vs paper {theirs:.2f} "
                f"(difference {ours - theirs:+.2f} pp over {len(pk)} k): {tag}"
            )
    lines.append("## Verdicts")
    lines.append("")
    lines.extend(verdicts)
    lines.append("")
    lines.append("## Notes")
    lines.append("")
    hp0 = records[0]["hyperparameters"]
    every = next(
        (r["evolve_every"] for r in records if r.get("evolve_every") is not None),
        None,
    )
    schedule = (
        "which split the same epochs into phases (no extra epochs)"
        if every is None  # cells recorded before evolve_every existed
        else (
            "one after each epoch" if every == 1 else f"one after every {every} epochs"
        )
        + " (within the same epochs: no extra epochs)"
    )
    trained = [r for r in records if "reused_from" not in r]
    matched = [r for r in records if r["method"] == "FCNN (param-matched)"]
    reused = [r for r in matched if "reused_from" in r]
    lines.append(f"- Hyperparameters (all cells): `{'; '.join(hps)}`.")
    lines.append(f"- Setting: `{'; '.join(settings)}`.")
    lines.append(
        f"- Training: {hp0['max_epochs']} epochs of Adam (lr {hp0['lr']}, batch "
        f"{hp0['batch_size']}, L2 {hp0['alpha']}) for every method; FreeEvolve "
        f"starts from the `{hp0['initial_graph']}` graph with epsilon "
        f"{hp0['epsilon']} and at most {hp0['evolve_rounds']} rounds, {schedule}. "
        "These were chosen on "
        "validation data only (`tuning.md`); the epoch count was set by the "
        "compute budget (about 100 minutes for the table on 2 shared CPU cores), "
        "not tuned, and is surely shorter than the paper's training. "
        f"Seeds: {seeds} (`(n=…)` marks cells with fewer)."
    )
    max_train = records[0].get("setting", {}).get("max_train")
    sizes = (
        "MNIST and Fashion-MNIST: 54,000 images; EMNIST: 83,752"
        if max_train is None
        else f"subsampled to {max_train} rows"
    )
    lines.append(
        "- Protocol: 10 % of each training split is held out (stratified, seed 0) "
        f"for validation; models train on the remaining 90 % only ({sizes}), so "
        "every cell also reports `valid_accuracy`. The test split is used only "
        "for the numbers above."
    )
    lines.append(
        "- EMNIST: only the ByClass test split (116,323 images, 62 classes) is "
        "available offline; `load_emnist(holdout_from_test=True)` divides it 80/20 "
        "(stratified, seed 0) into train (93,058) and test (23,265). This is not "
        "the paper's truncated-EMNIST split (nor its class set, if it used "
        "another EMNIST split), so EMNIST numbers are not comparable one-to-one "
        "with the paper's."
    )
    free = [r for r in records if r["method"] == "FreeEvolve"]
    if free:
        no_edge = sum(r["edges_end"] == 0 for r in free)
        mean_edges = np.mean([r["edges_end"] for r in free])
        lines.append(
            f"- FreeEvolve's graph: on average {mean_edges:.0f} "
            f"edges at the end (of up to k(k-1)/2); {no_edge} of {len(free)} "
            "FreeEvolve fits added no edge at all and are then exactly the FCNN of "
            "the same k and seed (same accuracy). The FreeEvolve-FCNN differences "
            "are of the order of the spread over seeds."
        )
    if matched:
        lines.append(
            f"- Param-matched FCNN: {len(reused)} of {len(matched)} cells had "
            "`hidden == k`, because FreeEvolve kept fewer edges than half a hidden "
            "neuron's parameters (`n_features + 1 + n_classes`); they are the same "
            "model as the FCNN cell and reuse its record (`reused_from`), so that "
            "row equals the FCNN row there."
        )
    if trained:
        total = sum(r["fit_seconds"] for r in trained)
        lines.append(
            f"- Hardware: {records[0].get('setting', {}).get('machine', '?')}, "
            "shared with other jobs (timings are noisy); one process, torch "
            f"threads {records[0].get('setting', {}).get('torch_threads', '?')}. "
            f"{len(trained)} fits took {total / 60:.0f} minutes of fitting, median "
            f"{np.median([r['fit_seconds'] for r in trained]):.0f} s per fit."
        )
    lines.append(
        "- The paper's numbers are its Table 2 FreeEvolve row (test accuracy, "
        "percent); only FreeEvolve is compared with it. Where we fall short of "
        "it, see the verdicts: the difference is given per data set, averaged "
        "over the finished k. Likely causes of a shortfall: our short training "
        "(epochs set by the compute budget), hyperparameters tuned on MNIST only "
        "and reused for the other data sets, and for EMNIST a different data "
        "division (62 unbalanced ByClass classes from the official test split)."
    )
    (out / "table2.md").write_text("\n".join(lines) + "\n")
    if plots:
        make_plots(records, out, datasets)
    return "\n".join(lines) + "\n"


def make_plots(records: list[dict[str, Any]], out: Path, datasets: list[str]) -> None:
    try:
        import matplotlib

        from sklearn_freenets.plotting import (
            plot_accuracy_vs_neurons,
            plot_edges_vs_neurons,
        )

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        print(
            f"--plots: skipped ({exc}); sklearn_freenets.plotting or matplotlib "
            "is not available yet."
        )
        return
    for dataset in datasets:
        recs = [r for r in records if r["dataset"] == dataset]
        for name, func in (
            ("fig5", plot_accuracy_vs_neurons),
            ("fig8", plot_edges_vs_neurons),
        ):
            fig, ax = plt.subplots(figsize=(6, 4))
            try:
                func(recs, dataset=dataset, ax=ax)
                fig.tight_layout()
                path = out / f"{name}_{dataset}.png"
                fig.savefig(path, dpi=120)
                print(f"wrote {path}")
            except ValueError as exc:
                print(f"--plots: {name} for {dataset} skipped ({exc})")
            finally:
                plt.close(fig)


# --------------------------------------------------------------------- tuning
# The grid's starting point: the library's defaults when it was tuned (lr 1e-3,
# dense start, PyTorch's initialisation) at the benchmark's budget; each
# configuration changes a few of them.
TUNE_BASE: dict[str, Any] = {**DEFAULTS, "lr": 1e-3, "initial_graph": "dense"}
TUNE_CONFIGS: list[tuple[str, str, dict[str, Any]]] = [
    ("FreeEvolve", "default (eps 0.1, 5 rounds, lr 1e-3, dense)", {}),
    ("FreeEvolve", "epsilon 0.05", {"epsilon": 0.05}),
    ("FreeEvolve", "epsilon 0.2", {"epsilon": 0.2}),
    ("FreeEvolve", "2 rounds", {"evolve_rounds": 2}),
    ("FreeEvolve", "initial graph empty", {"initial_graph": "empty"}),
    ("FreeEvolve", "lr 3e-3", {"lr": 3e-3}),
    ("FreeEvolve", "lr 1e-2", {"lr": 1e-2}),
    (
        "FreeEvolve",
        "lr 3e-3, initial graph empty",
        {"lr": 3e-3, "initial_graph": "empty"},
    ),  # noqa: E501
    ("FreeEvolve", "lr 3e-3, epsilon 0.2", {"lr": 3e-3, "epsilon": 0.2}),
    ("FCNN", "lr 1e-3", {}),
    ("FCNN", "lr 3e-3", {"lr": 3e-3}),
    ("FCNN", "lr 1e-2", {"lr": 1e-2}),
    ("FreeEvolve", "lr 3e-3, batch 256", {"lr": 3e-3, "batch_size": 256}),
    ("FCNN", "lr 3e-3, batch 256", {"lr": 3e-3, "batch_size": 256}),
]


TUNING_DECISION = """
## Decision

- **lr 3e-3** for all methods (same optimizer for FreeEvolve and the FCNNs): it is
  the best learning rate of both FreeEvolve (95.78 vs 94.99 at 1e-3 and 95.20 at
  1e-2, dense start) and the FCNN (96.15 vs 95.07 and 95.75). With 10 epochs the
  nets are still under-trained at 1e-3.
- **initial_graph "empty"** for FreeEvolve: at lr 3e-3 it beats the dense start
  (96.08 vs 95.78; also at lr 1e-3: 95.17 vs 94.99). Starting empty, FreeEvolve
  grows only a few dozen edges (augmentation), so the FreeNet stays close to the
  FCNN; starting dense it prunes few edges (epsilon 0.05 / 0.1 / 0.2 barely differ,
  4,880-4,930 of 4,950 edges kept at k=100).
- **epsilon 0.1, 5 rounds**: epsilon and the number of rounds made no measurable
  difference (within 0.05 pp); the library defaults are kept. They were tried
  with the dense start only (the grid was kept small), not with the empty start
  that was finally chosen, where epsilon sets how many edges are added.
- On validation, the tuned FreeEvolve (96.08) is on par with the FCNN of the same
  k at the same lr (96.15): no FreeEvolve advantage shows at this budget.
- **batch 128**: batch 256 is about 30 % faster but 0.3-0.5 pp worse for both.
- **10 epochs**: set by the compute budget (about 100 minutes for the whole table on
  2 shared cores), not tuned; more epochs would help both methods.
- Training set for the reported numbers: the 90 % training part only (the same
  split as here), so that every cell also reports a validation accuracy; the test
  split is only evaluated.
"""


def tune(args: argparse.Namespace, out: Path) -> None:
    """Validation-only tuning on an MNIST subsample; writes tuning.md/json."""
    data = load_dataset("mnist", args.data_home, max_train=args.tune_max_train)
    base = dict(TUNE_BASE)
    if args.epochs is not None:
        base["max_epochs"] = args.epochs
    rows = []
    path = out / "tuning.json"
    done = json.loads(path.read_text()) if path.exists() else []
    for method, label, change in TUNE_CONFIGS:
        for k in args.tune_ks:
            for seed in args.tune_seeds:
                hp = {**base, **change}
                hit = [
                    r
                    for r in done
                    if (r["method"], r["config"], r["k"], r["seed"])
                    == (method, label, k, seed)
                    and r["hyperparameters"] == hp
                ]
                if hit:
                    rows.append(hit[0])
                    continue
                rec = run_cell(data, "mnist", method, k, seed, hp)
                row = {
                    "method": method,
                    "config": label,
                    "k": k,
                    "seed": seed,
                    "valid_accuracy": rec["valid_accuracy"],
                    "edges_end": rec["edges_end"],
                    "fit_seconds": rec["fit_seconds"],
                    "hyperparameters": hp,
                }
                print(
                    f"[tune] {method:10s} {label:45s} k={k:3d} s={seed} "
                    f"valid {100 * row['valid_accuracy']:.2f} "
                    f"edges {row['edges_end']} {row['fit_seconds']:.1f}s",
                    flush=True,
                )
                rows.append(row)
                done.append(row)
                _write_json(path, done)
    lines = [
        "# Table 2 tuning (validation data only)",
        "",
        f"MNIST, training rows subsampled to {args.tune_max_train} (stratified, "
        f"seed {SPLIT_SEED}) from the 90 % training part; validation = the held-out "
        f"10 % of the official training split (6,000 images). The test split was "
        f"not used. {base['max_epochs']} epochs, batch 128, Adam, alpha 1e-4, "
        f"seeds {args.tune_seeds}. Validation accuracy in percent, mean over seeds.",
        "",
        "| method | config | "
        + " | ".join(f"k={k}" for k in args.tune_ks)
        + " | mean | edges end | fit s |",
        "|---|---|" + "---:|" * (len(args.tune_ks) + 3),
    ]
    for method, label, _ in TUNE_CONFIGS:
        sel = [r for r in rows if (r["method"], r["config"]) == (method, label)]
        per_k = [
            np.mean([100 * r["valid_accuracy"] for r in sel if r["k"] == k])
            for k in args.tune_ks
        ]
        lines.append(
            f"| {method} | {label} | "
            + " | ".join(f"{v:.2f}" for v in per_k)
            + f" | {np.mean(per_k):.2f} | "
            + " / ".join(
                f"{np.mean([r['edges_end'] for r in sel if r['k'] == k]):.0f}"
                for k in args.tune_ks
            )
            + f" | {np.mean([r['fit_seconds'] for r in sel]):.1f} |"
        )
    text = "\n".join(lines) + "\n" + TUNING_DECISION
    (out / "tuning.md").write_text(text)
    print(text)


# ----------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None)
    parser.add_argument("--ks", nargs="+", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    parser.add_argument("--epochs", type=int, default=None, help="max_epochs")
    parser.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="subsample the training rows (stratified)",
    )
    parser.add_argument(
        "--data-home",
        default=None,
        help="folder with mnist/, fashion-mnist/, emnist/ "
        "(default: $SKLEARN_FREENETS_DATA)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="results folder (default benchmarks/results/table2, "
        "or benchmarks/results/table2-quick with --quick)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--initial-graph",
        choices=("empty", "dense"),
        default=None,
        help=f"FreeEvolve's starting graph (default {DEFAULTS['initial_graph']})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 10k training rows, k in (30, 100), 1 seed, 3 epochs",
    )
    parser.add_argument(
        "--plots",
        action="store_true",
        help="save fig5_<dataset>.png and fig8_<dataset>.png",
    )
    parser.add_argument(
        "--aggregate-only",
        action="store_true",
        help="only rebuild table2.json / table2.md from the cells",
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="run the validation tuning grid (writes tuning.md)",
    )
    parser.add_argument("--tune-ks", nargs="+", type=int, default=[50, 100])
    parser.add_argument("--tune-seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--tune-max-train", type=int, default=20000)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    if args.data_home is None:
        args.data_home = os.environ.get(
            "SKLEARN_FREENETS_DATA",
            str(Path(__file__).resolve().parents[1].parent / "shared" / "data"),
        )
    root = Path(__file__).resolve().parent / "results"
    out = Path(args.out or root / ("table2-quick" if args.quick else "table2"))
    out.mkdir(parents=True, exist_ok=True)

    if args.tune:
        tune(args, out)
        return 0
    if args.aggregate_only:
        print(aggregate(out, plots=args.plots))
        return 0

    datasets = list(args.datasets or DATASETS)
    ks = list(args.ks or ((30, 100) if args.quick else KS))
    n_seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    hp = dict(DEFAULTS)
    if args.quick:
        hp["max_epochs"] = 3
    if args.epochs is not None:
        hp["max_epochs"] = args.epochs
    if args.initial_graph is not None:
        hp["initial_graph"] = args.initial_graph
    max_train = (
        args.max_train
        if args.max_train is not None
        else (10000 if args.quick else None)
    )
    setting = {
        "max_train": max_train,
        "valid_fraction": VALID_FRACTION,
        "split_seed": SPLIT_SEED,
        "torch_threads": args.threads,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}",
    }

    # refuse to mix cells of different settings in one results folder
    for path in (out / "cells").glob("*.json"):
        rec = json.loads(path.read_text())
        if (
            rec["hyperparameters"] != hp
            or rec.get("setting", {}).get("max_train") != max_train
        ):
            raise SystemExit(
                f"{path} was made with other settings ({rec['hyperparameters']}, "
                f"max_train={rec.get('setting', {}).get('max_train')}); use another "
                "--out or the same options."
            )

    order = cell_order(datasets, ks, list(range(n_seeds)))
    todo = [c for c in order if not cell_path(out, c[2], c[3], c[1], c[0]).exists()]
    print(
        f"{len(order)} cells, {len(order) - len(todo)} already done, {len(todo)} to "
        f"run; hyperparameters {hp}; setting {setting}",
        flush=True,
    )
    cache: dict[str, dict[str, Any]] = {}
    t_start = time.perf_counter()
    for i, (seed, k, dataset, method) in enumerate(todo, 1):
        path = cell_path(out, dataset, method, k, seed)
        if dataset not in cache:
            cache[dataset] = load_dataset(dataset, args.data_home, max_train)
        edges_end = None
        rec = None
        if method == "FCNN (param-matched)":
            fe_path = cell_path(out, dataset, "FreeEvolve", k, seed)
            edges_end = json.loads(fe_path.read_text())["edges_end"]
            data = cache[dataset]
            per_neuron = data["X_train"].shape[1] + 1 + data["n_classes"]
            fc_path = cell_path(out, dataset, "FCNN", k, seed)
            if matched_width(k, edges_end, per_neuron) == k and fc_path.exists():
                # same width, seed and hyperparameters as the FCNN cell: the very
                # same model, so its record is reused instead of training it again
                rec = json.loads(fc_path.read_text())
                rec.update(method=method, reused_from="FCNN", paper_accuracy=None)
        if rec is None:
            rec = run_cell(
                cache[dataset],
                dataset,
                method,
                k,
                seed,
                hp,
                edges_end=edges_end,
                setting=setting,
            )
        _write_json(path, rec)
        elapsed = time.perf_counter() - t_start
        print(
            f"[{i}/{len(todo)} {elapsed / 60:6.1f} min] {dataset:13s} {method:21s} "
            f"k={k:3d} hidden={rec['hidden']:3d} seed={seed} "
            f"test {100 * rec['accuracy']:.2f} valid {100 * rec['valid_accuracy']:.2f} "
            f"edges {rec['edges_start']}->{rec['edges_end']} "
            f"fit {rec['fit_seconds']:.1f}s",
            flush=True,
        )
    print(aggregate(out, plots=args.plots), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
