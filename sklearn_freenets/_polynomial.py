# SPDX-License-Identifier: BSD-3-Clause
"""Exact polynomial FreeNets with the squared ReLU (pure numpy).

This private module builds the parameters of FreeNets that represent a given
polynomial *exactly* (up to floating point rounding) on a bounded domain, following
Theorem 1 of the FreeNets paper and the notes in ``shared/notes/theorem1.md``.

The network layout is the one used by the library: ``k`` neurons, ``d`` inputs and
one output,

.. code-block:: text

    z_i = E[i] @ x + b[i] + sum_{j < i} W[i, j] * h_j,    h_i = max(0, z_i) ** 2
    y   = V[0] @ h + c[0] + U[0] @ x

with ``W`` strictly lower triangular and ``U`` a linear skip from the input to the
output.

Constructions
-------------
All constructions map every input ``x_l`` of the box domain to
``t_l = alpha_l x_l + beta_l`` in ``[-1, 1]`` (done by the encoder weights), work in
the (tensor) Chebyshev basis ``T_a(t) = prod_l T_{a_l}(t_l)`` and use the shift trick:
every pre-activation is ``L q + M`` where ``q`` is a polynomial already in the span
of ``1, t, h_1, ..., h_{i-1}``, ``L = 16`` a fixed scale (it makes the absolute margin
small relative to ``M``, which trims the cancellation in the decoder) and
``M = L * sum |Chebyshev coefficients of q| + margin``.
Since ``|T_a| <= 1`` on ``[-1, 1]^d`` this is a rigorous bound, so every
pre-activation is ``>= margin`` on the whole domain, the ReLU never clips and
``h_i = (q + M) ** 2`` is a polynomial. The decoder then cancels the lower-order
terms exactly; its weights come from exact Chebyshev algebra (triangular systems in
coefficient space), never from a least-squares fit on a grid.

``"layer"`` (fixed hidden layer, any ``d``)
    Level by level. Total degree 2 is spanned by one neuron per degree-2 index
    ``a = g + h`` (``|g| = |h| = 1``): ``(T_g + T_h + M) ** 2``. Each further pair of
    levels ``2s + 1, 2s + 2`` uses one neuron per index of that total degree: an odd
    index ``a = g + h`` with ``|g| = s + 1, |h| = s`` gets ``(T_g + T_h + M) ** 2``,
    an even index ``a = 2g`` gets ``(T_g + M) ** 2`` and any other even index
    ``a = g + h`` (``|g| = |h| = s + 1``) gets ``(T_g + T_h + M) ** 2``; the new
    Chebyshev coefficients of a level form a block-triangular (invertible) system.
    An odd top degree ``m = 2s + 1`` only needs degree ``m``: the indices are covered
    by a few "heads" ``T_g`` (``|g| = s + 1``), each costing one extra neuron
    ``(T_g + M) ** 2`` besides one neuron ``(T_g + T_{a - g} + M) ** 2`` per index.
    For ``d = 1`` this is the doubling chain of the notes: ``k`` neurons reach degree
    ``2 * ceil(k / 2)``, so degree ``n`` never needs more than ``n`` neurons.
    Only the decoder depends on the polynomial.

``"paterson_stockmeyer"`` (univariate, per polynomial)
    Baby-step/giant-step: the chain above puts ``T_0, ..., T_s`` in the span with
    ``s - 1`` neurons (``s`` even); ``p = sum_{j <= r} c_j(t) T_j(Q)`` with
    ``Q = T_s`` and ``deg c_j < s`` (``deg c_r <= s``), evaluated with Clenshaw's
    recurrence, where each product ``Q * b`` costs two neurons by polarisation with a
    power-of-two balance ``lam``. Degree ``s (r + 1)`` with ``s - 1 + 2 r`` neurons.
    Both halves of a product neuron are scaled to the size of ``b`` (down to
    ``2 ** -20`` of the polynomial), so its shift stays far above the absolute
    margin even where the Chebyshev coefficients decay fast (high degrees) and the
    rounding of ``Q b`` scales with ``b``. All weights stay bounded (no division by
    small leading coefficients), so nearly degenerate targets such as
    ``T_3 + 1e-8 T_6`` remain accurate.

Checks
    :func:`univariate_parameters` evaluates each network it builds in float64 on
    a grid of the domain against the polynomial in double-double arithmetic. It
    refuses (``ValueError``) a network whose values overflow or whose float64
    pre-activations fall more than a relative ``1e-6`` below the certified
    margin, and warns (``RuntimeWarning``) when the relative error exceeds
    ``DEFAULT_RTOL``. With ``method="auto"`` a construction failing either check
    makes it try the other one.

Degrees 0 and 1 need no hidden neuron (the affine skip path ``c + U x`` represents
them) but a FreeNet has ``k >= 1``; the constructions then use one idle neuron
(constant pre-activation 1, zero decoder weight) and :func:`neurons_needed` reports
that count, 1.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev as npcheb
from numpy.typing import ArrayLike, NDArray

from sklearn_freenets._graph import strictly_lower, strictly_lower_part

__all__ = [
    "FreeNetParameters",
    "check_parameters",
    "evaluate_polynomial",
    "multivariate_parameters",
    "neurons_needed",
    "neurons_needed_multivariate",
    "paterson_stockmeyer_split",
    "univariate_parameters",
]

_METHODS = ("layer", "paterson_stockmeyer", "auto")
_BASES = ("power", "chebyshev")
DEFAULT_MARGIN = 0.125
_NEURON_SCALE = 16.0  # pre-activations are 16 q + M: relative margin 1 / (128 sup|q|)
# Smallest Clenshaw term size (relative to the normalised polynomial, whose Chebyshev
# coefficients sum to at most 1) a Paterson-Stockmeyer product is balanced for; a
# smaller one is amplified by at most L / _PRODUCT_FLOOR (errors of 1e-16 then move a
# pre-activation by about 1e-9, far below the margin).
_PRODUCT_FLOOR = 2.0**-20
# The univariate constructions are checked in float64 after building: relative error
# at most DEFAULT_RTOL (else a warning), every pre-activation at least
# margin * (1 - _MARGIN_RTOL) (else refused).
DEFAULT_RTOL = 2e-12
_MARGIN_RTOL = 1e-6

Index = tuple[int, ...]
Poly = dict[Index, float]


# --------------------------------------------------------------------------------------
# Parameters container
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FreeNetParameters:
    """Weights of a single-output FreeNet with a linear skip connection.

    Parameters
    ----------
    E : ndarray of shape (n_neurons, n_features)
        Encoder weights from the inputs to the neurons.
    b : ndarray of shape (n_neurons,)
        Encoder biases.
    W : ndarray of shape (n_neurons, n_neurons)
        Recurrent weights, strictly lower triangular (``W[i, j]`` feeds ``h_j`` into
        neuron ``i`` for ``j < i``).
    G : ndarray of shape (n_neurons, n_neurons), dtype=bool
        Adjacency mask, strictly lower triangular, containing the support of ``W``.
    V : ndarray of shape (1, n_neurons)
        Decoder weights.
    c : ndarray of shape (1,)
        Decoder bias.
    U : ndarray of shape (1, n_features)
        Linear skip weights from the inputs to the output.
    activation : str, default="squared_relu"
        Activation of every neuron; only ``"squared_relu"`` is supported.

    Notes
    -----
    The pre-activations are
    ``z_i = E[i] @ x + b[i] + sum_{j < i} W[i, j] h_j`` with
    ``h_i = max(0, z_i) ** 2`` and the output is ``y = V[0] @ h + c[0] + U[0] @ x``.
    """

    E: NDArray[np.float64]
    b: NDArray[np.float64]
    W: NDArray[np.float64]
    G: NDArray[np.bool_]
    V: NDArray[np.float64]
    c: NDArray[np.float64]
    U: NDArray[np.float64]
    activation: str = "squared_relu"

    def __post_init__(self) -> None:
        E = np.atleast_2d(np.asarray(self.E, dtype=np.float64))
        k, d = E.shape
        arrays = {
            "E": E,
            "b": np.asarray(self.b, dtype=np.float64).reshape(k),
            "W": np.asarray(self.W, dtype=np.float64).reshape(k, k),
            "G": np.asarray(self.G, dtype=bool).reshape(k, k),
            "V": np.asarray(self.V, dtype=np.float64).reshape(1, k),
            "c": np.asarray(self.c, dtype=np.float64).reshape(1),
            "U": np.asarray(self.U, dtype=np.float64).reshape(1, d),
        }
        for name, value in arrays.items():
            object.__setattr__(self, name, value)
        if self.activation != "squared_relu":
            raise ValueError(
                f"activation must be 'squared_relu', got {self.activation!r}."
            )
        if np.any(arrays["G"] & ~strictly_lower(k)):
            raise ValueError("G must be strictly lower triangular.")
        if np.any((arrays["W"] != 0) & ~arrays["G"]):
            raise ValueError("W must be zero outside the adjacency mask G.")

    @property
    def n_neurons(self) -> int:
        """Number of hidden neurons ``k``."""
        return int(self.E.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input features ``d``."""
        return int(self.E.shape[1])

    def forward(self, X: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Evaluate the network in float64.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs. A 1-D array is read as a single feature.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Network output.
        Z : ndarray of shape (n_samples, n_neurons)
            Pre-activations of the neurons.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, the network expects {self.n_features}."
            )
        n, k = X.shape[0], self.n_neurons
        Z = np.empty((n, k))
        H = np.empty((n, k))
        base = X @ self.E.T + self.b
        for i in range(k):
            z = base[:, i] + H[:, :i] @ self.W[i, :i]
            Z[:, i] = z
            H[:, i] = np.maximum(z, 0.0) ** 2
        y = H @ self.V[0] + self.c[0] + X @ self.U[0]
        return y, Z


