# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the training loop: stopping, early stopping, batch size, target
standardisation, sample weights, threads, warm-start changes, validation isolation."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import cross_validate, train_test_split
from sklearn.utils import check_random_state
from skorch.callbacks import Callback
from threadpoolctl import threadpool_info

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor

ESTIMATORS = [FreeNetClassifier, FreeNetRegressor]


def _xy(Estimator, n=300, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    if Estimator is FreeNetClassifier:
        return X, (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int)
    return X, X @ rng.normal(size=d) + np.sin(2 * X[:, 0])


class _Record(Callback):
    """Record torch's thread count and the hooks that ran (a user callback)."""

    def initialize(self):
        self.calls_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.calls_.append("begin")

    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())
        net.history.record("blas_threads", _blas_threads())

    def on_train_end(self, net, **kwargs):
        self.calls_.append("end")


def _blas_threads():
    """The largest BLAS thread count of the loaded BLAS libraries."""
    return max(
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    )


def _stopping_epochs(est):
    """Epochs of the last fit's stopping run (before any finish or polish)."""
    rows = list(est.net_.history)[len(est.loss_curve_) - est.n_iter_ :]
    return sum(1 for row in rows if row.get("phase") is None)


def _fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# -- defaults -----------------------------------------------------------------------


def _mlp_stop_epoch(scores, tol, n_iter_no_change):
    """Replay the MLP's rule on validation scores: the epoch (1-based) at which
    more than ``n_iter_no_change`` epochs in a row have failed to beat the best
    score by ``tol``, or None."""
    best, count = -np.inf, 0
    for epoch, score in enumerate(scores, start=1):
        count = count + 1 if score < best + tol else 0
        best = max(best, score)
        if count > n_iter_no_change:
            return epoch
    return None


def test_iris_with_defaults():
    """Check that the defaults at k=8 learn iris (the MLP's defaults reach 0.98)."""
    X, y = load_iris(return_X_y=True)
    clf = _fit_quietly(FreeNetClassifier(k=8, random_state=0), X, y)
    assert clf.score(X, y) >= 0.95


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_auto_batch_size(Estimator):
    """Check that batch_size='auto' is min(200, n_samples), an int is capped at n."""
    X, y = _xy(Estimator, n=300)
    params = dict(k=4, max_epochs=1, early_stopping=False, random_state=0)
    assert _fit_quietly(Estimator(**params), X, y).net_.batch_size == 200
    assert _fit_quietly(Estimator(**params), X[:150], y[:150]).net_.batch_size == 150
    est = _fit_quietly(Estimator(**params, batch_size=64), X, y)
    assert est.net_.batch_size == 64
    assert (
        _fit_quietly(Estimator(**params, batch_size=999), X, y).net_.batch_size == 300
    )


