# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the FreeEvolve rule and its skorch callback."""

import itertools

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from sklearn_freenets import FreeNetClassifier
from sklearn_freenets._evolve import (
    ActivityCounts,
    coactivation_matrices,
    evolve_adjacency,
    strictly_lower,
)
from sklearn_freenets._module import FreeNetModule

# Table 1 of the paper for one candidate edge (j=0 -> i=1): (edge present, NCAM
# above 1 - eps, NCIM above 1 - eps) -> edge present afterwards.
TABLE_1 = {
    (False, False, False): False,  # nothing to do
    (False, True, False): True,  # fire together: wire together
    (False, False, True): False,  # no edge to prune
    (False, True, True): True,  # augmentation; pruning only touches existing edges
    (True, False, False): True,  # keep
    (True, True, False): True,  # already wired
    (True, False, True): False,  # silent together: cut
    (True, True, True): False,  # pruning wins
}


@pytest.mark.parametrize(("present", "coactive", "coinactive"), list(TABLE_1))
def test_truth_table(present, coactive, coinactive):
    """Check that one step follows Table 1 of the paper for every case."""
    eps = 0.6  # large enough that NCAM and NCIM can both exceed 1 - eps
    G = np.zeros((2, 2), dtype=bool)
    G[1, 0] = present
    ncam = np.full((2, 2), 0.8 if coactive else 0.2)
    ncim = np.full((2, 2), 0.8 if coinactive else 0.2)
    step = evolve_adjacency(G, ncam, ncim, eps)
    assert step.adjacency[1, 0] == TABLE_1[(present, coactive, coinactive)]
    assert not step.adjacency[0, 1] and not step.adjacency.diagonal().any()
    assert step.n_added == int(step.adjacency[1, 0] and not present)
    assert step.n_pruned == int(present and not step.adjacency[1, 0])


def test_step_matches_formula_on_random_graphs():
    """Check that a step equals G' = (G & ~Prune) | (Aug & ~Prune) on random input."""
    rng = np.random.default_rng(0)
    k, eps = 30, 0.2
    lower = strictly_lower(k)
    for _ in range(20):
        G = (rng.random((k, k)) < 0.5) & lower
        ncam, ncim = rng.random((k, k)), rng.random((k, k))
        aug = (ncam > 1 - eps) & ~G
        prune = (ncim > 1 - eps) & G
        expected = ((G & ~prune) | (aug & ~prune)) & lower
        step = evolve_adjacency(G, ncam, ncim, eps)
        assert_array_equal(step.adjacency, expected)
        assert not (step.adjacency & ~lower).any()
        assert int(step.adjacency.sum()) == G.sum() + step.n_added - step.n_pruned


def test_coactivation_matches_definition():
    """Check that NCAM = S S^T / n and NCIM = (~S)(~S)^T / n."""
    rng = np.random.default_rng(1)
    S = rng.random((500, 12)) < 0.3  # (n, k) here: samples in rows
    ncam, ncim = coactivation_matrices(S)
    Sf = S.T.astype(float)
    assert_allclose(ncam, Sf @ Sf.T / 500)
    assert_allclose(ncim, (1 - Sf) @ (1 - Sf).T / 500)
    assert_allclose(np.diag(ncam), S.mean(axis=0))


def test_activity_counts_accumulate_batches():
    """Check that counts from batches equal those of the whole activity at once."""
    rng = np.random.default_rng(2)
    S = rng.random((1000, 9)) < 0.6
    counts = ActivityCounts(9)
    for start in range(0, 1000, 128):
        counts.update(S[start : start + 128])
    for got, want in zip(counts.matrices(), coactivation_matrices(S), strict=True):
        assert_allclose(got, want)
    with pytest.raises(ValueError, match="shape"):
        counts.update(S[:, :3])
    with pytest.raises(ValueError, match="no activity"):
        ActivityCounts(3).matrices()


@pytest.mark.parametrize("eps", [0.0, 1.0, -0.1, 1.5])
def test_epsilon_out_of_range(eps):
    """Check that epsilon outside (0, 1) is rejected."""
    with pytest.raises(ValueError, match="epsilon"):
        evolve_adjacency(
            np.zeros((3, 3), bool), np.zeros((3, 3)), np.zeros((3, 3)), eps
        )


