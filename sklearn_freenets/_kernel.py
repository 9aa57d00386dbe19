# SPDX-License-Identifier: BSD-3-Clause
"""The FreeNet neuron recurrence, forward and backward.

A FreeNet has ``k`` neurons wired as a directed acyclic graph whose adjacency is
strictly lower triangular. Given the encoder output ``A`` of shape ``(n, k)`` (bias
included) and the masked recurrent weights ``W`` of shape ``(k, k)``, neuron ``i``
computes::

    Z[:, i] = A[:, i] + sum_{j < i} W[i, j] * H[:, j]
    H[:, i] = act(Z[:, i])

:func:`recurrence` evaluates this inside one :class:`torch.autograd.Function` with a
hand-written backward (an optional adjacency ``mask`` is applied to ``W`` and to its
gradient inside it). :func:`recurrence_inference` evaluates it without autograd and,
given a :class:`SparseGraph` that is sparse enough, computes only the kept edges.
Two interchangeable backends compute it:

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

from sklearn_freenets._graph import strictly_lower_part

ACTIVATIONS: tuple[str, ...] = ("relu", "squared_relu", "tanh")
BACKENDS: tuple[str, ...] = ("auto", "numba", "torch")

_ACT_CODES: dict[str, int] = {name: code for code, name in enumerate(ACTIVATIONS)}
_RELU, _SQUARED_RELU, _TANH = 0, 1, 2

# Samples processed together by the compiled kernels (one weight load feeds them all).
_SAMPLE_BLOCK = 16
# Neurons per block in the torch backend: one matmul brings in all earlier blocks.
_TORCH_NEURON_BLOCK = 32
# From this many neurons on, the numba backward goes by neuron blocks of about
# _HYBRID_BWD_BLOCK: the GEMM-shaped coupling between blocks runs as one BLAS matmul
# per block (about 3x the compiled kernel's throughput, for a fixed cost of a few us
# per call) and the compiled kernel only does the in-block triangles. Measured on
# one core at batch 128 (float32), against the one-block kernel: 1.0x at k=200,
# 0.7x at k=256, 0.85-0.9x at k=300. (The same for the forward did not beat its
# one-block kernel, which handles neurons by pairs, up to k=300.)
_HYBRID_BWD_MIN_K = 224
_HYBRID_BWD_BLOCK = 80
# Samples per block of the sparse inference kernel (a (k, block) scratch).
_SPARSE_BLOCK = 128


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
    # Neurons go by pairs (i, i + 1): both inner products over j < i run in the
    # same loop, so every loaded activation feeds two multiply-adds, then neuron
    # i + 1 adds its edge from neuron i once i is activated.
    n, k = A.shape
    zero = np.zeros(1, dtype=A.dtype)[0]
    n8 = n - n % 8
    k2 = k - k % 2
    for s0 in range(0, n8, 8):
        h0 = H[s0]
        h1 = H[s0 + 1]
        h2 = H[s0 + 2]
        h3 = H[s0 + 3]
        h4 = H[s0 + 4]
        h5 = H[s0 + 5]
        h6 = H[s0 + 6]
        h7 = H[s0 + 7]
        for i in range(0, k2, 2):
            wi = W[i]
            wn = W[i + 1]
            a0 = A[s0, i]
            a1 = A[s0 + 1, i]
            a2 = A[s0 + 2, i]
            a3 = A[s0 + 3, i]
            a4 = A[s0 + 4, i]
            a5 = A[s0 + 5, i]
            a6 = A[s0 + 6, i]
            a7 = A[s0 + 7, i]
            b0 = A[s0, i + 1]
            b1 = A[s0 + 1, i + 1]
            b2 = A[s0 + 2, i + 1]
            b3 = A[s0 + 3, i + 1]
            b4 = A[s0 + 4, i + 1]
            b5 = A[s0 + 5, i + 1]
            b6 = A[s0 + 6, i + 1]
            b7 = A[s0 + 7, i + 1]
            for j in range(i):
                w = wi[j]
                v = wn[j]
                x0 = h0[j]
                x1 = h1[j]
                x2 = h2[j]
                x3 = h3[j]
                x4 = h4[j]
                x5 = h5[j]
                x6 = h6[j]
                x7 = h7[j]
                a0 += w * x0
                b0 += v * x0
                a1 += w * x1
                b1 += v * x1
                a2 += w * x2
                b2 += v * x2
                a3 += w * x3
                b3 += v * x3
                a4 += w * x4
                b4 += v * x4
                a5 += w * x5
                b5 += v * x5
                a6 += w * x6
                b6 += v * x6
                a7 += w * x7
                b7 += v * x7
            if store_z:
                Z[s0, i] = a0
                Z[s0 + 1, i] = a1
                Z[s0 + 2, i] = a2
                Z[s0 + 3, i] = a3
                Z[s0 + 4, i] = a4
                Z[s0 + 5, i] = a5
                Z[s0 + 6, i] = a6
                Z[s0 + 7, i] = a7
            v = wn[i]
            x0 = _nb_act(a0, zero, act)
            x1 = _nb_act(a1, zero, act)
            x2 = _nb_act(a2, zero, act)
            x3 = _nb_act(a3, zero, act)
            x4 = _nb_act(a4, zero, act)
            x5 = _nb_act(a5, zero, act)
            x6 = _nb_act(a6, zero, act)
            x7 = _nb_act(a7, zero, act)
            h0[i] = x0
            h1[i] = x1
            h2[i] = x2
            h3[i] = x3
            h4[i] = x4
            h5[i] = x5
            h6[i] = x6
            h7[i] = x7
            b0 += v * x0
            b1 += v * x1
            b2 += v * x2
            b3 += v * x3
            b4 += v * x4
            b5 += v * x5
            b6 += v * x6
            b7 += v * x7
            if store_z:
                Z[s0, i + 1] = b0
                Z[s0 + 1, i + 1] = b1
                Z[s0 + 2, i + 1] = b2
                Z[s0 + 3, i + 1] = b3
                Z[s0 + 4, i + 1] = b4
                Z[s0 + 5, i + 1] = b5
                Z[s0 + 6, i + 1] = b6
                Z[s0 + 7, i + 1] = b7
            h0[i + 1] = _nb_act(b0, zero, act)
            h1[i + 1] = _nb_act(b1, zero, act)
            h2[i + 1] = _nb_act(b2, zero, act)
            h3[i + 1] = _nb_act(b3, zero, act)
            h4[i + 1] = _nb_act(b4, zero, act)
            h5[i + 1] = _nb_act(b5, zero, act)
            h6[i + 1] = _nb_act(b6, zero, act)
            h7[i + 1] = _nb_act(b7, zero, act)
        for i in range(k2, k):
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


def _nb_backward(G, W, H, dZ, act, b, e):  # pragma: no cover - compiled by numba
    # Neurons b <= j < e, given G[:, j] = dH[:, j] + sum_{i >= e} W[i, j] dZ[:, i]
    # (G = dH when b = 0 and e = k): dZ[:, j] = (G[:, j] + sum_{j < i < e} W[i, j]
    # dZ[:, i]) * act'(Z[:, j]). Run in reversed neuron order (a = e - 1 - j), where
    # it has the shape of the forward: inner products over the prefix of a row of
    # R (R[a, c] = W[e - 1 - c, e - 1 - a], c < a) and of a row of a block-of-8
    # scratch D holding dZ reversed, which numba vectorizes best (aligned starts, no
    # reversed ranges). Blocks of 8 samples share every weight load.
    n = G.shape[0]
    m = e - b
    zero = np.zeros(1, dtype=G.dtype)[0]
    R = np.empty((m, m), dtype=W.dtype)
    for i in range(m):
        wi = W[b + i]
        c = m - 1 - i
        for j in range(i):
            R[m - 1 - j, c] = wi[b + j]
    D = np.empty((8, m), dtype=G.dtype)
    d0 = D[0]
    d1 = D[1]
    d2 = D[2]
    d3 = D[3]
    d4 = D[4]
    d5 = D[5]
    d6 = D[6]
    d7 = D[7]
    n8 = n - n % 8
    for s0 in range(0, n8, 8):
        for a in range(m):
            j = e - 1 - a
            ra = R[a]
            g0 = G[s0, j]
            g1 = G[s0 + 1, j]
            g2 = G[s0 + 2, j]
            g3 = G[s0 + 3, j]
            g4 = G[s0 + 4, j]
            g5 = G[s0 + 5, j]
            g6 = G[s0 + 6, j]
            g7 = G[s0 + 7, j]
            for c in range(a):
                w = ra[c]
                g0 += w * d0[c]
                g1 += w * d1[c]
                g2 += w * d2[c]
                g3 += w * d3[c]
                g4 += w * d4[c]
                g5 += w * d5[c]
                g6 += w * d6[c]
                g7 += w * d7[c]
            d0[a] = g0 * _nb_act_grad(H[s0, j], zero, act)
            d1[a] = g1 * _nb_act_grad(H[s0 + 1, j], zero, act)
            d2[a] = g2 * _nb_act_grad(H[s0 + 2, j], zero, act)
            d3[a] = g3 * _nb_act_grad(H[s0 + 3, j], zero, act)
            d4[a] = g4 * _nb_act_grad(H[s0 + 4, j], zero, act)
            d5[a] = g5 * _nb_act_grad(H[s0 + 5, j], zero, act)
            d6[a] = g6 * _nb_act_grad(H[s0 + 6, j], zero, act)
            d7[a] = g7 * _nb_act_grad(H[s0 + 7, j], zero, act)
        for r in range(8):
            dr = D[r]
            out = dZ[s0 + r]
            for a in range(m):
                out[e - 1 - a] = dr[a]
    for s in range(n8, n):
        for a in range(m):
            j = e - 1 - a
            ra = R[a]
            g0 = G[s, j]
            for c in range(a):
                g0 += ra[c] * d0[c]
            d0[a] = g0 * _nb_act_grad(H[s, j], zero, act)
        out = dZ[s]
        for a in range(m):
            out[e - 1 - a] = d0[a]


def _nb_act_vec(z, h, m, act):  # pragma: no cover - compiled by numba
    # h[:m] = act(z[:m]), one loop per activation (no branch inside) so that it
    # vectorizes; h may be z.
    zero = np.zeros(1, dtype=z.dtype)[0]
    if act == 0:
        for s in range(m):
            v = z[s]
            h[s] = zero if v < zero else v
    elif act == 1:
        for s in range(m):
            v = z[s]
            v = zero if v < zero else v
            h[s] = v * v
    else:
        for s in range(m):
            h[s] = np.tanh(z[s])


def _nb_act_grad_vec(g, h, d, m, act):  # pragma: no cover - compiled by numba
    # d[:m] = g[:m] * act'(z), written with the output h = act(z); d may be g.
    zero = np.zeros(1, dtype=g.dtype)[0]
    if act == 0:
        for s in range(m):
            d[s] = g[s] if h[s] > zero else zero
    elif act == 1:
        for s in range(m):
            d[s] = g[s] * (2 * np.sqrt(h[s]))
    else:
        for s in range(m):
            d[s] = g[s] * (1 - h[s] * h[s])


def _nb_sparse_forward(
    A, W, nodes, indptr, indices, slot, H, Z, act, store_z
):  # pragma: no cover - compiled by numba
    # The kept edges only. First H = act(A) row by row: final for every neuron
    # without incoming edges. Then, per block of samples, the neurons that have an
    # edge (``nodes``, increasing; neuron i is row ``slot[i]`` of the scratch) are
    # gathered into a (len(nodes), block) scratch, so that a neuron's activations
    # over the block are one contiguous row: each target neuron adds w * row_j for
    # each kept edge j -> i (four edges per pass), vectorized over samples, and is
    # written back. ``indices[indptr[i]:indptr[i + 1]]`` are the sources of i.
    n, k = A.shape
    for s in range(n):
        _nb_act_vec(A[s], H[s], k, act)
    if store_z:
        for s in range(n):
            Z[s] = A[s]
    m_nodes = nodes.shape[0]
    if m_nodes == 0:
        return
    sb = max(1, min(_SPARSE_BLOCK, n))
    T = np.empty((m_nodes, sb), dtype=A.dtype)
    acc = np.empty(sb, dtype=A.dtype)
    for s0 in range(0, n, sb):
        m = min(sb, n - s0)
        for s in range(m):
            h = H[s0 + s]
            for r in range(m_nodes):
                T[r, s] = h[nodes[r]]
        for r in range(m_nodes):
            i = nodes[r]
            p = indptr[i]
            pe = indptr[i + 1]
            if p == pe:
                continue
            wi = W[i]
            for s in range(m):
                acc[s] = A[s0 + s, i]
            while p + 4 <= pe:
                j0 = indices[p]
                j1 = indices[p + 1]
                j2 = indices[p + 2]
                j3 = indices[p + 3]
                w0 = wi[j0]
                w1 = wi[j1]
                w2 = wi[j2]
                w3 = wi[j3]
                t0 = T[slot[j0]]
                t1 = T[slot[j1]]
                t2 = T[slot[j2]]
                t3 = T[slot[j3]]
                for s in range(m):
                    acc[s] += (w0 * t0[s] + w1 * t1[s]) + (w2 * t2[s] + w3 * t3[s])
                p += 4
            while p < pe:
                j0 = indices[p]
                w0 = wi[j0]
                t0 = T[slot[j0]]
                for s in range(m):
                    acc[s] += w0 * t0[s]
                p += 1
            t = T[r]
            _nb_act_vec(acc, t, m, act)
            for s in range(m):
                H[s0 + s, i] = t[s]
            if store_z:
                for s in range(m):
                    Z[s0 + s, i] = acc[s]


def _nb_sparse_backward(
    dH, W, nodes, indptr, indices, slot, H, dZ, dW, act, want_dw
):  # pragma: no cover - compiled by numba
    # The backward of _nb_sparse_forward. First dZ = dH * act'(H) row by row: final
    # for every neuron without outgoing edges. Then, per block of samples, the
    # neurons that have an edge are gathered (dH and H) into (len(nodes), block)
    # scratches and visited from the last: once every later neuron has pushed its
    # share into row i, the row becomes dZ[:, i] (times act'), is written back, and
    # pushes w * dZ[:, i] into the row of each source j; dW[i, j] accumulates
    # dZ[:, i] . H[:, j] over the blocks (only kept edges are written, so dW must
    # start at zero).
    n, k = dH.shape
    zero = np.zeros(1, dtype=dH.dtype)[0]
    for s in range(n):
        _nb_act_grad_vec(dH[s], H[s], dZ[s], k, act)
    m_nodes = nodes.shape[0]
    if m_nodes == 0:
        return
    sb = max(1, min(_SPARSE_BLOCK, n))
    Gt = np.empty((m_nodes, sb), dtype=dH.dtype)
    Ht = np.empty((m_nodes, sb), dtype=dH.dtype)
    for s0 in range(0, n, sb):
        m = min(sb, n - s0)
        for s in range(m):
            g = dH[s0 + s]
            h = H[s0 + s]
            for r in range(m_nodes):
                Gt[r, s] = g[nodes[r]]
                Ht[r, s] = h[nodes[r]]
        for a in range(m_nodes):
            r = m_nodes - 1 - a
            i = nodes[r]
            g = Gt[r]
            _nb_act_grad_vec(g, Ht[r], g, m, act)
            for s in range(m):
                dZ[s0 + s, i] = g[s]
            wi = W[i]
            dwi = dW[i]
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                w = wi[j]
                gj = Gt[slot[j]]
                for s in range(m):
                    gj[s] += w * g[s]
                if want_dw:
                    hj = Ht[slot[j]]
                    acc = zero
                    for s in range(m):
                        acc += g[s] * hj[s]
                    dwi[j] += acc


def _nb_sparse_forward_t(
    AT, bias, W, indptr, indices, HT, act
):  # pragma: no cover - compiled by numba
    # The kept edges only, neuron-major: row i of AT (the encoder's product, no
    # bias) and HT is neuron i over all the samples, so each neuron is a few
    # contiguous vector operations (z = a_i + b_i + sum w_ij h_j, h_i = act(z))
    # with no gathering. Neurons go in increasing order, so every source is
    # final when it is read.
    k, n = AT.shape
    zero = np.zeros(1, dtype=AT.dtype)[0]
    acc = np.empty(n, dtype=AT.dtype)
    for i in range(k):
        a = AT[i]
        b = bias[i]
        for s in range(n):
            acc[s] = a[s] + b
        p = indptr[i]
        pe = indptr[i + 1]
        wi = W[i]
        while p + 2 <= pe:
            j0 = indices[p]
            j1 = indices[p + 1]
            w0 = wi[j0]
            w1 = wi[j1]
            h0 = HT[j0]
            h1 = HT[j1]
            for s in range(n):
                acc[s] += w0 * h0[s] + w1 * h1[s]
            p += 2
        if p < pe:
            j0 = indices[p]
            w0 = wi[j0]
            h0 = HT[j0]
            for s in range(n):
                acc[s] += w0 * h0[s]
        h = HT[i]
        if act == 0:
            for s in range(n):
                v = acc[s]
                h[s] = zero if v < zero else v
        elif act == 1:
            for s in range(n):
                v = acc[s]
                v = zero if v < zero else v
                h[s] = v * v
        else:
            for s in range(n):
                h[s] = np.tanh(acc[s])


def _nb_sparse_backward_t(
    dout, dec_w, W, indptr, indices, HT, GT, dZT, dW, db, act, want_dw
):  # pragma: no cover - compiled by numba
    # The backward of _nb_sparse_forward_t and the decoder. First GT (a scratch,
    # neuron-major) = dH^T = dec_w^T dout^T, row by row. Then, visited from the
    # last neuron, row i has received every later neuron's share when it
    # becomes dZ[i] = GT[i] * act' (and db[i] its sum, the encoder bias's
    # gradient); it pushes w_ij * dZ[i] into the row of each source j, and
    # dW[i, j] = dZ[i] . H[j] (dW must start at zero). Each loop reads its
    # operands into locals first: written as ``d[s] = g[s] if ...`` the loop did
    # not vectorize (3-5x slower).
    k, n = GT.shape
    n_out = dout.shape[1]
    zero = np.zeros(1, dtype=GT.dtype)[0]
    for i in range(k):
        g = GT[i]
        c = dec_w[0, i]
        for s in range(n):
            g[s] = c * dout[s, 0]
        for o in range(1, n_out):
            c = dec_w[o, i]
            for s in range(n):
                g[s] += c * dout[s, o]
    for a in range(k):
        i = k - 1 - a
        g = GT[i]
        h = HT[i]
        d = dZT[i]
        if act == 0:
            for s in range(n):
                gv = g[s]
                d[s] = gv if h[s] > zero else zero
        elif act == 1:
            for s in range(n):
                gv = g[s]
                d[s] = gv * (2 * np.sqrt(h[s]))
        else:
            for s in range(n):
                gv = g[s]
                hv = h[s]
                d[s] = gv * (1 - hv * hv)
        total = zero
        for s in range(n):
            total += d[s]
        db[i] = total
        wi = W[i]
        dwi = dW[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            w = wi[j]
            gj = GT[j]
            for s in range(n):
                gj[s] += w * d[s]
            if want_dw:
                hj = HT[j]
                acc = zero
                for s in range(n):
                    acc += d[s] * hj[s]
                dwi[j] += acc


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
        Maps ``"forward"``, ``"backward"``, ``"sparse_forward"``,
        ``"sparse_backward"`` and their neuron-major versions
        ``"sparse_forward_t"`` and ``"sparse_backward_t"`` to numba dispatchers.
    """
    if _NUMBA_KERNELS:
        return _NUMBA_KERNELS
    with _NUMBA_LOCK:
        if _NUMBA_KERNELS:
            return _NUMBA_KERNELS
        n_threads = torch.get_num_threads()
        _ensure_numba_cache_dir()
        import numba

        global _nb_act, _nb_act_grad, _nb_act_vec, _nb_act_grad_vec
        # Reassociation lets numba vectorize the inner products; no other fast-math
        # flag is used, so NaN and inf propagate as in torch.
        options: dict[str, Any] = {"nogil": True, "fastmath": {"reassoc", "contract"}}
        _nb_act = numba.njit(inline="always")(_nb_act)
        _nb_act_grad = numba.njit(inline="always")(_nb_act_grad)
        _nb_act_vec = numba.njit(inline="always", **options)(_nb_act_vec)
        _nb_act_grad_vec = numba.njit(inline="always", **options)(_nb_act_grad_vec)
        kernels = {}
        for name, func in (
            ("forward", _nb_forward),
            ("backward", _nb_backward),
            ("sparse_forward", _nb_sparse_forward),
            ("sparse_backward", _nb_sparse_backward),
            ("sparse_forward_t", _nb_sparse_forward_t),
            ("sparse_backward_t", _nb_sparse_backward_t),
        ):
            try:
                kernels[name] = numba.njit(cache=True, **options)(func)
            except Exception:  # no writable cache location: compile without it
                kernels[name] = numba.njit(cache=False, **options)(func)
        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
        _NUMBA_KERNELS.update(kernels)
    return _NUMBA_KERNELS


