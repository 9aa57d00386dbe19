# SPDX-License-Identifier: BSD-3-Clause
"""Table 2's figures: Figs. 5, 8 and 6 across k from the cells; 4, 6, 7, 9 from fits.

- ``fig5_<dataset>.png``: test accuracy against k (the main methods, and the
  paper's rows); ``fig8_<dataset>.png``: edges at the start and end of evolution;
  ``fig6k_<dataset>.png``: edges pruned and added in every round against the
  optimizer step, one line per k (FreeEvolve from the dense start at the reported
  epsilon, seed 0): Fig. 6 across k.
- :func:`figures` fits, on Fashion-MNIST with the table's budget, the FCNN and
  FreeEvolve (dense start, epsilon 0.25) at k = 40 and k = 90, each with
  ``early_stopping=True`` and ``n_iter_no_change=np.inf`` (so it records the
  validation accuracy of every epoch on its own 10 % hold-out, and trains the
  whole budget), and draws ``fig4_fashion_mnist.png`` (validation accuracy over
  the epochs) and, for the FreeEvolve net at k = 90, ``fig6`` (edges added and
  pruned per round), ``fig7`` (NCAM / NCIM distributions, first and last round)
  and ``fig9`` (edges over training).

Figs. 5 and 8 plot benchmark records, so their functions live here rather than
in :mod:`sklearn_freenets.plotting` (which plots fitted estimators):
:func:`plot_accuracy_vs_neurons` and :func:`plot_edges_vs_neurons` take a list of
dicts (or a :class:`pandas.DataFrame` with these columns), one per fitted model:
``dataset``, ``method`` (for example ``"FreeEvolve"``, ``"FCNN"``,
``"FCNN (param-matched)"``), ``k`` (number of neurons), ``seed``, ``accuracy``
(test accuracy as a fraction in [0, 1]) and optionally ``edges_start`` /
``edges_end`` (edges before the first and after the last FreeEvolve round) and
``paper_accuracy`` (the paper's number in percent, or None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from sklearn_freenets import FreeNetClassifier, plotting

from .common import DATASET_NAMES, load_dataset, load_records
from .run import EVOLUTION, REPORTED_EPSILON, TRAINING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

MAIN = ("FreeEvolve", "FCNN", "Dense", "FCNN (param-matched)")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ----------------------------------------------- Figs. 5 and 8: benchmark records
def _get_ax(ax: Axes | None, caller_name: str) -> Axes:
    """Return ``ax``, or the axes of a new figure when ``ax`` is None.

    The private helper of :mod:`sklearn_freenets.plotting`, copied with its
    message for a missing matplotlib.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"{caller_name} requires matplotlib. You can install matplotlib with "
            "`pip install matplotlib` or `pip install sklearn-freenets[plot]`."
        ) from e
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(layout="constrained")
    return ax


def _records(
    results: Any,
    *,
    dataset: str | None,
    required: Sequence[str],
    caller_name: str,
) -> list[dict[str, Any]]:
    """Validate benchmark records and keep those of one data set."""
    if hasattr(results, "to_dict") and hasattr(results, "columns"):  # DataFrame
        results = results.to_dict("records")
    if isinstance(results, Mapping) or not isinstance(results, Iterable):
        raise ValueError(
            f"{caller_name} expects a list of dicts (benchmark records), got "
            f"{type(results).__name__}."
        )
    records = list(results)
    if not all(isinstance(r, Mapping) for r in records):
        raise ValueError(f"{caller_name} expects every benchmark record to be a dict.")
    records = [dict(r) for r in records]
    if not records:
        raise ValueError(f"{caller_name} got no benchmark records.")
    for i, record in enumerate(records):
        missing = [key for key in ("dataset", *required) if key not in record]
        if missing:
            raise ValueError(f"Benchmark record {i} lacks the key(s) {missing}.")
    datasets = sorted({str(r["dataset"]) for r in records})
    if dataset is None:
        if len(datasets) > 1:
            raise ValueError(
                f"The records hold several data sets {datasets}; choose one with "
                "dataset=..."
            )
        return records
    kept = [r for r in records if str(r["dataset"]) == dataset]
    if not kept:
        raise ValueError(
            f"No benchmark record for dataset={dataset!r}; the records hold {datasets}."
        )
    return kept


