# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the Table 2 benchmark: choices on validation, pairing, Figs. 5 and 8."""

import sys

import harness
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from table2 import common, plots, report, run


def _record(dataset, method, k, seed, accuracy, valid):
    family, epsilon, rule, _ = run.METHODS[method]
    return {
        "dataset": dataset, "method": method, "family": family, "epsilon": epsilon,
        "rule": rule, "k": k, "seed": seed, "accuracy": accuracy,
        "valid_accuracy": valid, "edges_end": 10, "dense_edges": k * (k - 1) // 2,
        "rounds": [], "training": dict(run.TRAINING), "evolution": None,
        "fit_seconds": 1.0,
    }  # fmt: skip


def test_epsilon_is_chosen_on_validation_over_common_cells():
    """Check the choice ignores test accuracy and cells missing for some epsilon."""
    recs = [
        # eps=0.5 has the best test accuracy but the worst validation accuracy
        _record("mnist", "FreeEvolve eps=0.1", 30, 0, 0.90, 0.95),
        _record("mnist", "FreeEvolve eps=0.25", 30, 0, 0.91, 0.94),
        _record("mnist", "FreeEvolve eps=0.5", 30, 0, 0.99, 0.80),
        # a cell only eps=0.25 has: not comparable, so it must not count
        _record("mnist", "FreeEvolve eps=0.25", 40, 0, 0.50, 1.00),
    ]
    chosen, scores = report.choose_epsilon(report._index(recs), "mnist", "FreeEvolve")
    assert chosen == "FreeEvolve eps=0.1"
    assert scores["FreeEvolve eps=0.25"] == pytest.approx(0.94)


def test_differences_are_paired_by_seed():
    """Check a - b per seed, on the seeds both methods have."""
    recs = [
        _record("mnist", "FCNN", 30, s, acc, 0.9)
        for s, acc in enumerate([0.90, 0.92, 0.80])
    ] + [
        _record("mnist", "Dense (no evolution)", 30, s, acc, 0.9)
        for s, acc in enumerate([0.91, 0.95])
    ]
    diffs = report.paired(
        report._index(recs), "mnist", "Dense (no evolution)", "FCNN", 30
    )
    assert diffs == pytest.approx([0.01, 0.03])


def test_summary_reports_the_chosen_row_and_its_differences():
    """Check the chosen FreeEvolve row and its paired differences to the FCNN."""
    recs = []
    for seed in range(2):
        for eps, valid in ((0.1, 0.8), (0.25, 0.9), (0.5, 0.7)):
            acc = 0.90 + 0.01 * seed + (0.02 if eps == 0.25 else 0.0)
            recs.append(_record("mnist", f"FreeEvolve eps={eps}", 30, seed, acc, valid))
        recs.append(_record("mnist", "FCNN", 30, seed, 0.90 + 0.01 * seed, 0.85))
    s = report.summarise(recs)["mnist"]
    assert s["chosen_epsilon"] == "FreeEvolve eps=0.25"
    diff = s["diffs"][f"{report.CHOSEN} - FCNN"][30]
    assert diff == pytest.approx([0.02, 0.02])
    text = report.markdown({"mnist": s}, recs)
    assert "+2.00 ± 0.00" in text and "**FAIL**" not in text.split("FCNN +")[0]


