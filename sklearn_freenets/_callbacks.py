# SPDX-License-Identifier: BSD-3-Clause
"""The skorch callbacks that make up a FreeNet estimator's training run.

Each callback owns its state: parameters are stored by ``__init__``, running state
(names ending in ``_``) is reset in ``on_train_begin``, as in skorch's
``EarlyStopping``. A callback that ends training raises
:class:`~sklearn_freenets._training.StopTraining` with its reason (never
``KeyboardInterrupt``, which is left to Ctrl+C), so every callback's
``on_train_end`` still runs. History keys come from
:class:`~sklearn_freenets._training.History`.

Epoch hooks receive ``phase="polish"`` during the L-BFGS polish epochs
(:meth:`sklearn_freenets._training.FreeNetTrainer.train`); callbacks that only make
sense for gradient epochs (stopping, learning-rate schedule) skip them.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from skorch.callbacks import Callback

from sklearn_freenets._training import History, StopTraining, set_learning_rate

__all__ = [
    "ConvergenceStopping",
    "CosineLR",
    "DivergenceGuard",
    "EpochProgress",
    "KeepBest",
    "MarkPhase",
]


def _state(net: Any) -> dict:
    return copy.deepcopy(net.module_.state_dict())


class DivergenceGuard(Callback):
    """Stop training at the first non-finite epoch loss, keeping finite weights.

    The module's weights and buffers are copied (into buffers allocated once per
    training run) at the start of every epoch; when the epoch's training loss is
    NaN or infinite, that copy is put back and training stops
    (``StopTraining("diverged")``).
    """

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        self.live_ = list(net.module_.state_dict(keep_vars=True).values())
        self.snapshot_ = [t.detach().clone() for t in self.live_]

    @torch.no_grad()
    def on_epoch_begin(self, net: Any, **kwargs: Any) -> None:
        for saved, live in zip(self.snapshot_, self.live_, strict=True):
            saved.copy_(live)

    @torch.no_grad()
    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        loss = net.history[-1, History.TRAIN_LOSS]
        if not np.isfinite(loss):
            for saved, live in zip(self.snapshot_, self.live_, strict=True):
                live.copy_(saved)
            raise StopTraining("diverged")

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        self.snapshot_, self.live_ = [], []  # do not keep (or pickle) the copies


class MarkPhase(Callback):
    """Record ``History.PHASE`` = ``name`` in the history row of every epoch."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on_epoch_end(self, net: Any, phase: str | None = None, **kwargs: Any) -> None:
        if phase is None:
            net.history.record(History.PHASE, self.name)


def _graph_changed(row: Any) -> bool:
    """Whether a FreeEvolve round of this history row changed the graph."""
    rounds = list(row.get(History.FREE_EVOLVE_EARLY, ()))
    if History.FREE_EVOLVE in row:
        rounds.append(row[History.FREE_EVOLVE])
    return any(record["changed"] for record in rounds)


