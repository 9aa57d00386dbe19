"""Tests of what happens when things go wrong: failed fits, Ctrl+C, threads, odd
inputs, and where the estimators follow scikit-learn's MLP."""

import copy
import os
import signal
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes, load_digits, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback, EarlyStopping, EpochScoring, GradientNormClipping

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor
from sklearn_freenets._estimators import _BaseFreeNet

ESTIMATORS = [FreeNetClassifier, FreeNetRegressor]
# a round after every epoch, also on these small sets
FAST = dict(
    k=8,
    max_epochs=4,
    n_iter_no_change=np.inf,
    evolve_rounds=60,  # the classifier's default is 0
    evolve_every_batches=None,
    random_state=0,
)
# FAST without FreeEvolve (no schedule option set, so nothing to warn about)
UNEVOLVED = {
    **{key: value for key, value in FAST.items() if key != "evolve_every_batches"},
    "evolve_rounds": 0,
}


@pytest.fixture(autouse=True)
def _quiet_budget():
    # the fixed budgets here reach max_epochs on purpose
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _xy(Estimator, n=120, d=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    if Estimator is FreeNetClassifier:
        return X, np.where(X[:, 0] > 0, "cat", "dog")
    return X, X @ rng.normal(size=d)


def _fitted_state(est):
    """Everything a fitted estimator holds that a failed call must not change."""
    module = est.net_.module_
    params = est.get_params(deep=False)
    return {
        "attributes": {
            key: (value.copy() if isinstance(value, np.ndarray) else value)
            for key, value in vars(est).items()
            if key != "net_" and key not in params
        },
        "net": est.net_,
        "module": {k: v.clone() for k, v in module.state_dict().items()},
        "optimizer": copy.deepcopy(est.net_.optimizer_.state_dict()),
        "history": len(est.net_.history),
        "callbacks": list(est.net_.callbacks_),
    }


def _assert_unchanged(est, before, X):
    after = _fitted_state(est)
    assert after["net"] is before["net"]
    assert set(after["attributes"]) == set(before["attributes"])
    for key, value in before["attributes"].items():
        other = after["attributes"][key]
        if isinstance(value, np.ndarray):
            assert_array_equal(other, value, err_msg=key)
        else:
            assert other is value or other == value, key
    for name, tensor in before["module"].items():
        assert torch.equal(after["module"][name], tensor), name
    groups = [{**g, "params": None} for g in before["optimizer"]["param_groups"]]
    now = after["optimizer"]
    assert [{**g, "params": None} for g in now["param_groups"]] == groups
    assert now["state"].keys() == before["optimizer"]["state"].keys()
    for key, state in before["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.equal(now["state"][key][name], value), (key, name)
    assert after["history"] == before["history"]
    assert after["callbacks"] == before["callbacks"]
    est.predict(X)


# -- a failed fit changes nothing ----------------------------------------------------


def test_failed_refit_keeps_the_fitted_model():
    """Check the issue's reproducer: a refit failing at the split keeps the model."""
    X = np.random.RandomState(0).normal(size=(200, 4))
    y = np.where(X[:, 0] > 0, "cat", "dog")
    clf = FreeNetClassifier(k=8, max_epochs=20, random_state=0).fit(X, y)
    before = _fitted_state(clf)
    expected = clf.predict(X)
    y_new = np.array(["ant", "bee"] * 100, dtype=object)
    y_new[0] = "cow"
    clf.set_params(early_stopping=True)
    with pytest.raises(ValueError, match="too few"):
        clf.fit(X, y_new)
    _assert_unchanged(clf, before, X)
    assert clf.classes_.tolist() == ["cat", "dog"]
    assert_array_equal(clf.predict(X), expected)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_failed_refit_variants(Estimator):
    """Check a refit failing with other features, targets or names keeps the model."""
    pd = pytest.importorskip("pandas")
    X, y = _xy(Estimator)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = Estimator(**FAST).fit(frame, y)
    before = _fitted_state(est)
    bad_weight = np.ones(len(X))
    bad_weight[0] = np.nan
    reordered = frame[["d", "c", "b", "a"]]
    for X_bad, y_bad, w in [
        (reordered, y, bad_weight),  # new column order, then bad weights
        (np.hstack([X, X[:, :3]]), y, np.zeros(len(X))),  # 7 features, no weight
        (frame, np.column_stack([y, y]), -np.ones(len(X))),  # 2 outputs
    ]:
        with pytest.raises(ValueError):
            est.fit(X_bad, y_bad, sample_weight=w)
        _assert_unchanged(est, before, frame)
    if Estimator is FreeNetClassifier:
        with pytest.raises(ValueError, match="only one class"):
            est.fit(X, np.full(len(X), "cat"))
        _assert_unchanged(est, before, frame)


# every step of a fit, in order (see _BaseFreeNet._fit)
STEPS = [
    "_check_params",
    "_validate_input",
    "_split",
    "_training_data",
    "_build",
    "_callbacks",
    "_sync",
    "_train",
    "_bound_activations",
    "_set_fitted_state",
    "_warn_on_stop",
]


class _Injected(Exception):
    pass


class _AtEpoch(Callback):
    """Call ``action()`` at the end of history row ``epoch``."""

    def __init__(self, epoch, action):
        self.epoch = epoch
        self.action = action

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.action()


def _fail():
    raise RuntimeError("a callback failed")


def _ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)


def _stop():
    raise KeyboardInterrupt  # skorch's idiom for "stop training"


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("how", ["refit", "warm_start", "partial_fit"])
def test_failure_at_any_step_leaves_the_model_as_it_was(
    Estimator, step, how, monkeypatch
):
    """Check that an exception after any step of a fit undoes all of it."""
    X, y = _xy(Estimator)
    est = Estimator(**FAST, early_stopping=how != "partial_fit").fit(X, y)
    est.set_params(warm_start=how == "warm_start")
    before = _fitted_state(est)
    original = getattr(_BaseFreeNet, step, None) or getattr(Estimator, step)

    def failing(self, *args, **kwargs):
        original(self, *args, **kwargs)  # the step's own changes happen first
        raise _Injected(step)

    monkeypatch.setattr(Estimator, step, failing)
    call = est.partial_fit if how == "partial_fit" else est.fit
    if how == "partial_fit":
        est.set_params(early_stopping=False)
        before = _fitted_state(est)
    if step == "_build" and how != "refit":
        call(X, y)  # continuing a network builds nothing
        return
    with pytest.raises(_Injected):
        call(X, y)
    _assert_unchanged(est, before, X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_first_fit_that_raised_leaves_the_estimator_unfitted(Estimator, monkeypatch):
    """Check that a failed first fit leaves no fitted state behind."""
    X, y = _xy(Estimator)

    def failing(self, *args, **kwargs):
        raise _Injected

    monkeypatch.setattr(_BaseFreeNet, "_warn_on_stop", failing)
    est = Estimator(**FAST)
    unfitted = dict(vars(est))
    with pytest.raises(_Injected):
        est.fit(X, y)
    assert vars(est) == unfitted
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_failure_during_training_restores_a_continued_network(Estimator):
    """Check that weights, graph, optimizer and history come back after a failure."""
    X, y = _xy(Estimator)
    est = Estimator(**{**FAST, "epsilon": 0.7, "warm_start": True}).fit(X, y)
    before = _fitted_state(est)
    est.set_params(net_params={"callbacks": [_AtEpoch(6, _fail)]})
    est._built_params["net_params"] = est.net_params  # a build parameter
    with pytest.raises(RuntimeError, match="a callback failed"):
        est.fit(X, y)
    _assert_unchanged(est, before, X)


# -- Ctrl+C and callbacks that stop --------------------------------------------------


@pytest.fixture
def _default_sigint():
    """Python's own SIGINT handler for the test, whatever was installed before.

    The estimators tell a Ctrl+C from a callback's stop with a handler of their
    own, installed only over Python's default one; a handler left by something
    else in the process would test the other path (see the next test).
    """
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if before is not None:  # None: a handler not installed from Python
        signal.signal(signal.SIGINT, before)


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="no SIGINT")
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_ctrl_c_aborts_the_fit_and_keeps_the_model(Estimator, _default_sigint):
    """Check that Ctrl+C propagates and leaves a fitted model as it was."""
    X, y = _xy(Estimator)
    est = Estimator(**FAST).fit(X, y)
    before = _fitted_state(est)
    est.set_params(net_params={"callbacks": [_AtEpoch(2, _ctrl_c)]})
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    _assert_unchanged(est, before, X)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # in a search, Ctrl+C stops the search too
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(est, {"k": [4, 8]}, cv=2, error_score=np.nan)
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_ctrl_c_without_our_signal_handler_still_aborts(Estimator, monkeypatch):
    """Check a Ctrl+C where no handler can be installed (a handler of the caller's).

    Then a KeyboardInterrupt counts as a stop only when it leaves a hook of a
    callback that is not this package's; one raised in the training step aborts.
    """
    X, y = _xy(Estimator)
    est = Estimator(**FAST).fit(X, y)
    before = _fitted_state(est)
    calls = {"n": 0}
    original = type(est.net_).train_step

    def interrupted_step(self, batch, **fit_params):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as if Ctrl+C arrived during the step
        return original(self, batch, **fit_params)

    previous = signal.signal(signal.SIGINT, lambda *args: None)
    try:
        monkeypatch.setattr(type(est.net_), "train_step", interrupted_step)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    finally:
        signal.signal(signal.SIGINT, previous)
    _assert_unchanged(est, before, X)


def test_callback_keyboard_interrupt_stops_training():
    """Check that a callback raising KeyboardInterrupt stops training (skorch's way)."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(
        **{**FAST, "max_epochs": 10}, net_params={"callbacks": [_AtEpoch(3, _stop)]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no "max_epochs reached"
        clf.fit(X, y)
    assert clf.n_iter_ == 3


# -- threads and random state --------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_random_state_reproducible_in_threads(Estimator):
    """Check that seeded fits in threads equal the same fits run one by one."""
    X, y = _xy(Estimator, n=300)
    params = dict(k=8, max_epochs=6, batch_size=32, revive_dead=True, epsilon=0.6)
    params.update(n_iter_no_change=np.inf)

    def fit(seed):
        est = Estimator(**params, random_state=seed).fit(X, y)
        return est.loss_curve_, est.predict(X)

    serial = [fit(seed) for seed in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(fit, range(4)))
    for (curve_a, pred_a), (curve_b, pred_b) in zip(serial, threaded, strict=True):
        assert curve_a == curve_b
        assert_array_equal(pred_a, pred_b)


def test_callers_torch_rng_untouched_while_fits_run_in_threads():
    """Check that a fit in another thread neither reads nor moves torch's RNG."""
    X, y = _xy(FreeNetClassifier, n=400)
    done = threading.Event()

    def fits():
        for seed in range(3):
            FreeNetClassifier(k=8, max_epochs=5, batch_size=20, random_state=seed).fit(
                X, y
            )
        done.set()

    torch.manual_seed(123)
    expected = torch.rand(1000)
    torch.manual_seed(123)
    worker = threading.Thread(target=fits)
    worker.start()
    drawn = []
    while not done.is_set():
        state = torch.get_rng_state()
        done.wait(0.005)
        assert torch.equal(torch.get_rng_state(), state)
    worker.join()
    drawn.append(torch.rand(1000))
    assert torch.equal(drawn[0], expected)


# -- MLP semantics -------------------------------------------------------------------


def test_warm_start_with_a_subset_of_the_classes_is_refused():
    """Check the MLP's error for a warm start on other classes."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(**FAST, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="same classes as in the previous call"):
        clf.fit(X[y == "cat"], y[y == "cat"])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_refuses_early_stopping(Estimator):
    """Check that partial_fit with early_stopping=True raises, as the MLP's does."""
    X, y = _xy(Estimator)
    kwargs = {"classes": ["cat", "dog"]} if Estimator is FreeNetClassifier else {}
    with pytest.raises(ValueError, match="partial_fit does not support early_stop"):
        Estimator(k=4, early_stopping=True).partial_fit(X, y, **kwargs)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_validation_set_of_one_row_is_refused(Estimator):
    """Check that a validation split of one row is too small."""
    X, y = _xy(Estimator, n=12)
    est = Estimator(k=4, early_stopping=True, validation_fraction=0.05)
    if Estimator is FreeNetClassifier:
        X, y = X[:10], np.array(["a", "b"] * 5)
        est.set_params(validation_fraction=0.1)
    with pytest.raises(ValueError, match="validation set is too small|too few"):
        est.fit(X, y)


def test_partial_fit_takes_sample_weight_before_classes():
    """Check partial_fit's argument order: (X, y, sample_weight, classes)."""
    X, y = _xy(FreeNetClassifier)
    w = np.ones(len(X))
    a = FreeNetClassifier(k=4, random_state=0).partial_fit(X, y, w, ["cat", "dog"])
    b = FreeNetClassifier(k=4, random_state=0)
    b.partial_fit(X, y, classes=["cat", "dog"], sample_weight=w)
    assert a.loss_curve_ == b.loss_curve_


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_rising_loss_warns(Estimator):
    """Check a ConvergenceWarning when the loss grows without becoming NaN."""
    X, y = _xy(Estimator, n=200)
    est = Estimator(k=16, lr=5.0, max_epochs=15, tol=0.0, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    messages = [str(w.message) for w in caught]
    assert est.loss_curve_[-1] > 10 * est.loss_curve_[0] or any(
        "NaN or infinite" in m for m in messages
    )
    assert any("diverged" in m for m in messages)


def test_early_stopping_keeps_the_best_epoch_with_evolution():
    """Check best_validation_score_ is the best score seen, FreeEvolve or not."""
    X, y = load_digits(return_X_y=True)
    for seed in range(6):
        rng = np.random.RandomState(seed)
        rows = rng.choice(len(X), 100, replace=False)
        clf = FreeNetClassifier(
            k=16, early_stopping=True, validation_fraction=0.3, random_state=seed
        ).fit(X[rows] / 16, y[rows])
        assert clf.best_validation_score_ == max(clf.validation_scores_)
        assert len(clf.validation_scores_) == clf.n_iter_


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fitted_model_keeps_no_held_out_rows(Estimator):
    """Check that early stopping's validation rows are not kept in net_."""
    X, y = _xy(Estimator)
    est = Estimator(**FAST, early_stopping=True).fit(X, y)
    stopping = dict(est.net_.callbacks_)["stopping"]
    assert stopping.validation is None and stopping.best_state_ is None
    assert stopping.score is None


# -- skorch callbacks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "callback", [EpochScoring("accuracy"), EarlyStopping(), ("stop", EarlyStopping())]
)
def test_skorch_callbacks_that_cannot_work_are_refused(callback):
    """Check a clear error for skorch callbacks this training loop cannot serve."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(**FAST, net_params={"callbacks": [callback]})
    with pytest.raises(ValueError, match="must not contain skorch's"):
        clf.fit(X, y)


def test_skorch_gradient_clipping_works():
    """Check that a skorch callback on the gradient runs (clipping at 0 freezes)."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(
        **UNEVOLVED,
        alpha=0.0,
        net_params={
            "callbacks": [GradientNormClipping(0.0)],
            "optimizer": torch.optim.SGD,
        },
    )
    start = FreeNetClassifier(**{**UNEVOLVED, "max_epochs": 1}, lr=1e-30)
    start.fit(X, y)
    clf.fit(X, y)
    for a, b in zip(
        clf.net_.module_.parameters(), start.net_.module_.parameters(), strict=True
    ):
        assert torch.equal(a, b)


