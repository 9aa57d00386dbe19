# SPDX-License-Identifier: BSD-3-Clause
"""The skorch net that trains a FreeNet on in-memory tensors.

:class:`FreeNetTrainer` is a :class:`skorch.NeuralNet` with the per-step cost of
small-data training removed (the estimators own it; users see it as ``net_``):

- the data is held as tensors (:class:`TrainingData`) and cut into mini-batches by
  indexing (:class:`TensorBatches`) instead of a ``DataLoader`` collating rows one
  by one;
- the loss is a weighted mean (``sample_weight``), and each epoch records one
  training loss (the weighted mean over the epoch's batches) in the history, not
  one entry per batch;
- batch and gradient hooks (``on_batch_begin`` / ``on_batch_end`` /
  ``on_grad_computed``) are called only when a callback defines them.

:meth:`FreeNetTrainer.train` runs one training run: the gradient epochs, then the
optional full-batch L-BFGS polish, between one ``on_train_begin`` and one
``on_train_end``, and returns a :class:`TrainingResult`. The protocol (who may
stop training and how, the history keys, the order of the callbacks) is
described in the developer notes, ``doc/developer.rst``.
"""

from __future__ import annotations

import copy
import inspect
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
import torch.optim.optimizer as _optimizer_module
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PrintLog

__all__ = [
    "FreeNetTrainer",
    "History",
    "StopTraining",
    "TensorBatches",
    "TrainingData",
    "TrainingResult",
]


class History:
    """The keys the training run writes into ``net.history`` (one place for all).

    Per epoch row: ``TRAIN_LOSS`` (the weighted mean loss of the epoch's
    batches; of the weights before the step for polish epochs), ``VALID_SCORE``
    (with early stopping), ``LR`` (with a learning-rate schedule), ``PHASE``
    (``"polish"`` on L-BFGS polish epochs, ``"finish"`` on the epochs that
    ``early_stopping="auto"`` runs on every row), ``FREE_EVOLVE`` (the record of the
    round run at the end of the epoch), ``FREE_EVOLVE_EARLY`` (records of the
    rounds run within the epoch) and ``EVOLUTION_SETTLED`` (whether no further
    round will run). Callbacks only write keys; what the estimator reads back
    comes from :class:`TrainingResult` and the callbacks it holds.
    """

    TRAIN_LOSS = "train_loss"
    VALID_SCORE = "valid_score"
    LR = "lr"
    PHASE = "phase"
    FREE_EVOLVE = "free_evolve"
    FREE_EVOLVE_EARLY = "free_evolve_early"
    EVOLUTION_SETTLED = "evolution_settled"


StopReason = Literal["max_epochs", "converged", "diverged", "callback"]


class StopTraining(Exception):
    """Raised by a callback to end the current phase of a training run.

    ``reason`` says why (``"converged"``, ``"diverged"``); the trainer catches it
    and reports it in :class:`TrainingResult`. Callbacks of this package raise
    it instead of skorch's ``KeyboardInterrupt`` idiom, so that a real Ctrl+C is
    never mistaken for a stop.
    """

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason: StopReason = reason


@dataclass(frozen=True)
class TrainingResult:
    """What one :meth:`FreeNetTrainer.train` run did.

    Attributes
    ----------
    epochs : int
        Gradient epochs run.
    polish_epochs : int
        L-BFGS polish epochs run.
    stop_reason : {"max_epochs", "converged", "diverged", "callback"}
        Why the gradient epochs ended: the epoch budget ran out, the stopping
        criterion fired, the loss became NaN or infinite, or a user's callback
        stopped training (skorch's idiom: it raised ``KeyboardInterrupt``).
    stopped_epoch : int or None
        History row (1-based) of the epoch that ended training early; None when
        the budget ran out.
    """

    epochs: int
    polish_epochs: int
    stop_reason: StopReason
    stopped_epoch: int | None

    @property
    def diverged_epoch(self) -> int | None:
        """The epoch whose loss became NaN or infinite, or None."""
        return self.stopped_epoch if self.stop_reason == "diverged" else None


