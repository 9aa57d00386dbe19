# SPDX-License-Identifier: BSD-3-Clause
"""Tests for the neuron recurrence kernel (``sklearn_freenets._kernel``)."""

from __future__ import annotations

import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_freenets._kernel import ACTIVATIONS, recurrence

BACKENDS = ["numba", "torch"]
DTYPES = [torch.float32, torch.float64]


def _act(z: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return torch.relu(z)
    if activation == "squared_relu":
        return torch.relu(z) ** 2
    return torch.tanh(z)


def _reference(
    A: torch.Tensor, W: torch.Tensor, activation: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Naive per-neuron loop, differentiable through autograd."""
    n, k = A.shape
    hs: list[torch.Tensor] = []
    zs: list[torch.Tensor] = []
    for i in range(k):
        z = A[:, i]
        for j in range(i):
            z = z + W[i, j] * hs[j]
        zs.append(z)
        hs.append(_act(z, activation))
    return torch.stack(hs, dim=1), torch.stack(zs, dim=1)


def _inputs(
    n: int, k: int, dtype: torch.dtype, activation: str = "tanh", seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(n, k, generator=gen, dtype=dtype)
    scale = 0.25 if activation == "squared_relu" else 1.0
    W = scale * torch.randn(k, k, generator=gen, dtype=dtype) / k**0.5
    return A, W


def _grads(
    A: torch.Tensor, W: torch.Tensor, activation: str, backend: str | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Output and gradients of a fixed random projection of H."""
    A = A.detach().clone().requires_grad_(True)
    W = W.detach().clone().requires_grad_(True)
    if backend is None:
        H, _ = _reference(A, torch.tril(W, -1), activation)
    else:
        H = recurrence(A, W, activation, backend=backend)
    gen = torch.Generator().manual_seed(1)
    G = torch.randn(H.shape, generator=gen, dtype=H.dtype).to(H.device)
    (H * G).sum().backward()
    dW = W.grad if W.grad is not None else torch.zeros_like(W)
    return H.detach(), A.grad, dW


def _tol(dtype: torch.dtype) -> dict[str, float]:
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-10}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradcheck(backend, activation):
    """Check that the hand-written backward passes torch.autograd.gradcheck."""
    gen = torch.Generator().manual_seed(0)
    n, k = 5, 6
    # |A| >= 0.5 and small weights keep every Z away from the relu kink at 0.
    sign = torch.where(torch.rand(n, k, generator=gen) < 0.5, -1.0, 1.0)
    A = (sign * (0.5 + torch.rand(n, k, generator=gen))).double()
    W = (0.05 * torch.randn(k, k, generator=gen)).double()
    A.requires_grad_(True)
    W.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, w: recurrence(a, w, activation, backend=backend), (A, W)
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_matches_reference(dtype, backend, activation):
    """Check that forward and gradients match a naive per-neuron loop."""
    A, W = _inputs(37, 23, dtype, activation)
    H_ref, dA_ref, dW_ref = _grads(A, W, activation, None)
    H, dA, dW = _grads(A, W, activation, backend)
    assert H.dtype == dtype and dA.dtype == dtype and dW.dtype == dtype
    assert_allclose(H.numpy(), H_ref.numpy(), **_tol(dtype))
    assert_allclose(dA.numpy(), dA_ref.numpy(), **_tol(dtype))
    assert_allclose(dW.numpy(), dW_ref.numpy(), **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numba_matches_torch_backend(dtype, activation):
    """Check that the numba and torch backends agree, forward and backward."""
    A, W = _inputs(131, 100, dtype, activation, seed=3)
    H_nb, dA_nb, dW_nb = _grads(A, W, activation, "numba")
    H_t, dA_t, dW_t = _grads(A, W, activation, "torch")
    assert_allclose(H_nb.numpy(), H_t.numpy(), **_tol(dtype))
    assert_allclose(dA_nb.numpy(), dA_t.numpy(), **_tol(dtype))
    assert_allclose(dW_nb.numpy(), dW_t.numpy(), **_tol(dtype))


@pytest.mark.parametrize("backend", BACKENDS)
def test_ignores_diagonal_and_upper_triangle(backend):
    """Check that only the strictly lower triangle of W is used and gets grads."""
    A, W = _inputs(20, 9, torch.float64)
    W_noisy = W.clone()
    upper = torch.ones(9, 9, dtype=torch.bool).triu()
    W_noisy[upper] = 5.0
    H, dA, dW = _grads(A, torch.tril(W, -1), "tanh", backend)
    H2, dA2, dW2 = _grads(A, W_noisy, "tanh", backend)
    assert_allclose(H2.numpy(), H.numpy(), rtol=1e-12)
    assert_allclose(dA2.numpy(), dA.numpy(), rtol=1e-12)
    assert_allclose(dW2.numpy(), dW.numpy(), rtol=1e-12)
    assert torch.all(dW2[upper] == 0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_return_preact(backend, activation):
    """Check that return_preact gives a detached Z with H == act(Z)."""
    A, W = _inputs(19, 11, torch.float64, activation)
    A.requires_grad_(True)
    H, Z = recurrence(A, W, activation, return_preact=True, backend=backend)
    assert not Z.requires_grad
    assert H.requires_grad
    assert_allclose(H.detach().numpy(), _act(Z, activation).numpy(), rtol=1e-12)
    _, Z_ref = _reference(A.detach(), torch.tril(W, -1), activation)
    assert_allclose(Z.numpy(), Z_ref.numpy(), rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        H_ng, Z_ng = recurrence(A, W, activation, return_preact=True, backend=backend)
    assert_allclose(Z_ng.numpy(), Z.numpy(), rtol=1e-12)
    assert_allclose(H_ng.numpy(), H.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n, k", [(1, 1), (1, 7), (9, 1), (17, 5), (33, 40)])
def test_edge_shapes(backend, n, k):
    """Check k=1, n=1 and n not a multiple of the sample block."""
    A, W = _inputs(n, k, torch.float64)
    H_ref, dA_ref, dW_ref = _grads(A, W, "tanh", None)
    H, dA, dW = _grads(A, W, "tanh", backend)
    assert H.shape == (n, k)
    assert_allclose(H.numpy(), H_ref.numpy(), rtol=1e-10, atol=1e-14)
    assert_allclose(dA.numpy(), dA_ref.numpy(), rtol=1e-10, atol=1e-14)
    assert_allclose(dW.numpy(), dW_ref.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_contiguous_inputs(backend):
    """Check that strided and transposed inputs give the same results."""
    A, W = _inputs(21, 13, torch.float64)
    A_strided = torch.zeros(21, 26, dtype=torch.float64)
    A_strided[:, ::2] = A
    W_t = W.t().contiguous().t()
    assert not A_strided[:, ::2].is_contiguous() and not W_t.is_contiguous()
    H, dA, dW = _grads(A, W, "relu", backend)
    H2, dA2, dW2 = _grads(A_strided[:, ::2], W_t, "relu", backend)
    assert_allclose(H2.numpy(), H.numpy(), rtol=1e-12)
    assert_allclose(dA2.numpy(), dA.numpy(), rtol=1e-12)
    assert_allclose(dW2.numpy(), dW.numpy(), rtol=1e-12)
    # Gradient of a non-contiguous output slice.
    A2 = A.clone().requires_grad_(True)
    out = recurrence(A2, W, "relu", backend=backend)
    out.t()[::2].sum().backward()
    assert A2.grad.shape == A.shape


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_grad_path(backend):
    """Check that inference mode returns plain tensors equal to the training path."""
    A, W = _inputs(10, 8, torch.float32)
    A.requires_grad_(True)
    with torch.no_grad():
        H = recurrence(A, W, "relu", backend=backend)
    assert H.grad_fn is None and not H.requires_grad
    H2 = recurrence(A, W, "relu", backend=backend)
    assert H2.grad_fn is not None
    assert_allclose(H.numpy(), H2.detach().numpy(), rtol=1e-6)
    H3 = recurrence(A.detach(), W, "relu", backend=backend)
    assert H3.grad_fn is None


def test_grad_only_for_w():
    """Check that gradients flow to W alone when A does not require them."""
    A, W = _inputs(12, 6, torch.float64)
    W.requires_grad_(True)
    recurrence(A, W, "tanh").sum().backward()
    assert W.grad is not None and torch.all(W.grad.triu() == 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation": "sigmoid"}, "activation must be one of"),
        ({"activation": "relu", "backend": "jax"}, "backend must be one of"),
    ],
)
def test_invalid_arguments(kwargs, match):
    """Check that a bad activation or backend raises a clear ValueError."""
    A, W = _inputs(4, 3, torch.float32)
    with pytest.raises(ValueError, match=match):
        recurrence(A, W, **kwargs)


def test_numba_backend_rejects_unsupported_dtype():
    """Check that backend='numba' refuses dtypes it cannot compile for."""
    A, W = _inputs(4, 3, torch.float32)
    with pytest.raises(ValueError, match="backend='numba'"):
        recurrence(A.half(), W.half(), "relu", backend="numba")


def test_bad_shapes():
    """Check that mismatched shapes raise a ValueError."""
    A, W = _inputs(4, 3, torch.float32)
    with pytest.raises(ValueError, match="shape"):
        recurrence(A, W[:2], "relu")


def test_torch_threads_unchanged():
    """Check that calling the kernel leaves torch's thread count unchanged."""
    n_threads = torch.get_num_threads()
    A, W = _inputs(40, 12, torch.float32)
    A.requires_grad_(True)
    recurrence(A, W, "relu", backend="numba").sum().backward()
    with torch.no_grad():
        recurrence(A, W, "tanh", backend="auto")
    assert torch.get_num_threads() == n_threads


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_cuda_matches_cpu(activation):
    """Check that the auto backend on CUDA matches the CPU kernels."""
    A, W = _inputs(50, 30, torch.float64, activation)
    H, dA, dW = _grads(A, W, activation, "numba")
    H2, dA2, dW2 = _grads(A.cuda(), W.cuda(), activation, "auto")
    assert H2.device.type == "cuda"
    assert_allclose(H2.cpu().numpy(), H.numpy(), rtol=1e-10)
    assert_allclose(dA2.cpu().numpy(), dA.numpy(), rtol=1e-10)
    assert_allclose(dW2.cpu().numpy(), dW.numpy(), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numba_neuron_blocks_match_torch_backend(dtype, activation):
    """At large k the numba backward goes by neuron blocks (a matmul between them)."""
    from sklearn_freenets import _kernel

    k = 300
    assert k >= _kernel._HYBRID_BWD_MIN_K
    A, W = _inputs(131, k, dtype, activation, seed=4)

    def check(x: torch.Tensor, ref: torch.Tensor) -> None:
        # float32 sums of ~k or ~n terms: absolute tolerance relative to the scale
        # (both backends are ~5e-6 of max |dW| from a float64 computation).
        tol = dict(_tol(dtype))
        if dtype == torch.float32:
            tol["atol"] = 2e-5 * max(1.0, float(ref.abs().max()))
        assert_allclose(x.numpy(), ref.numpy(), **tol)

    H_nb, dA_nb, dW_nb = _grads(A, W, activation, "numba")
    H_t, dA_t, dW_t = _grads(A, W, activation, "torch")
    check(H_nb, H_t)
    check(dA_nb, dA_t)
    check(dW_nb, dW_t)
    with torch.no_grad():
        H1, Z1 = recurrence(A, W, activation, return_preact=True, backend="numba")
        H2, Z2 = recurrence(A, W, activation, return_preact=True, backend="torch")
    check(Z1, Z2)
    check(H1, H2)


@pytest.mark.parametrize("block", [1, 3, 8])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numba_small_neuron_blocks(monkeypatch, block, activation):
    """Force the neuron-block backward with tiny (and uneven) blocks."""
    from sklearn_freenets import _kernel

    monkeypatch.setattr(_kernel, "_HYBRID_BWD_MIN_K", 0)
    monkeypatch.setattr(_kernel, "_HYBRID_BWD_BLOCK", block)
    A, W = _inputs(21, 23, torch.float64, activation, seed=5)
    H_ref, dA_ref, dW_ref = _grads(A, W, activation, None)
    H, dA, dW = _grads(A, W, activation, "numba")
    assert_allclose(H.numpy(), H_ref.numpy(), rtol=1e-10, atol=1e-14)
    assert_allclose(dA.numpy(), dA_ref.numpy(), rtol=1e-10, atol=1e-14)
    assert_allclose(dW.numpy(), dW_ref.numpy(), rtol=1e-10, atol=1e-14)
    H2, Z2 = recurrence(A, W, activation, return_preact=True, backend="numba")
    _, Z_ref = _reference(A, torch.tril(W, -1), activation)
    assert_allclose(Z2.numpy(), Z_ref.numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(H2.numpy(), H_ref.numpy(), rtol=1e-10, atol=1e-14)
    gen = torch.Generator().manual_seed(0)
    n, k = 5, 7
    sign = torch.where(torch.rand(n, k, generator=gen) < 0.5, -1.0, 1.0)
    A = (sign * (0.5 + torch.rand(n, k, generator=gen))).double().requires_grad_(True)
    W = (0.05 * torch.randn(k, k, generator=gen)).double().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, w: recurrence(a, w, activation, backend="numba"), (A, W)
    )
