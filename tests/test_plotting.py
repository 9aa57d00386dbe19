# SPDX-License-Identifier: BSD-3-Clause
"""Tests for :mod:`sklearn_freenets.plotting`."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor  # noqa: E402
from sklearn_freenets.plotting import (  # noqa: E402
    plot_adjacency,
    plot_coactivation_distributions,
    plot_edge_changes,
    plot_edges_over_training,
    plot_graph,
    plot_validation_curves,
    topological_depth,
)

ESTIMATOR_PLOTS = [
    plot_edge_changes,
    plot_coactivation_distributions,
    plot_edges_over_training,
    plot_adjacency,
    plot_graph,
]


# A fixed budget of 6 epochs with up to 3 FreeEvolve rounds, one after each of
# the first epochs (epochs 1, 2, 3 unless evolution settles sooner).
SCHEDULE = dict(
    max_epochs=6,
    n_iter_no_change=np.inf,
    evolve_rounds=3,
    evolve_every=1,
    evolve_every_batches=None,  # a round after every epoch, also on small data
)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure a test opened."""
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    """The first 600 digits, scaled to [0, 1] (enough for a few FreeEvolve rounds)."""
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.fixture(scope="module")
def dense_fit(digits):
    """A classifier evolved from the dense graph (prunes edges)."""
    X, y = digits
    return FreeNetClassifier(
        k=12,
        initial_graph="dense",
        init="torch",  # leaves some neurons dead: their edges get pruned
        **SCHEDULE,
        lr=1e-2,
        random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="module")
def empty_fit(digits):
    """A classifier evolved from the empty graph by the paper's rule (adds edges)."""
    X, y = digits
    return FreeNetClassifier(
        k=12,
        **SCHEDULE,
        lr=1e-2,
        rule="paper",
        initial_graph="empty",
        epsilon=0.3,
        random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="module")
def no_rounds_fit(digits):
    """A classifier fitted without FreeEvolve rounds."""
    X, y = digits
    return FreeNetClassifier(
        k=6,
        max_epochs=2,
        n_iter_no_change=np.inf,
        evolve_rounds=0,
        lr=1e-2,
        random_state=0,
    ).fit(X[:200], y[:200])


def _line(ax, label):
    """The line of ``ax`` with this label (the data line of an errorbar plot)."""
    lines = [line for line in ax.lines if line.get_label() == label]
    lines += [c.lines[0] for c in ax.containers if c.get_label() == label]
    assert len(lines) == 1, [line.get_label() for line in ax.lines]
    return lines[0]


