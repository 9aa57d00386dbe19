# SPDX-License-Identifier: BSD-3-Clause
"""The FreeNet neuron recurrence, forward and backward.

A FreeNet has ``k`` neurons wired as a directed acyclic graph whose adjacency is
strictly lower triangular. Given the encoder output ``A`` of shape ``(n, k)`` (bias
included) and the masked recurrent weights ``W`` of shape ``(k, k)``, neuron ``i``
computes::

    Z[:, i] = A[:, i] + sum_{j < i} W[i, j] * H[:, j]
    H[:, i] = act(Z[:, i])

:func:`recurrence` evaluates this inside one :class:`torch.autograd.Function` with a
hand-written backward. Two interchangeable backends compute it:

- ``"numba"``: serial compiled CPU kernels (float32 and float64) that process a block
  of samples at a time so that every weight load is reused across the block. They are
  compiled lazily on the first call and cached on disk.
- ``"torch"``: plain torch operations on neuron blocks; it runs on any device and
  dtype and gives the same numbers up to float rounding.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

ACTIVATIONS: tuple[str, ...] = ("relu", "squared_relu", "tanh")
BACKENDS: tuple[str, ...] = ("auto", "numba", "torch")

_ACT_CODES: dict[str, int] = {name: code for code, name in enumerate(ACTIVATIONS)}
_RELU, _SQUARED_RELU, _TANH = 0, 1, 2

# Samples processed together by the compiled kernels (one weight load feeds them all).
_SAMPLE_BLOCK = 16
# Neurons per block in the torch backend: one matmul brings in all earlier blocks.
_TORCH_NEURON_BLOCK = 32


# ---------------------------------------------------------------------------------
# Compiled CPU kernels (numba). The functions below are plain Python until
# ``_load_numba_kernels`` compiles them, so importing this module stays cheap.
# Only the strictly lower triangle of ``W`` is ever read.
# ---------------------------------------------------------------------------------


def _nb_act(z, zero, act):  # pragma: no cover - compiled by numba
    if act == 0:
        return zero if z < zero else z
    if act == 1:
        r = zero if z < zero else z
        return r * r
    return np.tanh(z)


def _nb_act_grad(h, zero, act):  # pragma: no cover - compiled by numba
    # Derivative of the activation written with its output h = act(z).
    if act == 0:
        return zero + (h > zero)
    if act == 1:
        return 2 * np.sqrt(h)
    return 1 - h * h


def _nb_forward(A, W, H, Z, act, store_z):  # pragma: no cover - compiled by numba
    # Blocks of 8 samples: every weight load feeds 8 inner products, each written
    # over a contiguous row so that numba vectorizes it (reassociation allowed).
    n, k = A.shape
    zero = np.zeros(1, dtype=A.dtype)[0]
    n8 = n - n % 8
    for s0 in range(0, n8, 8):
        h0 = H[s0]
        h1 = H[s0 + 1]
        h2 = H[s0 + 2]
        h3 = H[s0 + 3]
        h4 = H[s0 + 4]
        h5 = H[s0 + 5]
        h6 = H[s0 + 6]
        h7 = H[s0 + 7]
        for i in range(k):
            wi = W[i]
            a0 = A[s0, i]
            a1 = A[s0 + 1, i]
            a2 = A[s0 + 2, i]
            a3 = A[s0 + 3, i]
            a4 = A[s0 + 4, i]
            a5 = A[s0 + 5, i]
            a6 = A[s0 + 6, i]
            a7 = A[s0 + 7, i]
            for j in range(i):
                w = wi[j]
                a0 += w * h0[j]
                a1 += w * h1[j]
                a2 += w * h2[j]
                a3 += w * h3[j]
                a4 += w * h4[j]
                a5 += w * h5[j]
                a6 += w * h6[j]
                a7 += w * h7[j]
            if store_z:
                Z[s0, i] = a0
                Z[s0 + 1, i] = a1
                Z[s0 + 2, i] = a2
                Z[s0 + 3, i] = a3
                Z[s0 + 4, i] = a4
                Z[s0 + 5, i] = a5
                Z[s0 + 6, i] = a6
                Z[s0 + 7, i] = a7
            h0[i] = _nb_act(a0, zero, act)
            h1[i] = _nb_act(a1, zero, act)
            h2[i] = _nb_act(a2, zero, act)
            h3[i] = _nb_act(a3, zero, act)
            h4[i] = _nb_act(a4, zero, act)
            h5[i] = _nb_act(a5, zero, act)
            h6[i] = _nb_act(a6, zero, act)
            h7[i] = _nb_act(a7, zero, act)
    for s in range(n8, n):
        h0 = H[s]
        for i in range(k):
            wi = W[i]
            a0 = A[s, i]
            for j in range(i):
                a0 += wi[j] * h0[j]
            if store_z:
                Z[s, i] = a0
            h0[i] = _nb_act(a0, zero, act)


def _nb_backward(dH, W, H, dZ, act):  # pragma: no cover - compiled by numba
    # dZ[:, j] = (dH[:, j] + sum_{i > j} W[i, j] dZ[:, i]) * act'(Z[:, j]), written
    # as inner products over contiguous rows of WT (WT[j, i] = W[i, j], i > j).
    n, k = dH.shape
    WT = np.ascontiguousarray(W.T)
    zero = np.zeros(1, dtype=dH.dtype)[0]
    n8 = n - n % 8
    for s0 in range(0, n8, 8):
        d0 = dZ[s0]
        d1 = dZ[s0 + 1]
        d2 = dZ[s0 + 2]
        d3 = dZ[s0 + 3]
        d4 = dZ[s0 + 4]
        d5 = dZ[s0 + 5]
        d6 = dZ[s0 + 6]
        d7 = dZ[s0 + 7]
        for jj in range(k):
            j = k - 1 - jj
            wj = WT[j, j + 1 :]
            e0 = d0[j + 1 :]
            e1 = d1[j + 1 :]
            e2 = d2[j + 1 :]
            e3 = d3[j + 1 :]
            e4 = d4[j + 1 :]
            e5 = d5[j + 1 :]
            e6 = d6[j + 1 :]
            e7 = d7[j + 1 :]
            g0 = dH[s0, j]
            g1 = dH[s0 + 1, j]
            g2 = dH[s0 + 2, j]
            g3 = dH[s0 + 3, j]
            g4 = dH[s0 + 4, j]
            g5 = dH[s0 + 5, j]
            g6 = dH[s0 + 6, j]
            g7 = dH[s0 + 7, j]
            for q in range(wj.shape[0]):
                w = wj[q]
                g0 += w * e0[q]
                g1 += w * e1[q]
                g2 += w * e2[q]
                g3 += w * e3[q]
                g4 += w * e4[q]
                g5 += w * e5[q]
                g6 += w * e6[q]
                g7 += w * e7[q]
            d0[j] = g0 * _nb_act_grad(H[s0, j], zero, act)
            d1[j] = g1 * _nb_act_grad(H[s0 + 1, j], zero, act)
            d2[j] = g2 * _nb_act_grad(H[s0 + 2, j], zero, act)
            d3[j] = g3 * _nb_act_grad(H[s0 + 3, j], zero, act)
            d4[j] = g4 * _nb_act_grad(H[s0 + 4, j], zero, act)
            d5[j] = g5 * _nb_act_grad(H[s0 + 5, j], zero, act)
            d6[j] = g6 * _nb_act_grad(H[s0 + 6, j], zero, act)
            d7[j] = g7 * _nb_act_grad(H[s0 + 7, j], zero, act)
    for s in range(n8, n):
        d0 = dZ[s]
        for jj in range(k):
            j = k - 1 - jj
            wj = WT[j, j + 1 :]
            e0 = d0[j + 1 :]
            g0 = dH[s, j]
            for q in range(wj.shape[0]):
                g0 += wj[q] * e0[q]
            d0[j] = g0 * _nb_act_grad(H[s, j], zero, act)


_NUMBA_LOCK = threading.Lock()
_NUMBA_KERNELS: dict[str, Callable[..., Any]] = {}


def _ensure_numba_cache_dir() -> None:
    """Point numba's cache to a writable directory when the package dir is not.

    Only acts when ``NUMBA_CACHE_DIR`` is unset; numba itself also falls back to a
    user-wide directory, this just makes the choice explicit and predictable.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    pkg_dir = os.path.dirname(os.path.abspath(__file__))
    pycache = os.path.join(pkg_dir, "__pycache__")
    target = pycache if os.path.isdir(pycache) else pkg_dir
    if os.access(target, os.W_OK):
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    for candidate in (base, tempfile.gettempdir()):
        cache_dir = os.path.join(candidate, "sklearn_freenets", "numba")
        try:
            os.makedirs(cache_dir, exist_ok=True)
        except OSError:
            continue
        if os.access(cache_dir, os.W_OK):
            os.environ["NUMBA_CACHE_DIR"] = cache_dir
            if "numba" in sys.modules:  # numba reads it at import; update live config
                sys.modules["numba"].config.CACHE_DIR = cache_dir
            return


