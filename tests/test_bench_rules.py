"""Tests of benchmarks/bench_rules.py: a real cell, and the paired report."""

import bench_rules
import pytest


def test_cell_is_a_real_fit_of_the_named_method():
    """Check that a cell fits the estimator with the method's parameters."""
    cell = bench_rules.run_cell("digits_std", "none", seed=0)
    assert cell["edges"] == 0 and cell["rounds"] == 0
    assert 0.9 < cell["score"] <= 1.0 and 0.9 < cell["valid"] <= 1.0


def _cells(pairs, data="digits16", method="paper"):
    cells = {}
    for seed, ((none_v, none_t), (meth_v, meth_t)) in enumerate(pairs):
        for name, (valid, test) in (
            ("none", (none_v, none_t)),
            (method, (meth_v, meth_t)),
        ):
            cells[(data, name, seed)] = dict(
                data=data,
                method=name,
                seed=seed,
                valid=valid,
                score=test,
                edges=10 if name == method else 0,
                epochs=5,
                rounds=1,
                fit_seconds=2.0 if name == method else 1.0,
            )
            if name == method:  # timed beside a fit of none: 4 epochs in 1.6 s
                cells[(data, name, seed)].update(none_fit_seconds=1.6, none_epochs=4)
    return cells


def _row(text, data, method):
    line = next(x for x in text.splitlines() if f"| {data} | {method} |" in x)
    return [f.strip() for f in line.strip("|").split("|")]


def test_report_pairs_each_method_with_the_unevolved_net_by_seed():
    """Check the differences: method minus none on the same seed, valid and test."""
    cells = _cells(
        [
            ((0.90, 0.80), (0.91, 0.79)),
            ((0.80, 0.80), (0.78, 0.80)),
            ((0.70, 0.80), (0.73, 0.83)),
        ]
    )
    cells[("digits16", "paper", 3)] = {**cells[("digits16", "paper", 0)], "seed": 3}
    fields = _row(bench_rules.report(cells), "digits16", "paper")
    assert fields[2] == "3"  # seed 3 has no unevolved pair
    mean, sd = (float(x) for x in fields[4].split(" ± "))
    assert mean == pytest.approx((1 - 2 + 3) / 3, abs=1e-3)
    assert sd == pytest.approx(2.5166, abs=1e-3)
    assert float(fields[5].split(" ± ")[0]) == pytest.approx((-1 + 0 + 3) / 3, abs=1e-3)
    assert float(fields[6]) == pytest.approx(-2.0)
    assert fields[8] == "1.25"  # paired: 2.0 / 1.6
    assert fields[9] == "1.00"  # per epoch: (2.0 / 5) / (1.6 / 4)
    for cell in cells.values():
        cell.pop("none_fit_seconds", None)
    assert _row(bench_rules.report(cells), "digits16", "paper")[8:10] == ["-", "-"]


def test_no_harm_verdict_uses_validation_and_the_member_threshold():
    """Check the verdicts: -0.05 points on image members, -0.002 elsewhere."""
    image = _cells([((0.90, 0.9), (0.8996, 0.5))] * 2)  # -0.04 points: passes
    text = bench_rules.report(image)
    assert "| paper | 1 | yes | -0.040 | - | - |" in text  # test scores do not count
    image = _cells([((0.90, 0.9), (0.8990, 0.9))] * 2)  # -0.10 points: fails
    assert "| paper | 1 | no | -0.100 | - | digits16 (-0.100) |" in bench_rules.report(
        image
    )
    other = _cells([((0.90, 0.9), (0.8990, 0.9))] * 2, data="tune:moons")
    # -0.1 points is -0.001 of accuracy: passes the tabular threshold
    assert "| paper | 1 | yes | -0.100 | - | - |" in bench_rules.report(other)