# --------------------------------------------------------------------------------------
# Neuron counts
# --------------------------------------------------------------------------------------
def _check_degree(degree: int) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise TypeError(f"degree must be an int, got {type(degree).__name__}.")
    if degree < 0:
        raise ValueError(f"degree must be >= 0, got {degree}.")
    return int(degree)


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    return method


def paterson_stockmeyer_split(degree: int) -> tuple[int, int]:
    """Return the baby-step size ``s`` and giant-step count ``r`` for a degree.

    Among even ``s >= 2`` and ``r >= 0`` with ``s * (r + 1) >= degree`` the pair
    minimising ``s - 1 + 2 * r`` neurons is returned; ties go to the smallest
    ``r`` (fewest sequential products).

    Parameters
    ----------
    degree : int
        Degree of the polynomial, ``>= 2``.

    Returns
    -------
    s : int
        Even baby-step size; ``Q = T_s``.
    r : int
        Number of Clenshaw products (two neurons each).
    """
    degree = _check_degree(degree)
    if degree < 2:
        raise ValueError("paterson_stockmeyer_split needs degree >= 2.")
    best: tuple[int, int, int] | None = None
    for s in range(2, degree + 2, 2):
        r = max(0, -(-degree // s) - 1)
        key = (s - 1 + 2 * r, r, s)
        if best is None or key < best:
            best = key
    assert best is not None
    return best[2], best[1]


def neurons_needed(degree: int, method: str = "auto") -> int:
    """Number of neurons the univariate constructions use for a degree.

    Parameters
    ----------
    degree : int
        Degree of the polynomial.
    method : {"layer", "paterson_stockmeyer", "auto"}, default="auto"
        ``"layer"``: fixed hidden layer (doubling chain), ``degree - 1`` neurons for
        an even degree and ``degree`` for an odd one. ``"paterson_stockmeyer"``:
        ``min s - 1 + 2 r`` over even ``s`` with ``s (r + 1) >= degree``.
        ``"auto"``: the smaller of the two (``"layer"`` on ties).

    Returns
    -------
    n_neurons : int
        Neuron count; 1 (an idle neuron) for degrees 0 and 1.
    """
    degree = _check_degree(degree)
    method = _check_method(method)
    if degree <= 1:
        return 1
    layer = degree - 1 if degree % 2 == 0 else degree
    if method == "layer":
        return layer
    s, r = paterson_stockmeyer_split(degree)
    ps = s - 1 + 2 * r
    if method == "paterson_stockmeyer":
        return ps
    return min(layer, ps)


def _resolve_method(degree: int, method: str) -> str:
    if method != "auto":
        return method
    layer = neurons_needed(degree, "layer")
    ps = neurons_needed(degree, "paterson_stockmeyer")
    return "paterson_stockmeyer" if ps < layer else "layer"


def _indices_of_degree(degree: int, d: int) -> list[Index]:
    """Multi-indices of total degree ``degree`` in ``d`` variables (lex order)."""
    if d == 1:
        return [(degree,)]
    out: list[Index] = []
    for first in range(degree, -1, -1):
        for rest in _indices_of_degree(degree - first, d - 1):
            out.append((first, *rest))
    return out


def _head_cover(m: int, d: int) -> list[Index]:
    """Heads ``g`` (``|g| = (m + 1) // 2``) covering every index of odd degree ``m``.

    An index ``a`` is covered by ``g`` when ``g <= a`` componentwise. The axis heads
    are taken first (for ``d <= 2`` they cover everything), then a greedy cover.
    """
    half = (m + 1) // 2
    targets = set(_indices_of_degree(m, d))
    heads: list[Index] = []
    candidates = _indices_of_degree(half, d)
    axes = [g for g in candidates if max(g) == half]
    for g in axes + candidates:
        if not targets:
            break
        covered = {a for a in targets if all(x >= y for x, y in zip(a, g, strict=True))}
        if g in axes and covered:
            heads.append(g)
            targets -= covered
    while targets:
        best = max(
            candidates,
            key=lambda g: sum(
                all(x >= y for x, y in zip(a, g, strict=True)) for a in targets
            ),
        )
        heads.append(best)
        targets -= {
            a for a in targets if all(x >= y for x, y in zip(a, best, strict=True))
        }
    return heads


def neurons_needed_multivariate(degree: int, n_features: int) -> int:
    """Number of neurons of the fixed-layer construction in several variables.

    For an even total degree ``m`` the count is ``C(m + d, d) - d - 1``, the
    dimension of the polynomials of degree ``<= m`` minus the affine part carried by
    the skip connection and the bias; no fixed hidden layer can do with fewer. For an
    odd ``m`` it is ``C(m + d, d) - d - 1 + g(m, d)`` where ``g`` is the number of
    heads covering the degree-``m`` indices (``g = d`` for ``d <= 2``, so
    ``C(m + 2, 2) - 1`` for two variables; ``g = d + 1`` for ``d = 3``,
    ``m = 3, 5``). Degrees 0 and 1 use one idle neuron.

    Parameters
    ----------
    degree : int
        Total degree ``m``.
    n_features : int
        Number of variables ``d >= 1``.

    Returns
    -------
    n_neurons : int
        Neuron count of :func:`multivariate_parameters`.
    """
    m = _check_degree(degree)
    d = _check_degree(n_features)
    if d < 1:
        raise ValueError("n_features must be >= 1.")
    if m <= 1:
        return 1
    count = math.comb(m + d, d) - d - 1
    if m % 2 == 1:
        count += len(_head_cover(m, d))
    return count


# --------------------------------------------------------------------------------------
# Chebyshev algebra on multi-index dictionaries
# --------------------------------------------------------------------------------------
def _cheb_mul(p: Mapping[Index, Any], q: Mapping[Index, Any]) -> dict[Index, Any]:
    """Product of two tensor Chebyshev series (works for floats and Fractions)."""
    out: dict[Index, Any] = {}
    for a, ca in p.items():
        for b, cb in q.items():
            options: list[tuple[int, ...]] = []
            scale: Any = ca * cb
            for x, y in zip(a, b, strict=True):
                if x == 0 or y == 0:
                    options.append((x + y,))
                else:
                    options.append((x + y, abs(x - y)))
                    scale = scale / 2
            for idx in itertools.product(*options):
                out[idx] = out.get(idx, 0) + scale
    return out


def _l1(p: Mapping[Index, float]) -> float:
    return float(sum(abs(v) for v in p.values()))


def _lower_bound(p: Mapping[Index, float], d: int) -> float:
    """Rigorous lower bound of a tensor Chebyshev series on ``[-1, 1]^d``."""
    zero = (0,) * d
    return float(p.get(zero, 0.0)) - sum(abs(v) for k, v in p.items() if k != zero)


def _affine_maps(domain: Sequence[tuple[float, float]]) -> tuple[NDArray, NDArray]:
    lo = np.array([float(a) for a, _ in domain])
    hi = np.array([float(bb) for _, bb in domain])
    if not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)) or np.any(hi <= lo):
        raise ValueError(
            f"Each domain interval must be finite with lo < hi, got {domain}."
        )
    alpha = 2.0 / (hi - lo)
    beta = -(hi + lo) / (hi - lo)
    return alpha, beta


