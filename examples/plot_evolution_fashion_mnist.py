"""
==============================================
Evolving a FreeNet's topology on Fashion-MNIST
==============================================

A :class:`~sklearn_freenets.FreeNetClassifier` has ``k`` hidden neurons wired
by a directed acyclic graph. During training, FreeEvolve rounds rewire that
graph: an edge ``j -> i`` is *added* when both neurons fire together on more
than ``1 - epsilon`` of the samples (their normalised co-activation, NCAM, is
high), and *pruned* when both are silent together on more than ``1 - epsilon``
of them (their normalised co-inactivation, NCIM, is high).

This example fits a FreeNet on a subsample of Fashion-MNIST, watches the
FreeEvolve rounds as they run, draws the figures of the paper for the fitted
network (edge changes per round, NCAM/NCIM distributions, edges over training)
plus its adjacency matrix and its graph, and compares its test accuracy with
a fully connected network (FCNN) of the same number of neurons.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
print(__doc__)

# %%
# Load the data
# -------------
#
# :func:`~sklearn_freenets.datasets.load_fashion_mnist` never downloads
# anything unless asked to (``download_if_missing=True``). It reads the four
# original ``*-ubyte.gz`` files from ``<data_home>/fashion-mnist/``, where
# ``data_home`` is, in this order, the ``data_home`` argument, the environment
# variable ``SKLEARN_FREENETS_DATA``, or ``~/scikit_learn_data/freenets``.
#
# To get the data, either set ``SKLEARN_FREENETS_DATA`` to a folder holding
# ``fashion-mnist/`` with the files of
# https://github.com/zalandoresearch/fashion-mnist (``train-images-idx3-ubyte.gz``,
# ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
# ``t10k-labels-idx1-ubyte.gz``), or call the loader once with
# ``download_if_missing=True``. When the files are missing the loader raises
# a ``FileNotFoundError`` that names them and where to get them.
from sklearn_freenets.datasets import load_fashion_mnist

X_train, y_train = load_fashion_mnist(subset="train", return_X_y=True)
X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
print(f"Full training set: {X_train.shape}, test set: {X_test.shape}")

# %%
# The pixels come as float32 in [0, 1], one flattened 28x28 image per row. To
# keep this example fast on a CPU, we train on a stratified subsample of 6,000
# training images and test on 2,000 test images.
from sklearn.utils import resample

X_train, y_train = resample(
    X_train, y_train, n_samples=6_000, replace=False, stratify=y_train, random_state=0
)
X_test, y_test = resample(
    X_test, y_test, n_samples=2_000, replace=False, stratify=y_test, random_state=0
)
print(f"Subsample: {X_train.shape[0]} training and {X_test.shape[0]} test images")

# %%
# Fit a FreeNet and watch it evolve
# ---------------------------------
#
# The network has ``k=64`` neurons and starts from the dense graph (every edge
# ``j -> i`` with ``j < i``). Training runs exactly ``max_epochs=10`` epochs
# (``n_iter_no_change=np.inf`` turns off the stopping criterion, which would
# otherwise end training once the loss stops improving). A FreeEvolve round
# runs after every ``evolve_every=2`` epochs, so after epochs 2, 4, 6 and 8
# for ``evolve_rounds=4``: the rounds split the epochs into 5 phases and the
# last phase trains the final graph (``evolve_every_batches=None`` turns off the
# default extra rounds within the first epoch). Evolution stops early once a
# round changes nothing (``evolve_patience=1``). The activity that decides the
# changes is recorded on at most ``evolve_max_samples`` training images.
# ``verbose=1`` shows a progress bar over the epochs and prints one line per
# round.
import numpy as np

from sklearn_freenets import FreeNetClassifier

common_params = dict(
    k=64, max_epochs=10, n_iter_no_change=np.inf, lr=3e-3, random_state=0
)
freenet = FreeNetClassifier(
    **common_params,
    initial_graph="dense",
    evolve_rounds=4,
    evolve_every=2,
    evolve_every_batches=None,
    evolve_patience=1,
    epsilon=0.2,
    evolve_max_samples=3_000,
    verbose=1,
)
freenet.fit(X_train, y_train)
print(f"Edges after training: {freenet.n_edges_} (dense start: {64 * 63 // 2})")

# %%
# Each round is recorded in ``evolution_history_``: the epoch after which it
# ran (counted from 1), the number of edges added and pruned, and the NCAM /
# NCIM values of all neuron pairs.
for record in freenet.evolution_history_:
    print(
        f"round {record['round']} after epoch {record['epoch']}: "
        f"+{record['n_added']} / -{record['n_pruned']} -> {record['n_edges']} edges"
    )

# %%
# Edge changes per round
# ----------------------
#
# Green bars go up by the number of edges added in a round, red bars down by
# the number pruned. Starting from the dense graph there is nothing left to
# add, so FreeEvolve only prunes: pairs of neurons that are both silent on
# most images lose their edge. Most of the pruning happens in the first round;
# once a round changes nothing, evolution stops (the round is marked
# "settled" in the log above) and the remaining epochs train the final graph.
import matplotlib.pyplot as plt

from sklearn_freenets.plotting import (
    plot_adjacency,
    plot_coactivation_distributions,
    plot_edge_changes,
    plot_edges_over_training,
    plot_graph,
)

plot_edge_changes(freenet)

# %%
# Co-activation and co-inactivation
# ---------------------------------
#
# The distributions of the NCAM (left) and NCIM (right) values over all neuron
# pairs, at the first and at the last round. The dotted line is the threshold
# ``1 - epsilon``: pairs to the right of it in the NCAM panel get an edge, edges
# to the right of it in the NCIM panel are pruned. The histograms count all
# pairs, edges or not: the peak at an NCIM of 1 comes from pairs of "dead"
# neurons, silent on almost every image, whose edges the first round pruned.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_coactivation_distributions(freenet, ax=axes)

# %%
# Edges over training
# -------------------
#
# The number of edges is a step curve over the epochs (markers at the rounds),
# drawn together with the training loss on the right axis.
plot_edges_over_training(freenet)

# %%
# The evolved graph
# -----------------
#
# Left, the adjacency matrix: the black pixel ``(i, j)`` is the edge ``j -> i``,
# so the matrix is strictly lower triangular, and the white gaps are the
# pruned edges. They line up in rows and columns, because most of them join
# two dead neurons: a dead neuron loses its edges to and from the others.
# Right, the same graph with each neuron placed at its topological depth (the
# length of the longest path that reaches it).
fig, axes = plt.subplots(
    1, 2, figsize=(11, 5), width_ratios=[1, 1.6], layout="constrained"
)
plot_adjacency(freenet, ax=axes[0])
plot_graph(freenet, ax=axes[1])

# %%
# Compare with a fully connected network
# --------------------------------------
#
# With ``evolve_rounds=0`` and ``initial_graph="empty"``, a FreeNet is exactly
# a one-hidden-layer MLP with ``k`` neurons: the FCNN baseline of the paper.
# Both networks get the same neurons, epochs and learning rate.
fcnn = FreeNetClassifier(**common_params, evolve_rounds=0, initial_graph="empty")
fcnn.fit(X_train, y_train)

freenet_accuracy = freenet.score(X_test, y_test)
fcnn_accuracy = fcnn.score(X_test, y_test)
print(f"FreeNet test accuracy: {freenet_accuracy:.3f} (k=64, {freenet.n_edges_} edges)")
print(f"FCNN test accuracy:    {fcnn_accuracy:.3f} (k=64, one hidden layer)")

# %%
# On such a small subsample and with so few epochs the two networks end up
# close; the paper's comparison trains on the full training set for longer,
# over several values of ``k`` and several seeds (the ``benchmarks/`` folder
# of the repository reproduces it).

plt.show()
