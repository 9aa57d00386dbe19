# SPDX-License-Identifier: BSD-3-Clause
"""Tests of benchmarks/bench_levers.py: lever names, models and the report."""

import json

import bench_levers
import pytest
from sklearn.neural_network import MLPRegressor

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor


def test_lever_names_are_parameters():
    """Check that a lever's name reads as the estimator parameters it sets."""
    assert bench_levers.lever_params("mlp") is None
    assert bench_levers.lever_params("default") == {}
    assert bench_levers.lever_params("early_stopping=auto") == {
        "early_stopping": "auto"
    }
    assert bench_levers.lever_params("alpha=1e-2 early_stopping valid=0.2") == {
        "alpha": 0.01,
        "early_stopping": True,
        "validation_fraction": 0.2,
    }
    assert bench_levers.lever_params("early_stopping=False k=32") == {
        "early_stopping": False,
        "k": 32,
    }


@pytest.mark.parametrize("lever", bench_levers.LEVERS)
def test_every_lever_builds_a_valid_estimator(lever):
    """Check that each lever names real parameters with valid values."""
    for task, Estimator in [
        ("classification", FreeNetClassifier),
        ("regression", FreeNetRegressor),
    ]:
        est = bench_levers.make_model(lever, task, seed=3)
        if lever == "mlp":
            assert task == "classification" or isinstance(est, MLPRegressor)
            continue
        assert isinstance(est, Estimator) and est.random_state == 3
        est._validate_params()  # InvalidParameterError for a bad name or value
        for key, value in bench_levers.lever_params(lever).items():
            assert est.get_params()[key] == value


def _cell(dataset, lever, task, score, seconds=1.0):
    return {
        "dataset": dataset,
        "lever": lever,
        "task": task,
        "n_samples": 100,
        "mean_score": score,
        "median_fit_seconds": seconds,
    }


def _repeat_cell(dataset, task, lever, repeat, scores):
    """A cell of one CV repeat with its folds' scores (fit time 2 s for the
    "auto" levers, 1 s for the others)."""
    return {
        **_cell(dataset, lever, task, sum(scores) / len(scores)),
        "repeat": repeat,
        "folds": [
            {"score": s, "fit_seconds": 2.0 if "auto" in lever else 1.0} for s in scores
        ],
    }


def test_report_differences_and_failures(tmp_path):
    """Check the report: lever - MLP, R^2 clipped at -1 in the means, failures."""
    cells = [
        _cell("a", "mlp", "classification", 0.80),
        _cell("a", "default", "classification", 0.78, 2.0),
        _cell("r", "mlp", "regression", -300.0),
        _cell("r", "default", "regression", 0.5, 4.0),
    ]
    (tmp_path / "cells.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cells))
    text = bench_levers.aggregate(tmp_path)
    assert "| a | cla | 100 | 0.8000 | -0.0200 |" in text
    # the regression mean clips the MLP's -300 at -1: 0.5 - (-1)
    assert "| default | 2 | -0.0200 | +1.5000 | 3.00 | 1: a (-0.020) |" in text
    assert (tmp_path / "levers.md").read_text() == text


def test_evolution_section_pairs_folds_over_repeats(tmp_path):
    """Check the no-harm table: folds paired across repeats, in points, verdict."""
    cells = [
        _repeat_cell("s", "classification", "evolve_rounds=60", 0, [0.80, 0.90]),
        _repeat_cell("s", "classification", "evolve_rounds=0", 0, [0.81, 0.90]),
        _repeat_cell("s", "classification", "evolve_rounds=60", 1, [0.70, 0.75]),
        _repeat_cell("s", "classification", "evolve_rounds=0", 1, [0.71, 0.76]),
    ]
    (tmp_path / "cells.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cells))
    lines = bench_levers.evolution_section(bench_levers.all_cells(tmp_path))
    # differences -1, 0, -1, -1 points: mean -0.75, se 0.25, below -0.2
    assert "| s | cla | 4 | -0.7500 | 0.2500 | **no** | 1.00 |" in lines
    assert bench_levers.load_cells(tmp_path)[("s", "evolve_rounds=0")]["repeat"] == 0


def test_finish_section_pairs_the_default_with_stopping_alone(tmp_path):
    """Check the finish table: default - early_stopping in R^2, sets with repeats."""
    cells = [
        _repeat_cell("r", "regression", "default", 0, [0.90, 0.80]),
        _repeat_cell("r", "regression", "early_stopping", 0, [0.89, 0.80]),
        _repeat_cell("r", "regression", "default", 1, [0.70, 0.60]),
        _repeat_cell("r", "regression", "early_stopping", 1, [0.69, 0.61]),
        # no repeat after the first: left out
        _repeat_cell("once", "regression", "default", 0, [0.5, 0.5]),
        _repeat_cell("once", "regression", "early_stopping", 0, [0.4, 0.4]),
    ]
    (tmp_path / "cells.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cells))
    lines = bench_levers.finish_section(bench_levers.all_cells(tmp_path))
    # differences +0.01, 0, +0.01, -0.01: mean +0.0025, se 0.0048
    assert "| r | reg | 4 | +0.0025 | 0.0048 | yes | 1.00 |" in lines
    assert not any(line.startswith("| once ") for line in lines)
    assert any("| default - early_stopping |" in line for line in lines)


def test_classifier_auto_section_pairs_classification_sets_only(tmp_path):
    """Check the classifier's "auto" table: classification sets, in points."""
    cells = [
        _repeat_cell("c", "classification", "early_stopping=auto", 0, [0.80, 0.90]),
        _repeat_cell("c", "classification", "default", 0, [0.78, 0.90]),
        _repeat_cell("c", "classification", "early_stopping=auto", 1, [0.70, 0.70]),
        _repeat_cell("c", "classification", "default", 1, [0.70, 0.71]),
        _repeat_cell("r", "regression", "early_stopping=auto", 1, [0.5, 0.5]),
        _repeat_cell("r", "regression", "default", 1, [0.5, 0.5]),
    ]
    (tmp_path / "cells.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cells))
    lines = bench_levers.classifier_auto_section(bench_levers.all_cells(tmp_path))
    # differences +2, 0, 0, -1 points: mean +0.25, se 0.6292
    assert "| c | cla | 4 | +0.2500 | 0.6292 | yes | 2.00 |" in lines
    assert not any(line.startswith("| r ") for line in lines)
