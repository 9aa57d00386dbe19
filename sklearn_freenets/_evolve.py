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

Rules
-----
A *rule* is a pure function ``rule(adjacency, stats, epsilon) -> new_adjacency``:
``adjacency`` the current boolean ``(k, k)`` graph, ``stats`` an
:class:`ActivityStats` of the round's activity sample, ``epsilon`` the
threshold; it returns a boolean ``(k, k)`` array, of which only the strictly
lower triangle is used (so the graph stays a DAG). :data:`RULES` holds the named
ones:

- ``"paper"`` (:func:`paper_rule`): the rule above, unchanged.
- ``"usage"`` (:func:`usage_rule`): an edge ``j -> i`` changes the network's
  output only on samples where both neurons are active (``h_j > 0`` and a
  gradient through ``i``), so it is pruned when ``NCAM < epsilon`` (it acts on
  fewer than ``epsilon`` of the samples) and added when ``NCAM > 1 - epsilon``,
  one statistic with two thresholds. Unlike the paper's Prune it also cuts
  edges between neurons that fire on different samples.
- ``"phi"`` (:func:`phi_rule`): the paper's rule, but an edge is added when the
  two neurons' activities are correlated (phi above ``1 - epsilon``) rather than
  when both are merely often active.
- ``"contribution"`` (:func:`contribution_rule`): prune only, by the signal an
  edge carries: ``c_ij = |W_ij| E|h_j| / std(z_i)``, the edge's typical input
  to neuron ``i`` relative to the spread of ``i``'s pre-activation; an edge is
  pruned when ``c_ij < epsilon * mean(c over the edges into i)``. An edge out of a
  neuron that never fires has ``c = 0``. Repeated rounds thin the graph further.

Measured relative to independence, co-activation and co-silence are the same
statistic: ``NCIM - (1 - p_i)(1 - p_j) = NCAM - p_i p_j`` for activity rates
``p``, because ``NCIM = 1 - p_i - p_j + NCAM``; a rule cannot add on one and prune
on the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from skorch.callbacks import Callback
from skorch.utils import to_tensor

from sklearn_freenets._graph import strictly_lower
from sklearn_freenets._kernel import recurrence
from sklearn_freenets._training import History, TrainingData

# Mini-batches over which a round averages the edge gradient (rigl_rule).
GRADIENT_BATCHES = 4