# -- input and targets ---------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sparse_input_equals_dense(Estimator):
    """Check that CSR/CSC input fits and predicts as the same dense input."""
    X, y = _xy(Estimator)
    X[np.abs(X) < 0.8] = 0
    dense = Estimator(**FAST).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.csr_array):
        est = Estimator(**FAST).fit(fmt(X), y)
        assert est.loss_curve_ == dense.loss_curve_
        assert_array_equal(est.predict(fmt(X)), dense.predict(X))


def test_sparse_one_hot_pipeline():
    """Check a Pipeline with a sparse OneHotEncoder, as users build them."""
    rng = np.random.RandomState(0)
    cats = rng.choice(["a", "b", "c", "d"], size=(300, 2))
    num = rng.normal(size=(300, 2))
    X = np.empty((300, 4), dtype=object)
    X[:, :2], X[:, 2:] = cats, num
    y = (cats[:, 0] == "a") ^ (num[:, 0] > 0)
    pre = make_column_transformer(
        (OneHotEncoder(), [0, 1]), (StandardScaler(), [2, 3]), sparse_threshold=1.0
    )
    assert sp.issparse(pre.fit_transform(X))
    pipe = make_pipeline(pre, FreeNetClassifier(k=16, random_state=0)).fit(X, y)
    assert pipe.score(X, y) > 0.9


