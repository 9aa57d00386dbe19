# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's estimator checks, with nothing expected to fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor

# Small, fast instances: the checks fit a few hundred models on tiny data sets.
_COMMON = dict(k=8, max_epochs=40, lr=2e-2, evolve_rounds=2, random_state=0)


@parametrize_with_checks(
    [FreeNetClassifier(**_COMMON), FreeNetRegressor(**_COMMON, skip=True)]
)
def test_sklearn_compatible_estimator(estimator, check):
    """Check that the estimator passes scikit-learn's common checks."""
    check(estimator)
