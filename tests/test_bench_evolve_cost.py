# SPDX-License-Identifier: BSD-3-Clause
"""Tests of benchmarks/bench_evolve_cost.py: a real cell and the report."""

import json

import bench_evolve_cost as bec
import bench_tabular as bt
import numpy as np
import pytest


def _fold(seconds, n_iter, edges, score):
    return {"score": score, "fit_seconds": seconds, "n_iter": n_iter, "edges": edges}


def _cell(dataset, mode, label, folds):
    return {
        "dataset": dataset,
        "mode": mode,
        "label": label,
        "n_samples": 100,
        "folds": folds,
        "source": {"git_commit": "abcdef0123", "git_dirty": False},
    }


def test_ratios_are_medians_over_the_folds():
    """Check the fit, epoch and per-epoch ratios, the edges and the score diff."""
    folds = [
        {"default": _fold(2.0, 20, 10, 0.5), "unevolved": _fold(1.0, 10, 0, 0.4)},
        {"default": _fold(3.0, 10, 30, 0.6), "unevolved": _fold(2.0, 10, 0, 0.6)},
        {"default": _fold(1.2, 10, 20, 0.7), "unevolved": _fold(1.0, 10, 0, 0.8)},
    ]
    r = bec.ratios(_cell("d", "idle", "now", folds))
    assert r["fit"] == pytest.approx(1.5)  # median of 2.0, 1.5, 1.2
    assert r["epochs"] == pytest.approx(1.0)  # median of 2, 1, 1
    assert r["per_epoch"] == pytest.approx(1.2)  # median of 1.0, 1.5, 1.2
    assert r["edges"] == 20
    assert r["diff"] == pytest.approx(0.0)


def test_report_judges_each_set_against_its_target(tmp_path):
    """Check the verdicts: 1.2 where edges are wired, 1.1 where none are."""
    cells = [
        _cell(
            "wired",
            "idle",
            "now",
            [{"default": _fold(1.15, 10, 5, 0.5), "unevolved": _fold(1.0, 10, 0, 0.5)}],
        ),
        _cell(
            "bare",
            "idle",
            "now",
            [{"default": _fold(1.15, 10, 0, 0.5), "unevolved": _fold(1.0, 10, 0, 0.5)}],
        ),
        _cell(
            "slow",
            "busy",
            "now",
            [{"default": _fold(1.3, 10, 5, 0.5), "unevolved": _fold(1.0, 10, 0, 0.5)}],
        ),
    ]
    (tmp_path / bec.CELLS).write_text("".join(json.dumps(c) + "\n" for c in cells))
    report = bec.aggregate(tmp_path)
    rows = {
        line.split(" | ")[0][2:]: line
        for line in report.splitlines()
        if line.startswith("| ") and not line.startswith("| data")
    }
    assert rows["wired"].endswith("| yes |")
    assert rows["bare"].endswith("| **no** |")
    # judged on its busy reading when only busy ran
    assert rows["slow"].endswith("| **no** |") and "| 1.30 |" in rows["slow"]
    assert "## now (sklearn_freenets at abcdef0)" in report
    assert (tmp_path / "evolve_cost.md").read_text() == report


def test_a_cell_fits_both_configurations_on_every_fold():
    """Check one real cell on a small set: five folds, both fits, their fields."""
    bec.regression_sets()  # registers the suites' data sets
    data = bt.load_dataset("tune:friedman3")
    rows = np.random.default_rng(0).choice(len(data["y"]), 150, replace=False)
    data = {**data, "X": bt._take(data["X"], rows), "y": data["y"][rows]}
    cell = bec.run_cell(data, "idle", "test")
    assert len(cell["folds"]) == 5
    for fold in cell["folds"]:
        assert set(fold) == set(bec.CONFIGS)
        assert fold["unevolved"]["edges"] == 0
        for result in fold.values():
            assert result["fit_seconds"] > 0 and result["n_iter"] >= 1
            assert np.isfinite(result["score"])
    assert bec.cell_key(cell) == ("tune:friedman3", "idle", "test")
