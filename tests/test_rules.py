# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the topology rules, their diagnostics and FreeEvolve's schedule options."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from sklearn_freenets import FreeNetClassifier
from sklearn_freenets._evolve import (
    RULES,
    ActivityCounts,
    FreeEvolve,
    GatedRule,
    L1Rule,
    apply_rule,
    contribution_rule,
    evolve_adjacency,
    paper_rule,
    phi_rule,
    rigl_rule,
    strictly_lower,
    usage_rule,
)
from sklearn_freenets._module import FreeNetModule
from sklearn_freenets._training import TrainingData


def _random_stats(rng, n=200, k=7, weight=None):
    S = rng.random((n, k)) < rng.uniform(0.0, 1.0, size=k)
    Z = rng.normal(size=(n, k)) + np.where(S, 1.0, -1.0)
    H = np.maximum(Z, 0.0)
    counts = ActivityCounts(k).update(S, H=H, Z=Z)
    return S, H, Z, counts.stats(weight)


def test_stats_moments_match_numpy():
    """Check rates, mean activation and pre-activation spread against numpy."""
    rng = np.random.default_rng(0)
    S, H, Z, _ = _random_stats(rng)
    w = rng.uniform(0.1, 2.0, size=len(S))
    counts = ActivityCounts(S.shape[1])
    for part in np.array_split(np.arange(len(S)), 3):  # batches accumulate
        counts.update(S[part], w[part], H=H[part], Z=Z[part])
    stats = counts.stats()
    assert_allclose(stats.rates, np.average(S, axis=0, weights=w))
    assert_allclose(stats.mean_activation, np.average(np.abs(H), axis=0, weights=w))
    mean = np.average(Z, axis=0, weights=w)
    assert_allclose(
        stats.preact_std, np.sqrt(np.average((Z - mean) ** 2, axis=0, weights=w))
    )
    assert stats.n_samples == pytest.approx(w.sum())


@pytest.mark.parametrize("weight", [1.0, 0.37])
def test_equal_weights_match_the_weighted_counts(weight):
    """Check that equal sample weights (counted in float32) give what unequal ones
    of the same value do (float64): the counts and moments times the weight."""
    rng = np.random.default_rng(1)
    S, H, Z, _ = _random_stats(rng, n=300, k=9)
    H, Z = H.astype(np.float32), Z.astype(np.float32)
    equal = ActivityCounts(9)
    general = ActivityCounts(9)
    for part in np.array_split(np.arange(len(S)), 2):
        equal.update(S[part], np.full(len(part), weight), H=H[part], Z=Z[part])
        w = np.full(len(part), weight)
        w[0] = np.nextafter(weight, 2.0)  # one row a hair heavier: the float64 path
        general.update(S[part], w, H=H[part], Z=Z[part])
    for name in ("both_active", "active", "activation_sum", "preact_sum"):
        assert_allclose(getattr(equal, name), getattr(general, name), rtol=1e-12)
    assert_allclose(equal.preact_sq_sum, general.preact_sq_sum, rtol=1e-12)
    assert equal.n_samples == pytest.approx(weight * len(S))
    assert_allclose(
        equal.both_active, weight * (S.T.astype(float) @ S.astype(float)), rtol=1e-15
    )


def test_stats_need_both_moments_and_matching_shapes():
    """Check that H without Z, or moments of the wrong shape, are refused."""
    S = np.ones((4, 3), dtype=bool)
    with pytest.raises(ValueError, match="both H and Z"):
        ActivityCounts(3).update(S, H=np.ones((4, 3)))
    with pytest.raises(ValueError, match="shape of S"):
        ActivityCounts(3).update(S, H=np.ones((4, 2)), Z=np.ones((4, 2)))
    with pytest.raises(ValueError, match="weight must have shape"):
        ActivityCounts(3).update(S).stats(np.ones((2, 2)))


def test_relative_cosilence_equals_relative_coactivation():
    """Check the identity NCIM - (1-p_i)(1-p_j) = NCAM - p_i p_j on real counts."""
    rng = np.random.default_rng(1)
    _, _, _, stats = _random_stats(rng)
    p = stats.rates
    assert_allclose(
        stats.ncim - np.outer(1 - p, 1 - p), stats.ncam - np.outer(p, p), atol=1e-12
    )


