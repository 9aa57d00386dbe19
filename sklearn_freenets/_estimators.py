# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn estimators that train a FreeNet through skorch.

A fit runs in named steps (:meth:`_BaseFreeNet._fit`): validate the input, hold
out the validation rows, build the skorch net (first fit) or check that the
network's shape parameters are unchanged (warm start, ``partial_fit``), sync the
parameters that may change between fits (learning rate, penalty, batch size,
callbacks), train, and set the fitted attributes.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import ThreadpoolController

from sklearn_freenets._callbacks import (
    ConvergenceStopping,
    CosineLR,
    DivergenceGuard,
    EpochProgress,
    KeepBest,
)
from sklearn_freenets._evolve import RULES, EarlyFreeEvolve, FreeEvolve, round_records
from sklearn_freenets._kernel import ACTIVATIONS, apply_activation
from sklearn_freenets._module import _DTYPES, FreeNetModule, initial_adjacency
from sklearn_freenets._training import (
    FreeNetTrainer,
    TensorBatches,
    TrainingData,
    set_learning_rate,
    set_weight_decay,
)

__all__ = ["FreeNetClassifier", "FreeNetRegressor"]

_NP_DTYPES = {"float32": np.float32, "float64": np.float64}
# Rows per forward pass at prediction time (fixed so predictions are batch-invariant).
_PREDICT_BLOCK = 128
# batch_size="auto" is min(_AUTO_BATCH, n_samples), as in scikit-learn's MLP.
_AUTO_BATCH = 200
# lr="auto": _AUTO_LR_MAX / (mini-batches per epoch), clipped to [MIN, MAX].
_AUTO_LR_MAX = 1e-2
_AUTO_LR_MIN = 1e-3
# n_threads="auto": one torch thread below this many multiply-adds per forward pass
# of a batch (benchmarks/bench_threads.py measures where more threads start to pay).
_THREADS_MIN_WORK = 50_000_000
# Smallest pre-activation of every neuron on the training data after init="active".
_ACTIVE_MARGIN = 0.1
# Cosine annealing goes down to lr * _COSINE_FLOOR.
_COSINE_FLOOR = 1e-3
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


class _TorchDevice(Options):
    """A torch device string (``"cpu"``, ``"cuda:1"``, ...) or ``"auto"``.

    Unavailable devices (CUDA without a GPU, a CUDA index past the last GPU)
    fail too, so a bad ``device`` fails at parameter validation, before any work.
    (An ``Options`` subclass: scikit-learn accepts only its own constraint types.)
    """

    def __init__(self) -> None:
        super().__init__(str, {"auto"})

    def is_satisfied_by(self, val):
        if isinstance(val, torch.device):
            val = str(val)
        if not isinstance(val, str):
            return False
        if val == "auto":
            return True
        try:
            device = torch.device(val)
        except (RuntimeError, TypeError, ValueError):
            return False
        if device.type == "cuda":
            return torch.cuda.is_available() and (
                device.index is None or device.index < torch.cuda.device_count()
            )
        if device.type == "mps":
            return torch.backends.mps.is_available()
        return device.type == "cpu"

    def __str__(self):
        return "a torch device available here ('cpu', 'cuda', 'cuda:0', ...) or 'auto'"


def _resolve_device(device) -> str:
    if str(device) == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def _fused_adam_supported(device: str) -> bool:
    """Whether torch has a fused Adam for this device (CPU since torch 2.4)."""
    kind = torch.device(device).type
    if kind not in ("cpu", "cuda"):
        return False
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return (major, minor) >= ((2, 4) if kind == "cpu" else (2, 0))


