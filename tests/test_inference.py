# SPDX-License-Identifier: BSD-3-Clause
"""Tests for the sparse kernels (training and inference) and the module's cache."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_freenets import _kernel
from sklearn_freenets._graph import strictly_lower_part
from sklearn_freenets._kernel import (
    ACTIVATIONS,
    SparseGraph,
    recurrence,
    recurrence_inference,
    sparse_network,
)
from sklearn_freenets._module import FreeNetModule

DTYPES = [torch.float32, torch.float64]
DENSITIES = [0.0, 0.05, 0.3, 0.7, 1.0]


def _tol(dtype: torch.dtype) -> dict[str, float]:
    if dtype == torch.float32:
        return {"rtol": 1e-4, "atol": 1e-5}
    return {"rtol": 1e-10, "atol": 1e-12}


def _graph(k: int, density: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.tril(rng.random((k, k)) < density, -1)


def _inputs(n, k, density, dtype, activation, seed=0):
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(n, k, generator=gen, dtype=dtype)
    scale = 0.25 if activation == "squared_relu" else 1.0
    W = scale * torch.randn(k, k, generator=gen, dtype=dtype) / max(k, 1) ** 0.5
    G = _graph(k, density, seed)
    return A, W, G


@pytest.fixture
def always_sparse(monkeypatch):
    """Use the sparse kernel whatever the density."""
    for dtype in DTYPES:
        monkeypatch.setitem(_kernel._SPARSE_MAX_DENSITY, dtype, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("density", DENSITIES)
def test_sparse_matches_dense(always_sparse, dtype, activation, density):
    """Check that the sparse kernel gives the dense recurrence's H and Z."""
    A, W, G = _inputs(150, 37, density, dtype, activation)
    mask = torch.as_tensor(G).to(dtype)
    H_ref, Z_ref = recurrence(A, W * mask, activation, return_preact=True)
    graph = SparseGraph(G)
    assert graph.pays_off(dtype)
    H, Z = recurrence_inference(
        A, W, activation, graph=graph, return_preact=True, backend="numba"
    )
    assert H.dtype == dtype and Z.dtype == dtype
    assert_allclose(H.numpy(), H_ref.numpy(), **_tol(dtype))
    assert_allclose(Z.numpy(), Z_ref.numpy(), **_tol(dtype))
    H2 = recurrence_inference(A, W, activation, graph=graph)
    assert_allclose(H2.numpy(), H.numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, k", [(1, 1), (5, 1), (1, 6), (129, 9), (300, 20)])
def test_sparse_edge_shapes(always_sparse, dtype, n, k):
    """Check k=1, n=1 and n not a multiple of the sample block."""
    A, W, G = _inputs(n, k, 0.5, dtype, "tanh", seed=2)
    mask = torch.as_tensor(G).to(dtype)
    H_ref = recurrence(A, W * mask, "tanh")
    H = recurrence_inference(A, W, "tanh", graph=SparseGraph(G))
    assert H.shape == (n, k)
    assert_allclose(H.numpy(), H_ref.numpy(), **_tol(dtype))


def test_sparse_empty_graph_is_activation(always_sparse):
    """Check that with no edges every neuron is just act(A)."""
    A, W, _ = _inputs(40, 12, 0.0, torch.float64, "relu")
    graph = SparseGraph(np.zeros((12, 12), dtype=bool))
    assert graph.n_edges == 0 and graph.density == 0.0
    H = recurrence_inference(A, W, "relu", graph=graph)
    assert_allclose(H.numpy(), torch.relu(A).numpy(), rtol=0, atol=0)


def test_sparse_graph_layout():
    """Check the CSR arrays and that only the strictly lower triangle counts."""
    G = np.array([[1, 1, 0], [1, 1, 1], [1, 0, 0]], dtype=bool)
    graph = SparseGraph(torch.as_tensor(G))
    assert graph.k == 3 and graph.n_edges == 2
    assert graph.indptr.tolist() == [0, 0, 1, 2]
    assert graph.indices.tolist() == [0, 0]
    assert graph.density == pytest.approx(2 / 3)
    assert SparseGraph(np.zeros((1, 1), dtype=bool)).density == 1.0
    with pytest.raises(ValueError, match="square"):
        SparseGraph(np.zeros((2, 3), dtype=bool))


@pytest.mark.parametrize("density", [0.05, 0.2, 0.39, 0.6, 1.0])
def test_dispatch_follows_threshold(kernel_calls, density):
    """Check that the sparse kernel runs only below the density threshold."""
    calls = kernel_calls("_numba_sparse_forward")
    A, W, G = _inputs(20, 50, density, torch.float32, "relu")
    graph = SparseGraph(G)
    recurrence_inference(A, W, "relu", mask=torch.as_tensor(G), graph=graph)
    expected = graph.density <= _kernel._SPARSE_MAX_DENSITY[torch.float32]
    assert bool(calls) == expected


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_dense_fallback_uses_mask(backend):
    """Check that the dense path (torch backend, dense graph) applies the mask."""
    A, W, G = _inputs(30, 16, 1.0, torch.float64, "tanh")
    G[5, :3] = False
    mask = torch.as_tensor(G)
    H_ref = recurrence(A, W * mask.double(), "tanh")
    H = recurrence_inference(
        A, W, "tanh", mask=mask, graph=SparseGraph(G), backend=backend
    )
    assert_allclose(H.numpy(), H_ref.numpy(), rtol=1e-10)


def test_inference_has_no_grad():
    """Check that recurrence_inference never records a graph."""
    A, W, G = _inputs(10, 8, 0.1, torch.float32, "relu")
    A.requires_grad_(True)
    W.requires_grad_(True)
    H = recurrence_inference(A, W, "relu", graph=SparseGraph(G))
    assert H.grad_fn is None and not H.requires_grad


def test_mask_argument_matches_premasked_weights():
    """Check that recurrence(mask=G) equals recurrence(W * G), gradients included."""
    A, W, G = _inputs(33, 14, 0.5, torch.float64, "tanh")
    mask = torch.as_tensor(G).double()
    A1, W1 = A.clone().requires_grad_(True), W.clone().requires_grad_(True)
    A2, W2 = A.clone().requires_grad_(True), W.clone().requires_grad_(True)
    recurrence(A1, W1, "tanh", mask=mask).sum().backward()
    recurrence(A2, W2 * mask, "tanh").sum().backward()
    assert_allclose(A1.grad.numpy(), A2.grad.numpy(), rtol=1e-12)
    assert_allclose(W1.grad.numpy(), W2.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert torch.all(W1.grad[~torch.as_tensor(G)] == 0)


# ---------------------------------------------------------------------------------
# The module: cache of the mask and sparse graph.
# ---------------------------------------------------------------------------------


def _module(k=30, density=0.1, activation="relu", dtype="float32", seed=0):
    torch.manual_seed(seed)
    module = FreeNetModule(
        12, k, 3, activation=activation, initial_graph="dense", dtype=dtype
    )
    with torch.no_grad():
        module.weight.normal_(0, 0.3)
    module.set_adjacency(_graph(k, density, seed))
    with torch.no_grad():  # give the new edges nonzero weights
        module.weight.copy_(torch.randn(k, k, dtype=module.weight.dtype) * 0.3)
    return module


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("density", [0.0, 0.1, 0.9])
def test_module_no_grad_matches_grad_path(dtype, activation, density):
    """Check that predict-style forward equals the training forward."""
    module = _module(density=density, activation=activation, dtype=dtype)
    X = torch.randn(70, 12, dtype=module.weight.dtype)
    out_train = module(X).detach()
    with torch.no_grad():
        out_infer = module(X)
        H, Z = module.hidden(X)
    tol = _tol(module.weight.dtype)
    assert_allclose(out_infer.numpy(), out_train.numpy(), **tol)
    Wm = module.masked_weight().detach()
    H_ref, Z_ref = recurrence(
        module.encoder(X).detach(), Wm, activation, return_preact=True
    )
    assert_allclose(H.numpy(), H_ref.numpy(), **tol)
    assert_allclose(Z.numpy(), Z_ref.numpy(), **tol)


def _dense_reference(module, X):
    """Output of the module computed with the plain masked weights."""
    with torch.no_grad():
        A = module.encoder(X)
        H = recurrence(A, module.masked_weight(), module.activation, backend="torch")
        return module.decoder(H)


def test_cache_invalidated_by_set_adjacency():
    """Check that changing the graph changes what inference computes."""
    module = _module(k=25, density=0.1)
    X = torch.randn(40, 12)
    with torch.no_grad():
        module(X)
    graph_before = module._graph_state().graph()
    module.set_adjacency(_graph(25, 0.3, seed=5))
    with torch.no_grad():
        module.weight.normal_(0, 0.3)
        out = module(X)
    graph_after = module._graph_state().graph()
    assert graph_after is not graph_before
    assert graph_after.n_edges == module.n_edges()
    assert_allclose(out.numpy(), _dense_reference(module, X).numpy(), rtol=1e-4)


@pytest.mark.parametrize(
    "mutate",
    ["load_state_dict", "copy_", "replace_buffer"],
)
def test_cache_invalidated_by_other_graph_changes(mutate):
    """Check that load_state_dict and in-place or new buffers refresh the cache."""
    module = _module(k=20, density=0.05)
    other = _module(k=20, density=0.35, seed=3)
    X = torch.randn(30, 12)
    with torch.no_grad():
        module(X)
    if mutate == "load_state_dict":
        module.load_state_dict(other.state_dict())
    elif mutate == "copy_":
        module.adjacency.copy_(other.adjacency)
        with torch.no_grad():
            module.weight.copy_(other.weight)
    else:
        module.adjacency = other.adjacency.clone()
        with torch.no_grad():
            module.weight.copy_(other.weight)
    assert_allclose(module._graph_state().mask.numpy(), other.adjacency.float().numpy())
    assert module._graph_state().graph().n_edges == other.n_edges()
    with torch.no_grad():
        out = module(X)
    assert_allclose(out.numpy(), _dense_reference(module, X).numpy(), rtol=1e-4)


def test_cache_follows_dtype_change():
    """Check that module.double() rebuilds the mask in the new dtype."""
    module = _module(k=15, density=0.2)
    X = torch.randn(9, 12)
    with torch.no_grad():
        module(X)
    module.double()
    assert module._graph_state().mask.dtype == torch.float64
    with torch.no_grad():
        out = module(X.double())
    assert out.dtype == torch.float64


@pytest.mark.parametrize("copier", ["pickle", "deepcopy"])
def test_pickle_round_trip(copier):
    """Check that a module with a built cache pickles and predicts the same."""
    module = _module(k=30, density=0.1)
    X = torch.randn(50, 12)
    with torch.no_grad():
        expected = module(X)
    assert module.__dict__["_graph_cache"] is not None
    if copier == "pickle":
        clone = pickle.loads(pickle.dumps(module))
    else:
        clone = copy.deepcopy(module)
    assert clone.__dict__["_graph_cache"] is None
    with torch.no_grad():
        assert_allclose(clone(X).numpy(), expected.numpy(), rtol=1e-6)
    # The clone has its own graph: changing it leaves the original untouched.
    clone.set_adjacency(np.zeros((30, 30), dtype=bool))
    with torch.no_grad():
        assert_allclose(module(X).numpy(), expected.numpy(), rtol=1e-6)
    assert module.__dict__["_graph_cache"] is not None


def test_sparse_switch_off_gives_same_result():
    """Check that disabling the sparse path (as the benchmark does) agrees."""
    module = _module(k=40, density=0.05)
    X = torch.randn(60, 12)
    with torch.no_grad():
        sparse = module(X)
        module._sparse_kernels = False
        dense = module(X)
    assert_allclose(sparse.numpy(), dense.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_inference_matches_cpu():
    """Check that no-grad inference on CUDA (dense torch path) matches the CPU."""
    module = _module(k=30, density=0.1, dtype="float64")
    X = torch.randn(20, 12, dtype=torch.float64)
    with torch.no_grad():
        expected = module(X)
        module.cuda()
        out = module(X.cuda())
    assert out.device.type == "cuda"
    assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("n", [7, 150, 300])
def test_sparse_training_matches_dense(always_sparse, dtype, activation, density, n):
    """Check the sparse forward and backward against the dense recurrence.

    H, Z and the gradients of A and W (zero off the kept edges) agree; n=300 spans
    more than one block of samples.
    """
    A, W, G = _inputs(n, 37, density, dtype, activation, seed=3)
    mask = torch.as_tensor(G).to(dtype)
    grads = []
    for graph in (None, SparseGraph(G)):
        A_ = A.clone().requires_grad_()
        W_ = W.clone().requires_grad_()
        H, Z = recurrence(
            A_, W_, activation, mask=mask, graph=graph, return_preact=True
        )
        target = torch.linspace(-1, 1, H.numel(), dtype=dtype).reshape(H.shape)
        (H * target).sum().backward()
        grads.append((H.detach(), Z, A_.grad, W_.grad))
    for ref, got in zip(*grads, strict=True):
        # sums over n rows: float32 rounding grows with n and the values' scale
        scale = float(ref.abs().max())
        tol = (
            {"rtol": 1e-3, "atol": 1e-4 * scale}
            if dtype == torch.float32
            else _tol(dtype)
        )
        assert_allclose(got.numpy(), ref.numpy(), **tol)
    assert not grads[1][3].numpy()[~G].any()  # no gradient off the graph


def test_sparse_training_only_what_is_needed(always_sparse):
    """Check that a frozen W (or a leaf A) gets no gradient, and the other does."""
    A, W, G = _inputs(20, 10, 0.3, torch.float64, "relu")
    A.requires_grad_()
    H = recurrence(A, W, "relu", graph=SparseGraph(G))
    H.sum().backward()
    assert A.grad is not None and W.grad is None


@pytest.mark.parametrize("density, sparse", [(0.03, True), (0.4, True), (0.8, False)])
def test_module_trains_on_the_sparse_path(kernel_calls, density, sparse):
    """Check that a training step takes the sparse kernels only on a sparse graph.

    At k=40 the neuron-major path pays off in training up to 60 % of the edges. The
    step's gradients match the ones with the sparse kernels switched off.
    """
    calls = kernel_calls("_sparse_network_forward")
    module = _module(k=40, density=density, dtype="float64")
    assert module._graph_state().levels().n_levels > 2
    X = torch.randn(60, 12, dtype=torch.float64)
    grads = []
    for switch in (True, False):
        module._sparse_kernels = switch
        module.zero_grad()
        module(X).square().mean().backward()
        grads.append([p.grad.clone() for p in module.parameters()])
    assert bool(calls) == sparse
    for got, ref in zip(*grads, strict=True):
        assert_allclose(got.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "squared_relu", "tanh"])
def test_sparse_network_gradients(activation):
    """Check sparse_network's hand-written backward against finite differences.

    Every input gets its gradient (X included); W's is zero off the kept edges.
    """
    gen = torch.Generator().manual_seed(3)
    k, n, d, o = 9, 7, 4, 2
    G = np.tril(np.random.default_rng(3).random((k, k)) < 0.3, -1)
    G[5, 2] = G[8, 5] = True  # a path of three levels at least
    graph = SparseGraph(G)
    args = [
        torch.randn(n, d, generator=gen, dtype=torch.float64),
        torch.randn(k, d, generator=gen, dtype=torch.float64),
        torch.rand(k, generator=gen, dtype=torch.float64) + 0.5,
        torch.randn(k, k, generator=gen, dtype=torch.float64),
        torch.randn(o, k, generator=gen, dtype=torch.float64),
        torch.randn(o, generator=gen, dtype=torch.float64),
    ]
    args = [a.requires_grad_(True) for a in args]

    def fn(*tensors):
        return sparse_network(*tensors, graph, activation)

    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-6)
    fn(*args).sum().backward()
    off_graph = ~torch.as_tensor(strictly_lower_part(G))
    assert torch.all(args[3].grad[off_graph] == 0)
    with torch.no_grad():
        A = args[0] @ args[1].T + args[2]
        H = recurrence(A, args[3] * torch.as_tensor(G).double(), activation)
        expected = H @ args[4].T + args[5]
        got = fn(*args)
    assert got.grad_fn is None
    assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_empty_graph_forward_is_the_general_path(activation):
    """Check that the empty graph's functional forward pass gives, bit for bit,
    the outputs and gradients of the general path (encoder, levels, decoder)."""
    torch.manual_seed(0)
    module = FreeNetModule(6, 9, 2, activation=activation, initial_graph="empty")
    X = torch.randn(17, 6)
    fast = module(X)
    fast.square().sum().backward()
    grads = [
        p.grad.clone() if p.grad is not None else None for p in module.parameters()
    ]
    module.zero_grad(set_to_none=True)
    general = module._output(module._hidden(X, False), X)
    general.square().sum().backward()
    assert torch.equal(fast, general)
    for got, p in zip(grads, module.parameters(), strict=True):
        assert (got is None) == (p.grad is None)
        if got is not None:
            assert torch.equal(got, p.grad)
    assert module.weight.grad is None  # the recurrent weights take no part
