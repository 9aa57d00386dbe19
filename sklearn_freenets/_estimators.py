# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn estimators that train a FreeNet through skorch.

A fit runs in named steps (:meth:`_BaseFreeNet._fit`): check the parameters,
validate the input, hold out the validation rows, build the skorch net (first
fit) or check that the network's shape parameters are unchanged (warm start,
``partial_fit``), sync the parameters that may change between fits (learning
rate, penalty, batch size, callbacks), train, and set the fitted attributes. The
steps run inside :func:`_unchanged_on_error`: when any of them raises, the
estimator (and a network it continued) is put back exactly as it was.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer, LabelEncoder
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from sklearn_freenets._callbacks import (
    ConvergenceStopping,
    CosineLR,
    DivergenceGuard,
    EpochProgress,
    KeepBest,
    MarkPhase,
)
from sklearn_freenets._evolve import (
    RULES,
    EarlyFreeEvolve,
    FreeEvolve,
    GatedRule,
    L1Rule,
    ProximalSteps,
    round_records,
)
from sklearn_freenets._kernel import ACTIVATIONS
from sklearn_freenets._module import _DTYPES, FreeNetModule, initial_adjacency
from sklearn_freenets._runtime import (
    TorchDevice,
    blas_threads,
    fused_adam_supported,
    generator,
    resolve_device,
    torch_threads,
)
from sklearn_freenets._training import (
    FreeNetTrainer,
    History,
    TrainingData,
    TrainingResult,
    set_learning_rate,
    set_weight_decay,
)

__all__ = ["FreeNetClassifier", "FreeNetRegressor"]

_NP_DTYPES = {"float32": np.float32, "float64": np.float64}
# Sparse input is accepted in these formats (and densified, see the docstrings).
_SPARSE_FORMATS = ("csr", "csc", "coo")
# Rows per forward pass at prediction time (fixed so predictions are batch-invariant).
_PREDICT_BLOCK = 128
# batch_size="auto" is min(_AUTO_BATCH, n_samples), as in scikit-learn's MLP.
_AUTO_BATCH = 200
# lr="auto": _AUTO_LR_MAX / (mini-batches per epoch), clipped to [MIN, MAX].
_AUTO_LR_MAX = 1e-2
_AUTO_LR_MIN = 1e-3
# The parameters that only FreeEvolve's rounds use.
_EVOLVE_PARAMS = (
    "rule",
    "epsilon",
    "evolve_every",
    "evolve_every_batches",
    "evolve_patience",
    "revive_dead",
    "evolve_max_samples",
)


# early_stopping="auto" holds out validation rows only when there are at least
# this many of them
_AUTO_MIN_VALIDATION = 10
# early_stopping="auto": after stopping on the held-out rows, the best network
# trains on every row for this fraction of the epochs that found it (rounded up)
_FINISH_FRACTION = 0.2
# n_threads="auto": one torch thread below this many multiply-adds per forward pass
# of a batch (benchmarks/bench_threads.py measures where more threads start to pay).
_THREADS_MIN_WORK = 50_000_000
# squared_relu: prediction caps each neuron's pre-activation at its training
# maximum plus this fraction of its training range (see _bound_activations).
_CAP_MARGIN = 0.1
# Cosine annealing goes down to lr * _COSINE_FLOOR.
_COSINE_FLOOR = 1e-3
# A fit whose last training loss is more than this many times its first diverged
# (the loss can rise without ever becoming NaN), and says so.
_RISE_FACTOR = 10.0
# Parameters fixed when the network is built: a warm start or partial_fit must not
# change them (every other parameter is read again by each fit).
_BUILD_PARAMS = (
    "k",
    "activation",
    "skip",
    "initial_graph",
    "init",
    "dtype",
    "device",
    "net_params",
)
# net_params keys that would replace what the estimator itself sets up.
_RESERVED_NET_PARAMS = {
    "module": "the network is always a FreeNetModule (set k, activation, skip, ...)",
    "criterion": "the loss is set by the estimator (cross-entropy or squared error)",
    "train_split": "use early_stopping and validation_fraction",
    "iterator_train": "batches are cut from in-memory tensors; set batch_size",
    "iterator_valid": "validation is scored by the estimator",
    "dataset": "the data is held as tensors by the estimator",
    "lr": "use the estimator's lr",
    "optimizer__lr": "use the estimator's lr",
    "optimizer__weight_decay": "use the estimator's alpha",
    "max_epochs": "use the estimator's max_epochs",
    "batch_size": "use the estimator's batch_size",
    "device": "use the estimator's device",
    "warm_start": "use the estimator's warm_start",
    "verbose": "use the estimator's verbose",
}
_RESERVED_NET_PREFIXES = ("module__", "criterion__", "iterator_train__", "dataset__")
# skorch callbacks that cannot work in this training loop, and what to use instead.
# The loop records one loss per epoch (no per-batch history rows, no "valid_loss")
# and scores held-out rows itself.
_REFUSED_CALLBACKS = {
    "EpochScoring": "the loop records no per-batch predictions to score; the "
    "training loss is in net_.history and early_stopping records valid_score",
    "BatchScoring": "the loop records no per-batch history rows",
    "PassthroughScoring": "the loop records no per-batch history rows",
    "EarlyStopping": "use early_stopping, n_iter_no_change and tol",
    "ProgressBar": "use verbose=1 (a progress bar over the epochs)",
    "Checkpoint": "it monitors skorch's validation loss, which this loop does not "
    "record; save the fitted estimator with pickle or joblib instead",
}


class _Integer(Interval):
    """An ``Interval`` of integers that refuses booleans (``k=True`` is no count)."""

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


def _merge_duplicate_rows(X, y, w):
    """Merge identical ``(x, y)`` rows into one of their total weight, sorted.

    The result does not depend on the order of the rows, and a row given twice
    is the same as that row given once with twice the weight, bit for bit.
    """
    n = len(X)
    parts = [np.ascontiguousarray(a).reshape(n, -1).view(np.uint8) for a in (X, y)]
    keys = np.ascontiguousarray(np.concatenate(parts, axis=1))
    keys = keys.view(np.dtype((np.void, keys.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=w, minlength=len(first))
    return X[first], y[first], weight


def _join(train, valid):
    """The training and held-out ``(X, y, w)`` rows as one ``(X, y, w)``."""
    return tuple(np.concatenate(pair) for pair in zip(train, valid, strict=True))


def _dense(X) -> np.ndarray:
    """``X`` as a dense C-ordered array (sparse input is densified)."""
    if sp.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X)


def _capped_rows(module: FreeNetModule, block, out, Z, cap):
    """``out`` with the rows of ``block`` that reach a cap computed with the caps.

    ``out`` and ``Z`` are the uncapped outputs and pre-activations of the first
    ``len(out)`` rows. Rows whose pre-activations all stay at or below the caps
    keep the output of the usual forward pass (bit for bit what they were before
    caps existed); each other row is computed alone, in a zero-padded block of
    the same shape, so that its result depends on that row only (batch
    invariance).
    """
    over = torch.nonzero((Z > cap).any(dim=1)).flatten().tolist()
    if not over:
        return out
    out = out.clone()
    single = torch.zeros_like(block)
    for i in over:
        single[0] = block[i]
        out[i] = module(single, cap)[0]
    return out


def _same(a, b) -> bool:
    """Parameter equality that also compares arrays (``initial_graph``)."""
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, dict) or isinstance(b, dict):
        return a == b
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):  # pragma: no cover - exotic values
        return a is b


@contextlib.contextmanager
def _unchanged_on_error(estimator: BaseEstimator, continued: FreeNetTrainer | None):
    """Undo everything a failed fit changed, then re-raise.

    The estimator's attributes are copied (shallowly: every fit step assigns new
    objects rather than changing old ones in place) and, when the fit continues
    a network (``continued``: warm start, ``partial_fit``), so are that
    network's weights, graph, optimizer state, history length and attributes
    (:meth:`~sklearn_freenets._training.FreeNetTrainer.checkpoint`). On any
    exception, ``KeyboardInterrupt`` included, both are put back: a fitted
    estimator is left exactly as it was, and an unfitted one stays unfitted.
    """
    saved = dict(estimator.__dict__)
    checkpoint = continued.checkpoint() if continued is not None else None
    try:
        yield
    except BaseException:
        if continued is not None and checkpoint is not None:
            continued.restore(checkpoint)
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        raise


@dataclass
class _RunCallbacks:
    """The estimator's callbacks of one training run, in the order they run.

    The order is fixed here, not left to list order elsewhere:

    1. ``divergence_guard``: at an epoch's end, before anything reads the
       epoch, it puts back the last finite weights and stops a diverged run;
    2. ``free_evolve``: the round at an epoch's end changes the graph before
       the epoch is scored, so the state scored is the state kept;
    3. ``proximal_steps`` (a rule's step after each optimizer step, such as
       :class:`~sklearn_freenets.evolve.L1Rule`'s), ``lr_schedule``,
       ``keep_best``;
    4. the user's ``net_params["callbacks"]``;
    5. ``progress``;
    6. ``stopping`` last, so that every other callback sees the epoch that ends
       training.
    """

    guard: DivergenceGuard
    phase: MarkPhase | None = None
    evolve: FreeEvolve | None = None
    proximal: ProximalSteps | None = None
    schedule: CosineLR | None = None
    keep_best: KeepBest | None = None
    progress: EpochProgress | None = None
    stopping: ConvergenceStopping | None = None

    def ordered(self, user: list) -> list:
        """All callbacks of the run as skorch ``(name, callback)`` pairs."""
        ours = [
            ("divergence_guard", self.guard),
            ("phase", self.phase),
            ("free_evolve", self.evolve),
            ("proximal_steps", self.proximal),
            ("lr_schedule", self.schedule),
            ("keep_best", self.keep_best),
        ]
        last = [("progress", self.progress), ("stopping", self.stopping)]
        return [
            *((name, cb) for name, cb in ours if cb is not None),
            *user,
            *((name, cb) for name, cb in last if cb is not None),
        ]