@contextlib.contextmanager
def _torch_threads(n: int):
    """Run with ``n`` torch intra-op threads, then restore the caller's setting."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@functools.cache
def _threadpool_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _blas_threads(n: int):
    """Run with at most ``n`` BLAS threads (NumPy's matrix products).

    FreeEvolve's rounds multiply activity matrices in NumPy; with its default
    thread count, BLAS spins on those small products while other work holds the
    cores (2-5x slower on 2 busy cores than with one thread). The controller is
    built once (as scikit-learn does): finding the loaded libraries takes about
    a millisecond, a tenth of a small ``partial_fit`` call.
    """
    return _threadpool_controller().limit(limits=n, user_api="blas")


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


def _weighted_lstsq(F: np.ndarray, Y: np.ndarray, w: np.ndarray) -> np.ndarray:
    root = np.sqrt(w)[:, None]
    sol, *_ = np.linalg.lstsq(F * root, Y * root, rcond=None)
    return sol


@torch.no_grad()
def _active_start(module: FreeNetModule, data: TrainingData, fit_outputs: bool):
    """Shift biases so every neuron starts active; optionally fit the outputs.

    Neurons are visited in order (neuron ``i`` reads neurons ``j < i``): neuron
    ``i``'s encoder bias is raised by ``max(0, margin - min_n z_i)``, so that its
    pre-activation is at least ``_ACTIVE_MARGIN`` on every training row. Then, with
    ``fit_outputs`` (regression), the decoder, its bias and the skip map are set to
    the weighted least-squares fit of the (standardised) targets on the hidden
    activations (and the inputs). Only the training rows are used.
    """
    Xt = data.X
    A = module.encoder(Xt)
    Wm = module.masked_weight()
    H = torch.zeros_like(A)
    for i in range(module.k):
        z = A[:, i] + H[:, :i] @ Wm[i, :i]
        shift = torch.clamp(_ACTIVE_MARGIN - z.min(), min=0.0)
        module.encoder.bias[i] += shift
        H[:, i] = apply_activation(z + shift, module.activation)
    if not fit_outputs:
        return
    H = module.hidden(Xt)[0]
    blocks = [module.decoder.weight]
    if module.skip is not None:
        H = torch.cat([H, Xt], dim=1)
        blocks.append(module.skip.weight)
    F = torch.cat([H, torch.ones_like(H[:, :1])], dim=1).cpu().double().numpy()
    Y = data.y.cpu().double().numpy().reshape(len(F), -1)
    sol = _weighted_lstsq(F, Y, data.w.cpu().double().numpy())
    if not np.isfinite(sol).all():  # pragma: no cover - keep torch's start
        return
    param = module.weight
    solution = torch.as_tensor(sol, dtype=param.dtype, device=param.device)
    start = 0
    for weight in blocks:
        weight.copy_(solution[start : start + weight.shape[1]].T)
        start += weight.shape[1]
    module.decoder.bias.copy_(solution[-1])


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


class _BaseFreeNet(BaseEstimator):
    """Shared fitting logic of the FreeNet estimators (not for direct use)."""

    _parameter_constraints: dict = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "epsilon": [Interval(Real, 0, 1, closed="neither")],
        "evolve_rounds": [Interval(Integral, 0, None, closed="left")],
        "evolve_every": [Interval(Integral, 1, None, closed="left")],
        "evolve_every_batches": [Interval(Integral, 1, None, closed="left"), None],
        "evolve_patience": [Interval(Integral, 1, None, closed="left")],
        "rule": [StrOptions(set(RULES)), callable],
        "revive_dead": ["boolean"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "initial_graph": [StrOptions({"dense", "empty"}), "array-like"],
        "skip": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "lr": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "evolve_max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [_TorchDevice()],
        "n_threads": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "net_params": [dict, None],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "polish_epochs": [Interval(Integral, 0, None, closed="left")],
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
        rule="paper",
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
    _criterion: type[torch.nn.Module]

    def _prepare_targets(self, y, *, first: bool, classes=None):  # pragma: no cover
        raise NotImplementedError

    def _n_outputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scale_targets(self, y, w, *, first: bool):
        """Targets as the network is trained on them (regression: standardised)."""
        return y

    def _validation_score(self, net: FreeNetTrainer, valid: TrainingData) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    # -- step 1: input ------------------------------------------------------------
    def _validate_X(self, X, reset: bool):
        return validate_data(self, X, reset=reset, dtype=_NP_DTYPES[self.dtype])

    def _validate_Xy(self, X, y, reset: bool = True):
        return validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=_NP_DTYPES[self.dtype],
            multi_output=isinstance(self, RegressorMixin),
            y_numeric=isinstance(self, RegressorMixin),
        )

    def _check_net_params(self) -> None:
        for key in self.net_params or {}:
            reason = _RESERVED_NET_PARAMS.get(key)
            if reason is None and key.startswith(_RESERVED_NET_PREFIXES):
                reason = "the estimator sets these itself"
            if reason is not None:
                raise ValueError(
                    f"net_params must not set {key!r}: {reason}. net_params may set "
                    "the optimizer ('optimizer', 'optimizer__*') and extra "
                    "'callbacks'."
                )

    # -- step 2: training and validation rows -----------------------------------
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

        Returns numpy ``(X, y, w)`` for training and for validation (or None).
        """
        keep = w > 0
        if not keep.any():
            raise ValueError("sample_weight is zero for every sample: nothing to fit")
        if not keep.all():
            X, y, w = X[keep], y[keep], w[keep]
        if not self.early_stopping or incremental:
            return (X, y, w), None
        stratify = y if isinstance(self, ClassifierMixin) else None
        try:
            parts = train_test_split(
                X,
                y,
                w,
                test_size=self.validation_fraction,
                stratify=stratify,
                random_state=seed,
            )
        except ValueError as exc:
            raise ValueError(
                f"early_stopping=True holds out validation_fraction="
                f"{self.validation_fraction} of the {len(X)} samples, which is too "
                f"few for a validation set: {exc}"
            ) from exc
        X_tr, X_va, y_tr, y_va, w_tr, w_va = parts
        return (X_tr, y_tr, w_tr), (X_va, y_va, w_va)

    def _as_data(self, X, y, w) -> TrainingData:
        device = torch.device(_resolve_device(self.device))
        dtype = _DTYPES[self.dtype]
        y_t = torch.as_tensor(y, device=device)
        if y_t.is_floating_point():
            y_t = y_t.to(dtype)
        return TrainingData(
            torch.as_tensor(np.ascontiguousarray(X), device=device),
            y_t,
            torch.as_tensor(w, dtype=dtype, device=device),
        )

    # -- step 3: the net ----------------------------------------------------------
    def _make_net(self, n_features: int) -> FreeNetTrainer:
        """Build (not initialise) the skorch net for data with ``n_features``."""
        device = _resolve_device(self.device)
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
            "criterion": self._criterion,
            "criterion__reduction": "none",
            "optimizer": torch.optim.Adam,
            "lr": 1e-3,  # set by every fit
            "max_epochs": self.max_epochs,
            "batch_size": 1,  # set by every fit
            "iterator_train": TensorBatches,
            "iterator_train__shuffle": True,
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
            and _fused_adam_supported(device)
        ):
            # The fused kernel gives the same updates as the default loop and is
            # faster on the CPU (where the sqrt of the zero moments of masked
            # edges is slow in the default loop).
            params["optimizer__fused"] = True
        return FreeNetTrainer(**params)

    def _build(self, n_features: int) -> None:
        """Build and initialise a new network (``net_``) from the parameters."""
        net = self._make_net(n_features)
        with self._forked_rng(0):
            net.initialize()
        self.net_ = net
        self._built_params = {name: getattr(self, name) for name in _BUILD_PARAMS}

    def _check_build_unchanged(self) -> None:
        """Refuse to continue a network whose build parameters changed."""
        changed = [
            name
            for name in _BUILD_PARAMS
            if not _same(getattr(self, name), self._built_params[name])
        ]
        if changed:
            before = {name: self._built_params[name] for name in changed}
            raise ValueError(
                f"warm_start and partial_fit continue the fitted network, but "
                f"{changed} changed since it was built (it was built with {before}); "
                "set them back, or fit with warm_start=False to build a new network"
            )

    # -- step 4: sync what may change between fits ------------------------------
    def _sync(self, net: FreeNetTrainer, n_rows: int, callbacks: list) -> None:
        net.lr = self.lr_ = self._lr(n_rows)
        net.max_epochs = self.max_epochs
        net.batch_size = self._batch_size(n_rows)
        set_learning_rate(net.optimizer_, self.lr_, self.lr_)
        set_weight_decay(net.optimizer_, self.alpha)
        user = list((self.net_params or {}).get("callbacks") or [])
        net.callbacks = [*callbacks, *user]
        net.verbose = 1 if self.verbose and self.verbose > 1 else 0
        net.initialize_callbacks()

    def _callbacks(self, since: int, valid, n_rows: int, *, incremental: bool):
        """The callbacks of one training run, built from the current parameters."""
        callbacks: list[tuple[str, Any]] = [("divergence_guard", DivergenceGuard())]
        if self.evolve_rounds > 0:
            schedule: dict[str, Any] = dict(
                epsilon=self.epsilon,
                max_rounds=self.evolve_rounds,
                every=self.evolve_every,
                since=0 if incremental else since,
                max_samples=self.evolve_max_samples,
                random_state=self._seed,
                verbose=bool(self.verbose),
                rule=self.rule,
                patience=self.evolve_patience,
                revive_dead=self.revive_dead,
            )
            evolve = (
                FreeEvolve(**schedule)
                if self.evolve_every_batches is None
                else EarlyFreeEvolve(self.evolve_every_batches, **schedule)
            )
            callbacks.append(("free_evolve", evolve))
        if self.lr_schedule == "cosine":
            start = 0 if incremental else since
            lr = self._lr(n_rows)
            cosine = CosineLR(lr, self.max_epochs, lr * _COSINE_FLOOR, start)
            callbacks.append(("lr_schedule", cosine))
        if not incremental:
            if self.keep_best:
                callbacks.append(("keep_best", KeepBest()))
            stopping = ConvergenceStopping(
                self.tol,
                self.n_iter_no_change,
                validation=valid,
                score=None if valid is None else self._validation_score,
            )
            callbacks.append(("stopping", stopping))
            if self.verbose:
                total = self.max_epochs + self.polish_epochs
                progress = EpochProgress(total, type(self).__name__)
                callbacks.append(("progress", progress))
        return callbacks

    def _n_threads(self, batch_size: int, n_features: int) -> int:
        """Torch intra-op threads for batches of this size (``n_threads``)."""
        available = torch.get_num_threads()
        if self.n_threads != "auto":
            return int(self.n_threads)
        k, out = self.k, self._n_outputs()
        work = batch_size * (n_features * k + k * (k - 1) // 2 + k * out)
        return 1 if work < _THREADS_MIN_WORK else available

    # -- the whole fit ------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """Fit from scratch, or continue (``warm_start`` / ``partial_fit``).

        Validate, hold out the validation rows, build (or check) the network,
        sync the parameters that may change between fits, train, set the fitted
        attributes. ``partial_fit`` runs one epoch on all the rows it is given.
        """
        # parameter checks first: a failed call leaves a fitted model as it was
        self._check_net_params()
        if self.keep_best and self.early_stopping:
            raise ValueError(
                "keep_best=True and early_stopping=True both choose which weights "
                "to keep (the lowest training loss, the best validation score): "
                "set one of them"
            )
        first = not (hasattr(self, "net_") and (self.warm_start or incremental))
        if first:
            initial_adjacency(self.k, self.initial_graph)
        else:
            self._check_build_unchanged()
        X, y = self._validate_Xy(X, y, reset=first)
        w = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        y = self._prepare_targets(y, first=first, classes=classes)
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        if first:
            self._seed = seed
        train, valid = self._split(X, y, w, incremental=incremental, seed=seed)
        batch_size = self._batch_size(len(train[0]))
        if batch_size >= len(train[0]):  # full batch: independent of row order
            train = _merge_duplicate_rows(*train)
        train_y = self._scale_targets(train[1], train[2], first=first)
        data = self._as_data(train[0], train_y, train[2])
        if valid is not None:
            valid = self._as_data(
                valid[0], self._scale_targets(valid[1], valid[2], first=False), valid[2]
            )
        if first:
            self._build(X.shape[1])
            if self.init == "active":
                _active_start(self.net_.module_, data, isinstance(self, RegressorMixin))
        net = self.net_
        since = len(net.history)
        callbacks = self._callbacks(since, valid, len(data), incremental=incremental)
        self._sync(net, len(data), callbacks)
        epochs = 1 if incremental else self.max_epochs
        polish = 0 if incremental else self.polish_epochs
        threads = self._n_threads(net.batch_size, X.shape[1])
        with _torch_threads(threads), _blas_threads(threads):
            with self._forked_rng(since, seed):
                net.train(data, epochs, polish)
        self._set_fitted_state(net)
        self._warn_on_stop(net, incremental)
        return self

    def _warn_on_stop(self, net: FreeNetTrainer, incremental: bool):
        callbacks = dict(net.callbacks_)
        guard = callbacks["divergence_guard"]
        if guard.diverged_epoch_ is not None:
            warnings.warn(
                f"{type(self).__name__} diverged: the training loss became NaN or "
                f"infinite in epoch {guard.diverged_epoch_}. Training stopped and the "
                "weights from the start of that epoch (the last finite ones) were "
                "kept. Lower lr, scale the inputs, or use activation='relu'.",
                ConvergenceWarning,
                stacklevel=4,
            )
            return
        stopping = callbacks.get("stopping")
        if (
            incremental
            or stopping is None
            or stopping.stopped_epoch_ is not None
            or self.n_iter_no_change == np.inf
        ):
            return
        warnings.warn(
            f"{type(self).__name__}: max_epochs={self.max_epochs} reached before "
            "training converged (the "
            + ("validation score" if self.early_stopping else "training loss")
            + f" still improved by more than tol={self.tol} within "
            f"n_iter_no_change={self.n_iter_no_change} epochs). Raise max_epochs, "
            "or raise tol to stop sooner.",
            ConvergenceWarning,
            stacklevel=4,
        )

    # -- step 5: fitted attributes ------------------------------------------------
    def _set_fitted_state(self, net: FreeNetTrainer) -> None:
        """Set the fitted attributes from a trained (or constructed) skorch net."""
        self.net_ = net
        self.adjacency_ = net.module_.adjacency.cpu().numpy().copy()
        self.n_edges_ = int(self.adjacency_.sum())
        rows = list(net.history)
        self.evolution_history_ = round_records(net.history)
        self.loss_curve_ = [
            float(row["train_loss"]) for row in rows if "train_loss" in row
        ]
        self.n_iter_ = len(self.loss_curve_)
        gradient = [
            float(row["train_loss"])
            for row in rows
            if "train_loss" in row and row.get("phase") != "polish"
        ]
        stopping = dict(getattr(net, "callbacks_", [])).get("stopping")
        self.validation_scores_: list[float] | None
        self.best_validation_score_: float | None
        self.best_loss_: float | None
        if self.early_stopping and stopping is not None:
            self.best_loss_ = None
            self.validation_scores_ = [
                row["valid_score"] for row in rows if "valid_score" in row
            ]
            best = stopping.best_score_
            self.best_validation_score_ = (
                float(best) if np.isfinite(best) else self.validation_scores_[-1]
            )
        else:
            finite = [v for v in gradient if np.isfinite(v)]
            self.best_loss_ = min(finite) if finite else None
            self.validation_scores_ = None
            self.best_validation_score_ = None

    # -- helpers ------------------------------------------------------------------
    @contextlib.contextmanager
    def _forked_rng(self, offset: int, seed: int | None = None):
        """Seed torch inside a forked RNG, leaving the caller's state untouched."""
        device = torch.device(_resolve_device(self.device))
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed((self._seed if seed is None else seed) + offset)
            yield

    def _raw_output(self, X) -> np.ndarray:
        """Return the network's outputs for ``X``, computed batch-invariantly.

        Rows go through the network in blocks of exactly ``_PREDICT_BLOCK`` rows
        (the last one zero-padded). A matrix product's rounding depends on its
        shape, so fixing the shape makes every row's output independent of which
        other rows are predicted with it: predicting a subset, a permutation or
        one row at a time gives bit-identical results.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        module = self.net_.module_
        device = next(module.parameters()).device
        block = torch.zeros((_PREDICT_BLOCK, X.shape[1]), dtype=module.weight.dtype)
        outputs = []
        threads = self._n_threads(_PREDICT_BLOCK, X.shape[1])
        with _torch_threads(threads), torch.no_grad():
            for start in range(0, X.shape[0], _PREDICT_BLOCK):
                rows = X[start : start + _PREDICT_BLOCK]
                block[: len(rows)] = torch.from_numpy(np.ascontiguousarray(rows))
                block[len(rows) :] = 0
                out = module(block.to(device))
                outputs.append(out[: len(rows)].cpu())
        return torch.cat(outputs).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


# Parameter descriptions shared by both estimators' docstrings (one copy).
_COMMON_PARAMETERS = """\
k : int, default=100
        Number of neurons.
    epsilon : float in (0, 1), default=0.25
        FreeEvolve threshold: with the paper's ``rule``, an edge ``j -> i`` is
        added when both neurons are active on more than ``1 - epsilon`` of the
        (weighted) training samples, and pruned when both are silent on more
        than ``1 - epsilon`` of them.
    evolve_rounds : int, default=60
        Most FreeEvolve rounds per ``fit``. ``0`` trains the initial graph only;
        with ``initial_graph="empty"`` that is exactly a one-hidden-layer MLP.
    evolve_every : int, default=1
        Epochs between FreeEvolve rounds: a round runs after epochs
        ``evolve_every``, ``2 * evolve_every``, ... of a fit, until
        ``evolve_rounds`` rounds have run or ``evolve_patience`` rounds in a row
        changed nothing (evolution has *settled*). The stopping criterion counts
        only epochs after that. For :meth:`partial_fit`, every
        ``evolve_every``-th call ends with a round.
    evolve_every_batches : int or None, default=20
        Also run a round after every ``evolve_every_batches``-th mini-batch of
        the first epoch (the paper evolves per iteration; activity changes
        fastest early on); None: none. These rounds count toward
        ``evolve_rounds``; with fewer batches in an epoch, none runs.
    evolve_patience : int, default=3
        Rounds in a row without a change after which evolution settles (1: the
        first unchanged round ends it).
    rule : {"paper", "usage", "contribution"} or callable, default="paper"
        The topology rule of a round. ``"paper"``: the FreeNets paper's rule
        (see ``epsilon``). ``"usage"``: prune an edge when both its neurons are
        active on fewer than ``epsilon`` of the samples (where it can act),
        add one when on more than ``1 - epsilon``. ``"contribution"``: prune
        edges whose typical input ``|W_ij| E|h_j|`` to their neuron, relative to
        the spread of its pre-activation, is below ``epsilon`` times the mean of
        that neuron's incoming edges; never add. A callable ``rule(adjacency,
        stats, epsilon) -> adjacency`` gets the current boolean ``(k, k)`` graph
        and the round's :class:`~sklearn_freenets._evolve.ActivityStats` and
        returns the new graph (its strictly lower triangle is used).
    revive_dead : bool, default=False
        After each round's rule, revive the neurons that never fired on the
        round's activity sample: draw their incoming weights afresh and set
        their outgoing weights to 0, so the function is unchanged but the
        neurons fire and learn again (a dead ReLU neuron gets no gradient). The
        rounds' records count them (``n_revived``).
    activation : {"relu", "squared_relu", "tanh"}, default="relu"
        Neuron nonlinearity; ``squared_relu`` is ``max(0, z) ** 2``. A neuron is
        *active* when its pre-activation is positive.
    initial_graph : {"empty", "dense"} or array-like of shape (k, k), \