@contextmanager
def _watch_sigint() -> Iterator[dict[str, bool]]:
    """Tell a Ctrl+C apart from a callback's ``KeyboardInterrupt``.

    In the main thread, while Python's default SIGINT handler is installed, a
    handler that records the signal and then raises ``KeyboardInterrupt`` as the
    default one does is put in its place (and the default one restored after).
    The yielded dict's ``"signal"`` is True once a Ctrl+C arrived. Elsewhere
    (other threads, a handler of the caller's) nothing is changed, and a
    ``KeyboardInterrupt`` is taken for a callback's only when it left a hook of
    a callback that is not this package's (:meth:`FreeNetTrainer.notify`).
    """
    seen = {"signal": False}
    install = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if not install:
        yield seen
        return

    def handler(signum, frame):
        seen["signal"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# L-BFGS iterations (each one or more function evaluations) per polish epoch.
POLISH_ITER = 20


class TrainingData(torch.utils.data.Dataset):
    """Inputs, targets and sample weights as tensors of one length.

    Items are ``(x, (y, w))``, the shape skorch's ``train_step`` unpacks into
    inputs and targets. ``uniform`` is True when all weights are equal: batches
    then carry ``w=None`` and the loss is a plain mean (fewer tensor operations
    per step, and the same value).
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> None:
        self._set_rows(X, y, w)

    def _set_rows(self, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> None:
        self.X, self.y, self.w = X, y, w
        self.uniform = bool(len(w) == 0 or torch.all(w == w[0]))

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self.y[i], self.w[i])

    def hold_out(self, rows: torch.Tensor) -> TrainingData:
        """Take ``rows`` (a boolean mask) out of this data, in place; return them.

        Training on this object then skips those rows until :meth:`rejoin`
        puts every row back, in the original order.
        """
        held = TrainingData(self.X[rows], self.y[rows], self.w[rows])
        self._full = (self.X, self.y, self.w)
        keep = ~rows
        self._set_rows(self.X[keep], self.y[keep], self.w[keep])
        return held

    def rejoin(self) -> None:
        """Undo :meth:`hold_out` (nothing to do when no rows are held out)."""
        full = self.__dict__.pop("_full", None)
        if full is not None:
            self._set_rows(*full)


class TensorBatches:
    """Mini-batches of a :class:`TrainingData` by tensor indexing.

    With ``shuffle``, the rows are permuted each pass with ``generator`` (on the
    data's device; None: torch's global generator). When one batch holds all
    rows, it is the data itself, in order.
    """

    def __init__(
        self,
        dataset: TrainingData,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        data, n, size = self.dataset, len(self.dataset), self.batch_size
        X, y, w = data.X, data.y, None if data.uniform else data.w
        if size >= n:
            yield X, (y, w)
            return
        if self.shuffle:
            # one gather per epoch; the batches are then slices (views)
            order = torch.randperm(n, device=X.device, generator=self.generator)
            X, y = X.index_select(0, order), y.index_select(0, order)
            w = None if w is None else w.index_select(0, order)
        for start in range(0, n, size):
            stop = start + size
            yield X[start:stop], (y[start:stop], None if w is None else w[start:stop])


def writes_out_gradient(criterion: torch.nn.Module) -> bool:
    """Whether :func:`loss_and_gradient` computes this criterion's gradient.

    The estimators' three criteria at their settings: cross-entropy,
    squared error and binary cross-entropy on logits, ``reduction="none"``,
    without class weights or label smoothing of their own.
    """
    kind = type(criterion)
    if getattr(criterion, "reduction", None) != "none":
        return False
    if kind is torch.nn.CrossEntropyLoss:
        ce = cast(torch.nn.CrossEntropyLoss, criterion)
        return ce.weight is None and ce.label_smoothing == 0.0
    if kind is torch.nn.BCEWithLogitsLoss:
        bce = cast(torch.nn.BCEWithLogitsLoss, criterion)
        return bce.weight is None and bce.pos_weight is None
    return kind is torch.nn.MSELoss


def loss_and_gradient(
    criterion: torch.nn.Module,
    y_pred: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """:meth:`FreeNetTrainer.get_loss` and its gradient with respect to ``y_pred``.

    The same operations as autograd runs for ``get_loss(...).backward()``, so the
    same values bit for bit, for the criteria :func:`writes_out_gradient`
    accepts, with class indices for cross-entropy and targets of ``y_pred``'s
    shape otherwise. Returns None for any other criterion or targets. Records
    nothing for autograd.
    """
    if not writes_out_gradient(criterion):
        return None
    kind = type(criterion)
    if kind is torch.nn.CrossEntropyLoss:
        if y.ndim != 1:
            return None
        logp = torch.log_softmax(y_pred, 1)
        losses, total = torch.ops.aten.nll_loss_forward(logp, y, None, 0, -100)
    elif y.shape != y_pred.shape:
        return None
    elif kind is torch.nn.MSELoss:
        losses = torch.ops.aten.mse_loss(y_pred, y, 0)
    else:
        losses = torch.nn.functional.binary_cross_entropy_with_logits(
            y_pred, y, reduction="none"
        )
    one = torch.ones((), dtype=losses.dtype)
    if w is None:
        loss = losses.mean()
        grad = one.expand(losses.shape) / losses.numel()
    else:
        per_row = losses.mean(dim=1) if losses.ndim > 1 else losses
        total_w = w.sum()
        loss = (per_row * w).sum() / total_w
        grad = (one / total_w).expand(per_row.shape) * w
        if losses.ndim > 1:
            grad = grad.unsqueeze(1).expand(losses.shape) / losses.shape[1]
    if kind is torch.nn.CrossEntropyLoss:
        dlogp = torch.ops.aten.nll_loss_backward(grad, logp, y, None, 0, -100, total)
        dout = torch.ops.aten._log_softmax_backward_data(dlogp, logp, 1, logp.dtype)
    elif kind is torch.nn.MSELoss:
        dout = torch.ops.aten.mse_loss_backward(grad, y_pred, y, 0)
    else:
        dout = (y_pred.sigmoid() - y) * grad
    return loss, dout


def _adam_keywords() -> frozenset[str]:
    try:
        from torch.optim.adam import adam
    except ImportError:  # pragma: no cover - torch without the functional API
        return frozenset()
    return frozenset(inspect.signature(adam).parameters)


# The keywords Adam.step passes to torch's functional adam (torch >= 2.6, where
# AdamW is Adam with decoupled weight decay); elsewhere steps take Adam.step.
_ADAM_STEP_KEYWORDS = frozenset(
    {
        "amsgrad",
        "has_complex",
        "beta1",
        "beta2",
        "lr",
        "weight_decay",
        "eps",
        "maximize",
        "foreach",
        "capturable",
        "differentiable",
        "fused",
        "grad_scale",
        "found_inf",
        "decoupled_weight_decay",
    }
)
_FUNCTIONAL_ADAM = _ADAM_STEP_KEYWORDS <= _adam_keywords()


def adam_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()``, calling torch's functional Adam directly for Adam.

    For a ``torch.optim.Adam`` or ``AdamW`` whose state is set up (after its
    first step) and that has no step hooks, the same call with the same
    arguments as ``Adam.step`` makes, so the same update bit for bit, without
    the step's wrappers (profiling records, hook dispatch, the state checks
    of every step): a tenth of a small network's step. Any other optimizer,
    or a first step, goes through ``optimizer.step()``.
    """
    if (
        not _FUNCTIONAL_ADAM
        or type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW)
        or optimizer._optimizer_step_pre_hooks
        or optimizer._optimizer_step_post_hooks
        or _optimizer_module._global_optimizer_pre_hooks
        or _optimizer_module._global_optimizer_post_hooks
        or getattr(optimizer, "grad_scale", None) is not None
        or getattr(optimizer, "found_inf", None) is not None
        or any(group["differentiable"] for group in optimizer.param_groups)
    ):
        optimizer.step()
        return
    from torch.optim.adam import adam

    state = optimizer.state
    calls = []
    for group in optimizer.param_groups:
        params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps = [], [], [], [], [], []
        amsgrad = group["amsgrad"]
        for p in group["params"]:
            if p.grad is None:
                continue
            s = state.get(p)
            if not s or p.grad.is_sparse or torch.is_complex(p):
                optimizer.step()  # sets up the state (and checks the gradients)
                return
            params.append(p)
            grads.append(p.grad)
            exp_avgs.append(s["exp_avg"])
            exp_avg_sqs.append(s["exp_avg_sq"])
            if amsgrad:
                max_sqs.append(s["max_exp_avg_sq"])
            steps.append(s["step"])
        if params:
            lists = (params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps)
            calls.append((group, lists))
    with torch.no_grad():  # as Adam.step does (when not differentiable)
        for group, lists in calls:
            beta1, beta2 = group["betas"]
            adam(
                *lists,
                amsgrad=group["amsgrad"],
                has_complex=False,
                beta1=beta1,
                beta2=beta2,
                lr=group["lr"],
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=group["maximize"],
                foreach=group["foreach"],
                capturable=group["capturable"],
                differentiable=False,
                fused=group["fused"],
                grad_scale=None,
                found_inf=None,
                decoupled_weight_decay=group["decoupled_weight_decay"],
            )