class _BaseFreeNet(BaseEstimator):
    """Shared fitting logic of the FreeNet estimators (not for direct use)."""

    # Parameters fixed when the network is built (see _BUILD_PARAMS).
    _build_param_names: tuple[str, ...] = _BUILD_PARAMS

    _parameter_constraints: dict = {
        "k": [_Integer(Integral, 1, None, closed="left")],
        "epsilon": [Interval(Real, 0, 1, closed="neither")],
        "evolve_rounds": [_Integer(Integral, 0, None, closed="left")],
        "evolve_every": [_Integer(Integral, 1, None, closed="left")],
        "evolve_every_batches": [_Integer(Integral, 1, None, closed="left"), None],
        "evolve_patience": [_Integer(Integral, 1, None, closed="left")],
        "rule": [StrOptions(set(RULES)), callable],
        "revive_dead": ["boolean"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "initial_graph": [StrOptions({"dense", "empty"}), "array-like"],
        "skip": ["boolean"],
        "max_epochs": [_Integer(Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            _Integer(Integral, 1, None, closed="left"),
        ],
        "lr": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [
            _Integer(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "evolve_max_samples": [_Integer(Integral, 1, None, closed="left"), None],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [TorchDevice()],
        "n_threads": [
            StrOptions({"auto"}),
            _Integer(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "net_params": [dict, None],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "polish_epochs": [_Integer(Integral, 0, None, closed="left")],
        "init": [StrOptions({"glorot", "torch", "active"})],
        "keep_best": ["boolean"],
    }

    def __init__(
        self,
        k=100,
        *,
        epsilon=0.25,
        evolve_rounds=60,
        evolve_every=1,
        evolve_every_batches=20,
        evolve_patience=3,
        rule="phi",
        revive_dead=False,
        activation="relu",
        initial_graph="empty",
        skip=False,
        max_epochs=200,
        batch_size="auto",
        lr="auto",
        alpha=1e-3,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        evolve_max_samples=10000,
        dtype="float32",
        random_state=None,
        device="cpu",
        n_threads="auto",
        verbose=0,
        warm_start=False,
        net_params=None,
        lr_schedule="constant",
        polish_epochs=0,
        init="glorot",
        keep_best=False,
    ):
        self.k = k
        self.epsilon = epsilon
        self.evolve_rounds = evolve_rounds
        self.evolve_every = evolve_every
        self.evolve_every_batches = evolve_every_batches
        self.evolve_patience = evolve_patience
        self.rule = rule
        self.revive_dead = revive_dead
        self.activation = activation
        self.initial_graph = initial_graph
        self.skip = skip
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.alpha = alpha
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.evolve_max_samples = evolve_max_samples
        self.dtype = dtype
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.verbose = verbose
        self.warm_start = warm_start
        self.net_params = net_params
        self.lr_schedule = lr_schedule
        self.polish_epochs = polish_epochs
        self.init = init
        self.keep_best = keep_best

    # -- hooks the subclasses fill in ------------------------------------------
    def _prepare_targets(
        self, y, *, first: bool, classes=None, incremental: bool = False
    ):  # pragma: no cover - abstract
        raise NotImplementedError

    def _n_outputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_criterion(self) -> type[torch.nn.Module]:  # pragma: no cover
        raise NotImplementedError

    def _stratify(self, y):
        """The labels to stratify the validation split by (None: do not)."""
        return None

    def _scale_targets(self, y, w, *, first: bool):
        """Targets as the network is trained on them (regression: standardised)."""
        return y

    def _validation_score(self, net: FreeNetTrainer, valid: TrainingData) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    # -- step 1: parameters ---------------------------------------------------------
    def _check_params(self, *, incremental: bool, continues: bool) -> None:
        """Checks of parameter combinations and of ``net_params``, before any work."""
        self._check_net_params()
        self._warn_unused_evolution()
        explicit = self.early_stopping != "auto" and bool(self.early_stopping)
        if self.keep_best and explicit:
            raise ValueError(
                "keep_best=True and early_stopping=True both choose which weights "
                "to keep (the lowest training loss, the best validation score): "
                "set one of them"
            )
        if incremental and explicit:
            raise ValueError(
                "partial_fit does not support early_stopping=True (as for "
                "scikit-learn's MLP): set early_stopping=False, or use fit"
            )
        if isinstance(self.rule, (GatedRule, L1Rule)):
            self.rule.check()
        if continues:
            self._check_build_unchanged()
        else:
            initial_adjacency(self.k, self.initial_graph)

    def _check_net_params(self) -> None:
        params = self.net_params or {}
        for key in params:
            reason = _RESERVED_NET_PARAMS.get(key)
            if reason is None and key.startswith(_RESERVED_NET_PREFIXES):
                reason = "the estimator sets these itself"
            if reason is not None:
                raise ValueError(
                    f"net_params must not set {key!r}: {reason}. net_params may set "
                    "the optimizer ('optimizer', 'optimizer__*') and extra "
                    "'callbacks'."
                )
        for item in params.get("callbacks") or []:
            callback = item[1] if isinstance(item, tuple) else item
            name = getattr(callback, "__name__", type(callback).__name__)
            module = getattr(callback, "__module__", type(callback).__module__) or ""
            if module.startswith("skorch") and name in _REFUSED_CALLBACKS:
                raise ValueError(
                    f"net_params['callbacks'] must not contain skorch's {name}: "
                    f"{_REFUSED_CALLBACKS[name]}"
                )

    # -- step 2: input ------------------------------------------------------------
    def _validate_input(
        self, X, y, sample_weight, *, first: bool, incremental: bool, classes=None
    ):
        """Validated ``X`` (dense), encoded targets and normalised weights."""
        X, y = validate_data(
            self,
            X,
            y,
            reset=first,
            accept_sparse=_SPARSE_FORMATS,
            dtype=_NP_DTYPES[self.dtype],
            multi_output=True,
            y_numeric=isinstance(self, RegressorMixin),
        )
        w = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        y = self._prepare_targets(
            y, first=first, classes=classes, incremental=incremental
        )
        return _dense(X), y, w

    def _warn_unused_evolution(self) -> None:
        """A UserWarning when FreeEvolve options are set but no round runs."""
        if self.evolve_rounds > 0:
            return
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            name
            for name in _EVOLVE_PARAMS
            if name in defaults and not _same(getattr(self, name), defaults[name])
        ]
        if changed:
            one = len(changed) == 1
            warnings.warn(
                f"{type(self).__name__}: {', '.join(changed)} "
                f"{'is' if one else 'are'} set, but evolve_rounds=0 runs no "
                f"FreeEvolve round: {'it has' if one else 'they have'} no effect"
                + (
                    " (evolve_rounds=0 is the classifier's default: set "
                    "evolve_rounds, for example to 60, to evolve the graph)"
                    if defaults.get("evolve_rounds") == 0
                    else ""
                ),
                UserWarning,
                stacklevel=6,
            )

    # -- step 3: training and validation rows -----------------------------------
    def _batch_size(self, n_rows: int) -> int:
        if self.batch_size == "auto":
            return min(_AUTO_BATCH, n_rows)
        return min(self.batch_size, n_rows)

    def _lr(self, n_rows: int) -> float:
        """The learning rate for ``n_rows`` training rows (``lr="auto"``)."""
        if self.lr != "auto":
            return float(self.lr)
        steps = -(-n_rows // self._batch_size(n_rows))  # mini-batches per epoch
        return min(_AUTO_LR_MAX, max(_AUTO_LR_MIN, _AUTO_LR_MAX / steps))

    def _split(self, X, y, w, *, incremental: bool, seed: int):
        """Drop zero-weight rows and hold out the validation rows (early stopping).

        The weights are divided by their largest value (a weighted mean does not
        change, and weights beyond float32's range or near 0 stay usable).
        Returns numpy ``(X, y, w)`` for training and for validation (or None).
        """
        keep = w > 0
        if not keep.any():
            raise ValueError("sample_weight is zero for every sample: nothing to fit")
        if not keep.all():
            X, y, w = X[keep], y[keep], w[keep]
        if not np.isfinite(w).all():
            raise ValueError("sample_weight must be finite")
        w = w / w.max()
        auto = self.early_stopping == "auto"
        if incremental or not self.early_stopping:
            return (X, y, w), None
        # rows held out, counted as train_test_split counts them
        n_valid = math.ceil(self.validation_fraction * len(X))
        if auto and (self.keep_best or n_valid < _AUTO_MIN_VALIDATION):
            return (X, y, w), None
        try:
            parts = train_test_split(
                X,
                y,
                w,
                test_size=self.validation_fraction,
                stratify=self._stratify(y),
                random_state=seed,
            )
        except ValueError as exc:
            if auto:  # a stratified split cannot be drawn: train on every row
                return (X, y, w), None
            raise ValueError(
                f"early_stopping=True holds out validation_fraction="
                f"{self.validation_fraction} of the {len(X)} samples, which is too "
                f"few for a validation set: {exc}"
            ) from exc
        X_tr, X_va, y_tr, y_va, w_tr, w_va = parts
        if len(X_va) < 2:
            raise ValueError(
                f"The validation set is too small: early_stopping=True holds out "
                f"{len(X_va)} of the {len(X)} samples (validation_fraction="
                f"{self.validation_fraction}). Increase validation_fraction or the "
                "size of your data set."
            )
        return (X_tr, y_tr, w_tr), (X_va, y_va, w_va)

    def _training_data(self, train, valid, *, first: bool):
        """Tensors of the training rows (merged when full-batch) and validation rows."""
        if self._batch_size(len(train[0])) >= len(train[0]):
            train = _merge_duplicate_rows(*train)  # full batch: order-independent
        data = self._as_data(
            train[0], self._scale_targets(train[1], train[2], first=first), train[2]
        )
        if valid is not None:
            valid = self._as_data(
                valid[0], self._scale_targets(valid[1], valid[2], first=False), valid[2]
            )
        return data, valid

    def _as_data(self, X, y, w) -> TrainingData:
        device = torch.device(resolve_device(self.device))
        dtype = _DTYPES[self.dtype]
        y_t = torch.as_tensor(y, device=device)
        if y_t.is_floating_point():
            y_t = y_t.to(dtype)
        return TrainingData(
            torch.as_tensor(np.ascontiguousarray(X), device=device),
            y_t,
            torch.as_tensor(w, dtype=dtype, device=device),
        )

    # -- step 4: the net ----------------------------------------------------------
    def _make_net(self, n_features: int, n_rows: int) -> FreeNetTrainer:
        """Build (not initialise) the skorch net for ``n_rows`` x ``n_features``."""
        device = resolve_device(self.device)
        user = dict(self.net_params or {})
        params: dict[str, Any] = {
            "module": FreeNetModule,
            "module__n_features": n_features,
            "module__k": self.k,
            "module__n_outputs": self._n_outputs(),
            "module__activation": self.activation,
            "module__skip": self.skip,
            "module__initial_graph": self.initial_graph,
            "module__dtype": self.dtype,
            "module__init": "glorot" if self.init == "glorot" else "torch",
            "module__random_state": self._seed,
            "criterion": self._make_criterion(),
            "criterion__reduction": "none",
            "optimizer": torch.optim.Adam,
            "lr": self._lr(n_rows),
            "max_epochs": self.max_epochs,
            "batch_size": self._batch_size(n_rows),
            "train_split": None,
            "device": device,
            "verbose": 0,
            "predict_nonlinearity": None,
            "callbacks": [],
            **{key: value for key, value in user.items() if key != "callbacks"},
        }
        optimizer = params["optimizer"]
        if (
            optimizer in (torch.optim.Adam, torch.optim.AdamW)
            and "optimizer__fused" not in params
            and fused_adam_supported(device)
        ):
            # The fused kernel gives the same updates as the default loop and is
            # faster on the CPU (where the sqrt of the zero moments of masked
            # edges is slow in the default loop).
            params["optimizer__fused"] = True
        return FreeNetTrainer(**params)

    def _build(self, n_features: int, data: TrainingData) -> FreeNetTrainer:
        """Build and initialise a new network from the parameters and the data.

        The initial weights are drawn from a generator seeded by the fit's seed
        (torch's global random state is not used); ``init="active"`` then
        shifts the biases on the training rows (and, for the regressor, fits
        the outputs).
        """
        net = self._make_net(n_features, len(data))
        net.initialize()
        if self.init == "active":
            fit_outputs = isinstance(self, RegressorMixin)
            net.module_.active_start(data.X, data.y if fit_outputs else None, data.w)
        self._record_build_params()
        return net

    def _record_build_params(self) -> None:
        """Remember the parameters the network was built with."""
        self._built_params = {
            name: getattr(self, name) for name in self._build_param_names
        }

    def _check_build_unchanged(self) -> None:
        """Refuse to continue a network whose build parameters changed."""
        changed = [
            name
            for name in self._build_param_names
            if not _same(getattr(self, name), self._built_params[name])
        ]
        if changed:
            before = {name: self._built_params[name] for name in changed}
            raise ValueError(
                f"warm_start and partial_fit continue the fitted network, but "
                f"{changed} changed since it was built (it was built with {before}); "
                "set them back, or fit with warm_start=False to build a new network"
            )

    # -- step 5: sync what may change between fits ------------------------------
    def _sync(self, net: FreeNetTrainer, n_rows: int, callbacks: _RunCallbacks):
        """Set the net's rate, penalty, batch size and callbacks for this fit."""
        net.lr = self.lr_ = self._lr(n_rows)
        net.max_epochs = self.max_epochs
        net.batch_size = self._batch_size(n_rows)
        set_learning_rate(net.optimizer_, self.lr_, self.lr_)
        set_weight_decay(net.optimizer_, self.alpha)
        user = list((self.net_params or {}).get("callbacks") or [])
        net.callbacks = callbacks.ordered(user)
        net.verbose = 1 if self.verbose and self.verbose > 1 else 0
        net.initialize_callbacks()

    def _callbacks(
        self, since: int, valid, n_rows: int, *, incremental: bool
    ) -> _RunCallbacks:
        """The callbacks of one training run, built from the current parameters."""
        callbacks = _RunCallbacks(guard=DivergenceGuard())
        if self.evolve_rounds > 0:
            schedule: dict[str, Any] = dict(
                epsilon=self.epsilon,
                max_rounds=self.evolve_rounds,
                every=self.evolve_every,
                # partial_fit: a round every evolve_every calls, whatever their size
                min_steps=None if incremental else self.evolve_every_batches,
                since=0 if incremental else since,
                max_samples=self.evolve_max_samples,
                random_state=self._seed,
                verbose=bool(self.verbose),
                rule=self.rule,
                patience=self.evolve_patience,
                revive_dead=self.revive_dead,
                gate=valid,
                gate_fraction=self.validation_fraction,
            )
            callbacks.evolve = (
                FreeEvolve(**schedule)
                if self.evolve_every_batches is None
                else EarlyFreeEvolve(self.evolve_every_batches, **schedule)
            )
            if hasattr(self.rule, "after_step"):
                callbacks.proximal = ProximalSteps(self.rule)
        if self.lr_schedule == "cosine":
            start = 0 if incremental else since
            lr = self._lr(n_rows)
            callbacks.schedule = CosineLR(
                lr, self.max_epochs, lr * _COSINE_FLOOR, start
            )
        if not incremental:
            if self.keep_best:
                callbacks.keep_best = KeepBest()
            callbacks.stopping = ConvergenceStopping(
                self.tol,
                self.n_iter_no_change,
                validation=valid,
                score=None if valid is None else self._validation_score,
                evolution=callbacks.evolve,
            )
            if self.verbose:
                total = self.max_epochs + self.polish_epochs
                callbacks.progress = EpochProgress(total, type(self).__name__)
        return callbacks

    def _n_threads(self, batch_size: int, n_features: int) -> int:
        """Torch intra-op threads for batches of this size (``n_threads``)."""
        available = torch.get_num_threads()
        if self.n_threads != "auto":
            return int(self.n_threads)
        k, out = self.k, self._n_outputs()
        work = batch_size * (n_features * k + k * (k - 1) // 2 + k * out)
        return 1 if work < _THREADS_MIN_WORK else available

    # -- step 6: train ------------------------------------------------------------
    def _train(
        self,
        net: FreeNetTrainer,
        data: TrainingData,
        *,
        incremental: bool,
        seed: int,
        epochs: int | None = None,
        polish: bool = True,
    ) -> TrainingResult:
        """One training run, with its threads and its own random generator.

        ``epochs``: the gradient epochs (None: ``max_epochs``, or one for
        ``partial_fit``); ``polish``: whether ``polish_epochs`` follow them.
        """
        if epochs is None:
            epochs = 1 if incremental else self.max_epochs
        n_polish = self.polish_epochs if polish and not incremental else 0
        threads = self._n_threads(net.batch_size, data.X.shape[1])
        with torch_threads(threads), blas_threads(threads):
            return net.train(
                data, epochs, n_polish, generator=generator(seed, data.X.device)
            )

    def _finish(
        self,
        net: FreeNetTrainer,
        data: TrainingData,
        callbacks: _RunCallbacks,
        stopped: TrainingResult,
        since: int,
        seed: int,
    ) -> TrainingResult:
        """``early_stopping="auto"``: train the best network on every row.

        The network that scored best on the held-out rows (restored when the
        stopping run ended) trains on all the rows, held-out ones included, for
        ``_FINISH_FRACTION`` of the epochs that found it (rounded up), on its
        graph as it is: no FreeEvolve round, no stopping criterion, the
        learning rate and batch size ``fit`` would use on all the rows (with
        ``lr_schedule="cosine"``, the rate the schedule ended at). Its
        epochs are marked ``"finish"`` in the history; ``polish_epochs`` follow
        them. A stopping run that diverged is not finished (nor polished).
        """
        if stopped.stop_reason == "diverged":
            return stopped
        best = callbacks.stopping.best_epoch_ if callbacks.stopping else None
        epochs = 0 if best is None else math.ceil(_FINISH_FRACTION * (best - since))
        finish = _RunCallbacks(guard=DivergenceGuard(), phase=MarkPhase("finish"))
        if self.verbose:
            name = f"{type(self).__name__} (all rows)"
            finish.progress = EpochProgress(epochs + self.polish_epochs, name)
        rates = [group["lr"] for group in net.optimizer_.param_groups]
        self._sync(net, len(data), finish)
        if self.lr_schedule == "cosine":  # go on at the annealed rate
            for group, rate in zip(net.optimizer_.param_groups, rates, strict=True):
                group["lr"] = rate
        result = self._train(
            net, data, incremental=False, seed=seed + len(net.history), epochs=epochs
        )
        diverged = result.stop_reason == "diverged"
        return TrainingResult(
            epochs=stopped.epochs + result.epochs,
            polish_epochs=result.polish_epochs,
            stop_reason=result.stop_reason if diverged else stopped.stop_reason,
            stopped_epoch=result.stopped_epoch if diverged else stopped.stopped_epoch,
        )

    # -- the whole fit ------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """Fit from scratch, or continue (``warm_start`` / ``partial_fit``).

        Runs the steps in order inside :func:`_unchanged_on_error`, so that a
        step that raises (or a Ctrl+C) leaves the estimator as it was.
        ``partial_fit`` runs one epoch on all the rows it is given.
        """
        continues = hasattr(self, "net_") and bool(self.warm_start or incremental)
        with _unchanged_on_error(self, self.net_ if continues else None):
            self._check_params(incremental=incremental, continues=continues)
            X, y, w = self._validate_input(
                X,
                y,
                sample_weight,
                first=not continues,
                incremental=incremental,
                classes=classes,
            )
            seed = int(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            )
            if not continues:
                self._seed = seed
            train, valid_rows = self._split(X, y, w, incremental=incremental, seed=seed)
            data, valid = self._training_data(train, valid_rows, first=not continues)
            net = self.net_ if continues else self._build(X.shape[1], data)
            since = len(net.history)
            callbacks = self._callbacks(
                since, valid, len(data), incremental=incremental
            )
            self._sync(net, len(data), callbacks)
            finish = self.early_stopping == "auto" and valid is not None
            result = self._train(
                net,
                data,
                incremental=incremental,
                seed=seed + since,
                polish=not finish,
            )
            if finish:
                data, _ = self._training_data(
                    _join(train, valid_rows), None, first=False
                )
                result = self._finish(net, data, callbacks, result, since, seed)
            self._bound_activations(net, data, incremental=incremental)
            self._set_fitted_state(net, result, callbacks)
            self._warn_on_stop(result, incremental)
        return self

    def _warn_on_stop(self, result: TrainingResult, incremental: bool) -> None:
        """A ConvergenceWarning when training diverged or did not converge."""
        name = type(self).__name__
        if result.diverged_epoch is not None:
            warnings.warn(
                f"{name} diverged: the training loss became NaN or infinite in "
                f"epoch {result.diverged_epoch}. Training stopped and the weights "
                "from the start of that epoch (the last finite ones) were kept. "
                "Lower lr, scale the inputs, or use activation='relu'.",
                ConvergenceWarning,
                stacklevel=5,
            )
            return
        curve = self.loss_curve_[len(self.loss_curve_) - self.n_iter_ :]
        if (
            not self.keep_best
            and len(curve) > 1
            and curve[-1] > _RISE_FACTOR * max(curve[0], np.finfo(float).tiny)
        ):
            warnings.warn(
                f"{name} diverged: the training loss rose from {curve[0]:.4g} in "
                f"the first epoch of this fit to {curve[-1]:.4g} in the last. "
                "Lower lr, scale the inputs, or use activation='relu'.",
                ConvergenceWarning,
                stacklevel=5,
            )
            return
        if incremental or result.stop_reason != "max_epochs":
            return
        measure = (
            "training loss" if self.validation_scores_ is None else "validation score"
        )
        if self.n_iter_no_change == np.inf:
            why = "n_iter_no_change=np.inf never stops training early"
        else:
            why = (
                f"the {measure} still improved by more than tol={self.tol} "
                f"within n_iter_no_change={self.n_iter_no_change} epochs"
            )
        warnings.warn(
            f"{name}: max_epochs={self.max_epochs} reached before training "
            f"converged ({why}). Raise max_epochs, or raise tol to stop sooner.",
            ConvergenceWarning,
            stacklevel=5,
        )

    # -- step 7: bounds for prediction ---------------------------------------------
    def _bound_activations(
        self, net: FreeNetTrainer, data: TrainingData, *, incremental: bool
    ) -> None:
        """Record each neuron's largest pre-activation on the training rows.

        For ``activation="squared_relu"`` only: prediction clips every neuron's
        pre-activation at its largest value on the training rows plus
        ``_CAP_MARGIN`` times its range there, so a network whose squares
        compound along its edges stays bounded on rows unlike its training data
        (it returned NaN there), and predicts exactly as before on rows like the
        training rows (a polynomial fit still reaches the ends of its interval).
        A ``partial_fit`` call raises the caps to cover its rows too.
        """
        if self.activation != "squared_relu":
            self._preact_cap = None
            return
        module = net.module_
        highest = torch.full((module.k,), -torch.inf, dtype=torch.float64)
        lowest = torch.full((module.k,), torch.inf, dtype=torch.float64)
        for start in range(0, len(data), 4096):
            Z = module.hidden(data.X[start : start + 4096])[1].cpu().double()
            highest = torch.maximum(highest, Z.max(dim=0).values)
            lowest = torch.minimum(lowest, Z.min(dim=0).values)
        cap = (highest + _CAP_MARGIN * (highest - lowest)).numpy()
        previous = getattr(self, "_preact_cap", None)
        if incremental and previous is not None and previous.shape == cap.shape:
            cap = np.maximum(previous, cap)
        # a network that overflows on its own training rows cannot be bounded
        self._preact_cap = cap if np.isfinite(cap).all() else None

    # -- step 8: fitted attributes ------------------------------------------------
    def _set_fitted_state(
        self,
        net: FreeNetTrainer,
        result: TrainingResult | None = None,
        callbacks: _RunCallbacks | None = None,
    ) -> None:
        """Set the fitted attributes from a trained (or constructed) skorch net.

        ``result`` and ``callbacks`` are those of the training run that just
        ended (None for a network built from given weights).
        """
        self.net_ = net
        self.adjacency_ = net.module_.adjacency.cpu().numpy().copy()
        self.n_edges_ = int(self.adjacency_.sum())
        rows = list(net.history)
        self.evolution_history_ = round_records(net.history)
        loss = History.TRAIN_LOSS
        self.loss_curve_ = [float(row[loss]) for row in rows if loss in row]
        self.n_iter_ = 0 if result is None else result.epochs + result.polish_epochs
        gradient = [
            float(row[loss])
            for row in rows
            if loss in row and row.get(History.PHASE) != "polish"
        ]
        stopping = None if callbacks is None else callbacks.stopping
        self.validation_scores_: list[float] | None
        self.best_validation_score_: float | None
        self.best_loss_: float | None
        if stopping is not None and stopping.validated:
            self.best_loss_ = None
            score = History.VALID_SCORE
            self.validation_scores_ = [row[score] for row in rows if score in row]
            self.best_validation_score_ = float(stopping.best_score_)
        else:
            finite = [v for v in gradient if np.isfinite(v)]
            self.best_loss_ = min(finite) if finite else None
            self.validation_scores_ = None
            self.best_validation_score_ = None

    # -- prediction ---------------------------------------------------------------
    def _raw_output(self, X) -> np.ndarray:
        """Return the network's outputs for ``X``, computed batch-invariantly.

        Rows go through the network in blocks of exactly ``_PREDICT_BLOCK`` rows
        (the last one zero-padded). A matrix product's rounding depends on its
        shape, so fixing the shape makes every row's output independent of which
        other rows are predicted with it: predicting a subset, a permutation or
        one row at a time gives bit-identical results. Inputs are converted to
        the dtype the network was built with (a later ``set_params(dtype=...)``
        does not change a fitted model), sparse ones block by block. A
        squared-ReLU network's pre-activations are capped
        (:meth:`_bound_activations`): a row that reaches a cap is computed again,
        alone in a block, with the caps. Outputs that are not finite raise a
        ``RuntimeWarning`` that says how many.
        """
        check_is_fitted(self)
        dtype = self._built_params["dtype"]
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=_SPARSE_FORMATS,
            dtype=_NP_DTYPES[dtype],
        )
        if sp.issparse(X):
            X = X.tocsr()
        module = self.net_.module_
        device = next(module.parameters()).device
        cap = getattr(self, "_preact_cap", None)
        if cap is not None:
            cap = torch.as_tensor(cap, dtype=module.weight.dtype, device=device)
        block = torch.zeros((_PREDICT_BLOCK, X.shape[1]), dtype=module.weight.dtype)
        outputs = []
        threads = self._n_threads(_PREDICT_BLOCK, X.shape[1])
        with torch_threads(threads), torch.no_grad():
            for start in range(0, X.shape[0], _PREDICT_BLOCK):
                rows = _dense(X[start : start + _PREDICT_BLOCK])
                block[: len(rows)] = torch.from_numpy(rows)
                block[len(rows) :] = 0
                on_device = block.to(device)
                if cap is None:
                    out = module(on_device)[: len(rows)]
                else:
                    out, Z = module.forward_with_preactivations(on_device)
                    n = len(rows)
                    out = _capped_rows(module, on_device, out[:n], Z[:n], cap)
                outputs.append(out.cpu())
        raw = torch.cat(outputs).numpy()
        bad = ~np.isfinite(raw).all(axis=1)
        if bad.any():
            warnings.warn(
                f"{type(self).__name__}: the network's output is NaN or infinite "
                f"for {int(bad.sum())} of {len(raw)} samples: the computation "
                "overflowed (inputs far larger than the training data, or weights "
                "that diverged). Scale or clip the inputs, or refit with a lower "
                "lr or dtype='float64'.",
                RuntimeWarning,
                stacklevel=3,
            )
        return raw

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        return tags


# Parameter descriptions shared by both estimators' docstrings (one copy).
_COMMON_PARAMETERS = """\
k : int, default=100
        Number of neurons.
    epsilon : float in (0, 1), default=0.25
        FreeEvolve threshold: with the default ``rule="phi"``, an edge ``j -> i``
        is added when the correlation of the two neurons' binary activities on
        the (weighted) training samples is above ``1 - epsilon``; with
        ``rule="paper"``, when both are active on more than ``1 - epsilon`` of
        the samples. Both prune an edge when its neurons are silent together on
        more than ``1 - epsilon`` of them. Other rules read it their way.
    evolve_rounds : int, default={rounds_default}
        Most FreeEvolve rounds per ``fit``. ``0`` trains the initial graph
        only; with ``initial_graph="empty"`` that is exactly a one-hidden-layer
        MLP.{rounds_extra}
    evolve_every : int, default=1
        Epochs between FreeEvolve rounds: a round runs after epochs
        ``evolve_every``, ``2 * evolve_every``, ... of a fit, until
        ``evolve_rounds`` rounds have run or ``evolve_patience`` rounds in a row
        changed nothing (evolution has *settled*). Without held-out rows the
        stopping criterion restarts its count after each epoch whose round
        changed the graph. For
        :meth:`partial_fit`, every ``evolve_every``-th call ends with a round.
    evolve_every_batches : int or None, default=20
        Mini-batches between FreeEvolve rounds early on, and the fewest between
        any two. With at least this many mini-batches per epoch, a round also
        runs after every ``evolve_every_batches``-th mini-batch of the first
        epoch (the paper evolves per iteration; activity changes fastest early
        on); these rounds count toward ``evolve_rounds``. With fewer (small
        data), the epoch rounds are spaced to keep this many mini-batches
        between them: every ``ceil(evolve_every_batches / batches per epoch)``
        epochs if that is more than ``evolve_every``, and at most as many as fit
        in the ``evolve_rounds * evolve_every`` epochs of the schedule (so 3
        rounds, 20 epochs apart, when an epoch is one mini-batch). None: neither,
        a round every ``evolve_every`` epochs whatever the data.
    evolve_patience : int, default=3
        Rounds in a row without a change after which evolution settles (1: the
        first unchanged round ends it).
    rule : {"paper", "phi", "usage", "contribution", "rigl"}, callable, \
GatedRule or L1Rule, default="phi"
        The topology rule of a round. ``"phi"``: the paper's rule, except that
        an edge is added when the correlation (phi) of the two neurons' binary
        activities is above ``1 - epsilon``, so neurons that are merely active
        on most samples are not wired (why it is the default: the user
        guide's "How the default rule was chosen"). ``"paper"``: the FreeNets
        paper's rule (see ``epsilon``), the previous default. ``"usage"``: prune
        an edge when both its neurons are active on fewer than ``epsilon`` of
        the samples (where it can act),
        add one when on more than ``1 - epsilon``. ``"contribution"``: prune
        edges whose typical input ``|W_ij| E|h_j|`` to their neuron, relative to
        the spread of its pre-activation, is below ``epsilon`` times the mean of
        that neuron's incoming edges; never add. ``"rigl"``: hold the graph at
        a fraction ``epsilon`` of all possible edges, grown by the loss's
        gradient and pruned by weight magnitude (RigL; a round then also takes
        the gradient of a few mini-batches). A
        :class:`~sklearn_freenets.evolve.GatedRule` keeps a round's change only
        if it lowers the loss on held-out rows (the validation split, or
        ``validation_fraction`` of the training rows held out while evolution
        runs). An :class:`~sklearn_freenets.evolve.L1Rule` shrinks the edge
        weights by an L1 penalty after every step and prunes those at 0. A
        callable ``rule(adjacency,
        stats, epsilon) -> adjacency`` gets the current boolean ``(k, k)`` graph
        and the round's :class:`~sklearn_freenets.evolve.ActivityStats` and
        returns the new graph, boolean or 0/1 (its strictly lower triangle is
        used); :mod:`sklearn_freenets.evolve` has the named rules to build on.
    revive_dead : bool, default=False
        After each round's rule, revive the neurons that never fired on the
        round's activity sample: draw their incoming weights afresh and set
        their outgoing weights to 0, so the function is unchanged but the
        neurons fire and learn again (a dead ReLU neuron gets no gradient). The
        rounds' records count them (``n_revived``).
    activation : {"relu", "squared_relu", "tanh"}, default="relu"
        Neuron nonlinearity; ``squared_relu`` is ``max(0, z) ** 2``. A neuron is
        *active* when its pre-activation is positive. With ``squared_relu``,
        prediction caps each neuron's pre-activation at the largest value it
        took on the training rows plus a tenth of its range there: squares
        compounded along edges otherwise overflow on rows unlike the training
        data (NaN predictions); on rows like the training rows the predictions
        are unchanged.
    initial_graph : {"empty", "dense"} or array-like of shape (k, k), \
default="empty"
        Starting graph: ``"empty"`` has no edges (a one-hidden-layer network
        that FreeEvolve then wires up), ``"dense"`` every edge ``j -> i`` with
        ``j < i`` (it contains every layered network of ``k`` neurons: the
        paper's start); an array gives the edges (strictly lower triangular).
        The empty start generalised better on the tuning data (see
        :ref:`default-rule` in the user guide).
    skip : bool, default=False
        Add a linear map from the input straight to the outputs.
    max_epochs : int, default=200
        Most epochs (passes over the training rows) of a ``fit``, like the MLP's
        ``max_iter``: training stops earlier once it has converged (see ``tol``).
        A :class:`~sklearn.exceptions.ConvergenceWarning` says when the cap came
        first.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``, as in the MLP.
        When one batch holds every training row (full-batch training), identical
        rows are merged into one row of their total weight and the rows put in a
        canonical order, so the fit does not depend on the row order and a row
        of weight 2 is the same as that row given twice, bit for bit.
    lr : float or "auto", default="auto"
        Adam learning rate. ``"auto"``: ``1e-2 / b`` for ``b`` mini-batches per
        epoch, within ``[1e-3, 1e-2]``: the MLP's 1e-3 from 10 batches an epoch
        (2,000 rows) on, and up to 1e-2 on small data, where 200 epochs of one
        to a few steps are too few updates at 1e-3. The rate used is
        ``lr_``.
    alpha : float, default=1e-3
        L2 penalty, passed as the optimizer's ``weight_decay`` (when the
        optimizer takes one). Per step it adds ``alpha * w`` to each gradient,
        a stronger penalty than the MLP's ``alpha=1e-4`` (which adds
        ``alpha * w / batch_size``).
    tol : float, default={tol_default}
        An epoch improves when the training loss falls by more than ``tol``
        below the best so far (with ``early_stopping``: the validation score
        rises by more than ``tol`` above the best so far). Training stops when
        more than ``n_iter_no_change`` epochs in a row do not improve.{tol_extra}
    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement tolerated before stopping; ``np.inf`` trains
        exactly ``max_epochs`` epochs (and, as the MLP at its ``max_iter``, then
        warns with a :class:`~sklearn.exceptions.ConvergenceWarning`).
    early_stopping : bool or "auto", default={es_default}
        True: hold out ``validation_fraction`` of the training rows (stratified
        for the classifier), score the network on them after every epoch
        (accuracy, or R^2 for the regressor), stop when that score stops
        improving, and restore the weights (and graph) of the epoch with the
        best score, so ``best_validation_score_ == max(validation_scores_)``.
        At least 2 rows must be held out. Not with :meth:`partial_fit`.
        Held-out rows train nothing in this run: not the weights, FreeEvolve,
        ``init="active"``, ``keep_best`` or the target standardisation.
        ``"auto"``: the same when ``fit`` can hold out at least 10 rows (and,
        for the classifier, draw a stratified split), without ``keep_best``,
        and then the restored network trains on every row, held-out ones
        included, for a fifth of the epochs that found it (rounded up; its
        graph as it is, no stopping; these epochs are marked ``"finish"`` in
        ``net_.history``); otherwise, and in :meth:`partial_fit`, train on every
        row as with False. ``validation_scores_`` says which happened.{es_extra}
    validation_fraction : float in (0, 1), default={vf_default}
        Fraction of the training rows held out by ``early_stopping``; unused
        otherwise.
    evolve_max_samples : int or None, default=10000
        Neuron activity for FreeEvolve is recorded on at most this many training
        rows, drawn at random (seeded by ``random_state``); None: all rows.
    dtype : {"float32", "float64"}, default="float32"
        Floating point type of the network and of the data given to it.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch shuffling, the validation split,
        activity subsampling and neuron revival. The fit draws from torch
        generators of its own, never from torch's global one: the caller's torch
        random state is neither read nor changed, and seeded fits running at
        the same time in threads give the results they give one by one.
    device : str, default="cpu"
        Torch device to train on (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...) or
        ``"auto"`` (CUDA when available). A device that is not available fails
        at parameter validation.
    n_threads : int or "auto", default="auto"
        Torch intra-op threads used by ``fit``, ``partial_fit`` and prediction
        (and, in ``fit`` and ``partial_fit``, the most BLAS threads of the
        FreeEvolve rounds' NumPy products); the caller's settings are restored
        afterwards. ``"auto"``: one thread for problems below 50 million
        multiply-adds per forward pass of a batch, else the caller's setting
        (which joblib's and dask's workers already limit to their share of the
        cores): a second thread pays only on large problems, and on small ones
        it makes steps much slower while other processes hold the cores.
    verbose : int, default=0
        0: silent. 1: a progress bar over epochs and one line per FreeEvolve
        round. 2: also skorch's per-epoch table.
    warm_start : bool, default=False
        When fitted already, ``fit`` continues from the current weights and
        graph, with a fresh FreeEvolve schedule and stopping criterion (history
        and loss curve are extended). Parameters that shape the network (``k``,
        ``activation``, ``skip``, ``initial_graph``, ``init``, ``dtype``,
        ``device``, ``net_params``{extra_build}) must be unchanged, else
        ``fit`` raises ``ValueError``; every other parameter takes effect. See
        also :meth:`partial_fit`.
    net_params : dict or None, default=None
        Extra keyword arguments for the underlying :class:`skorch.NeuralNet`:
        the optimizer (``{"optimizer": torch.optim.SGD, "optimizer__momentum":
        0.9}``) and extra ``callbacks``. Keys that would replace what the
        estimator sets up (``module``, ``criterion``, ``train_split``, ``lr``,
        ``batch_size``, ...) raise ``ValueError``. Parameter groups
        (``"optimizer__param_groups": [("weight", {"lr": 1e-4})]``, skorch's
        patterns over the module's parameter names ``encoder.*``, ``weight``,
        ``decoder.*``, ``skip.weight``) keep their own ``lr`` and ``weight_decay``;
        ``lr_schedule`` scales a group's own rate as it scales ``lr``.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"constant"`` keeps ``lr``; ``"cosine"`` anneals it on a half cosine
        from ``lr`` towards ``lr / 1000`` over ``max_epochs`` epochs (recording
        the rate of each epoch in ``net_.history`` as ``lr``). With
        :meth:`partial_fit` the annealing runs over the first ``max_epochs``
        calls.
    polish_epochs : int, default=0
        After the gradient epochs of ``fit``, run this many full-batch L-BFGS
        epochs (each one step of 20 L-BFGS iterations with a strong Wolfe line
        search, on all training rows), with no FreeEvolve round. They count in
        ``n_iter_`` and ``loss_curve_``. :meth:`partial_fit` does not polish.
        Useful for small, smooth problems (fitting polynomials).
    init : {"glorot", "torch", "active"}, default="glorot"
        Weight initialisation. ``"glorot"``: encoder, decoder and skip weights
        and biases uniform in ``+-sqrt(6 / (fan_in + fan_out))``, as
        scikit-learn's MLP. ``"torch"``: PyTorch's ``Linear`` default.
        ``"active"``: PyTorch's, then every neuron's encoder bias is raised,
        neuron by neuron, so that its pre-activation is at least 0.1 on every
        training row{active_extra}. ``"active"`` suits
        ``activation="squared_relu"`` and smooth regression, not ReLU networks
        (a ReLU net with every unit active is affine on the data). The recurrent
        weights of neuron ``i`` are uniform in ``+-1 / sqrt(n_i)`` for its ``n_i``
        incoming edges in every case.
    keep_best : bool, default=False
        At the end of ``fit`` (polish included), restore the weights with the
        lowest training loss seen, unless the final weights are at least as
        good. Exact with full-batch training, approximate otherwise (the loss of
        an epoch is credited to the weights at the start of its last batch); it
        copies the weights at every batch. Not with ``early_stopping``."""

_COMMON_ATTRIBUTES = """\
adjacency_ : ndarray of shape (k, k), dtype=bool
        The evolved graph: ``adjacency_[i, j]`` is the edge ``j -> i``.
    n_edges_ : int
        Number of edges in ``adjacency_``.
    evolution_history_ : list of dict
        One record per FreeEvolve round, in order: ``round``, ``epoch`` (the
        epoch it ran in, 1-based), ``batch`` (the mini-batch of that epoch after
        which it ran, or None at the epoch's end), ``step`` (optimizer steps
        before it), ``n_edges_before``, ``n_added``, ``n_pruned``, ``n_edges``,
        ``changed``, ``train_loss``, ``n_activity_samples``; diagnostics:
        ``n_dead`` (neurons that never fired on the activity sample),
        ``n_always_active``, ``n_pruned_touching_dead`` /
        ``n_pruned_both_dead`` / ``n_added_touching_dead`` (edges with one or
        both ends dead), ``n_revived`` (neurons revived, see ``revive_dead``),
        ``activity_rates`` (each neuron's fraction of active samples); and
        ``ncam`` / ``ncim`` (the strictly lower triangles of the co-activation
        and co-inactivation matrices); ``seconds``, the wall-clock time of the
        round's parts (``activity``: the forward pass over the activity sample;
        ``statistics``: the matrices, and the gradient for ``"rigl"``;
        ``rule``; ``gate``: the recovery epochs of a ``GatedRule``;
        ``rebuild``: setting the graph and the record); with a ``GatedRule``,
        ``gate`` (the held-out losses of both branches, their paired standard
        error, ``accepted``).
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` has one row per epoch.
    loss_curve_ : list of float
        Training loss after each epoch{loss_scale}.
    lr_ : float
        Learning rate of the last fit (``lr``, or what ``"auto"`` chose).
    best_loss_ : float or None
        Lowest training loss of the gradient epochs; None with
        ``early_stopping``.
    validation_scores_ : list of float or None
        Score on the held-out rows after each epoch of the stopping run
        ({score}); None without ``early_stopping``.
    best_validation_score_ : float or None
        Best validation score of the last fit, ``max`` of its
        ``validation_scores_`` (the weights restored at the end of the stopping
        run, before ``"auto"``'s finish on every row); None without
        ``early_stopping``.
    n_iter_ : int
        Number of epochs the last ``fit`` ran (the finish epochs of
        ``early_stopping="auto"`` and polish epochs included), 1 after
        :meth:`partial_fit`, as for the MLP; ``loss_curve_`` spans all fits of
        a warm start.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names."""

_NOTES = """\
Training stops as scikit-learn's MLP does: after ``max_epochs`` epochs, or once
    more than ``n_iter_no_change`` epochs in a row did not improve the training
    loss (or, with ``early_stopping``, the validation score) by ``tol``, with
    one difference when no rows are held out: the count restarts after each
    epoch whose FreeEvolve round changed the graph, so a fit runs at least
    ``n_iter_no_change + 1`` epochs past the last change (rounds that change
    nothing do not hold it back, and the fit may end before evolution settles).
    With held-out rows the count goes on, and the restored state is the
    best-scoring weights with their graph. The best loss or score (and, with
    ``early_stopping``, the weights restored) is that of the best epoch of the
    whole fit. If the loss becomes NaN or infinite, training stops with a
    :class:`~sklearn.exceptions.ConvergenceWarning` and keeps the weights from
    the start of that epoch; a loss that rises more than tenfold over a fit
    warns too.

    A fit either succeeds or changes nothing: when any step of ``fit`` or
    ``partial_fit`` raises (bad input found late, a failing callback, Ctrl+C),
    the estimator is put back exactly as it was before the call, and an
    estimator whose first fit raised stays unfitted. Ctrl+C (``KeyboardInterrupt``)
    is not swallowed: it aborts the fit (and a search running it). A callback of
    ``net_params`` may still end training early the skorch way, by raising
    ``KeyboardInterrupt`` itself.

    Sparse input is accepted and densified (``n_samples * n_features`` floats
    for ``fit``; block by block for prediction).

    Scale the inputs, as for any MLP. With ``rule="paper"`` the scaling also
    decides what FreeEvolve does, because that rule reads which neurons fire:
    on uncentred, non-negative inputs (pixels in [0, 1], say) many neurons
    fire on most samples and it wires them together; on standardised inputs
    activity rates stay near one half and the graph stays nearly empty. The
    default ``rule="phi"`` measures co-firing against chance, so busy neurons
    are not wired for being busy, whatever the scaling."""


_REGRESSOR_TOL_NOTE = """
        The default is a tenth of the MLP's 1e-4 because the loss is measured
        on standardised targets (``standardize_targets=True``), where it is
        about ``1 - R^2`` rather than the MLP's ``var(y) (1 - R^2) / 2``: with
        1e-4 the regressor stopped before it had converged."""


_CLASSIFIER_ES_NOTE = """
        The classifier's ``"auto"`` scores the held-out rows by their log-loss
        (``validation_scores_`` holds its negative: higher is better), as
        skorch and Keras stop on the validation loss; ``True`` scores their
        accuracy, as the MLP does. Accuracy on a few held-out rows moves in
        steps and stopped training too early; the loss did not. ``"auto"`` is
        not the default: it gained on small noisy sets and cost on larger
        clean ones (see :ref:`early-stopping` in the user guide)."""


_CLASSIFIER_ROUNDS_NOTE = """
        The classifier does not evolve unless asked (``evolve_rounds=60`` runs
        the regressor's schedule): paired against the same network unevolved,
        the default rule cost accuracy on small classification sets where it
        wired edges, while on regression it never cost and gained where it
        wires edges (see :ref:`default-rule` in the user guide)."""


_REGRESSOR_ES_NOTE = """
        The regressor's default is ``"auto"`` with ``validation_fraction=0.2``:
        on small noisy regression sets, training until the training loss
        converges fits the noise, and stopping on held-out rows avoids that;
        the finish on every row recovers what holding rows out costs on clean
        data (see :ref:`early-stopping` in the user guide). The classifier's
        default stays False: there, holding out rows cost as much as it
        saved."""


def _fill(template: str, **extra: str) -> str:
    """A class docstring with the shared sections filled in."""
    parameters = _COMMON_PARAMETERS
    for name in (
        "extra_build",
        "active_extra",
        "tol_extra",
        "es_extra",
        "rounds_extra",
    ):
        parameters = parameters.replace("{" + name + "}", extra.get(name, ""))
    for name in ("tol_default", "es_default", "vf_default", "rounds_default"):
        parameters = parameters.replace("{" + name + "}", extra[name])
    attributes = _COMMON_ATTRIBUTES
    for name in ("loss_scale", "score"):
        attributes = attributes.replace("{" + name + "}", extra[name])
    sections = {"parameters": parameters, "attributes": attributes, "notes": _NOTES}
    for name, text in sections.items():
        template = template.replace("{" + name + "}", text)
    return template


class FreeNetClassifier(ClassifierMixin, _BaseFreeNet):
    __doc__ = _fill(
        """FreeNet classifier: ``k`` neurons wired by an evolving DAG.

    Trains a :class:`~sklearn_freenets.nn.FreeNetModule` with skorch and Adam
    on the (sample-weighted) cross-entropy loss, alternating weight training with
    FreeEvolve rounds that add edges between neurons that fire together and cut
    edges between neurons that are silent together, until training converges.
    For multilabel targets (a 0/1 indicator matrix ``y``) each label has a
    sigmoid output and the loss is the binary cross-entropy, as in
    :class:`~sklearn.neural_network.MLPClassifier`.

    Parameters
    ----------
    {parameters}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into each row's ``sample_weight`` as
        scikit-learn's classifiers do, so they weight everything the sample
        weights weight: the loss, FreeEvolve's activity statistics and the
        validation score of ``early_stopping``. A dict maps class labels to
        weights (1 for the labels it leaves out); ``"balanced"`` gives class
        ``c`` the weight ``n_samples / (n_classes * n_samples_of_c)``, from the
        ``y`` of each ``fit``; with multilabel targets, ``"balanced"`` per label,
        multiplied over the labels (a dict is refused there). Not
        ``"balanced"`` with :meth:`partial_fit` (one call's class frequencies are
        not the data's): compute the weights once and pass a dict. None: every
        class weighs 1.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    {attributes}

    See Also
    --------
    FreeNetRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : A layered network.

    Notes
    -----
    {notes}

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_freenets import FreeNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FreeNetClassifier(k=8, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.adjacency_.shape
    (8, 8)
    """,
        loss_scale=(
            " (weighted mean cross-entropy; binary cross-entropy averaged over "
            "the labels for multilabel targets)"
        ),
        tol_default="1e-4",
        es_default="False",
        vf_default="0.1",
        rounds_default="0",
        rounds_extra=_CLASSIFIER_ROUNDS_NOTE,
        es_extra=_CLASSIFIER_ES_NOTE,
        score='accuracy; with ``early_stopping="auto"`` the negative log-loss',
    )

    _parameter_constraints: dict = {
        **_BaseFreeNet._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        k=100,
        *,
        epsilon=0.25,
        evolve_rounds=0,
        evolve_every=1,
        evolve_every_batches=20,
        evolve_patience=3,
        rule="phi",
        revive_dead=False,
        activation="relu",
        initial_graph="empty",
        skip=False,
        max_epochs=200,
        batch_size="auto",
        lr="auto",
        alpha=1e-3,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        evolve_max_samples=10000,
        dtype="float32",
        random_state=None,
        device="cpu",
        n_threads="auto",
        verbose=0,
        warm_start=False,
        net_params=None,
        lr_schedule="constant",
        polish_epochs=0,
        init="glorot",
        keep_best=False,
        class_weight=None,
    ):
        super().__init__(
            k,
            epsilon=epsilon,
            evolve_rounds=evolve_rounds,
            evolve_every=evolve_every,
            evolve_every_batches=evolve_every_batches,
            evolve_patience=evolve_patience,
            rule=rule,
            revive_dead=revive_dead,
            activation=activation,
            initial_graph=initial_graph,
            skip=skip,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            alpha=alpha,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            evolve_max_samples=evolve_max_samples,
            dtype=dtype,
            random_state=random_state,
            device=device,
            n_threads=n_threads,
            verbose=verbose,
            warm_start=warm_start,
            net_params=net_params,
            lr_schedule=lr_schedule,
            polish_epochs=polish_epochs,
            init=init,
            keep_best=keep_best,
        )
        self.class_weight = class_weight

    def _validate_input(
        self, X, y, sample_weight, *, first: bool, incremental: bool, classes=None
    ):
        X, y, w = super()._validate_input(
            X, y, sample_weight, first=first, incremental=incremental, classes=classes
        )
        if self.class_weight is not None:
            w = w * self._class_weights(y, incremental=incremental)
        return X, y, w

    def _class_weights(self, y, *, incremental: bool) -> np.ndarray:
        """Each row's weight from ``class_weight`` (``y`` encoded), as scikit-learn's
        classifiers compute it: ``"balanced"`` gives class ``c`` the weight
        ``n_samples / (n_classes * count(c))``; a dict maps labels to weights (1
        for the labels it leaves out); multilabel targets take ``"balanced"``
        per label, the weights multiplied over the labels."""
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: the "
                "class frequencies of one call are not those of the data. Compute "
                "the weights once, e.g. compute_class_weight('balanced', "
                "classes=classes, y=y) on a large enough sample of the targets, and "
                "pass them as a dict"
            )
        if self._multilabel:
            if self.class_weight != "balanced":
                raise ValueError(
                    "class_weight as a dict is for single-label targets; with "
                    "multilabel targets use class_weight='balanced' (or "
                    "sample_weight)"
                )
            return compute_sample_weight("balanced", y.astype(np.int64))
        per_class = compute_class_weight(
            self.class_weight, classes=self.classes_, y=self.classes_[y]
        )
        return per_class[y]

    def _make_criterion(self) -> type[torch.nn.Module]:
        if self._multilabel:
            return torch.nn.BCEWithLogitsLoss
        return torch.nn.CrossEntropyLoss

    def _prepare_targets(self, y, *, first: bool, classes=None, incremental=False):
        if sp.issparse(y):
            y = y.toarray()
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multiclass-multioutput":
            raise ValueError(
                "FreeNetClassifier does not support multiclass-multioutput targets "
                "(several columns of more than two classes); multilabel targets "
                "(a 0/1 indicator matrix) are supported"
            )
        multilabel = kind == "multilabel-indicator"
        if first:
            self._multilabel = multilabel
            if multilabel:
                self._label_binarizer = LabelBinarizer().fit(y)
                self.classes_ = self._label_binarizer.classes_
                return y.astype(np.float64)
            self._label_encoder = LabelEncoder().fit(y if classes is None else classes)
            self.classes_ = self._label_encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    "FreeNetClassifier needs samples of at least 2 classes in the "
                    "data, but the data contains only one class: "
                    f"{self.classes_[0]!r}"
                )
        elif multilabel != self._multilabel:
            fitted = "multilabel" if self._multilabel else "multiclass"
            raise ValueError(
                f"y is {kind}, but the fitted network is {fitted}; fit with "
                "warm_start=False to build a new network"
            )
        if multilabel:
            if y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y has {y.shape[1]} labels, but the fitted network predicts "
                    f"{len(self.classes_)}"
                )
            return y.astype(np.float64)
        if not first:
            if classes is not None and not np.array_equal(
                np.unique(classes), self.classes_
            ):
                raise ValueError(
                    f"classes={list(classes)} is not the same as on the first call "
                    f"to partial_fit, which was {self.classes_.tolist()}"
                )
            if not incremental and not np.array_equal(np.unique(y), self.classes_):
                raise ValueError(
                    "warm_start can only be used where y has the same classes as "
                    f"in the previous call to fit. Previously got "
                    f"{self.classes_.tolist()}, y has {np.unique(y).tolist()}"
                )
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} not among the classes of the "
                f"fitted network {self.classes_.tolist()}; pass all labels with "
                "`classes` on the first partial_fit call, or refit without warm_start"
            )
        return self._label_encoder.transform(y).astype(np.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _stratify(self, y):
        return None if self._multilabel else y

    def _validation_score(self, net: FreeNetTrainer, valid: TrainingData) -> float:
        """Accuracy on the held-out rows; with ``early_stopping="auto"`` their
        negative log-loss (the weighted training criterion), higher is better."""
        if self.early_stopping == "auto":
            loss = float(net.dataset_loss(valid))
            return -loss if np.isfinite(loss) else -np.inf
        with torch.no_grad():
            out = net.module_(valid.X)
        pred = (out > 0).to(torch.int64) if self._multilabel else out.argmax(dim=1)
        truth = valid.y.cpu().numpy()
        return accuracy_score(
            truth.astype(np.int64) if self._multilabel else truth,
            pred.cpu().numpy(),
            sample_weight=valid.w.cpu().double().numpy(),
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network and evolve its graph until training converges.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input is densified: it takes
            ``n_samples * n_features`` floats of memory).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (any hashable type), or a 0/1 indicator matrix for
            multilabel classification (one sigmoid output per label).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: the loss, the activity statistics of
            FreeEvolve and the validation score are weighted means. None: all 1.

        Returns
        -------
        self : FreeNetClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch on ``(X, y)``, continuing the current network.

        One call runs one epoch over all of ``X`` (in mini-batches of
        ``batch_size``); the stopping criterion, ``polish`` and ``keep_best``
        apply to ``fit`` only, and ``early_stopping=True`` is refused, as for
        scikit-learn's MLP (whose argument order this follows). Every
        ``evolve_every``-th call ends with a FreeEvolve round on that call's
        data, until evolution settles. The first call builds the network (as
        ``fit`` would); later calls continue it, whatever ``warm_start`` is.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights. None: all 1.
        classes : array-like of shape (n_classes,), default=None
            All labels that will ever appear; required on the first call when
            ``y`` does not contain every class.

        Returns
        -------
        self : FreeNetClassifier
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_`` (a softmax); for
            multilabel targets, each label's probability (a sigmoid per label).
        """
        raw = self._raw_output(X).astype(np.float64)
        return expit(raw) if self._multilabel else softmax(raw, axis=1)

    def predict_log_proba(self, X):
        """Return the logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        raw = self._raw_output(X).astype(np.float64)
        return log_expit(raw) if self._multilabel else log_softmax(raw, axis=1)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels, taken from ``classes_``; for multilabel targets,
            the indicator matrix of the labels whose probability is above 0.5.
        """
        scores = self._raw_output(X)  # checks the fit before classes_ is read
        if self._multilabel:
            return self._label_binarizer.inverse_transform(expit(scores))
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class FreeNetRegressor(RegressorMixin, _BaseFreeNet):
    __doc__ = _fill(
        """FreeNet regressor: ``k`` neurons wired by an evolving DAG.

    Trains a :class:`~sklearn_freenets.nn.FreeNetModule` with skorch and Adam
    on the (sample-weighted) squared error, alternating weight training with
    FreeEvolve rounds, until training converges. Supports one or several
    targets. By default each target is standardised for training and the
    predictions mapped back, so targets in the thousands or with heavy tails
    train as well as unit-scale ones.

    Parameters
    ----------
    {parameters}
    standardize_targets : bool, default=True
        Train on ``(y - mean) / std`` per target (weighted, from the training
        rows of the first fit) and map predictions back. False: train on ``y``
        as given.

    Attributes
    ----------
    {attributes}

    See Also
    --------
    FreeNetClassifier : The same network for classification.
    sklearn.neural_network.MLPRegressor : A layered network.

    Notes
    -----
    {notes}

    To fit a smooth function (a polynomial, say) to high accuracy, combine the
    training options: ``FreeNetRegressor(k, activation="squared_relu",
    skip=True, initial_graph="dense", evolve_rounds=0, dtype="float64",
    batch_size=n_samples, standardize_targets=False,
    max_epochs=1000, n_iter_no_change=np.inf, lr=1e-2, alpha=0,
    lr_schedule="cosine", polish_epochs=50, init="active", keep_best=True)``
    (full-batch Adam, cosine-annealed, then L-BFGS, from a start where every
    neuron is active); see :doc:`/theory`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_freenets import FreeNetRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = 1000 * (X[:, 0] ** 2 - X[:, 1])
    >>> reg = FreeNetRegressor(k=8, skip=True, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """,
        extra_build=", ``standardize_targets``",
        tol_default="1e-5",
        tol_extra=_REGRESSOR_TOL_NOTE,
        es_default='"auto"',
        es_extra=_REGRESSOR_ES_NOTE,
        vf_default="0.2",
        rounds_default="60",
        active_extra=(
            ", then the decoder, its bias and the skip map are set to the "
            "least-squares fit of the (standardised) targets on the resulting "
            "features"
        ),
        loss_scale=(
            " (weighted mean squared error, averaged over targets, in units of "
            "the standardised targets when ``standardize_targets=True``)"
        ),
        score="R^2, averaged over targets",
    )

    def _make_criterion(self) -> type[torch.nn.Module]:
        return torch.nn.MSELoss

    _parameter_constraints: dict = {
        **_BaseFreeNet._parameter_constraints,
        "standardize_targets": ["boolean"],
    }
    _build_param_names = (*_BUILD_PARAMS, "standardize_targets")

    def __init__(
        self,
        k=100,
        *,
        epsilon=0.25,
        evolve_rounds=60,
        evolve_every=1,
        evolve_every_batches=20,
        evolve_patience=3,
        rule="phi",
        revive_dead=False,
        activation="relu",
        initial_graph="empty",
        skip=False,
        max_epochs=200,
        batch_size="auto",
        lr="auto",
        alpha=1e-3,
        tol=1e-5,
        n_iter_no_change=10,
        early_stopping="auto",
        validation_fraction=0.2,
        evolve_max_samples=10000,
        dtype="float32",
        random_state=None,
        device="cpu",
        n_threads="auto",
        verbose=0,
        warm_start=False,
        net_params=None,
        lr_schedule="constant",
        polish_epochs=0,
        init="glorot",
        keep_best=False,
        standardize_targets=True,
    ):
        super().__init__(
            k,
            epsilon=epsilon,
            evolve_rounds=evolve_rounds,
            evolve_every=evolve_every,
            evolve_every_batches=evolve_every_batches,
            evolve_patience=evolve_patience,
            rule=rule,
            revive_dead=revive_dead,
            activation=activation,
            initial_graph=initial_graph,
            skip=skip,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            alpha=alpha,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            evolve_max_samples=evolve_max_samples,
            dtype=dtype,
            random_state=random_state,
            device=device,
            n_threads=n_threads,
            verbose=verbose,
            warm_start=warm_start,
            net_params=net_params,
            lr_schedule=lr_schedule,
            polish_epochs=polish_epochs,
            init=init,
            keep_best=keep_best,
        )
        self.standardize_targets = standardize_targets

    def _set_network(self, n_features: int, weights: dict) -> None:
        """Become a fitted single-output regressor with the given module weights.

        ``weights`` maps the module's parameter names (``encoder.weight``, ...)
        to tensors; the graph is ``initial_graph``. Targets are taken as given
        (mean 0, scale 1), and nothing is trained (``n_iter_ == 0``).
        """
        self._y_ndim, self._n_targets, self._seed = 1, 1, 0
        self._y_mean, self._y_scale = np.zeros(1), np.ones(1)
        self._preact_cap = None  # exact on its domain: nothing to bound
        net = self._make_net(n_features, 1)
        net.initialize()
        self._record_build_params()
        module = net.module_
        with torch.no_grad():
            for name, value in module.named_parameters():
                value.copy_(weights[name])
        self.n_features_in_ = n_features
        self._set_fitted_state(net)

    def _prepare_targets(
        self, y, *, first: bool, classes=None, incremental: bool = False
    ):
        y = np.asarray(y)
        y2 = y.reshape(len(y), -1) if y.ndim == 1 else y
        if first:
            self._y_ndim = y.ndim
            self._n_targets = y2.shape[1]
        elif y2.shape[1] != self._n_targets:
            raise ValueError(
                f"y has {y2.shape[1]} targets, but the fitted network predicts "
                f"{self._n_targets}"
            )
        return y2.astype(np.float64)

    def _scale_targets(self, y, w, *, first: bool):
        if first:
            if self.standardize_targets:
                mean = np.average(y, axis=0, weights=w)
                std = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=w))
                self._y_mean = mean
                self._y_scale = np.where(
                    std > 10 * np.finfo(float).eps * (1 + abs(mean)), std, 1.0
                )
            else:
                self._y_mean = np.zeros(y.shape[1])
                self._y_scale = np.ones(y.shape[1])
        return (y - self._y_mean) / self._y_scale

    def _n_outputs(self) -> int:
        return self._n_targets

    def _validation_score(self, net: FreeNetTrainer, valid: TrainingData) -> float:
        with torch.no_grad():
            pred = net.module_(valid.X)
        if not torch.isfinite(pred).all():
            return -np.inf
        return r2_score(
            valid.y.cpu().double().numpy(),
            pred.cpu().double().numpy(),
            sample_weight=valid.w.cpu().double().numpy(),
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network and evolve its graph until training converges.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: the loss, the target standardisation, the
            activity statistics of FreeEvolve and the validation score are
            weighted. None: all 1.

        Returns
        -------
        self : FreeNetRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing the current network.

        One call runs one epoch over all of ``X`` (in mini-batches of
        ``batch_size``); the stopping criterion, ``early_stopping``, ``polish``
        and ``keep_best`` apply to ``fit`` only, as for scikit-learn's MLP.
        Every ``evolve_every``-th call ends with a FreeEvolve round on that
        call's data, until evolution settles. The first call builds the network
        and fixes the target standardisation (from that call's targets); later
        calls continue it, whatever ``warm_start`` is.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights. None: all 1.

        Returns
        -------
        self : FreeNetRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, with the shape of the ``y`` given to ``fit``.
        """
        out = self._raw_output(X).astype(np.float64) * self._y_scale + self._y_mean
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _regressor_from_parameters(params) -> FreeNetRegressor:
    """Return a fitted float64 FreeNetRegressor holding the given weights.

    ``params`` is a :class:`sklearn_freenets._polynomial.FreeNetParameters`: an
    exact construction becomes an estimator that predicts, pickles, clones (as an
    unfitted copy with the same graph) and scores like a trained one.
    """
    k, n_features = params.E.shape
    reg = FreeNetRegressor(
        k=k,
        activation=params.activation,
        skip=True,
        initial_graph=np.asarray(params.G, dtype=bool),
        evolve_rounds=0,
        dtype="float64",
        standardize_targets=False,
    )
    as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    reg._set_network(
        n_features,
        {
            "encoder.weight": as_tensor(params.E),
            "encoder.bias": as_tensor(params.b),
            "weight": as_tensor(params.W),
            "decoder.weight": as_tensor(params.V),
            "decoder.bias": as_tensor(params.c),
            "skip.weight": as_tensor(params.U),
        },
    )
    return reg


def _parameters_from_estimator(estimator):
    """Return the weights of a fitted single-output FreeNetRegressor as arrays."""
    from sklearn_freenets._polynomial import FreeNetParameters

    check_is_fitted(estimator)
    module = estimator.net_.module_
    if module.n_outputs != 1:
        raise ValueError(
            f"expected a single-output regressor, got {module.n_outputs} outputs"
        )
    if module.activation != "squared_relu":
        raise ValueError(
            "polynomial checks need activation='squared_relu', got "
            f"{module.activation!r}"
        )

    def arr(t):
        return t.detach().cpu().to(torch.float64).numpy().copy()

    G = arr(module.adjacency).astype(bool)
    U = (
        arr(module.skip.weight)
        if module.skip is not None
        else np.zeros((1, module.n_features))
    )
    # the decoder predicts standardised targets: map it to the original scale
    scale, mean = estimator._y_scale.reshape(-1, 1), estimator._y_mean
    return FreeNetParameters(
        E=arr(module.encoder.weight),
        b=arr(module.encoder.bias),
        W=arr(module.weight) * G,
        G=G,
        V=arr(module.decoder.weight) * scale,
        c=arr(module.decoder.bias) * scale.ravel() + mean,
        U=U * scale,
        activation=module.activation,
    )