__all__ = [
    "RULES",
    "ActivityCounts",
    "ActivityStats",
    "EarlyFreeEvolve",
    "EvolveStep",
    "FreeEvolve",
    "apply_rule",
    "coactivation_matrices",
    "contribution_rule",
    "evolve_adjacency",
    "paper_rule",
    "round_records",
    "strictly_lower",
    "usage_rule",
]


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
    weight_sq_sum: float = 0.0
    both_active: NDArray[np.float64] = field(init=False)
    active: NDArray[np.float64] = field(init=False)
    activation_sum: NDArray[np.float64] = field(init=False)
    preact_sum: NDArray[np.float64] = field(init=False)
    preact_sq_sum: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        self.both_active = np.zeros((self.k, self.k), dtype=np.float64)
        self.active = np.zeros(self.k, dtype=np.float64)
        self.activation_sum = np.zeros(self.k, dtype=np.float64)
        self.preact_sum = np.zeros(self.k, dtype=np.float64)
        self.preact_sq_sum = np.zeros(self.k, dtype=np.float64)

    def update(
        self,
        S: ArrayLike,
        sample_weight: ArrayLike | None = None,
        *,
        H: ArrayLike | None = None,
        Z: ArrayLike | None = None,
    ) -> ActivityCounts:
        """Add a batch of binary activity ``S`` of shape (batch, k); return self.

        ``H`` and ``Z`` (activations and pre-activations of the same rows, both
        or neither) feed the moments of :meth:`stats`.
        """
        S = np.asarray(S, dtype=bool)
        if S.ndim != 2 or S.shape[1] != self.k:
            raise ValueError(
                f"activity must have shape (n_samples, {self.k}), got {S.shape}"
            )
        if sample_weight is None:
            w = np.ones(len(S))
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if w.shape != (len(S),):
                raise ValueError(
                    f"sample_weight must have shape ({len(S)},), got {w.shape}"
                )
        if (H is None) != (Z is None):
            raise ValueError("pass both H and Z, or neither")
        moments = H is not None and Z is not None
        Ha: NDArray[Any] = np.asarray(H)
        Za: NDArray[Any] = np.asarray(Z)
        if moments and (Ha.shape != S.shape or Za.shape != S.shape):
            raise ValueError(
                f"H {Ha.shape} and Z {Za.shape} must have the shape of S {S.shape}"
            )
        # Equal weights (the usual case): the counts are those of the rows times
        # the weight. A float32 product of 0/1 values is exact below 2**24 rows
        # and twice as fast as float64; the moments accumulate in float64
        # without an (n, k) float64 copy.
        if len(w) and len(S) < 2**24 and np.all(w == w[0]):
            c = float(w[0])
            S32 = S.astype(np.float32)
            self.both_active += c * (S32.T @ S32).astype(np.float64)
            self.active += c * np.count_nonzero(S, axis=0)
            self.n_samples += c * len(S)
            self.weight_sq_sum += c * c * len(S)
            if moments:
                self.activation_sum += c * np.abs(Ha).sum(axis=0, dtype=np.float64)
                self.preact_sum += c * Za.sum(axis=0, dtype=np.float64)
                squares = np.einsum("ij,ij->j", Za, Za, dtype=np.float64)
                self.preact_sq_sum += c * squares
            return self
        Sf = S.astype(np.float64)
        self.both_active += (Sf * w[:, None]).T @ Sf
        self.active += w @ Sf
        self.n_samples += float(w.sum())
        self.weight_sq_sum += float(w @ w)
        if moments:
            Zf = Za.astype(np.float64)
            self.activation_sum += w @ np.abs(Ha.astype(np.float64))
            self.preact_sum += w @ Zf
            self.preact_sq_sum += w @ (Zf * Zf)
        return self

    def matrices(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return ``(NCAM, NCIM)``, each of shape (k, k), from the counts."""
        if self.n_samples <= 0:
            raise ValueError("no activity was recorded")
        n = self.n_samples
        both_silent = n - self.active[:, None] - self.active[None, :] + self.both_active
        return self.both_active / n, both_silent / n

    def stats(self, weight: ArrayLike | None = None) -> ActivityStats:
        """Return the :class:`ActivityStats` of the counts.

        ``weight``: the stored recurrent weights ``W`` (k, k), masked ones
        included, for rules that look at them; zeros when not given.
        """
        ncam, ncim = self.matrices()
        n = self.n_samples
        mean_z = self.preact_sum / n
        var_z = np.maximum(self.preact_sq_sum / n - mean_z**2, 0.0)
        W = (
            np.zeros((self.k, self.k))
            if weight is None
            else np.asarray(weight, dtype=np.float64)
        )
        if W.shape != (self.k, self.k):
            raise ValueError(
                f"weight must have shape {(self.k, self.k)}, got {W.shape}"
            )
        return ActivityStats(
            ncam=ncam,
            ncim=ncim,
            rates=self.active / n,
            mean_activation=self.activation_sum / n,
            preact_std=np.sqrt(var_z),
            weight=W,
            n_samples=n,
            n_effective=n * n / self.weight_sq_sum if self.weight_sq_sum > 0 else n,
        )


@dataclass(frozen=True)
class ActivityStats:
    """What a topology rule sees of one round's activity sample.

    Built by the estimators' rounds from the recorded activity; a rule reads its
    fields (and the properties ``dead``, ``always_active`` and ``phi``).

    Parameters
    ----------
    ncam, ncim : ndarray of shape (k, k)
        Fractions of the samples on which both neurons are active / silent.
    rates : ndarray of shape (k,)
        Fraction of the samples on which each neuron is active (``p``).
    mean_activation : ndarray of shape (k,)
        Mean absolute activation ``E|h_j|``.
    preact_std : ndarray of shape (k,)
        Standard deviation of each neuron's pre-activation ``z_i``.
    weight : ndarray of shape (k, k)
        Stored recurrent weights ``W`` (those of masked edges included).
    n_samples : float
        (Weighted) number of samples.
    edge_gradient : ndarray of shape (k, k) or None, default=None
        ``|dL/dW_ij|`` for every pair ``j < i``, edges absent from the graph
        included: the magnitude of the training loss's gradient with respect to
        the effective weight ``(W * G)_ij``, averaged over a few mini-batches.
        Rounds compute it only for rules that set ``needs_gradient = True``
        (:func:`rigl_rule`); None otherwise.
    progress : float, default=0.0
        The round's place in the schedule: rounds run before it divided by the
        most rounds (0 for the first round), for rules whose step decays.
    n_effective : float or None, default=None
        Effective number of samples, ``(sum w)^2 / sum w^2`` (Kish): the number
        of samples when they weigh the same, what a statistic's sampling noise
        depends on. None: ``n_samples``.
    """

    ncam: NDArray[np.float64]
    ncim: NDArray[np.float64]
    rates: NDArray[np.float64]
    mean_activation: NDArray[np.float64]
    preact_std: NDArray[np.float64]
    weight: NDArray[np.float64]
    n_samples: float
    edge_gradient: NDArray[np.float64] | None = None
    progress: float = 0.0
    n_effective: float | None = None

    @property
    def dead(self) -> NDArray[np.bool_]:
        """Neurons that never fired on the sample."""
        return self.rates <= 0.0

    @property
    def always_active(self) -> NDArray[np.bool_]:
        """Neurons that fired on every sample."""
        return self.rates >= 1.0

    @property
    def phi(self) -> NDArray[np.float64]:
        """The phi coefficient of each pair of neurons' binary activities.

        ``(NCAM_ij - p_i p_j) / sqrt(p_i (1 - p_i) p_j (1 - p_j))``: the
        correlation of the two activity indicators, 1 when the neurons fire on
        exactly the same samples, 0 when they fire independently, whatever
        their rates. A neuron that always fires (or never does) has no
        correlation with anything: 0.
        """
        p = self.rates
        spread = np.sqrt(np.clip(p * (1.0 - p), 0.0, None))
        scale = spread[:, None] * spread[None, :]
        excess = self.ncam - p[:, None] * p[None, :]
        return np.divide(excess, scale, out=np.zeros_like(excess), where=scale > 0)


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
    _check_epsilon(epsilon)
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


Rule = Callable[[NDArray[np.bool_], ActivityStats, float], ArrayLike]


def _check_epsilon(epsilon: float) -> None:
    if not 0.0 < epsilon < 1.0:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")


# The numpydoc sections every named rule shares (one signature, one result).
_RULE_SECTIONS = """

    Parameters
    ----------
    adjacency : array-like of shape (k, k), dtype=bool
        The current graph (``adjacency[i, j]`` is the edge ``j -> i``).
    stats : ActivityStats
        The round's activity statistics.
    epsilon : float in (0, 1)
        The threshold.

    Returns
    -------
    new_adjacency : ndarray of shape (k, k), dtype=bool
        The new graph, strictly lower triangular.
    """


def _rule(fn: Rule) -> Rule:
    """Give a named rule the Parameters and Returns sections of every rule."""
    fn.__doc__ = (fn.__doc__ or "").rstrip() + _RULE_SECTIONS
    return fn


@_rule
def paper_rule(
    adjacency: ArrayLike, stats: ActivityStats, epsilon: float
) -> NDArray[np.bool_]:
    """The paper's rule (:func:`evolve_adjacency`) as a rule function."""
    return evolve_adjacency(adjacency, stats.ncam, stats.ncim, epsilon).adjacency


@_rule
def usage_rule(
    adjacency: ArrayLike, stats: ActivityStats, epsilon: float
) -> NDArray[np.bool_]:
    """Prune edges that act on fewer than ``epsilon`` of the samples.

    An edge ``j -> i`` changes the output only where both neurons are active, on
    a fraction ``NCAM_ij`` of the samples: pruned when ``NCAM < epsilon``, added
    when ``NCAM > 1 - epsilon`` (pruning wins where both hold).
    """
    _check_epsilon(epsilon)
    G = np.asarray(adjacency, dtype=bool)
    lower = strictly_lower(G.shape[0])
    G = G & lower
    prune = (stats.ncam < epsilon) & G
    aug = (stats.ncam > 1.0 - epsilon) & ~G & lower
    return (G & ~prune) | (aug & ~prune)


@_rule
def contribution_rule(
    adjacency: ArrayLike, stats: ActivityStats, epsilon: float
) -> NDArray[np.bool_]:
    """Prune edges that carry little signal into their target; never add.

    ``c_ij = |W_ij| E|h_j| / std(z_i)``; edge ``j -> i`` is pruned when ``c_ij <
    epsilon * mean(c_il over the edges l -> i)``. A neuron whose pre-activation
    is constant on the sample keeps its edges (there is no scale to compare to).
    """
    _check_epsilon(epsilon)
    G = np.asarray(adjacency, dtype=bool) & strictly_lower(len(stats.rates))
    scale = stats.preact_std
    live_target = scale > 0
    c = np.abs(stats.weight) * stats.mean_activation[None, :]
    c = np.divide(c, scale[:, None], out=np.zeros_like(c), where=live_target[:, None])
    n_in = G.sum(axis=1)
    mean_in = np.divide(
        (c * G).sum(axis=1), n_in, out=np.zeros(len(n_in)), where=n_in > 0
    )
    prune = G & (c < epsilon * mean_in[:, None]) & live_target[:, None]
    return G & ~prune


@_rule
def phi_rule(
    adjacency: ArrayLike, stats: ActivityStats, epsilon: float
) -> NDArray[np.bool_]:
    """The paper's rule with co-firing measured against chance (phi).

    Add ``j -> i`` when the phi coefficient of the two neurons' activities
    (:attr:`ActivityStats.phi`) is above ``1 - epsilon``: they fire on the same
    samples far more often than independent neurons of their rates would. Two
    neurons that each fire on almost every sample have a large ``NCAM`` but
    phi near 0, so they are not wired for being always on. Prune as the paper
    does (``NCIM > 1 - epsilon``).

    On few samples phi is too noisy to act on (under independence its standard
    error is ``1 / sqrt(n)``, 0.25 over 16 samples), and with thousands of pairs
    some pass any threshold by chance. So a pair is added only when its phi is
    also significant: ``n phi^2`` (the chi-squared statistic of the two
    activities' 2 x 2 table, ``n`` the effective number of samples) above the
    chi-squared critical value at ``PHI_ALPHA`` divided by the ``k (k - 1) / 2``
    pairs (Bonferroni). At ``k = 100`` that asks for at least 20 samples at
    ``phi = 1`` and 35 at 0.75; from a few hundred samples on it never binds.
    """
    return evolve_adjacency(
        adjacency, significant_phi(stats), stats.ncim, epsilon
    ).adjacency


# Family-wise error rate of phi_rule's significance test over all pairs.
PHI_ALPHA = 0.05


def significant_phi(stats: ActivityStats, alpha: float = PHI_ALPHA) -> NDArray:
    """``stats.phi`` where it is significant over all pairs, 0 elsewhere.

    Significant: ``n phi^2 > chi2.isf(alpha / (k (k - 1) / 2), df=1)``, with ``n``
    the effective number of samples (:attr:`ActivityStats.n_effective`, else
    ``n_samples``); see :func:`phi_rule`.
    """
    from scipy.stats import chi2

    phi = stats.phi
    k = phi.shape[0]
    pairs = max(1, k * (k - 1) // 2)
    n = stats.n_samples if stats.n_effective is None else stats.n_effective
    critical = float(chi2.isf(alpha / pairs, df=1))
    return np.where(n * phi * phi > critical, phi, 0.0)


# RigL's update fraction at the first round (Evci et al. 2020, alpha = 0.3).
RIGL_FRACTION = 0.3


@_rule
def rigl_rule(
    adjacency: ArrayLike, stats: ActivityStats, epsilon: float
) -> NDArray[np.bool_]:
    """Grow edges by gradient, prune them by magnitude (RigL, Evci et al. 2020).

    The graph is held at ``m = round(epsilon * k (k - 1) / 2)`` edges, a
    fraction ``epsilon`` of all possible ones. While it has fewer, the absent
    edges ``j -> i`` with the largest ``|dL/dW_ij|``
    (:attr:`ActivityStats.edge_gradient`) are added until it has ``m``. Then
    each round swaps ``u = floor(f n_edges)`` edges: the ``u`` present edges of
    smallest ``|W_ij|`` are pruned (SET) and the ``u`` absent edges of largest
    gradient (not those just pruned) are added. The fraction decays along the
    schedule, ``f = 0.3 (1 + cos(pi progress)) / 2``. Ties are broken by
    position, so the rule is deterministic. Needs the edge gradient
    (``needs_gradient``).
    """
    _check_epsilon(epsilon)
    if stats.edge_gradient is None:
        raise ValueError(
            "rigl_rule needs ActivityStats.edge_gradient (the loss's gradient "
            "for every possible edge); rounds compute it for rules whose "
            "needs_gradient attribute is True"
        )
    G = np.asarray(adjacency, dtype=bool)
    k = G.shape[0]
    lower = strictly_lower(k)
    G = G & lower
    grad = np.abs(np.asarray(stats.edge_gradient, dtype=np.float64))
    target = int(round(epsilon * k * (k - 1) / 2))
    n_edges = int(G.sum())
    new = G.copy()
    if n_edges < target:
        grow = target - n_edges
        pruned = np.zeros_like(G)
    else:
        fraction = RIGL_FRACTION * (1.0 + np.cos(np.pi * stats.progress)) / 2.0
        grow = int(np.floor(fraction * n_edges))
        present = np.flatnonzero(G)
        magnitude = np.abs(stats.weight).ravel()[present]
        drop = present[np.argsort(magnitude, kind="stable")[:grow]]
        new.ravel()[drop] = False
        pruned = G & ~new
    candidates = np.flatnonzero(lower & ~G & ~pruned)
    if grow > 0 and len(candidates):
        order = np.argsort(-grad.ravel()[candidates], kind="stable")
        new.ravel()[candidates[order[:grow]]] = True
    return new


rigl_rule.needs_gradient = True  # type: ignore[attr-defined]


def _finite_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (a bool is not)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and bool(np.isfinite(value))
    )


class GatedRule:
    """A rule whose changes are kept only if they do not hurt held-out loss.

    Each round that changes the graph becomes a paired trial: from the same
    weights and the same shuffling, the net trains ``recovery_epochs`` epochs
    with the rule's new graph and, separately, the same epochs with the old
    graph; the round's change is kept only if the held-out loss after its
    recovery is not above the other branch's. The net then goes on from the
    branch kept, so the recovery epochs are training, not waste; the one
    discarded costs ``recovery_epochs`` epochs per changed round.

    The comparison is paired by row: with ``d`` the per-row differences of
    held-out loss (changed minus unchanged, weighted by the sample weights), a
    change is kept when ``mean(d) + margin * se(d) <= 0``. ``margin=0`` keeps
    any change that does not raise the held-out loss; the default 2 keeps only
    changes that lower it by about two standard errors, so that a round's edges
    must earn their place beyond the noise of the held-out rows.

    The held-out rows are the validation split when the estimator has one
    (``early_stopping=True``); otherwise a ``validation_fraction`` of the
    training rows, drawn with the fit's seed, is held out of training while
    evolution runs and trains again once it has settled. A rejected round
    counts as a round without change (toward ``evolve_patience``). Each round's
    record has a ``gate`` entry with both losses and the decision.

    Parameters
    ----------
    rule : str or callable, default="paper"
        The rule whose changes are gated: a name in :data:`RULES` or a rule
        function.
    recovery_epochs : int, default=1
        Epochs each branch trains before the held-out losses are compared.
    margin : float, default=2.0
        Standard errors of the paired loss difference by which a change must
        lower the held-out loss to be kept (0: not raise it).

    Examples
    --------
    >>> from sklearn_freenets import FreeNetClassifier
    >>> from sklearn_freenets.evolve import GatedRule
    >>> clf = FreeNetClassifier(rule=GatedRule("phi"), epsilon=0.5)
    """

    def __init__(
        self, rule: str | Rule = "paper", recovery_epochs: int = 1, margin: float = 2.0
    ) -> None:
        self.rule = rule
        self.recovery_epochs = recovery_epochs
        self.margin = margin

    @property
    def needs_gradient(self) -> bool:
        return bool(getattr(self._fn(), "needs_gradient", False))

    def _fn(self) -> Rule:
        if isinstance(self.rule, str):
            if self.rule not in RULES:
                raise ValueError(
                    f"GatedRule: unknown rule {self.rule!r}; the named rules are "
                    f"{sorted(RULES)}"
                )
            return RULES[self.rule]
        if not callable(self.rule):
            raise ValueError(
                f"GatedRule: rule must be a name in {sorted(RULES)} or a callable, "
                f"got {self.rule!r}"
            )
        return self.rule

    def check(self) -> None:
        """Raise ``ValueError`` if the parameters are invalid."""
        self._fn()
        if (
            isinstance(self.recovery_epochs, bool)
            or not isinstance(self.recovery_epochs, (int, np.integer))
            or self.recovery_epochs < 1
        ):
            raise ValueError(
                "GatedRule: recovery_epochs must be an integer >= 1, got "
                f"{self.recovery_epochs!r}"
            )
        if not _finite_number(self.margin) or self.margin < 0:
            raise ValueError(
                f"GatedRule: margin must be a finite number >= 0, got {self.margin!r}"
            )

    def __call__(
        self, adjacency: ArrayLike, stats: ActivityStats, epsilon: float
    ) -> ArrayLike:
        return self._fn()(np.asarray(adjacency, dtype=bool), stats, epsilon)

    def __repr__(self) -> str:
        return (
            f"GatedRule({self.rule!r}, recovery_epochs={self.recovery_epochs}, "
            f"margin={self.margin})"
        )

    def _key(self) -> tuple:
        return (self.rule, self.recovery_epochs, self.margin)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GatedRule) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), repr(self.rule), self.recovery_epochs, self.margin))