def test_paper_rule_is_evolve_adjacency():
    """Check that the named paper rule gives the Table 1 step on random graphs."""
    rng = np.random.default_rng(2)
    for _ in range(10):
        _, _, _, stats = _random_stats(rng)
        G = rng.random((7, 7)) < 0.5
        eps = rng.uniform(0.05, 0.9)
        expected = evolve_adjacency(G, stats.ncam, stats.ncim, eps)
        step = apply_rule("paper", G, stats, eps)
        assert_array_equal(step.adjacency, expected.adjacency)
        assert_array_equal(step.added, expected.added)
        assert_array_equal(step.pruned, expected.pruned)
        assert_array_equal(paper_rule(G, stats, eps), expected.adjacency)


def test_usage_rule_thresholds_ncam_both_ways():
    """Check pruning below epsilon and adding above 1 - epsilon, on NCAM alone."""
    rng = np.random.default_rng(3)
    _, _, _, stats = _random_stats(rng, n=400)
    lower = strictly_lower(7)
    eps = 0.3
    new = usage_rule(lower, stats, eps)  # from the dense graph: only pruning
    assert_array_equal(new, lower & (stats.ncam >= eps))
    new = usage_rule(np.zeros((7, 7), bool), stats, eps)  # from empty: only adding
    assert_array_equal(new, lower & (stats.ncam > 1 - eps))
    assert (stats.ncam < eps)[lower].any() and (stats.ncam >= eps)[lower].any()


def test_phi_is_the_correlation_of_the_activities():
    """Check phi against numpy's correlation of the binary activities."""
    rng = np.random.default_rng(5)
    base = rng.random(500) < 0.5
    S = np.column_stack(
        [
            base,
            base,  # the same samples: phi 1
            ~base,  # the other samples: phi -1
            rng.random(500) < 0.9,  # independent, mostly on
            np.ones(500, bool),  # always on: no correlation
        ]
    )
    stats = ActivityCounts(5).update(S).stats()
    expected = np.corrcoef(S[:, :4].T.astype(float))
    assert_allclose(stats.phi[:4, :4], expected, atol=1e-12)
    assert_array_equal(stats.phi[4], 0.0)
    assert_array_equal(stats.phi[:, 4], 0.0)


def test_phi_rule_wires_correlated_neurons_not_busy_ones():
    """Check that phi adds edges between co-firing neurons, not always-on ones.

    The paper's rule wires any two neurons that are both active on more than
    ``1 - epsilon`` of the samples; two independent neurons active on 95 % of
    them qualify. phi does not wire those, but does wire two neurons that fire
    on exactly the same half of the samples, which the paper's rule does not.
    """
    rng = np.random.default_rng(0)
    half = rng.random(2000) < 0.5
    S = np.column_stack([rng.random(2000) < 0.95, rng.random(2000) < 0.95, half, half])
    stats = ActivityCounts(4).update(S).stats()
    empty = np.zeros((4, 4), bool)
    eps = 0.25
    paper = paper_rule(empty, stats, eps)
    phi = phi_rule(empty, stats, eps)
    assert paper[1, 0] and not phi[1, 0]  # busy, independent
    assert phi[3, 2] and not paper[3, 2]  # correlated, half the time
    # pruning is the paper's
    lower = strictly_lower(4)
    assert_array_equal(phi_rule(lower, stats, eps), lower & ~(stats.ncim > 1 - eps))


@pytest.mark.parametrize("n, wired", [(5, False), (6, True), (40, True)])
def test_phi_rule_needs_significance(n, wired):
    """Check that phi wires a pair only when n phi^2 clears the Bonferroni bound.

    Neurons 1 and 2 fire on the same samples (phi = 1). With k = 3 the three
    pairs put the bound at chi2.isf(0.05 / 3, 1) = 5.73: 5 samples are too few,
    6 are enough. Sample weights count through the effective number of samples:
    6 samples of which one weighs 100 count as about 1.1.
    """
    pattern = np.arange(n) % 2 == 0
    S = np.column_stack([np.ones(n, bool), pattern, pattern])
    empty = np.zeros((3, 3), bool)
    stats = ActivityCounts(3).update(S).stats()
    assert stats.n_effective == n
    assert phi_rule(empty, stats, 0.25)[2, 1] == wired
    assert not paper_rule(empty, stats, 0.25)[2, 1]  # both active on half the rows
    w = np.ones(n)
    w[0] = 100.0
    heavy = ActivityCounts(3).update(S, w).stats()
    assert heavy.n_effective == pytest.approx(w.sum() ** 2 / (w @ w))
    assert not phi_rule(empty, heavy, 0.25)[2, 1]


