# SPDX-License-Identifier: BSD-3-Clause
"""Tests of sklearn_freenets.nn, the public torch side."""

import numpy as np
import pytest
import torch

from sklearn_freenets import nn


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_public_names_are_the_modules_own():
    """Check that nn exports the module class the estimators train."""
    from sklearn_freenets import FreeNetRegressor

    X = np.random.RandomState(0).uniform(size=(40, 3))
    reg = FreeNetRegressor(k=4, max_epochs=2, random_state=0).fit(X, X[:, 0])
    assert isinstance(reg.net_.module_, nn.FreeNetModule)
    assert set(nn.__all__) <= set(dir(nn))
    assert "relu" in nn.ACTIVATIONS


def test_sparse_max_density_takes_names_and_dtypes():
    """Check that a dtype and its name give the same threshold, others 0."""
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        assert nn.sparse_max_density(name) == nn.sparse_max_density(dtype)
        assert 0.0 < nn.sparse_max_density(dtype) < 1.0
    assert nn.sparse_max_density(torch.float16) == 0.0


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("k", [30, 100, 300])
def test_sparse_max_density_says_which_path_a_module_takes(kernel_calls, k, training):
    """Check the threshold against the path a forward pass takes.

    A graph just below the returned density goes through the sparse kernels
    (neuron-major or row-major), one just above it through the dense ones.
    """
    calls = kernel_calls("_sparse_network_forward", "_numba_sparse_forward")
    limit = nn.sparse_max_density("float32", k=k, training=training)
    assert nn.sparse_max_density("float32") <= limit < 1.0
    possible = k * (k - 1) // 2
    lower = np.flatnonzero(np.tril(np.ones((k, k), bool), -1))
    X = torch.randn(8, 5)
    for n_edges, sparse in (
        (int(limit * possible), True),
        (int(limit * possible) + 1, False),
    ):
        G = np.zeros(k * k, bool)
        G[np.random.default_rng(0).choice(lower, n_edges, replace=False)] = True
        module = nn.FreeNetModule(5, k, 2, initial_graph=G.reshape(k, k))
        calls.clear()
        with torch.set_grad_enabled(training):
            module(X)
        assert bool(calls) == sparse, (n_edges, possible)