def _hybrid_block(k: int, min_k: int, block: int) -> int:
    """Neuron block of the numba path: ``k`` (a single block) below ``min_k``, else
    about ``block`` (the blocks are made of equal size)."""
    if k < min_k or block <= 0:
        return k
    nblocks = -(-k // block)
    return -(-k // nblocks)


def _numba_forward(
    A: torch.Tensor, W: torch.Tensor, act: int, store_z: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run the compiled forward kernel on contiguous CPU float tensors."""
    kernel = (_NUMBA_KERNELS or _load_numba_kernels())["forward"]
    H = torch.empty_like(A)
    Hn = H.numpy()
    if store_z:
        Z = torch.empty_like(A)
        kernel(A.detach().numpy(), W.detach().numpy(), Hn, Z.numpy(), act, True)
        return H, Z
    kernel(A.detach().numpy(), W.detach().numpy(), Hn, Hn, act, False)
    return H, None


def _numba_backward(
    dH: torch.Tensor, W: torch.Tensor, H: torch.Tensor, act: int
) -> torch.Tensor:
    """Run the compiled backward kernel; returns ``dZ``.

    For large ``k`` the neurons go by blocks from the last: the contribution of all
    later blocks is one matmul (BLAS), the kernel does the in-block triangle.
    """
    kernel = (_NUMBA_KERNELS or _load_numba_kernels())["backward"]
    n, k = dH.shape
    W = W.detach()
    dZ = torch.empty_like(dH)
    dZn = dZ.numpy()
    Hn = H.numpy()
    Wn = W.numpy()
    B = _hybrid_block(k, _HYBRID_BWD_MIN_K, _HYBRID_BWD_BLOCK)
    if B >= k:
        kernel(dH.numpy(), Wn, Hn, dZn, act, 0, k)
        return dZ
    G = dH.clone(memory_format=torch.contiguous_format)
    Gn = G.numpy()
    starts = list(range(0, k, B))
    for b in reversed(starts):
        e = min(b + B, k)
        if e < k:
            G[:, b:e].addmm_(dZ[:, e:], W[e:, b:e])
        kernel(Gn, Wn, Hn, dZn, act, b, e)
    return dZ


def _numba_sparse_forward(
    A: torch.Tensor, W: torch.Tensor, graph: SparseGraph, act: int, store_z: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run the compiled sparse (kept edges only) forward kernel; no autograd."""
    kernel = (_NUMBA_KERNELS or _load_numba_kernels())["sparse_forward"]
    H = torch.empty_like(A)
    Hn = H.numpy()
    Z = torch.empty_like(A) if store_z else None
    Zn = Z.numpy() if Z is not None else Hn
    kernel(
        A.detach().numpy(),
        W.detach().numpy(),
        graph.nodes,
        graph.indptr,
        graph.indices,
        graph.slot,
        Hn,
        Zn,
        act,
        store_z,
    )
    return H, Z


def _numba_sparse_backward(
    dH: torch.Tensor,
    W: torch.Tensor,
    H: torch.Tensor,
    graph: SparseGraph,
    act: int,
    want_dw: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run the compiled sparse backward kernel; returns ``dZ`` and ``dW`` (or None).

    ``dW`` is zero off the kept edges.
    """
    kernel = (_NUMBA_KERNELS or _load_numba_kernels())["sparse_backward"]
    dZ = torch.empty_like(dH)
    dW = torch.zeros_like(W) if want_dw else None
    kernel(
        dH.numpy(),
        W.numpy(),
        graph.nodes,
        graph.indptr,
        graph.indices,
        graph.slot,
        H.numpy(),
        dZ.numpy(),
        (dW if dW is not None else W).numpy(),
        act,
        want_dw,
    )
    return dZ, dW


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


def apply_activation(z: torch.Tensor, activation: str) -> torch.Tensor:
    """Apply the named activation (one of ``ACTIVATIONS``) with torch operations."""
    return _torch_act(z, _ACT_CODES[activation])


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
    Wl = strictly_lower_part(W)
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
    Wl = strictly_lower_part(W)
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
# Sparse graphs for inference.
# ---------------------------------------------------------------------------------

# Largest fraction of the k (k - 1) / 2 possible edges for which the sparse kernels
# are used instead of the dense ones, per dtype, in training and inference. The
# sparse kernels have a fixed cost (a pass over all neurons, and gathering the
# neurons that have an edge into a transposed scratch) plus a cost per kept edge;
# the dense kernels cost the same whatever the graph. Measured with
# benchmarks/bench_inference.py (k=30, 100, 300; training steps at 13 inputs and
# batches of 64-1000 rows, inference at 784 inputs and 128 and 10000 rows, one
# thread), the sparse path breaks even at densities of about 0.1-0.2 (float32,
# the lower end at small k and large batches) and 0.1-0.15 (float64), and gains
# 1.1-1.6x on graphs of 1 % of the edges (up to 2.9x at k=300); the thresholds
# keep a margin below break-even.
_SPARSE_MAX_DENSITY: dict[torch.dtype, float] = {
    torch.float32: 0.08,
    torch.float64: 0.06,
}


# Densities up to which sparse_network (neuron-major, kept edges only) beats the
# dense kernels (benchmarks/results/neuron_major_thresholds.txt, from
# bench_inference.py --neuron-major-everywhere; one thread, dense / neuron-major):
# - training steps (13 inputs, batches of 64-1,000 rows): at k=30-100 1.09-1.29x
#   at 60 % of the edges, 1.07-1.22x at 70 %, 0.89-1.25x on the full triangle; at
#   k=300 1.59-1.68x at a fifth, 1.06-1.29x at half, below 1x from 60 %;
# - prediction (784 inputs, 10 outputs, 128 and 10,000 rows): at k=64-100
#   1.12-1.35x at half the edges, 1.05-1.14x on the full triangle; at k=300
#   1.17-1.47x at a fifth, 0.83x at half on 10,000 rows; at k=30 0.91-1.03x on
#   10,000 rows, so small nets keep the row-major kernels there.
_NETWORK_TRAIN_MAX_DENSITY = ((100, 0.6), (None, 0.2))  # (up to k, density)
_NETWORK_PREDICT_MAX_DENSITY = ((63, 0.0), (100, 0.5), (None, 0.1))


def network_max_density(k: int, training: bool) -> float:
    """Highest density at which :func:`sparse_network` beats the dense kernels.

    ``training``: for a step with gradients; otherwise for prediction.
    """
    table = _NETWORK_TRAIN_MAX_DENSITY if training else _NETWORK_PREDICT_MAX_DENSITY
    for up_to, density in table:
        if up_to is None or k <= up_to:
            return density
    return 0.0


def network_pays_off(graph: SparseGraph, training: bool) -> bool:
    """Whether :func:`sparse_network` is expected to beat the dense kernels.

    ``training``: for a step with gradients; otherwise for prediction. A graph
    without edges never takes it (the empty graph is one ``act``).
    """
    if graph.n_edges == 0:
        return False
    return graph.density <= network_max_density(graph.k, training)


class SparseGraph:
    """The kept edges of a strictly lower-triangular adjacency, per target neuron.

    A compressed sparse row layout: the sources of neuron ``i`` are
    ``indices[indptr[i]:indptr[i + 1]]``, in increasing order.

    Parameters
    ----------
    adjacency : array-like or torch.Tensor of shape (k, k)
        Boolean adjacency; ``adjacency[i, j]`` is the edge ``j -> i``. Only its
        strictly lower triangle is used.

    Attributes
    ----------
    k : int
        Number of neurons.
    indptr : ndarray of shape (k + 1,), dtype=int64
        Row pointers.
    indices : ndarray of shape (n_edges,), dtype=int64
        Source neuron of every kept edge.
    n_edges : int
        Number of kept edges.
    density : float
        ``n_edges`` over the ``k (k - 1) / 2`` possible edges (1.0 when ``k <= 1``).
    nodes : ndarray of shape (n_nodes,), dtype=int64
        The neurons with at least one kept edge, in or out, in increasing order:
        the only ones the sparse kernels gather (every other neuron is
        ``act(A[:, i])``).
    slot : ndarray of shape (k,), dtype=int64
        Position of each neuron in ``nodes`` (-1 for the others).
    """

    __slots__ = ("k", "indptr", "indices", "n_edges", "density", "nodes", "slot")

    def __init__(self, adjacency: Any) -> None:
        if isinstance(adjacency, torch.Tensor):
            adjacency = adjacency.detach().cpu().numpy()
        G = strictly_lower_part(np.asarray(adjacency, dtype=bool))
        if G.ndim != 2 or G.shape[0] != G.shape[1]:
            raise ValueError(f"adjacency must be square, got shape {G.shape}.")
        self.k = G.shape[0]
        rows, cols = np.nonzero(G)  # row-major: sources sorted within each row
        self.indices = np.ascontiguousarray(cols, dtype=np.int64)
        self.indptr = np.zeros(self.k + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.k), out=self.indptr[1:])
        self.n_edges = int(self.indices.shape[0])
        possible = self.k * (self.k - 1) // 2
        self.density = self.n_edges / possible if possible else 1.0
        involved = np.zeros(self.k, dtype=bool)
        involved[rows] = True
        involved[cols] = True
        self.nodes = np.flatnonzero(involved).astype(np.int64)
        self.slot = np.full(self.k, -1, dtype=np.int64)
        self.slot[self.nodes] = np.arange(self.nodes.shape[0], dtype=np.int64)

    def pays_off(self, dtype: torch.dtype) -> bool:
        """Whether the sparse kernel is expected to beat the dense one."""
        return self.density <= _SPARSE_MAX_DENSITY.get(dtype, 0.0)

    def __repr__(self) -> str:
        return f"SparseGraph(k={self.k}, n_edges={self.n_edges})"


class GraphLevels:
    """The neurons of a DAG grouped by topological depth.

    Level 0 holds the neurons without incoming edges; level ``l`` those whose
    deepest source is in level ``l - 1``. All neurons of a level can be computed
    at once from the earlier levels, so a graph of few levels (the empty graph
    has one) needs only a few matrix products instead of the neuron-by-neuron
    recurrence.

    Parameters
    ----------
    adjacency : array-like or torch.Tensor of shape (k, k)
        Boolean adjacency; only its strictly lower triangle is used.
    device : torch.device or str, default="cpu"
        Where the index tensors live.

    Attributes
    ----------
    levels : list of torch.Tensor
        Neuron indices (int64) of each level.
    order : torch.Tensor of shape (k,)
        The levels concatenated; ``inverse`` undoes that permutation.
    """

    __slots__ = ("levels", "order", "inverse", "n_levels")

    def __init__(self, adjacency: Any, device: Any = "cpu") -> None:
        if isinstance(adjacency, torch.Tensor):
            adjacency = adjacency.detach().cpu().numpy()
        G = strictly_lower_part(np.asarray(adjacency, dtype=bool))
        k = G.shape[0]
        depth = np.zeros(k, dtype=np.int64)
        for i in range(k):
            sources = np.flatnonzero(G[i, :i])
            if sources.size:
                depth[i] = depth[sources].max() + 1
        n_levels = int(depth.max()) + 1 if k else 0
        groups = [np.flatnonzero(depth == lvl) for lvl in range(n_levels)]
        self.levels = [torch.as_tensor(g, device=device) for g in groups]
        order = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
        self.order = torch.as_tensor(order, device=device)
        self.inverse = torch.as_tensor(np.argsort(order), device=device)
        self.n_levels = n_levels


def recurrence_by_levels(
    A: torch.Tensor,
    W: torch.Tensor,
    activation: str,
    levels: GraphLevels,
    *,
    mask: torch.Tensor | None = None,
    return_preact: bool = False,
    cap: torch.Tensor | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Evaluate the recurrence level by level, in plain (differentiable) torch.

    Gives :func:`recurrence`'s results (up to float rounding) with one matrix
    product per level after the first; autograd computes the backward. Fast when
    the graph has few levels (:class:`GraphLevels`), such as the empty graph (one
    level: ``H = act(A)``) or a sparse evolved one. With ``cap`` (shape (k,)),
    each neuron's pre-activation is clipped from above at its cap before the
    activation: ``z_i = min(z_i, cap_i)``.
    """
    act = _ACT_CODES[activation]
    if levels.n_levels <= 1:
        Z = A if cap is None else torch.minimum(A, cap)
        H = _torch_act(Z, act)
        return (H, Z.detach()) if return_preact else H
    Wm = W * mask if mask is not None else W
    parts_h: list[torch.Tensor] = []
    parts_z: list[torch.Tensor] = []
    done = 0
    for level, idx in enumerate(levels.levels):
        Z = A.index_select(1, idx)
        if level:
            H_prev = parts_h[0] if len(parts_h) == 1 else torch.cat(parts_h, dim=1)
            W_block = Wm.index_select(0, idx).index_select(1, levels.order[:done])
            Z = Z + H_prev @ W_block.T
        if cap is not None:
            Z = torch.minimum(Z, cap.index_select(0, idx))
        parts_h.append(_torch_act(Z, act))
        parts_z.append(Z)
        done += idx.numel()
    H = torch.cat(parts_h, dim=1).index_select(1, levels.inverse)
    if return_preact:
        Z_all = torch.cat(parts_z, dim=1).index_select(1, levels.inverse)
        return H, Z_all.detach()
    return H


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
    """The recurrence as one autograd node (forward plus hand-written backward).

    ``mask`` (or None) is multiplied into ``W`` here, and into the gradient of ``W``
    in the backward, so that masking costs no extra autograd node. With a
    :class:`SparseGraph` ``graph`` the compiled sparse kernels compute the kept
    edges only (``mask`` is not read) and the gradient of ``W`` is zero off them.
    """

    @staticmethod
    def forward(ctx, A, W, mask, graph, act, use_numba, return_preact):
        if graph is not None:
            Wm = W.detach()
            H, Z = _numba_sparse_forward(A, Wm, graph, act, return_preact)
        else:
            Wm = W * mask if mask is not None else W.detach()
            H, Z = _forward(A, Wm, act, use_numba, return_preact)
        ctx.save_for_backward(Wm, H, mask)
        ctx.graph = graph
        ctx.act = act
        ctx.use_numba = use_numba
        if return_preact:
            ctx.mark_non_differentiable(Z)
            return H, Z
        return H

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dH, *unused):
        W, H, mask = ctx.saved_tensors
        dH = dH.contiguous()
        want_dw = ctx.needs_input_grad[1]
        if ctx.graph is not None:
            dZ, dW = _numba_sparse_backward(dH, W, H, ctx.graph, ctx.act, want_dw)
        else:
            dZ, dW = dense_recurrence_backward(
                dH, W, H, mask, ctx.act, ctx.use_numba, want_dw
            )
        dA = dZ if ctx.needs_input_grad[0] else None
        return dA, dW, None, None, None, None, None


def dense_recurrence_backward(
    dH: torch.Tensor,
    Wm: torch.Tensor,
    H: torch.Tensor,
    mask: torch.Tensor | None,
    act: int,
    use_numba: bool,
    want_dw: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(dZ, dW)`` of the dense recurrence, from the gradient ``dH`` of ``H``.

    ``Wm`` is the masked weight the forward pass used (``W * mask``), ``H`` its
    output; ``dH`` contiguous. ``dW`` (None unless ``want_dw``) is masked like
    ``W``: zero off the graph. Records nothing for autograd.
    """
    if use_numba:
        dZ = _numba_backward(dH, Wm, H, act)
    else:
        dZ = _torch_backward(dH, Wm, H, act)
    dW = None
    if want_dw:
        dW = torch.mm(dZ.t(), H)
        # A mask is strictly lower triangular (see ``recurrence``), so it
        # also zeroes the diagonal and upper triangle (in place: the strictly
        # lower part of dW, without a k x k copy per backward pass).
        dW = dW.mul_(mask) if mask is not None else dW.tril_(-1)
    return dZ, dW


def _sparse_applies(
    graph: SparseGraph | None, A: torch.Tensor, use_numba: bool
) -> bool:
    """Whether the sparse kernels compute the recurrence of ``A`` over ``graph``."""
    if graph is None or not use_numba or not graph.pays_off(A.dtype):
        return False
    if graph.k != A.shape[1]:
        raise ValueError(f"graph has k={graph.k} neurons, A has {A.shape[1]} columns.")
    return True


def _numba_fits(A: torch.Tensor) -> bool:
    """Whether the compiled CPU kernels can take ``A`` (float32/64 on the CPU)."""
    return A.device.type == "cpu" and A.dtype in (torch.float32, torch.float64)


def _use_numba(A: torch.Tensor, backend: str) -> bool:
    """Resolve the backend for ``A``; ``True`` means the compiled CPU kernels."""
    numba_ok = _numba_fits(A)
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


def _check(
    A: torch.Tensor, W: torch.Tensor, activation: str, backend: str
) -> tuple[torch.Tensor, int, bool]:
    """Validate the common arguments; returns ``W`` cast like ``A``, act, use_numba."""
    act = _ACT_CODES.get(activation)
    if act is None:
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
    return W, act, _use_numba(A, backend)


def _as_mask(mask: torch.Tensor | None, W: torch.Tensor) -> torch.Tensor | None:
    """Return ``mask`` as a tensor of ``W``'s dtype and device (or None)."""
    if mask is None:
        return None
    if mask.shape != W.shape:
        raise ValueError(
            f"mask must have the shape of W {tuple(W.shape)}, got {tuple(mask.shape)}."
        )
    if mask.dtype != W.dtype or mask.device != W.device:
        mask = mask.to(dtype=W.dtype, device=W.device)
    return mask


def recurrence(
    A: torch.Tensor,
    W: torch.Tensor,
    activation: str,
    *,
    mask: torch.Tensor | None = None,
    graph: SparseGraph | None = None,
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
        Recurrent weights. ``W[i, j]`` is the weight of the edge from neuron ``j``
        to neuron ``i`` (``j < i``).
    activation : {"relu", "squared_relu", "tanh"}
        Activation applied by every neuron.
    mask : torch.Tensor of shape (k, k), default=None
        If given, the weights used are ``W * mask`` and the gradient of ``W`` is
        masked the same way, with no extra autograd node (the adjacency as a float
        or bool tensor). It must be zero on and above the diagonal.
    graph : SparseGraph, default=None
        The same adjacency as a :class:`SparseGraph`. When the compiled kernels
        apply and the graph is sparse enough for it to pay off (see
        :meth:`SparseGraph.pays_off`), only its kept edges are computed, in the
        forward and the backward pass (``mask`` is then not read). None: the
        dense kernels on ``W * mask``.
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

    See Also
    --------
    recurrence_inference : The same without autograd, over kept edges only.

    Notes
    -----
    The gradient with respect to ``W`` is zero outside the strictly lower
    triangle. Double backward is not supported. When no gradient is needed
    (``torch.no_grad`` or no input requiring grad) nothing is kept for backward.
    """
    if not (torch.is_grad_enabled() and (A.requires_grad or W.requires_grad)):
        return recurrence_inference(
            A,
            W,
            activation,
            mask=mask,
            graph=graph,
            return_preact=return_preact,
            backend=backend,
        )
    W, act, use_numba = _check(A, W, activation, backend)
    sparse = graph if _sparse_applies(graph, A, use_numba) else None
    mask = None if sparse is not None else _as_mask(mask, W)
    store_z = bool(return_preact)
    return _Recurrence.apply(
        A.contiguous(), W.contiguous(), mask, sparse, act, use_numba, store_z
    )


def recurrence_inference(
    A: torch.Tensor,
    W: torch.Tensor,
    activation: str,
    *,
    mask: torch.Tensor | None = None,
    graph: SparseGraph | None = None,
    return_preact: bool = False,
    backend: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Evaluate the recurrence for inference: no autograd, kept edges only.

    Gives the results of :func:`recurrence` (up to float rounding) without
    recording anything for backward. When ``graph`` is given, the compiled kernels
    apply and the graph is sparse enough for it to pay off (see
    :meth:`SparseGraph.pays_off`), only the ``graph.n_edges`` kept edges are
    computed; otherwise the dense kernel runs on ``W * mask``.

    Parameters
    ----------
    A : torch.Tensor of shape (n_samples, k)
        Input to each neuron.
    W : torch.Tensor of shape (k, k)
        Recurrent weights (only the edges of the graph are read).
    activation : {"relu", "squared_relu", "tanh"}
        Activation applied by every neuron.
    mask : torch.Tensor of shape (k, k), default=None
        The adjacency as a float or bool tensor, zero on and above the diagonal;
        used by the dense path. None means ``W`` is already masked.
    graph : SparseGraph, default=None
        The same adjacency as a :class:`SparseGraph`. None disables the sparse
        path.
    return_preact : bool, default=False
        If True, also return the pre-activations ``Z``.
    backend : {"auto", "numba", "torch"}, default="auto"
        As in :func:`recurrence`; the sparse path needs the numba kernels.

    Returns
    -------
    H : torch.Tensor of shape (n_samples, k)
        Neuron activations (no gradient).
    Z : torch.Tensor of shape (n_samples, k)
        Pre-activations. Only returned if ``return_preact``.
    """
    W, act, use_numba = _check(A, W, activation, backend)
    store_z = bool(return_preact)
    with torch.no_grad():
        A = A.detach().contiguous()
        if _sparse_applies(graph, A, use_numba):
            assert graph is not None
            H, Z = _numba_sparse_forward(A, W.contiguous(), graph, act, store_z)
        else:
            mask = _as_mask(mask, W)
            W = (W * mask) if mask is not None else W.detach().contiguous()
            H, Z = _forward(A, W, act, use_numba, store_z)
    if Z is not None:
        return H, Z
    return H


def _sparse_network_forward(
    X: torch.Tensor,
    enc_w: torch.Tensor,
    enc_b: torch.Tensor,
    W: torch.Tensor,
    dec_w: torch.Tensor,
    dec_b: torch.Tensor,
    graph: SparseGraph,
    act: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's output and ``H^T`` (k, n), neuron-major.

    Detached tensors, contiguous ``X`` and ``W``; records nothing for autograd
    (the caller runs it under no_grad or inside an autograd Function).
    """
    kernels = _NUMBA_KERNELS or _load_numba_kernels()
    HT = torch.mm(enc_w, X.t())  # the encoder's product, A^T without the bias
    Hn = HT.numpy()
    kernels["sparse_forward_t"](
        Hn, enc_b.numpy(), W.numpy(), graph.indptr, graph.indices, Hn, act
    )
    if dec_w.shape[0] == 1:  # one output: a (1, n) row is an (n, 1) column
        out = torch.addmm(dec_b.unsqueeze(1), dec_w, HT).view(-1, 1)
    else:
        out = torch.addmm(dec_b, HT.t(), dec_w.t())
    return out, HT


class _SparseNetwork(torch.autograd.Function):
    """Encoder, sparse recurrence and decoder as one autograd node, neuron-major.

    The encoder writes ``A^T`` (k, n) directly (one matmul), the compiled
    neuron-major kernels run the biases, the kept edges and the decoder's
    gradient over contiguous rows, and the decoder reads ``H^T``; so neither
    pass transposes or gathers activations, and the whole network costs the
    autograd engine one node.
    """

    @staticmethod
    def forward(ctx, X, enc_w, enc_b, W, dec_w, dec_b, graph, act):
        X = X.detach()
        W = W.detach()
        dec_w = dec_w.detach().contiguous()
        out, HT = _sparse_network_forward(
            X, enc_w.detach(), enc_b.detach(), W, dec_w, dec_b.detach(), graph, act
        )
        ctx.save_for_backward(X, enc_w, W, dec_w, HT)
        ctx.graph = graph
        ctx.act = act
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dout):
        X, enc_w, W, dec_w, HT = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grads = sparse_network_backward(
            dout, X, enc_w.detach(), W, dec_w, HT, ctx.graph, ctx.act, needs[:6]
        )
        return (*grads, None, None)


def sparse_network_backward(
    dout: torch.Tensor,
    X: torch.Tensor,
    enc_w: torch.Tensor,
    W: torch.Tensor,
    dec_w: torch.Tensor,
    HT: torch.Tensor,
    graph: SparseGraph,
    act: int,
    needs: tuple[bool, ...],
) -> tuple[torch.Tensor | None, ...]:
    """The gradients of :func:`sparse_network`'s six tensor arguments.

    ``dout`` is the gradient of the output, ``HT`` what
    :func:`_sparse_network_forward` returned with it; the other tensors are the
    detached arguments of that forward pass (``dec_w`` contiguous). ``needs``
    says which of ``(X, enc_w, enc_b, W, dec_w, dec_b)`` to compute; the others
    are None, as is ``W``'s on a graph without edges. Records nothing for
    autograd.
    """
    want_dw = bool(needs[3]) and graph.n_edges > 0
    dout = dout.contiguous()
    GT = torch.empty_like(HT)  # dH^T, a scratch of the kernel
    dZT = torch.empty_like(HT)
    db = torch.empty(HT.shape[0], dtype=HT.dtype)
    dW = torch.zeros_like(W) if want_dw else None
    (_NUMBA_KERNELS or _load_numba_kernels())["sparse_backward_t"](
        dout.numpy(),
        dec_w.numpy(),
        W.numpy(),
        graph.indptr,
        graph.indices,
        HT.numpy(),
        GT.numpy(),
        dZT.numpy(),
        (dW if dW is not None else W).numpy(),
        db.numpy(),
        act,
        want_dw,
    )
    dX = torch.mm(dZT.t(), enc_w) if needs[0] else None
    d_enc_w = torch.mm(dZT, X) if needs[1] else None
    d_enc_b = db if needs[2] else None
    d_dec_w = torch.mm(dout.t(), HT.t()) if needs[4] else None
    d_dec_b = dout.sum(dim=0) if needs[5] else None
    return dX, d_enc_w, d_enc_b, dW, d_dec_w, d_dec_b


def sparse_network(
    X: torch.Tensor,
    encoder_weight: torch.Tensor,
    encoder_bias: torch.Tensor,
    W: torch.Tensor,
    decoder_weight: torch.Tensor,
    decoder_bias: torch.Tensor,
    graph: SparseGraph,
    activation: str,
) -> torch.Tensor:
    """A FreeNet's output computed over the kept edges of ``graph`` only.

    Computes ``decoder(recurrence(encoder(X), W))`` as :func:`recurrence` with
    this ``graph`` does (up to float rounding); with gradients enabled it is
    differentiable with respect to every tensor argument (otherwise nothing is
    recorded); the gradient of ``W`` is zero off the kept edges (and
    None when the graph has none). Faster than the three as separate autograd
    nodes because the activations stay neuron-major (see
    :class:`_SparseNetwork`). Needs contiguous float32 or float64 CPU tensors of
    one dtype (the compiled kernels).

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
    encoder_weight : torch.Tensor of shape (k, n_features)
    encoder_bias : torch.Tensor of shape (k,)
    W : torch.Tensor of shape (k, k)
        Recurrent weights; only the edges of ``graph`` are read.
    decoder_weight : torch.Tensor of shape (n_outputs, k)
    decoder_bias : torch.Tensor of shape (n_outputs,)
    graph : SparseGraph
        The adjacency's kept edges.
    activation : {"relu", "squared_relu", "tanh"}

    Returns
    -------
    out : torch.Tensor of shape (n_samples, n_outputs)
    """
    act = _ACT_CODES.get(activation)
    if act is None:
        raise ValueError(
            f"activation must be one of {ACTIVATIONS}, got {activation!r}."
        )
    if graph.k != W.shape[0]:
        raise ValueError(f"graph has k={graph.k} neurons, W has {W.shape[0]}.")
    if not torch.is_grad_enabled():  # nothing to record: the forward pass alone
        return _sparse_network_forward(
            X.detach().contiguous(),
            encoder_weight.detach(),
            encoder_bias.detach(),
            W.detach().contiguous(),
            decoder_weight.detach(),
            decoder_bias.detach(),
            graph,
            act,
        )[0]
    return _SparseNetwork.apply(
        X.contiguous(),
        encoder_weight,
        encoder_bias,
        W.contiguous(),
        decoder_weight,
        decoder_bias,
        graph,
        act,
    )