def test_contribution_rule_prunes_weak_and_dead_sources_only():
    """Check c_ij = |W| E|h_j| / std(z_i) against epsilon times the mean into i."""
    k = 4
    counts = ActivityCounts(k)
    Z = np.array(
        [[1.0, -1.0, 2.0, 0.5], [2.0, -2.0, -1.0, 0.5], [-1.0, -3.0, 1.0, 0.5]]
    )  # neuron 1 never fires; neuron 3 has a constant pre-activation
    counts.update(Z > 0, H=np.maximum(Z, 0), Z=Z)
    W = np.zeros((k, k))
    W[2, 0], W[2, 1] = 1.0, 5.0  # into 2: from a live and from a dead neuron
    W[3, 0], W[3, 2] = 1e-6, 1.0  # into 3, whose pre-activation is constant
    W[1, 0] = 1.0  # 0 -> 1 is the only edge into 1: it is its own mean
    stats = counts.stats(W)
    G = strictly_lower(k)
    new = contribution_rule(G, stats, 0.5)
    assert not new[2, 1]  # from a neuron that never fires: carries nothing
    assert new[2, 0] and new[1, 0]
    assert new[3, 0] and new[3, 2]  # constant target: no scale, kept
    assert not (new & ~G).any()  # never adds
    assert_array_equal(contribution_rule(np.zeros((k, k), bool), stats, 0.5), 0)


def test_callable_rule_output_is_checked_and_cut_to_the_lower_triangle():
    """Check a callable's output shape, cast and restriction to j < i."""
    rng = np.random.default_rng(4)
    _, _, _, stats = _random_stats(rng)
    G = np.zeros((7, 7), bool)
    step = apply_rule(lambda g, s, e: np.ones((7, 7)), G, stats, 0.1)
    assert_array_equal(step.adjacency, strictly_lower(7))
    assert step.n_added == 21 and step.n_pruned == 0
    with pytest.raises(ValueError, match="returned shape"):
        apply_rule(lambda g, s, e: np.ones((3, 3)), G, stats, 0.1)
    with pytest.raises(ValueError, match="epsilon"):
        apply_rule("usage", G, stats, 1.5)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _fit(X, y, **params):
    # a round after every epoch, also on iris's one mini-batch per epoch
    base = dict(
        k=8,
        max_epochs=6,
        n_iter_no_change=np.inf,
        evolve_rounds=60,  # the classifier's default is 0
        evolve_every=1,
        evolve_every_batches=None,
        random_state=0,
    )
    return FreeNetClassifier(**{**base, **params}).fit(X, y)


class _KillFirstThree(Callback):
    """Neurons 0-2 never fire: a bias far below any input."""

    def on_train_begin(self, net, **kwargs):
        with torch.no_grad():
            net.module_.encoder.bias[:3] = -1e3


def _fit_one_round_dead_start(X, y, **params):
    """k=8 from the dense graph, neurons 0-2 dead, one round after epoch 1."""
    clf = FreeNetClassifier(
        k=8,
        initial_graph="dense",
        evolve_rounds=1,
        evolve_every=1,
        evolve_every_batches=None,
        n_iter_no_change=np.inf,
        random_state=0,
        net_params={"callbacks": [_KillFirstThree()]},
        **params,
    )
    return clf.fit(X, y)