def test_upper_triangle_never_added():
    """Check that a co-activation above the diagonal never becomes an edge."""
    k = 6
    step = evolve_adjacency(
        np.zeros((k, k), bool), np.ones((k, k)), np.zeros((k, k)), 0.1
    )
    assert_array_equal(step.adjacency, strictly_lower(k))


def test_weighted_activity_counts_equal_repeated_rows():
    """Check that a sample of weight w counts as w repeated samples."""
    rng = np.random.default_rng(0)
    S = rng.random((30, 6)) > 0.4
    w = rng.integers(0, 4, size=30)
    weighted = ActivityCounts(6).update(S, w.astype(float)).matrices()
    repeated = coactivation_matrices(np.repeat(S, w, axis=0))
    assert_allclose(weighted[0], repeated[0])
    assert_allclose(weighted[1], repeated[1])
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        ActivityCounts(6).update(S, w[:3])


def test_added_edges_do_not_change_function():
    """Check that adding edges (weight 0) keeps outputs, pruning masks weights."""
    module = FreeNetModule(5, 7, 2, initial_graph="empty")
    X = torch.randn(40, 5)
    before = module(X)
    full = strictly_lower(7)
    module.set_adjacency(full)
    assert_allclose(module(X).detach(), before.detach(), rtol=1e-6)
    assert module.n_edges() == 21
    with torch.no_grad():
        module.weight.normal_()
    kept = module.weight.detach().clone()
    module.set_adjacency(np.zeros((7, 7), bool))
    assert_array_equal(module.weight.detach(), kept)  # masked, not deleted
    assert_allclose(module(X).detach(), before.detach(), rtol=1e-6)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_callback_records_rounds(digits):
    """Check that each round's record is consistent with the fitted graph."""
    X, y = digits
    clf = FreeNetClassifier(
        k=16,
        epsilon=0.3,
        rule="paper",
        initial_graph="empty",
        evolve_rounds=4,
        evolve_every=2,
        evolve_every_batches=None,
        max_epochs=10,
        lr=1e-2,
        random_state=0,
    ).fit(X, y)
    hist = clf.evolution_history_
    assert 1 <= len(hist) <= 4
    # a round every 2 epochs until the limit or an idle round
    assert [r["epoch"] for r in hist] == [2, 4, 6, 8][: len(hist)]
    assert all(r["changed"] for r in hist[:-1])
    assert len(hist) == 4 or not hist[-1]["changed"]
    settled = [row["evolution_settled"] for row in clf.net_.history]
    assert settled == [e >= hist[-1]["epoch"] for e in range(1, clf.n_iter_ + 1)]
    for prev, cur in itertools.pairwise([None, *hist]):
        if prev is not None:
            assert cur["n_edges_before"] == prev["n_edges"]
        assert (
            cur["n_edges"] == cur["n_edges_before"] + cur["n_added"] - cur["n_pruned"]
        )
        assert cur["ncam"].shape == cur["ncim"].shape == (16 * 15 // 2,)
        assert np.isfinite(cur["train_loss"])
    assert hist[0]["n_edges_before"] == 0 and hist[0]["n_added"] > 0
    assert clf.n_edges_ == hist[-1]["n_edges"] == clf.adjacency_.sum()
    assert not (clf.adjacency_ & ~strictly_lower(16)).any()


@pytest.mark.parametrize("patience", [1, 3])
def test_evolution_stops_once_converged(digits, patience):
    """Check that no round runs after ``evolve_patience`` rounds changed nothing."""
    X, y = digits
    # epsilon tiny: nothing is ever co-active on more than 99.9% of samples
    clf = FreeNetClassifier(
        k=10,
        epsilon=1e-3,
        initial_graph="empty",
        evolve_rounds=5,
        evolve_every=1,
        evolve_every_batches=None,
        evolve_patience=patience,
        max_epochs=6,
        random_state=0,
    ).fit(X, y)
    assert len(clf.evolution_history_) == patience
    assert all(r["n_added"] == 0 for r in clf.evolution_history_)
    assert clf.n_edges_ == 0


def test_activity_subsample(digits):
    """Check that activity is recorded on a subsample of the requested size."""
    X, y = digits
    clf = FreeNetClassifier(
        k=8,
        evolve_rounds=2,
        evolve_every=1,
        max_epochs=3,
        evolve_max_samples=300,
        random_state=0,
    ).fit(X, y)
    assert {r["n_activity_samples"] for r in clf.evolution_history_} == {300}