def test_matched_width_adds_the_dense_graphs_weights():
    """Check the widened FCNN has about the dense FreeNet's parameter count."""
    from sklearn_freenets.nn import n_parameters

    for k in common.KS:
        width = run.matched_width(k, 784, 10)
        dense = n_parameters(784, k, 10, k * (k - 1) // 2, False)
        fcnn = n_parameters(784, width, 10, 0, False)
        assert abs(fcnn - dense) <= (784 + 1 + 10) / 2


def test_cell_order_pairs_methods_and_spreads_k():
    order = run.cell_order(
        ["mnist", "emnist"], [30, 50, 100], [0, 1], list(run.METHODS)
    )
    assert order[0] == (0, 30, "mnist", "FCNN")
    block = len(run.METHODS) * 2  # every method of both data sets
    assert [c[1] for c in order[::block]] == [30, 30, 100, 100, 50, 50]
    assert [c[0] for c in order[::block]] == [0, 1] * 3
    assert len(set(order)) == len(order) == 2 * 3 * 2 * len(run.METHODS)


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    """Check that the smoke test fits every method and writes the report."""
    pytest.importorskip("matplotlib")
    import bench_table2

    try:
        common.load_dataset("mnist", max_train=100)
    except (OSError, ValueError) as exc:
        pytest.skip(f"MNIST not available: {exc}")
    assert bench_table2.main(["quick", "--out", str(tmp_path)]) == 0
    cells = common.load_records(tmp_path)
    assert len(cells) == len(run.METHODS)
    text = (tmp_path / "table2.md").read_text()
    assert "## MNIST" in text and "## Targets" in text
    for rec in cells:
        assert 0.2 < rec["accuracy"] <= 1.0
        assert len(rec["valid_curve"]) == rec["epochs"] == 2


def test_adjacency_round_trips_through_the_cell_format():
    rng = np.random.default_rng(0)
    for k in (1, 2, 9, 30):
        G = np.tril(rng.random((k, k)) < 0.3, -1)
        np.testing.assert_array_equal(run.unpack_adjacency(run.pack_adjacency(G), k), G)


def test_validation_ranking_compares_methods_on_the_same_fits(monkeypatch):
    """Check the ranking uses only groups every method has, and validation only."""
    methods = {m: run.METHODS[m] for m in ("FCNN", "Dense (no evolution)")}
    monkeypatch.setattr(report, "METHODS", methods)
    recs = [
        # FCNN better on validation, worse on test: the ranking reads validation
        _record("mnist", "FCNN", 30, 0, 0.80, 0.95),
        _record("mnist", "Dense (no evolution)", 30, 0, 0.99, 0.90),
        # a group the dense graph lacks: must not count (it would pull FCNN down)
        _record("mnist", "FCNN", 60, 0, 0.80, 0.10),
        _record("emnist", "FCNN", 30, 0, 0.70, 0.70),
        _record("emnist", "Dense (no evolution)", 30, 0, 0.70, 0.75),
    ]
    for r in recs:
        r["fit_seconds"] = 10.0 if r["method"] == "FCNN" else 30.0 * r["k"] / 30
    recs[2]["fit_seconds"] = 1.0  # the unmatched group's time must not count either
    lines = report.validation_ranking(recs)
    assert lines[0] == (
        "| method | MNIST (1 fits) | EMNIST (1 fits) | mean rank | fit time / FCNN |"
    )
    rows = {line.split(" | ")[0].strip("| "): line for line in lines[2:]}
    assert rows["FCNN"] == "| FCNN | 95.00 | 70.00 | 1.5 | 1.00 |"
    dense = rows["Dense (no evolution)"]
    assert dense == "| Dense (no evolution) | 90.00 | 75.00 | 1.5 | 3.00 |"
    assert report.validation_ranking([]) == []


def test_every_configuration_checks_both_targets_per_data_set():
    """Check the margin over the FCNN (mean over k) and the worst k against dense."""
    recs = []
    for k, (fcnn, dense, usage) in {
        30: (0.900, 0.905, 0.920),  # usage: +2.0 over FCNN, +1.5 over dense
        60: (0.950, 0.951, 0.950),  # usage: +0.0 over FCNN, -0.1 over dense
    }.items():
        for method, acc in (
            ("FCNN", fcnn),
            ("Dense (no evolution)", dense),
            ("usage eps=0.1", usage),
        ):
            recs.append(_record("fashion_mnist", method, k, 0, acc, 0.9))
    # only k = 30 on MNIST: +1.0 over the FCNN and over dense, so it passes there
    for method, acc in (
        ("FCNN", 0.97),
        ("Dense (no evolution)", 0.97),
        ("usage eps=0.1", 0.98),
    ):
        recs.append(_record("mnist", method, 30, 0, acc, 0.9))
    # a k with no FCNN cell must not count
    recs.append(_record("mnist", "usage eps=0.1", 60, 0, 0.10, 0.9))
    lines = report.every_configuration(recs)
    assert len(lines) == 3  # the two header lines and the one evolving method
    cols = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cols[0] == "usage eps=0.1"
    assert cols[1] == "+1.00 / +1.00"  # MNIST
    assert cols[2] == "+1.00 / -0.10"  # Fashion-MNIST: margin +1.00, worst k fails
    assert cols[3] == "MNIST"
    assert report.every_configuration([]) == []


def _pilot_record(dataset, method, k, seed, accuracy, valid):
    rec = _record(dataset, "FCNN", k, seed, accuracy, valid)
    return {**rec, "method": method, "family": run.PILOTS[method][0]}


def test_pilot_is_paired_with_the_row_it_varies(tmp_path):
    """Check pilot - base and pilot - FCNN per seed, on the seeds the table has."""
    table = [
        _record("mnist", "FCNN", 60, 0, 0.90, 0.90),
        _record("mnist", "FCNN", 60, 1, 0.92, 0.90),
        _record("mnist", "Dense (no evolution)", 60, 0, 0.91, 0.91),
        _record("mnist", "Dense (no evolution)", 60, 1, 0.95, 0.92),
    ]
    pilot = [
        _pilot_record("mnist", "Dense, edges at lr/10", 60, s, acc, 0.93)
        for s, acc in enumerate([0.92, 0.94, 0.99])  # seed 2: no pair, left out
    ]
    text = report.pilot_markdown(pilot, table)
    (row,) = [line for line in text.splitlines() if "lr/10" in line]
    cols = [c.strip() for c in row.strip("|").split("|")]
    assert cols[2:5] == ["60", "2", "93.00 ± 1.00"]
    assert cols[6] == "+0.00 ± 1.00"  # (+0.01, -0.01)
    assert cols[7] == "+1.50 ± 0.50"  # valid: (+0.02, +0.01)
    assert cols[8] == "+2.00 ± 0.00"  # - FCNN: (+0.02, +0.02)
    for out, recs in ((tmp_path / "pilot", pilot), (tmp_path / "table", table)):
        for rec in recs:
            harness.append_cell(common.cells_path(out), rec)
    assert report.write_pilot(tmp_path / "pilot", tmp_path / "table") == text
    assert (tmp_path / "pilot" / "pilot.md").read_text() == text


def test_pilots_are_kept_out_of_the_table():
    """Check that run refuses to write pilot cells among the table's."""
    import bench_table2

    argv = ["run", "--methods", "Dense, edges at lr/10", "--ks", "30", "--seeds", "1"]
    with pytest.raises(SystemExit, match="pilots, not rows of the table"):
        bench_table2.main(argv)


def test_standardised_pilots_see_inputs_scaled_on_the_training_rows():
    """Check only the standardised pilots' inputs change, with the train statistics."""
    rng = np.random.RandomState(0)
    data = {
        "X_train": rng.uniform(0, 1, (50, 3)).astype(np.float32),
        "X_valid": rng.uniform(0, 1, (20, 3)).astype(np.float32),
        "X_test": rng.uniform(0, 2, (20, 3)).astype(np.float32),
        "y_train": np.zeros(50),
    }
    data["X_train"][:, 2] = 0.5  # a constant pixel stays finite
    assert run.inputs_for("FCNN", data) is data
    assert run.STANDARDISED == {
        "FCNN, standardised inputs",
        "FreeEvolve from empty eps=0.25, standardised inputs",
    }
    seen = run.inputs_for("FCNN, standardised inputs", data)
    mean, std = data["X_train"].mean(0), data["X_train"].std(0)
    np.testing.assert_allclose(seen["X_train"][:, :2].mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(seen["X_train"][:, :2].std(0), 1, atol=1e-5)
    expected = (data["X_test"][:, 0] - mean[0]) / std[0]
    np.testing.assert_allclose(seen["X_test"][:, 0], expected, rtol=1e-5)
    assert np.all(seen["X_train"][:, 2] == 0) and np.isfinite(seen["X_test"]).all()
    assert seen["X_valid"].dtype == np.float32 and seen["y_train"] is data["y_train"]
    assert seen["X_train"] is not data["X_train"]  # the shared data is untouched
    np.testing.assert_array_equal(data["X_train"][:, 2], 0.5)


def test_run_appends_cells_and_resumes(tmp_path, monkeypatch):
    """Check that run appends one line per cell and skips the cells stored."""
    import bench_table2

    fitted = []

    def fake_cell(data, dataset, method, k, seed, training, setting):
        fitted.append((dataset, method, k, seed))
        rec = _record(dataset, method, k, seed, 0.9, 0.9)
        training = {key: run._jsonable(v) for key, v in training.items()}
        rec.update(training=training, setting=setting, edges_start=0, rounds=[])
        return rec

    monkeypatch.setattr(run, "run_cell", fake_cell)
    monkeypatch.setattr(common, "load_dataset", lambda *args: {})
    argv = ["run", "--datasets", "mnist", "--ks", "30", "--seeds", "2"]
    argv += ["--methods", "FCNN", "Dense (no evolution)", "--out", str(tmp_path)]
    assert bench_table2.main(argv) == 0
    assert len(fitted) == 4
    lines = common.cells_path(tmp_path).read_text().splitlines()
    assert len(lines) == 4
    assert bench_table2.main(argv) == 0  # everything stored: nothing refitted
    assert len(fitted) == 4
    assert [common.cell_key(r) for r in common.load_records(tmp_path)] == [
        ("mnist", "Dense (no evolution)", 30, 0),
        ("mnist", "Dense (no evolution)", 30, 1),
        ("mnist", "FCNN", 30, 0),
        ("mnist", "FCNN", 30, 1),
    ]
    with pytest.raises(SystemExit, match="another budget"):
        bench_table2.main([*argv, "--epochs", "3"])


# ------------------------------------ Figs. 5 and 8: plots of benchmark records
@pytest.fixture
def pyplot():
    """matplotlib's pyplot on the Agg backend; closes the figures a test opened."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _plot_records():
    """Hand-made benchmark records over two data sets, three methods, two seeds."""
    records = []
    for dataset, shift in (("mnist", 0.0), ("fashion", -0.1)):
        for method, base in (("FreeEvolve", 0.90), ("FCNN", 0.88), ("Other", 0.80)):
            for k in (10, 20, 40):
                for seed in (0, 1):
                    records.append(
                        {
                            "dataset": dataset,
                            "method": method,
                            "k": k,
                            "seed": seed,
                            "accuracy": base + shift + 0.001 * k + 0.01 * seed,
                            "edges_start": k * (k - 1) // 2,
                            "edges_end": 2 * k + seed,
                            "paper_accuracy": (
                                100 * (base + 0.02) if method == "FCNN" else None
                            ),
                        }
                    )
    return records


def _line(ax, label):
    """The line of ``ax`` with this label (the data line of an errorbar plot)."""
    lines = [line for line in ax.lines if line.get_label() == label]
    lines += [c.lines[0] for c in ax.containers if c.get_label() == label]
    assert len(lines) == 1, [line.get_label() for line in ax.lines]
    return lines[0]


def test_plot_accuracy_vs_neurons_means(pyplot):
    """Check that each method's line is the mean accuracy in percent over seeds."""
    records = _plot_records()
    ax = plots.plot_accuracy_vs_neurons(records, dataset="mnist")
    for method in ("FreeEvolve", "FCNN", "Other"):
        rows = [r for r in records if r["dataset"] == "mnist" and r["method"] == method]
        ks = [10, 20, 40]
        means = [
            100 * np.mean([r["accuracy"] for r in rows if r["k"] == k]) for k in ks
        ]
        line = _line(ax, method)
        assert_array_equal(line.get_xdata(), ks)
        assert_allclose(line.get_ydata(), means)
    paper = _line(ax, "paper: FCNN")
    assert paper.get_linestyle() == "--"
    assert_allclose(paper.get_ydata(), [90.0] * 3)
    assert paper.get_color() == _line(ax, "FCNN").get_color()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "paper: FreeEvolve" not in labels
    assert ax.get_ylabel() == "test accuracy (%)"
    assert "mnist" in ax.get_title()


def test_plot_accuracy_vs_neurons_error_bars(pyplot):
    """Check that the error bars span one standard deviation over the seeds."""
    records = [
        {"dataset": "d", "method": "m", "k": 5, "seed": s, "accuracy": a}
        for s, a in enumerate((0.5, 0.7))
    ]
    ax = plots.plot_accuracy_vs_neurons(records)
    (container,) = ax.containers
    (bar,) = container.lines[2]
    (segment,) = bar.get_segments()
    assert_allclose(segment[:, 1], [50.0, 70.0])


def test_plot_accuracy_vs_neurons_dataframe(pyplot):
    """Check that a pandas DataFrame of records is accepted."""
    pd = pytest.importorskip("pandas")
    records = [r for r in _plot_records() if r["dataset"] == "mnist"]
    from_frame = plots.plot_accuracy_vs_neurons(pd.DataFrame(records))
    from_list = plots.plot_accuracy_vs_neurons(records)
    labels = [c.get_label() for c in from_frame.containers]
    assert labels == [c.get_label() for c in from_list.containers]
    assert labels.count("FCNN") == 1
    for a, b in zip(from_frame.containers, from_list.containers, strict=True):
        assert_allclose(a.lines[0].get_ydata(), b.lines[0].get_ydata())


@pytest.mark.parametrize(
    "results, kwargs, match",
    [
        (_plot_records(), {}, "several data sets"),
        (
            _plot_records(),
            {"dataset": "cifar"},
            "No benchmark record for dataset='cifar'",
        ),
        ([], {}, "no benchmark records"),
        ({"dataset": "mnist"}, {}, "list of dicts"),
        ([1, 2], {}, "to be a dict"),
        ([{"dataset": "d", "method": "m", "k": 5}], {}, r"lacks the key\(s\)"),
        (
            [{"dataset": "d", "method": "m", "k": 5, "seed": 0, "accuracy": 97.0}],
            {},
            r"fraction in \[0, 1\]",
        ),
    ],
)
def test_plot_accuracy_vs_neurons_bad_records(results, kwargs, match, pyplot):
    """Check that malformed or ambiguous records raise a clear ValueError."""
    with pytest.raises(ValueError, match=match):
        plots.plot_accuracy_vs_neurons(results, **kwargs)


def test_plot_edges_vs_neurons_means(pyplot):
    """Check the start / end edge means of FreeEvolve and the dense reference."""
    records = _plot_records()
    ax = plots.plot_edges_vs_neurons(records, dataset="fashion")
    ks = np.array([10, 20, 40])
    assert_array_equal(_line(ax, "start of evolution").get_xdata(), ks)
    assert_allclose(_line(ax, "start of evolution").get_ydata(), ks * (ks - 1) / 2)
    assert_allclose(_line(ax, "end of evolution").get_ydata(), 2 * ks + 0.5)
    dense = _line(ax, "dense: k(k-1)/2")
    x = dense.get_xdata()
    assert_allclose(dense.get_ydata(), x * (x - 1) / 2)
    assert x.min() == 10 and x.max() == 40


def test_plot_edges_vs_neurons_needs_edge_counts(pyplot):
    """Check that records without edges of the chosen method raise ValueError."""
    records = [
        {"dataset": "d", "method": "FCNN", "k": 5, "seed": 0, "accuracy": 0.5},
        {
            "dataset": "d",
            "method": "FreeEvolve",
            "k": 5,
            "seed": 0,
            "accuracy": 0.5,
            "edges_start": None,
            "edges_end": None,
        },
    ]
    with pytest.raises(ValueError, match="No record of method='FreeEvolve'"):
        plots.plot_edges_vs_neurons(records)
    ax = plots.plot_edges_vs_neurons(
        [dict(r, edges_start=10, edges_end=4) for r in records], method="FCNN"
    )
    assert_allclose(_line(ax, "end of evolution").get_ydata(), [4])


def test_record_plots_without_matplotlib_name_plot_extra(monkeypatch):
    """Check that a clear ImportError names the plot extra without matplotlib."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    records = [r for r in _plot_records() if r["dataset"] == "mnist"]
    with pytest.raises(
        ImportError,
        match=r"^plot_edges_vs_neurons requires matplotlib\. .* or "
        r"`pip install sklearn-freenets\[plot\]`\.$",
    ):
        plots.plot_edges_vs_neurons(records)