def test_diagnostics_describe_the_round(iris):
    """Check the dead-neuron counts and rates against the stats the rule saw."""
    X, y = iris
    seen = []

    def cut_dead(G, stats, eps):  # prune every edge that touches a dead neuron
        seen.append(stats)
        dead = stats.dead
        return G & ~(dead[:, None] | dead[None, :])

    clf = _fit_one_round_dead_start(X, y, rule=cut_dead, max_epochs=1)
    (record,) = clf.evolution_history_
    (stats,) = seen
    assert_allclose(record["activity_rates"], stats.rates, rtol=1e-6)
    assert record["n_dead"] == int((stats.rates == 0).sum())
    assert record["n_always_active"] == int((stats.rates == 1).sum())
    assert record["n_pruned_touching_dead"] == record["n_pruned"]
    n_dead = record["n_dead"]
    assert n_dead >= 3
    expected = 28 - (8 - n_dead) * (7 - n_dead) // 2
    assert record["n_pruned"] == expected
    assert record["n_added_touching_dead"] == 0
    assert record["batch"] is None and record["step"] == 1  # 150 rows, one batch


def test_callable_rule_is_honoured_and_cloned(iris):
    """Check a user rule drives the graph and survives clone / get_params."""
    X, y = iris

    def wire_all(G, stats, eps):
        return np.ones_like(G)

    clf = _fit(X, y, rule=wire_all, evolve_rounds=1)
    assert clf.n_edges_ == 28
    assert clf.evolution_history_[0]["n_added"] == 28
    assert clone(clf).get_params()["rule"] is wire_all


@pytest.mark.parametrize("name", sorted(RULES))
def test_named_rules_fit(iris, name):
    """Check each named rule trains and records its rounds on the dense start."""
    X, y = iris
    clf = _fit(
        X,
        y,
        rule=name,
        initial_graph="dense",
        epsilon=0.5,
        evolve_rounds=3,
        max_epochs=40,
    )
    assert 1 <= len(clf.evolution_history_) <= 3
    assert clf.n_edges_ == clf.evolution_history_[-1]["n_edges"]
    assert clf.score(X, y) > 0.8


def _toggle(G, stats, eps):  # always changes the graph: flips the edge 0 -> 1
    new = G.copy()
    new[1, 0] = not G[1, 0]
    return new


def _same(G, stats, eps):
    return G


def test_rounds_within_the_first_epoch(iris):
    """Check rounds after every N-th batch of epoch 1, then every epoch."""
    X, y = iris
    clf = _fit(
        X,
        y,
        rule=_toggle,
        batch_size=30,
        evolve_every_batches=2,
        evolve_rounds=5,
        max_epochs=4,
    )  # 5 batches an epoch: rounds after batches 2 and 4, then epochs 1, 2, 3
    rec = clf.evolution_history_
    assert [(r["epoch"], r["batch"]) for r in rec] == [
        (1, 2),
        (1, 4),
        (1, None),
        (2, None),
        (3, None),
    ]
    assert [r["step"] for r in rec] == [2, 4, 5, 10, 15]
    assert [r["round"] for r in rec] == [1, 2, 3, 4, 5]
    assert [r["train_loss"] is None for r in rec] == [True, True, False, False, False]


def test_patience_keeps_evolving_through_unchanged_rounds(iris):
    """Check that evolution settles after ``evolve_patience`` idle rounds."""
    X, y = iris
    once = _fit(X, y, rule=_same, evolve_rounds=5, evolve_patience=1)
    assert len(once.evolution_history_) == 1
    clf = _fit(X, y, rule=_same, evolve_rounds=5, evolve_patience=3)
    assert len(clf.evolution_history_) == 3
    assert not any(r["changed"] for r in clf.evolution_history_)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"rule": "hebbian"}, "rule"),
        ({"evolve_every_batches": 0}, "evolve_every_batches"),
        ({"evolve_patience": 0}, "evolve_patience"),
    ],
)
def test_bad_schedule_parameters(iris, params, match):
    X, y = iris
    with pytest.raises(InvalidParameterError, match=match):
        FreeNetClassifier(k=4, **params).fit(X, y)


