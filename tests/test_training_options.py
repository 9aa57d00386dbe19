# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the training options: lr_schedule, polish_epochs, init, keep_best."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor


def _poly_data(n=200, degree=4, seed=0):
    X = np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, 1))
    return X, 0.7 * X[:, 0] ** degree


_RECIPE = dict(
    activation="squared_relu",
    initial_graph="dense",
    skip=True,
    evolve_rounds=0,
    dtype="float64",
    alpha=0.0,
    lr=1e-2,
    standardize_targets=False,  # losses in the units of y
)
# Exactly max_epochs epochs: no stopping criterion.
_FIXED = dict(n_iter_no_change=np.inf, early_stopping=False)


@pytest.mark.parametrize("Estimator", [FreeNetClassifier, FreeNetRegressor])
@pytest.mark.parametrize(
    "params",
    [
        {"lr_schedule": "linear"},
        {"polish_epochs": -1},
        {"polish_epochs": 1.5},
        {"init": "zeros"},
        {"keep_best": "yes"},
    ],
)
def test_invalid_training_options(Estimator, params):
    """Check that invalid training options raise InvalidParameterError."""
    X, y = _poly_data(20)
    y = (y > y.mean()).astype(int) if Estimator is FreeNetClassifier else y
    with pytest.raises(InvalidParameterError):
        Estimator(k=2, max_epochs=1, **params).fit(X, y)


@pytest.mark.parametrize("Estimator", [FreeNetClassifier, FreeNetRegressor])
def test_defaults_unchanged(Estimator):
    """Check that the options default to plain training from the MLP's init."""
    params = Estimator().get_params()
    assert params["lr_schedule"] == "constant"
    assert params["polish_epochs"] == 0
    assert params["init"] == "glorot"  # scikit-learn's MLP initialisation
    assert params["keep_best"] is False
    X, y = _poly_data(40)
    y = (y > y.mean()).astype(int) if Estimator is FreeNetClassifier else y
    est = Estimator(k=3, max_epochs=3, evolve_rounds=0, random_state=0, **_FIXED)
    est.fit(X, y)
    assert "lr" not in est.net_.history[-1]
    assert all("phase" not in row for row in est.net_.history)
    assert est.n_iter_ == 3


def test_cosine_lr_decays():
    """Check that lr_schedule="cosine" anneals the rate from lr to lr / 1000."""
    X, y = _poly_data(50)
    reg = FreeNetRegressor(
        k=3, max_epochs=20, lr=1e-2, lr_schedule="cosine", random_state=0, **_FIXED
    ).fit(X, y)
    lrs = np.array(reg.net_.history[:, "lr"])
    assert len(lrs) == 20
    assert_allclose(lrs[0], 1e-2)
    assert np.all(np.diff(lrs) < 0)
    t = np.arange(20)
    expected = 1e-5 + (1e-2 - 1e-5) * 0.5 * (1 + np.cos(np.pi * t / 20))
    assert_allclose(lrs, expected)
    assert_allclose(reg.net_.optimizer_.param_groups[0]["lr"], lrs[-1])


@pytest.mark.parametrize("lr_schedule", ["constant", "cosine"])
def test_param_group_rate_and_decay_are_kept(lr_schedule):
    """Check that optimizer__param_groups' lr and weight_decay outlive fits and lr.

    The recurrent weights get their own rate and no weight decay; the other
    parameters keep the estimator's lr and alpha, and a schedule scales both.
    """
    X, y = _poly_data(50)
    groups = [("weight", {"lr": 1e-4, "weight_decay": 0.0})]
    reg = FreeNetRegressor(
        k=3, max_epochs=4, lr=1e-2, alpha=0.1, lr_schedule=lr_schedule,
        initial_graph="dense", evolve_rounds=0, random_state=0,
        net_params={"optimizer__param_groups": groups}, **_FIXED,
    ).fit(X, y)  # fmt: skip
    own, rest = reg.net_.optimizer_.param_groups
    assert own["params"][0] is reg.net_.module_.weight
    assert own["weight_decay"] == 0.0 and rest["weight_decay"] == 0.1
    assert_allclose(own["lr"] / rest["lr"], 1e-2)
    scale = reg.net_.history[-1, "lr"] / 1e-2 if lr_schedule == "cosine" else 1.0
    assert_allclose(rest["lr"], 1e-2 * scale)
    # And they act: a zero rate freezes the recurrent weights, and only them.
    start = _Snapshot()
    frozen = [("weight", {"lr": 0.0})]
    params = {"optimizer__param_groups": frozen, "callbacks": [start]}
    reg = FreeNetRegressor(
        k=3, max_epochs=2, initial_graph="dense", evolve_rounds=0, random_state=0,
        net_params=params, **_FIXED,
    ).fit(X, y)  # fmt: skip
    module = reg.net_.module_
    assert torch.equal(module.weight, start.state["weight"])
    assert not torch.equal(module.encoder.weight, start.state["encoder.weight"])


class _Snapshot(Callback):
    """Copy the module's parameters when training begins."""

    def on_train_begin(self, net, **kwargs):
        state = net.module_.state_dict()
        self.state = {name: value.detach().clone() for name, value in state.items()}


def test_cosine_lr_restarts_on_warm_start():
    """Check that each warm-started fit anneals again from lr."""
    X, y = _poly_data(50)
    reg = FreeNetRegressor(
        k=3,
        max_epochs=5,
        lr_schedule="cosine",
        warm_start=True,
        random_state=0,
        **_FIXED,
    )
    reg.fit(X, y).fit(X, y)
    lrs = reg.net_.history[:, "lr"]
    assert len(lrs) == 10
    assert_allclose(lrs[:5], lrs[5:])


