# SPDX-License-Identifier: BSD-3-Clause
"""FreeNets as scikit-learn estimators.

A FreeNet is a network of ``k`` neurons wired as a directed acyclic graph instead
of layers; its topology evolves during training by the FreeEvolve rule.
"""

from importlib.metadata import PackageNotFoundError, version

from sklearn_freenets._estimators import FreeNetClassifier, FreeNetRegressor

try:
    __version__ = version("sklearn-freenets")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["FreeNetClassifier", "FreeNetRegressor", "__version__"]