# -- stopping -----------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_stops_when_loss_stops_improving(Estimator):
    """Check the MLP's rule: stop after more than n_iter_no_change idle epochs."""
    X, y = _xy(Estimator)
    est = Estimator(
        k=8, lr=1e-2, tol=1e-3, n_iter_no_change=4, early_stopping=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    curve = est.loss_curve_
    assert est.n_iter_ == len(curve) < est.max_epochs
    changed = {r["epoch"] for r in est.evolution_history_ if r["changed"]}
    # replay the rule: the MLP's, the count restarting after each graph change
    best, count, stop = np.inf, 0, None
    for epoch, loss in enumerate(curve, start=1):
        count = count + 1 if loss > best - est.tol else 0
        if epoch in changed:
            count = 0
        best = min(best, loss)
        if count > est.n_iter_no_change:
            stop = epoch
            break
    assert stop == est.n_iter_
    assert est.best_loss_ == min(curve)
    assert est.validation_scores_ is None and est.best_validation_score_ is None


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_cap_reached_warns_also_with_fixed_budget(Estimator):
    """Check the ConvergenceWarning at the cap, with n_iter_no_change=inf too.

    scikit-learn's MLP warns whenever max_iter ends training; so do we.
    """
    X, y = _xy(Estimator)
    with pytest.warns(ConvergenceWarning, match="max_epochs=3 reached"):
        est = Estimator(k=8, max_epochs=3, random_state=0).fit(X, y)
    assert _stopping_epochs(est) == 3
    with pytest.warns(ConvergenceWarning, match="n_iter_no_change=np.inf never"):
        est = Estimator(
            k=8, max_epochs=25, n_iter_no_change=np.inf, tol=1.0, random_state=0
        ).fit(X, y)
    assert _stopping_epochs(est) == 25


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_count_restarts_after_each_graph_change(Estimator):
    """Check that training stops n_iter_no_change + 1 epochs after the last change.

    tol=1: no epoch after the first improves, so only the rounds that changed the
    graph hold training back; the MLP would stop after epoch 4.
    """
    X, y = _xy(Estimator)
    est = Estimator(
        k=8,
        tol=1.0,
        n_iter_no_change=2,
        evolve_every=3,
        evolve_every_batches=None,
        evolve_rounds=4,
        epsilon=0.9,  # wire pairs whose activities correlate above 0.1
        initial_graph="empty",
        early_stopping=False,
        random_state=0,
    ).fit(X, y)
    changed = [r["epoch"] for r in est.evolution_history_ if r["changed"]]
    assert changed and changed[-1] >= 3  # rounds after epochs 3, 6, ...
    assert _stopping_epochs(est) == changed[-1] + 3 > 4


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_validated_stopping_ignores_graph_changes(Estimator):
    """Check that with held-out rows the count goes on through graph changes.

    The held-out score judges the graph as it does the weights: the fit stops
    where the MLP's rule, replayed on its validation scores, stops, although
    rounds changed the graph on the way (they would have held it back without
    validation, the test above).
    """
    X, y = _xy(Estimator)
    est = _fit_quietly(
        Estimator(
            k=8,
            tol=1e-3,
            n_iter_no_change=2,
            evolve_every=1,
            evolve_every_batches=None,
            evolve_rounds=40,
            epsilon=0.9,
            initial_graph="empty",
            early_stopping=True,
            random_state=0,
        ),
        X,
        y,
    )
    changed = {r["epoch"] for r in est.evolution_history_ if r["changed"]}
    scores = est.validation_scores_
    stop = _mlp_stop_epoch(scores, est.tol, est.n_iter_no_change)
    assert stop == _stopping_epochs(est) < est.max_epochs
    assert changed & set(range(stop - est.n_iter_no_change, stop + 1))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_unchanged_rounds_do_not_hold_training(Estimator):
    """Check that rounds that change nothing let training stop as the MLP's does,
    before evolution settles."""
    X, y = _xy(Estimator)
    est = Estimator(
        k=8,
        tol=1.0,
        n_iter_no_change=2,
        evolve_every=1,
        evolve_every_batches=None,
        evolve_rounds=10,
        evolve_patience=10,
        epsilon=1e-3,  # nothing co-fires on 99.9 % of the rows: no change
        initial_graph="empty",
        random_state=0,
    ).fit(X, y)
    assert not any(r["changed"] for r in est.evolution_history_)
    assert _stopping_epochs(est) == 4
    last = [row for row in est.net_.history if row.get("phase") is None][-1]
    assert not last["evolution_settled"]


@pytest.mark.parametrize("epochs, rounds", [(45, 2), (100, 3)])
def test_rounds_keep_their_minibatches_apart_on_small_data(epochs, rounds):
    """Check the spacing of rounds when an epoch is one mini-batch.

    With evolve_every_batches=20 a round runs every 20 epochs, and at most as many
    as fit in the schedule's evolve_rounds * evolve_every = 60 epochs.
    """
    X, y = _xy(FreeNetClassifier, n=150)
    clf = FreeNetClassifier(
        k=8,
        epsilon=0.5,
        max_epochs=epochs,
        n_iter_no_change=np.inf,
        evolve_rounds=60,
        evolve_patience=5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.net_.batch_size >= 150  # one mini-batch per epoch
    assert [r["epoch"] for r in clf.evolution_history_] == [20, 40, 60][:rounds]
    assert clf.net_.history[-1]["evolution_settled"] == (rounds == 3)


def test_rounds_within_an_epoch_listen_to_the_first_epoch_only(monkeypatch):
    """The rounds after every 20th mini-batch run in the first epoch only, so
    FreeEvolve's batch hook is not called in later epochs (it would cost every
    step of the fit a call of every callback's batch hooks)."""
    from sklearn_freenets._evolve import EarlyFreeEvolve

    calls = []
    original = EarlyFreeEvolve.on_batch_end

    def spy(self, net, **kwargs):
        calls.append(len(net.history))
        return original(self, net, **kwargs)

    monkeypatch.setattr(EarlyFreeEvolve, "on_batch_end", spy)
    X, y = _xy(FreeNetRegressor, n=1000)
    reg = FreeNetRegressor(
        k=8,
        batch_size=20,  # 50 mini-batches an epoch: two rounds within the first
        max_epochs=4,
        n_iter_no_change=np.inf,
        evolve_rounds=60,
        early_stopping=False,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert calls == [1] * 50
    early = reg.net_.history[0].get("free_evolve_early", [])
    assert [r["batch"] for r in early] == [20, 40]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_early_stopping_restores_best_validation_weights(Estimator):
    """Check validation_scores_, best_validation_score_ and the restored weights."""
    X, y = _xy(Estimator, n=400)
    est = _fit_quietly(
        Estimator(k=8, tol=1e-2, early_stopping=True, evolve_rounds=0, random_state=0),
        X,
        y,
    )
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ < est.max_epochs and est.best_loss_ is None
    assert est.best_validation_score_ == max(scores)
    assert _mlp_stop_epoch(scores, est.tol, est.n_iter_no_change) == est.n_iter_
    # the restored weights score best_validation_score_ on the held-out rows
    seed = check_random_state(0).randint(np.iinfo(np.int32).max)
    stratify = y if Estimator is FreeNetClassifier else None
    _, val = train_test_split(
        np.arange(len(X)),
        test_size=est.validation_fraction,
        stratify=stratify,
        random_state=seed,
    )
    assert_allclose(est.score(X[val], y[val]), est.best_validation_score_, rtol=1e-5)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_early_stopping_auto_holds_out_rows_only_when_it_can(Estimator):
    """Check "auto": as True from 10 held-out rows on, else exactly as False
    (the classifier's "auto" scores another quantity: see the next test)."""
    X, y = _xy(Estimator, n=200)
    params = dict(
        k=8,
        early_stopping="auto",
        validation_fraction=0.25,
        evolve_rounds=0,
        max_epochs=30,
        random_state=0,
    )
    auto = _fit_quietly(Estimator(**params), X, y)
    on = _fit_quietly(Estimator(**{**params, "early_stopping": True}), X, y)
    assert auto.validation_scores_ is not None
    if Estimator is FreeNetRegressor:
        assert auto.validation_scores_ == on.validation_scores_
        # the same stopping run, then the finish on every row (True does not finish)
        assert auto.loss_curve_[: on.n_iter_] == on.loss_curve_
        assert auto.n_iter_ > on.n_iter_ == len(on.validation_scores_)
    # 37 rows hold out ceil(9.25) = 10, 36 rows 9: too few, every row trains
    assert _fit_quietly(Estimator(**params), X[:37], y[:37]).validation_scores_
    small = _fit_quietly(Estimator(**params), X[:36], y[:36])
    off = _fit_quietly(Estimator(**{**params, "early_stopping": False}), X[:36], y[:36])
    assert small.validation_scores_ is None and small.best_loss_ is not None
    assert small.loss_curve_ == off.loss_curve_
    # keep_best chooses the weights itself, and partial_fit never holds rows out:
    # "auto" yields to both instead of refusing them as True does
    best = _fit_quietly(Estimator(**params, keep_best=True), X, y)
    assert best.validation_scores_ is None
    with pytest.raises(ValueError, match="keep_best=True and early_stopping=True"):
        Estimator(**{**params, "early_stopping": True}, keep_best=True).fit(X, y)
    extra = {"classes": np.unique(y)} if Estimator is FreeNetClassifier else {}
    assert Estimator(**params).partial_fit(X, y, **extra).validation_scores_ is None


def test_classifier_auto_stops_on_the_held_out_log_loss():
    """Check that the classifier's "auto" scores the held-out rows' log-loss,
    negated, where True scores their accuracy: after one epoch both runs hold the
    same weights, and "auto"'s score is minus their log-loss on those rows."""
    X, y = _xy(FreeNetClassifier, n=200)
    params = dict(k=8, validation_fraction=0.25, evolve_rounds=0, random_state=0)
    params.update(max_epochs=1, n_iter_no_change=np.inf)
    auto = _fit_quietly(FreeNetClassifier(**params, early_stopping="auto"), X, y)
    on = _fit_quietly(FreeNetClassifier(**params, early_stopping=True), X, y)
    seed = check_random_state(0).randint(np.iinfo(np.int32).max)
    _, val = train_test_split(
        np.arange(len(X)), test_size=0.25, stratify=y, random_state=seed
    )
    (score,) = auto.validation_scores_
    assert score == pytest.approx(-log_loss(y[val], on.predict_proba(X[val])), rel=1e-5)
    assert on.validation_scores_ == [on.score(X[val], y[val])]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_early_stopping_auto_finishes_on_every_row(Estimator):
    """Check "auto"'s finish: the best network of the stopping run trains on all
    rows for a fifth of its epochs, exactly as a warm start without stopping."""
    X, y = _xy(Estimator, n=150)  # one batch: the order of the rows is moot
    params = dict(k=8, validation_fraction=0.2, evolve_rounds=0, random_state=0)
    params.update(max_epochs=60, n_iter_no_change=3, tol=1e-2)
    auto = _fit_quietly(Estimator(**params, early_stopping="auto"), X, y)
    stop = len(auto.validation_scores_)
    best = int(np.argmax(auto.validation_scores_)) + 1
    assert stop < 60 and stop >= best  # it stopped, at or after its best epoch
    finish = int(np.ceil(0.2 * best))
    phases = [row.get("phase") for row in auto.net_.history]
    assert phases == [None] * stop + ["finish"] * finish
    assert auto.n_iter_ == len(auto.loss_curve_) == stop + finish
    assert auto.best_validation_score_ == max(auto.validation_scores_)
    if Estimator is FreeNetRegressor:  # True scores as "auto" does: the same run
        assert stop > best  # so the restored weights are not the last ones
        on = _fit_quietly(Estimator(**params, early_stopping=True), X, y)
        assert auto.validation_scores_ == on.validation_scores_
        on.set_params(warm_start=True, early_stopping=False, max_epochs=finish)
        _fit_quietly(on, X, y)
        assert auto.loss_curve_ == on.loss_curve_
        assert_array_equal(auto.predict(X), on.predict(X))
    # polish epochs follow the finish
    polished = _fit_quietly(
        Estimator(**params, early_stopping="auto", polish_epochs=2), X, y
    )
    phases = [row.get("phase") for row in polished.net_.history]
    assert phases[-finish - 2 :] == ["finish"] * finish + ["polish"] * 2


def test_finish_goes_on_at_the_annealed_rate():
    """Check that "auto"'s finish after a cosine schedule keeps its last rate."""
    X, y = _xy(FreeNetRegressor, n=150)
    reg = _fit_quietly(
        FreeNetRegressor(
            k=8,
            lr_schedule="cosine",
            max_epochs=20,
            n_iter_no_change=np.inf,
            evolve_rounds=0,
            random_state=0,
        ),
        X,
        y,
    )
    rates = [row["lr"] for row in reg.net_.history if "lr" in row]
    assert len(rates) == 20 and rates[-1] < 0.05 * reg.lr_  # annealed
    assert reg.net_.history[-1]["phase"] == "finish"
    assert reg.net_.optimizer_.param_groups[0]["lr"] == rates[-1]


def test_early_stopping_auto_without_a_stratified_split():
    """Check that "auto" trains on every row when no stratified split exists."""
    X, _ = _xy(FreeNetClassifier, n=80)
    y = np.r_[np.zeros(40), np.ones(39), 2].astype(int)  # class 2: a single row
    params = dict(k=4, validation_fraction=0.25, max_epochs=5, random_state=0)
    with pytest.raises(ValueError, match="too few for a validation set"):
        FreeNetClassifier(**params, early_stopping=True).fit(X, y)
    clf = _fit_quietly(FreeNetClassifier(**params, early_stopping="auto"), X, y)
    assert clf.validation_scores_ is None
    assert (
        clf.loss_curve_
        == _fit_quietly(
            FreeNetClassifier(**params, early_stopping=False), X, y
        ).loss_curve_
    )


def test_regressor_stops_on_held_out_rows_by_default():
    """Check the regressor's default: 20 % held out when 10 rows can be."""
    X, y = _xy(FreeNetRegressor, n=100)
    reg = _fit_quietly(FreeNetRegressor(k=8, max_epochs=20, random_state=0), X, y)
    assert reg.early_stopping == "auto" and reg.validation_fraction == 0.2
    assert len(reg.validation_scores_) == _stopping_epochs(reg) < reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert FreeNetClassifier().early_stopping is False


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_held_out_rows_train_nothing(Estimator):
    """Check that changing only held-out rows leaves all of training unchanged."""
    X, y = _xy(Estimator, n=400)
    seed = check_random_state(0).randint(np.iinfo(np.int32).max)
    stratify = y if Estimator is FreeNetClassifier else None
    _, val = train_test_split(
        np.arange(len(X)), test_size=0.2, stratify=stratify, random_state=seed
    )
    X2, y2 = X.copy(), y.astype(float).copy()
    X2[val] += 3.0
    if Estimator is FreeNetRegressor:
        y2[val] = 1e4
    params = dict(
        k=8,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=np.inf,
        max_epochs=12,
        evolve_rounds=60,
        evolve_every=2,
        epsilon=0.5,
        keep_best=False,
        random_state=0,
    )
    extra = {"init": "active", "activation": "squared_relu", "skip": True}
    if Estimator is FreeNetRegressor:
        params.update(extra)
    a = Estimator(**params).fit(X, y)
    b = Estimator(**params).fit(X2, y2 if Estimator is FreeNetRegressor else y)
    assert a.loss_curve_ == b.loss_curve_
    assert len(a.evolution_history_) >= 1
    for ra, rb in zip(a.evolution_history_, b.evolution_history_, strict=True):
        assert_array_equal(ra["ncam"], rb["ncam"])
        assert ra["n_activity_samples"] == len(X) - len(val)
    assert a.validation_scores_ != b.validation_scores_
    if Estimator is FreeNetRegressor:
        assert_allclose(a._y_mean, np.mean(np.delete(y, val)))


def test_keep_best_and_early_stopping_rejected():
    """Check that two rules choosing the kept weights cannot both be set."""
    X, y = _xy(FreeNetClassifier)
    with pytest.raises(ValueError, match="keep_best=True and early_stopping=True"):
        FreeNetClassifier(k=4, keep_best=True, early_stopping=True).fit(X, y)


def test_early_stopping_too_few_samples():
    """Check a clear error when the validation split cannot be stratified."""
    X, _ = _xy(FreeNetClassifier, n=10)
    y = np.arange(10) % 3  # one held-out row cannot hold 3 classes
    with pytest.raises(ValueError, match="too few for a validation set"):
        FreeNetClassifier(k=4, early_stopping=True).fit(X, y)


# -- regression targets -------------------------------------------------------------


def test_targets_standardised_and_mapped_back():
    """Check that affine target changes change predictions the same way."""
    X, y = _xy(FreeNetRegressor)
    params = dict(
        k=8,
        max_epochs=30,
        n_iter_no_change=np.inf,
        early_stopping=False,
        random_state=0,
    )
    base = FreeNetRegressor(**params).fit(X, y)
    big = FreeNetRegressor(**params).fit(X, 5000.0 * y + 1e5)
    assert_allclose(big.predict(X), 5000.0 * base.predict(X) + 1e5, rtol=1e-4)
    assert_allclose(base.loss_curve_, big.loss_curve_, rtol=1e-3)
    # multi-output: each target on its own scale
    Y = np.c_[y, 1e4 * (X[:, 1] - X[:, 2])]
    multi = FreeNetRegressor(**params).fit(X, Y)
    assert_allclose(multi._y_scale, Y.std(axis=0), rtol=1e-6)
    assert multi.score(X, Y) > 0.0
    raw = FreeNetRegressor(**params, standardize_targets=False).fit(X, 5000.0 * y)
    assert raw.loss_curve_[0] > 1e5 * big.loss_curve_[0]


def test_heavy_tailed_big_targets_learn():
    """Check that targets in the thousands with heavy tails train with defaults."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 6))
    y = 1000 * (np.sign(X[:, 0]) * np.abs(X[:, 0]) ** 1.5 + X[:, 1] * X[:, 2])
    y += 1000 * rng.standard_t(3, size=len(y)) * 0.1
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    reg = _fit_quietly(FreeNetRegressor(k=32, random_state=0), X_tr, y_tr)
    assert reg.score(X_te, y_te) > 0.8


# -- sample weights -----------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sample_weight_matters_and_zero_removes(Estimator):
    """Check that weights change the fit and weight 0 equals removing the row."""
    X, y = _xy(Estimator, n=150)
    params = dict(k=6, max_epochs=20, n_iter_no_change=np.inf, random_state=0)
    w = np.ones(len(X))
    w[:40] = 0.0
    a = Estimator(**params).fit(X, y, sample_weight=w)
    b = Estimator(**params).fit(X[40:], y[40:])
    assert_array_equal(a.predict(X), b.predict(X))
    w = np.random.RandomState(1).uniform(0.1, 5, size=len(X))
    c = Estimator(**params).fit(X, y, sample_weight=w)
    d = Estimator(**params).fit(X, y)
    assert c.loss_curve_ != d.loss_curve_


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sample_weight_mini_batches_and_partial_fit(Estimator):
    """Check weighted mini-batch training and weighted partial_fit."""
    X, y = _xy(Estimator, n=600)
    w = np.where(X[:, 0] > 0, 3.0, 1.0)
    est = Estimator(k=6, max_epochs=5, n_iter_no_change=np.inf, random_state=0)
    est.fit(X, y, sample_weight=w)
    assert est.net_.batch_size == 200 and _stopping_epochs(est) == 5
    kwargs = {"classes": [0, 1]} if Estimator is FreeNetClassifier else {}
    inc = Estimator(k=6, random_state=0).partial_fit(X, y, sample_weight=w, **kwargs)
    inc.partial_fit(X, y, sample_weight=w)
    assert inc.n_iter_ == 1 and len(inc.loss_curve_) == 2
    with pytest.raises(ValueError, match="non-zero"):
        Estimator(k=4).fit(X, y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match="Negative values"):
        Estimator(k=4).fit(X, y, sample_weight=-w)


# -- threads ------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_threads_chosen_and_restored(Estimator):
    """Check n_threads='auto' (one thread when small), an override, and restoring."""
    X, y = _xy(Estimator)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        est = Estimator(
            k=8, max_epochs=2, net_params={"callbacks": [("record", _Record())]}
        )
        blas = _blas_threads()
        _fit_quietly(est, X, y)
        assert {row["torch_threads"] for row in est.net_.history} == {1}
        assert {row["blas_threads"] for row in est.net_.history} == {1}
        assert torch.get_num_threads() == 2
        assert _blas_threads() == blas
        _fit_quietly(est.set_params(n_threads=2), X, y)
        assert {row["torch_threads"] for row in est.net_.history} == {2}
        est.predict(X)
        assert torch.get_num_threads() == 2
        # a large problem (56 million multiply-adds a batch) keeps the caller's
        Xw = np.random.RandomState(0).normal(size=(256, 784))
        yw = y[:256] if Estimator is FreeNetClassifier else Xw[:, 0]
        big = Estimator(k=300, max_epochs=1, net_params=est.net_params)
        _fit_quietly(big, Xw, yw)
        assert {row["torch_threads"] for row in big.net_.history} == {2}
        torch.set_num_threads(1)
        _fit_quietly(big, Xw, yw)
        assert {row["torch_threads"] for row in big.net_.history} == {1}
    finally:
        torch.set_num_threads(before)


def test_threads_in_loky_workers():
    """Check that fits in joblib's workers use at most their share of the cores."""
    X = np.random.RandomState(0).normal(size=(512, 784))
    y = (X[:, 0] > 0).astype(int)
    est = FreeNetClassifier(
        k=300, max_epochs=1, net_params={"callbacks": [("record", _Record())]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = cross_validate(est, X, y, cv=2, n_jobs=2, return_estimator=True)
    share = max(1, torch.multiprocessing.cpu_count() // 2)
    for fitted in res["estimator"]:
        assert {row["torch_threads"] for row in fitted.net_.history} <= set(
            range(1, share + 1)
        )


# -- warm start: every parameter honoured or rejected -------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_warm_start_honours_changed_parameters(Estimator, capsys):
    """Check that each parameter changed between warm fits takes effect."""
    X, y = _xy(Estimator)
    est = Estimator(
        k=8,
        max_epochs=4,
        n_iter_no_change=np.inf,
        evolve_every=1,
        evolve_rounds=1,
        epsilon=0.5,
        initial_graph="empty",
        keep_best=True,
        early_stopping=False,
        warm_start=True,
        random_state=0,
    ).fit(X, y)
    assert "keep_best" in dict(est.net_.callbacks_)

    def second(**params):
        n = len(est.net_.history)
        est.set_params(**params).fit(X, y)
        return est.net_.history[n:]

    rows = second(lr=0.05, alpha=0.01, batch_size=32, max_epochs=3, keep_best=False)
    group = est.net_.optimizer_.param_groups[0]
    assert group["lr"] == 0.05 and group["weight_decay"] == 0.01
    assert est.net_.batch_size == 32 and len(rows) == 3
    assert "keep_best" not in dict(est.net_.callbacks_)
    rows = second(evolve_rounds=2, evolve_max_samples=50, epsilon=0.6)
    rounds = [row["free_evolve"] for row in rows if "free_evolve" in row]
    assert 1 <= len(rounds) <= 2
    assert all(r["n_activity_samples"] == 50 for r in rounds)
    rows = second(lr_schedule="cosine", evolve_rounds=0)
    assert [row["lr"] for row in rows][0] == pytest.approx(0.05)
    assert rows[-1]["lr"] < 0.05
    rows = second(early_stopping=True, validation_fraction=0.3, lr_schedule="constant")
    assert len(est.validation_scores_) == len(rows) == 3
    rows = second(early_stopping=False, verbose=1, polish_epochs=2)
    assert [row.get("phase") for row in rows][-2:] == ["polish", "polish"]
    assert "5/5" in capsys.readouterr().err  # 3 epochs and 2 polish epochs
    rows = second(tol=10.0, n_iter_no_change=1, verbose=0, polish_epochs=0)
    assert len(rows) == 3  # the first epoch sets the best; 2 idle ones are > 1


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "change",
    [
        {"k": 5},
        {"activation": "tanh"},
        {"skip": True},
        {"initial_graph": "dense"},
        {"init": "active"},
        {"dtype": "float64"},
        {"net_params": {"optimizer": torch.optim.SGD}},
    ],
)
def test_warm_start_rejects_build_changes(Estimator, change):
    """Check that changing what shapes the network fails clearly on a warm fit."""
    X, y = _xy(Estimator)
    est = Estimator(
        k=4, max_epochs=1, initial_graph="empty", warm_start=True, random_state=0
    )
    _fit_quietly(est, X, y)
    weights = est.net_.module_.encoder.weight.detach().clone()
    name = next(iter(change))
    with pytest.raises(ValueError, match=rf"\['{name}'\] changed since it was built"):
        est.set_params(**change).fit(X, y)
    assert torch.equal(est.net_.module_.encoder.weight.detach(), weights)
    kwargs = {"classes": [0, 1]} if Estimator is FreeNetClassifier else {}
    with pytest.raises(ValueError, match="changed since it was built"):
        est.partial_fit(X, y, **kwargs)


def test_warm_start_rejects_standardize_targets_change():
    """Check that switching target standardisation on a warm fit fails clearly."""
    X, y = _xy(FreeNetRegressor)
    est = _fit_quietly(FreeNetRegressor(k=4, max_epochs=1, warm_start=True), X, y)
    with pytest.raises(ValueError, match="standardize_targets"):
        est.set_params(standardize_targets=False).fit(X, y)


# -- net_params and hooks -----------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "key",
    ["module", "criterion", "train_split", "lr", "batch_size", "module__k", "dataset"],
)
def test_net_params_cannot_override_the_estimator(Estimator, key):
    """Check that net_params keys that would replace the estimator's set-up fail."""
    X, y = _xy(Estimator)
    with pytest.raises(ValueError, match=f"net_params must not set '{key}'"):
        Estimator(k=4, net_params={key: None}).fit(X, y)


def test_divergence_still_ends_training_run():
    """Check that a diverged fit stops through skorch's interruption path."""
    X, y = _xy(FreeNetRegressor)
    record = _Record()
    reg = FreeNetRegressor(
        k=16,
        activation="squared_relu",
        initial_graph="dense",
        lr=10.0,
        standardize_targets=False,
        random_state=0,
        net_params={"callbacks": [("record", record)]},
    )
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg.fit(X * 100, y * 1e3)
    assert dict(reg.net_.callbacks_)["record"].calls_ == ["begin", "end"]
    assert reg.n_iter_ < 20


def test_epochs_do_not_keep_copies_of_the_data_alive():
    """Check that no reference cycle keeps an epoch's permuted copy of X alive.

    With the garbage collector off, a cycle through a training step (a closure
    that referred to itself) kept one copy of the data per epoch in memory.
    """
    import gc

    from skorch.callbacks import Callback

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 7)).astype(np.float32)
    y = rng.integers(0, 2, size=600)
    alive = []

    class CountCopies(Callback):
        def on_epoch_end(self, net, **kwargs):
            alive.append(
                sum(
                    1
                    for o in gc.get_objects()
                    if torch.is_tensor(o) and o._base is None and o.shape == X.shape
                )
            )

    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        FreeNetClassifier(
            k=4,
            max_epochs=4,
            batch_size=50,
            n_iter_no_change=np.inf,
            random_state=0,
            net_params={"callbacks": [CountCopies()]},
        ).fit(X, y)
    finally:
        if enabled:
            gc.enable()
    assert alive == [1, 1, 1, 1]  # the training data itself, no epoch copy


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_evolution_options_without_rounds_warn(Estimator):
    """Check that FreeEvolve options set with evolve_rounds=0 are not ignored
    silently (the classifier's default), and that the defaults do not warn."""
    X, y = _xy(Estimator, n=60)
    params = dict(k=4, max_epochs=2, evolve_rounds=0, random_state=0)
    with pytest.warns(UserWarning, match="rule, epsilon are set, but evolve_rounds=0"):
        _fit_quietly(Estimator(**params, rule="rigl", epsilon=0.1), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _fit_quietly(Estimator(**params), X, y)
        _fit_quietly(Estimator(**{**params, "evolve_rounds": 2}, rule="rigl"), X, y)
    assert FreeNetClassifier().evolve_rounds == 0
    assert FreeNetRegressor().evolve_rounds == 60
    if Estimator is FreeNetClassifier:
        with pytest.warns(UserWarning, match="set evolve_rounds, for example to 60"):
            _fit_quietly(Estimator(k=4, max_epochs=2, epsilon=0.5), X, y)
