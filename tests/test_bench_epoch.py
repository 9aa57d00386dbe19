# SPDX-License-Identifier: BSD-3-Clause
"""Tests of benchmarks/bench_epoch.py: the graph it times and a tiny run."""

import bench_epoch
import numpy as np
import pytest


def test_graph_is_lower_triangular_at_the_density_asked():
    """Check the timed graph: strictly lower triangular, 60 % of the edges."""
    G = bench_epoch.graph(64, 0.6)
    assert not np.triu(G).any()
    assert abs(G.sum() / (64 * 63 / 2) - 0.6) < 0.05


@pytest.mark.slow
def test_tiny_run_reports_every_model_and_target(tmp_path):
    """Check a one-epoch run prints every model in both modes and each target."""
    out = tmp_path / "epoch.txt"
    assert bench_epoch.main(["--epochs", "1", "--repeats", "1", "--out", str(out)]) == 0
    text = out.read_text()
    for name in ("mlp", "torch", "fcnn", "graph60"):
        assert f"{name:10s} idle" in text and f"{name:10s} busy" in text
    assert text.count("PASS: ") + text.count("FAIL: ") == 3
