# SPDX-License-Identifier: BSD-3-Clause
"""Tests of FreeNetClassifier and FreeNetRegressor beyond scikit-learn's checks."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor

ESTIMATORS = [FreeNetClassifier, FreeNetRegressor]
# A fixed budget of 5 epochs (no convergence stop), 2 rounds after epochs 1 and 2.
FAST = dict(
    k=8,
    max_epochs=5,
    n_iter_no_change=np.inf,
    lr=1e-2,
    evolve_rounds=2,
    evolve_every=1,
    evolve_every_batches=None,  # a round after every epoch, also on small data
    random_state=0,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)


def _xy(Estimator, n=120, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    y = (
        (X[:, 0] > 0).astype(int)
        if Estimator is FreeNetClassifier
        else X @ rng.normal(size=d)
    )
    return X, y


def test_classifier_accuracy_on_digits(digits):
    """Check that a FreeNet learns scikit-learn's digits well."""
    X_train, X_test, y_train, y_test = digits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf = FreeNetClassifier(k=48, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95
    assert clf.n_iter_ == len(clf.loss_curve_) <= 200
    # the warning comes exactly when the cap stopped training
    assert bool(caught) == (clf.n_iter_ == 200)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X_test))
    assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba, rtol=1e-6)


def test_regressor_on_diabetes():
    """Check FreeNet regression on the diabetes data, with and without a hold-out."""
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scores = {}
    for early in (False, True):
        reg = make_pipeline(
            StandardScaler(), FreeNetRegressor(early_stopping=early, random_state=0)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.fit(X_train, y_train)
        scores[early] = reg.score(X_test, y_test)
    mlp = make_pipeline(StandardScaler(), MLPRegressor(random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp_score = mlp.fit(X_train, y_train).score(X_test, y_test)
    # the targets (25-346) are standardised, so even the defaults beat the MLP's;
    # on 331 noisy rows early stopping is what keeps the fit from overfitting
    assert scores[False] > mlp_score + 0.5
    assert scores[True] > 0.3  # a linear model reaches about 0.36


def test_string_and_binary_labels():
    """Check that any label type round-trips and binary problems work."""
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = FreeNetClassifier(k=8, random_state=0).fit(X, names)
    assert set(clf.predict(X)) <= set(names)
    assert clf.score(X, names) > 0.95
    binary = y[y < 2] == 1
    clf = FreeNetClassifier(**FAST).fit(X[y < 2], binary)
    assert_array_equal(clf.classes_, [False, True])
    assert clf.predict_proba(X[y < 2]).shape == (100, 2)


def test_multi_output_regression():
    """Check that 1-D and 2-D targets give predictions of the same shape."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4))
    Y = np.c_[X[:, 0] + X[:, 1], X[:, 2] ** 2]
    reg = FreeNetRegressor(**FAST).fit(X, Y)
    assert reg.predict(X).shape == (150, 2)
    assert reg.net_.module_.decoder.out_features == 2
    assert FreeNetRegressor(**FAST).fit(X, Y[:, 0]).predict(X).shape == (150,)
    assert FreeNetRegressor(**FAST).fit(X, Y[:, :1]).predict(X).shape == (150, 1)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_grid_search_over_k_in_pipeline(Estimator):
    """Check that GridSearchCV over k works inside a Pipeline."""
    X, y = (
        load_wine(return_X_y=True) if Estimator is FreeNetClassifier else _xy(Estimator)
    )
    pipe = make_pipeline(StandardScaler(), Estimator(**{**FAST, "k": 4}))
    search = GridSearchCV(pipe, {f"{Estimator.__name__.lower()}__k": [2, 6]}, cv=2)
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # k reached the estimator: the two candidates fit different models ...
    assert scores[0] != scores[1]
    # ... and the refit estimator is the best candidate, at its k.
    best_k = [2, 6][int(np.argmax(scores))]
    best = search.best_estimator_[-1]
    assert best.k == best.net_.module_.k == best_k
    assert best.adjacency_.shape == (best_k, best_k)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_same_seed_same_model_and_global_rng_untouched(Estimator):
    """Check that random_state fixes the fit and the caller's torch RNG is kept."""
    X, y = _xy(Estimator)
    params = {**FAST, "epsilon": 0.4, "initial_graph": "empty", "random_state": 3}
    state = torch.get_rng_state()
    a = Estimator(**params).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    b = Estimator(**params).fit(X, y)
    assert_array_equal(a.adjacency_, b.adjacency_)
    assert_array_equal(a.predict(X), b.predict(X))
    c = Estimator(**{**params, "random_state": 4}).fit(X, y)
    assert not np.array_equal(
        a.net_.module_.encoder.weight.detach(), c.net_.module_.encoder.weight.detach()
    )


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_clone_and_pickle_round_trip(Estimator, predict_in_new_process):
    """Check clone, and that a pickle predicts identically, also in a new process."""
    X, y = _xy(Estimator)
    est = Estimator(**FAST).fit(X, y)
    unfitted = clone(est)
    assert unfitted.get_params() == est.get_params()
    assert not hasattr(unfitted, "net_")
    loaded = pickle.loads(pickle.dumps(est))
    assert_array_equal(loaded.predict(X), est.predict(X))
    assert_array_equal(loaded.adjacency_, est.adjacency_)
    assert_array_equal(predict_in_new_process(est, X), est.predict(X))


def test_predictions_batch_invariant():
    """Check that a row's prediction does not depend on the rows predicted with it."""
    X, y = load_digits(return_X_y=True)
    clf = FreeNetClassifier(**FAST).fit(X / 16, y)
    full = clf.predict_proba(X / 16)
    one_by_one = np.vstack(
        [clf.predict_proba(X[i : i + 1] / 16) for i in range(0, 300)]
    )
    assert_array_equal(full[:300], one_by_one)
    perm = np.random.RandomState(0).permutation(len(X))
    assert_array_equal(clf.predict_proba(X[perm] / 16), full[perm])


def test_empty_graph_without_evolution_is_an_mlp():
    """Check that evolve_rounds=0 with an empty graph computes a one-layer MLP."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(
        k=6, evolve_rounds=0, initial_graph="empty", max_epochs=3, random_state=0
    ).fit(X, y)
    assert clf.n_edges_ == 0 and clf.evolution_history_ == []
    m = clf.net_.module_
    Xt = torch.as_tensor(X, dtype=torch.float32)
    mlp = m.decoder(torch.relu(m.encoder(Xt))).detach().numpy()
    proba = np.exp(mlp - mlp.max(axis=1, keepdims=True))
    assert_allclose(
        clf.predict_proba(X), proba / proba.sum(1, keepdims=True), rtol=1e-5
    )


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_float64_and_options(Estimator):
    """Check float64 training, the skip connection, a given graph and net_params."""
    X, y = _xy(Estimator)
    graph = np.zeros((4, 4), bool)
    graph[3, 0] = graph[2, 1] = True
    est = Estimator(
        k=4,
        dtype="float64",
        skip=True,
        initial_graph=graph,
        evolve_rounds=0,
        max_epochs=3,
        random_state=0,
        net_params={"optimizer": torch.optim.SGD, "optimizer__momentum": 0.9},
    ).fit(X, y)
    m = est.net_.module_
    assert m.weight.dtype == torch.float64 and m.skip is not None
    assert isinstance(est.net_.optimizer_, torch.optim.SGD)
    assert_array_equal(est.adjacency_, graph)
    assert est.predict(X).dtype == (
        np.float64 if Estimator is FreeNetRegressor else int
    )


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"epsilon": 0.0}, "'epsilon' parameter .* range \\(0.0, 1.0\\)"),
        ({"epsilon": 1.5}, "'epsilon' parameter .* range \\(0.0, 1.0\\)"),
        ({"k": 0}, "'k' parameter .* range \\[1, inf\\)"),
        ({"activation": "sigmoid"}, "'activation' parameter"),
        ({"initial_graph": "full"}, "'initial_graph' parameter"),
        ({"dtype": "float16"}, "'dtype' parameter"),
    ],
)
def test_invalid_parameters(Estimator, params, match):
    """Check that bad hyperparameters raise InvalidParameterError naming them."""
    X, y = _xy(Estimator)
    with pytest.raises(InvalidParameterError, match=match):
        Estimator(**params).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bad_graph_and_device(Estimator):
    """Check the errors for a wrong initial graph and an unknown device."""
    X, y = _xy(Estimator)
    with pytest.raises(ValueError, match="strictly lower triangular"):
        Estimator(k=3, initial_graph=np.ones((3, 3))).fit(X, y)
    with pytest.raises(ValueError, match="shape \\(3, 3\\)"):
        Estimator(k=3, initial_graph=np.zeros((2, 2))).fit(X, y)
    for device in ("gpu0", "cuda:99", 3):
        with pytest.raises(InvalidParameterError, match="'device' parameter"):
            Estimator(k=3, device=device).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bad_data(Estimator):
    """Check clear errors for NaN, inf, strings and empty input."""
    X, y = _xy(Estimator)
    est = Estimator(**FAST)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.fit(X_nan, y)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        est.fit(X_inf, y)
    with pytest.raises(ValueError, match="could not convert string to float"):
        est.fit(np.array([["a", "b"], ["c", "d"]]), [0, 1])
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(np.empty((0, 3)), [])
    est.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 5"):
        est.predict(X[:, :3])
    with pytest.raises(NotFittedError):
        Estimator().predict(X)


def test_regression_target_for_classifier():
    """Check that a continuous target given to the classifier is refused."""
    X, _ = _xy(FreeNetClassifier)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        FreeNetClassifier(**FAST).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="only one class"):
        FreeNetClassifier(**FAST).fit(X, np.zeros(len(X)))


def test_divergence_stops_and_keeps_finite_weights():
    """Check that a NaN loss stops training with a warning and finite weights."""
    X, y = _xy(FreeNetRegressor)
    reg = FreeNetRegressor(
        k=16,
        activation="squared_relu",
        initial_graph="dense",
        standardize_targets=False,
        lr=10.0,
        max_epochs=50,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="diverged.* last finite"):
        reg.fit(X * 100, y * 1e3)
    assert reg.n_iter_ < 50
    assert all(torch.isfinite(p).all() for p in reg.net_.module_.parameters())
    assert np.isfinite(reg.predict(X)).all()


def test_verbose_shows_progress_and_rounds(capsys):
    """Check that verbose=1 prints a progress bar and one line per round."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(**{**FAST, "verbose": 1}).fit(X, y)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "epoch" in text and "5/5" in text
    rounds = [line for line in text.splitlines() if "[FreeEvolve] round" in line]
    assert len(rounds) == len(clf.evolution_history_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # the fixed budget
        FreeNetClassifier(**FAST).fit(X, y)
    assert capsys.readouterr().err == ""


# -- warm start and partial_fit -------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_warm_start_continues(Estimator):
    """Check that warm_start continues weights, graph, loss curve and history."""
    X, y = _xy(Estimator, n=200)
    params = {**FAST, "epsilon": 0.7, "initial_graph": "empty", "warm_start": True}
    est = Estimator(**params, early_stopping=False).fit(X, y)
    first_rounds = list(est.evolution_history_)
    assert first_rounds and first_rounds[0]["n_added"] > 0
    graph = est.adjacency_.copy()
    weights = est.net_.module_.encoder.weight.detach().clone()
    curve = list(est.loss_curve_)
    net = est.net_
    est.fit(X, y)
    # n_iter_ counts the epochs of the last fit, loss_curve_ all of them (the MLP's)
    assert est.net_ is net and est.n_iter_ == 5 and len(est.loss_curve_) == 10
    assert est.loss_curve_[:5] == curve
    assert not torch.equal(weights, est.net_.module_.encoder.weight.detach())
    # the second fit starts from the first fit's graph, with its own rounds
    history = est.evolution_history_
    assert history[: len(first_rounds)] == first_rounds
    second = history[len(first_rounds) :]
    assert second and [r["epoch"] for r in second] == [6, 7][: len(second)]
    assert second[0]["n_edges_before"] == graph.sum()
    cold = Estimator(**{**params, "warm_start": False}, early_stopping=False).fit(X, y)
    assert cold.n_iter_ == 5
    with pytest.raises(ValueError, match=r"\['k'\] changed"):
        est.set_params(k=5).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_runs_epochs_and_rounds(Estimator):
    """Check that each partial_fit call is one epoch and rounds follow the period."""
    X, y = _xy(Estimator, n=200)
    est = Estimator(
        k=8,
        evolve_every=2,
        evolve_rounds=2,
        epsilon=0.4,
        initial_graph="empty",
        random_state=0,
    )
    kwargs = {"classes": np.unique(y)} if Estimator is FreeNetClassifier else {}
    for call in range(1, 9):
        est.partial_fit(
            X[:100] if call % 2 else X[100:], y[:100] if call % 2 else y[100:], **kwargs
        )
        assert est.n_iter_ == 1 and len(est.loss_curve_) == call
    # a round every 2 calls until 2 rounds or an idle one: calls 2 and 4
    assert [r["epoch"] for r in est.evolution_history_] in ([2], [2, 4])
    assert est.evolution_history_[0]["n_activity_samples"] == 100
    with pytest.raises(ValueError, match="X has 3 features"):
        est.partial_fit(X[:, :3], y, **kwargs)


def test_partial_fit_classes():
    """Check the classes argument and unseen labels in partial_fit."""
    X, y = _xy(FreeNetClassifier)
    clf = FreeNetClassifier(**FAST).partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)
    clf.partial_fit(X[y == 1], y[y == 1])
    with pytest.raises(ValueError, match="labels \\[5\\] not among the classes"):
        clf.partial_fit(X[:2], [5, 5])


def test_optimizer_without_weight_decay():
    """Check that an optimizer without weight_decay (L-BFGS) can be chosen."""
    X, y = _xy(FreeNetRegressor)
    reg = FreeNetRegressor(
        k=4,
        max_epochs=3,
        n_iter_no_change=np.inf,
        evolve_rounds=0,
        batch_size=len(X),
        random_state=0,
        net_params={"optimizer": torch.optim.LBFGS},
    ).fit(X, y)
    assert isinstance(reg.net_.optimizer_, torch.optim.LBFGS)
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


@pytest.mark.parametrize("Estimator", [FreeNetClassifier, FreeNetRegressor])
def test_docstring_defaults_match_the_signature(Estimator):
    """Check that every ``name : ..., default=X`` in the docstring is the real one."""
    import ast
    import inspect
    import re

    documented = dict(
        re.findall(r"^    (\w+) : .*?default=(.+?)$", Estimator.__doc__, flags=re.M)
    )
    signature = inspect.signature(Estimator).parameters
    assert set(documented) <= set(signature)
    assert len(documented) >= 25
    for name, text in documented.items():
        assert ast.literal_eval(text) == signature[name].default, name
