# SPDX-License-Identifier: BSD-3-Clause
"""FreeEvolve: the topology rule of FreeNets.

The rule, for a boolean activity matrix ``S`` of shape ``(n_samples, k)``
(``S[s, i]`` is true when neuron ``i`` has a positive pre-activation on sample
``s``) and the current strictly lower-triangular adjacency ``G``::

    NCAM  = S^T S / n            co-activation: both neurons active
    NCIM  = (~S)^T (~S) / n      co-inactivation: both neurons silent
    Aug   = (NCAM > 1 - eps) & ~G
    Prune = (NCIM > 1 - eps) & G
    G'    = (G & ~Prune) | (Aug & ~Prune)

restricted to the strictly lower triangle, so ``G'`` stays a DAG in the neuron
order. Neurons that fire together get wired together; edges between neurons that
are silent together are cut.

The pure functions here never build an ``(n_samples, k)`` float matrix: activity
is accumulated batch by batch into ``k x k`` co-activation counts
(:class:`ActivityCounts`). :class:`FreeEvolve` is the skorch callback that applies
the rule between rounds of weight training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from skorch.callbacks import Callback
from skorch.utils import to_tensor

__all__ = [
    "ActivityCounts",
    "EvolveStep",
    "FreeEvolve",
    "coactivation_matrices",
    "evolve_adjacency",
    "strictly_lower",
]


def strictly_lower(k: int) -> NDArray[np.bool_]:
    """Return the boolean mask of the strictly lower triangle of a k x k matrix."""
    return np.tril(np.ones((k, k), dtype=bool), -1)


@dataclass
class ActivityCounts:
    """Co-activation counts accumulated over batches of neuron activity.

    Only ``k x k`` (weighted) counts and ``k`` per-neuron counts are stored, so
    recording activity over ``n`` samples never needs an ``n x k`` matrix. With
    sample weights, a sample of weight ``w`` counts as ``w`` samples.

    Parameters
    ----------
    k : int
        Number of neurons.
    """

    k: int
    n_samples: float = 0.0
    both_active: NDArray[np.float64] = field(init=False)
    active: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        self.both_active = np.zeros((self.k, self.k), dtype=np.float64)
        self.active = np.zeros(self.k, dtype=np.float64)

    def update(
        self, S: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> ActivityCounts:
        """Add a batch of binary activity ``S`` of shape (batch, k); return self."""
        S = np.asarray(S, dtype=bool)
        if S.ndim != 2 or S.shape[1] != self.k:
            raise ValueError(
                f"activity must have shape (n_samples, {self.k}), got {S.shape}"
            )
        Sf = S.astype(np.float64)
        if sample_weight is None:
            w = np.ones(len(S))
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if w.shape != (len(S),):
                raise ValueError(
                    f"sample_weight must have shape ({len(S)},), got {w.shape}"
                )
        self.both_active += (Sf * w[:, None]).T @ Sf
        self.active += w @ Sf
        self.n_samples += float(w.sum())
        return self

    def matrices(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return ``(NCAM, NCIM)``, each of shape (k, k), from the counts."""
        if self.n_samples <= 0:
            raise ValueError("no activity was recorded")
        n = self.n_samples
        both_silent = n - self.active[:, None] - self.active[None, :] + self.both_active
        return self.both_active / n, both_silent / n