def test_multilabel_classification():
    """Check multilabel targets: sigmoid outputs, indicator predictions, partial_fit."""
    X, Y = make_multilabel_classification(
        n_samples=300, n_features=8, n_classes=4, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    clf = FreeNetClassifier(k=16, random_state=0).fit(X, Y)
    assert_array_equal(clf.classes_, np.arange(4))
    pred = clf.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    assert_array_equal(pred, (proba > 0.5).astype(pred.dtype))
    assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)
    assert (pred == Y).mean() > 0.8
    es = FreeNetClassifier(k=16, early_stopping=True, random_state=0).fit(X, Y)
    assert es.best_validation_score_ == max(es.validation_scores_)
    inc = FreeNetClassifier(k=8, random_state=0)
    inc.partial_fit(X, Y).partial_fit(X, Y)
    assert len(inc.loss_curve_) == 2
    with pytest.raises(ValueError, match="multilabel"):
        inc.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        FreeNetClassifier(k=4).fit(X, np.column_stack([Y[:, 0] * 2 + Y[:, 1], Y[:, 2]]))


# -- numerics ------------------------------------------------------------------------


def test_active_init_in_float32_fits_as_in_float64():
    """Check init="active" at the default float32 (was R^2 about -8e7)."""
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    scores = {}
    for dtype in ("float32", "float64"):
        for skip in (False, True):
            reg = FreeNetRegressor(
                k=32, max_epochs=30, init="active", dtype=dtype, skip=skip
            )
            reg.set_params(random_state=0)
            scores[dtype, skip] = r2_score(y, reg.fit(X, y).predict(X))
    for skip in (False, True):
        assert scores["float32", skip] > 0.45
        assert abs(scores["float32", skip] - scores["float64", skip]) < 0.05


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_set_params_dtype_does_not_change_a_fitted_model(Estimator):
    """Check that predictions follow the fitted network's dtype, not dtype's value."""
    X, y = _xy(Estimator)
    est = Estimator(**FAST).fit(X, y)
    expected = est.predict(X)
    est.set_params(dtype="float64")
    assert_array_equal(est.predict(X), expected)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("scale", [1e-300, 1e-30, 1e40, 1e300])
