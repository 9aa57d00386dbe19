# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the rule that draws the small real tabular suite (benchmarks/)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from small_tabular import prepare


def test_classification_target_drops_rare_classes_and_labels():
    """Check a text target, a rare class dropped, a row-label column dropped."""
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame(
        {
            "name": [f"row {i}" for i in range(n)],  # a row label: dropped
            "x": rng.normal(size=n),
            "colour": rng.choice(["red", "blue"], size=n),
            "y": ["a"] * 60 + ["b"] * 55 + ["c"] * 5,  # c: fewer than 10 rows
        }
    )
    X, y, task = prepare(df)
    assert task == "classification"
    assert list(X.columns) == ["x", "colour"] and X["colour"].dtype == object
    assert sorted(y.unique()) == ["a", "b"] and len(y) == 115


def test_regression_and_unusable_targets():
    """Check a numeric target of many values, and the reasons for skipping."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    df["y"] = df.a + rng.normal(size=150)
    X, y, task = prepare(df)
    assert task == "regression" and X.shape == (150, 2)
    few_values = df.assign(y=np.tile([0.5, 1.5], 75))
    assert "10 or fewer" in prepare(few_values)
    small = df.iloc[:90]
    assert "rows after the drops" in prepare(small)
    only_labels = pd.DataFrame(
        {"id": [f"r{i}" for i in range(150)], "y": rng.normal(size=150)}
    )
    assert prepare(only_labels) == "no feature left"
