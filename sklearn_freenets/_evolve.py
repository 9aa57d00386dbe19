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

    Only ``k x k`` integer counts and ``k`` per-neuron counts are stored, so
    recording activity over ``n`` samples never needs an ``n x k`` matrix.

    Parameters
    ----------
    k : int
        Number of neurons.
    """

    k: int
    n_samples: int = 0
    both_active: NDArray[np.int64] = field(init=False)
    active: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        self.both_active = np.zeros((self.k, self.k), dtype=np.int64)
        self.active = np.zeros(self.k, dtype=np.int64)

    def update(self, S: ArrayLike) -> ActivityCounts:
        """Add a batch of binary activity ``S`` of shape (batch, k); return self."""
        S = np.asarray(S, dtype=bool)
        if S.ndim != 2 or S.shape[1] != self.k:
            raise ValueError(
                f"activity must have shape (n_samples, {self.k}), got {S.shape}"
            )
        # float32 matmul of 0/1 values is exact for batches below 2**24 samples
        Sf = S.astype(np.float32)
        self.both_active += np.rint(Sf.T @ Sf).astype(np.int64)
        self.active += S.sum(axis=0)
        self.n_samples += S.shape[0]
        return self

    def matrices(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return ``(NCAM, NCIM)``, each of shape (k, k), from the counts."""
        if self.n_samples == 0:
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
    """skorch callback that evolves a FreeNet's topology between training rounds.

    At the end of each epoch listed in ``epochs``, the activity of every neuron
    (pre-activation > 0) is recorded on the training data, or on a seeded random
    subsample of at most ``max_samples`` rows, and :func:`evolve_adjacency` is
    applied to the module's adjacency. Added edges start at weight 0 (with their
    optimizer moments reset), so adding an edge never changes the function;
    pruned edges are masked and keep their weights. Once a round changes nothing,
    the graph has converged and later rounds are skipped.

    The module must provide ``adjacency`` (bool buffer), ``preactivations(X)``
    and ``set_adjacency(G)``, as :class:`~sklearn_freenets._module.FreeNetModule`
    does.

    Parameters
    ----------
    epsilon : float
        FreeEvolve threshold, see :func:`evolve_adjacency`.
    epochs : list of int
        1-based epochs after which a round runs; an epoch listed twice runs two
        rounds in a row.
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
        epochs: list[int],
        max_samples: int | None = 20000,
        random_state: int = 0,
        batch_size: int = 4096,
        verbose: bool = False,
        keep_matrices: bool = True,
    ) -> None:
        self.epsilon = epsilon
        self.epochs = epochs
        self.max_samples = max_samples
        self.random_state = random_state
        self.batch_size = batch_size
        self.verbose = verbose
        self.keep_matrices = keep_matrices

    def initialize(self) -> FreeEvolve:
        self.history_: list[dict[str, Any]] = []
        self.converged_ = False
        self.X_: Any = None
        return self

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any):
        self.X_ = X
        # epochs already in the history (warm start) do not count toward ``epochs``
        self.epoch_offset_ = len(net.history)

    def on_train_end(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any):
        self.X_ = None  # do not keep (or pickle) a reference to the training data

    def activity_sample(self) -> Any:
        """Return the rows on which activity is recorded."""
        X = self.X_
        n = len(X)
        if self.max_samples is None or n <= self.max_samples:
            return X
        rng = np.random.default_rng(self.random_state + len(self.history_))
        idx = np.sort(rng.choice(n, size=self.max_samples, replace=False))
        return X[idx]

    def record_activity(self, net: Any, X: Any) -> ActivityCounts:
        """Accumulate co-activation counts of the net's module over ``X``."""
        module = net.module_
        counts = ActivityCounts(module.k)
        for start in range(0, len(X), self.batch_size):
            Xb = to_tensor(X[start : start + self.batch_size], device=net.device)
            Z = module.preactivations(Xb)
            counts.update((Z > 0).cpu().numpy())
        return counts

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        epoch = len(net.history) - self.epoch_offset_
        n_rounds = self.epochs.count(epoch)
        for _ in range(n_rounds):
            if self.converged_:
                return
            self.run_round(net, epoch)

    def run_round(self, net: Any, epoch: int) -> dict[str, Any]:
        """Run one FreeEvolve round on ``net`` and return its record."""
        module = net.module_
        X = self.activity_sample()
        was_training = module.training
        module.eval()
        try:
            ncam, ncim = self.record_activity(net, X).matrices()
        finally:
            module.train(was_training)
        G = module.adjacency.cpu().numpy().copy()
        step = evolve_adjacency(G, ncam, ncim, self.epsilon)
        if step.changed:
            module.set_adjacency(step.adjacency)
            _reset_optimizer_moments(net, module, step.added)
        else:
            self.converged_ = True
        last = net.history[-1]
        record: dict[str, Any] = {
            "round": len(self.history_) + 1,
            "epoch": epoch,
            "n_edges_before": int(G.sum()),
            "n_added": step.n_added,
            "n_pruned": step.n_pruned,
            "n_edges": int(step.adjacency.sum()),
            "train_loss": float(last["train_loss"]) if "train_loss" in last else None,
            "valid_loss": float(last["valid_loss"]) if "valid_loss" in last else None,
            "n_activity_samples": len(X),
        }
        if self.keep_matrices:
            lower = strictly_lower(module.k)
            record["ncam"] = ncam[lower].astype(np.float32)
            record["ncim"] = ncim[lower].astype(np.float32)
        self.history_.append(record)
        if self.verbose:
            _write(
                f"[FreeEvolve] round {record['round']} (epoch {epoch}): "
                f"+{record['n_added']} added, -{record['n_pruned']} pruned, "
                f"{record['n_edges']} edges" + ("" if step.changed else " (converged)")
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