class L1Rule:
    """Sparsity learned by the gradient: an L1 penalty on the edge weights.

    During training, after every optimizer step, each edge weight of the graph
    is shrunk towards 0 by ``lr * strength`` and set to 0 if it would cross it
    (the proximal step of the penalty ``strength * sum |W_ij|``). A round then
    prunes the edges whose weight is exactly 0; it never adds. Start from a
    graph with edges (``initial_graph="dense"``).

    With Adam, a step moves a weight by about ``lr * m / sqrt(v)``, the
    gradient's mean over its spread; so an edge goes to 0 and stays there when
    that ratio keeps below ``strength``: ``strength`` is the signal-to-noise
    ratio an edge's gradient needs to keep it.

    Parameters
    ----------
    strength : float, default=0.5
        The penalty, in units of the learning rate (> 0).

    Examples
    --------
    >>> from sklearn_freenets import FreeNetRegressor
    >>> from sklearn_freenets.evolve import L1Rule
    >>> reg = FreeNetRegressor(initial_graph="dense", rule=L1Rule(0.5))
    """

    def __init__(self, strength: float = 0.5) -> None:
        self.strength = strength

    def check(self) -> None:
        """Raise ``ValueError`` if the parameters are invalid."""
        if not _finite_number(self.strength) or self.strength <= 0:
            raise ValueError(
                f"L1Rule: strength must be a finite number > 0, got {self.strength!r}"
            )

    def __call__(
        self, adjacency: ArrayLike, stats: ActivityStats, epsilon: float
    ) -> NDArray[np.bool_]:
        G = np.asarray(adjacency, dtype=bool) & strictly_lower(len(stats.rates))
        return G & (stats.weight != 0)

    @torch.no_grad()
    def after_step(self, module: Any, lr: float) -> None:
        """The proximal step on the graph's edge weights (in place).

        Parameters
        ----------
        module : FreeNetModule
            The network; its ``weight`` is changed where ``adjacency`` is set.
        lr : float
            The learning rate of the step just taken.
        """
        W = module.weight
        shrunk = W.abs().sub_(lr * self.strength).clamp_(min=0).mul_(W.sign())
        W.copy_(torch.where(module.adjacency, shrunk, W))

    def __repr__(self) -> str:
        return f"L1Rule(strength={self.strength})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, L1Rule) and self.strength == other.strength

    def __hash__(self) -> int:
        return hash((type(self), self.strength))