# -------------------------------------------------------- matplotlib support
def test_missing_matplotlib_names_plot_extra(monkeypatch):
    """Check that a clear ImportError names the plot extra without matplotlib."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(
        ImportError,
        match=r"^plot_adjacency requires matplotlib\. .* or "
        r"`pip install sklearn-freenets\[plot\]`\.$",
    ):
        plot_adjacency(np.zeros((3, 3), dtype=bool))


def test_module_exports():
    """Check that __all__ lists exactly the public plotting functions."""
    from sklearn_freenets import plotting

    assert sorted(plotting.__all__) == sorted(
        [f.__name__ for f in ESTIMATOR_PLOTS]
        + ["plot_validation_curves", "topological_depth"]
    )
    for name in plotting.__all__:
        assert callable(getattr(plotting, name))


@pytest.mark.parametrize("name", ["plot_accuracy_vs_neurons", "plot_edges_vs_neurons"])
def test_benchmark_record_plots_moved(name):
    """Check that the plots of benchmark records say where they moved."""
    from sklearn_freenets import plotting

    assert name not in plotting.__all__
    with pytest.raises(AttributeError, match=r"benchmarks/table2/plots\.py") as info:
        getattr(plotting, name)
    assert f"sklearn_freenets.plotting.{name} was removed" in str(info.value)
    assert not hasattr(plotting, name)
    # ``from ... import`` turns any AttributeError into its own ImportError, which
    # drops the message (CPython's import_from): users see only the name.
    with pytest.raises(ImportError, match=f"cannot import name '{name}'"):
        exec(f"from sklearn_freenets.plotting import {name}", {})


def test_unknown_plotting_name_raises_plain_attribute_error():
    """Check that other unknown names raise the usual AttributeError."""
    from sklearn_freenets import plotting

    with pytest.raises(
        AttributeError,
        match=r"^module 'sklearn_freenets\.plotting' has no attribute 'plot_nothing'$",
    ):
        plotting.plot_nothing  # noqa: B018


# -------------------------------------------------------- topological_depth
def test_topological_depth_chain():
    """Check that a chain 0 -> 1 -> ... -> k-1 has depths 0..k-1."""
    k = 7
    A = np.zeros((k, k), dtype=bool)
    A[np.arange(1, k), np.arange(k - 1)] = True
    assert_array_equal(topological_depth(A), np.arange(k))


def test_topological_depth_empty_and_dense():
    """Check that the empty graph has depth 0 everywhere, the dense one 0..k-1."""
    assert_array_equal(topological_depth(np.zeros((5, 5), dtype=bool)), np.zeros(5))
    dense = np.tril(np.ones((5, 5), dtype=int), k=-1)
    assert_array_equal(topological_depth(dense), np.arange(5))
    assert topological_depth(np.zeros((0, 0))).shape == (0,)


def test_topological_depth_diamond_and_skip():
    """Check the depths of a diamond with a skip edge (longest path counts)."""
    A = np.zeros((5, 5), dtype=bool)
    # 0 -> {1, 2} -> 3 -> 4, plus a skip edge 0 -> 4 and an isolated... none
    A[1, 0] = A[2, 0] = A[3, 1] = A[3, 2] = A[4, 3] = A[4, 0] = True
    assert_array_equal(topological_depth(A), [0, 1, 1, 2, 3])
    # depth 1 for 1 and 2 even if 2 also feeds from 1
    A[2, 1] = True
    assert_array_equal(topological_depth(A), [0, 1, 2, 3, 4])


def test_topological_depth_any_dag_order():
    """Check that a DAG that is not lower triangular is handled (upper triangle)."""
    A = np.zeros((4, 4), dtype=bool)
    A[0, 3] = A[1, 3] = A[0, 1] = True  # 3 -> 1 -> 0, 3 -> 0; 2 isolated
    assert_array_equal(topological_depth(A), [2, 1, 0, 0])


@pytest.mark.parametrize(
    "matrix, match",
    [
        (np.array([[0, 1], [1, 0]], dtype=bool), "cycle"),
        (np.eye(3, dtype=bool), "self-loop"),
        (np.zeros((3, 4), dtype=bool), "square"),
        (np.zeros(3, dtype=bool), "square"),
        (np.full((2, 2), 0.5), "0/1"),
    ],
)
def test_topological_depth_bad_input(matrix, match):
    """Check that cycles, self-loops and malformed matrices raise ValueError."""
    with pytest.raises(ValueError, match=match):
        topological_depth(matrix)


# ------------------------------------------------------------ fitted checks
@pytest.mark.parametrize("plot", ESTIMATOR_PLOTS)
def test_unfitted_estimator_raises(plot):
    """Check that an unfitted estimator raises NotFittedError."""
    with pytest.raises(NotFittedError):
        plot(FreeNetClassifier(k=5))


@pytest.mark.parametrize("plot", [plot_edge_changes, plot_coactivation_distributions])
def test_no_evolution_round_raises(plot, no_rounds_fit):
    """Check that plots that need a FreeEvolve round reject a fit without one."""
    assert no_rounds_fit.evolution_history_ == []
    with pytest.raises(ValueError, match="no FreeEvolve rounds"):
        plot(no_rounds_fit)


@pytest.mark.parametrize("plot", ESTIMATOR_PLOTS)
def test_plots_draw_on_given_ax_and_save(plot, empty_fit, tmp_path):
    """Check that each plot draws on the given axes, returns them and renders."""
    if plot is plot_coactivation_distributions:
        fig, ax = plt.subplots(1, 2)
        out = plot(empty_fit, ax=ax)
        assert out.shape == (2,)
        assert all(a is b for a, b in zip(out, ax, strict=True))
    else:
        fig, ax = plt.subplots()
        out = plot(empty_fit, ax=ax)
        assert out is ax
    fig.savefig(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_regressor_is_supported():
    """Check that the estimator plots accept a fitted FreeNetRegressor."""
    X, y = load_diabetes(return_X_y=True)
    reg = FreeNetRegressor(
        k=8,
        max_epochs=4,
        n_iter_no_change=np.inf,
        evolve_rounds=2,
        evolve_every=1,
        evolve_every_batches=None,
        lr=1e-2,
        random_state=0,
    ).fit(X[:200], (y[:200] - y.mean()) / y.std())
    for plot in ESTIMATOR_PLOTS:
        plot(reg)
    ax = plot_adjacency(reg)
    assert_array_equal(ax.images[0].get_array(), reg.adjacency_)


# --------------------------------------------------------- plot_edge_changes
@pytest.mark.parametrize("fit", ["dense_fit", "empty_fit"])
def test_plot_edge_changes_bars(fit, request):
    """Check that there is one bar per round with the added / pruned counts."""
    est = request.getfixturevalue(fit)
    history = est.evolution_history_
    assert sum(r["n_added"] + r["n_pruned"] for r in history) > 0
    ax = plot_edge_changes(est)
    added, pruned = ax.containers
    assert len(added) == len(pruned) == len(history)
    assert_array_equal([b.get_height() for b in added], [r["n_added"] for r in history])
    assert_array_equal(
        [b.get_height() for b in pruned], [-r["n_pruned"] for r in history]
    )
    assert_allclose(
        [b.get_x() + b.get_width() / 2 for b in added], [r["round"] for r in history]
    )
    assert f"→ {history[-1]['n_edges']} edges" in ax.get_title()


def test_plot_edge_changes_empty_start_counts_from_zero(empty_fit):
    """Check that evolution from the empty graph is titled as starting at 0 edges."""
    ax = plot_edge_changes(empty_fit)
    assert ax.get_title().startswith("Edge changes per round (0 →")
    assert sum(r["n_added"] for r in empty_fit.evolution_history_) > 0


# -------------------------------------------- plot_coactivation_distributions
def test_plot_coactivation_distributions_histograms(empty_fit):
    """Check that the step curves are the NCAM / NCIM histograms of the rounds."""
    history = empty_fit.evolution_history_
    assert len(history) >= 2
    axes = plot_coactivation_distributions(empty_fit)
    assert axes.shape == (2,)
    bins = np.linspace(0, 1, 21)
    for a, key in zip(axes, ("ncam", "ncim"), strict=True):
        steps = a.patches
        assert len(steps) == 2
        for step, record in zip(steps, (history[0], history[-1]), strict=True):
            counts, _ = np.histogram(record[key], bins=bins)
            values, edges, _ = step.get_data()
            assert_allclose(values, 100 * counts / len(record[key]))
            assert_allclose(edges, bins)
            assert step.get_label() == (
                f"round {record['round']} (epoch {record['epoch']})"
            )
            assert_allclose(values.sum(), 100.0)
        assert a.get_xlabel() == f"{key.upper()} value"
    # threshold line at 1 - epsilon
    assert_allclose(axes[0].lines[0].get_xdata(), [0.7, 0.7])


def test_plot_coactivation_distributions_round_selection(empty_fit):
    """Check that rounds can be chosen by number and duplicates are drawn once."""
    axes = plot_coactivation_distributions(empty_fit, rounds=(2,))
    assert [p.get_label() for p in axes[0].patches] == [
        f"round 2 (epoch {empty_fit.evolution_history_[1]['epoch']})"
    ]
    axes = plot_coactivation_distributions(empty_fit, rounds=("last", "last"))
    assert len(axes[1].patches) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rounds": (99,)}, "No FreeEvolve round 99"),
        ({"rounds": ("middle",)}, "'first', 'last'"),
        ({"rounds": ()}, "at least one round"),
    ],
)
def test_plot_coactivation_distributions_bad_rounds(empty_fit, kwargs, match):
    """Check that unknown rounds raise a clear ValueError."""
    with pytest.raises(ValueError, match=match):
        plot_coactivation_distributions(empty_fit, **kwargs)


def test_plot_coactivation_distributions_bad_ax_and_missing_matrices(empty_fit):
    """Check the errors for a wrong number of axes and for rounds without matrices."""
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="two Axes"):
        plot_coactivation_distributions(empty_fit, ax=ax)
    stripped = copy.copy(empty_fit)
    stripped.evolution_history_ = [
        {k: v for k, v in r.items() if k not in ("ncam", "ncim")}
        for r in empty_fit.evolution_history_
    ]
    with pytest.raises(ValueError, match="without its ncam / ncim"):
        plot_coactivation_distributions(stripped)


# -------------------------------------------------- plot_edges_over_training
def test_plot_edges_over_training_steps(empty_fit):
    """Check the step curve of edges per epoch and the loss on the twin axis."""
    history = empty_fit.evolution_history_
    n_epochs = len(empty_fit.loss_curve_)
    ax = plot_edges_over_training(empty_fit)
    line = _line(ax, "edges")
    assert line.get_drawstyle() == "steps-post"
    assert_array_equal(
        line.get_xdata(), [0] + [r["epoch"] for r in history] + [n_epochs]
    )
    assert_array_equal(
        line.get_ydata(),
        [0] + [r["n_edges"] for r in history] + [empty_fit.n_edges_],
    )
    twin = ax.figure.axes[-1]
    assert twin is not ax
    loss = _line(twin, "train loss")
    assert_array_equal(loss.get_xdata(), np.arange(1, n_epochs + 1))
    assert_allclose(loss.get_ydata(), empty_fit.loss_curve_)


def test_plot_edges_over_training_without_loss_or_rounds(dense_fit, no_rounds_fit):
    """Check show_loss=False (no twin axis) and a flat curve without rounds."""
    ax = plot_edges_over_training(dense_fit, show_loss=False)
    assert len(ax.figure.axes) == 1
    assert _line(ax, "edges").get_ydata()[0] == 12 * 11 // 2  # dense start
    ax = plot_edges_over_training(no_rounds_fit)
    assert_array_equal(_line(ax, "edges").get_xdata(), [0, 2])
    assert_array_equal(_line(ax, "edges").get_ydata(), [no_rounds_fit.n_edges_] * 2)


# ----------------------------------------------------------- plot_adjacency
def test_plot_adjacency_image(dense_fit):
    """Check that the image is the adjacency matrix, with labelled axes."""
    ax = plot_adjacency(dense_fit)
    assert_array_equal(ax.images[0].get_array(), dense_fit.adjacency_)
    assert ax.get_xlabel() == "source neuron j"
    assert ax.get_ylabel() == "target neuron i"
    assert f"{dense_fit.n_edges_} edges" in ax.get_title()
    A = np.tril(np.ones((4, 4), dtype=int), k=-2)
    ax = plot_adjacency(A)
    assert_array_equal(ax.images[0].get_array(), A)


@pytest.mark.parametrize(
    "matrix, match",
    [(np.zeros((2, 3)), "square"), (np.array([[0, 2], [0, 0]]), "0/1")],
)
def test_plot_adjacency_bad_matrix(matrix, match):
    """Check that malformed matrices raise ValueError."""
    with pytest.raises(ValueError, match=match):
        plot_adjacency(matrix)


# --------------------------------------------------------------- plot_graph
def test_plot_graph_layout():
    """Check that neurons sit at their depth and every edge is one segment."""
    A = np.zeros((6, 6), dtype=bool)
    A[1, 0] = A[2, 0] = A[3, 1] = A[3, 2] = True  # diamond; 4 and 5 isolated
    ax = plot_graph(A)
    segments = ax.collections[0].get_segments()
    assert len(segments) == 4
    depth = topological_depth(A)
    targets, sources = np.nonzero(A)
    for seg, s, t in zip(segments, sources, targets, strict=True):
        assert_array_equal(seg[[0, -1], 0], [depth[s], depth[t]])
    connected, isolated = ax.collections[1], ax.collections[2]
    assert len(connected.get_offsets()) == 4
    assert_array_equal(np.asarray(isolated.get_offsets())[:, 0], [0, 0])
    assert isolated.get_label() == "isolated neuron (2)"
    assert ax.get_title() == "k=6 neurons, 4 edges, depth 2"


def test_plot_graph_estimator_and_large_graph(dense_fit):
    """Check the graph of a fitted estimator and a k=300 graph."""
    ax = plot_graph(dense_fit)
    assert len(ax.collections[0].get_segments()) == dense_fit.n_edges_
    assert f"{dense_fit.n_edges_} edges" in ax.get_title()
    rng = np.random.default_rng(0)
    A = np.tril(rng.random((300, 300)) < 0.05, k=-1)
    ax = plot_graph(A)
    assert len(ax.collections[0].get_segments()) == A.sum()
    ax.figure.canvas.draw()


# --------------------------------------------------- plot_validation_curves
# A fixed budget of 12 epochs, scored on a held-out tenth of the rows each epoch.
VALIDATION = dict(
    k=12, max_epochs=12, early_stopping=True, n_iter_no_change=np.inf, lr=1e-2
)


@pytest.fixture(scope="module")
def digits300(digits):
    """The first 300 of the scaled digits (fits of well under a second)."""
    X, y = digits
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def fcnn_val_fit(digits300):
    """The FCNN of k=12 (empty graph, no rounds), with validation scores."""
    return FreeNetClassifier(**VALIDATION, evolve_rounds=0, random_state=0).fit(
        *digits300
    )


@pytest.fixture(scope="module")
def evolve_val_fit(digits300):
    """FreeEvolve from the dense graph, a round every 2 epochs, with validation."""
    return FreeNetClassifier(
        **VALIDATION,
        initial_graph="dense",
        epsilon=0.5,
        evolve_rounds=3,
        evolve_every=2,
        evolve_every_batches=None,
        random_state=0,
    ).fit(*digits300)


def _curves(ax):
    """The curves of ``ax``: its lines that the legend shows."""
    return [line for line in ax.lines if not line.get_label().startswith("_")]


def _round_markers(ax):
    """The round-marker lines of ``ax``, hidden from the legend."""
    return [
        line
        for line in ax.lines
        if line.get_label().startswith("_FreeEvolve rounds of ")
    ]


def test_plot_validation_curves_data(evolve_val_fit, fcnn_val_fit):
    """Check one curve per estimator: epochs 1..n against the accuracy in percent."""
    ax = plot_validation_curves([evolve_val_fit, fcnn_val_fit])
    curves = _curves(ax)
    assert [line.get_label() for line in curves] == [
        f"FreeEvolve (k=12, {evolve_val_fit.n_edges_} edges)",
        "FCNN (k=12)",
    ]
    for line, est in zip(curves, [evolve_val_fit, fcnn_val_fit], strict=True):
        n = len(est.validation_scores_)
        assert n == 12  # the whole budget, with n_iter_no_change=np.inf
        assert_array_equal(line.get_xdata(), np.arange(1, n + 1))
        assert_allclose(line.get_ydata(), 100 * np.array(est.validation_scores_))
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "validation accuracy (%)"
    assert ax.get_title() == "Validation accuracy over training"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [line.get_label() for line in curves] + ["FreeEvolve round"]


def test_plot_validation_curves_round_markers(evolve_val_fit, fcnn_val_fit):
    """Check that the rounds are marked at (epoch, score) on their own curve only."""
    history = evolve_val_fit.evolution_history_
    epochs = np.array([r["epoch"] for r in history])
    assert len(epochs) >= 2 and epochs.max() <= 12
    ax = plot_validation_curves({"FreeEvolve": evolve_val_fit, "FCNN": fcnn_val_fit})
    assert len(ax.lines) == 3  # two curves and the markers of the FreeEvolve one
    (markers,) = _round_markers(ax)
    assert markers.get_label() == "_FreeEvolve rounds of FreeEvolve"
    assert markers.get_linestyle() == "None" and markers.get_marker() == "o"
    assert markers.get_markeredgecolor() == _line(ax, "FreeEvolve").get_color()
    # the markers take no colour of the cycle: the next curve gets the second one
    colors = [line.get_color() for line in _curves(ax)]
    assert matplotlib.colors.same_color(colors, ["C0", "C1"])
    assert_array_equal(markers.get_xdata(), epochs)
    scores = np.array(evolve_val_fit.validation_scores_)
    assert_allclose(markers.get_ydata(), 100 * scores[epochs - 1])

    ax = plot_validation_curves([evolve_val_fit, fcnn_val_fit], mark_rounds=False)
    assert len(ax.lines) == 2 and not _round_markers(ax)
    assert "FreeEvolve round" not in ax.get_legend_handles_labels()[1]


def test_plot_validation_curves_labels_ax_and_fraction(evolve_val_fit, fcnn_val_fit):
    """Check explicit labels, a single estimator, a given ax and percent=False."""
    fig, ax = plt.subplots()
    out = plot_validation_curves(
        (fcnn_val_fit, evolve_val_fit), ["a", "b"], ax=ax, percent=False
    )
    assert out is ax
    assert [line.get_label() for line in _curves(ax)] == ["a", "b"]
    assert ax.get_ylabel() == "validation accuracy"
    assert_allclose(_line(ax, "a").get_ydata(), fcnn_val_fit.validation_scores_)
    ax = plot_validation_curves(fcnn_val_fit, "only")
    assert [line.get_label() for line in ax.lines] == ["only"]
    ax = plot_validation_curves(fcnn_val_fit)
    assert [line.get_label() for line in ax.lines] == ["FCNN (k=12)"]
    assert ax.get_legend().get_texts()[0].get_text() == "FCNN (k=12)"


def test_plot_validation_curves_regressor(fcnn_val_fit):
    """Check that regressor curves are in R^2 units, with their rounds marked."""
    X, y = load_diabetes(return_X_y=True)
    reg = FreeNetRegressor(
        k=8,
        max_epochs=10,
        early_stopping=True,
        n_iter_no_change=np.inf,
        evolve_rounds=2,
        evolve_every=3,
        evolve_every_batches=None,
        lr=1e-2,
        random_state=0,
    ).fit(X[:200], (y[:200] - y.mean()) / y.std())
    ax = plot_validation_curves(reg, ["reg"])
    assert ax.get_ylabel() == "validation R²"
    assert ax.get_title() == "Validation R² over training"
    line = _line(ax, "reg")
    assert_array_equal(line.get_xdata(), np.arange(1, 11))
    assert_allclose(line.get_ydata(), reg.validation_scores_)  # not scaled by 100
    epochs = np.array([r["epoch"] for r in reg.evolution_history_])
    assert len(epochs)
    (markers,) = _round_markers(ax)
    assert_allclose(markers.get_ydata(), np.array(reg.validation_scores_)[epochs - 1])
    with pytest.raises(ValueError, match="percent=True is for classifiers"):
        plot_validation_curves(reg, percent=True)
    with pytest.raises(ValueError, match="cannot draw different validation scores"):
        plot_validation_curves([fcnn_val_fit, reg])


def test_plot_validation_curves_of_the_classifiers_log_loss(fcnn_val_fit):
    """Check the label of a classifier stopped on its log-loss ("auto")."""
    X, y = load_digits(return_X_y=True)
    clf = FreeNetClassifier(
        k=8,
        max_epochs=6,
        early_stopping="auto",
        n_iter_no_change=np.inf,
        random_state=0,
    ).fit(X[:300] / 16, y[:300])
    assert max(clf.validation_scores_) < 0  # a negative log-loss
    ax = plot_validation_curves(clf, ["auto"])
    assert ax.get_ylabel() == "validation negative log-loss"
    assert_allclose(_line(ax, "auto").get_ydata(), clf.validation_scores_)
    with pytest.raises(ValueError, match="negative log-loss, which is not a fraction"):
        plot_validation_curves(clf, percent=True)
    with pytest.raises(ValueError, match="accuracy, negative log-loss"):
        plot_validation_curves([fcnn_val_fit, clf])


def test_plot_validation_curves_warm_start_epochs():
    """Check that a warm-started curve continues at the epochs of the first fit."""
    X, y = load_digits(return_X_y=True)
    clf = FreeNetClassifier(
        k=8,
        max_epochs=3,
        n_iter_no_change=np.inf,
        evolve_rounds=4,
        evolve_every=1,
        evolve_every_batches=None,
        initial_graph="dense",
        epsilon=0.5,
        lr=1e-2,
        random_state=0,
    ).fit(X[:200] / 16, y[:200])
    assert clf.validation_scores_ is None
    clf.set_params(warm_start=True, early_stopping=True, max_epochs=5)
    clf.fit(X[:200] / 16, y[:200])
    assert len(clf.validation_scores_) == 5
    ax = plot_validation_curves(clf, "warm")
    assert_array_equal(_line(ax, "warm").get_xdata(), np.arange(4, 9))
    # only the rounds of the second fit (epochs 4 on) lie on the curve
    epochs = np.array([r["epoch"] for r in clf.evolution_history_])
    assert (epochs <= 3).any() and (epochs > 3).any()
    (markers,) = _round_markers(ax)
    assert_array_equal(markers.get_xdata(), epochs[epochs > 3])
    assert_allclose(
        markers.get_ydata(),
        100 * np.array(clf.validation_scores_)[epochs[epochs > 3] - 4],
    )


def test_plot_validation_curves_sklearn_mlp(fcnn_val_fit):
    """Check that scikit-learn's MLP, fitted with early stopping, is drawn too."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    with pytest.warns(ConvergenceWarning):
        mlp = MLPClassifier((12,), max_iter=8, early_stopping=True, random_state=0).fit(
            X[:300] / 16, y[:300]
        )
    ax = plot_validation_curves([fcnn_val_fit, mlp])
    assert [line.get_label() for line in ax.lines] == ["FCNN (k=12)", "MLPClassifier"]
    assert_allclose(
        _line(ax, "MLPClassifier").get_ydata(), 100 * np.array(mlp.validation_scores_)
    )


