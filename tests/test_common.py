# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's estimator checks on default-built estimators, none may fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor


# The defaults except a small network (the checks fit a few hundred models).
@parametrize_with_checks([FreeNetClassifier(k=8), FreeNetRegressor(k=8)])
def test_sklearn_compatible_estimator(estimator, check):
    """Check that the estimator passes scikit-learn's common checks."""
    check(estimator)