def test_revive_neurons_keeps_the_function_and_wakes_them():
    """Check revival: same outputs, the neurons fire, outgoing weights are 0."""
    torch.manual_seed(0)
    module = FreeNetModule(5, 6, 3, initial_graph="dense", dtype="float64")
    X = torch.rand(50, 5, dtype=torch.float64)
    with torch.no_grad():
        module.encoder.bias[[1, 4]] = -1e3
        before = module(X)
        _, Z = module.hidden(X)
    assert not (Z[:, [1, 4]] > 0).any()
    module.revive_neurons(np.array([1, 4]), X)
    with torch.no_grad():
        after = module(X)
        _, Z = module.hidden(X)
    assert_allclose(after.numpy(), before.numpy(), rtol=0, atol=1e-12)
    assert_allclose((Z[:, [1, 4]] > 0).double().mean(dim=0).numpy(), 0.5, atol=0.03)
    assert not module.decoder.weight[:, [1, 4]].any()
    assert not module.weight[:, [1, 4]].any()
    assert module.weight[4, [0, 2, 3]].abs().min() > 0  # edges in from live neurons
    assert module.n_edges() == 15  # the graph is unchanged
    with pytest.raises(ValueError, match="shape"):
        module.revive_neurons(np.zeros(5, dtype=bool))


@pytest.mark.parametrize("revive", [False, True])
def test_revive_dead_option(iris, revive):
    """Check ``revive_dead``: dead neurons revived, recorded, and firing after."""
    X, y = iris
    clf = _fit_one_round_dead_start(X, y, revive_dead=revive, max_epochs=3)
    (record,) = clf.evolution_history_
    assert record["n_dead"] >= 3
    assert record["n_revived"] == (record["n_dead"] if revive else 0)
    module = clf.net_.module_
    with torch.no_grad():
        _, Z = module.hidden(torch.as_tensor(X, dtype=torch.float32))
    fired = (Z[:, :3] > 0).any(dim=0).numpy()
    assert fired.all() if revive else not fired.any()
    # The revived neurons' decoder columns were zeroed (Glorot draws them up to
    # 0.7): only the two steps after the round (lr 1e-3) moved them.
    if revive:
        assert module.decoder.weight[:, :3].abs().max() < 0.05


def _top(scores, candidates, n):
    """The ``n`` flat indices of ``candidates`` with the largest ``scores``."""
    flat = np.flatnonzero(candidates)
    return set(flat[np.argsort(-scores.ravel()[flat], kind="stable")[:n]])


def test_rigl_rule_fills_to_the_density_by_gradient():
    rng = np.random.default_rng(0)
    k = 8
    *_, stats = _random_stats(rng, k=k, weight=rng.normal(size=(k, k)))
    grad = rng.random((k, k))
    stats = replace(stats, edge_gradient=grad)
    G = np.zeros((k, k), dtype=bool)
    G[3, 1] = True
    new = rigl_rule(G, stats, 0.25)  # 0.25 * 28 = 7 edges
    assert new.sum() == 7 and new[3, 1]
    assert set(np.flatnonzero(new & ~G)) == _top(grad, strictly_lower(k) & ~G, 6)
    assert not (new & ~strictly_lower(k)).any()


@pytest.mark.parametrize(("progress", "swaps"), [(0.0, 3), (0.5, 1), (1.0, 0)])
def test_rigl_rule_swaps_a_decaying_fraction(progress, swaps):
    """At the density: prune the smallest |W|, grow the largest |grad| elsewhere."""
    rng = np.random.default_rng(1)
    k = 8
    W = rng.normal(size=(k, k))
    grad = rng.random((k, k))
    G = np.zeros((k, k), dtype=bool)
    G.ravel()[rng.choice(np.flatnonzero(strictly_lower(k)), 11, replace=False)] = True
    *_, stats = _random_stats(rng, k=k, weight=W)
    stats = replace(stats, edge_gradient=grad, progress=progress)
    new = rigl_rule(G, stats, 0.25)  # 7 edges wanted, 11 present: swap only
    assert swaps == int(np.floor(0.3 * (1 + np.cos(np.pi * progress)) / 2 * 11))
    assert new.sum() == 11
    pruned, grown = G & ~new, new & ~G
    assert pruned.sum() == grown.sum() == swaps
    smallest = np.sort(np.abs(W[G]))[:swaps]
    assert_array_equal(np.sort(np.abs(W[pruned])), smallest)
    assert set(np.flatnonzero(grown)) == _top(grad, strictly_lower(k) & ~G, swaps)