class ConvergenceStopping(Callback):
    """Stop when training stops improving: scikit-learn's MLP rule, after evolution.

    Without validation data: an epoch counts as "no improvement" when its training
    loss is above ``best_loss - tol``. With validation data (``early_stopping``):
    the score on it is recorded in the history (``History.VALID_SCORE``) each
    epoch, an epoch counts when its score is below ``best_score + tol``, and the
    module's state (weights *and* graph) of the best score is restored at the
    end. Training stops (``StopTraining("converged")``) once more than
    ``n_iter_no_change`` epochs in a row count.

    The best loss, score and state are those of every epoch of the run. Without
    validation data the count restarts after every epoch in which a FreeEvolve
    round (``evolution``) changed the graph, so training stops
    ``n_iter_no_change + 1`` epochs after the last change at the earliest (a new
    edge starts at weight 0, and the training loss could not show what it is
    worth before it has trained); rounds that change nothing do not hold it
    back. With validation data the count goes on: the held-out score judges the
    graph as it judges the weights, and the best state restored holds the graph
    it was scored with. Without ``evolution``, or with validation data, this is
    exactly the MLP's rule.

    Parameters
    ----------
    tol : float
        Smallest change that counts as an improvement.
    n_iter_no_change : int or float
        Epochs without improvement tolerated (``np.inf``: never stop).
    validation : TrainingData or None
        The held-out rows, or None. Dropped at the end of training (with
        ``score``), so a fitted (pickled) net keeps no held-out rows.
    score : callable or None
        ``score(net, validation) -> float``, higher is better; with ``validation``.
    evolution : FreeEvolve or None
        The run's FreeEvolve callback, if any (it runs before this callback and
        records its rounds in the epoch's history row).
    """

    def __init__(
        self,
        tol: float,
        n_iter_no_change: float,
        validation: Any = None,
        score: Any = None,
        evolution: Any = None,
    ) -> None:
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.validation = validation
        self.score = score
        self.evolution = evolution
        # whether the run scores held-out rows (kept after they are dropped)
        self.validated = validation is not None

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        self.best_loss_ = np.inf
        self.best_score_ = -np.inf
        self.best_epoch_: int | None = None
        self.no_improvement_count_ = 0
        self.best_state_: dict | None = None

    def on_epoch_end(self, net: Any, phase: str | None = None, **kwargs: Any) -> None:
        if phase == "polish":
            return
        if self.validation is not None:
            value = float(self.score(net, self.validation))
            net.history.record(History.VALID_SCORE, value)
            if value < self.best_score_ + self.tol:
                self.no_improvement_count_ += 1
            else:
                self.no_improvement_count_ = 0
            if value > self.best_score_:
                self.best_score_ = value
                self.best_epoch_ = len(net.history)
                self.best_state_ = _state(net)
        else:
            loss = net.history[-1, History.TRAIN_LOSS]
            if loss > self.best_loss_ - self.tol:
                self.no_improvement_count_ += 1
            else:
                self.no_improvement_count_ = 0
            if loss < self.best_loss_:
                self.best_loss_ = loss
                self.best_epoch_ = len(net.history)
        if (
            self.evolution is not None
            and self.validation is None
            and _graph_changed(net.history[-1])
        ):
            self.no_improvement_count_ = 0
        if self.no_improvement_count_ > self.n_iter_no_change:
            raise StopTraining("converged")

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None
        # do not keep (or pickle) the held-out rows, nor the estimator that the
        # bound scoring method would drag along
        self.validation = self.score = None


class EpochProgress(Callback):
    """A tqdm progress bar over the epochs of a fit, showing the last loss."""

    def __init__(self, total: int, desc: str) -> None:
        self.total = total
        self.desc = desc

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        last = net.history[-1]
        postfix = {"loss": f"{last[History.TRAIN_LOSS]:.4g}"}
        if History.VALID_SCORE in last:
            postfix["valid_score"] = f"{last[History.VALID_SCORE]:.4g}"
        postfix["edges"] = net.module_.n_edges()
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        self.bar_.close()
        self.bar_ = None


class CosineLR(Callback):
    """Anneal the learning rate on a half cosine over ``t_max`` epochs.

    Epoch ``t`` (counted from history row ``start``) trains with ``eta_min +
    (lr - eta_min) * (1 + cos(pi * t / t_max)) / 2``; epochs past ``t_max`` stay at
    ``eta_min``. The rate used is recorded in the history as ``lr``. Polish epochs
    are left alone.
    """

    def __init__(self, lr: float, t_max: int, eta_min: float, start: int) -> None:
        self.lr = lr
        self.t_max = t_max
        self.eta_min = eta_min
        self.start = start

    def on_epoch_begin(self, net: Any, phase: str | None = None, **kwargs: Any):
        if phase == "polish":
            return
        t = min(max(len(net.history) - 1 - self.start, 0), self.t_max)
        lr = self.eta_min + (self.lr - self.eta_min) * 0.5 * (
            1.0 + np.cos(np.pi * t / max(self.t_max, 1))
        )
        set_learning_rate(net.optimizer_, lr, self.lr)
        net.history.record(History.LR, float(lr))


class KeepBest(Callback):
    """Restore the weights with the lowest training loss at the end of training.

    skorch's loss of a step is that of the weights *before* the step, so the
    weights are copied at the start of each training batch and an epoch's loss is
    credited to the last copy (exact for full-batch training). At the end, the
    best copy is loaded unless the final weights are at least as good on the
    training data.
    """

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        self.best_loss_ = np.inf
        self.best_state_: dict | None = None
        self.before_step_: dict | None = None

    def on_batch_begin(self, net: Any, training: bool = False, **kwargs: Any) -> None:
        if training:
            self.before_step_ = _state(net)

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        loss = net.history[-1].get(History.TRAIN_LOSS, np.nan)
        if self.before_step_ is not None and np.isfinite(loss):
            if loss < self.best_loss_:
                self.best_loss_, self.best_state_ = loss, self.before_step_

    def on_train_end(self, net: Any, X: Any = None, **kwargs: Any) -> None:
        if self.best_state_ is not None:
            with torch.no_grad():
                final = float(net.dataset_loss(X))
            if not final <= self.best_loss_:
                net.module_.load_state_dict(self.best_state_)
        self.best_state_ = self.before_step_ = None
