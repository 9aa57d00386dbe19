# SPDX-License-Identifier: BSD-3-Clause
"""The FreeNet as a PyTorch module, for use outside the estimators.

:class:`FreeNetModule` is the ``torch.nn.Module`` the estimators train (a fitted
estimator's ``net_.module_``): ``k`` neurons wired by a strictly lower-triangular
graph, an encoder from the inputs to every neuron and a decoder from every
neuron to the outputs. Use it in a training loop of your own;
:func:`initial_adjacency` builds its starting graphs, :func:`n_parameters`
counts its effective weights, ``ACTIVATIONS`` names the nonlinearities it
takes, and :func:`sparse_max_density` says from which density down its CPU
kernels compute over the kept edges only.

Examples
--------
>>> import numpy as np
>>> import torch
>>> from sklearn_freenets import FreeNetClassifier
>>> from sklearn_freenets.nn import FreeNetModule, n_parameters
>>> module = FreeNetModule(n_features=4, k=6, n_outputs=3, random_state=0)
>>> module(torch.zeros(2, 4)).shape
torch.Size([2, 3])
>>> module.n_edges()  # the dense graph: every edge j -> i with j < i
15
>>> n_parameters(4, 6, 3, module.n_edges(), skip=False)
66
>>> X = np.random.RandomState(0).uniform(size=(100, 4))
>>> y = (X[:, 0] > 0.5).astype(int)
>>> clf = FreeNetClassifier(k=6, max_epochs=5, random_state=0).fit(X, y)
>>> isinstance(clf.net_.module_, FreeNetModule)
True
"""

from __future__ import annotations

import torch

from sklearn_freenets._kernel import (
    _SPARSE_MAX_DENSITY,
    ACTIVATIONS,
    network_max_density,
)
from sklearn_freenets._module import FreeNetModule, initial_adjacency, n_parameters

__all__ = [
    "ACTIVATIONS",
    "FreeNetModule",
    "initial_adjacency",
    "n_parameters",
    "sparse_max_density",
]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def sparse_max_density(
    dtype: torch.dtype | str = torch.float32,
    *,
    k: int | None = None,
    training: bool = False,
) -> float:
    """Return the highest graph density at which the sparse CPU kernels run.

    On the CPU, a :class:`FreeNetModule` whose graph keeps at most this fraction
    of the ``k (k - 1) / 2`` possible edges computes the recurrence over its kept
    edges only; a denser graph runs the dense kernels, whose cost does not
    depend on the graph. The thresholds were measured with
    ``benchmarks/bench_inference.py`` and sit a margin below where the sparse
    kernels break even.

    Parameters
    ----------
    dtype : torch.dtype or {"float32", "float64"}, default=torch.float32
        The module's parameter dtype.
    k : int or None, default=None
        The module's number of neurons. The forward pass that keeps activations
        neuron-major (encoder, kept edges and decoder together) pays off up to
        a density that depends on ``k`` and on whether gradients are recorded;
        None: the threshold of the row-major sparse kernels alone, which
        :meth:`FreeNetModule.hidden` and prediction with small ``k`` use.
    training : bool, default=False
        With ``k``: the threshold for a training step (gradients recorded)
        rather than for prediction.

    Returns
    -------
    density : float
        The threshold (0.0 for a dtype the sparse kernels do not take).
    """
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            return 0.0
        dtype = _DTYPES[dtype]
    row_major = _SPARSE_MAX_DENSITY.get(dtype, 0.0)
    if k is None or row_major == 0.0:
        return row_major
    return max(network_max_density(k, training), row_major)