def test_rigl_rule_needs_the_gradient():
    *_, stats = _random_stats(np.random.default_rng(0))
    with pytest.raises(ValueError, match="edge_gradient"):
        rigl_rule(np.zeros((7, 7), dtype=bool), stats, 0.25)


def _reference_edge_gradient(module, X, y):
    """dL/d(W * G) of the mean cross-entropy, by a plain torch loop over neurons."""
    W = module.masked_weight().detach().double().clone().requires_grad_(True)
    A = module.encoder(X).double()
    H = []
    for i in range(module.k):
        z = A[:, i] + sum((W[i, j] * H[j] for j in range(i)), torch.zeros(len(X)))
        H.append(torch.relu(z))
    out = torch.nn.functional.linear(
        torch.stack(H, 1), module.decoder.weight.double(), module.decoder.bias.double()
    )
    loss = torch.nn.functional.cross_entropy(out, y)
    (grad,) = torch.autograd.grad(loss, W)
    return grad.abs().numpy()


def test_edge_gradient_covers_absent_edges(iris):
    """Check the round's gradient against a reference, absent edges included."""
    X, y = iris
    clf = _fit(X, y, evolve_rounds=0, initial_graph="dense", max_epochs=3)
    module = clf.net_.module_
    G = np.tril(np.ones((8, 8), dtype=bool), -1)
    G[::2] = False  # absent edges into the even neurons
    module.set_adjacency(G)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    data = TrainingData(Xt, torch.as_tensor(y), torch.ones(len(y)))
    callback = FreeEvolve(0.25, 1)
    got = callback.edge_gradient(clf.net_, data, 0)  # 150 rows: one batch
    want = _reference_edge_gradient(module, Xt, torch.as_tensor(y))
    assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    absent = strictly_lower(8) & ~G
    assert (got[absent] > 0).mean() > 0.5  # absent edges do get a gradient
    assert not got[~strictly_lower(8)].any()


def test_named_rigl_rule_wires_the_density(iris):
    X, y = iris
    clf = _fit(X, y, rule="rigl", epsilon=0.25, evolve_rounds=3, max_epochs=5)
    assert clf.n_edges_ == 7
    assert clf.evolution_history_[0]["n_added"] == 7


def test_hold_out_and_rejoin_keep_the_rows_and_their_order():
    X = torch.arange(10.0)[:, None]
    data = TrainingData(X, torch.arange(10), torch.tensor([1.0] * 9 + [2.0]))
    assert not data.uniform
    rows = torch.zeros(10, dtype=torch.bool)
    rows[[2, 9]] = True
    held = data.hold_out(rows)
    assert held.X[:, 0].tolist() == [2.0, 9.0] and held.w.tolist() == [1.0, 2.0]
    assert data.X[:, 0].tolist() == [0, 1, 3, 4, 5, 6, 7, 8] and data.uniform
    data.rejoin()
    assert_array_equal(data.X.numpy(), X.numpy())
    assert not data.uniform
    data.rejoin()  # nothing held: no change
    assert len(data) == 10


def _cut_all(G, stats, eps):
    return np.zeros_like(G)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_gate_rejects_a_harmful_round(iris, early_stopping):
    """Cutting every edge of a trained dense net raises held-out loss: rejected."""
    X, y = iris
    params = dict(
        initial_graph="dense",
        evolve_rounds=1,
        evolve_every=5,
        evolve_every_batches=None,
        max_epochs=8,
        lr=0.05,
        early_stopping=early_stopping,
        validation_fraction=0.2,
    )
    plain = _fit(X, y, rule=_cut_all, **params)
    assert plain.evolution_history_[0]["n_edges"] == 0  # (early stopping may
    # keep the weights of an epoch before the round)
    clf = _fit(X, y, rule=GatedRule(_cut_all), **params)
    (record,) = clf.evolution_history_
    gate = record["gate"]
    assert gate["n_held_out"] == 30
    assert gate["loss_changed"] > gate["loss_unchanged"]
    assert not gate["accepted"] and not record["changed"]
    assert clf.n_edges_ == 28 and record["n_edges"] == 28
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("margin", [0.0, 2.0])
def test_gate_decides_by_the_paired_held_out_loss(iris, margin):
    """Wiring every edge of a net trained empty: kept by the margin's rule."""
    X, y = iris
    rule = GatedRule(lambda G, stats, eps: np.ones_like(G), 2, margin)
    decisions = []
    for seed in range(4):
        clf = _fit(
            X,
            y,
            rule=rule,
            evolve_rounds=1,
            evolve_every=3,
            evolve_every_batches=None,
            max_epochs=5,
            random_state=seed,
        )
        (record,) = clf.evolution_history_
        gate = record["gate"]
        assert gate["recovery_epochs"] == 2
        gain = gate["loss_unchanged"] - gate["loss_changed"]
        assert gate["accepted"] == (gain >= margin * gate["standard_error"])
        assert record["changed"] == gate["accepted"]
        assert clf.n_edges_ == (28 if gate["accepted"] else 0)
        decisions.append(gate["accepted"])
    if margin == 0.0:  # on iris, 2 extra epochs with 28 more weights help
        assert any(decisions)