def _is_missing(value: Any) -> bool:
    """True for None and NaN (a missing value in a DataFrame)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _method_colors(methods: Sequence[str]) -> dict[str, Any]:
    """Colour of each method, following matplotlib's property cycle."""
    import matplotlib as mpl

    cycle = mpl.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    return {m: cycle[i % len(cycle)] for i, m in enumerate(methods)}


def _integer_xaxis(ax: Axes, ticks: ArrayLike) -> None:
    """Put ticks at ``ticks`` when they are few, else integer ticks."""
    from matplotlib.ticker import MaxNLocator

    ticks = np.unique(np.asarray(ticks))
    if 0 < len(ticks) <= 12:
        ax.set_xticks(ticks)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_accuracy_vs_neurons(
    results: Sequence[Mapping[str, Any]] | Any,
    *,
    dataset: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot the test accuracy against the number of neurons, per method.

    The paper's Fig. 5: for each method, the mean accuracy (in percent) over the
    seeds at each ``k``, with error bars of one standard deviation over the
    seeds. Where the records carry the paper's accuracy (``paper_accuracy``),
    it is drawn as a dashed line of the same colour, labelled
    ``"paper: <method>"``.

    Parameters
    ----------
    results : list of dict or pandas.DataFrame
        Benchmark records with the keys ``dataset``, ``method``, ``k``,
        ``seed``, ``accuracy`` (a fraction in [0, 1]) and optionally
        ``paper_accuracy`` (percent, or None). See the module docstring.
    dataset : str, default=None
        Keep the records of this data set. None: the records must all be of
        one data set.
    ax : matplotlib Axes, default=None
        Axes to draw on. None: a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on. Each method's mean curve is an error-bar container
        in ``ax.containers`` labelled with the method's name (its data line is
        ``container.lines[0]``); the paper's numbers are the lines labelled
        ``"paper: <method>"``.

    See Also
    --------
    plot_edges_vs_neurons : Edges at the start and end of evolution over ``k``.
    """
    records = _records(
        results,
        dataset=dataset,
        required=("method", "k", "accuracy"),
        caller_name="plot_accuracy_vs_neurons",
    )
    for record in records:
        acc = float(record["accuracy"])
        if not 0.0 <= acc <= 1.0:
            raise ValueError(
                f"accuracy must be a fraction in [0, 1], got {acc} (method "
                f"{record['method']!r}, k={record['k']}); paper_accuracy is the one "
                "given in percent."
            )
    ax = _get_ax(ax, "plot_accuracy_vs_neurons")
    methods = list(dict.fromkeys(str(r["method"]) for r in records))
    colors = _method_colors(methods)
    for method in methods:
        rows = [r for r in records if str(r["method"]) == method]
        ks = np.array(sorted({int(r["k"]) for r in rows}))
        percent = [
            [100.0 * float(r["accuracy"]) for r in rows if int(r["k"]) == k] for k in ks
        ]
        mean = np.array([np.mean(p) for p in percent])
        std = np.array([np.std(p) for p in percent])
        ax.errorbar(
            ks,
            mean,
            yerr=std,
            marker="o",
            markersize=5,
            capsize=3,
            color=colors[method],
            label=method,
        )
        paper = {}
        for k in ks:
            values = [
                float(r["paper_accuracy"])
                for r in rows
                if int(r["k"]) == k and not _is_missing(r.get("paper_accuracy"))
            ]
            if values:
                paper[k] = float(np.mean(values))
        if paper:
            ax.plot(
                list(paper),
                list(paper.values()),
                linestyle="--",
                marker="x",
                color=colors[method],
                alpha=0.8,
                label=f"paper: {method}",
            )
    _integer_xaxis(ax, [r["k"] for r in records])
    ax.set_xlabel("number of neurons k")
    ax.set_ylabel("test accuracy (%)")
    name = str(records[0]["dataset"])
    ax.set_title(f"Accuracy vs. neurons ({name})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_edges_vs_neurons(
    results: Sequence[Mapping[str, Any]] | Any,
    *,
    dataset: str | None = None,
    method: str = "FreeEvolve",
    ax: Axes | None = None,
) -> Axes:
    """Plot the number of edges at the start and end of evolution against ``k``.

    The paper's Fig. 8: from the records of ``method``, the mean (over seeds)
    number of edges before the first FreeEvolve round (``edges_start``) and
    after the last one (``edges_end``) at each ``k``, with error bars of one
    standard deviation, and the dense count ``k (k - 1) / 2`` as a dotted
    reference.

    Parameters
    ----------
    results : list of dict or pandas.DataFrame
        Benchmark records with the keys ``dataset``, ``method``, ``k``,
        ``edges_start`` and ``edges_end``. See the module docstring.
    dataset : str, default=None
        Keep the records of this data set. None: the records must all be of
        one data set.
    method : str, default="FreeEvolve"
        Method whose records are plotted.
    ax : matplotlib Axes, default=None
        Axes to draw on. None: a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on: the error-bar containers (``ax.containers``)
        labelled ``"start of evolution"`` and ``"end of evolution"``, and the
        line labelled ``"dense: k(k-1)/2"``.

    See Also
    --------
    sklearn_freenets.plotting.plot_edges_over_training : Edges per epoch of one
        fitted estimator.
    """
    records = _records(
        results,
        dataset=dataset,
        required=("method", "k"),
        caller_name="plot_edges_vs_neurons",
    )
    rows = [
        r
        for r in records
        if str(r["method"]) == method
        and not _is_missing(r.get("edges_start"))
        and not _is_missing(r.get("edges_end"))
    ]
    if not rows:
        methods = sorted({str(r["method"]) for r in records})
        raise ValueError(
            f"No record of method={method!r} with edges_start and edges_end "
            f"(methods in the records: {methods})."
        )
    ax = _get_ax(ax, "plot_edges_vs_neurons")
    ks = np.array(sorted({int(r["k"]) for r in rows}))
    for key, label, color, marker in (
        ("edges_start", "start of evolution", "tab:blue", "o"),
        ("edges_end", "end of evolution", "tab:orange", "s"),
    ):
        values = [[float(r[key]) for r in rows if int(r["k"]) == k] for k in ks]
        ax.errorbar(
            ks,
            np.array([np.mean(v) for v in values]),
            yerr=np.array([np.std(v) for v in values]),
            marker=marker,
            markersize=5,
            capsize=3,
            color=color,
            label=label,
        )
    k_grid = np.linspace(ks.min(), ks.max(), 200) if len(ks) > 1 else ks
    ax.plot(
        k_grid,
        k_grid * (k_grid - 1) / 2,
        linestyle=":",
        color="0.4",
        label="dense: k(k-1)/2",
    )
    _integer_xaxis(ax, ks)
    ax.set_xlabel("number of neurons k")
    ax.set_ylabel("number of edges")
    ax.set_title(f"Edges vs. neurons ({method}, {rows[0]['dataset']})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def from_cells(out: Path) -> None:
    """Figs. 5, 8 and 6 across k per data set, from the finished cells."""
    plt = _pyplot()
    records = load_records(out)
    main = f"FreeEvolve eps={REPORTED_EPSILON}"
    for dataset in sorted({r["dataset"] for r in records}):
        recs = [
            {**r, "method": r["family"]}
            for r in records
            if r["dataset"] == dataset
            and (r["method"] == main or (r["family"] in MAIN[1:] and r["rule"] is None))
        ]
        for name, func in (
            ("fig5", plot_accuracy_vs_neurons),
            ("fig8", plot_edges_vs_neurons),
        ):
            shown = recs if name == "fig5" else [r for r in recs if r["rule"]]
            if not shown:
                continue
            fig, ax = plt.subplots(figsize=(6, 4))
            func(shown, dataset=dataset, ax=ax)
            ax.set_title(f"{DATASET_NAMES.get(dataset, dataset)}: {ax.get_title()}")
            fig.tight_layout()
            fig.savefig(out / f"{name}_{dataset}.png", dpi=120)
            plt.close(fig)
            print(f"wrote {out / f'{name}_{dataset}.png'}")
        cells = sorted(
            (r for r in records if r["dataset"] == dataset and r["method"] == main),
            key=lambda r: r["k"],
        )
        cells = [r for r in cells if r["seed"] == 0 and r["rounds"]]
        if cells:
            fig = _rounds_across_k(plt, cells)
            fig.suptitle(
                f"{DATASET_NAMES.get(dataset, dataset)}: edges changed per round, "
                f"{main} from the dense graph (seed 0)"
            )
            fig.tight_layout()
            fig.savefig(out / f"fig6k_{dataset}.png", dpi=120)
            plt.close(fig)
            print(f"wrote {out / f'fig6k_{dataset}.png'}")


def _rounds_across_k(plt, cells: list[dict]):
    """Edges pruned (left) and added (right) per round against the step, per k."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(cells)))
    for cell, color in zip(cells, colors, strict=True):
        steps = [r["step"] for r in cell["rounds"]]
        for ax, key in ((left, "n_pruned"), (right, "n_added")):
            ax.plot(
                steps,
                [r[key] for r in cell["rounds"]],
                marker="o",
                markersize=3,
                color=color,
                label=f"k={cell['k']}",
            )
    for ax, what, key in ((left, "pruned", "n_pruned"), (right, "added", "n_added")):
        top = max(r[key] for cell in cells for r in cell["rounds"])
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(plt.matplotlib.ticker.NullFormatter())
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylim(-0.3, 2 * top + 2)
        ax.set_xlabel("optimizer step of the round")
        ax.set_ylabel(f"edges {what} in the round")
        ax.grid(True, alpha=0.3)
    left.legend(fontsize="small", ncol=2)
    return fig


