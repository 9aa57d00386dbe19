# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the demo benchmark: its models are the demo's, and each variant
changes only what its name says."""

import bench_demo
import pytest

from sklearn_freenets.__main__ import _parser, demo_models


def test_variants_change_only_what_they_name():
    """Check the demo's two models are the CLI's, and the variants' differences."""
    args, fits = bench_demo.models(3)
    cli = demo_models(_parser()[0].parse_args(["--seed", "3"]))
    free, fcnn = fits["FreeNet (FreeEvolve)"], fits["FCNN baseline"]
    assert free.get_params() == cli["FreeNet (FreeEvolve)"].get_params()
    assert fcnn.get_params() == cli["FCNN baseline"].get_params()
    slow = {"optimizer__param_groups": [("weight", {"lr": pytest.approx(3e-4)})]}

    def changed(model, base):
        a, b = model.get_params(), base.get_params()
        return {key: a[key] for key in a if a[key] != b[key]}

    assert changed(fits["dense, no evolution"], fcnn) == {"initial_graph": "dense"}
    assert changed(fits["FreeNet, edges at lr/10"], free) == {"net_params": slow}
    assert changed(fits["dense, edges at lr/10"], fcnn) == {
        "initial_graph": "dense",
        "net_params": slow,
    }


def test_default_models_are_the_defaults_on_each_input():
    """Check each model keeps every default but random_state, on both inputs."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from sklearn_freenets import FreeNetClassifier

    fits = bench_demo.default_models(2)
    assert len(fits) == len(bench_demo.DEFAULTS) * len(bench_demo.INPUTS)
    for (name, inputs), model in fits.items():
        if inputs == "StandardScaler":
            assert isinstance(model[0], StandardScaler)
            model = model[-1]
        else:
            assert not hasattr(model, "steps")
        base = MLPClassifier() if name == "MLPClassifier()" else FreeNetClassifier()
        changed = {
            key: value
            for key, value in model.get_params().items()
            if value != base.get_params()[key]
        }
        expected = {"random_state": 2}
        if "evolve_rounds=0" in name:
            expected["evolve_rounds"] = 0
        assert changed == expected, name


@pytest.mark.slow
def test_one_seed_end_to_end(tmp_path):
    """Check a one-seed run writes a row per model with the FCNN's difference 0."""
    out = tmp_path / "demo.md"
    assert bench_demo.main(["--seeds", "1", "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    # the header of each table, 5 variants of the demo, 3 defaults x 2 inputs
    assert len(rows) == 2 + 5 + 6
    assert "| +0.00 (sd 0.00) |" in next(r for r in rows if "FCNN baseline" in r)