def test_gated_fit_is_reproducible_and_clones(iris):
    X, y = iris
    rule = GatedRule("phi", recovery_epochs=1)
    params = dict(rule=rule, epsilon=0.75, evolve_rounds=4, max_epochs=10)
    a, b = _fit(X, y, **params), _fit(X, y, **params)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert clone(a).get_params()["rule"] == rule


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        (L1Rule(0.0), "strength"),
        (L1Rule(float("inf")), "strength"),
        (GatedRule("hebbian"), "unknown rule 'hebbian'"),
        (GatedRule("phi", recovery_epochs=0), "recovery_epochs"),
        (GatedRule(3), "callable"),
        (GatedRule("phi", margin=-1.0), "margin"),
        (GatedRule("phi", margin=float("nan")), "margin"),
    ],
)
def test_bad_gated_rule_is_refused_before_any_change(iris, rule, match):
    X, y = iris
    clf = _fit(X, y, evolve_rounds=0, max_epochs=2)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match=match):
        clf.set_params(rule=rule).fit(X, y)
    assert_array_equal(clf.predict_proba(X), before)


def test_gate_needs_rows_to_hold_out():
    clf = FreeNetClassifier(
        k=3, evolve_rounds=60, rule=GatedRule(), validation_fraction=0.6
    )
    with pytest.raises(ValueError, match="leaves 2 held-out and 0 training rows"):
        clf.fit(np.eye(2), [0, 1])
    assert not hasattr(clf, "net_")


def test_l1_step_is_the_proximal_step_on_edges_only():
    module = FreeNetModule(3, 5, 2, initial_graph="empty", dtype="float64")
    G = np.zeros((5, 5), dtype=bool)
    G[[1, 2, 4], [0, 1, 3]] = True
    module.set_adjacency(G)
    W = torch.tensor(np.arange(25.0).reshape(5, 5) / 10 - 1.2, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(W)
    L1Rule(strength=2.0).after_step(module, lr=0.25)  # threshold 0.5
    want = W.clone()
    for i, j in zip(*np.nonzero(G), strict=True):
        w = float(W[i, j])
        want[i, j] = np.sign(w) * max(abs(w) - 0.5, 0.0)
    assert_array_equal(module.weight.detach().numpy(), want.numpy())
    assert module.weight[2, 1] == 0 and W[2, 1] != 0  # crossed 0: set to 0


def test_l1_rule_prunes_edges_at_zero_and_never_adds():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(7, 7))
    W[3, 1] = W[5, 2] = 0.0
    *_, stats = _random_stats(rng, weight=W)
    G = strictly_lower(7).copy()
    G[6, 0] = False
    new = L1Rule()(G, stats, 0.25)
    assert_array_equal(new, G & (W != 0))
    assert not new[6, 0]


def test_l1_rule_thins_a_dense_graph_in_a_fit(iris):
    X, y = iris
    weak = _fit(X, y, rule=L1Rule(0.05), initial_graph="dense", max_epochs=30)
    strong = _fit(X, y, rule=L1Rule(2.0), initial_graph="dense", max_epochs=30)
    assert strong.n_edges_ < weak.n_edges_ <= 28
    kept = strong.adjacency_
    assert (strong.net_.module_.weight.detach().numpy()[kept] != 0).all()
    assert clone(strong).get_params()["rule"] == L1Rule(2.0)