def _load_numba_kernels() -> dict[str, Callable[..., Any]]:
    """Compile (or load from the on-disk cache) the numba kernels, once.

    Returns
    -------
    kernels : dict
        Maps ``"forward"`` and ``"backward"`` to numba dispatchers.
    """
    if _NUMBA_KERNELS:
        return _NUMBA_KERNELS
    with _NUMBA_LOCK:
        if _NUMBA_KERNELS:
            return _NUMBA_KERNELS
        n_threads = torch.get_num_threads()
        _ensure_numba_cache_dir()
        import numba

        global _nb_act, _nb_act_grad
        _nb_act = numba.njit(inline="always")(_nb_act)
        _nb_act_grad = numba.njit(inline="always")(_nb_act_grad)
        # Reassociation lets numba vectorize the inner products; no other fast-math
        # flag is used, so NaN and inf propagate as in torch.
        options = {"nogil": True, "fastmath": {"reassoc", "contract"}}
        kernels = {}
        for name, func in (("forward", _nb_forward), ("backward", _nb_backward)):
            try:
                kernels[name] = numba.njit(cache=True, **options)(func)
            except Exception:  # no writable cache location: compile without it
                kernels[name] = numba.njit(cache=False, **options)(func)
        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
        _NUMBA_KERNELS.update(kernels)
    return _NUMBA_KERNELS


