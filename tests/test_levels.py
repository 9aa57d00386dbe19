# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the level-by-level recurrence used for graphs of few levels."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_freenets._evolve import strictly_lower
from sklearn_freenets._kernel import GraphLevels, recurrence, recurrence_by_levels
from sklearn_freenets._module import _MAX_LEVELS, FreeNetModule


def _sparse_graph(k, n_edges, seed):
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(strictly_lower(k))
    pick = rng.choice(len(rows), size=n_edges, replace=False)
    G = np.zeros((k, k), bool)
    G[rows[pick], cols[pick]] = True
    return G


def test_levels_group_by_depth():
    """Check the levels of a small hand-made DAG."""
    G = np.zeros((5, 5), bool)
    G[2, 0] = G[3, 2] = G[4, 1] = True  # 0 -> 2 -> 3, 1 -> 4
    levels = GraphLevels(G)
    assert [lvl.tolist() for lvl in levels.levels] == [[0, 1], [2, 4], [3]]
    assert_array_equal(levels.order[levels.inverse].numpy(), np.arange(5))
    assert GraphLevels(np.zeros((4, 4), bool)).n_levels == 1
    assert GraphLevels(strictly_lower(6)).n_levels == 6


@pytest.mark.parametrize("activation", ["relu", "squared_relu", "tanh"])
@pytest.mark.parametrize("n_edges", [0, 5, 40])
def test_levels_match_the_recurrence_and_its_gradient(activation, n_edges):
    """Check values and gradients against the neuron-by-neuron kernel."""
    k = 12
    G = _sparse_graph(k, n_edges, seed=n_edges)
    mask = torch.as_tensor(G, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(33, k, dtype=torch.float64, generator=gen, requires_grad=True)
    W = torch.randn(k, k, dtype=torch.float64, generator=gen, requires_grad=True)
    levels = GraphLevels(G)
    H, Z = recurrence_by_levels(A, W, activation, levels, mask=mask, return_preact=True)
    H_ref, Z_ref = recurrence(A, W, activation, mask=mask, return_preact=True)
    assert_allclose(H.detach(), H_ref.detach(), rtol=1e-12, atol=1e-12)
    assert_allclose(Z, Z_ref, rtol=1e-12, atol=1e-12)
    up = torch.randn(H.shape, dtype=torch.float64, generator=gen)
    gA, gW = torch.autograd.grad((H * up).sum(), (A, W), allow_unused=True)
    if gW is None:  # one level: W is not read at all
        assert n_edges == 0
        gW = torch.zeros_like(W)
    gA_ref, gW_ref = torch.autograd.grad((H_ref * up).sum(), (A, W))
    assert_allclose(gA, gA_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(gW, gW_ref, rtol=1e-10, atol=1e-12)
    assert not (gW.numpy()[~G] != 0).any()  # no gradient off the graph


def test_module_switches_path_with_depth():
    """Check that the module output is the same on both paths of one graph."""
    torch.manual_seed(0)
    k = 10
    G = _sparse_graph(k, 12, seed=1)
    G[:, 5:] = G[:5] = False  # edges from neurons 0-4 into 5-9 only: two levels
    assert G.any()
    module = FreeNetModule(4, k, 3, initial_graph=G)
    assert module._graph_state().levels().n_levels == 2 <= _MAX_LEVELS
    X = torch.randn(20, 4)
    fast = module(X)
    dense = FreeNetModule(4, k, 3, initial_graph="dense")
    dense.load_state_dict(module.state_dict())  # same weights and graph
    assert_allclose(fast.detach(), dense(X).detach(), rtol=1e-6, atol=1e-6)
    deep = FreeNetModule(4, k, 3, initial_graph="dense")
    assert deep._graph_state().levels().n_levels == k > _MAX_LEVELS