class ProximalSteps(Callback):
    """Calls ``rule.after_step(module, lr)`` after every training step.

    ``lr``: the current rate of the optimizer's parameter group that holds
    the recurrent weights.
    """

    def __init__(self, rule: Any) -> None:
        self.rule = rule

    def on_batch_end(self, net: Any, training: bool = False, **kwargs: Any) -> None:
        if not training:
            return
        weight = net.module_.weight
        lr = next(
            group["lr"]
            for group in net.optimizer_.param_groups
            if any(p is weight for p in group["params"])
        )
        self.rule.after_step(net.module_, float(lr))


RULES: dict[str, Rule] = {
    "paper": paper_rule,
    "usage": usage_rule,
    "contribution": contribution_rule,
    "phi": phi_rule,
    "rigl": rigl_rule,
}


def _resolve(rule: str | Rule) -> Rule:
    """The rule function of a name in :data:`RULES`, or the callable itself."""
    return RULES[rule] if isinstance(rule, str) else rule


def apply_rule(
    rule: str | Rule, adjacency: ArrayLike, stats: ActivityStats, epsilon: float
) -> EvolveStep:
    """Apply a named or callable rule; return the step, checked and restricted.

    The rule's output must be a ``(k, k)`` array of booleans or of 0s and 1s
    (anything else, NaN included, raises ``ValueError``); it is cut to the
    strictly lower triangle.
    """
    fn = _resolve(rule)
    G = np.asarray(adjacency, dtype=bool) & strictly_lower(len(stats.rates))
    new = np.asarray(fn(G.copy(), stats, epsilon))
    if new.shape != G.shape:
        raise ValueError(
            f"the rule {getattr(fn, '__name__', fn)!r} returned shape {new.shape}; "
            f"it must return the adjacency's shape {G.shape}"
        )
    if new.dtype != bool:
        try:
            values = new.astype(np.float64)
        except (TypeError, ValueError):
            values = np.full(new.shape, np.nan)
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValueError(
                f"the rule {getattr(fn, '__name__', fn)!r} must return a boolean "
                "(or 0/1) adjacency; it returned other values"
                + (" (NaN)" if np.isnan(values).any() else "")
            )
    new = new.astype(bool) & strictly_lower(G.shape[0])
    return EvolveStep(adjacency=new, added=new & ~G, pruned=G & ~new)


