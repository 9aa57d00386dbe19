# SPDX-License-Identifier: BSD-3-Clause
"""The rule every FreeNet graph obeys: an edge ``j -> i`` needs ``j < i``.

The adjacency ``G[i, j]`` (and the weights ``W[i, j]``) of ``k`` neurons may only be
set in the strictly lower triangle, so the graph is a DAG in neuron order. This
module is the one place that says so; it depends on numpy only (torch tensors are
handled without importing torch), so every other module can import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["strictly_lower", "strictly_lower_part"]

# ``tril`` offset of the strictly lower triangle: the diagonal (self-loops) and
# everything above it (edges from later neurons) are never edges.
_OFFSET = -1

_ScalarT = TypeVar("_ScalarT", bound=np.generic)


def strictly_lower(k: int) -> NDArray[np.bool_]:
    """Return the boolean mask of the strictly lower triangle of a k x k matrix."""
    return np.tril(np.ones((k, k), dtype=bool), _OFFSET)


@overload
def strictly_lower_part(a: torch.Tensor) -> torch.Tensor: ...


@overload
def strictly_lower_part(a: NDArray[_ScalarT]) -> NDArray[_ScalarT]: ...


def strictly_lower_part(a: Any) -> Any:
    """Return a copy of ``a`` zeroed outside its strictly lower triangle.

    An ndarray gives an ndarray, a torch tensor a tensor on the same device.
    """
    if isinstance(a, np.ndarray):
        return np.tril(a, _OFFSET)
    return a.tril(_OFFSET)
