# SPDX-License-Identifier: BSD-3-Clause
"""The cells of Table 2: which models, trained how, and one fit per cell.

Every model is a :class:`~sklearn_freenets.FreeNetClassifier` trained with the
same budget (:data:`TRAINING`: Adam, the same learning rate, batch size, L2
penalty, Glorot initialisation and exactly ``max_epochs`` epochs, no stopping
criterion); the methods differ only in the graph and its evolution
(:data:`METHODS`). A cell is one (data set, method, k, seed); its record holds
the test and validation accuracy, the validation accuracy after every epoch,
the edges, the parameter count and a summary of every FreeEvolve round.
"""

from __future__ import annotations

import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_freenets import FreeNetClassifier
from sklearn_freenets.nn import n_parameters

from .common import KS, paper_accuracy, spread

# One training budget for every method (see README and report.py for its choice).
TRAINING: dict[str, Any] = {
    "max_epochs": 30,
    "lr_schedule": "cosine",
    "batch_size": 128,
    "lr": 1e-3,
    "alpha": 1e-4,
    "init": "glorot",
    "activation": "relu",
    "n_iter_no_change": np.inf,
}
# FreeEvolve's schedule: a round every 20 mini-batches of the first epoch (the
# paper's early, per-iteration evolution), then after every epoch, until three
# rounds in a row changed nothing (or 60 rounds ran).
EVOLUTION: dict[str, Any] = {
    "evolve_every": 1,
    "evolve_every_batches": 20,
    "evolve_rounds": 60,
    "evolve_patience": 3,
    "evolve_max_samples": 10000,
}
EPSILONS = (0.1, 0.25, 0.5)
REPORTED_EPSILON = 0.25  # the paper's Fig. 7 value, always reported


def dense_edges(k: int) -> int:
    return k * (k - 1) // 2


def matched_width(k: int, n_features: int, n_classes: int) -> int:
    """Hidden width of the FCNN with the dense FreeNet's parameter count.

    The dense graph adds ``k (k - 1) / 2`` weights; each extra hidden neuron of an
    FCNN adds ``n_features + 1 + n_classes``.
    """
    return k + int(round(dense_edges(k) / (n_features + 1 + n_classes)))


def _evolving(
    epsilon: float, graph: str = "dense", rule: str = "paper", **options: Any
) -> Callable:
    def params(k: int, d: int, c: int) -> tuple[int, dict[str, Any]]:
        return k, {
            "initial_graph": graph,
            "epsilon": epsilon,
            "rule": rule,
            **EVOLUTION,
            **options,
        }

    return params


def _static(graph: str, matched: bool = False) -> Callable:
    def params(k: int, d: int, c: int) -> tuple[int, dict[str, Any]]:
        width = matched_width(k, d, c) if matched else k
        return width, {"initial_graph": graph, "evolve_rounds": 0}

    return params


EDGE_LR_FACTOR = 0.1


def _slow_edges(params: Callable) -> Callable:
    """``params`` with the recurrent weights at ``EDGE_LR_FACTOR`` times the rate."""

    def slow(k: int, d: int, c: int) -> tuple[int, dict[str, Any]]:
        width, kw = params(k, d, c)
        groups = [("weight", {"lr": TRAINING["lr"] * EDGE_LR_FACTOR})]
        return width, {**kw, "net_params": {"optimizer__param_groups": groups}}

    return slow