def _numba_forward(
    A: torch.Tensor, W: torch.Tensor, act: int, store_z: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run the compiled forward kernel on contiguous CPU float tensors."""
    kernels = _NUMBA_KERNELS or _load_numba_kernels()
    H = torch.empty_like(A)
    Z = torch.empty_like(A) if store_z else None
    Hn = H.numpy()
    Zn = Z.numpy() if Z is not None else Hn
    An, Wn = A.detach().numpy(), W.detach().numpy()
    kernels["forward"](An, Wn, Hn, Zn, act, store_z)
    return H, Z


def _numba_backward(
    dH: torch.Tensor, W: torch.Tensor, H: torch.Tensor, act: int
) -> torch.Tensor:
    """Run the compiled backward kernel; returns ``dZ``."""
    kernels = _NUMBA_KERNELS or _load_numba_kernels()
    dZ = torch.empty_like(dH)
    kernels["backward"](dH.numpy(), W.detach().numpy(), H.numpy(), dZ.numpy(), act)
    return dZ


# ---------------------------------------------------------------------------------
# Plain torch backend (any device, any floating dtype).
# ---------------------------------------------------------------------------------


def _torch_act(z: torch.Tensor, act: int) -> torch.Tensor:
    """Apply the activation with code ``act``."""
    if act == _RELU:
        return torch.relu(z)
    if act == _SQUARED_RELU:
        return torch.relu(z).square()
    return torch.tanh(z)


def _torch_act_grad(H: torch.Tensor, act: int) -> torch.Tensor:
    """Derivative of the activation, expressed through its output ``H``."""
    if act == _RELU:
        return (H > 0).to(H.dtype)
    if act == _SQUARED_RELU:
        return 2 * H.sqrt()
    return 1 - H * H


def _torch_forward(
    A: torch.Tensor, W: torch.Tensor, act: int, store_z: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Blocked forward with torch ops: a matmul per block, a short loop inside."""
    n, k = A.shape
    Wl = torch.tril(W, -1)
    Z = A.clone(memory_format=torch.contiguous_format)
    H = torch.empty_like(Z)
    B = _TORCH_NEURON_BLOCK
    for b0 in range(0, k, B):
        b1 = min(b0 + B, k)
        if b0 > 0:
            Z[:, b0:b1].addmm_(H[:, :b0], Wl[b0:b1, :b0].t())
        for i in range(b0, b1):
            if i > b0:
                Z[:, i].addmv_(H[:, b0:i], Wl[i, b0:i])
            H[:, i] = _torch_act(Z[:, i], act)
    return H, (Z if store_z else None)


def _torch_backward(
    dH: torch.Tensor, W: torch.Tensor, H: torch.Tensor, act: int
) -> torch.Tensor:
    """Blocked backward with torch ops; returns ``dZ``."""
    n, k = dH.shape
    Wl = torch.tril(W, -1)
    G = dH.clone(memory_format=torch.contiguous_format)
    D = _torch_act_grad(H, act)
    dZ = torch.empty_like(G)
    B = _TORCH_NEURON_BLOCK
    for b1 in range(k, 0, -B):
        b0 = max(b1 - B, 0)
        if b1 < k:
            G[:, b0:b1].addmm_(dZ[:, b1:], Wl[b1:, b0:b1])
        for j in range(b1 - 1, b0 - 1, -1):
            if j < b1 - 1:
                G[:, j].addmv_(dZ[:, j + 1 : b1], Wl[j + 1 : b1, j])
            torch.mul(G[:, j], D[:, j], out=dZ[:, j])
    return dZ


# ---------------------------------------------------------------------------------
# Dispatch and autograd.
# ---------------------------------------------------------------------------------


def _forward(
    A: torch.Tensor, W: torch.Tensor, act: int, use_numba: bool, store_z: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Dispatch the forward pass to the chosen backend (no autograd)."""
    if use_numba:
        return _numba_forward(A, W, act, store_z)
    return _torch_forward(A, W, act, store_z)


class _Recurrence(torch.autograd.Function):
    """The recurrence as one autograd node (forward plus hand-written backward)."""

    @staticmethod
    def forward(ctx, A, W, act, use_numba, return_preact):
        H, Z = _forward(A, W, act, use_numba, return_preact)
        ctx.save_for_backward(W, H)
        ctx.act = act
        ctx.use_numba = use_numba
        if return_preact:
            ctx.mark_non_differentiable(Z)
            return H, Z
        return H

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dH, *unused):
        W, H = ctx.saved_tensors
        dH = dH.contiguous()
        if ctx.use_numba:
            dZ = _numba_backward(dH, W, H, ctx.act)
        else:
            dZ = _torch_backward(dH, W, H, ctx.act)
        dA = dZ if ctx.needs_input_grad[0] else None
        dW = None
        if ctx.needs_input_grad[1]:
            dW = torch.mm(dZ.t(), H).tril_(-1)
        return dA, dW, None, None, None


def _use_numba(A: torch.Tensor, backend: str) -> bool:
    """Resolve the backend for ``A``; ``True`` means the compiled CPU kernels."""
    numba_ok = A.device.type == "cpu" and A.dtype in (torch.float32, torch.float64)
    if backend == "torch":
        return False
    if backend == "numba":
        if not numba_ok:
            raise ValueError(
                "backend='numba' needs float32 or float64 CPU tensors, got "
                f"dtype={A.dtype} on device {A.device}; use backend='torch' or 'auto'."
            )
        return True
    return numba_ok


def recurrence(
    A: torch.Tensor,
    W: torch.Tensor,
    activation: str,
    *,
    return_preact: bool = False,
    backend: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Evaluate the FreeNet neuron recurrence.

    Computes, neuron by neuron in topological order,
    ``Z[:, i] = A[:, i] + sum_{j < i} W[i, j] * H[:, j]`` and
    ``H[:, i] = act(Z[:, i])``. Only the strictly lower triangle of ``W`` is used;
    its diagonal and upper triangle are treated as zero.

    Parameters
    ----------
    A : torch.Tensor of shape (n_samples, k)
        Input to each neuron (the encoder output, bias included).
    W : torch.Tensor of shape (k, k)
        Recurrent weights, already multiplied by the adjacency mask. ``W[i, j]`` is
        the weight of the edge from neuron ``j`` to neuron ``i`` (``j < i``).
    activation : {"relu", "squared_relu", "tanh"}
        Activation applied by every neuron.
    return_preact : bool, default=False
        If True, also return the pre-activations ``Z`` (detached).
    backend : {"auto", "numba", "torch"}, default="auto"
        ``"numba"`` uses compiled serial CPU kernels (float32/float64 CPU tensors),
        ``"torch"`` uses plain torch operations (any device and dtype), ``"auto"``
        picks numba when it applies and torch otherwise.

    Returns
    -------
    H : torch.Tensor of shape (n_samples, k)
        Neuron activations, differentiable with respect to ``A`` and ``W``.
    Z : torch.Tensor of shape (n_samples, k)
        Pre-activations, not differentiable. Only returned if ``return_preact``.

    Notes
    -----
    The gradient with respect to ``W`` is zero outside the strictly lower
    triangle. Double backward is not supported. When no gradient is needed
    (``torch.no_grad`` or no input requiring grad) nothing is kept for backward.
    """
    if activation not in _ACT_CODES:
        raise ValueError(
            f"activation must be one of {ACTIVATIONS}, got {activation!r}."
        )
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}.")
    if A.dim() != 2 or W.shape != (A.shape[1], A.shape[1]):
        raise ValueError(
            "A must have shape (n_samples, k) and W shape (k, k); got "
            f"A.shape={tuple(A.shape)} and W.shape={tuple(W.shape)}."
        )
    if W.dtype != A.dtype or W.device != A.device:
        W = W.to(dtype=A.dtype, device=A.device)
    act = _ACT_CODES[activation]
    use_numba = _use_numba(A, backend)
    store_z = bool(return_preact)

    if not (torch.is_grad_enabled() and (A.requires_grad or W.requires_grad)):
        H, Z = _forward(
            A.detach().contiguous(), W.detach().contiguous(), act, use_numba, store_z
        )
        return (H, Z) if store_z else H

    return _Recurrence.apply(A.contiguous(), W.contiguous(), act, use_numba, store_z)