def test_polish_runs_lbfgs(monkeypatch):
    """Check that polish_epochs run L-BFGS steps after the gradient epochs."""
    steps = []
    original = torch.optim.LBFGS.step

    def counting_step(self, closure):
        steps.append(closure)
        return original(self, closure)

    monkeypatch.setattr(torch.optim.LBFGS, "step", counting_step)
    X, y = _poly_data(100)
    reg = FreeNetRegressor(
        k=3,
        max_epochs=5,
        batch_size=16,
        polish_epochs=4,
        random_state=0,
        **_RECIPE,
        **_FIXED,
    ).fit(X, y)
    assert len(steps) == 4  # one full-batch step per polish epoch
    assert reg.n_iter_ == 9
    assert len(reg.loss_curve_) == 9
    assert reg.loss_curve_[-1] < reg.loss_curve_[4]
    # the gradient optimizer is put back (warm_start / partial_fit continue it)
    assert isinstance(reg.net_.optimizer_, torch.optim.Adam)
    reg.partial_fit(X, y)
    assert len(steps) == 4 and reg.n_iter_ == 1 and len(reg.loss_curve_) == 10


def test_polish_keeps_evolve_rounds_in_gradient_epochs():
    """Check that no FreeEvolve round runs during the polish epochs."""
    X, y = _poly_data(100)
    reg = FreeNetRegressor(
        k=6,
        initial_graph="dense",
        max_epochs=2,
        evolve_rounds=5,
        evolve_every=2,
        evolve_every_batches=None,
        polish_epochs=4,
        random_state=0,
        **_FIXED,
    ).fit(X, y)
    # The round after epoch 2 changed the graph, so evolution had not settled
    # when the polish began: were polish epochs counted, rounds would be due
    # after epochs 4 and 6.
    assert [(r["epoch"], r["changed"]) for r in reg.evolution_history_] == [(2, True)]
    assert not reg.net_.history[1]["evolution_settled"]
    assert [row.get("phase") for row in reg.net_.history] == [None] * 2 + ["polish"] * 4
    assert all("free_evolve" not in row for row in reg.net_.history[2:])


@pytest.mark.parametrize("Estimator", [FreeNetClassifier, FreeNetRegressor])
@pytest.mark.parametrize("skip", [False, True])
def test_active_init_makes_every_neuron_active(Estimator, skip):
    """Check that init="active" starts every neuron with pre-activation >= 0.1."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(80, 3))
    y = X[:, 0] - X[:, 1] ** 2
    if Estimator is FreeNetClassifier:
        y = (y > 0).astype(int)
    est = Estimator(
        k=5,
        activation="squared_relu",
        initial_graph="dense",  # neuron i reads the shifted neurons j < i
        skip=skip,
        init="active",
        evolve_rounds=0,
        max_epochs=1,
        lr=1e-12,  # keep the start: one negligible step
        dtype="float64",
        random_state=0,
        **_FIXED,
    ).fit(X, y)
    Z = est.net_.module_.preactivations(torch.as_tensor(X))
    assert Z.min() >= 0.1 - 1e-4  # one step of size 1e-12 since the start

    plain = Estimator(
        k=5,
        activation="squared_relu",
        initial_graph="dense",
        skip=skip,
        evolve_rounds=0,
        max_epochs=1,
        lr=1e-12,
        dtype="float64",
        random_state=0,
        **_FIXED,
    ).fit(X, y)
    assert plain.net_.module_.preactivations(torch.as_tensor(X)).min() < 0.1


def test_active_init_fits_output_by_least_squares():
    """Check that the regressor's active start is the least-squares output fit."""
    X, y = _poly_data(200, degree=2)
    reg = FreeNetRegressor(
        k=2,
        max_epochs=1,
        init="active",
        random_state=0,
        **(_RECIPE | _FIXED | {"lr": 1e-12}),
    ).fit(X, y)
    # x^2 is in the span of one always-active squared-ReLU neuron and the skip
    assert reg.loss_curve_[0] < 1e-20


def test_keep_best_restores_lowest_training_loss():
    """Check that keep_best ends on weights no worse than the best epoch."""
    X, y = _poly_data(200, degree=2)
    common = dict(k=2, max_epochs=30, batch_size=200, init="active", random_state=0)
    common |= _RECIPE | _FIXED | {"lr": 0.1}
    plain = FreeNetRegressor(**common).fit(X, y)
    best = FreeNetRegressor(**common, keep_best=True).fit(X, y)
    assert_allclose(plain.loss_curve_, best.loss_curve_)
    final = np.mean((best.predict(X) - y) ** 2)
    assert final <= min(best.loss_curve_) * (1 + 1e-6) + 1e-30
    assert np.mean((plain.predict(X) - y) ** 2) > final


def test_recipe_fits_polynomial():
    """Check that the training options fit a quartic far better than the defaults."""
    X, y = _poly_data(200, degree=4)
    X_test = np.linspace(0.0, 1.0, 501).reshape(-1, 1)
    y_test = 0.7 * X_test[:, 0] ** 4
    common = dict(k=4, batch_size=200, max_epochs=200, random_state=0)
    common |= _RECIPE | _FIXED
    recipe = FreeNetRegressor(
        **common, lr_schedule="cosine", polish_epochs=10, init="active", keep_best=True
    ).fit(X, y)
    plain = FreeNetRegressor(**common).fit(X, y)
    mse_recipe = np.mean((recipe.predict(X_test) - y_test) ** 2)
    mse_plain = np.mean((plain.predict(X_test) - y_test) ** 2)
    assert mse_recipe < 1e-6
    assert mse_recipe < mse_plain / 100