def _power_to_chebyshev(
    coef: Mapping[Index, float], domain: Sequence[tuple[float, float]]
) -> dict[Index, float]:
    """Exact (rational) change of basis from powers of ``x`` to ``T_a(t)``.

    ``x_l = c_l t_l + m_l`` with ``c_l = (hi - lo) / 2`` and ``m_l = (hi + lo) / 2``
    taken exactly from the float end points; the result is rounded once to float64.
    """
    _affine_maps(domain)  # rejects empty, reversed and non-finite intervals first
    d = len(domain)
    degrees = [max((a[ax] for a in coef), default=0) for ax in range(d)]
    powers: list[list[list[Fraction]]] = []
    for ax, (lo, hi) in enumerate(domain):
        c = (Fraction(hi) - Fraction(lo)) / 2
        m = (Fraction(hi) + Fraction(lo)) / 2
        series = [[Fraction(1)]]
        for _ in range(degrees[ax]):
            prev = series[-1]
            new = [Fraction(0)] * (len(prev) + 1)
            for j, v in enumerate(prev):
                new[j] += m * v
                if j == 0:
                    new[1] += c * v
                else:
                    new[j + 1] += c * v / 2
                    new[j - 1] += c * v / 2
            series.append(new)
        powers.append(series)
    exact: dict[Index, Fraction] = {}
    for a, value in coef.items():
        if value == 0:
            continue
        fv = Fraction(float(value))
        factors = [powers[ax][a[ax]] for ax in range(d)]
        for idx in itertools.product(*(range(len(f)) for f in factors)):
            term = fv
            for ax, j in enumerate(idx):
                term *= factors[ax][j]
                if term == 0:
                    break
            if term != 0:
                exact[idx] = exact.get(idx, Fraction(0)) + term
    return {k: float(v) for k, v in exact.items() if v != 0}