def test_sample_weight_scale_does_not_matter(Estimator, scale):
    """Check that uniform weights of any size fit exactly as no weights."""
    X, y = _xy(Estimator)
    est = Estimator(**FAST).fit(X, y, sample_weight=np.full(len(X), scale))
    ref = Estimator(**FAST).fit(X, y)
    assert est.loss_curve_ == ref.loss_curve_
    assert est.evolution_history_[0]["n_edges"] == ref.evolution_history_[0]["n_edges"]


@pytest.mark.parametrize("param", ["k", "max_epochs", "evolve_rounds", "batch_size"])
def test_boolean_counts_are_refused(param):
    """Check that True is not taken for 1 (k=True gave a numpy TypeError)."""
    X, y = _xy(FreeNetClassifier)
    with pytest.raises(InvalidParameterError, match=param):
        FreeNetClassifier(**{param: True}).fit(X, y)


def test_rule_returning_nan_is_refused():
    """Check that a callable rule's NaN output is an error, not an edge."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(**FAST, rule=lambda G, stats, eps: np.full(G.shape, np.nan))
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X, y)
    ok = FreeNetClassifier(
        **FAST, rule=lambda G, stats, eps: np.tril(np.ones(G.shape), -1)
    )
    assert ok.fit(X, y).n_edges_ == 8 * 7 // 2


def test_non_finite_predictions_warn():
    """Check that predictions that overflow are not returned without a word."""
    X, y = _xy(FreeNetRegressor)
    reg = FreeNetRegressor(**UNEVOLVED, initial_graph="dense").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg.predict(X)
    reg.net_.module_.decoder.weight.data[:] = torch.inf
    with pytest.warns(RuntimeWarning, match=r"NaN or infinite for \d of 2 samples"):
        reg.predict(np.vstack([np.zeros((1, 4)), np.full((1, 4), 1e30)]))


def test_squared_relu_stays_bounded_outside_the_training_range():
    """Check the issue's diabetes split: no NaN, bounded, training rows unchanged."""
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=3)
    reg = make_pipeline(
        StandardScaler(),
        FreeNetRegressor(
            initial_graph="dense",
            evolve_rounds=0,
            activation="squared_relu",
            early_stopping=False,  # every row trains: the caps are their maxima
            random_state=0,
        ),
    ).fit(X_tr, y_tr)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        pred = reg.predict(X_te)
    assert np.isfinite(pred).all()
    assert np.abs(pred).max() < 2 * np.abs(y).max()  # was 11,685 and NaN
    assert r2_score(y_te, pred) > -0.5  # was -238 on the finite rows
    # the caps are the training maxima: the training rows are predicted as by
    # the network without them
    net = reg[-1].net_.module_
    with torch.no_grad():
        rows = torch.as_tensor(reg[0].transform(X_tr), dtype=torch.float32)
        raw = net(rows).numpy().ravel() * reg[-1]._y_scale + reg[-1]._y_mean
    assert_allclose(reg.predict(X_tr), raw, rtol=1e-4, atol=1e-3)


