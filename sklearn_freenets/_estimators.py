# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn estimators that train a FreeNet through skorch."""

from __future__ import annotations

import contextlib
import copy
import inspect
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sklearn_freenets._evolve import FreeEvolve
from sklearn_freenets._kernel import ACTIVATIONS, apply_activation
from sklearn_freenets._module import FreeNetModule, initial_adjacency

__all__ = ["FreeNetClassifier", "FreeNetRegressor"]

_NP_DTYPES = {"float32": np.float32, "float64": np.float64}
# Rows per forward pass at prediction time (fixed so predictions are batch-invariant).
_PREDICT_BLOCK = 128


def evolve_schedule(max_epochs: int, evolve_rounds: int) -> list[int]:
    """Return the 1-based epochs after which the FreeEvolve rounds run.

    The rounds split ``max_epochs`` into ``evolve_rounds + 1`` phases of (nearly)
    equal length: round ``r`` runs after epoch ``floor(r * max_epochs /
    (evolve_rounds + 1))`` (at least epoch 1), so the last phase trains the
    final graph. Rounds that fall on the same epoch run one after another.
    """
    return [
        max(1, (r * max_epochs) // (evolve_rounds + 1))
        for r in range(1, evolve_rounds + 1)
    ]


class _Diverged(Exception):
    """Raised inside the training loop when the loss stops being finite."""


class _DivergenceGuard(Callback):
    """Stop training at the first non-finite loss and restore finite weights.

    The module's state is snapshotted at the start of every epoch; when a batch
    gives a NaN or infinite loss, that snapshot is put back and training stops.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.diverged_epoch_ = None

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.snapshot_ = copy.deepcopy(net.module_.state_dict())

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training and loss is not None and not torch.isfinite(loss).all():
            net.module_.load_state_dict(self.snapshot_)
            self.diverged_epoch_ = len(net.history)
            raise _Diverged

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.snapshot_ = None


class _EpochProgress(Callback):
    """A tqdm progress bar over epochs, showing the last training loss."""

    def __init__(self, total: int, desc: str) -> None:
        self.total = total
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        last = net.history[-1]
        postfix = {"loss": f"{last['train_loss']:.4g}"}
        if "valid_loss" in last:
            postfix["valid_loss"] = f"{last['valid_loss']:.4g}"
        postfix["edges"] = net.module_.n_edges()
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.close()

    def close(self) -> None:
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
        self.bar_ = None


class _CosineLR(Callback):
    """Anneal the optimizer's learning rate on a half cosine (``lr_schedule``).

    Epoch ``t`` of a phase of ``t_max`` epochs (counted from history row
    ``start``) trains with ``eta_min + (lr - eta_min) * (1 + cos(pi * t /
    t_max)) / 2``; epochs past ``t_max`` stay at ``eta_min``. The rate used is
    recorded in the history as ``lr``. Does nothing while ``active`` is False
    (the L-BFGS polish).
    """

    def __init__(self, lr: float, t_max: int, eta_min: float) -> None:
        self.lr = lr
        self.t_max = t_max
        self.eta_min = eta_min
        self.start = 0
        self.active = True

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if not self.active:
            return
        t = min(max(len(net.history) - 1 - self.start, 0), self.t_max)
        lr = self.eta_min + (self.lr - self.eta_min) * 0.5 * (
            1.0 + np.cos(np.pi * t / max(self.t_max, 1))
        )
        for group in net.optimizer_.param_groups:
            group["lr"] = float(lr)
        net.history.record("lr", float(lr))


class _KeepBest(Callback):
    """Track the weights with the lowest training loss (``keep_best``).

    skorch records the loss of the weights *before* each optimizer step, so the
    weights are snapshotted at the start of each training batch, and the epoch's
    training loss is credited to the last snapshot (exact for full-batch
    training). The estimator resets it before a ``fit`` and calls
    :meth:`restore` after it.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.best_loss_ = np.inf
        self.best_state_ = None
        self.before_step_ = None

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.before_step_ = copy.deepcopy(net.module_.state_dict())

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        loss = net.history[-1].get("train_loss", np.nan)
        if self.before_step_ is not None and np.isfinite(loss):
            if loss < self.best_loss_:
                self.best_loss_, self.best_state_ = loss, self.before_step_

    def restore(self, net, X, y) -> None:
        """Load the best weights unless the final ones are at least as good."""
        if self.best_state_ is not None:
            with torch.no_grad():
                Xt, yt = net.get_dataset(X, y)[slice(None)]
                y_pred = net.infer(Xt)
                final = float(net.get_loss(y_pred, torch.as_tensor(yt).to(y_pred)))
            if not final <= self.best_loss_:
                net.module_.load_state_dict(self.best_state_)
        self.reset()


class _FullBatch:
    """A skorch iterator yielding the whole dataset as one batch (L-BFGS polish).

    Yields ``dataset[:]`` once, skipping the DataLoader's row-by-row collation.
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, **kwargs) -> None:
        self.dataset = dataset

    def __iter__(self):
        yield self.dataset[slice(None)]

    def __len__(self) -> int:
        return 1


# Smallest pre-activation of every neuron on the training data after init="active".
_ACTIVE_MARGIN = 0.1
# L-BFGS iterations (each one or more function evaluations) per polish epoch.
_POLISH_ITER = 20
# Cosine annealing goes down to lr * _COSINE_FLOOR.
_COSINE_FLOOR = 1e-3


@torch.no_grad()
def _active_start(module: FreeNetModule, X: np.ndarray, y: np.ndarray | None) -> None:
    """Shift biases so every neuron starts active; optionally fit the outputs.

    Neurons are visited in order (neuron ``i`` reads neurons ``j < i``): neuron
    ``i``'s encoder bias is raised by ``max(0, margin - min_n z_i)``, so that its
    pre-activation is at least ``_ACTIVE_MARGIN`` on every row of ``X``. Then, if
    ``y`` is given (regression), the decoder, its bias and the skip map are set
    to the least-squares fit of ``y`` on the hidden activations (and ``X``).
    """
    param = module.weight
    Xt = torch.as_tensor(np.asarray(X), dtype=param.dtype, device=param.device)
    A = module.encoder(Xt)
    Wm = module.masked_weight()
    H = torch.zeros_like(A)
    for i in range(module.k):
        z = A[:, i] + H[:, :i] @ Wm[i, :i]
        shift = torch.clamp(_ACTIVE_MARGIN - z.min(), min=0.0)
        module.encoder.bias[i] += shift
        H[:, i] = apply_activation(z + shift, module.activation)
    if y is None:
        return
    H = module.hidden(Xt)[0]
    blocks = [module.decoder.weight]
    if module.skip is not None:
        H = torch.cat([H, Xt], dim=1)
        blocks.append(module.skip.weight)
    F = torch.cat([H, torch.ones_like(H[:, :1])], dim=1).cpu().double().numpy()
    Y = np.asarray(y, dtype=np.float64).reshape(len(F), -1)
    sol, *_ = np.linalg.lstsq(F, Y, rcond=None)
    if not np.isfinite(sol).all():  # pragma: no cover - keep torch's start
        return
    sol = torch.as_tensor(sol, dtype=param.dtype, device=param.device)
    start = 0
    for weight in blocks:
        weight.copy_(sol[start : start + weight.shape[1]].T)
        start += weight.shape[1]
    module.decoder.bias.copy_(sol[-1])


def _accepts(func: Any, name: str) -> bool:
    """Whether ``func`` (an optimizer class, say) takes a parameter ``name``."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _fused_adam_supported(device: str) -> bool:
    """Whether torch has a fused Adam for this device (CPU since torch 2.4)."""
    kind = torch.device(device).type
    if kind not in ("cpu", "cuda"):
        return False
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return (major, minor) >= ((2, 4) if kind == "cpu" else (2, 0))


def _resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device") from exc
    return device


class _BaseFreeNet(BaseEstimator):
    """Shared fitting logic of the FreeNet estimators (not for direct use)."""

    _parameter_constraints: dict = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "epsilon": [Interval(Real, 0, 1, closed="neither")],
        "evolve_rounds": [Interval(Integral, 0, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "initial_graph": [StrOptions({"dense", "empty"}), "array-like"],
        "skip": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "evolve_max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "net_params": [dict, None],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "polish_epochs": [Interval(Integral, 0, None, closed="left")],
        "init": [StrOptions({"default", "active"})],
        "keep_best": ["boolean"],
    }

    def __init__(
        self,
        k=100,
        *,
        epsilon=0.1,
        evolve_rounds=5,
        activation="relu",
        initial_graph="dense",
        skip=False,
        max_epochs=20,
        batch_size=128,
        lr=1e-3,
        alpha=1e-4,
        validation_fraction=None,
        evolve_max_samples=20000,
        dtype="float32",
        random_state=None,
        device="cpu",
        verbose=0,
        warm_start=False,
        net_params=None,
        lr_schedule="constant",
        polish_epochs=0,
        init="default",
        keep_best=False,
    ):
        self.k = k
        self.epsilon = epsilon
        self.evolve_rounds = evolve_rounds
        self.activation = activation
        self.initial_graph = initial_graph
        self.skip = skip
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.alpha = alpha
        self.validation_fraction = validation_fraction
        self.evolve_max_samples = evolve_max_samples
        self.dtype = dtype
        self.random_state = random_state
        self.device = device
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

    # -- fitting ----------------------------------------------------------------
    def _validate_X(self, X, reset: bool):
        return validate_data(self, X, reset=reset, dtype=_NP_DTYPES[self.dtype])

    def _make_net(self, n_features: int, seed: int, callbacks: list) -> NeuralNet:
        """Build (not fit) the skorch net for data with ``n_features`` columns."""
        params: dict[str, Any] = {
            "module": FreeNetModule,
            "module__n_features": n_features,
            "module__k": self.k,
            "module__n_outputs": self._n_outputs(),
            "module__activation": self.activation,
            "module__skip": self.skip,
            "module__initial_graph": self.initial_graph,
            "module__dtype": self.dtype,
            "criterion": self._criterion,
            "optimizer": torch.optim.Adam,
            "lr": self.lr,
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "iterator_train__shuffle": True,
            "train_split": None,
            "device": _resolve_device(self.device),
            "verbose": 1 if self.verbose and self.verbose > 1 else 0,
            "predict_nonlinearity": None,
        }
        if self.validation_fraction is not None:
            params["train_split"] = ValidSplit(
                self.validation_fraction,
                stratified=isinstance(self, ClassifierMixin),
                random_state=seed,
            )
        user = dict(self.net_params or {})
        callbacks = [*callbacks, *(user.pop("callbacks", None) or [])]
        params.update(user)
        params["callbacks"] = callbacks
        if "optimizer__weight_decay" not in params and _accepts(
            params["optimizer"], "weight_decay"
        ):
            params["optimizer__weight_decay"] = self.alpha
        if (
            params["optimizer"] in (torch.optim.Adam, torch.optim.AdamW)
            and "optimizer__fused" not in params
            and _fused_adam_supported(params["device"])
        ):
            # The fused kernel gives the same updates as the default loop, and is
            # about 2.5x faster on the CPU (where torch's sqrt of the many zero
            # moments of masked edges is slow).
            params["optimizer__fused"] = True
        return NeuralNet(**params)

    def _set_fitted_state(self, net: NeuralNet, history: list) -> None:
        """Set the fitted attributes from a trained (or constructed) skorch net."""
        self.net_ = net
        self.adjacency_ = net.module_.adjacency.cpu().numpy().copy()
        self.n_edges_ = int(self.adjacency_.sum())
        self.evolution_history_ = history
        losses = [row["train_loss"] for row in net.history if "train_loss" in row]
        self.loss_curve_ = [float(v) for v in losses]
        self.n_iter_ = len(self.loss_curve_)

    def _fit(self, X, y, *, incremental: bool = False, classes=None):
        """Fit from scratch, or continue (``warm_start`` / ``partial_fit``).

        A fresh fit builds and initialises the skorch net, then trains it for
        ``max_epochs`` epochs with FreeEvolve rounds on the schedule of
        :func:`evolve_schedule`. A warm-started fit continues the current weights
        and graph for another ``max_epochs`` epochs on a fresh schedule. An
        incremental fit (``partial_fit``) runs one epoch and, every
        ``max(1, max_epochs // (evolve_rounds + 1))`` calls, one FreeEvolve round
        on the data of that call, until ``evolve_rounds`` rounds have run or a
        round changes nothing.
        """
        first = not hasattr(self, "net_") or not (self.warm_start or incremental)
        X, y = self._validate_Xy(X, y, reset=first)
        y = self._prepare_targets(y, first=first, classes=classes)
        if first:
            initial_adjacency(self.k, self.initial_graph)  # fail before any work
            self._seed = int(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            )
            callbacks: list[tuple[str, Callback]] = [
                ("divergence_guard", _DivergenceGuard())
            ]
            if self.evolve_rounds > 0:
                rule = FreeEvolve(
                    epsilon=self.epsilon,
                    epochs=[],
                    max_samples=self.evolve_max_samples,
                    random_state=self._seed,
                    verbose=bool(self.verbose),
                )
                callbacks.append(("free_evolve", rule))
            if self.lr_schedule == "cosine":
                schedule = _CosineLR(self.lr, self.max_epochs, self.lr * _COSINE_FLOOR)
                callbacks.append(("lr_schedule", schedule))
            if self.keep_best:
                callbacks.append(("keep_best", _KeepBest()))
            net = self._make_net(X.shape[1], self._seed, callbacks)
            with self._forked_rng(0):
                net.initialize()
            if self.init == "active":
                _active_start(net.module_, X, self._lstsq_targets(y))
            self._set_fitted_state(net, [])
        else:
            self._check_same_architecture()
        net = self.net_
        evolve = dict(net.callbacks_).get("free_evolve")
        guard = dict(net.callbacks_)["divergence_guard"]
        cosine = dict(net.callbacks_).get("lr_schedule")
        if not isinstance(cosine, _CosineLR):
            cosine = None
        elif not incremental:
            cosine.lr, cosine.eta_min = self.lr, self.lr * _COSINE_FLOOR
            cosine.t_max, cosine.start = self.max_epochs, len(net.history)
        keep = dict(net.callbacks_).get("keep_best")
        keep = keep if isinstance(keep, _KeepBest) and not incremental else None
        if keep is not None:
            keep.reset()
        if evolve is not None:
            evolve.set_params(epsilon=self.epsilon, verbose=bool(self.verbose))
            evolve.epochs = (
                []
                if incremental
                else evolve_schedule(self.max_epochs, self.evolve_rounds)
            )
            if not incremental:
                evolve.converged_ = False  # a fresh schedule on the current graph
        epochs = 1 if incremental else self.max_epochs
        progress = None
        if self.verbose and not incremental:
            progress = _EpochProgress(epochs, type(self).__name__)
            net.callbacks_.append(("progress", progress))  # skorch opens the bar
        diverged = False
        with self._forked_rng(self.n_iter_):
            try:
                net.partial_fit(X, y, epochs=epochs)
                if not incremental and self.polish_epochs > 0:
                    self._polish(net, X, y, evolve, cosine)
                if keep is not None:
                    keep.restore(net, X, y)
                if incremental and evolve is not None and self._round_due(evolve):
                    evolve.X_ = X
                    evolve.run_round(net, len(net.history))
            except _Diverged:
                diverged = True
            finally:
                if progress is not None:
                    progress.close()
                    net.callbacks_.remove(("progress", progress))
                if evolve is not None:
                    evolve.X_ = None
                guard.snapshot_ = None
                if keep is not None:
                    keep.reset()

        self._set_fitted_state(net, [] if evolve is None else list(evolve.history_))
        if diverged:
            warnings.warn(
                f"{type(self).__name__} diverged: the training loss became NaN or "
                f"infinite in epoch {guard.diverged_epoch_}. Training stopped and the "
                "weights from the start of that epoch (the last finite ones) were "
                "kept. Lower lr, scale the inputs, or use activation='relu'.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _lstsq_targets(self, y):
        """Targets for the least-squares output start of ``init="active"``."""
        return None

    def _polish(self, net: NeuralNet, X, y, evolve, cosine) -> None:
        """Run ``polish_epochs`` full-batch L-BFGS epochs, then restore the optimizer.

        Each epoch is one L-BFGS step of ``_POLISH_ITER`` iterations (strong Wolfe
        line search) on the whole training set. No FreeEvolve round and no
        learning-rate schedule apply. The gradient optimizer (with its state) is
        put back afterwards, so ``warm_start`` and ``partial_fit`` continue it.
        """
        optimizer, iterator = net.optimizer_, net.iterator_train
        evolve_epochs = None if evolve is None else evolve.epochs
        net.optimizer_ = torch.optim.LBFGS(
            net.module_.parameters(),
            lr=1.0,
            max_iter=_POLISH_ITER,
            history_size=50,
            line_search_fn="strong_wolfe",
            tolerance_grad=0.0,  # small losses (exact fits): never stop on scale
            tolerance_change=0.0,
        )
        net.iterator_train = _FullBatch
        if evolve is not None:
            evolve.epochs = []
        if cosine is not None:
            cosine.active = False
        try:
            net.partial_fit(X, y, epochs=self.polish_epochs)
        finally:
            net.optimizer_, net.iterator_train = optimizer, iterator
            if evolve is not None:
                evolve.epochs = evolve_epochs
            if cosine is not None:
                cosine.active = True

    @contextlib.contextmanager
    def _forked_rng(self, offset: int):
        """Seed torch inside a forked RNG, leaving the caller's state untouched."""
        device = torch.device(_resolve_device(self.device))
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self._seed + offset)
            yield

    def _round_due(self, evolve: FreeEvolve) -> bool:
        """Whether a ``partial_fit`` call ends with a FreeEvolve round."""
        period = max(1, self.max_epochs // (self.evolve_rounds + 1))
        return (
            not evolve.converged_
            and len(evolve.history_) < self.evolve_rounds
            and len(self.net_.history) % period == 0
        )

    def _check_same_architecture(self) -> None:
        """Refuse to continue training when the network's shape parameters changed."""
        module = self.net_.module_
        fitted = {
            "k": module.k,
            "activation": module.activation,
            "skip": module.skip is not None,
            "dtype": str(module.weight.dtype).removeprefix("torch."),
        }
        changed = [
            name for name, value in fitted.items() if getattr(self, name) != value
        ]
        if changed:
            raise ValueError(
                f"warm_start/partial_fit continue the fitted network, but {changed} "
                f"changed since it was built ({fitted}); call fit with "
                "warm_start=False to start a new network"
            )

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
        with torch.no_grad():
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


class FreeNetClassifier(ClassifierMixin, _BaseFreeNet):
    """FreeNet classifier: ``k`` neurons wired by an evolving DAG.

    Trains a :class:`~sklearn_freenets._module.FreeNetModule` with skorch and Adam
    on the cross-entropy loss, alternating weight training with FreeEvolve
    rounds that add edges between neurons that fire together and cut edges
    between neurons that are silent together.

    Parameters
    ----------
    k : int, default=100
        Number of neurons.
    epsilon : float in (0, 1), default=0.1
        FreeEvolve threshold: an edge ``j -> i`` is added when both neurons are
        active on more than ``1 - epsilon`` of the samples, and pruned when both
        are silent on more than ``1 - epsilon`` of them.
    evolve_rounds : int, default=5
        Maximum number of FreeEvolve rounds. They split the ``max_epochs``
        epochs into ``evolve_rounds + 1`` nearly equal phases: round ``r`` runs
        after epoch ``floor(r * max_epochs / (evolve_rounds + 1))``, and the last
        phase trains the final graph. Evolution stops early once a round changes
        nothing. ``evolve_rounds=0`` trains the initial graph only; with
        ``initial_graph="empty"`` that is exactly a one-hidden-layer MLP.
    activation : {"relu", "squared_relu", "tanh"}, default="relu"
        Neuron nonlinearity; ``squared_relu`` is ``max(0, z) ** 2``. A neuron is
        *active* when its pre-activation is positive.
    initial_graph : {"dense", "empty"} or array-like of shape (k, k), default="dense"
        Starting graph: ``"dense"`` has every edge ``j -> i`` with ``j < i``
        (it contains every layered network of ``k`` neurons), ``"empty"`` none;
        an array gives the edges (strictly lower triangular).
    skip : bool, default=False
        Add a linear map from the input straight to the outputs (no hidden
        neuron in between). Off by default, as in the paper's image networks;
        turn it on for tabular data with strong linear effects.
    max_epochs : int, default=20
        Total number of training epochs (passes over the data), FreeEvolve
        rounds included.
    batch_size : int, default=128
        Mini-batch size.
    lr : float, default=1e-3
        Adam learning rate.
    alpha : float, default=1e-4
        L2 penalty, passed as the optimizer's ``weight_decay`` (when the
        optimizer, for example one given in ``net_params``, takes one).
    validation_fraction : float in (0, 1) or None, default=None
        Hold out this fraction of the training data (stratified) and record the
        validation loss per epoch and per FreeEvolve round. None: train on all.
    evolve_max_samples : int or None, default=20000
        Neuron activity for FreeEvolve is recorded on at most this many training
        rows, drawn at random (seeded by ``random_state``); None: all rows.
    dtype : {"float32", "float64"}, default="float32"
        Floating point type of the network and of the data given to it.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch shuffling and activity subsampling.
        Training runs inside :func:`torch.random.fork_rng`, so the global torch
        random state of the caller is left untouched.
    device : str, default="cpu"
        Torch device to train on (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...) or
        ``"auto"`` (CUDA when available).
    verbose : int, default=0
        0: silent. 1: a progress bar over epochs and one line per FreeEvolve
        round. 2: also skorch's per-epoch table.
    warm_start : bool, default=False
        When fitted already, ``fit`` continues from the current weights and graph
        for another ``max_epochs`` epochs, with a fresh FreeEvolve schedule
        (history and loss curve are extended). ``k``, ``activation``, ``skip``
        and ``dtype`` must be unchanged. See also :meth:`partial_fit`.
    net_params : dict or None, default=None
        Extra keyword arguments for the underlying :class:`skorch.NeuralNet`
        (for example ``{"optimizer": torch.optim.SGD, "optimizer__momentum":
        0.9}`` or ``{"callbacks": [...]}``), applied over the defaults.
    lr_schedule : {"constant", "cosine"}, default="constant"
        Learning rate over the ``max_epochs`` epochs of a ``fit``:
        ``"constant"`` keeps ``lr``; ``"cosine"`` anneals it on a half cosine
        from ``lr`` (first epoch) towards ``lr / 1000``, recording the rate of
        each epoch in ``net_.history`` as ``lr``. Set at the first fit; with
        :meth:`partial_fit` the annealing runs over the first ``max_epochs``
        calls, then stays at ``lr / 1000``.

        .. versionadded:: 0.1
    polish_epochs : int, default=0
        After the ``max_epochs`` gradient epochs of ``fit``, run this many
        full-batch L-BFGS epochs (each one step of 20 L-BFGS iterations with a
        strong Wolfe line search, on the whole training set), with no
        FreeEvolve round. They count in ``n_iter_`` and ``loss_curve_``. The
        gradient optimizer is restored afterwards; :meth:`partial_fit` does not
        polish. Useful for small, smooth problems (fitting polynomials),
        costly on large data sets.

        .. versionadded:: 0.1
    init : {"default", "active"}, default="default"
        Weight initialisation. ``"default"``: torch's. ``"active"``: torch's,
        then every neuron's encoder bias is raised, neuron by neuron, so that
        its pre-activation is at least 0.1 on every training sample (a neuron
        that starts inactive everywhere gets no gradient). Suits
        ``activation="squared_relu"`` and smooth regression, not ReLU
        networks (a ReLU net with every unit active is affine on the data).
        For :class:`FreeNetRegressor` the decoder, its bias and the skip map
        are then set to the least-squares fit of the targets.

        .. versionadded:: 0.1
    keep_best : bool, default=False
        At the end of ``fit`` (polish included), restore the weights with the
        lowest training loss seen, unless the final weights are at least as
        good. The loss of an epoch is credited to the weights at the start of
        its last batch, so this is exact with full-batch training
        (``batch_size`` at least the number of samples) and approximate
        otherwise. It copies the weights at every batch: meant for small
        networks. Not applied by :meth:`partial_fit`.

        .. versionadded:: 0.1

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    adjacency_ : ndarray of shape (k, k), dtype=bool
        The evolved graph: ``adjacency_[i, j]`` is the edge ``j -> i``.
    n_edges_ : int
        Number of edges in ``adjacency_``.
    evolution_history_ : list of dict
        One record per FreeEvolve round: ``round``, ``epoch``,
        ``n_edges_before``, ``n_added``, ``n_pruned``, ``n_edges``,
        ``train_loss``, ``valid_loss`` (None without ``validation_fraction``),
        ``n_activity_samples``, and ``ncam`` / ``ncim`` (the strictly lower
        triangles of the co-activation and co-inactivation matrices).
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module.
    loss_curve_ : list of float
        Training loss after each epoch.
    n_iter_ : int
        Number of epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    FreeNetRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : A layered network.

    Notes
    -----
    If the loss becomes NaN or infinite, training stops with a
    :class:`~sklearn.exceptions.ConvergenceWarning` and keeps the weights from the
    start of that epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_freenets import FreeNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FreeNetClassifier(k=8, max_epochs=30, lr=1e-2, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.adjacency_.shape
    (8, 8)
    """

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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network and evolve its graph.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (any hashable type).

        Returns
        -------
        self : FreeNetClassifier
            The fitted estimator.
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train for one epoch on ``(X, y)``, continuing the current network.

        One call runs one epoch over ``X`` (in mini-batches of ``batch_size``).
        FreeEvolve continues across calls: every ``max(1, max_epochs //
        (evolve_rounds + 1))`` calls end with one round, with the activity
        recorded on that call's data, until ``evolve_rounds`` rounds have run
        or a round changes nothing. The first call builds the network (as
        ``fit`` would); later calls continue it, whatever ``warm_start`` is.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All labels that will ever appear; required on the first call when
            ``y`` does not contain every class.

        Returns
        -------
        self : FreeNetClassifier
            The updated estimator.
        """
        return self._fit(X, y, incremental=True, classes=classes)

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
    """FreeNet regressor: ``k`` neurons wired by an evolving DAG.

    Trains a :class:`~sklearn_freenets._module.FreeNetModule` with skorch and Adam
    on the mean squared error, alternating weight training with FreeEvolve
    rounds. Supports one or several targets. Targets are used as given: for
    targets far from unit scale, wrap the estimator in
    :class:`~sklearn.compose.TransformedTargetRegressor` with a
    :class:`~sklearn.preprocessing.StandardScaler`.

    Parameters
    ----------
    k : int, default=100
        Number of neurons.
    epsilon : float in (0, 1), default=0.1
        FreeEvolve threshold, see :class:`FreeNetClassifier`.
    evolve_rounds : int, default=5
        Maximum number of FreeEvolve rounds, see :class:`FreeNetClassifier` for
        how rounds and epochs relate.
    activation : {"relu", "squared_relu", "tanh"}, default="relu"
        Neuron nonlinearity; ``squared_relu`` is ``max(0, z) ** 2``.
    initial_graph : {"dense", "empty"} or array-like of shape (k, k), default="dense"
        Starting graph, see :class:`FreeNetClassifier`.
    skip : bool, default=False
        Add a linear map from the input straight to the outputs. Needed for the
        exact polynomial constructions of :mod:`sklearn_freenets.theory`, and
        often helpful on tabular data.
    max_epochs : int, default=20
        Total number of training epochs, FreeEvolve rounds included.
    batch_size : int, default=128
        Mini-batch size.
    lr : float, default=1e-3
        Adam learning rate.
    alpha : float, default=1e-4
        L2 penalty, passed as the optimizer's ``weight_decay`` (when the
        optimizer, for example one given in ``net_params``, takes one).
    validation_fraction : float in (0, 1) or None, default=None
        Hold out this fraction of the training data and record the validation
        loss. None: train on all of it.
    evolve_max_samples : int or None, default=20000
        Neuron activity is recorded on at most this many training rows.
    dtype : {"float32", "float64"}, default="float32"
        Floating point type of the network and of the data given to it.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and subsampling; the caller's global torch
        random state is left untouched.
    device : str, default="cpu"
        Torch device, or ``"auto"`` (CUDA when available).
    verbose : int, default=0
        0: silent. 1: progress bar and one line per FreeEvolve round. 2: also
        skorch's per-epoch table.
    warm_start : bool, default=False
        Continue from the fitted weights and graph on the next ``fit``, see
        :class:`FreeNetClassifier`.
    net_params : dict or None, default=None
        Extra keyword arguments for the underlying :class:`skorch.NeuralNet`.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` anneals the learning rate from ``lr`` towards ``lr / 1000``
        over the ``max_epochs`` epochs, see :class:`FreeNetClassifier`.

        .. versionadded:: 0.1
    polish_epochs : int, default=0
        Full-batch L-BFGS epochs (20 iterations each) run after the
        ``max_epochs`` gradient epochs of ``fit``, see :class:`FreeNetClassifier`.

        .. versionadded:: 0.1
    init : {"default", "active"}, default="default"
        ``"active"``: raise the encoder biases, neuron by neuron, so that every
        pre-activation is at least 0.1 on the training data, then set the
        decoder, its bias and the skip map to the least-squares fit of the
        targets on the resulting features. Suits ``activation="squared_relu"``
        (for example polynomial regression), not ReLU networks.

        .. versionadded:: 0.1
    keep_best : bool, default=False
        At the end of ``fit``, restore the weights with the lowest training loss
        seen (exact with full-batch training), see :class:`FreeNetClassifier`.

        .. versionadded:: 0.1

    Attributes
    ----------
    adjacency_ : ndarray of shape (k, k), dtype=bool
        The evolved graph: ``adjacency_[i, j]`` is the edge ``j -> i``.
    n_edges_ : int
        Number of edges in ``adjacency_``.
    evolution_history_ : list of dict
        One record per FreeEvolve round, see :class:`FreeNetClassifier`.
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module.
    loss_curve_ : list of float
        Training loss (MSE) after each epoch.
    n_iter_ : int
        Number of epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    FreeNetClassifier : The same network for classification.
    sklearn.neural_network.MLPRegressor : A layered network.

    Notes
    -----
    To fit a smooth function (a polynomial, say) to high accuracy, combine the
    training options: ``FreeNetRegressor(k, activation="squared_relu",
    skip=True, evolve_rounds=0, dtype="float64", batch_size=n_samples,
    max_epochs=1000, lr=1e-2, alpha=0, lr_schedule="cosine",
    polish_epochs=50, init="active", keep_best=True)`` (full-batch Adam,
    cosine-annealed, then L-BFGS, from a start where every neuron is active); see
    ``benchmarks/bench_polynomials.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_freenets import FreeNetRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = X[:, 0] ** 2 - X[:, 1]
    >>> reg = FreeNetRegressor(k=8, skip=True, max_epochs=50, lr=1e-2,
    ...                        random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _criterion = torch.nn.MSELoss

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
        return y2.astype(_NP_DTYPES[self.dtype])

    def _n_outputs(self) -> int:
        return self._n_targets

    def _lstsq_targets(self, y):
        return y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network and evolve its graph.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        Returns
        -------
        self : FreeNetRegressor
            The fitted estimator.
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """Train for one epoch on ``(X, y)``, continuing the current network.

        One call runs one epoch over ``X`` (in mini-batches of ``batch_size``).
        FreeEvolve continues across calls: every ``max(1, max_epochs //
        (evolve_rounds + 1))`` calls end with one round, with the activity
        recorded on that call's data, until ``evolve_rounds`` rounds have run
        or a round changes nothing. The first call builds the network (as
        ``fit`` would); later calls continue it, whatever ``warm_start`` is.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        Returns
        -------
        self : FreeNetRegressor
            The updated estimator.
        """
        return self._fit(X, y, incremental=True)

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
        out = self._raw_output(X).astype(np.float64)
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
    )
    reg._y_ndim, reg._n_targets, reg._seed = 1, 1, 0
    net = reg._make_net(
        n_features, seed=0, callbacks=[("divergence_guard", _DivergenceGuard())]
    )
    with torch.random.fork_rng(devices=[]):
        net.initialize()
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
    reg._set_fitted_state(net, [])
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
    return FreeNetParameters(
        E=arr(module.encoder.weight),
        b=arr(module.encoder.bias),
        W=arr(module.weight) * G,
        G=G,
        V=arr(module.decoder.weight),
        c=arr(module.decoder.bias),
        U=U,
        activation=module.activation,
    )