# name -> (family, epsilon, rule, params(k, n_features, n_classes) -> (width, kw)),
# in the order cells run: the rows the comparison needs first.
METHODS: dict[str, tuple[str, float | None, str | None, Callable]] = {
    "FCNN": ("FCNN", None, None, _static("empty")),
    "FreeEvolve eps=0.25": ("FreeEvolve", 0.25, "paper", _evolving(0.25)),
    "Dense (no evolution)": ("Dense", None, None, _static("dense")),
    "FreeEvolve eps=0.1": ("FreeEvolve", 0.1, "paper", _evolving(0.1)),
    "FreeEvolve eps=0.5": ("FreeEvolve", 0.5, "paper", _evolving(0.5)),
    "FCNN (param-matched)": (
        "FCNN (param-matched)", None, None, _static("empty", True),
    ),
    "FreeEvolve from empty eps=0.25": (
        "FreeEvolve from empty", 0.25, "paper", _evolving(0.25, "empty"),
    ),
    "usage eps=0.1": ("usage", 0.1, "usage", _evolving(0.1, rule="usage")),
    "usage eps=0.25": ("usage", 0.25, "usage", _evolving(0.25, rule="usage")),
    "contribution eps=0.25": (
        "contribution", 0.25, "contribution", _evolving(0.25, rule="contribution"),
    ),
    "contribution eps=0.5": (
        "contribution", 0.5, "contribution", _evolving(0.5, rule="contribution"),
    ),
    # The paper's rule, and neurons that never fired revived after every round
    # (revive_dead=True): added after the first 249 cells had run.
    "revival eps=0.25": (
        "revival", 0.25, "paper", _evolving(0.25, revive_dead=True),
    ),
    # The estimators' evolution defaults up to version 0.1: the empty start,
    # epsilon 0.1, a round every 5 epochs, at most 5, settled after one unchanged
    # round (added with the revival row, to choose the defaults on this table).
    "empty eps=0.1 every 5 epochs": (
        "empty, 5 rounds", 0.1, "paper", _evolving(
            0.1, "empty", evolve_every=5, evolve_every_batches=None,
            evolve_rounds=5, evolve_patience=1, evolve_max_samples=20000,
        ),
    ),
}  # fmt: skip
# Pilots: methods run on a few cells into their own --out folder (not in the table;
# ``bench_table2.py pilot`` compares them with the table's cells of the same seeds).
PILOTS: dict[str, tuple[str, float | None, str | None, Callable]] = {
    # The recurrent weights (the edges) trained at a tenth of the rate of the
    # encoder and decoder (optimizer__param_groups): Adam moves every weight by
    # about lr per step whatever its gradient, and a neuron sums up to k - 1 edges.
    "Dense, edges at lr/10": (
        "Dense, edges at lr/10", None, None, _slow_edges(_static("dense")),
    ),
    "FreeEvolve eps=0.25, edges at lr/10": (
        "FreeEvolve, edges at lr/10", 0.25, "paper", _slow_edges(_evolving(0.25)),
    ),
    "FreeEvolve from empty eps=0.25, edges at lr/10": (
        "FreeEvolve from empty, edges at lr/10", 0.25, "paper",
        _slow_edges(_evolving(0.25, "empty")),
    ),
    # The table's inputs are pixels in [0, 1]; these see them standardised per
    # pixel (a StandardScaler fitted on the training rows): does the usual advice
    # for MLPs help here, and what becomes of the edges FreeEvolve wires from
    # uncentred inputs?
    "FCNN, standardised inputs": (
        "FCNN, standardised inputs", None, None, _static("empty"),
    ),
    "FreeEvolve from empty eps=0.25, standardised inputs": (
        "FreeEvolve from empty, standardised inputs", 0.25, "paper",
        _evolving(0.25, "empty"),
    ),
    # rule="phi" from the empty graph: an edge is added when the correlation of
    # the two neurons' binary activities is above 1 - epsilon, so neurons busy
    # on most pixels are not wired for being busy (issue 18).
    "phi from empty eps=0.75": (
        "phi from empty", 0.75, "phi", _evolving(0.75, "empty", rule="phi"),
    ),
    "phi from empty eps=0.25": (
        "phi from empty", 0.25, "phi", _evolving(0.25, "empty", rule="phi"),
    ),
    # rule="rigl" from the empty graph: 10 % of the possible edges, grown by the
    # loss gradient and swapped by weight magnitude (RigL), rounds every 5 epochs.
    "rigl from empty eps=0.1": (
        "rigl from empty", 0.1, "rigl", _evolving(
            0.1, "empty", rule="rigl", evolve_every=5, evolve_every_batches=None,
            evolve_rounds=12,
        ),
    ),
}  # fmt: skip
# The methods that see standardised inputs (see :func:`inputs_for`).
STANDARDISED = {m for m in PILOTS if m.endswith(", standardised inputs")}
ALL_METHODS = {**METHODS, **PILOTS}


def cell_order(
    datasets: list[str], ks: list[int], seeds: list[int], methods: list[str]
) -> list[tuple[int, int, str, str]]:
    """Spread-out k, then every seed, every data set, methods in ALL_METHODS order.

    An interrupted run thus already holds whole paired comparisons (every method
    and every seed of a k) at coarse k (30, 100, 60, ...), on every data set.
    """
    order = [m for m in ALL_METHODS if m in methods]
    return [
        (seed, k, dataset, method)
        for k in spread(ks)
        for seed in seeds
        for dataset in datasets
        for method in order
    ]


class ValidationCurve(Callback):
    """Record the accuracy on held-out rows after every epoch (``table2_valid``)."""

    def __init__(self, X: np.ndarray, y_index: np.ndarray) -> None:
        self.X = X
        self.y_index = y_index

    def on_epoch_end(self, net: Any, phase: str | None = None, **kwargs: Any) -> None:
        module = net.module_
        was_training = module.training
        module.eval()
        hits = 0
        with torch.no_grad():
            for start in range(0, len(self.X), 8192):
                Xb = torch.as_tensor(self.X[start : start + 8192], device=net.device)
                pred = module(Xb).argmax(dim=1).cpu().numpy()
                hits += int((pred == self.y_index[start : start + 8192]).sum())
        module.train(was_training)
        net.history.record("table2_valid", hits / len(self.X))