def coactivation_matrices(
    S: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Compute NCAM and NCIM from binary activity.

    Parameters
    ----------
    S : array-like of shape (n_samples, k)
        Boolean activity, ``S[s, i]`` true when neuron ``i`` fires on sample ``s``.

    Returns
    -------
    ncam : ndarray of shape (k, k)
        Fraction of samples on which both neurons are active.
    ncim : ndarray of shape (k, k)
        Fraction of samples on which both neurons are inactive.
    """
    S = np.asarray(S, dtype=bool)
    return ActivityCounts(S.shape[1]).update(S).matrices()


@dataclass(frozen=True)
class EvolveStep:
    """Result of one FreeEvolve step.

    Attributes
    ----------
    adjacency : ndarray of shape (k, k), dtype=bool
        The new strictly lower-triangular adjacency ``G'``.
    added : ndarray of shape (k, k), dtype=bool
        Edges added (``Aug & ~Prune``).
    pruned : ndarray of shape (k, k), dtype=bool
        Edges pruned (``Prune``).
    """

    adjacency: NDArray[np.bool_]
    added: NDArray[np.bool_]
    pruned: NDArray[np.bool_]

    @property
    def n_added(self) -> int:
        return int(self.added.sum())

    @property
    def n_pruned(self) -> int:
        return int(self.pruned.sum())

    @property
    def changed(self) -> bool:
        return bool(self.added.any() or self.pruned.any())


def evolve_adjacency(
    adjacency: ArrayLike,
    ncam: ArrayLike,
    ncim: ArrayLike,
    epsilon: float,
) -> EvolveStep:
    """Apply one FreeEvolve step (Table 1 of the FreeNets paper).

    Parameters
    ----------
    adjacency : array-like of shape (k, k), dtype=bool
        Current graph ``G``; only its strictly lower triangle is used.
    ncam, ncim : array-like of shape (k, k)
        Co-activation and co-inactivation fractions.
    epsilon : float in (0, 1)
        Threshold: an edge is added when ``NCAM > 1 - epsilon`` and pruned when
        ``NCIM > 1 - epsilon``.

    Returns
    -------
    step : EvolveStep
        The new adjacency and the edges added and pruned.
    """
    if not 0.0 < epsilon < 1.0:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
    G = np.asarray(adjacency, dtype=bool)
    ncam = np.asarray(ncam, dtype=np.float64)
    ncim = np.asarray(ncim, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {G.shape}")
    if ncam.shape != G.shape or ncim.shape != G.shape:
        raise ValueError(
            f"NCAM {ncam.shape} and NCIM {ncim.shape} must match adjacency {G.shape}"
        )
    lower = strictly_lower(G.shape[0])
    G = G & lower
    aug = (ncam > 1.0 - epsilon) & ~G & lower
    prune = (ncim > 1.0 - epsilon) & G
    new = (G & ~prune) | (aug & ~prune)
    return EvolveStep(adjacency=new, added=aug & ~prune, pruned=prune)


class FreeEvolve(Callback):
    """skorch callback that evolves a FreeNet's topology during training.

    Schedule: a round runs at the end of every ``every``-th epoch counted from
    history row ``since`` (so ``every=5``: after epochs 5, 10, ...), until
    ``max_rounds`` rounds have run since then or a round changes nothing; from
    then on evolution has *settled*. Every epoch records in the history whether
    evolution has settled (``evolution_settled``), which the stopping criterion
    reads: training is not stopped while the graph may still change.

    A round records the activity of every neuron (pre-activation > 0) on the
    training rows, or on a seeded random subsample of at most ``max_samples``
    rows, with their sample weights, and applies :func:`evolve_adjacency`. Added
    edges start at weight 0 (with their optimizer moments reset), so adding an
    edge never changes the function; pruned edges are masked and keep their
    weights. Each round's record is stored in the history row of its epoch under
    ``free_evolve``, so the evolution is part of the net's history (it survives
    warm starts and pickling) and the callback keeps no state between fits.

    The module must provide ``adjacency`` (bool buffer), ``preactivations(X)``
    and ``set_adjacency(G)``, as :class:`~sklearn_freenets._module.FreeNetModule`
    does; the training data must be a
    :class:`~sklearn_freenets._training.TrainingData`.

    Parameters
    ----------
    epsilon : float
        FreeEvolve threshold, see :func:`evolve_adjacency`.
    max_rounds : int
        Most rounds to run (counted from history row ``since``).
    every : int, default=5
        Epochs between rounds.
    since : int, default=0
        History rows before this one (earlier fits, for a warm start) neither
        count as epochs of the schedule nor their rounds toward ``max_rounds``.
    max_samples : int or None, default=20000
        Record activity on at most this many training rows (None: all of them).
    random_state : int, default=0
        Seed of the subsample.
    batch_size : int, default=4096
        Rows per forward pass when recording activity.
    verbose : bool, default=False
        Print one line per round (edges added, pruned and total).
    keep_matrices : bool, default=True
        Store the strictly-lower-triangle NCAM and NCIM values in each record.
    """

    def __init__(
        self,
        epsilon: float,
        max_rounds: int,
        every: int = 5,
        since: int = 0,
        max_samples: int | None = 20000,
        random_state: int = 0,
        batch_size: int = 4096,
        verbose: bool = False,
        keep_matrices: bool = True,
    ) -> None:
        self.epsilon = epsilon
        self.max_rounds = max_rounds
        self.every = every
        self.since = since
        self.max_samples = max_samples
        self.random_state = random_state
        self.batch_size = batch_size
        self.verbose = verbose
        self.keep_matrices = keep_matrices

    def on_train_begin(self, net: Any, X: Any = None, **kwargs: Any) -> None:
        self.data_ = X

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        self.data_ = None  # do not keep (or pickle) a reference to the training data

    def rounds(self, net: Any) -> list[dict[str, Any]]:
        """The records of the rounds run since history row ``since``."""
        return [
            row["free_evolve"]
            for row in net.history[self.since :]
            if "free_evolve" in row
        ]

    def settled(self, net: Any) -> bool:
        """Whether no further round will run (limit reached or last round idle)."""
        done = self.rounds(net)
        return len(done) >= self.max_rounds or bool(done and not done[-1]["changed"])

    def on_epoch_end(self, net: Any, phase: str | None = None, **kwargs: Any) -> None:
        epoch = len(net.history) - self.since
        settled = self.settled(net)
        if phase != "polish" and epoch % self.every == 0 and not settled:
            self.run_round(net, self.data_)
            settled = self.settled(net)
        net.history.record("evolution_settled", settled)

    def activity_sample(self, data: Any, round_index: int) -> tuple[Any, Any]:
        """Return the rows ``(X, sample_weight)`` on which activity is recorded."""
        n = len(data)
        if self.max_samples is None or n <= self.max_samples:
            return data.X, data.w
        rng = np.random.default_rng(self.random_state + round_index)
        idx = np.sort(rng.choice(n, size=self.max_samples, replace=False))
        idx_t = torch.as_tensor(idx, device=data.X.device)
        return data.X[idx_t], data.w[idx_t]

    def record_activity(self, net: Any, X: Any, w: Any = None) -> ActivityCounts:
        """Accumulate co-activation counts of the net's module over ``X``."""
        module = net.module_
        counts = ActivityCounts(module.k)
        for start in range(0, len(X), self.batch_size):
            Xb = to_tensor(X[start : start + self.batch_size], device=net.device)
            Z = module.preactivations(Xb)
            wb = None if w is None else w[start : start + self.batch_size]
            counts.update(
                (Z > 0).cpu().numpy(),
                None if wb is None else wb.detach().cpu().double().numpy(),
            )
        return counts

    def run_round(self, net: Any, data: Any) -> dict[str, Any]:
        """Run one FreeEvolve round on ``net`` with ``data``; return its record."""
        module = net.module_
        n_done = len(self.rounds(net))
        X, w = self.activity_sample(data, n_done)
        was_training = module.training
        module.eval()
        try:
            ncam, ncim = self.record_activity(net, X, w).matrices()
        finally:
            module.train(was_training)
        G = module.adjacency.cpu().numpy().copy()
        step = evolve_adjacency(G, ncam, ncim, self.epsilon)
        if step.changed:
            module.set_adjacency(step.adjacency)
            _reset_optimizer_moments(net, module, step.added)
        last = net.history[-1]
        record: dict[str, Any] = {
            "round": n_done + 1,
            "epoch": len(net.history),
            "n_edges_before": int(G.sum()),
            "n_added": step.n_added,
            "n_pruned": step.n_pruned,
            "n_edges": int(step.adjacency.sum()),
            "changed": step.changed,
            "train_loss": float(last["train_loss"]) if "train_loss" in last else None,
            "n_activity_samples": len(X),
        }
        if self.keep_matrices:
            lower = strictly_lower(module.k)
            record["ncam"] = ncam[lower].astype(np.float32)
            record["ncim"] = ncim[lower].astype(np.float32)
        net.history.record("free_evolve", record)
        if self.verbose:
            _write(
                f"[FreeEvolve] round {record['round']} (epoch {record['epoch']}): "
                f"+{record['n_added']} added, -{record['n_pruned']} pruned, "
                f"{record['n_edges']} edges" + ("" if step.changed else " (settled)")
            )
        return record


def _write(line: str) -> None:
    """Print a line without breaking an active tqdm progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(line)


def _reset_optimizer_moments(net: Any, module: Any, added: NDArray[np.bool_]) -> None:
    """Zero the optimizer state of newly added edges, so they start afresh."""
    optimizer = getattr(net, "optimizer_", None)
    state = optimizer.state.get(module.weight) if optimizer is not None else None
    if not added.any() or not state:
        return
    mask = torch.as_tensor(added, device=module.weight.device)
    for value in state.values():
        if torch.is_tensor(value) and value.shape == mask.shape:
            value[mask] = 0