# Keys under which a parameter group keeps the rate and weight decay that
# ``optimizer__param_groups`` gave it (the estimator rewrites ``lr`` and
# ``weight_decay`` of every group at each fit and epoch).
GROUP_LR = "group_lr"
GROUP_WEIGHT_DECAY = "group_weight_decay"


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float, base: float) -> None:
    """Train at ``lr``, the estimator's rate ``base`` scaled by a schedule.

    A parameter group without a rate of its own trains at ``lr``; a group given
    a rate by ``optimizer__param_groups`` at that rate times ``lr / base``, so a
    schedule scales every group alike, as PyTorch's schedulers do.
    """
    for group in optimizer.param_groups:
        own = group.get(GROUP_LR)
        group["lr"] = float(lr if own is None else own * lr / base)


def set_weight_decay(optimizer: torch.optim.Optimizer, alpha: float) -> None:
    """``alpha`` in every group that has no weight decay of its own."""
    for group in optimizer.param_groups:
        if "weight_decay" in group:
            group["weight_decay"] = group.get(GROUP_WEIGHT_DECAY, alpha)


def _defines(callback: Any, *names: str) -> bool:
    """Whether a callback overrides any of the hooks ``names`` of ``Callback``."""
    return any(
        getattr(type(callback), name, None) is not getattr(Callback, name)
        for name in names
    )