ROUND_KEYS = (
    "round", "epoch", "batch", "step", "n_edges_before", "n_added", "n_pruned",
    "n_edges", "n_dead", "n_always_active", "n_pruned_touching_dead",
    "n_pruned_both_dead", "n_added_touching_dead",
)  # fmt: skip


def make_estimator(
    method: str, k: int, seed: int, n_features: int, n_classes: int, training: dict
) -> tuple[int, FreeNetClassifier]:
    _, _, _, params = ALL_METHODS[method]
    width, kw = params(k, n_features, n_classes)
    return width, FreeNetClassifier(
        width, random_state=seed, n_threads=1, **training, **kw
    )


def inputs_for(method: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as ``method`` sees it: for the methods of :data:`STANDARDISED`,
    through a ``StandardScaler`` fitted on the training rows."""
    if method not in STANDARDISED:
        return data
    scaler = StandardScaler().fit(data["X_train"])
    out = dict(data)
    for part in ("X_train", "X_valid", "X_test"):
        out[part] = np.ascontiguousarray(scaler.transform(data[part]))
    return out


def run_cell(
    data: dict[str, Any],
    dataset: str,
    method: str,
    k: int,
    seed: int,
    training: dict[str, Any],
    setting: dict[str, Any],
) -> dict[str, Any]:
    """Fit one classifier and return its record."""
    data = inputs_for(method, data)
    n_features = data["X_train"].shape[1]
    n_classes = data["n_classes"]
    width, est = make_estimator(method, k, seed, n_features, n_classes, training)
    classes = np.unique(data["y_train"])
    curve = ValidationCurve(data["X_valid"], np.searchsorted(classes, data["y_valid"]))
    net_params = {**(est.net_params or {}), "callbacks": [("table2_valid", curve)]}
    est.set_params(net_params=net_params)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # the budget is fixed (n_iter_no_change=np.inf): reaching it is the plan
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(data["X_train"], data["y_train"])
    fit_seconds = time.perf_counter() - t0
    rounds = [{key: r.get(key) for key in ROUND_KEYS} for r in est.evolution_history_]
    family, epsilon, rule, _ = ALL_METHODS[method]
    edges_start = rounds[0]["n_edges_before"] if rounds else int(est.n_edges_)
    return {
        "dataset": dataset,
        "method": method,
        "family": family,
        "epsilon": epsilon,
        "rule": rule,
        "k": k,
        "hidden": width,
        "seed": seed,
        "accuracy": float(est.score(data["X_test"], data["y_test"])),
        "valid_accuracy": float(est.score(data["X_valid"], data["y_valid"])),
        "valid_curve": [float(row["table2_valid"]) for row in est.net_.history],
        "fit_seconds": round(fit_seconds, 3),
        "edges_start": int(edges_start),
        "edges_end": int(est.n_edges_),
        "dense_edges": dense_edges(k),
        "n_params": int(
            n_parameters(n_features, width, n_classes, int(est.n_edges_), False)
        ),
        "epochs": int(est.n_iter_),
        "final_train_loss": est.loss_curve_[-1] if est.loss_curve_ else None,
        "rounds": rounds,
        "adjacency": pack_adjacency(est.adjacency_),
        "paper_accuracy": paper_accuracy(dataset, family, k) if k in KS else None,
        "training": {key: _jsonable(v) for key, v in training.items()},
        "evolution": dict(EVOLUTION) if rule is not None else None,
        "setting": setting,
    }


def pack_adjacency(adjacency: np.ndarray) -> str:
    """The strictly lower triangle of a graph as hex of packed bits."""
    lower = np.tril(np.ones(adjacency.shape, dtype=bool), -1)
    return np.packbits(adjacency[lower]).tobytes().hex()


def unpack_adjacency(text: str, k: int) -> np.ndarray:
    """Inverse of :func:`pack_adjacency`."""
    lower = np.tril(np.ones((k, k), dtype=bool), -1)
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(text), dtype=np.uint8))
    G = np.zeros((k, k), dtype=bool)
    G[lower] = bits[: int(lower.sum())].astype(bool)
    return G


def _jsonable(value: Any) -> Any:
    return "inf" if isinstance(value, float) and np.isinf(value) else value


def setting(max_train: int | None) -> dict[str, Any]:
    return {
        "max_train": max_train,
        "torch_threads": 1,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}",
    }