# --------------------------------------------------------------------------------------
# The span builder
# --------------------------------------------------------------------------------------
class _SpanBuilder:
    """Add neurons one group at a time and keep every ``T_a`` of the span expressed.

    Generators are ``1, t_1, ..., t_d, h_1, ..., h_k``; an expression is a vector of
    coefficients over them. ``table[a]`` is the expression of ``T_a(t)``.
    """

    def __init__(self, d: int, n_neurons: int, margin: float) -> None:
        self.d = d
        self.k = n_neurons
        self.margin = float(margin)
        self.n_gen = 1 + d + n_neurons
        self.table: dict[Index, NDArray[np.float64]] = {}
        zero = (0,) * d
        self.table[zero] = self._unit(0)
        for ax in range(d):
            idx = tuple(1 if j == ax else 0 for j in range(d))
            self.table[idx] = self._unit(1 + ax)
        self.rows: list[NDArray[np.float64]] = []
        self.lower_bounds: list[float] = []

    def _unit(self, i: int) -> NDArray[np.float64]:
        e = np.zeros(self.n_gen)
        e[i] = 1.0
        return e

    def unit_h(self, i: int) -> NDArray[np.float64]:
        return self._unit(1 + self.d + i)

    def expr(self, poly: Mapping[Index, float]) -> NDArray[np.float64]:
        out = np.zeros(self.n_gen)
        for idx, v in poly.items():
            if v != 0:
                out += v * self.table[idx]
        return out

    def add_neuron(self, z_expr: NDArray[np.float64], lower_bound: float) -> int:
        if len(self.rows) >= self.k:
            raise RuntimeError("More neurons than allocated.")
        if np.any(z_expr[1 + self.d + len(self.rows) :] != 0):
            raise RuntimeError("A neuron may only read earlier neurons.")
        if not lower_bound >= self.margin * (1 - 1e-12):
            raise RuntimeError(
                f"Certified pre-activation bound {lower_bound} below the margin."
            )
        self.rows.append(z_expr)
        self.lower_bounds.append(float(lower_bound))
        return len(self.rows) - 1

    def add_group(self, preacts: Sequence[Poly]) -> None:
        """Add one neuron ``(q + M) ** 2`` per ``q`` and solve for the new ``T_a``."""
        zero = (0,) * self.d
        squares = []
        neurons = []
        for q in preacts:
            q = {a: _NEURON_SCALE * v for a, v in q.items()}
            shift = _l1(q) + self.margin
            z = dict(q)
            z[zero] = z.get(zero, 0.0) + shift
            i = self.add_neuron(self.expr(z), _lower_bound(z, self.d))
            neurons.append(i)
            squares.append(_cheb_mul(z, z))
        new: list[Index] = sorted(
            {
                a
                for sq in squares
                for a, v in sq.items()
                if v != 0 and a not in self.table
            }
        )
        if len(new) != len(preacts):
            raise RuntimeError(
                f"Group of {len(preacts)} neurons touches {len(new)} new indices."
            )
        col = {a: j for j, a in enumerate(new)}
        N = np.zeros((len(new), len(new)))
        R = np.zeros((len(new), self.n_gen))
        for r, (i, sq) in enumerate(zip(neurons, squares, strict=True)):
            R[r] = self.unit_h(i)
            for a, v in sq.items():
                if a in col:
                    N[r, col[a]] = v
                else:
                    R[r] -= v * self.table[a]
        sol = np.linalg.solve(N, R)
        for a, j in col.items():
            self.table[a] = sol[j]

    def add_idle_neuron(self) -> None:
        z = self._unit(0)
        self.add_neuron(z, 1.0)

    def parameters(
        self, out_expr: NDArray[np.float64], alpha: NDArray, beta: NDArray
    ) -> FreeNetParameters:
        if len(self.rows) != self.k:
            raise RuntimeError(f"Built {len(self.rows)} neurons, expected {self.k}.")
        d, k = self.d, self.k
        rows = np.array(self.rows).reshape(k, self.n_gen)
        E = rows[:, 1 : 1 + d] * alpha
        b = rows[:, 0] + rows[:, 1 : 1 + d] @ beta
        W = strictly_lower_part(rows[:, 1 + d :])
        U = (out_expr[1 : 1 + d] * alpha).reshape(1, d)
        c = np.array([out_expr[0] + out_expr[1 : 1 + d] @ beta])
        V = out_expr[1 + d :].reshape(1, k)
        return FreeNetParameters(E=E, b=b, W=W, G=W != 0, V=V, c=c, U=U)


