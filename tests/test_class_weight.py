# SPDX-License-Identifier: BSD-3-Clause
"""Tests of FreeNetClassifier's class_weight."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.metrics import recall_score
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from sklearn.utils.estimator_checks import check_class_weight_classifiers

from sklearn_freenets import FreeNetClassifier

# a round after every epoch, so that the activity statistics are compared too
FAST = dict(
    k=8,
    max_epochs=6,
    n_iter_no_change=np.inf,
    evolve_rounds=60,  # the classifier's default is 0
    evolve_every_batches=None,
    epsilon=0.6,
    random_state=0,
)


@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(
        n_samples=300, n_features=6, weights=[0.8, 0.2], flip_y=0.05, random_state=0
    )
    return X, np.where(y == 1, "rare", "common")


def _same_fit(a, b):
    assert a.loss_curve_ == b.loss_curve_
    assert [r["n_edges"] for r in a.evolution_history_] == [
        r["n_edges"] for r in b.evolution_history_
    ]
    assert_array_equal(a.adjacency_, b.adjacency_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_class_weight_is_a_sample_weight(imbalanced):
    """Check that class weights fit exactly as the same weights per row would.

    Loss, FreeEvolve's rounds and the validation scores all agree, alone and
    multiplied with sample_weight.
    """
    X, y = imbalanced
    weights = {"common": 1.0, "rare": 4.0}
    per_row = np.where(y == "rare", 4.0, 1.0)
    params = {**FAST, "early_stopping": True}
    by_class = FreeNetClassifier(**params, class_weight=weights).fit(X, y)
    by_row = FreeNetClassifier(**params).fit(X, y, sample_weight=per_row)
    _same_fit(by_class, by_row)
    assert by_class.validation_scores_ == by_row.validation_scores_
    assert by_class.evolution_history_  # rounds ran and were compared
    sw = np.linspace(0.5, 2.0, len(y))
    both = FreeNetClassifier(**params, class_weight=weights).fit(X, y, sample_weight=sw)
    product = FreeNetClassifier(**params).fit(X, y, sample_weight=sw * per_row)
    _same_fit(both, product)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_balanced_is_scikit_learns(imbalanced):
    """Check 'balanced' against compute_class_weight, and that it raises the
    recall of the rare class."""
    X, y = imbalanced
    balanced = compute_class_weight("balanced", classes=np.unique(y), y=y)
    as_dict = dict(zip(np.unique(y), balanced, strict=True))
    a = FreeNetClassifier(**FAST, class_weight="balanced").fit(X, y)
    b = FreeNetClassifier(**FAST, class_weight=as_dict).fit(X, y)
    _same_fit(a, b)
    plain = FreeNetClassifier(k=8, random_state=0).fit(X, y)
    weighted = FreeNetClassifier(k=8, random_state=0, class_weight="balanced")
    weighted.fit(X, y)
    rare = dict(pos_label="rare")
    assert recall_score(y, weighted.predict(X), **rare) > recall_score(
        y, plain.predict(X), **rare
    )


def test_scikit_learn_class_weight_check():
    """Check scikit-learn's check_class_weight_classifiers directly.

    The common checks (test_common.py) run it too. Its sibling
    check_class_weight_balanced_classifiers is not among the common checks: it
    asserts that 'balanced' raises the support-weighted F1 on data the caller
    picks, which holds for models that ignore the minority class; this one fits
    it already, and 'balanced' trades majority precision for minority recall (the
    recall is what test_balanced_is_scikit_learns asserts).
    """
    check_class_weight_classifiers("FreeNetClassifier", FreeNetClassifier(k=8))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multilabel_balanced_per_label():
    """Check 'balanced' on multilabel targets: per label, multiplied over labels."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    Y = np.column_stack([X[:, 0] > 0.8, X[:, 1] > -0.5]).astype(int)
    a = FreeNetClassifier(**FAST, class_weight="balanced").fit(X, Y)
    b = FreeNetClassifier(**FAST).fit(
        X, Y, sample_weight=compute_sample_weight("balanced", Y)
    )
    _same_fit(a, b)
    with pytest.raises(ValueError, match="multilabel targets use class_weight"):
        FreeNetClassifier(**FAST, class_weight={0: 2.0}).fit(X, Y)


def test_bad_class_weight_is_refused_and_keeps_the_model(imbalanced):
    """Check the errors, and that a failed refit leaves the fitted model as it was."""
    X, y = imbalanced
    clf = FreeNetClassifier(**FAST).fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="not in class_weight|classes"):
        clf.set_params(class_weight={"unknown": 2.0}).fit(X, y)
    assert_array_equal(clf.predict_proba(X), before)
    with pytest.raises(InvalidParameterError, match="class_weight"):
        clf.set_params(class_weight="often").fit(X, y)
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        FreeNetClassifier(**FAST, class_weight="balanced").partial_fit(
            X, y, classes=np.unique(y)
        )
    # a dict works with partial_fit
    inc = FreeNetClassifier(**FAST, class_weight={"rare": 4.0})
    inc.partial_fit(X, y, classes=np.unique(y))
    assert inc.n_iter_ == 1