def test_plot_validation_curves_needs_validation_scores(fcnn_val_fit, no_rounds_fit):
    """Check that a fit without early_stopping is named and told how to refit."""
    assert no_rounds_fit.validation_scores_ is None
    with pytest.raises(
        ValueError,
        match=r"Estimator 1 \('plain'\) has no validation scores.*"
        r"early_stopping=True.*n_iter_no_change=np.inf",
    ):
        plot_validation_curves([fcnn_val_fit, no_rounds_fit], ["fcnn", "plain"])
    with pytest.raises(ValueError, match=r"^Estimator 0 has no validation scores"):
        plot_validation_curves(no_rounds_fit)


def test_plot_validation_curves_unfitted(fcnn_val_fit):
    """Check that an unfitted estimator raises NotFittedError naming it."""
    with pytest.raises(NotFittedError, match=r"Estimator 1, a FreeNetRegressor"):
        plot_validation_curves([fcnn_val_fit, FreeNetRegressor(k=5)])
    with pytest.raises(NotFittedError, match=r"Estimator 0 \('100%'\)"):
        plot_validation_curves({"100%": FreeNetClassifier(k=5)})


@pytest.mark.parametrize(
    "make, kwargs, match",
    [
        (lambda clf: [], {}, "got no estimator"),
        (lambda clf: {}, {}, "got no estimator"),
        (lambda clf: "clf", {}, "expects a fitted estimator, a sequence"),
        (lambda clf: 3, {}, "expects a fitted estimator, a sequence"),
        (lambda clf: [clf, clf], {"labels": ["a"]}, r"labels holds 1 name\(s\) for 2"),
        (lambda clf: clf, {"labels": ["a", "b"]}, r"labels holds 2 name\(s\) for 1"),
        (lambda clf: {"a": clf}, {"labels": ["a"]}, "labels must be None when"),
        (lambda clf: clf, {"percent": "yes"}, "percent must be None, True or False"),
    ],
)
def test_plot_validation_curves_bad_input(make, kwargs, match, fcnn_val_fit):
    """Check that bad estimators, labels or percent raise a clear ValueError."""
    with pytest.raises(ValueError, match=match):
        plot_validation_curves(make(fcnn_val_fit), **kwargs)
