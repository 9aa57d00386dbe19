# SPDX-License-Identifier: BSD-3-Clause
"""Tests of benchmarks/bench_tabular.py: its cells in one cells.jsonl."""

import bench_tabular as bt
import numpy as np


def _cell(dataset, model, mode, score):
    return {"dataset": dataset, "model": model, "mode": mode, "mean_score": score}


def test_cells_go_to_one_jsonl_and_a_rerun_replaces_the_cell(tmp_path):
    """Check that cells are lines of cells.jsonl and a rerun cell wins."""
    bt.write_cell(tmp_path, _cell("iris", "freenet", "idle", 0.9))
    bt.write_cell(tmp_path, _cell("iris", "mlp", "idle", np.float64(0.8)))
    bt.write_cell(tmp_path, _cell("iris", "freenet", "idle", 0.95))  # --force
    assert [p.name for p in tmp_path.iterdir()] == [bt.CELLS]
    assert len((tmp_path / bt.CELLS).read_text().splitlines()) == 3
    stored = bt.stored_cells(tmp_path)
    assert list(stored) == [("iris", "freenet", "idle"), ("iris", "mlp", "idle")]
    assert stored[("iris", "freenet", "idle")]["mean_score"] == 0.95
    assert stored[("iris", "mlp", "idle")]["mean_score"] == 0.8
    assert bt.load_cells(tmp_path) == list(stored.values())