default="empty"
        Starting graph: ``"empty"`` has no edges (a one-hidden-layer network
        that FreeEvolve then wires up), ``"dense"`` every edge ``j -> i`` with
        ``j < i`` (it contains every layered network of ``k`` neurons: the
        paper's start); an array gives the edges (strictly lower triangular).
        The empty start is the default because it generalised better on the
        tuning data of ``benchmarks/tune_defaults.py`` (on classification the
        dense start was 1.4-4.7 points worse on four of the six sets), and
        with FreeEvolve's default schedule (``epsilon`` to
        ``evolve_max_samples``) it had the best validation accuracy of every
        configuration in the rerun of the paper's Table 2
        (``benchmarks/bench_table2.py``) on MNIST, Fashion-MNIST and EMNIST.
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
        ``lr_``. Chosen on the tuning data of ``benchmarks/tune_defaults.py``.
    alpha : float, default=1e-3
        L2 penalty, passed as the optimizer's ``weight_decay`` (when the
        optimizer takes one). Per step it adds ``alpha * w`` to each gradient,
        a stronger penalty than the MLP's ``alpha=1e-4`` (which adds
        ``alpha * w / batch_size``); 1e-3 was chosen on the tuning data of
        ``benchmarks/tune_defaults.py``, where it kept the larger noisy sets from
        overfitting.
    tol : float, default={tol_default}
        An epoch improves when the training loss falls by more than ``tol``
        below the best so far (with ``early_stopping``: the validation score
        rises by more than ``tol`` above the best so far). Training stops when
        more than ``n_iter_no_change`` epochs in a row do not improve.{tol_extra}
    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement tolerated before stopping; ``np.inf`` trains
        exactly ``max_epochs`` epochs (and then warns of nothing).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows (stratified for
        the classifier), score the network on them after every epoch (accuracy,
        or R^2 for the regressor), stop when that score stops improving, and
        restore the weights of the best score. Held-out rows never train
        anything: not the weights, FreeEvolve, ``init="active"``,
        ``keep_best`` or the target standardisation.
    validation_fraction : float in (0, 1), default=0.1
        Fraction of the training rows held out when ``early_stopping=True``;
        unused otherwise.
    evolve_max_samples : int or None, default=10000
        Neuron activity for FreeEvolve is recorded on at most this many training
        rows, drawn at random (seeded by ``random_state``); None: all rows.
    dtype : {"float32", "float64"}, default="float32"
        Floating point type of the network and of the data given to it.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch shuffling, the validation split and
        activity subsampling. Training runs inside
        :func:`torch.random.fork_rng`, so the caller's global torch random state
        is left untouched.
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
        cores). On 2 cores, a second thread first pays from about 13 million
        (10-20 % faster), but while other processes hold the cores it makes
        steps 3x (large) to 170x (small) slower
        (``benchmarks/bench_threads.py``).
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
        and co-inactivation matrices).
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
        Score on the held-out rows after each epoch ({score}); None without
        ``early_stopping``.
    best_validation_score_ : float or None
        Best validation score after evolution settled (the weights restored at
        the end); None without ``early_stopping``.
    n_iter_ : int
        Number of epochs run, over all fits of a warm start.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names."""

_NOTES = """\
Training stops as scikit-learn's MLP does: after ``max_epochs`` epochs, or once
    more than ``n_iter_no_change`` epochs in a row did not improve the training
    loss (or, with ``early_stopping``, the validation score) by ``tol``.
    FreeEvolve rounds run every ``evolve_every`` epochs until evolution settles,
    and epochs before that never count toward stopping, so a fit runs at least
    until the last round. If the loss becomes NaN or infinite, training stops
    with a :class:`~sklearn.exceptions.ConvergenceWarning` and keeps the weights
    from the start of that epoch.

    Scale the inputs, as for any MLP; here the scaling also decides what
    FreeEvolve does, because the rule reads which neurons fire. On uncentred,
    non-negative inputs (pixels in [0, 1], say) many neurons fire on most
    samples, and from the empty graph the rule wires them together; on
    standardised inputs (``StandardScaler``) activity rates stay near one half
    and the graph stays nearly empty. Neither is better everywhere: on the small
    digits set standardised inputs did better, on MNIST-sized image sets pixels
    in [0, 1] with their evolved edges did (``benchmarks/bench_demo.py`` and the
    standardised-inputs pilot of ``benchmarks/bench_table2.py``; see README), so
    the scaler is worth searching over."""


_REGRESSOR_TOL_NOTE = """
        The default is a tenth of the MLP's 1e-4 because the loss is measured
        on standardised targets (``standardize_targets=True``), where it is
        about ``1 - R^2`` rather than the MLP's ``var(y) (1 - R^2) / 2``: with
        1e-4 the regressor stopped before it had converged, and 1e-5 was better
        or equal on every regression set of ``benchmarks/tune_defaults.py``."""


def _fill(template: str, **extra: str) -> str:
    """A class docstring with the shared sections filled in."""
    parameters = _COMMON_PARAMETERS
    for name in ("extra_build", "active_extra", "tol_extra"):
        parameters = parameters.replace("{" + name + "}", extra.get(name, ""))
    parameters = parameters.replace("{tol_default}", extra["tol_default"])
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

    Trains a :class:`~sklearn_freenets._module.FreeNetModule` with skorch and Adam
    on the (sample-weighted) cross-entropy loss, alternating weight training with
    FreeEvolve rounds that add edges between neurons that fire together and cut
    edges between neurons that are silent together, until training converges.

    Parameters
    ----------
    {parameters}

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
        loss_scale=" (weighted mean cross-entropy)",
        tol_default="1e-4",
        score="accuracy",
    )

    _criterion = torch.nn.CrossEntropyLoss

    def _prepare_targets(self, y, *, first: bool, classes=None):
        check_classification_targets(y)
        if first:
            self._label_encoder = LabelEncoder().fit(y if classes is None else classes)
            self.classes_ = self._label_encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    "FreeNetClassifier needs samples of at least 2 classes in the "
                    "data, but the data contains only one class: "
                    f"{self.classes_[0]!r}"
                )
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={list(classes)} is not the same as on the first call to "
                f"partial_fit, which was {self.classes_.tolist()}"
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

    def _validation_score(self, net: FreeNetTrainer, valid: TrainingData) -> float:
        with torch.no_grad():
            pred = net.module_(valid.X).argmax(dim=1)
        return accuracy_score(
            valid.y.cpu().numpy(),
            pred.cpu().numpy(),
            sample_weight=valid.w.cpu().double().numpy(),
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network and evolve its graph until training converges.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (any hashable type).
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
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing the current network.

        One call runs one epoch over all of ``X`` (in mini-batches of
        ``batch_size``); the stopping criterion, ``early_stopping``, ``polish``
        and ``keep_best`` apply to ``fit`` only, as for scikit-learn's MLP.
        Every ``evolve_every``-th call ends with a FreeEvolve round on that
        call's data, until evolution settles. The first call builds the network
        (as ``fit`` would); later calls continue it, whatever ``warm_start`` is.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All labels that will ever appear; required on the first call when
            ``y`` does not contain every class.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights. None: all 1.

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
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        return softmax(self._raw_output(X).astype(np.float64), axis=1)

    def predict_log_proba(self, X):
        """Return the logarithm of the class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return log_softmax(self._raw_output(X).astype(np.float64), axis=1)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``.
        """
        scores = self._raw_output(X)  # checks the fit before classes_ is read
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class FreeNetRegressor(RegressorMixin, _BaseFreeNet):
    __doc__ = _fill(
        """FreeNet regressor: ``k`` neurons wired by an evolving DAG.

    Trains a :class:`~sklearn_freenets._module.FreeNetModule` with skorch and Adam
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
    neuron is active); see ``benchmarks/bench_polynomials.py``.

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

    _criterion = torch.nn.MSELoss

    _parameter_constraints: dict = {
        **_BaseFreeNet._parameter_constraints,
        "standardize_targets": ["boolean"],
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
        rule="paper",
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

    def _build(self, n_features: int) -> None:
        super()._build(n_features)
        self._built_params["standardize_targets"] = self.standardize_targets

    def _check_build_unchanged(self) -> None:
        if self.standardize_targets != self._built_params["standardize_targets"]:
            raise ValueError(
                "warm_start and partial_fit continue the fitted network, but "
                "['standardize_targets'] changed since it was built; set it back, "
                "or fit with warm_start=False to build a new network"
            )
        super()._check_build_unchanged()

    def _prepare_targets(self, y, *, first: bool, classes=None):
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
        X : array-like of shape (n_samples, n_features)
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
        X : array-like of shape (n_samples, n_features)
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
        X : array-like of shape (n_samples, n_features)
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
    reg._y_ndim, reg._n_targets, reg._seed = 1, 1, 0
    reg._y_mean, reg._y_scale = np.zeros(1), np.ones(1)
    reg._build(n_features)
    net = reg.net_
    module = net.module_
    as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    with torch.no_grad():
        module.encoder.weight.copy_(as_tensor(params.E))
        module.encoder.bias.copy_(as_tensor(params.b))
        module.weight.copy_(as_tensor(params.W))
        module.decoder.weight.copy_(as_tensor(params.V))
        module.decoder.bias.copy_(as_tensor(params.c))
        module.skip.weight.copy_(as_tensor(params.U))
    reg.n_features_in_ = n_features
    reg._set_fitted_state(net)
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
