"""
=========================================
Choosing the number of neurons with a CV
=========================================

The main hyper-parameter of a FreeNet is its number of neurons ``k``. A
:class:`~sklearn_freenets.FreeNetClassifier` is a scikit-learn estimator, so
it fits in a :class:`~sklearn.pipeline.Pipeline` and its ``k`` can be tuned
by :class:`~sklearn.model_selection.GridSearchCV` like any other
hyper-parameter. This example searches ``k`` on the wine data set bundled
with scikit-learn and plots the cross-validated accuracy against ``k``.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
print(__doc__)

# %%
# The data and the pipeline
# -------------------------
#
# The wine data set has 178 samples, 13 features of very different scales and
# 3 classes. Neural networks train best on standardised features, so a
# :class:`~sklearn.preprocessing.StandardScaler` comes first in the pipeline.
# The FreeNet starts from the dense graph on its ``k`` neurons and trains for
# exactly 30 epochs (``n_iter_no_change=np.inf``: no early end once the loss
# stops improving), evolving the graph in up to two FreeEvolve rounds, after
# epochs 10 and 20 (``evolve_every=10``).
import numpy as np
from sklearn.datasets import load_wine
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_freenets import FreeNetClassifier

X, y = load_wine(return_X_y=True)
print(f"{X.shape[0]} samples, {X.shape[1]} features, {len(set(y))} classes")

pipeline = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "freenet",
            FreeNetClassifier(
                initial_graph="dense",
                evolve_rounds=2,
                evolve_every=10,
                max_epochs=30,
                n_iter_no_change=np.inf,
                batch_size=32,
                lr=1e-2,
                random_state=0,
            ),
        ),
    ]
)

# %%
# The grid search
# ---------------
#
# Parameters of a pipeline step are named ``<step>__<parameter>``, here
# ``freenet__k``. Each of the 6 values of ``k`` is scored by a stratified
# 5-fold cross-validation (30 fits), then the best one is refitted on all the
# data. The fits are tiny, so they run one after another (``n_jobs=None``);
# the example ``plot_dask_grid_search.py`` spreads such a search over the
# workers of a dask cluster.
import time

from sklearn.model_selection import GridSearchCV, StratifiedKFold

param_grid = {"freenet__k": [1, 2, 4, 8, 16, 32]}
search = GridSearchCV(
    pipeline,
    param_grid,
    cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0),
    scoring="accuracy",
)
start = time.perf_counter()
search.fit(X, y)
print(f"Grid search done in {time.perf_counter() - start:.1f} s")
print(f"best k: {search.best_params_['freenet__k']}")
print(f"best mean CV accuracy: {search.best_score_:.3f}")

# %%
# The refitted pipeline (``search.best_estimator_``) exposes the evolved
# FreeNet as its last step.
best_freenet = search.best_estimator_[-1]
dense_edges = best_freenet.k * (best_freenet.k - 1) // 2
print(
    f"The refitted FreeNet has k={best_freenet.k} neurons and "
    f"{best_freenet.n_edges_} edges (dense graph: {dense_edges})"
)

# %%
# Accuracy against the number of neurons
# --------------------------------------
#
# ``cv_results_`` holds the mean and the standard deviation of the test score
# over the 5 folds for each ``k``. The band shows one standard deviation on
# either side of the mean.
import matplotlib.pyplot as plt
import numpy as np

ks = np.array(search.cv_results_["param_freenet__k"], dtype=int)
mean = search.cv_results_["mean_test_score"]
std = search.cv_results_["std_test_score"]

fig, ax = plt.subplots(layout="constrained")
ax.plot(ks, mean, marker="o", label="mean CV accuracy")
ax.fill_between(ks, mean - std, mean + std, alpha=0.25, label="± 1 std over folds")
best_k = search.best_params_["freenet__k"]
ax.axvline(best_k, color="tab:red", linestyle="--", label=f"best k = {best_k}")
ax.set_xscale("log", base=2)
ax.set_xticks(ks, [str(k) for k in ks])
ax.set_xlabel("number of neurons k")
ax.set_ylabel("accuracy")
ax.set_title("FreeNet on the wine data set, 5-fold CV")
ax.grid(True, alpha=0.3)
ax.legend(loc="lower right")

# %%
# One neuron is not enough to separate three classes well; from a handful of
# neurons on, the accuracy plateaus and more neurons bring no gain on a data
# set this small. ``GridSearchCV`` picks the ``k`` of highest mean accuracy
# (the smallest one on ties).

plt.show()