# -- the training protocol -----------------------------------------------------------


@pytest.mark.parametrize(
    "params, reason",
    [
        (dict(max_epochs=3), "max_epochs"),
        (dict(max_epochs=200, tol=10.0, n_iter_no_change=2), "converged"),
        (dict(max_epochs=50, lr=1e6, activation="squared_relu"), "diverged"),
        (
            dict(max_epochs=10, net_params={"callbacks": [_AtEpoch(2, _stop)]}),
            "callback",
        ),
    ],
)
def test_training_result_says_why_training_stopped(params, reason, monkeypatch):
    """Check the typed result of a training run: why and when it stopped."""
    results = []
    original = _BaseFreeNet._train

    def recording(self, *args, **kwargs):
        results.append(original(self, *args, **kwargs))
        return results[-1]

    monkeypatch.setattr(_BaseFreeNet, "_train", recording)
    X, y = _xy(FreeNetRegressor)
    reg = FreeNetRegressor(
        k=8, evolve_rounds=0, early_stopping=False, random_state=0, **params
    )
    reg.fit(X, y)
    (result,) = results
    assert result.stop_reason == reason
    assert result.epochs == reg.n_iter_ == len(reg.loss_curve_)
    if reason == "max_epochs":
        assert result.stopped_epoch is None
    else:
        assert result.stopped_epoch == reg.n_iter_
    assert (result.diverged_epoch is not None) == (reason == "diverged")
