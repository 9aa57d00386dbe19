# SPDX-License-Identifier: BSD-3-Clause
"""Plots of FreeNets and of their topology evolution (the figures of the paper).

Every ``plot_*`` function takes a fitted :class:`~sklearn_freenets.FreeNetClassifier`
/ :class:`~sklearn_freenets.FreeNetRegressor` (or an adjacency matrix) and an
optional matplotlib ``ax``, draws on it (on a new figure when ``ax`` is None) and
returns it:

- :func:`plot_validation_curves`: validation accuracy (or R^2) per epoch of one
  or more estimators fitted with ``early_stopping=True`` (paper, Fig. 4);
- :func:`plot_edge_changes`: edges added and pruned per FreeEvolve round (Fig. 6);
- :func:`plot_coactivation_distributions`: distributions of the co-activation
  (NCAM) and co-inactivation (NCIM) values (Fig. 7);
- :func:`plot_edges_over_training`: number of edges per epoch (Fig. 9);
- :func:`plot_adjacency`: the adjacency matrix as an image;
- :func:`plot_graph`: the graph drawn by topological depth, with the helper
  :func:`topological_depth`.

matplotlib is an optional dependency, imported only when a plot is drawn; install
it with ``pip install sklearn-freenets[plot]``.

The paper's Figs. 5 and 8 (accuracy and edges over the number of neurons) plot
benchmark records rather than fitted estimators; they are drawn by the
repository's ``benchmarks/table2/plots.py``, not by this module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import is_classifier, is_regressor
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "plot_adjacency",
    "plot_coactivation_distributions",
    "plot_edge_changes",
    "plot_edges_over_training",
    "plot_graph",
    "plot_validation_curves",
    "topological_depth",
]

_ADDED_COLOR = "tab:green"
_PRUNED_COLOR = "tab:red"

# Public functions that plotted benchmark records; they left the package.
_MOVED_TO_BENCHMARKS = ("plot_accuracy_vs_neurons", "plot_edges_vs_neurons")

if not TYPE_CHECKING:  # a module __getattr__ would hide every typo from mypy

    def __getattr__(name: str) -> Any:
        """Explain where the plots of benchmark records went (PEP 562).

        Raises
        ------
        AttributeError
            Always: with the new place of a moved plot, else the usual message.
        """
        if name in _MOVED_TO_BENCHMARKS:
            raise AttributeError(
                f"sklearn_freenets.plotting.{name} was removed: it plotted benchmark "
                "records (the paper's Figs. 5 and 8), not fitted estimators, and "
                "moved with the benchmark to benchmarks/table2/plots.py in the "
                "sklearn-freenets repository (not part of the installed package)."
            )
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- helpers
def _require_matplotlib(caller_name: str) -> None:
    """Run scikit-learn's ``check_matplotlib_support``, adding the ``plot`` extra.

    Parameters
    ----------
    caller_name : str
        Name of the function that needs matplotlib, quoted in the message.
    """
    try:
        check_matplotlib_support(caller_name)
    except ImportError as e:
        hint = "`pip install sklearn-freenets[plot]`"
        raise ImportError(f"{str(e).rstrip('.')} or {hint}.") from e


def _get_ax(ax: Axes | None, caller_name: str) -> Axes:
    """Return ``ax``, or the axes of a new figure when ``ax`` is None."""
    _require_matplotlib(caller_name)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(layout="constrained")
    return ax


def _fitted_history(estimator: Any, *, need_rounds: bool) -> list[dict[str, Any]]:
    """Check that ``estimator`` is a fitted FreeNet and return its evolution history."""
    check_is_fitted(estimator)
    if not hasattr(estimator, "evolution_history_"):
        raise ValueError(
            f"Expected a fitted FreeNetClassifier or FreeNetRegressor, got "
            f"{type(estimator).__name__}, which has no evolution_history_ attribute."
        )
    history = list(estimator.evolution_history_)
    if need_rounds and not history:
        raise ValueError(
            "The estimator has no FreeEvolve rounds in evolution_history_ (it was "
            "fitted with evolve_rounds=0, or training stopped before the first "
            "round, which runs after evolve_every epochs); this plot needs at "
            "least one round."
        )
    return history


def _initial_edges(record: Mapping[str, Any]) -> int:
    """Number of edges before the round of ``record``.

    Derived as ``n_edges - n_added + n_pruned`` rather than read from
    ``n_edges_before``, so that the count stays consistent with the round's
    additions and prunings.
    """
    return int(record["n_edges"]) - int(record["n_added"]) + int(record["n_pruned"])


def _as_adjacency(estimator_or_matrix: Any) -> NDArray[np.bool_]:
    """Return the boolean adjacency matrix of a fitted FreeNet or of an array."""
    if hasattr(estimator_or_matrix, "fit") and hasattr(
        estimator_or_matrix, "get_params"
    ):
        check_is_fitted(estimator_or_matrix)
        if not hasattr(estimator_or_matrix, "adjacency_"):
            raise ValueError(
                f"{type(estimator_or_matrix).__name__} has no adjacency_ attribute; "
                "pass a fitted FreeNetClassifier / FreeNetRegressor or a (k, k) "
                "adjacency matrix."
            )
        matrix = estimator_or_matrix.adjacency_
    else:
        matrix = estimator_or_matrix
    A = np.asarray(matrix)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(
            f"The adjacency matrix must be square of shape (k, k), got shape {A.shape}."
        )
    if A.dtype != np.bool_:
        if not np.issubdtype(A.dtype, np.number) or not np.isin(A, (0, 1)).all():
            raise ValueError("The adjacency matrix must hold only 0/1 or booleans.")
        A = A.astype(bool)
    return A


def _integer_xaxis(ax: Axes, ticks: ArrayLike) -> None:
    """Put ticks at ``ticks`` when they are few, else integer ticks."""
    from matplotlib.ticker import MaxNLocator

    ticks = np.unique(np.asarray(ticks))
    if 0 < len(ticks) <= 12:
        ax.set_xticks(ticks)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# ------------------------------------------------------------------------ Fig. 4
def _named_estimators(
    estimators: Any, labels: Sequence[str] | str | None
) -> tuple[list[Any], list[str | None]]:
    """Split ``estimators`` (one, a sequence or a mapping) into estimators and labels.

    A label is None where the caller gave none; the plot then derives it from
    the fitted estimator (:func:`_default_label`).
    """
    names: list[str | None]
    if isinstance(estimators, Mapping):
        if labels is not None:
            raise ValueError(
                "labels must be None when estimators is a mapping: its keys are the "
                "labels."
            )
        ests = list(estimators.values())
        names = [str(key) for key in estimators]
    else:
        if hasattr(estimators, "get_params") or hasattr(
            estimators, "validation_scores_"
        ):
            ests = [estimators]
        elif isinstance(estimators, (str, bytes)) or not isinstance(
            estimators, Iterable
        ):
            raise ValueError(
                "plot_validation_curves expects a fitted estimator, a sequence of "
                "them or a mapping label -> estimator, got "
                f"{type(estimators).__name__}."
            )
        else:
            ests = list(estimators)
        if labels is None:
            names = [None] * len(ests)
        else:
            names = [labels] if isinstance(labels, str) else [str(n) for n in labels]
    if not ests:
        raise ValueError("plot_validation_curves got no estimator.")
    if len(names) != len(ests):
        raise ValueError(
            f"labels holds {len(names)} name(s) for {len(ests)} estimator(s); give "
            "one name per estimator, or labels=None."
        )
    return ests, names


# What validation_scores_ holds, by the kind of estimator (see _score_kind).
_QUANTITIES = {
    "classifier": "accuracy",
    "classifier_loss": "negative log-loss",
    "regressor": "R²",
    "other": "score",
}


def _score_kind(estimator: Any) -> str:
    """Which score an estimator's ``validation_scores_`` holds (a key of
    ``_QUANTITIES``): a FreeNet classifier fitted with ``early_stopping="auto"``
    records the negative log-loss, other classifiers accuracy."""
    if is_classifier(estimator):
        auto = getattr(estimator, "early_stopping", None) == "auto"
        return "classifier_loss" if auto else "classifier"
    return "regressor" if is_regressor(estimator) else "other"


def _validation_epochs(estimator: Any, n_scores: int) -> NDArray[np.intp]:
    """The epochs (1-based) at which the ``n_scores`` validation scores were taken.

    The rows of ``net_.history`` that hold a ``valid_score`` (the epochs of a
    warm-started fit continue those of the fits before it, which may have been
    fitted without ``early_stopping``), else ``1 .. n_scores``.
    """
    history = getattr(getattr(estimator, "net_", None), "history", None)
    if history is not None:
        try:
            epochs = [i for i, row in enumerate(history, 1) if "valid_score" in row]
        except TypeError:  # not a sequence of dicts
            epochs = []
        if len(epochs) == n_scores:
            return np.asarray(epochs, dtype=np.intp)
    return np.arange(1, n_scores + 1, dtype=np.intp)


def _default_label(estimator: Any) -> str:
    """Legend label of a fitted estimator given without a label."""
    k = getattr(estimator, "k", None)
    n_edges = getattr(estimator, "n_edges_", None)
    if k is None or n_edges is None:
        return type(estimator).__name__
    if getattr(estimator, "evolution_history_", None):
        return f"FreeEvolve (k={k}, {n_edges} edges)"
    if n_edges == 0:  # one hidden layer of k neurons: the paper's FCNN
        return f"FCNN (k={k})"
    return f"FreeNet (k={k}, {n_edges} edges)"


def plot_validation_curves(
    estimators: Any,
    labels: Sequence[str] | str | None = None,
    *,
    ax: Axes | None = None,
    mark_rounds: bool = True,
    percent: bool | None = None,
) -> Axes:
    """Plot the validation score against the training epoch, one curve per estimator.

    The paper's Fig. 4: the validation accuracy after every epoch of, for
    example, FreeEvolve and the FCNN of the same ``k``, read from each
    estimator's ``validation_scores_``. The estimators must have been fitted
    with ``early_stopping=True`` (which holds out ``validation_fraction`` of
    the rows and scores them after every epoch); add
    ``n_iter_no_change=np.inf`` for curves over the whole ``max_epochs``
    budget rather than up to the early stop. The epochs of the FreeEvolve
    rounds are marked on each curve (hollow circles, one legend entry
    ``"FreeEvolve round"`` for all curves).

    Parameters
    ----------
    estimators : estimator, sequence of estimators or dict of str to estimator
        Fitted :class:`~sklearn_freenets.FreeNetClassifier` or
        :class:`~sklearn_freenets.FreeNetRegressor` instances (any fitted
        estimator with ``validation_scores_``, such as scikit-learn's
        :class:`~sklearn.neural_network.MLPClassifier`, works too). All
        classifiers (accuracy) or all regressors (R^2). A dict maps each
        legend label to its estimator.
    labels : sequence of str or str, default=None
        Legend label of each estimator, in order (a str: the label of a single
        estimator). None: the keys of a dict, else derived from each estimator:
        ``"FreeEvolve (k=.., .. edges)"`` when it ran FreeEvolve rounds,
        ``"FCNN (k=..)"`` for the empty graph without rounds (one hidden layer
        of ``k`` neurons), ``"FreeNet (k=.., .. edges)"`` for another graph
        without rounds, and the class name for other estimators. Must be None
        when ``estimators`` is a dict.
    ax : matplotlib Axes, default=None
        Axes to draw on. None: a new figure.
    mark_rounds : bool, default=True
        Mark each FreeEvolve round of an estimator (``evolution_history_``)
        at ``(epoch, score)`` on its curve, for the rounds whose epoch the
        curve covers.
    percent : bool, default=None
        Show classifiers' accuracy in percent (True) or as a fraction in
        [0, 1] (False). None: percent for classifiers. Regressors' R^2 is
        always shown as it is; ``percent=True`` with regressors raises.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on. ``ax.lines`` holds, for each estimator in order,
        its curve (labelled with its label; the epochs as x data, the scores
        as y data) followed, when it has rounds to mark, by the round markers
        (a line labelled ``"_FreeEvolve rounds of <label>"``, which the legend
        skips; the legend's ``"FreeEvolve round"`` entry is a proxy artist).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If an estimator is not fitted.
    ValueError
        If there is no estimator, the labels do not match the estimators, an
        estimator has no validation scores (fitted without
        ``early_stopping=True``), or classifiers and regressors are mixed.

    See Also
    --------
    plot_edges_over_training : Edges and training loss per epoch of one estimator.

    Notes
    -----
    A round runs before the validation rows of its epoch are scored, so the
    score marked at a round is that of the changed graph; rounds that ran
    within the same epoch share its marker. The epochs are those of
    ``net_.history``: after a warm start the curve continues at the epochs
    of the fits before it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_freenets import FreeNetClassifier
    >>> from sklearn_freenets.plotting import plot_validation_curves
    >>> X, y = load_iris(return_X_y=True)
    >>> params = dict(k=8, max_epochs=6, early_stopping=True,
    ...               n_iter_no_change=np.inf, lr=1e-2, random_state=0)
    >>> free = FreeNetClassifier(evolve_rounds=2, evolve_every=2, **params).fit(X, y)
    >>> fcnn = FreeNetClassifier(evolve_rounds=0, **params).fit(X, y)
    >>> ax = plot_validation_curves({"FreeEvolve": free, "FCNN": fcnn})
    >>> ax.get_ylabel()
    'validation accuracy (%)'
    >>> ax.get_legend_handles_labels()[1][:2]
    ['FreeEvolve', 'FCNN']
    """
    if percent is not None and not isinstance(percent, (bool, np.bool_)):
        raise ValueError(f"percent must be None, True or False, got {percent!r}.")
    ests, names = _named_estimators(estimators, labels)
    curves: list[tuple[Any, str, NDArray[np.intp], NDArray[np.float64]]] = []
    kinds: set[str] = set()
    for i, (estimator, name) in enumerate(zip(ests, names, strict=True)):
        where = f"Estimator {i} ({name!r})" if name is not None else f"Estimator {i}"
        check_is_fitted(
            estimator,
            msg=(
                where.replace("%", "%%") + ", a %(name)s, is not fitted yet: fit it "
                "with early_stopping=True before plotting its validation curve."
            ),
        )
        if not hasattr(estimator, "validation_scores_"):
            raise ValueError(
                f"{where} is a {type(estimator).__name__}, which has no "
                "validation_scores_ attribute; expected a fitted FreeNetClassifier "
                "or FreeNetRegressor."
            )
        if estimator.validation_scores_ is None:
            raise ValueError(
                f"{where} has no validation scores (validation_scores_ is None): fit "
                "it with early_stopping=True, which scores the held-out "
                "validation_fraction of the rows after every epoch (and with "
                "n_iter_no_change=np.inf to train, and score, the whole max_epochs "
                "budget)."
            )
        scores = np.asarray(estimator.validation_scores_, dtype=float).ravel()
        if scores.size == 0:
            raise ValueError(f"{where} has no validation scores (an empty list).")
        label = _default_label(estimator) if name is None else name
        epochs = _validation_epochs(estimator, scores.size)
        curves.append((estimator, label, epochs, scores))
        kinds.add(_score_kind(estimator))
    if len(kinds) > 1:
        raise ValueError(
            "plot_validation_curves cannot draw different validation scores "
            f"({', '.join(sorted(_QUANTITIES[k] for k in kinds))}) on one axis; "
            "plot them separately."
        )
    (kind,) = kinds
    if percent and kind != "classifier":
        raise ValueError(
            "percent=True is for classifiers' accuracy; these estimators' "
            f"validation score is the {_QUANTITIES[kind]}, which is not a fraction. "
            "Use percent=None."
        )
    in_percent = kind == "classifier" and percent is not False
    scale = 100.0 if in_percent else 1.0
    ax = _get_ax(ax, "plot_validation_curves")
    marked = False
    for estimator, label, epochs, scores in curves:
        (line,) = ax.plot(epochs, scale * scores, linewidth=1.8, label=label)
        if not mark_rounds:
            continue
        history = getattr(estimator, "evolution_history_", None) or []
        at_round = np.isin(epochs, [int(record["epoch"]) for record in history])
        if at_round.any():
            ax.plot(
                epochs[at_round],
                scale * scores[at_round],
                linestyle="none",
                marker="o",
                markersize=6,
                color=line.get_color(),  # also leaves the colour cycle alone
                markerfacecolor="white",
                markeredgewidth=1.5,
                zorder=line.get_zorder() + 0.1,
                label=f"_FreeEvolve rounds of {label}",
            )
            marked = True
    quantity = f"validation {_QUANTITIES[kind]}"
    ylabel = quantity + (" (%)" if in_percent else "")
    _integer_xaxis(ax, np.concatenate([epochs for _, _, epochs, _ in curves]))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{quantity[0].upper()}{quantity[1:]} over training")
    ax.grid(True, alpha=0.3)
    handles, texts = ax.get_legend_handles_labels()
    if marked:
        from matplotlib.lines import Line2D

        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=6,
                markerfacecolor="white",
                markeredgecolor="0.3",
                markeredgewidth=1.5,
            )
        )
        texts.append("FreeEvolve round")
    ax.legend(handles, texts, fontsize="small", loc="best")
    return ax


# ------------------------------------------------------------- Fig. 6, 7 and 9
def plot_edge_changes(estimator: Any, *, ax: Axes | None = None) -> Axes:
    """Plot the edges added and pruned in each FreeEvolve round.

    The paper's Fig. 6: one bar per round going up by the number of edges
    added (``n_added``) and one going down by the number pruned
    (``n_pruned``), read from ``estimator.evolution_history_``.

    Parameters
    ----------
    estimator : FreeNetClassifier or FreeNetRegressor
        A fitted estimator with at least one FreeEvolve round.
    ax : matplotlib Axes, default=None
        Axes to draw on. None: a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on. ``ax.containers[0]`` holds the bars of added edges
        (heights ``n_added``), ``ax.containers[1]`` those of pruned edges
        (heights ``-n_pruned``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the estimator has no FreeEvolve round.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_freenets import FreeNetClassifier
    >>> from sklearn_freenets.plotting import plot_edge_changes
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FreeNetClassifier(k=8, max_epochs=4, n_iter_no_change=np.inf,
    ...                         evolve_rounds=2, evolve_every=1,
    ...                         evolve_every_batches=None, lr=1e-2,
    ...                         random_state=0).fit(X, y)
    >>> ax = plot_edge_changes(clf)
    >>> len(ax.containers[0]) == len(clf.evolution_history_)
    True
    """
    history = _fitted_history(estimator, need_rounds=True)
    ax = _get_ax(ax, "plot_edge_changes")
    rounds = np.array([int(r["round"]) for r in history])
    added = np.array([int(r["n_added"]) for r in history])
    pruned = np.array([int(r["n_pruned"]) for r in history])
    bars_added = ax.bar(rounds, added, width=0.7, color=_ADDED_COLOR, label="added")
    bars_pruned = ax.bar(
        rounds, -pruned, width=0.7, color=_PRUNED_COLOR, label="pruned"
    )
    if len(rounds) <= 30:  # print the counts of the non-empty bars
        for bars, counts in ((bars_added, added), (bars_pruned, pruned)):
            ax.bar_label(
                bars,
                labels=[f"{c}" if c else "" for c in counts],
                padding=2,
                fontsize="small",
            )
    ax.axhline(0, color="black", linewidth=0.8)
    if len(rounds) <= 12:
        ax.set_xticks(
            rounds,
            [f"{r}\nep. {h['epoch']}" for r, h in zip(rounds, history, strict=True)],
        )
    else:
        _integer_xaxis(ax, rounds)
    # symmetric-ish limits so that small bars on either side stay visible
    top = max(int(added.max()), 1)
    bottom = max(int(pruned.max()), 1)
    ax.set_ylim(-1.15 * bottom, 1.15 * top)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(_abs_formatter())
    ax.set_xlabel("FreeEvolve round")
    ax.set_ylabel("edges added (up) / pruned (down)")
    ax.set_title(
        f"Edge changes per round ({_initial_edges(history[0])} → "
        f"{int(history[-1]['n_edges'])} edges)"
    )
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def _abs_formatter() -> Any:
    """A tick formatter printing absolute values (pruned bars point down)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{abs(value):g}")


def _select_round(history: list[dict[str, Any]], which: str | int) -> dict[str, Any]:
    """Return the record of round ``which``: "first", "last" or a 1-based number."""
    if isinstance(which, str):
        if which == "first":
            return history[0]
        if which == "last":
            return history[-1]
        raise ValueError(
            f"rounds must hold 'first', 'last' or round numbers, got {which!r}."
        )
    if isinstance(which, (int, np.integer)) and not isinstance(which, bool):
        for record in history:
            if int(record["round"]) == int(which):
                return record
        raise ValueError(
            f"No FreeEvolve round {which}; the estimator ran rounds "
            f"1 to {int(history[-1]['round'])}."
        )
    raise ValueError(
        f"rounds must hold 'first', 'last' or round numbers, got {which!r}."
    )


def plot_coactivation_distributions(
    estimator: Any,
    *,
    rounds: Sequence[str | int] = ("first", "last"),
    ax: Sequence[Axes] | NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Plot the distributions of the co-activation and co-inactivation values.

    The paper's Fig. 7: histograms (as step curves over 20 bins on [0, 1]) of
    the normalised co-activation (NCAM, left) and co-inactivation (NCIM,
    right) values of all neuron pairs ``j < i``, as recorded at the chosen
    FreeEvolve rounds. The y axis is the percentage of neuron pairs per bin, on
    a log scale. A dashed vertical line marks the FreeEvolve threshold
    ``1 - epsilon``: non-edges with NCAM above it are added, edges with NCIM
    above it are pruned.

    Parameters
    ----------
    estimator : FreeNetClassifier or FreeNetRegressor
        A fitted estimator with at least one FreeEvolve round.
    rounds : sequence of {"first", "last"} or int, default=("first", "last")
        Rounds to show, one curve each: ``"first"``, ``"last"`` or a 1-based
        round number (the ``round`` key of ``evolution_history_``). A round
        listed twice (for example with a single round) is drawn once.
    ax : sequence of two matplotlib Axes, default=None
        Axes for NCAM and NCIM. None: a new figure with two side-by-side axes.

    Returns
    -------
    axes : ndarray of shape (2,) of matplotlib Axes
        The NCAM and the NCIM axes. Each curve is a
        :class:`~matplotlib.patches.StepPatch` in ``axes[i].patches``,
        labelled ``"round r (epoch e)"``, whose ``get_data().values`` are the
        percentages.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the estimator has no FreeEvolve round, a requested round does not
        exist, or the rounds were recorded without their matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_freenets import FreeNetClassifier
    >>> from sklearn_freenets.plotting import plot_coactivation_distributions
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FreeNetClassifier(k=8, max_epochs=4, n_iter_no_change=np.inf,
    ...                         evolve_rounds=2, evolve_every=1,
    ...                         evolve_every_batches=None, lr=1e-2,
    ...                         random_state=0).fit(X, y)
    >>> axes = plot_coactivation_distributions(clf)
    >>> [a.get_xlabel() for a in axes]
    ['NCAM value', 'NCIM value']
    """
    history = _fitted_history(estimator, need_rounds=True)
    if isinstance(rounds, (str, int)):
        rounds = (rounds,)
    if len(rounds) == 0:
        raise ValueError("rounds must name at least one round.")
    selected: list[dict[str, Any]] = []
    for which in rounds:
        record = _select_round(history, which)
        if all(record is not s for s in selected):
            selected.append(record)
    for record in selected:
        if record.get("ncam") is None or record.get("ncim") is None:
            raise ValueError(
                f"Round {record['round']} was recorded without its ncam / ncim "
                "matrices."
            )
    _require_matplotlib("plot_coactivation_distributions")
    if ax is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    else:
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.shape != (2,):
            raise ValueError(
                f"ax must hold two Axes (NCAM, NCIM), got {axes.shape[0]} item(s)."
            )
    axes = np.asarray(axes, dtype=object)
    bins = np.linspace(0.0, 1.0, 21)
    epsilon = getattr(estimator, "epsilon", None)
    styles = ["-", "--", "-.", ":"]
    for a, key, name in zip(
        axes,
        ("ncam", "ncim"),
        ("co-activation (NCAM)", "co-inactivation (NCIM)"),
        strict=True,
    ):
        top = 0.0
        for i, record in enumerate(selected):
            values = np.asarray(record[key], dtype=float).ravel()
            counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=bins)
            percent = 100.0 * counts / max(values.size, 1)
            top = max(top, float(percent.max(initial=0.0)))
            a.stairs(
                percent,
                bins,
                color=f"C{i}",
                linestyle=styles[i % len(styles)],
                linewidth=1.8,
                label=f"round {record['round']} (epoch {record['epoch']})",
            )
        if epsilon is not None:
            a.axvline(
                1.0 - float(epsilon),
                color="0.3",
                linestyle=":",
                linewidth=1.2,
                label=f"threshold 1 - ε = {1.0 - float(epsilon):g}",
            )
        a.set_yscale("symlog", linthresh=1.0)
        # headroom above the highest bin for the legend (log scale)
        a.set_ylim(0.0, 10.0 ** (math.log10(max(top, 1.0)) + 1.0))
        a.set_xlim(0.0, 1.0)
        a.set_xlabel(f"{key.upper()} value")
        a.set_ylabel("neuron pairs (%)")
        a.set_title(name)
        a.grid(True, alpha=0.3)
        a.legend(fontsize="small")
    return axes


def plot_edges_over_training(
    estimator: Any, *, show_loss: bool = True, ax: Axes | None = None
) -> Axes:
    """Plot the number of edges against the training epoch.

    The paper's Fig. 9: a step curve of the number of edges, starting at the
    initial graph (epoch 0) and changing after each FreeEvolve round's epoch
    (markers), then flat until the last epoch (``len(loss_curve_)``).

    Parameters
    ----------
    estimator : FreeNetClassifier or FreeNetRegressor
        A fitted estimator. Without FreeEvolve rounds the curve is flat at
        ``n_edges_``.
    show_loss : bool, default=True
        Also draw the training loss per epoch (``loss_curve_``) on a twin
        y axis at the right (created with ``ax.twinx()``; it is the last axes
        of ``ax.figure.axes``).
    ax : matplotlib Axes, default=None
        Axes to draw on. None: a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes of the edge count; its line labelled ``"edges"`` has the
        epochs as x data and the edge counts as y data (drawn with
        ``drawstyle="steps-post"``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_freenets import FreeNetClassifier
    >>> from sklearn_freenets.plotting import plot_edges_over_training
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FreeNetClassifier(k=8, max_epochs=4, n_iter_no_change=np.inf,
    ...                         evolve_rounds=2, evolve_every=1,
    ...                         evolve_every_batches=None, lr=1e-2,
    ...                         random_state=0).fit(X, y)
    >>> ax = plot_edges_over_training(clf)
    >>> ax.get_xlabel()
    'epoch'
    """
    history = _fitted_history(estimator, need_rounds=False)
    ax = _get_ax(ax, "plot_edges_over_training")
    losses = list(getattr(estimator, "loss_curve_", []))
    n_epochs = len(losses)
    if history:
        start = _initial_edges(history[0])
        epochs = [int(r["epoch"]) for r in history]
        edges = [int(r["n_edges"]) for r in history]
    else:
        start = int(estimator.n_edges_)
        epochs, edges = [], []
    last_epoch = max([n_epochs, *epochs])
    x = np.array([0, *epochs, last_epoch])
    y = np.array([start, *edges, edges[-1] if edges else start])
    ax.plot(x, y, drawstyle="steps-post", color="tab:blue", linewidth=2, label="edges")
    if history:
        ax.plot(
            epochs,
            edges,
            linestyle="none",
            marker="o",
            color="tab:blue",
            markersize=5,
            label="FreeEvolve round",
        )
    ax.set_xlim(0, max(last_epoch, 1))
    ax.set_xlabel("epoch")
    ax.set_ylabel("number of edges", color="tab:blue")
    ax.set_ylim(bottom=0, top=1.08 * max(int(y.max()), 1))
    handles, labels = ax.get_legend_handles_labels()
    if show_loss and n_epochs:
        twin = ax.twinx()
        twin.plot(
            np.arange(1, n_epochs + 1),
            losses,
            color="tab:gray",
            marker=".",
            linestyle="--",
            linewidth=1.2,
            label="train loss",
        )
        twin.set_ylabel("train loss", color="tab:gray")
        h, lab = twin.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Edges over training ({y[0]} → {y[-1]} edges)")
    ax.grid(True, alpha=0.3)
    ax.legend(handles, labels, fontsize="small", loc="center right")
    return ax


# ----------------------------------------------------------------- graph plots
def topological_depth(adjacency: ArrayLike) -> NDArray[np.intp]:
    """Return the topological depth of every neuron of a DAG.

    The depth of neuron ``i`` is 0 when it has no incoming edge, else one more
    than the largest depth of its sources: the number of edges on the longest
    path that ends at ``i``.

    Parameters
    ----------
    adjacency : array-like of shape (k, k)
        Boolean (or 0/1) adjacency matrix, ``adjacency[i, j]`` being the edge
        ``j -> i``. It need not be lower triangular, but must be acyclic.

    Returns
    -------
    depth : ndarray of shape (k,), dtype=intp
        Depth of each neuron.

    Raises
    ------
    ValueError
        If the matrix is not square or the graph has a cycle.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_freenets.plotting import topological_depth
    >>> A = np.zeros((4, 4), dtype=bool)
    >>> A[1, 0] = A[2, 0] = A[3, 1] = A[3, 2] = True  # a diamond 0 -> {1, 2} -> 3
    >>> topological_depth(A)
    array([0, 1, 1, 2])
    """
    A = _as_adjacency(adjacency)
    k = A.shape[0]
    depth = np.full(k, -1, dtype=np.intp)
    if np.any(np.diagonal(A)):
        raise ValueError("The graph has a self-loop, so it has no topological depth.")
    if k == 0:
        return depth
    # Peel the graph level by level: the neurons whose sources all lie in
    # earlier levels form the next level (Kahn's algorithm, one level a step).
    remaining = np.ones(k, dtype=bool)
    indegree = A.sum(axis=1).astype(np.intp)
    level = 0
    while remaining.any():
        current = remaining & (indegree == 0)
        if not current.any():
            raise ValueError("The graph has a cycle, so it has no topological depth.")
        depth[current] = level
        remaining &= ~current
        indegree -= A[:, current].sum(axis=1).astype(np.intp)
        level += 1
    return depth


def plot_adjacency(estimator_or_matrix: Any, *, ax: Axes | None = None) -> Axes:
    """Plot the adjacency matrix of a FreeNet as a black-and-white image.

    Black pixel ``(i, j)`` (row ``i``, column ``j``) is the edge ``j -> i``;
    FreeNet graphs are strictly lower triangular.

    Parameters
    ----------
    estimator_or_matrix : FreeNetClassifier, FreeNetRegressor or array-like
        A fitted estimator (its ``adjacency_`` is drawn) or an adjacency
        matrix of shape (k, k) with ``matrix[i, j]`` the edge ``j -> i``.
    ax : matplotlib Axes, default=None
        Axes to draw on. None: a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; ``ax.images[0].get_array()`` is the matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_freenets.plotting import plot_adjacency
    >>> ax = plot_adjacency(np.tril(np.ones((5, 5), dtype=bool), k=-1))
    >>> ax.images[0].get_array().shape
    (5, 5)
    """
    A = _as_adjacency(estimator_or_matrix)
    ax = _get_ax(ax, "plot_adjacency")
    k = A.shape[0]
    ax.imshow(
        A.astype(np.uint8),
        cmap="binary",
        vmin=0,
        vmax=1,
        interpolation="nearest",
        origin="upper",
    )
    if k <= 30:  # cell borders for small graphs
        ax.set_xticks(np.arange(-0.5, k, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, k, 1), minor=True)
        ax.grid(which="minor", color="0.85", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.set_xlabel("source neuron j")
    ax.set_ylabel("target neuron i")
    ax.set_title(f"Adjacency (k={k}, {int(A.sum())} edges)")
    return ax


def _edge_curves(
    start: NDArray[np.float64],
    end: NDArray[np.float64],
    parity: NDArray[np.intp],
    max_depth: int,
    height: float,
    n_points: int = 9,
) -> NDArray[np.float64]:
    """Polylines of the edges: straight between adjacent depths, else arcs.

    An edge that skips depths would run straight through the neurons in
    between (in a dense graph, all on one line), so it is drawn as a quadratic
    Bezier arc, bulging up or down (alternating with ``parity``) by an amount
    that grows with the number of depths it spans.

    Returns
    -------
    curves : ndarray of shape (n_edges, n_points, 2)
        The polyline of each edge, from ``start`` to ``end``.
    """
    span = end[:, 0] - start[:, 0]
    longest = max(max_depth - 1, 1)
    bulge = 0.5 * max(height, 1.0) * np.sqrt(np.clip(span - 1, 0, None) / longest)
    bulge = np.where(parity % 2 == 0, bulge, -bulge)
    control = (start + end) / 2
    control[:, 1] += 2 * bulge  # the curve reaches half the control's offset
    t = np.linspace(0.0, 1.0, n_points)[None, :, None]
    return (
        (1 - t) ** 2 * start[:, None, :]
        + 2 * t * (1 - t) * control[:, None, :]
        + t**2 * end[:, None, :]
    )


def plot_graph(estimator_or_matrix: Any, *, ax: Axes | None = None) -> Axes:
    """Draw a FreeNet's graph with neurons placed by topological depth.

    Neuron ``i`` is drawn at ``x = topological_depth(A)[i]`` and, within its
    depth, at ``y`` = its rank among the connected neurons of that depth
    (ordered by index, centred on 0). Every edge goes from a smaller to a
    larger depth, so edges point to the right; they are drawn as thin lines
    (one :class:`~matplotlib.collections.LineCollection`, fast for hundreds
    of neurons), straight between neighbouring depths and as arcs when they
    skip depths (so that they do not run through the neurons in between).
    Isolated neurons (no incoming and no outgoing edge, hence of depth 0) are
    drawn as hollow grey circles above and below the connected ones. The
    title gives ``k``, the number of edges and the depth of the graph (the
    number of edges on its longest path).

    Parameters
    ----------
    estimator_or_matrix : FreeNetClassifier, FreeNetRegressor or array-like
        A fitted estimator (its ``adjacency_`` is drawn) or an adjacency
        matrix of shape (k, k) with ``matrix[i, j]`` the edge ``j -> i``.
    ax : matplotlib Axes, default=None
        Axes to draw on. None: a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on. ``ax.collections[0]`` is the LineCollection of
        the edges (one polyline per edge, in the order of ``np.nonzero(A)``,
        from the source's to the target's position); the neurons follow as
        scatter collections.

    See Also
    --------
    topological_depth : The depth of each neuron.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_freenets.plotting import plot_graph
    >>> A = np.zeros((4, 4), dtype=bool)
    >>> A[1, 0] = A[2, 0] = A[3, 1] = A[3, 2] = True
    >>> ax = plot_graph(A)
    >>> len(ax.collections[0].get_segments())
    4
    """
    A = _as_adjacency(estimator_or_matrix)
    depth = topological_depth(A)
    ax = _get_ax(ax, "plot_graph")
    from matplotlib.collections import LineCollection

    k = A.shape[0]
    isolated = ~(A.any(axis=0) | A.any(axis=1))
    pos = np.zeros((k, 2))
    pos[:, 0] = depth
    for d in np.unique(depth):
        # connected neurons centred on 0 by index, isolated ones outside them
        members = np.flatnonzero((depth == d) & ~isolated)
        pos[members, 1] = np.arange(len(members)) - (len(members) - 1) / 2
        loners = np.flatnonzero((depth == d) & isolated)
        j = np.arange(len(loners))
        offset = (len(members) - 1) / 2 + 1 + j // 2 if len(members) else j // 2
        pos[loners, 1] = np.where(
            j % 2 == 0, offset, -offset - (0 if len(members) else 1)
        )
    targets, sources = np.nonzero(A)
    max_depth = int(depth.max()) if k else 0
    height = float(np.abs(pos[:, 1]).max()) if k else 0.0
    segments: Any = _edge_curves(
        pos[sources], pos[targets], sources + targets, max_depth, height
    )
    n_edges = len(sources)
    alpha = float(np.clip(8.0 / math.sqrt(max(n_edges, 1)), 0.05, 0.7))
    lines = LineCollection(
        segments,
        colors="tab:blue",
        linewidths=0.8 if n_edges < 200 else 0.5,
        alpha=alpha,
        zorder=1,
    )
    ax.add_collection(lines)
    size = float(np.clip(2000.0 / max(k, 1), 6.0, 80.0))
    connected = ~isolated
    ax.scatter(
        pos[connected, 0],
        pos[connected, 1],
        s=size,
        color="tab:orange",
        edgecolors="black",
        linewidths=0.5,
        zorder=2,
        label="neuron",
    )
    if isolated.any():
        ax.scatter(
            pos[isolated, 0],
            pos[isolated, 1],
            s=size,
            facecolors="white",
            edgecolors="0.5",
            linewidths=1.0,
            zorder=2,
            label=f"isolated neuron ({int(isolated.sum())})",
        )
    if n_edges:
        low = min(float(segments[..., 1].min()), -height)
        high = max(float(segments[..., 1].max()), height)
    else:
        low, high = -height, height
    ax.set_xlim(-0.5, max_depth + 0.5)
    ax.set_ylim(low - 0.5, high + 0.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("topological depth (edges point to the right)")
    ax.set_title(f"k={k} neurons, {n_edges} edges, depth {max_depth}")
    ax.legend(fontsize="small", loc="upper right")
    return ax