def round_records(history: Any, since: int = 0) -> list[dict[str, Any]]:
    """The FreeEvolve round records in a skorch history, in the order they ran."""
    records: list[dict[str, Any]] = []
    for row in history[since:]:
        records.extend(row.get(History.FREE_EVOLVE_EARLY, ()))
        if History.FREE_EVOLVE in row:
            records.append(row[History.FREE_EVOLVE])
    return records


class FreeEvolve(Callback):
    """skorch callback that evolves a FreeNet's topology during training.

    Schedule: a round runs at the end of every ``every``-th epoch counted from
    history row ``since`` (so ``every=5``: after epochs 5, 10, ...; on small
    data ``min_steps`` spaces them further), until ``max_rounds`` rounds have
    run since then or the last ``patience`` rounds changed nothing; from then
    on evolution has *settled*. Every epoch records in the history whether
    evolution has settled (``evolution_settled``), for the record: the
    stopping criterion does not wait for it (it restarts its count after each
    epoch whose rounds changed the graph), so a fit may end before evolution
    settles. (:class:`EarlyFreeEvolve` adds rounds within the first epoch.)

    A round records the activity of every neuron (pre-activation > 0) on the
    training rows, or on a seeded random subsample of at most ``max_samples``
    rows, with their sample weights, and applies ``rule`` (see :data:`RULES`).
    Added edges start at weight 0 (with their optimizer moments reset), so
    adding an edge never changes the function; pruned edges are masked and keep
    their weights. Each round's record is stored in the history row of its
    epoch under ``free_evolve``, so the evolution is part of the net's history
    (it survives warm starts and pickling) and the callback keeps no state
    between fits; :func:`round_records` lists them.

    The module must provide ``adjacency`` (bool buffer), ``weight``,
    ``hidden(X)`` and ``set_adjacency(G)``, as
    :class:`~sklearn_freenets._module.FreeNetModule` does; the training data
    must be a :class:`~sklearn_freenets._training.TrainingData`.

    Parameters
    ----------
    epsilon : float
        FreeEvolve threshold, see :func:`evolve_adjacency`.
    max_rounds : int
        Most rounds to run (counted from history row ``since``).
    every : int, default=5
        Epochs between rounds.
    min_steps : int or None, default=None
        Fewest optimizer steps (mini-batches) between rounds: on data of fewer
        than ``min_steps / every`` mini-batches per epoch, a round runs every
        ``ceil(min_steps / batches_per_epoch)`` epochs instead, and at most as
        many rounds as fit in the ``max_rounds * every`` epochs the schedule
        spans (a round sees the net only after the weights have moved; on small
        data consecutive epochs are a step or two apart). None: every ``every``
        epochs, whatever the data. The schedule of a fit is in ``every_`` and
        ``max_rounds_``.
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
    rule : str or callable, default="paper"
        A name in :data:`RULES` or ``rule(adjacency, stats, epsilon) ->
        adjacency`` (see the module's docstring).
    patience : int, default=1
        Consecutive rounds without a change after which evolution settles.
    revive_dead : bool, default=False
        After the rule, revive the neurons that never fired on the round's
        activity sample: re-draw their incoming weights and zero their outgoing
        ones, then shift their biases so that each fires on half of the
        activity sample (see
        :meth:`~sklearn_freenets._module.FreeNetModule.revive_neurons`; the
        function is unchanged), with their optimizer moments reset. A dead
        ReLU neuron gets no gradient and so never recovers by itself. The record
        counts them under ``n_revived``.
    gate : TrainingData or None, default=None
        Held-out rows for a :class:`GatedRule` (the estimator's validation
        split). None: a gated rule holds out ``gate_fraction`` of the training
        rows while evolution runs.
    gate_fraction : float, default=0.1
        Fraction of the training rows a gated rule holds out when ``gate`` is
        None.
    """

    def __init__(
        self,
        epsilon: float,
        max_rounds: int,
        every: int = 5,
        min_steps: int | None = None,
        since: int = 0,
        max_samples: int | None = 20000,
        random_state: int = 0,
        batch_size: int = 4096,
        verbose: bool = False,
        keep_matrices: bool = True,
        rule: str | Rule = "paper",
        patience: int = 1,
        revive_dead: bool = False,
        gate: TrainingData | None = None,
        gate_fraction: float = 0.1,
    ) -> None:
        self.epsilon = epsilon
        self.max_rounds = max_rounds
        self.every = every
        self.min_steps = min_steps
        self.since = since
        self.max_samples = max_samples
        self.random_state = random_state
        self.batch_size = batch_size
        self.verbose = verbose
        self.keep_matrices = keep_matrices
        self.rule = rule
        self.patience = patience
        self.revive_dead = revive_dead
        self.gate = gate
        self.gate_fraction = gate_fraction

    @property
    def gated(self) -> bool:
        """Whether the rule is a :class:`GatedRule`."""
        return isinstance(self.rule, GatedRule)

    def on_train_begin(self, net: Any, X: Any = None, **kwargs: Any) -> None:
        self.data_ = X
        self.every_, self.max_rounds_ = self._schedule(net, X)
        # once settled, a fit stays settled: remembered, so that the epochs after
        # it do not scan the history's rounds again
        self.settled_ = False
        self.gate_ = self.gate if self.gated else None
        if self.gated and self.gate is None and X is not None and not self.settled(net):
            self.gate_ = self._hold_out(X)

    def _hold_out(self, data: TrainingData) -> TrainingData:
        """Hold ``gate_fraction`` of ``data``'s rows out of training, seeded."""
        n = len(data)
        n_held = int(np.ceil(self.gate_fraction * n))
        if n_held < 1 or n - n_held < 1:
            raise ValueError(
                f"a GatedRule holds out validation_fraction={self.gate_fraction} of "
                f"the {n} training rows to judge each round, which leaves "
                f"{n_held} held-out and {n - n_held} training rows; both must be "
                "at least 1"
            )
        rng = np.random.default_rng(self.random_state)
        rows = np.zeros(n, dtype=bool)
        rows[rng.choice(n, size=n_held, replace=False)] = True
        return data.hold_out(torch.as_tensor(rows, device=data.X.device))

    def _release(self) -> None:
        """Put the rows held out for the gate back into training."""
        if self.gate is None and self.data_ is not None:
            self.data_.rejoin()
        self.gate_ = None

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        self._release()
        self.data_ = None  # do not keep (or pickle) a reference to the training data

    def _schedule(self, net: Any, data: Any) -> tuple[int, int]:
        """Epochs between rounds and most rounds of this fit (see ``min_steps``)."""
        if self.min_steps is None or data is None or len(data) == 0:
            return self.every, self.max_rounds
        per_epoch = self._steps_per_epoch(net, data)
        every = max(self.every, -(-self.min_steps // per_epoch))
        if every == self.every:
            return self.every, self.max_rounds
        return every, max(1, -(-self.max_rounds * self.every // every))

    def rounds(self, net: Any) -> list[dict[str, Any]]:
        """The records of the rounds run since history row ``since``."""
        return round_records(net.history, self.since)

    def settled(self, net: Any) -> bool:
        """Whether no further round will run (limit reached or last rounds idle)."""
        done = self.rounds(net)
        if len(done) >= getattr(self, "max_rounds_", self.max_rounds):
            return True
        last = done[-self.patience :]
        return len(last) >= self.patience and not any(r["changed"] for r in last)

    def on_epoch_end(self, net: Any, phase: str | None = None, **kwargs: Any) -> None:
        epoch = len(net.history) - self.since
        settled = getattr(self, "settled_", False) or self.settled(net)
        every = getattr(self, "every_", self.every)
        if phase != "polish" and epoch % every == 0 and not settled:
            net.history.record(History.FREE_EVOLVE, self.run_round(net, self.data_))
            settled = self.settled(net)
        self.settled_ = settled
        if settled and self.gate_ is not None:
            self._release()
        net.history.record(History.EVOLUTION_SETTLED, settled)

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
        """Accumulate activity counts and moments of the net's module over ``X``."""
        module = net.module_
        counts = ActivityCounts(module.k)
        for start in range(0, len(X), self.batch_size):
            Xb = to_tensor(X[start : start + self.batch_size], device=net.device)
            H, Z = module.hidden(Xb)
            wb = None if w is None else w[start : start + self.batch_size]
            counts.update(
                (Z > 0).cpu().numpy(),
                None if wb is None else wb.detach().cpu().double().numpy(),
                H=H.cpu().numpy(),
                Z=Z.cpu().numpy(),
            )
        return counts

    def _steps_per_epoch(self, net: Any, data: Any) -> int:
        batch = net.batch_size if net.batch_size not in (None, -1) else len(data)
        return -(-len(data) // max(1, int(batch)))

    def run_round(self, net: Any, data: Any, batch: int | None = None) -> dict:
        """Run one FreeEvolve round on ``net`` with ``data``; return its record.

        ``batch``: the 1-based mini-batch of the current epoch after which the
        round runs (None: at the end of the epoch). The caller stores the record.
        """
        module = net.module_
        n_done = len(self.rounds(net))
        clock = _Clock()
        X, w = self.activity_sample(data, n_done)
        with _eval_mode(module):
            counts = self.record_activity(net, X, w)
        clock.lap("activity")
        stats = counts.stats(module.weight.detach().cpu().numpy())
        if getattr(_resolve(self.rule), "needs_gradient", False):
            stats = replace(stats, edge_gradient=self.edge_gradient(net, data, n_done))
        max_rounds = getattr(self, "max_rounds_", self.max_rounds)
        stats = replace(stats, progress=n_done / max(1, max_rounds))
        clock.lap("statistics")
        G = module.adjacency.cpu().numpy().copy()
        step = apply_rule(self.rule, G, stats, self.epsilon)
        clock.lap("rule")
        gate = None
        if step.changed and self.gate_ is not None:
            step, gate = self._gated_step(net, data, G, step)
            clock.lap("gate")
        elif step.changed:
            module.set_adjacency(step.adjacency)
            _reset_optimizer_moments(net, module.weight, step.added)
        clock.lap("rebuild")
        dead = stats.dead
        revived = dead if self.revive_dead else np.zeros_like(dead)
        if revived.any():
            with _eval_mode(module):
                Xs = to_tensor(X, device=net.device)
                module.revive_neurons(
                    revived,
                    Xs,
                    batch_size=self.batch_size,
                    generator=getattr(net, "generator_", None),
                )
            _reset_neuron_moments(net, module, revived)
        last = net.history[-1]
        epochs_before = len(net.history) - 1
        per_epoch = self._steps_per_epoch(net, data)
        touches_dead = dead[:, None] | dead[None, :]
        record: dict[str, Any] = {
            "round": n_done + 1,
            "epoch": len(net.history),
            "batch": batch,
            "step": epochs_before * per_epoch + (per_epoch if batch is None else batch),
            "n_edges_before": int(G.sum()),
            "n_added": step.n_added,
            "n_pruned": step.n_pruned,
            "n_edges": int(step.adjacency.sum()),
            "changed": step.changed,
            "train_loss": (
                float(last[History.TRAIN_LOSS])
                if batch is None and History.TRAIN_LOSS in last
                else None
            ),
            "n_activity_samples": len(X),
            "n_dead": int(dead.sum()),
            "n_always_active": int(stats.always_active.sum()),
            "n_pruned_touching_dead": int((step.pruned & touches_dead).sum()),
            "n_pruned_both_dead": int((step.pruned & dead[:, None] & dead).sum()),
            "n_added_touching_dead": int((step.added & touches_dead).sum()),
            "n_revived": int(revived.sum()),
            "activity_rates": stats.rates.astype(np.float32),
        }
        if gate is not None:
            record["gate"] = gate
        clock.lap("rebuild")  # revival and the record
        record["seconds"] = clock.laps
        if self.keep_matrices:
            lower = strictly_lower(module.k)
            record["ncam"] = stats.ncam[lower].astype(np.float32)
            record["ncim"] = stats.ncim[lower].astype(np.float32)
        if self.verbose:
            where = f"epoch {record['epoch']}" + (
                "" if batch is None else f", batch {batch}"
            )
            _write(
                f"[FreeEvolve] round {record['round']} ({where}): "
                f"+{record['n_added']} added, -{record['n_pruned']} pruned, "
                f"{record['n_edges']} edges, {record['n_dead']} dead neurons"
                + (f" ({record['n_revived']} revived)" if self.revive_dead else "")
                + ("" if step.changed else " (unchanged)")
            )
        return record

    def edge_gradient(self, net: Any, data: Any, round_index: int) -> NDArray:
        """``|dL/dW|`` for every possible edge, averaged over a few mini-batches.

        The gradient is taken with respect to the effective weights ``W * G``
        with no mask, so absent edges get theirs too (the backward pass forms
        ``dZ^T H`` for every pair and only the mask would zero it). The batches
        are the first ``GRADIENT_BATCHES`` of a seeded permutation of the
        training rows, at the net's batch size; the mean is weighted by the
        batches' (sample-weighted) sizes, so it is the gradient of the loss on
        the rows those batches hold.
        """
        module = net.module_
        n = len(data)
        size = n if net.batch_size in (None, -1) else min(n, int(net.batch_size))
        order = np.random.default_rng(self.random_state + round_index).permutation(n)
        W = module.masked_weight().detach().clone().requires_grad_(True)
        total = torch.zeros_like(W)
        seen = 0.0
        for start in range(0, min(n, GRADIENT_BATCHES * size), size):
            idx = torch.as_tensor(order[start : start + size], device=data.X.device)
            Xb, yb = data.X[idx], data.y[idx]
            wb = None if data.uniform else data.w[idx]
            A = module.encoder(Xb)
            H = recurrence(A, W, module.activation, backend=module.backend)
            loss = net.get_loss(module._output(H, Xb), (yb, wb), training=True)
            (grad,) = torch.autograd.grad(loss, W)
            size_b = float(len(idx) if wb is None else wb.sum())
            total += grad * size_b
            seen += size_b
        return (total / seen).abs().cpu().double().numpy()

    def _recover(self, net: Any, data: Any, epochs: int) -> None:
        """Train ``epochs`` epochs of mini-batch steps, outside the history."""
        for _ in range(epochs):
            for batch in net.get_iterator(data, training=True):
                net.train_step(batch)

    def _gated_step(
        self, net: Any, data: Any, G: NDArray[np.bool_], step: EvolveStep
    ) -> tuple[EvolveStep, dict[str, Any]]:
        """Keep ``step`` only if it does not raise the held-out loss (see GatedRule).

        Both branches start from the same weights, optimizer state and shuffling
        and train ``recovery_epochs`` epochs; the net goes on from the one kept.
        """
        gated, held = self.rule, self.gate_
        assert isinstance(gated, GatedRule) and held is not None
        epochs = int(gated.recovery_epochs)
        module = net.module_
        start = net.checkpoint()
        self._recover(net, data, epochs)
        rows_unchanged = net.row_losses(held)
        unchanged = net.checkpoint()
        net.restore(start)
        module.set_adjacency(step.adjacency)
        _reset_optimizer_moments(net, module.weight, step.added)
        self._recover(net, data, epochs)
        rows_changed = net.row_losses(held)
        w = held.w.detach().cpu().double().numpy()
        w = w / w.sum()
        loss_unchanged = float(w @ rows_unchanged.cpu().double().numpy())
        loss_changed = float(w @ rows_changed.cpu().double().numpy())
        diff = (rows_changed - rows_unchanged).cpu().double().numpy()
        mean = float(w @ diff)
        n_eff = 1.0 / float(w @ w)
        se = float(np.sqrt(max(w @ (diff - mean) ** 2, 0.0) / max(n_eff - 1.0, 1.0)))
        accepted = bool(mean + gated.margin * se <= 0.0)
        if not accepted:
            net.restore(unchanged)
            none = np.zeros_like(G)
            step = EvolveStep(adjacency=G.copy(), added=none, pruned=none.copy())
        gate = {
            "accepted": accepted,
            "loss_changed": loss_changed,
            "loss_unchanged": loss_unchanged,
            "standard_error": se,
            "recovery_epochs": epochs,
            "n_held_out": len(held),
        }
        return step, gate


class EarlyFreeEvolve(FreeEvolve):
    """:class:`FreeEvolve` with extra rounds within the first epoch.

    Besides the rounds every ``every`` epochs, a round runs after every
    ``every_batches``-th mini-batch of the first epoch (counted from history row
    ``since``), while evolution has not settled: the paper's per-iteration
    evolution, when activity changes fastest. These rounds count toward
    ``max_rounds`` and ``patience``; their records are stored, in order, in the
    epoch's history row under ``free_evolve_early``.

    Parameters
    ----------
    every_batches : int
        Mini-batches between rounds in the first epoch.
    **kwargs
        The parameters of :class:`FreeEvolve`.
    """

    def __init__(self, every_batches: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.every_batches = every_batches

    def on_epoch_begin(self, net: Any, **kwargs: Any) -> None:
        self.batch_ = 0

    def batch_hooks_wanted(self, net: Any) -> bool:
        """Whether this epoch may run a round within it: the first epoch only."""
        return len(net.history) - self.since == 1

    def on_batch_end(self, net: Any, training: bool = False, **kwargs: Any) -> None:
        if not training:
            return
        self.batch_ += 1
        if len(net.history) - self.since != 1 or self.batch_ % self.every_batches:
            return
        if self.settled(net):
            return
        record = self.run_round(net, self.data_, batch=self.batch_)
        early = net.history[-1].get(History.FREE_EVOLVE_EARLY, [])
        net.history.record(History.FREE_EVOLVE_EARLY, [*early, record])


class _Clock:
    """Wall-clock seconds of a round's parts (``laps``, summed by name)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now


@contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    """Run the block with ``module`` in eval mode, then restore its mode."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def _write(line: str) -> None:
    """Print a line without breaking an active tqdm progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(line)


def _reset_optimizer_moments(net: Any, param: Any, entries: NDArray[np.bool_]) -> None:
    """Zero the optimizer state of ``param`` at the boolean mask ``entries``.

    Newly added edges and revived neurons start afresh: no momentum or second
    moment carried over from before.
    """
    optimizer = getattr(net, "optimizer_", None)
    state = optimizer.state.get(param) if optimizer is not None else None
    if not entries.any() or not state:
        return
    mask = torch.as_tensor(entries, device=param.device)
    for value in state.values():
        if torch.is_tensor(value) and value.shape == mask.shape:
            value[mask] = 0


def _reset_neuron_moments(net: Any, module: Any, neurons: NDArray[np.bool_]) -> None:
    """Zero the optimizer state of every weight that ``revive_neurons`` re-drew."""
    k = module.k
    enc = module.encoder
    rows = np.repeat(neurons[:, None], enc.in_features, axis=1)
    _reset_optimizer_moments(net, enc.weight, rows)
    _reset_optimizer_moments(net, enc.bias, neurons)
    _reset_optimizer_moments(
        net, module.weight, np.broadcast_to(neurons[:, None], (k, k)) | neurons
    )
    cols = np.repeat(neurons[None, :], module.decoder.out_features, axis=0)
    _reset_optimizer_moments(net, module.decoder.weight, cols)