def _split(a: Index, first: int) -> tuple[Index, Index]:
    """Balanced split ``a = g + h`` with ``|g| = first``."""
    g = [x // 2 for x in a]
    extra = first - sum(g)
    for ax, x in enumerate(a):
        if extra == 0:
            break
        if x % 2 == 1:
            g[ax] += 1
            extra -= 1
    if extra != 0:
        raise RuntimeError("Unbalanced split.")
    gt = tuple(g)
    return gt, tuple(x - y for x, y in zip(a, gt, strict=True))


def _pair_poly(g: Index, h: Index | None) -> Poly:
    if h is None or h == g:
        return {g: 1.0}
    return {g: 1.0, h: 1.0}


def _layer_groups(m: int, d: int) -> list[list[Poly]]:
    """Pre-activation polynomials (before the shift) of the fixed layer, by group."""
    groups: list[list[Poly]] = []
    if m < 2:
        return groups
    level2 = []
    for a in _indices_of_degree(2, d):
        level2.append(_pair_poly(*_split(a, 1)))
    groups.append(level2)
    s = 1
    while 2 * s + 2 <= m:
        group = []
        for a in _indices_of_degree(2 * s + 1, d):
            group.append(_pair_poly(*_split(a, s + 1)))
        for a in _indices_of_degree(2 * s + 2, d):
            g, h = _split(a, s + 1)
            group.append(_pair_poly(g, h))
        groups.append(group)
        s += 1
    if m == 2 * s + 1:
        heads = _head_cover(m, d)
        assigned: dict[Index, list[Index]] = {g: [] for g in heads}
        for a in _indices_of_degree(m, d):
            g = next(g for g in heads if all(x >= y for x, y in zip(a, g, strict=True)))
            assigned[g].append(a)
        group = []
        for g in heads:
            group.append({g: 1.0})
            for a in assigned[g]:
                group.append(
                    {g: 1.0, tuple(x - y for x, y in zip(a, g, strict=True)): 1.0}
                )
        groups.append(group)
    return groups


# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------
def _univariate_domain(domain: ArrayLike) -> tuple[float, float]:
    dom = np.asarray(domain, dtype=np.float64).ravel()
    if dom.shape != (2,):
        raise ValueError(f"domain must be a pair (lo, hi), got {domain!r}.")
    return float(dom[0]), float(dom[1])


def _univariate_coef(coef: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(coef, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("coef must be a non-empty 1-D array of coefficients.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("coef must be finite.")
    nz = np.flatnonzero(arr)
    return arr[: (nz[-1] + 1 if nz.size else 1)].copy()


def _multivariate_coef(coef: Mapping[Any, float], d: int) -> dict[Index, float]:
    out: dict[Index, float] = {}
    for key, value in coef.items():
        idx = tuple(int(x) for x in np.atleast_1d(key))
        if len(idx) != d or min(idx) < 0:
            raise ValueError(
                f"Exponent {key!r} does not match {d} features (non-negative ints)."
            )
        v = float(value)
        if not math.isfinite(v):
            raise ValueError("Coefficients must be finite.")
        if v != 0:
            out[idx] = out.get(idx, 0.0) + v
    return out


def _multivariate_domain(
    domain: Any, d: int | None = None
) -> list[tuple[float, float]]:
    dom = np.asarray(domain, dtype=np.float64)
    if dom.ndim != 2 or dom.shape[1] != 2:
        raise ValueError("domain must be a sequence of (lo, hi) pairs.")
    if d is not None and dom.shape[0] != d:
        raise ValueError(f"domain has {dom.shape[0]} intervals, expected {d}.")
    return [(float(a), float(b)) for a, b in dom]


def _check_basis(basis: str) -> str:
    if basis not in _BASES:
        raise ValueError(f"basis must be one of {_BASES}, got {basis!r}.")
    return basis


# --------------------------------------------------------------------------------------
# Univariate constructions
# --------------------------------------------------------------------------------------
def _ps_coefficients(p: NDArray[np.float64], s: int, r: int) -> NDArray[np.float64]:
    """Solve ``p = sum_j c_j T_j(T_s)`` by top-down elimination (exact algebra).

    Returns ``C`` of shape ``(r + 1, s + 1)``; ``C[j, i]`` is the coefficient of
    ``T_i`` in ``c_j``; only ``C[r, s]`` may be nonzero in the last column.
    """
    top = s * (r + 1)
    res = np.zeros(top + 1)
    res[: p.size] = p
    C = np.zeros((r + 1, s + 1))
    for D in range(top, -1, -1):
        if D == top:
            j, i = r, s
        else:
            j, i = divmod(D, s)
        value = res[D]
        res[D] = 0.0
        if value == 0.0:
            continue
        if i == 0 or j == 0:
            C[j, i] = value
        else:  # T_i T_{js} = (T_{js + i} + T_{js - i}) / 2
            C[j, i] = 2.0 * value
            res[j * s - i] -= value
    return C


def _univariate_layer(
    cheb: NDArray[np.float64], degree: int, margin: float
) -> tuple[_SpanBuilder, NDArray[np.float64]]:
    k = neurons_needed(degree, "layer")
    builder = _SpanBuilder(1, k, margin)
    if degree <= 1:
        builder.add_idle_neuron()
    for group in _layer_groups(degree, 1):
        builder.add_group(group)
    out = builder.expr({(j,): v for j, v in enumerate(cheb)})
    return builder, out


def _univariate_ps(
    cheb: NDArray[np.float64], degree: int, margin: float
) -> tuple[_SpanBuilder, NDArray[np.float64], tuple[int, int]]:
    s, r = paterson_stockmeyer_split(degree)
    builder = _SpanBuilder(1, s - 1 + 2 * r, margin)
    for group in _layer_groups(s, 1):
        builder.add_group(group)
    C = _ps_coefficients(cheb, s, r)

    def cpoly(j: int) -> NDArray[np.float64]:
        return C[j].copy()

    def cexpr(j: int) -> NDArray[np.float64]:
        return builder.expr({(i,): v for i, v in enumerate(C[j])})

    q_expr = builder.table[(s,)]
    q_poly = np.zeros(s + 1)
    q_poly[s] = 1.0

    def product(
        b_poly: NDArray[np.float64], b_expr: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Two neurons giving Q * b by polarisation; returns its poly and expr.

        ``z = (u b +- w Q) / 2 + M`` gives ``h+ - h- = u w Q b + 2 M w Q``. Both
        halves are balanced, ``u S ~ w`` with ``S = sum |Chebyshev coef of b|``,
        and the larger is at least ``L``: ``u = L / lam``, ``w = L lam`` with
        ``lam`` a power of two near ``sqrt S`` for ``S >= 1``, and ``u = L / S``
        (``S`` rounded to a power of two, floored at ``_PRODUCT_FLOOR``),
        ``w = L`` below. Then ``M`` stays far above the absolute margin, so the
        rounding errors of ``Q b`` scale with ``S``, and ``Q`` (whose float64
        value carries the rounding of the whole baby-step chain) enters with a
        weight proportional to ``b``. (With ``lam = sqrt S`` for a small ``S``,
        ``M`` fell to the margin and ``h+ - h-`` cancelled catastrophically: a
        pre-activation of -9e8 at degree 200 on (0, 1).)
        """
        S = float(np.sum(np.abs(b_poly)))
        if S >= 1.0:
            lam = 2.0 ** round(math.log2(math.sqrt(S)))
            u = _NEURON_SCALE / lam
            w = _NEURON_SCALE * lam
        else:
            u = _NEURON_SCALE / 2.0 ** round(math.log2(max(S, _PRODUCT_FLOOR)))
            w = _NEURON_SCALE
        bound = 0.5 * (u * S + w)
        shift = bound + margin
        base = 0.5 * u * b_expr + shift * builder._unit(0)
        qpart = 0.5 * w * q_expr
        ip = builder.add_neuron(base + qpart, shift - bound)
        im = builder.add_neuron(base - qpart, shift - bound)
        expr = (builder.unit_h(ip) - builder.unit_h(im) - 2.0 * shift * w * q_expr) / (
            u * w
        )
        return np.asarray(npcheb.chebmul(q_poly, b_poly), dtype=np.float64), expr

    if r == 0:
        out = cexpr(0)
    else:
        zero_poly = np.zeros(1)
        zero_expr = np.zeros(builder.n_gen)
        b_poly = {r + 1: zero_poly, r + 2: zero_poly}
        b_expr = {r + 1: zero_expr, r + 2: zero_expr}
        p_poly = zero_poly
        p_expr = zero_expr  # Q * b_{j+1}
        for j in range(r, 0, -1):
            b_poly[j] = np.asarray(
                npcheb.chebsub(npcheb.chebadd(cpoly(j), 2.0 * p_poly), b_poly[j + 2]),
                dtype=np.float64,
            )
            b_expr[j] = cexpr(j) + 2.0 * p_expr - b_expr[j + 2]
            p_poly, p_expr = product(b_poly[j], b_expr[j])
        out = cexpr(0) + p_expr - b_expr[2]
    return builder, out, (s, r)


def _univariate_check_grid(lo: float, hi: float, degree: int) -> NDArray[np.float64]:
    """Points of ``[lo, hi]`` on which a univariate construction is checked.

    The ``4 max(degree, 16) + 1`` Chebyshev extreme points (dense near the ends,
    where the rounding of high-degree networks is largest) and 1,001 equispaced
    points, ends included.
    """
    m = 4 * max(degree, 16)
    c = np.cos(np.pi * np.arange(m + 1) / m)
    x = np.concatenate(
        [0.5 * (1 - c) * lo + 0.5 * (1 + c) * hi, np.linspace(lo, hi, 1001)]
    )
    return np.unique(np.clip(x, lo, hi))


def _check_univariate(
    params: FreeNetParameters,
    cheb: NDArray[np.float64],
    lo: float,
    hi: float,
    degree: int,
    margin: float,
    rtol: float,
) -> dict[str, Any]:
    """Evaluate a built network in float64 against the polynomial on a grid.

    Returns ``min_margin`` (smallest float64 pre-activation), ``max_rel_error``
    (``max |net - p| / max |p|``, the polynomial evaluated in double-double
    arithmetic from its Chebyshev coefficients), ``n_points``, and ``failure``: a
    sentence saying why the network cannot be used (non-finite values, or a
    pre-activation more than ``_MARGIN_RTOL`` below ``margin``), or ``None``; and
    ``accurate``: whether ``max_rel_error <= rtol``.
    """
    x = _univariate_check_grid(lo, hi, degree)
    out: dict[str, Any] = {
        "min_margin": math.nan,
        "max_rel_error": math.nan,
        "n_points": int(x.size),
        "failure": None,
        "accurate": False,
    }
    arrays = (params.E, params.b, params.W, params.V, params.c, params.U)
    if not all(np.all(np.isfinite(a)) for a in arrays):
        out["failure"] = "its weights overflow float64"
        return out
    with np.errstate(all="ignore"):
        y, Z = params.forward(x)
        ref = evaluate_polynomial(cheb, x, (lo, hi), basis="chebyshev")
    if not np.all(np.isfinite(ref)):
        out["failure"] = "the values of the polynomial overflow float64 on the domain"
        return out
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(Z))):
        out["failure"] = "its float64 forward pass overflows"
        return out
    min_margin = float(np.min(Z))
    scale = float(np.max(np.abs(ref)))
    err = float(np.max(np.abs(y - ref)))
    rel = err / scale if scale > 0 else err
    out["min_margin"] = min_margin
    out["max_rel_error"] = rel
    if not min_margin >= margin * (1 - _MARGIN_RTOL):
        out["failure"] = (
            f"float64 rounding lowers a pre-activation to {min_margin:.3g}, below "
            f"the certified margin {margin:g}"
        )
    out["accurate"] = out["failure"] is None and rel <= rtol
    return out


def _build_univariate(
    cheb: NDArray[np.float64],
    degree: int,
    method: str,
    margin: float,
    alpha: NDArray,
    beta: NDArray,
) -> tuple[FreeNetParameters, _SpanBuilder, tuple[int, int] | tuple[None, None]]:
    split: tuple[int, int] | tuple[None, None] = (None, None)
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "paterson_stockmeyer" and degree >= 2:
            # Work with p / 2**e, |p / 2**e| <= 1, so the hidden weights stay O(1);
            # the power-of-two scale goes back into the decoder exactly (ldexp:
            # 2**e itself overflows for a norm above 2**1023).
            mantissa, e = math.frexp(float(np.sum(np.abs(cheb))))
            if mantissa == 0.5:  # the norm is 2**(e - 1)
                e -= 1
            builder, out, split = _univariate_ps(np.ldexp(cheb, -e), degree, margin)
            out = np.ldexp(out, e)
        else:
            builder, out = _univariate_layer(cheb, degree, margin)
        params = builder.parameters(out, alpha, beta)
    return params, builder, split


def univariate_parameters(
    coef: ArrayLike,
    domain: ArrayLike = (-1.0, 1.0),
    *,
    method: str = "auto",
    basis: str = "power",
    margin: float = DEFAULT_MARGIN,
    rtol: float = DEFAULT_RTOL,
    return_info: bool = False,
) -> FreeNetParameters | tuple[FreeNetParameters, dict[str, Any]]:
    """Build a FreeNet representing a univariate polynomial exactly on an interval.

    Every pre-activation of the construction is certified ``>= margin`` on the whole
    domain in exact arithmetic (from Chebyshev coefficient bounds). The float64
    network is then checked on a grid of the domain (:func:`_univariate_check_grid`)
    against the polynomial evaluated in double-double arithmetic (from its
    Chebyshev coefficients, rounded once to float64): its
    pre-activations must stay above ``margin * (1 - 1e-6)`` and its values finite,
    or the construction is refused, and its relative error
    ``max |net - p| / max |p|`` should be at most ``rtol``, or a ``RuntimeWarning``
    says how large it is.

    Parameters
    ----------
    coef : array-like of shape (degree + 1,)
        Coefficients, lowest degree first. With ``basis="power"``,
        ``p(x) = sum_i coef[i] x ** i``; with ``basis="chebyshev"``,
        ``p(x) = sum_i coef[i] T_i(t)`` with ``t = (2 x - lo - hi) / (hi - lo)``
        (the convention of ``numpy.polynomial.Chebyshev(coef, domain=domain)``).
    domain : tuple of (float, float), default=(-1.0, 1.0)
        Interval ``(lo, hi)`` on which the network equals ``p``.
    method : {"layer", "paterson_stockmeyer", "auto"}, default="auto"
        Construction, see :func:`neurons_needed` for the neuron counts. ``"auto"``
        tries the one with fewer neurons first and the other one when the first
        fails a check; it takes the first that passes both, else the more
        accurate one that keeps the margin (with the warning).
    basis : {"power", "chebyshev"}, default="power"
        Basis of ``coef``.
    margin : float, default=0.125
        Certified lower bound of every pre-activation on the domain.
    rtol : float, default=2e-12
        Relative error above which a ``RuntimeWarning`` is issued.
    return_info : bool, default=False
        Also return a dict with ``method``, ``degree``, ``n_neurons``, ``s`` and
        ``r`` (Paterson-Stockmeyer split, ``None`` for ``"layer"``),
        ``certified_margin`` (smallest rigorous lower bound of a pre-activation, from
        the Chebyshev coefficients), ``chebyshev_coef`` and ``check`` (the float64
        check: ``min_margin``, ``max_rel_error`` and ``n_points``).

    Returns
    -------
    params : FreeNetParameters
        Parameters with exactly ``neurons_needed(degree, method)`` neurons (for
        ``"auto"``, of the construction it took).
    info : dict
        Only when ``return_info=True``.

    Raises
    ------
    ValueError
        When the Chebyshev coefficients, the weights or the values overflow
        float64, or float64 rounding would lower a pre-activation below
        ``margin * (1 - 1e-6)`` (for ``"auto"``: with both constructions).

    Warns
    -----
    RuntimeWarning
        When the network's relative error on the check grid exceeds ``rtol`` (at
        high degree, or for an ill-conditioned polynomial); the margin still holds.
    """
    method = _check_method(method)
    basis = _check_basis(basis)
    if not margin > 0:
        raise ValueError("margin must be positive.")
    if not rtol > 0:
        raise ValueError("rtol must be positive.")
    lo, hi = _univariate_domain(domain)
    arr = _univariate_coef(coef)
    degree = arr.size - 1 if np.any(arr) else 0
    ends = f"{lo:g}", f"{hi:g}"
    if ends[0] == ends[1]:
        ends = repr(lo), repr(hi)
    where = f"the degree-{degree} polynomial on [{ends[0]}, {ends[1]}]"
    overflow = (
        f"Cannot build an exact network for {where}: its Chebyshev coefficients on "
        "the domain overflow float64. Rescale x (a domain near (-1, 1)) or the "
        "coefficients, or lower the degree."
    )
    alpha, beta = _affine_maps([(lo, hi)])
    if basis == "power":
        try:
            conv = _power_to_chebyshev({(i,): v for i, v in enumerate(arr)}, [(lo, hi)])
        except OverflowError:
            raise ValueError(overflow) from None
        cheb = np.zeros(degree + 1)
        for (i,), v in conv.items():
            cheb[i] = v
    else:
        cheb = arr[: degree + 1].copy()
    with np.errstate(over="ignore"):
        if not math.isfinite(float(np.sum(np.abs(cheb)))):
            raise ValueError(overflow)
    if method == "auto" and degree >= 2:
        first = _resolve_method(degree, method)
        other = "layer" if first == "paterson_stockmeyer" else "paterson_stockmeyer"
        candidates = [first, other]
    else:
        candidates = ["layer" if method == "auto" else method]
    tried = []
    for cand in candidates:
        params, builder, split = _build_univariate(
            cheb, degree, cand, margin, alpha, beta
        )
        check = _check_univariate(params, cheb, lo, hi, degree, margin, rtol)
        tried.append((cand, params, builder, split, check))
        if check["accurate"]:
            break
    usable = [t for t in tried if t[4]["failure"] is None]
    if not usable:
        reasons = "; ".join(f"{t[0]!r}: {t[4]['failure']}" for t in tried)
        raise ValueError(
            f"Cannot build an exact squared-ReLU network for {where} whose float64 "
            f"values stay finite and pre-activations >= {margin:g} ({reasons}). "
            "Rescale x to a domain near (-1, 1), use coefficients of moderate size, "
            "or lower the degree."
        )
    accurate = [t for t in usable if t[4]["accurate"]]
    if accurate:
        method, params, builder, split, check = accurate[0]
    else:
        method, params, builder, split, check = min(
            usable, key=lambda t: t[4]["max_rel_error"]
        )
        warnings.warn(
            f"The {method!r} network of {where} has a relative error of "
            f"{check['max_rel_error']:.2g} (max |net - p| / max |p| on "
            f"{check['n_points']} points), above {rtol:g}: float64 rounding grows "
            "with the degree and with sum |Chebyshev coefficients| / max |p|. The "
            f"pre-activations still stay >= {margin:g}, so the network is a "
            "polynomial this close to p. Lower the degree or split the domain for "
            "a smaller error.",
            RuntimeWarning,
            stacklevel=2,
        )
    if not return_info:
        return params
    info = {
        "method": method,
        "degree": degree,
        "n_neurons": params.n_neurons,
        "s": split[0],
        "r": split[1],
        "certified_margin": min(builder.lower_bounds),
        "chebyshev_coef": cheb,
        "check": {k: check[k] for k in ("min_margin", "max_rel_error", "n_points")},
    }
    return params, info


# --------------------------------------------------------------------------------------
# Multivariate construction
# --------------------------------------------------------------------------------------
def multivariate_parameters(
    coef: Mapping[Any, float],
    domain: ArrayLike,
    *,
    basis: str = "power",
    margin: float = DEFAULT_MARGIN,
    return_info: bool = False,
) -> FreeNetParameters | tuple[FreeNetParameters, dict[str, Any]]:
    """Build a fixed-layer FreeNet representing a polynomial in several variables.

    Parameters
    ----------
    coef : dict
        ``{exponents: coefficient}`` with ``exponents`` a tuple of ``d``
        non-negative ints. With ``basis="power"`` a key ``(2, 1)`` stands for
        ``x_1 ** 2 * x_2``; with ``basis="chebyshev"`` for ``T_2(t_1) T_1(t_2)``
        where ``t_l`` maps ``domain[l]`` onto ``[-1, 1]``.
    domain : sequence of (float, float)
        Box ``[(lo_1, hi_1), ..., (lo_d, hi_d)]``.
    basis : {"power", "chebyshev"}, default="power"
        Basis of ``coef``.
    margin : float, default=0.125
        Certified lower bound of every pre-activation on the box.
    return_info : bool, default=False
        Also return a dict with ``degree``, ``n_neurons``, ``certified_margin`` and
        ``chebyshev_coef``.

    Returns
    -------
    params : FreeNetParameters
        Parameters with ``neurons_needed_multivariate(degree, d)`` neurons.
    info : dict
        Only when ``return_info=True``.
    """
    basis = _check_basis(basis)
    if not margin > 0:
        raise ValueError("margin must be positive.")
    dom = _multivariate_domain(domain)
    d = len(dom)
    poly = _multivariate_coef(coef, d)
    degree = max((sum(a) for a in poly), default=0)
    cheb = _power_to_chebyshev(poly, dom) if basis == "power" else poly
    alpha, beta = _affine_maps(dom)
    k = neurons_needed_multivariate(degree, d)
    builder = _SpanBuilder(d, k, margin)
    if degree <= 1:
        builder.add_idle_neuron()
    for group in _layer_groups(degree, d):
        builder.add_group(group)
    out = builder.expr(cheb)
    params = builder.parameters(out, alpha, beta)
    if not return_info:
        return params
    info = {
        "degree": degree,
        "n_neurons": k,
        "certified_margin": min(builder.lower_bounds),
        "chebyshev_coef": cheb,
    }
    return params, info


# --------------------------------------------------------------------------------------
# Accurate reference evaluation (double-double arithmetic) and checks
# --------------------------------------------------------------------------------------
_SPLITTER = 134217729.0  # 2 ** 27 + 1


def _two_sum(a: NDArray, b: NDArray) -> tuple[NDArray, NDArray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fast_two_sum(a: NDArray, b: NDArray) -> tuple[NDArray, NDArray]:
    s = a + b
    return s, b - (s - a)


def _split_dd(a: NDArray) -> tuple[NDArray, NDArray]:
    # Dekker's split; values above 2**995 are scaled down first, or _SPLITTER * a
    # would overflow (as in the QD library).
    big = np.abs(a) > 2.0**995
    if np.any(big):
        a = np.where(big, a * 2.0**-28, a)
    c = _SPLITTER * a
    hi = c - (c - a)
    lo = a - hi
    if np.any(big):
        hi = np.where(big, hi * 2.0**28, hi)
        lo = np.where(big, lo * 2.0**28, lo)
    return hi, lo


def _two_prod(a: NDArray, b: NDArray) -> tuple[NDArray, NDArray]:
    p = a * b
    ah, al = _split_dd(a)
    bh, bl = _split_dd(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _dd_add(x: tuple[NDArray, NDArray], y: tuple[NDArray, NDArray]) -> tuple:
    s, e = _two_sum(x[0], y[0])
    return _fast_two_sum(s, e + x[1] + y[1])


def _dd_mul(x: tuple[NDArray, NDArray], y: tuple[NDArray, NDArray]) -> tuple:
    p, e = _two_prod(x[0], y[0])
    return _fast_two_sum(p, e + x[0] * y[1] + x[1] * y[0])


def _dd_div(x: tuple[NDArray, NDArray], y: tuple[NDArray, NDArray]) -> tuple:
    q1 = x[0] / y[0]
    r = _dd_add(x, _dd_mul((-q1, np.zeros_like(q1)), y))
    return _fast_two_sum(q1, r[0] / y[0])


def _dd(a: Any, like: NDArray) -> tuple[NDArray, NDArray]:
    return np.full_like(like, float(a)), np.zeros_like(like)


def evaluate_polynomial(
    coef: ArrayLike | Mapping[Any, float],
    X: ArrayLike,
    domain: Any,
    *,
    basis: str = "power",
) -> NDArray[np.float64]:
    """Evaluate a polynomial accurately in double-double arithmetic.

    The result is the exact value at the float64 points (for the float64
    coefficients) up to a relative error of order ``1e-16`` plus the condition
    number times ``1e-32``; it serves as the reference of :func:`check_parameters`.

    Parameters
    ----------
    coef : array-like or dict
        Univariate coefficients (lowest degree first) or a ``{exponents: coef}``
        dict, as in :func:`univariate_parameters` / :func:`multivariate_parameters`.
    X : array-like of shape (n_samples, n_features)
        Points; a 1-D array is one feature.
    domain : tuple or sequence of tuples
        Domain, used by the Chebyshev basis to map ``x`` to ``t``.
    basis : {"power", "chebyshev"}, default="power"
        Basis of ``coef``.

    Returns
    -------
    values : ndarray of shape (n_samples,)
    """
    basis = _check_basis(basis)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    d = X.shape[1]
    if isinstance(coef, Mapping):
        poly = _multivariate_coef(coef, d)
        dom = _multivariate_domain(domain, d)
    else:
        if d != 1:
            raise ValueError("Univariate coefficients need a single feature.")
        arr = _univariate_coef(coef)
        poly = {(i,): float(v) for i, v in enumerate(arr) if v != 0}
        dom = [_univariate_domain(domain)]
    n = X.shape[0]
    zeros = np.zeros(n)
    degrees = [max((a[ax] for a in poly), default=0) for ax in range(d)]
    basis_values: list[list[tuple[NDArray, NDArray]]] = []
    for ax in range(d):
        x = (X[:, ax].copy(), zeros.copy())
        if basis == "chebyshev":
            lo, hi = dom[ax]
            s_hi, s_lo = _two_sum(lo + zeros, hi + zeros)
            num = _dd_add((2.0 * x[0], zeros), (-s_hi, -s_lo))
            den = _two_sum(hi + zeros, -lo + zeros)
            x = _dd_div(num, den)
        vals = [(np.ones(n), zeros.copy())]
        if degrees[ax] >= 1:
            vals.append(x)
        for _ in range(2, degrees[ax] + 1):
            if basis == "power":
                vals.append(_dd_mul(vals[-1], x))
            else:
                two_t = (2.0 * x[0], 2.0 * x[1])
                nxt = _dd_mul(two_t, vals[-1])
                prev = vals[-2]
                vals.append(_dd_add(nxt, (-prev[0], -prev[1])))
        basis_values.append(vals)
    total = (zeros.copy(), zeros.copy())
    for a, v in poly.items():
        term = _dd(v, zeros)
        for ax in range(d):
            if a[ax]:
                term = _dd_mul(term, basis_values[ax][a[ax]])
        total = _dd_add(total, term)
    return total[0] + total[1]


def _grid(dom: Sequence[tuple[float, float]], n_points: int) -> NDArray[np.float64]:
    d = len(dom)
    per_axis = n_points if d == 1 else max(2, math.ceil(n_points ** (1.0 / d)))
    axes = [np.linspace(lo, hi, per_axis) for lo, hi in dom]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def check_parameters(
    params: FreeNetParameters,
    coef: ArrayLike | Mapping[Any, float],
    domain: Any,
    n_points: int = 10001,
    *,
    basis: str = "power",
    predict: Callable[[NDArray[np.float64]], ArrayLike] | None = None,
) -> dict[str, float]:
    """:func:`sklearn_freenets.theory.check_representation` for a FreeNetParameters.

    Same arguments (``params`` in place of the estimator, and ``coef`` as in
    :func:`univariate_parameters` or :func:`multivariate_parameters`) and the same
    result: the errors are those of ``predict`` on the grid (by default
    ``params.forward``), the margin that of ``params``, and the polynomial is
    evaluated in double-double arithmetic (:func:`evaluate_polynomial`).
    """
    if not isinstance(params, FreeNetParameters):
        raise TypeError("params must be a FreeNetParameters instance.")
    if int(n_points) < 2:
        raise ValueError("n_points must be >= 2.")
    n_points = int(n_points)
    if isinstance(coef, Mapping):
        dom = _multivariate_domain(domain, params.n_features)
    else:
        dom = [_univariate_domain(domain)]
    X = _grid(dom, n_points)
    y, Z = params.forward(X)
    if predict is not None:
        y = np.asarray(predict(X), dtype=np.float64).reshape(-1)
    ref = evaluate_polynomial(coef, X, domain, basis=basis)
    err = float(np.max(np.abs(y - ref)))
    scale = float(np.max(np.abs(ref)))
    return {
        "max_abs_error": err,
        "max_rel_error": err / scale if scale > 0 else err,
        "min_margin": float(np.min(Z)) if Z.size else math.inf,
    }
