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
