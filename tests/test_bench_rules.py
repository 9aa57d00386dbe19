"""Tests of benchmarks/bench_rules.py: a real cell, and the paired report."""

import bench_rules
import pytest


def test_cell_is_a_real_fit_of_the_named_method():
    """Check that a cell fits the estimator with the method's parameters."""
    cell = bench_rules.run_cell("digits_std", "none", seed=0)
    assert cell["edges"] == 0 and cell["rounds"] == 0
    assert 0.9 < cell["score"] <= 1.0 and cell["epochs"] >= 1


def test_report_pairs_each_method_with_the_unevolved_net_by_seed():
    """Check the report's differences: method minus none on the same seed."""
    cells = {}
    for seed, (none, paper) in enumerate([(0.90, 0.91), (0.80, 0.78), (0.70, 0.73)]):
        for method, score in (("none", none), ("paper", paper)):
            cells[("digits16", method, seed)] = dict(
                data="digits16",
                method=method,
                seed=seed,
                score=score,
                edges=10 if method == "paper" else 0,
                epochs=5,
                rounds=1,
                fit_seconds=2.0 if method == "paper" else 1.0,
            )
    cells[("digits16", "paper", 3)] = {**cells[("digits16", "paper", 0)], "seed": 3}
    text = bench_rules.report(cells)
    row = next(line for line in text.splitlines() if "| digits16 | paper |" in line)
    fields = [f.strip() for f in row.strip("|").split("|")]
    assert fields[2] == "3"  # seed 3 has no unevolved pair
    mean, sd = (float(x) for x in fields[4].split(" ± "))
    assert mean == pytest.approx((1 - 2 + 3) / 3, abs=1e-3)
    assert sd == pytest.approx(2.5166, abs=1e-3)
    assert float(fields[5]) == pytest.approx(-2.0)
    assert fields[7] == "2.00"