def figures(out: Path, data_home: str | None = None, epochs: int | None = None) -> None:
    """Figs. 4, 6, 7 and 9 from fits on Fashion-MNIST (see the module docstring)."""
    plt = _pyplot()
    data = load_dataset("fashion_mnist", data_home)
    X, y = data["X_train"], data["y_train"]
    training = {**TRAINING, "max_epochs": epochs or TRAINING["max_epochs"]}
    common = {**training, "early_stopping": True, "random_state": 0, "n_threads": 1}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    evolved = None
    for ax, k in zip(axes, (40, 90), strict=True):
        fcnn = FreeNetClassifier(k, initial_graph="empty", evolve_rounds=0, **common)
        free = FreeNetClassifier(
            k, initial_graph="dense", epsilon=REPORTED_EPSILON, **EVOLUTION, **common
        )
        fcnn.fit(X, y)
        free.fit(X, y)
        plotting.plot_validation_curves(
            {f"FCNN (k={k})": fcnn, f"FreeEvolve (k={k}, dense start)": free}, ax=ax
        )
        ax.set_title(f"Fashion-MNIST, k = {k}")
        last = {
            name: 100 * np.mean(est.validation_scores_[-5:])
            for name, est in (("FCNN", fcnn), ("FreeEvolve", free))
        }
        print(f"k={k}: mean validation accuracy of the last 5 epochs {last}")
        evolved = free
    fig.tight_layout()
    fig.savefig(out / "fig4_fashion_mnist.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'fig4_fashion_mnist.png'}")
    for name, func in (
        ("fig6", plotting.plot_edge_changes),
        ("fig7", plotting.plot_coactivation_distributions),
        ("fig9", plotting.plot_edges_over_training),
    ):
        if name == "fig7":  # NCAM and NCIM side by side
            fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        else:
            fig, ax = plt.subplots(figsize=(6, 4))
        func(evolved, ax=ax)
        fig.suptitle("Fashion-MNIST, k = 90, FreeEvolve from the dense graph")
        fig.tight_layout()
        fig.savefig(out / f"{name}_fashion_mnist_dense.png", dpi=120)
        plt.close(fig)
        print(f"wrote {out / f'{name}_fashion_mnist_dense.png'}")