class FreeNetTrainer(NeuralNet):
    """A skorch net training on :class:`TrainingData` with a weighted loss.

    The criterion must be built with ``reduction="none"``; the loss of a batch is
    the mean of the per-sample losses (averaged over outputs) weighted by the
    sample weights.
    """

    # Whether a callback defines on_grad_computed (set by each epoch).
    _grad_listeners = False
    # Whether this epoch's steps may skip autograd (set by each epoch), and the
    # optimizer's parameters, whose gradients such a step resets.
    _direct = False
    _step_params: list[torch.Tensor] = []
    # Take training steps without autograd where they apply (_direct_step); a
    # switch for tests and benchmarks, not a parameter.
    direct_steps = True

    def get_default_callbacks(self):
        # The training loss is recorded per epoch by run_single_epoch, so skorch's
        # batch-averaging scorers are not needed; the per-epoch table (which
        # PrintLog formats even when it prints nothing) only when it is shown.
        callbacks: list[tuple[str, Any]] = [("epoch_timer", EpochTimer())]
        if self.verbose:
            callbacks.append(("print_log", PrintLog()))
        return callbacks

    # The generator that shuffles the batches of the current training run.
    generator_: torch.Generator | None = None
    # Whether a callback of someone else's (not this package's) raised
    # KeyboardInterrupt out of a hook in the current run: skorch's "stop" idiom.
    stop_requested_: bool = False

    def notify(self, method_name, **cb_kwargs):
        """skorch's ``notify``, noting a callback's ``KeyboardInterrupt``.

        A ``KeyboardInterrupt`` raised out of the hook of a callback that is not
        this package's own is taken as that callback's request to stop training
        (``stop_requested_``); one raised anywhere else is a Ctrl+C.
        """
        getattr(self, method_name)(self, **cb_kwargs)
        for _, cb in self.callbacks_:
            try:
                getattr(cb, method_name)(self, **cb_kwargs)
            except KeyboardInterrupt:
                if not type(cb).__module__.startswith("sklearn_freenets."):
                    self.stop_requested_ = True
                raise

    def get_params_for_optimizer(self, prefix, named_parameters):
        # Remember the rate and weight decay that optimizer__param_groups gives a
        # group, so that fits and schedules, which set both, keep them.
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        for group in args[0]:
            for key, kept in (("lr", GROUP_LR), ("weight_decay", GROUP_WEIGHT_DECAY)):
                if key in group:
                    group[kept] = group[key]
        return args, kwargs

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, w = y_true
        losses = self.criterion_(y_pred, y)
        if w is None:  # equal weights
            return losses.mean()
        if losses.ndim > 1:
            losses = losses.mean(dim=1)
        return (losses * w).sum() / w.sum()

    def dataset_loss(self, data: TrainingData) -> torch.Tensor:
        """The weighted loss of the current module on all of ``data`` (no grad)."""
        with torch.no_grad():
            w = None if data.uniform else data.w
            return self.get_loss(self.infer(data.X), (data.y, w))

    def row_losses(self, data: TrainingData) -> torch.Tensor:
        """The loss of every row of ``data`` (averaged over outputs), no grad."""
        with torch.no_grad():
            losses = self.criterion_(self.infer(data.X), data.y)
            return losses.mean(dim=1) if losses.ndim > 1 else losses

    def _listeners(self, *hooks: str) -> list[tuple[str, Any]]:
        """The callbacks that define any of ``hooks`` and want them this epoch.

        A callback defining ``batch_hooks_wanted(net)`` is skipped while that
        returns False (FreeEvolve's rounds within the first epoch have nothing
        to do in later epochs, and calling every callback's batch hooks on
        every batch is a measurable part of a small network's step).
        """
        return [
            (n, cb)
            for n, cb in self.callbacks_
            if _defines(cb, *hooks)
            and getattr(cb, "batch_hooks_wanted", lambda net: True)(self)
        ]

    def train_step(self, batch, **fit_params):
        if self._grad_listeners:
            return super().train_step(batch, **fit_params)
        if self._direct and not fit_params:
            step = self._direct_step(batch)
            if step is not None:
                return step

        # the result goes through a dict, not an attribute of ``closure``: a function
        # that refers to itself is a reference cycle, which kept the batch (a view
        # of the epoch's permuted copy of the data) alive until the next garbage
        # collection, one copy of the data per epoch
        result: dict[str, Any] = {}

        optimizer = self.optimizer_

        def closure():
            optimizer.zero_grad(set_to_none=True)
            result["step"] = self.train_step_single(batch, **fit_params)
            return result["step"]["loss"]

        optimizer.step(closure)
        return result["step"]

    def _direct_steps_apply(self) -> bool:
        """Whether training steps may skip autograd (:meth:`_direct_step`).

        They may when the loss, the forward pass and the step are the ones
        this class defines (not a subclass's), the criterion's gradient and the
        module's can be written out (:func:`writes_out_gradient`,
        :meth:`FreeNetModule.step_forward`), and the optimizer is one
        of torch's that evaluates the loss once per step (not L-BFGS, whose
        step calls the closure again, nor an optimizer of someone else's,
        which may).
        """
        cls = type(self)
        optimizer = type(self.optimizer_)
        return (
            self.direct_steps
            and optimizer.__module__.startswith("torch.optim.")
            and optimizer is not torch.optim.LBFGS
            and hasattr(self.module_, "step_forward")
            and writes_out_gradient(self.criterion_)
            and cls.get_loss is FreeNetTrainer.get_loss
            and cls.infer is NeuralNet.infer
            and cls.train_step_single is NeuralNet.train_step_single
        )

    def _direct_step(self, batch) -> dict[str, Any] | None:
        """A training step with the gradients written out instead of autograd.

        The loss, the module's output and every gradient are those of
        ``train_step_single`` bit for bit (:func:`loss_and_gradient`,
        :meth:`FreeNetModule.step_forward`), and the optimizer steps as it
        would; only autograd's bookkeeping, which is most of a small
        network's step on the CPU, is gone. None where this does not apply
        (the caller then takes the autograd step).
        """
        Xi, (yi, wi) = batch
        module = self.module_
        if not module.training:  # as train_step_single
            module.train()
            self.criterion_.train()
        with torch.no_grad():
            forward = module.step_forward(Xi)
            if forward is None:
                return None
            y_pred, backward = forward
            loss_grad = loss_and_gradient(self.criterion_, y_pred, yi, wi)
            if loss_grad is None:
                return None
            loss, dout = loss_grad
            for param in self._step_params:
                param.grad = None
            backward(dout)
        adam_step(self.optimizer_)
        return {"loss": loss, "y_pred": y_pred}

    def get_iterator(self, dataset, training=False):
        """Mini-batches of ``dataset``, shuffled by the run's generator."""
        return TensorBatches(
            dataset,
            batch_size=self.batch_size,
            shuffle=training,
            generator=self.generator_,
        )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``; records the epoch's weighted mean loss."""
        if iterator is None:
            return
        batch_hooks = bool(self._listeners("on_batch_begin", "on_batch_end"))
        self._grad_listeners = bool(self._listeners("on_grad_computed"))
        self._direct = training and self._direct_steps_apply()
        if self._direct:
            self._step_params = [
                p for group in self.optimizer_.param_groups for p in group["params"]
            ]
        total = 0.0
        weight = 0.0
        for batch in iterator:
            if batch_hooks:
                self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            wb = batch[1][1]
            w = float(len(batch[0]) if wb is None else wb.sum())
            total += float(step["loss"].detach()) * w
            weight += w
            if batch_hooks:
                self.notify("on_batch_end", batch=batch, training=training, **step)
        self.history.record(prefix + "_loss", total / weight)  # History.TRAIN_LOSS

    def train(
        self,
        data: TrainingData,
        epochs: int,
        polish_epochs: int = 0,
        generator: torch.Generator | None = None,
    ) -> TrainingResult:
        """Run ``epochs`` gradient epochs, then ``polish_epochs`` L-BFGS epochs.

        A callback ends a phase early by raising :class:`StopTraining` (or,
        skorch's idiom, ``KeyboardInterrupt`` out of one of its hooks); the
        polish still runs after an early stop of the gradient epochs, but not
        after divergence. A Ctrl+C is not a stop: it propagates, after
        ``on_train_end``. It is told apart by a SIGINT handler where one can be
        installed (see :func:`_watch_sigint`), and otherwise by where the
        ``KeyboardInterrupt`` came from (:meth:`notify`).
        ``generator`` shuffles the batches (None: torch's global generator).
        ``on_train_end`` always runs.
        """
        if not self.initialized_:
            self.initialize()
        self.generator_ = generator
        self.stop_requested_ = False
        start = len(self.history)
        reason: StopReason = "max_epochs"
        stopped: int | None = None
        self.notify("on_train_begin", X=data, y=None)
        try:
            with _watch_sigint() as sigint:
                if epochs > 0:
                    early = self._phase(
                        lambda: self.fit_loop(data, epochs=epochs), sigint
                    )
                    if early is not None:
                        reason, stopped = early, len(self.history)
                gradient_rows = len(self.history) - start
                if polish_epochs > 0 and reason != "diverged":
                    self._phase(lambda: self.polish(data, polish_epochs), sigint)
        finally:
            self.notify("on_train_end", X=data, y=None)
            self.generator_ = None
        return TrainingResult(
            epochs=gradient_rows,
            polish_epochs=len(self.history) - start - gradient_rows,
            stop_reason=reason,
            stopped_epoch=stopped,
        )

    def _phase(self, run, sigint: dict[str, bool]) -> StopReason | None:
        """Run one phase of training; return why a callback ended it, or None.

        A ``KeyboardInterrupt`` is a stop only when a callback asked for it
        (``stop_requested_``) and no Ctrl+C arrived; otherwise it propagates.
        """
        try:
            run()
        except StopTraining as stop:
            return stop.reason
        except KeyboardInterrupt:
            if sigint["signal"] or not self.stop_requested_:
                raise
            return "callback"
        return None

    def checkpoint(self) -> dict[str, Any]:
        """A copy of everything training changes, for :meth:`restore`.

        The net's attributes (a shallow copy: rate, batch size, callbacks), the
        module's weights and graph, the optimizer's state, the history's length
        and, during a training run, the state of the generator that shuffles its
        batches.
        """
        generator = self.generator_
        return {
            "attributes": dict(self.__dict__),
            "module": copy.deepcopy(self.module_.state_dict()),
            "optimizer": copy.deepcopy(self.optimizer_.state_dict()),
            "history": len(self.history),
            "shuffle": None if generator is None else generator.get_state(),
        }

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Put the net back as it was at ``checkpoint``."""
        self.__dict__.clear()
        self.__dict__.update(checkpoint["attributes"])
        self.module_.load_state_dict(checkpoint["module"])
        self.optimizer_.load_state_dict(checkpoint["optimizer"])
        del self.history[checkpoint["history"] :]
        if checkpoint["shuffle"] is not None and self.generator_ is not None:
            self.generator_.set_state(checkpoint["shuffle"])

    def polish(self, data: TrainingData, epochs: int) -> None:
        """Full-batch L-BFGS epochs (strong Wolfe line search) on ``data``.

        Each epoch is one L-BFGS step of ``POLISH_ITER`` iterations; its recorded
        loss is that of the weights before the step, as for gradient epochs. Epoch
        and batch hooks run with ``phase="polish"``; the gradient optimizer
        (``optimizer_``) is left as it was.
        """
        optimizer = torch.optim.LBFGS(
            self.module_.parameters(),
            lr=1.0,
            max_iter=POLISH_ITER,
            history_size=50,
            line_search_fn="strong_wolfe",
            tolerance_grad=0.0,  # small losses (exact fits): never stop on scale
            tolerance_change=0.0,
        )
        batch = (data.X, (data.y, None if data.uniform else data.w))
        losses: list[float] = []

        def closure():
            optimizer.zero_grad()
            loss = self.get_loss(self.infer(data.X), batch[1], training=True)
            loss.backward()
            losses.append(float(loss.detach()))
            return loss

        self.module_.train()
        for _ in range(epochs):
            self.notify("on_epoch_begin", phase="polish")
            self.notify("on_batch_begin", batch=batch, training=True)
            evaluations = len(losses)
            optimizer.step(closure)
            self.history.record(History.TRAIN_LOSS, losses[evaluations])
            self.history.record(History.PHASE, "polish")
            self.notify("on_batch_end", batch=batch, training=True)
            self.notify("on_epoch_end", phase="polish")
