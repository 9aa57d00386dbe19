"""
===================================
Grid search on a local dask cluster
===================================

scikit-learn parallelises a hyper-parameter search through joblib, and
joblib can hand its tasks to a dask cluster instead of its own worker
processes. This example searches the number of neurons ``k`` of a
:class:`~sklearn_freenets.FreeNetClassifier` with
:class:`~sklearn.model_selection.GridSearchCV` on a
:class:`distributed.LocalCluster` of two single-threaded worker processes.
The same code runs on a multi-machine cluster by connecting the
:class:`distributed.Client` to its scheduler instead.

.. note::

   The cluster is started under ``if __name__ == "__main__":`` at the end of
   the script. Dask starts its worker processes with the ``spawn`` method of
   :mod:`multiprocessing`, which imports the main script again in each new
   process; without the guard, every worker would try to start a cluster of
   its own, and the workers fail to start. The steps are therefore written as
   functions, called in the last cell.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# The imports run in every process, the worker processes included; only the
# last cell, under the ``__main__`` guard, runs in the main process alone.
import logging
import time

import joblib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from distributed import Client, LocalCluster
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_freenets import FreeNetClassifier

# %%
# Describe the cluster
# --------------------
#
# ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
# dashboard_address=None)`` starts a scheduler and two worker processes with
# one thread each; ``dashboard_address=None`` skips the web dashboard, so the
# example needs no free port and no ``bokeh``. Instead of the dashboard, this
# summary reads ``client.scheduler_info()``: one row per worker with its
# threads and its memory limit.


def describe_cluster(client):
    """Print the scheduler address and the threads and memory of each worker."""
    info = client.scheduler_info()
    workers = info["workers"]
    print(f"Scheduler: {info['address']}")
    print(f"{'worker':<8} {'threads':>7} {'memory limit':>14}")
    for worker in sorted(workers.values(), key=lambda w: str(w["name"])):
        memory_gib = worker["memory_limit"] / 2**30
        print(f"{worker['name']!s:<8} {worker['nthreads']:>7} {memory_gib:>10.1f} GiB")
    total_threads = sum(worker["nthreads"] for worker in workers.values())
    print(f"{len(workers)} workers, {total_threads} threads in total")


# %%
# Threads inside the workers
# --------------------------
#
# A FreeNet trains with torch, which runs its operations on a pool of
# intra-op threads. When several fits run at once, these pools must not ask
# for more threads than there are cores, or the fits slow each other down.
#
# - dask's nanny starts every worker process with ``OMP_NUM_THREADS=1`` (and
#   ``MKL_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``; see the configuration
#   key ``distributed.nanny.pre-spawn-environ``), so torch uses **one**
#   thread in each dask worker, and the parallelism comes from the number of
#   workers and their ``threads_per_worker``. The nannies of a
#   ``LocalCluster`` run in the main process and set these variables there
#   too; torch, imported above before the cluster started, keeps its threads
#   in the main process.
# - With joblib's default ``loky`` backend (plain ``GridSearchCV(n_jobs=...)``
#   without dask), each worker process gets ``cpu_count() // n_jobs`` threads
#   instead (unless ``OMP_NUM_THREADS`` is already set), so that the
#   ``n_jobs`` workers together fill the machine.
#
# ``client.run`` calls a function once in every worker, which lets us check.


def torch_threads():
    """Return the number of torch intra-op threads of the calling process."""
    return torch.get_num_threads()


# %%
# The search
# ----------
#
# Inside ``joblib.parallel_backend("dask")``, every joblib task goes to the
# cluster: ``GridSearchCV(n_jobs=-1)`` then runs each (``k``, fold) fit as a
# dask task, as many at once as the cluster has threads. The data is the
# breast cancer data set bundled with scikit-learn (569 samples, 30 features,
# 2 classes), standardised inside the pipeline. Each fit trains exactly 20
# epochs (``n_iter_no_change=np.inf``) from the dense graph, with up to two
# FreeEvolve rounds, after epochs 6 and 12 (``evolve_every=6``).

K_VALUES = [1, 2, 4, 8, 16]


def search_neurons(X, y):
    """Fit a GridSearchCV over k, with joblib's tasks sent to the dask cluster."""
    pipeline = make_pipeline(
        StandardScaler(),
        FreeNetClassifier(
            initial_graph="dense",
            evolve_rounds=2,
            evolve_every=6,
            max_epochs=20,
            n_iter_no_change=np.inf,
            batch_size=64,
            lr=1e-2,
            random_state=0,
        ),
    )
    search = GridSearchCV(
        pipeline,
        {"freenetclassifier__k": K_VALUES},
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
        n_jobs=-1,
    )
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    return search


# %%
# The results
# -----------
#
# ``cv_results_`` gives, for each ``k``, the mean and standard deviation of
# the accuracy over the folds, their rank and the mean fit time; the plot
# shows the mean accuracy with a band of one standard deviation. The first
# fits on each worker take longer: they pay for loading torch's and the
# FreeNet kernels' code into the fresh worker process.


def results_table(search):
    """Return the main columns of ``search.cv_results_`` as a DataFrame."""
    columns = {
        "param_freenetclassifier__k": "k",
        "mean_test_score": "mean accuracy",
        "std_test_score": "std",
        "rank_test_score": "rank",
        "mean_fit_time": "fit time (s)",
    }
    table = pd.DataFrame(search.cv_results_)[list(columns)]
    return table.rename(columns=columns)


def plot_results(table):
    """Plot the mean CV accuracy against k with a band of one std."""
    ks = table["k"].to_numpy(dtype=int)
    mean = table["mean accuracy"].to_numpy()
    std = table["std"].to_numpy()
    fig, ax = plt.subplots(layout="constrained")
    ax.plot(ks, mean, marker="o", label="mean CV accuracy")
    ax.fill_between(ks, mean - std, mean + std, alpha=0.25, label="± 1 std")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("number of neurons k")
    ax.set_ylabel("accuracy")
    ax.set_title("FreeNet on breast cancer, 3-fold CV on a dask cluster")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return ax


# %%
# Run it
# ------
#
# Start the cluster, describe it, run the search and shut everything down.
# Leaving the ``with`` block closes the client and the cluster, which stops
# the worker processes. On a busy machine a worker that imported torch can
# take a few seconds to exit, and dask would log a warning that it killed it
# (harmless here); ``silence_logs=logging.ERROR`` keeps dask's own log to
# errors.

if __name__ == "__main__":
    print(__doc__)
    X, y = load_breast_cancer(return_X_y=True)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        describe_cluster(client)
        print(f"torch threads in the main process: {torch_threads()}")
        print(f"torch threads in each dask worker: {client.run(torch_threads)}")

        start = time.perf_counter()
        search = search_neurons(X, y)
        n_fits = len(K_VALUES) * search.n_splits_
        print(f"{n_fits} fits in {time.perf_counter() - start:.1f} s")

    print(f"best k: {search.best_params_['freenetclassifier__k']}")
    print(f"best mean CV accuracy: {search.best_score_:.3f}")
    table = results_table(search)
    print(table.to_string(index=False, float_format="{:.3f}".format))
    plot_results(table)
    plt.show()
