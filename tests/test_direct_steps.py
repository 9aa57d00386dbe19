# SPDX-License-Identifier: BSD-3-Clause
"""Training steps without autograd: the same fits as autograd's, bit for bit.

``FreeNetTrainer`` writes out the gradients of the loss and of the module
(``loss_and_gradient``, ``FreeNetModule.step_forward``) and steps Adam through
torch's functional call (``adam_step``). Every test here compares against the
autograd step (``FreeNetTrainer.direct_steps = False``) or ``optimizer.step()``
with ``torch.equal``, and checks which path the steps took.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from skorch.callbacks import Callback

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor, _training
from sklearn_freenets._training import FreeNetTrainer, adam_step, loss_and_gradient

K = 12
_DIRECT_STEP = FreeNetTrainer._direct_step


def _graph(kind):
    if kind in ("empty", "dense"):
        return kind
    rng = np.random.default_rng(0)
    if kind == "sparse":  # the neuron-major path
        return np.tril(rng.random((K, K)) < 0.3, -1)
    # two topological levels, too dense for the neuron-major path above k=100
    # (half the possible edges): computed by matrix products, through autograd
    k = 120
    g = np.zeros((k, k), dtype=bool)
    g[k // 2 :, : k // 2] = True
    return g


def _data(task):
    if task == "classifier":
        X, y = make_classification(160, 6, n_informative=4, n_classes=3, random_state=0)
    elif task == "multilabel":
        X, y = make_multilabel_classification(160, 6, n_classes=3, random_state=0)
    elif task == "regressor":
        X, y = make_regression(160, 6, noise=5.0, random_state=0)
    else:  # multi-target
        X, y = make_regression(160, 6, n_targets=2, noise=5.0, random_state=0)
    return (X - X.mean(0)) / X.std(0), y


def _fit(monkeypatch, direct, task, sample_weight=None, **params):
    """Fit with or without direct steps; the parameters and how many steps
    took the direct path and how many fell back to autograd."""
    monkeypatch.setattr(FreeNetTrainer, "direct_steps", direct)
    taken = {"direct": 0, "autograd": 0}

    def spy(self, batch):
        step = _DIRECT_STEP(self, batch)
        taken["direct" if step is not None else "autograd"] += 1
        return step

    monkeypatch.setattr(FreeNetTrainer, "_direct_step", spy)
    Estimator = (
        FreeNetClassifier if task in ("classifier", "multilabel") else FreeNetRegressor
    )
    params = {
        "k": params.pop("k", K),
        "max_epochs": 4,
        "batch_size": 48,
        "evolve_rounds": 0,
        "random_state": 0,
        **params,
    }
    X, y = _data(task)
    est = Estimator(**params).fit(X, y, sample_weight=sample_weight)
    weights = [p.detach().clone() for p in est.net_.module_.parameters()]
    losses = est.net_.history[:, "train_loss"]
    return weights, losses, taken


def _assert_same(a, b):
    assert len(a) == len(b)
    for p, q in zip(a, b, strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("graph", ["empty", "sparse", "dense"])
@pytest.mark.parametrize("activation", ["relu", "squared_relu", "tanh"])
@pytest.mark.parametrize(
    "task, skip, weighted",
    [
        ("classifier", False, False),
        ("regressor", True, True),
        ("multilabel", True, False),
        ("multi-target", False, True),
    ],
)
def test_direct_steps_train_as_autograd(
    monkeypatch, graph, activation, task, skip, weighted
):
    w = np.random.default_rng(1).uniform(0.2, 2.0, 160) if weighted else None
    params = {"initial_graph": _graph(graph), "activation": activation, "skip": skip}
    ref, ref_losses, ref_taken = _fit(monkeypatch, False, task, w, **params)
    got, got_losses, taken = _fit(monkeypatch, True, task, w, **params)
    assert ref_taken["direct"] == 0
    assert taken["autograd"] == 0 and taken["direct"] > 0
    _assert_same(ref, got)
    assert np.all(np.isfinite(ref_losses))
    assert list(got_losses) == list(ref_losses)


def test_graphs_of_two_levels_fall_back_to_autograd(monkeypatch):
    params = {"initial_graph": _graph("levels"), "k": 120}
    ref, _, _ = _fit(monkeypatch, False, "classifier", **params)
    got, _, taken = _fit(monkeypatch, True, "classifier", **params)
    assert taken["direct"] == 0 and taken["autograd"] > 0
    _assert_same(ref, got)


def test_hooks_and_gradient_listeners_get_autograd(monkeypatch):
    """A forward hook on the module must run, and a callback reading the
    gradients must be called: both keep the autograd step."""
    seen = {"grad": 0}

    class Grads(Callback):
        def on_grad_computed(self, net, named_parameters, **kwargs):
            seen["grad"] += 1

    _, _, taken = _fit(
        monkeypatch, True, "classifier", net_params={"callbacks": [("g", Grads())]}
    )
    assert seen["grad"] > 0 and taken["direct"] == 0

    monkeypatch.setattr(FreeNetTrainer, "direct_steps", True)
    X, y = _data("classifier")
    est = FreeNetClassifier(k=K, max_epochs=2, evolve_rounds=0, random_state=0)
    est.fit(X, y)
    module = est.net_.module_

    X0 = torch.zeros(4, 6, dtype=module.weight.dtype)
    assert module.step_forward(X0) is not None
    handle = module.register_forward_hook(lambda *args: None)
    assert module.step_forward(X0) is None
    handle.remove()
    handle = module.encoder.weight.register_hook(lambda g: g)
    assert module.step_forward(X0) is None
    handle.remove()
    assert module.step_forward(X0) is not None


def test_other_optimizers_take_direct_gradients(monkeypatch):
    """SGD with momentum: gradients written out, ``optimizer.step()`` as usual."""
    params = {
        "initial_graph": _graph("sparse"),
        "net_params": {"optimizer": torch.optim.SGD, "optimizer__momentum": 0.9},
    }
    ref, _, _ = _fit(monkeypatch, False, "regressor", **params)
    got, _, taken = _fit(monkeypatch, True, "regressor", **params)
    assert taken["direct"] > 0
    _assert_same(ref, got)


def _adam_params():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(5, 4, generator=gen), torch.randn(4, generator=gen)]


@pytest.mark.parametrize(
    "Optimizer, options",
    [
        (torch.optim.Adam, {"fused": True}),
        (torch.optim.Adam, {"foreach": False, "weight_decay": 0.01}),
        (torch.optim.Adam, {"amsgrad": True, "maximize": True}),
        (torch.optim.AdamW, {"weight_decay": 0.1}),
    ],
)
def test_adam_step_matches_optimizer_step(Optimizer, options):
    a = [torch.nn.Parameter(t) for t in _adam_params()]
    b = [torch.nn.Parameter(t) for t in _adam_params()]
    groups = lambda ps: [  # noqa: E731 - two groups, one with a rate of its own
        {"params": [ps[0]]},
        {"params": [ps[1]], "lr": 0.05},
    ]
    opt_a = Optimizer(groups(a), lr=0.01, **options)
    opt_b = Optimizer(groups(b), lr=0.01, **options)
    gen = torch.Generator().manual_seed(1)
    for step in range(5):
        grads = [torch.randn(p.shape, generator=gen) for p in a]
        for params in (a, b):
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
        if step == 3:  # a parameter without a gradient is skipped by both
            a[1].grad = b[1].grad = None
        opt_a.step()
        adam_step(opt_b)
        _assert_same(a, b)
    assert opt_b.state[b[0]]["step"] == 5


def test_adam_step_honours_hooks_and_other_optimizers():
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([p], lr=0.1)
    calls = []
    opt.register_step_post_hook(lambda *args: calls.append(1))
    for _ in range(2):
        p.grad = torch.ones(3)
        adam_step(opt)
    assert calls == [1, 1]
    sgd = torch.optim.SGD([p], lr=0.5)
    before = p.detach().clone()
    adam_step(sgd)
    assert torch.equal(p.detach(), before - 0.5)


def test_functional_adam_is_used_on_this_torch():
    """The direct step is only as fast as advertised where torch's functional
    Adam takes the keywords that ``Adam.step`` passes (torch >= 2.6)."""
    major, minor = (int(v) for v in torch.__version__.split(".")[:2])
    assert _training._FUNCTIONAL_ADAM == ((major, minor) >= (2, 6))


def test_loss_and_gradient_declines_other_criteria():
    out = torch.randn(6, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    assert loss_and_gradient(torch.nn.L1Loss(reduction="none"), out, out, None) is None
    smoothed = torch.nn.CrossEntropyLoss(reduction="none", label_smoothing=0.1)
    assert loss_and_gradient(smoothed, out, y, None) is None
    mean = torch.nn.CrossEntropyLoss()
    assert loss_and_gradient(mean, out, y, None) is None
    criterion = torch.nn.CrossEntropyLoss(reduction="none")
    loss, dout = loss_and_gradient(criterion, out, y, None)
    leaf = out.clone().requires_grad_()
    reference = criterion(leaf, y).mean()  # FreeNetTrainer.get_loss
    reference.backward()
    assert torch.equal(dout, leaf.grad)
    assert torch.equal(loss, reference.detach())


def test_optimizers_that_reevaluate_the_loss_get_autograd(monkeypatch):
    """L-BFGS calls the closure several times per step: no direct steps."""
    params = {"net_params": {"optimizer": torch.optim.LBFGS}, "batch_size": 160}
    ref, _, _ = _fit(monkeypatch, False, "regressor", **params)
    got, _, taken = _fit(monkeypatch, True, "regressor", **params)
    assert taken == {"direct": 0, "autograd": 0}
    _assert_same(ref, got)
