# SPDX-License-Identifier: BSD-3-Clause
"""Scaling out: dask clusters, joblib workers, successive halving and devices."""

import os

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_freenets import FreeNetClassifier
from sklearn_freenets._kernel import GraphLevels
from sklearn_freenets._module import _MAX_LEVELS

# Exactly max_epochs epochs from the dense graph, one FreeEvolve round after epoch 2.
FAST = dict(
    max_epochs=4,
    n_iter_no_change=np.inf,
    lr=1e-2,
    initial_graph="dense",
    evolve_rounds=1,
    evolve_every=2,
    random_state=0,
)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


class RecordWorker(Callback):
    """Record where a fit ran: the dask worker, the process and torch's threads."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        try:
            from distributed import get_worker

            address = get_worker().address
        except (ImportError, ValueError):
            address = None
        self.where_ = {
            "worker": address,
            "pid": os.getpid(),
            "torch_threads": torch.get_num_threads(),
        }


class TorchBackend(Callback):
    """Compute the recurrence with the plain torch backend from the first epoch."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        net.module_.backend = "torch"


def _records(result):
    return [
        dict(est[-1].net_.callbacks_)["where"].where_ for est in result["estimator"]
    ]


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


def _pipe(**params):
    return make_pipeline(
        StandardScaler(),
        FreeNetClassifier(
            **{**FAST, **params}, net_params={"callbacks": [("where", RecordWorker())]}
        ),
    )


def test_grid_search_on_dask_cluster(wine):
    """Check that a search runs on LocalCluster workers and matches the serial one."""
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] (the 'distributed' extra) is needed"
    )
    from joblib import parallel_backend

    X, y = wine
    grid = {"freenetclassifier__k": [2, 4, 8]}
    serial = GridSearchCV(_pipe(), grid, cv=3).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        workers = set(client.scheduler_info()["workers"])
        with parallel_backend("dask"):
            search = GridSearchCV(_pipe(), grid, cv=3, n_jobs=-1).fit(X, y)
            result = cross_validate(_pipe(k=4), X, y, cv=3, return_estimator=True)
    assert search.best_params_ == serial.best_params_
    for key in ("mean_test_score", "std_test_score"):
        assert_allclose(search.cv_results_[key], serial.cv_results_[key])
    ran_on = {record["worker"] for record in _records(result)}
    assert ran_on <= workers and None not in ran_on
    assert {record["torch_threads"] for record in _records(result)} == {1}


def test_n_jobs_workers_do_not_oversubscribe(wine):
    """Check torch's threads in joblib's workers: at most cpu_count // n_jobs."""
    X, y = wine
    result = cross_validate(_pipe(k=4), X, y, cv=2, n_jobs=2, return_estimator=True)
    records = _records(result)
    assert all(r["pid"] != os.getpid() for r in records)
    # a small problem trains on one thread (n_threads="auto")
    assert {r["torch_threads"] for r in records} == {1}
    share = max(1, os.cpu_count() // 2)
    result = cross_validate(
        _pipe(k=4, n_threads=share + 1), X, y, cv=2, n_jobs=2, return_estimator=True
    )
    # an explicit n_threads is honoured, even above the worker's share
    assert {r["torch_threads"] for r in _records(result)} == {share + 1}


def test_halving_search_over_k(wine):
    """Check that successive halving over k (epochs as the resource) works."""
    X, y = wine
    pipe = make_pipeline(StandardScaler(), FreeNetClassifier(**FAST))
    search = HalvingGridSearchCV(
        pipe,
        {"freenetclassifier__k": [2, 4, 8, 16]},
        resource="freenetclassifier__max_epochs",
        min_resources=2,
        max_resources=8,
        factor=2,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert search.n_resources_ == [2, 4, 8]
    # Every row of the score table is the CV score of its k trained for its
    # number of epochs, and the refitted model ran exactly the last budget.
    results = search.cv_results_
    for params, score in zip(
        results["params"], results["mean_test_score"], strict=True
    ):
        expected = cross_val_score(clone(pipe).set_params(**params), X, y, cv=2)
        assert_allclose(score, expected.mean())
    assert search.best_estimator_[-1].n_iter_ == 8


def test_torch_backend_gives_the_same_model(wine):
    """Check that the device-independent torch path trains the same network on CPU."""
    X, y = wine
    X = StandardScaler().fit_transform(X)
    numba = FreeNetClassifier(k=6, **FAST).fit(X, y)
    plain = FreeNetClassifier(
        k=6, **FAST, net_params={"callbacks": [("backend", TorchBackend())]}
    ).fit(X, y)
    assert numba.net_.module_.backend == "auto"
    assert plain.net_.module_.backend == "torch"
    # graphs of few levels bypass the backends: this one must not
    assert GraphLevels(numba.adjacency_).n_levels > _MAX_LEVELS
    assert_array_equal(plain.adjacency_, numba.adjacency_)
    assert_allclose(plain.predict_proba(X), numba.predict_proba(X), atol=1e-4)


def test_device_auto_without_cuda(wine):
    """Check that device='auto' trains on the CPU when no GPU is present."""
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: device='auto' picks it")
    X, y = wine
    clf = FreeNetClassifier(k=4, device="auto", **FAST).fit(X, y)
    assert next(clf.net_.module_.parameters()).device.type == "cpu"


@needs_cuda
@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_fit_predict_on_cuda(wine, device):
    """Check training and prediction on a GPU, matching the CPU model closely."""
    X, y = wine
    X = StandardScaler().fit_transform(X)
    gpu = FreeNetClassifier(k=8, device=device, dtype="float64", **FAST).fit(X, y)
    assert next(gpu.net_.module_.parameters()).device.type == "cuda"
    cpu = FreeNetClassifier(k=8, dtype="float64", **FAST).fit(X, y)
    assert gpu.predict_proba(X).shape == cpu.predict_proba(X).shape
    assert gpu.score(X, y) > 0.8


@needs_cuda
def test_cuda_pickle_loads_on_cpu_only_machine(wine, predict_in_new_process):
    """Check that a model trained on a GPU unpickles and predicts without CUDA."""
    X, y = wine
    X = StandardScaler().fit_transform(X)
    gpu = FreeNetClassifier(k=8, device="cuda", **FAST).fit(X, y)
    proba = predict_in_new_process(
        gpu, X, "predict_proba", env={"CUDA_VISIBLE_DEVICES": ""}
    )
    assert_allclose(proba, gpu.predict_proba(X), atol=1e-5)
