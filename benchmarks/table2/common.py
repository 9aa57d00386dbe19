# SPDX-License-Identifier: BSD-3-Clause
"""What the Table 2 modules share: the paper's numbers, the data, the cell store.

The cells of a results folder are the lines of its ``cells.jsonl`` (see
``benchmarks/harness.py``), keyed by :func:`cell_key`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import harness
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_freenets.datasets import load_emnist, load_fashion_mnist, load_mnist

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "table2"
KS = (30, 35, 40, 45, 50, 60, 70, 80, 90, 100)
DATASETS = ("mnist", "fashion_mnist", "emnist")
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "emnist": "EMNIST"}
# Table 2 of the paper, test accuracy in percent, k = KS
PAPER = {
    ("mnist", "FreeEvolve"): (
        95.63, 96.03, 96.37, 96.51, 96.65, 96.92, 97.26, 97.25, 97.40, 97.34,
    ),
    ("mnist", "FCNN"): (
        95.74, 95.72, 96.14, 96.26, 96.54, 97.07, 97.02, 97.20, 97.23, 97.34,
    ),
    ("fashion_mnist", "FreeEvolve"): (
        87.59, 87.10, 87.92, 87.81, 88.07, 88.74, 88.66, 89.20, 88.95, 88.89,
    ),
    ("fashion_mnist", "FCNN"): (
        86.94, 86.87, 87.15, 87.24, 87.50, 87.75, 87.96, 88.38, 88.14, 88.23,
    ),
    ("emnist", "FreeEvolve"): (
        78.77, 80.75, 81.52, 81.38, 82.58, 83.33, 84.27, 84.23, 85.29, 85.51,
    ),
    ("emnist", "FCNN"): (
        78.55, 79.97, 80.63, 81.92, 81.70, 82.63, 84.07, 84.12, 84.60, 84.98,
    ),
}  # fmt: skip
VALID_FRACTION = 0.1
SPLIT_SEED = 0


def paper_accuracy(dataset: str, method: str, k: int) -> float | None:
    """The paper's test accuracy (percent) of ``method`` at ``k``, if it has one."""
    row = PAPER.get((dataset, method))
    return row[KS.index(k)] if row is not None and k in KS else None


def data_home(given: str | None = None) -> str:
    """``given``, else ``$SKLEARN_FREENETS_DATA``, else ``../shared/data``."""
    return given or os.environ.get(
        "SKLEARN_FREENETS_DATA", str(ROOT.parent / "shared" / "data")
    )


def load_dataset(
    name: str, home: str | None = None, max_train: int | None = None
) -> dict[str, Any]:
    """Train / validation / test arrays of one data set.

    10 % of the training split is held out (stratified, seed ``SPLIT_SEED``) as
    the validation set; ``max_train`` subsamples (stratified) the rest. EMNIST:
    only the ByClass *test* split ships offline, so ``holdout_from_test`` divides
    it 80/20 into "train" and "test" (not the paper's split).
    """
    home = data_home(home)
    if name == "mnist":
        X, y = load_mnist(subset="train", data_home=home, return_X_y=True)
        Xte, yte = load_mnist(subset="test", data_home=home, return_X_y=True)
    elif name == "fashion_mnist":
        X, y = load_fashion_mnist(subset="train", data_home=home, return_X_y=True)
        Xte, yte = load_fashion_mnist(subset="test", data_home=home, return_X_y=True)
    elif name == "emnist":
        kw = {"split": "byclass", "holdout_from_test": True, "data_home": home}
        X, y = load_emnist(subset="train", return_X_y=True, **kw)
        Xte, yte = load_emnist(subset="test", return_X_y=True, **kw)
    else:
        raise ValueError(f"unknown data set {name!r}; one of {DATASETS}")
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


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` atomically (a finished cell is never half written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


CELLS = "cells.jsonl"


def cells_path(out: Path) -> Path:
    """The file holding the cells of the results folder ``out``."""
    return out / CELLS


def slug(method: str) -> str:
    """``method`` as a name part: lower case, runs of other characters as ``-``."""
    return "".join(c if c.isalnum() or c == "." else "-" for c in method.lower())


def cell_key(record: dict[str, Any]) -> tuple[str, str, int, int]:
    """What identifies a cell: (data set, method, k, seed)."""
    return record["dataset"], record["method"], record["k"], record["seed"]


def cell_name(record: dict[str, Any]) -> str:
    """A cell's name, ``<dataset>__<method slug>__k<k>__s<seed>``: records are
    read in the order of these names (the names of the one-file-per-cell
    store they came from), so reports do not depend on the order of runs."""
    dataset, method, k, seed = cell_key(record)
    return f"{dataset}__{slug(method)}__k{k}__s{seed}"


def load_records(out: Path) -> list[dict[str, Any]]:
    """Every cell of the results folder ``out``, in the order of their names."""
    cells = harness.read_cells(cells_path(out), cell_key)
    return sorted(cells.values(), key=cell_name)


def spread(values: list[int]) -> list[int]:
    """The values ends first, then repeatedly the middle of the widest gap."""
    remaining = sorted(values)
    if len(remaining) <= 2:
        return remaining
    chosen = [remaining[0], remaining[-1]]
    rest = remaining[1:-1]
    while rest:
        ordered = sorted(chosen)
        gaps = [
            (b - a, a, b)
            for a, b in zip(ordered, ordered[1:], strict=False)
            if any(a < r < b for r in rest)
        ]
        _, a, b = max(gaps)
        mid = min((r for r in rest if a < r < b), key=lambda r: abs(r - (a + b) / 2))
        chosen.append(mid)
        rest.remove(mid)
    return chosen
