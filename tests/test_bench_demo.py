# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the demo benchmark: its models are the demo's, beside the MLP at its
defaults, and the defaults table keeps every default."""

import bench_demo
import pytest

from sklearn_freenets.__main__ import demo_models


@pytest.mark.parametrize("task", ["regression", "digits"])
def test_models_are_the_demo_s_and_the_mlp_at_its_defaults(task):
    """Check the demo's two models differ only by evolve_rounds=0, beside the MLP."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    fits = bench_demo.models(task, 3)
    cli = demo_models(task, 3)
    assert list(fits)[: len(cli)] == list(cli)
    names = list(cli)[:2]
    defaults, unevolved = (fits[n].get_params() for n in names)
    assert defaults == cli[names[0]].get_params()
    changed = {key for key in defaults if defaults[key] != unevolved[key]}
    assert unevolved["evolve_rounds"] == 0
    # the classifier does not evolve by default: its two models are the same
    assert changed == ({"evolve_rounds"} if task == "regression" else set())
    Estimator = type(fits[names[0]])
    base = Estimator().get_params()
    assert {key for key in defaults if defaults[key] != base[key]} == {
        "k",
        "random_state",
    }
    (extra,) = list(cli)[2:]
    grown = fits[extra].get_params()
    changed = {key for key in grown if grown[key] != defaults[key]}
    if task == "regression":  # the rule that grows depth, beside the defaults
        assert changed == {"rule", "epsilon"} and grown["rule"] == "rigl"
    else:  # FreeEvolve's schedule, which the classifier runs when asked
        assert changed == {"evolve_rounds"} and grown["evolve_rounds"] == 60
    mlp = MLPRegressor if task == "regression" else MLPClassifier
    (last,) = [m for n, m in fits.items() if n not in cli]
    assert type(last) is mlp and last.get_params() == mlp(random_state=3).get_params()


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
        if "evolve_rounds=60" in name:
            expected["evolve_rounds"] = 60
        if 'rule="paper"' in name:
            expected["rule"] = "paper"
        assert changed == expected, name


@pytest.mark.slow
def test_one_seed_end_to_end(tmp_path):
    """Check a one-seed run writes a row per model, the unevolved net's diff 0."""
    out = tmp_path / "demo.md"
    assert bench_demo.main(["--seeds", "1", "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    # the header of each table, the demo's models and the MLP (4 on each
    # task), the defaults table's models x 2 inputs
    assert len(rows) == 3 + 4 + 4 + 2 * len(bench_demo.DEFAULTS)
    unevolved = [r for r in rows if r.startswith("| evolve_rounds=0 |")]
    assert len(unevolved) == 2
    assert all("| +0.00 (sd 0.00) | 0 |" in r for r in unevolved)
