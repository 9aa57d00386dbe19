# SPDX-License-Identifier: BSD-3-Clause
"""Exact polynomial FreeNets (Theorem 1).

With the squared ReLU a FreeNet represents polynomials exactly on a bounded domain:
every pre-activation is kept above a positive margin, so ``max(0, z) ** 2 = z ** 2``.
The functions here build fitted :class:`~sklearn_freenets.FreeNetRegressor` objects
that equal a given polynomial, report how many neurons a degree needs and measure
how exactly an estimator represents a polynomial. The mathematics lives in the
private module ``sklearn_freenets._polynomial``.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import TYPE_CHECKING, Any

from numpy.typing import ArrayLike
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from sklearn_freenets import _polynomial

if TYPE_CHECKING:
    from sklearn_freenets._estimators import FreeNetRegressor

__all__ = [
    "check_representation",
    "multivariate_polynomial_freenet",
    "neurons_needed",
    "neurons_needed_multivariate",
    "polynomial_freenet",
]

# The options ``_polynomial`` accepts; it also checks them (and the coefficients and
# domains) itself, so only the parameter types and ranges are validated here.
_METHODS = set(_polynomial._METHODS)
_BASES = set(_polynomial._BASES)


@validate_params(
    {
        "coef": ["array-like"],
        "domain": ["array-like"],
        "method": [StrOptions(_METHODS)],
        "basis": [StrOptions(_BASES)],
    },
    prefer_skip_nested_validation=True,
)
def polynomial_freenet(
    coef: ArrayLike,
    domain: ArrayLike = (-1.0, 1.0),
    *,
    method: str = "auto",
    basis: str = "power",
) -> FreeNetRegressor:
    """Build a fitted FreeNetRegressor equal to a univariate polynomial.

    The weights come from Chebyshev algebra (triangular systems in coefficient
    space, no fitting). The float64 network is then checked on a grid of the
    domain (``4 max(degree, 16) + 1`` Chebyshev points and 1,001 equispaced
    points) against the polynomial evaluated in double-double arithmetic. What
    holds:

    - in exact arithmetic every pre-activation of the construction is at least
      1/8 on the whole domain (certified from bounds on its Chebyshev
      coefficients), so ``max(0, z) ** 2 = z ** 2`` there and the network is a
      polynomial;
    - the float64 network keeps every pre-activation at least
      ``(1 - 1e-6) / 8`` on the check grid (rounding lowers it by at most about
      2e-13 at degree 20 and 3e-10 at degree 300), or the construction is
      refused with a ``ValueError``;
    - its relative error ``max |net - p| / max |p|`` on the check grid is at
      most 2e-12, or a ``RuntimeWarning`` gives its size. Measured on (-1, 1),
      (0, 1), (-3, 5) and (2, 7): below 1e-12 up to degree 20; random
      power-basis coefficients below 1e-12 up to degree 300; ``T_n`` itself, the
      worst case, 3e-12 at degree 50, 2e-11 at degree 100 and 1e-10 at degree
      300. The error grows with the degree and with
      ``sum |Chebyshev coefficients| / max |p|``.

    Parameters
    ----------
    coef : array-like of shape (degree + 1,)
        Coefficients, lowest degree first: ``sum_i coef[i] x ** i`` for
        ``basis="power"``, ``sum_i coef[i] T_i(t)`` with
        ``t = (2 x - lo - hi) / (hi - lo)`` for ``basis="chebyshev"``.
    domain : array-like of shape (2,), default=(-1.0, 1.0)
        Interval ``(lo, hi)`` on which the network equals the polynomial.
    method : {"layer", "paterson_stockmeyer", "auto"}, default="auto"
        ``"layer"``: one fixed hidden layer shared by every polynomial of the degree
        (degree ``n`` with at most ``n`` neurons); ``"paterson_stockmeyer"``:
        per-polynomial baby-step/giant-step network (degree ``s (r + 1)`` with
        ``s - 1 + 2 r`` neurons); ``"auto"``: whichever needs fewer neurons, or
        the other one when the first fails a float64 check and the other passes
        both (when neither meets 2e-12, the more accurate one, with the warning).
    basis : {"power", "chebyshev"}, default="power"
        Basis of ``coef``.

    Returns
    -------
    estimator : FreeNetRegressor
        Fitted float64 regressor with the squared ReLU and the linear skip, whose
        ``n_neurons`` is ``neurons_needed(degree, method)`` (for ``"auto"``, that
        of the construction it took).

    Raises
    ------
    ValueError
        When the polynomial cannot be represented with the margin in float64:
        its Chebyshev coefficients, values or the network's weights overflow
        (degree 400 on (2, 7): ``7 ** 400`` exceeds 1e308), or rounding would lower
        a pre-activation below ``(1 - 1e-6) / 8`` (a domain too narrow for its
        position, such as ``(1, 1 + 1e-15)``). The message names the degree, the
        domain and what failed. Rescale ``x`` to an interval near (-1, 1).

    Warns
    -----
    RuntimeWarning
        When the relative error on the check grid exceeds 2e-12. The margin
        still holds, so the network is a polynomial that close to ``p``; measure
        it with :func:`check_representation`, or lower the degree or split the
        domain for a smaller error.

    See Also
    --------
    neurons_needed : Neuron count of the constructions.
    check_representation : Measure the error on a grid.
    """
    from sklearn_freenets._estimators import _regressor_from_parameters

    params = _polynomial.univariate_parameters(coef, domain, method=method, basis=basis)
    return _regressor_from_parameters(params)


@validate_params(
    {
        "coef": [dict],
        "domain": ["array-like"],
        "basis": [StrOptions(_BASES)],
    },
    prefer_skip_nested_validation=True,
)
def multivariate_polynomial_freenet(
    coef: Mapping[tuple[int, ...], float],
    domain: ArrayLike,
    *,
    basis: str = "power",
) -> FreeNetRegressor:
    """Build a fitted FreeNetRegressor equal to a polynomial in several variables.

    Parameters
    ----------
    coef : dict
        ``{exponents: coefficient}``; ``(2, 1)`` stands for ``x_1 ** 2 * x_2`` with
        ``basis="power"`` and for ``T_2(t_1) T_1(t_2)`` with ``basis="chebyshev"``.
    domain : array-like of shape (n_features, 2)
        Box ``[(lo_1, hi_1), ..., (lo_d, hi_d)]``.
    basis : {"power", "chebyshev"}, default="power"
        Basis of ``coef``.

    Returns
    -------
    estimator : FreeNetRegressor
        Fitted regressor with ``neurons_needed_multivariate(degree, n_features)``
        neurons (one fixed hidden layer, squares of Chebyshev products built level
        by level).
    """
    from sklearn_freenets._estimators import _regressor_from_parameters

    params = _polynomial.multivariate_parameters(coef, domain, basis=basis)
    return _regressor_from_parameters(params)


@validate_params(
    {
        "degree": [Interval(Integral, 0, None, closed="left")],
        "method": [StrOptions(_METHODS)],
    },
    prefer_skip_nested_validation=True,
)
def neurons_needed(degree: int, method: str = "auto") -> int:
    """Number of neurons :func:`polynomial_freenet` uses for a degree.

    Parameters
    ----------
    degree : int
        Degree of the polynomial.
    method : {"layer", "paterson_stockmeyer", "auto"}, default="auto"
        Construction.

    Returns
    -------
    n_neurons : int
        ``"layer"``: ``degree - 1`` (even) or ``degree`` (odd);
        ``"paterson_stockmeyer"``: ``min s - 1 + 2 r`` over even ``s`` with
        ``s (r + 1) >= degree``; ``"auto"``: the minimum (what
        :func:`polynomial_freenet` uses unless that construction fails its
        float64 checks and the other passes them). Degrees 0 and 1 use one idle
        neuron (the skip connection carries the affine part).

    Examples
    --------
    >>> from sklearn_freenets.theory import neurons_needed
    >>> [neurons_needed(n, "paterson_stockmeyer") for n in (4, 8, 12, 20, 40)]
    [3, 5, 7, 11, 15]
    """
    return _polynomial.neurons_needed(int(degree), method)


@validate_params(
    {
        "degree": [Interval(Integral, 0, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def neurons_needed_multivariate(degree: int, n_features: int) -> int:
    """Number of neurons :func:`multivariate_polynomial_freenet` uses.

    Parameters
    ----------
    degree : int
        Total degree ``m``.
    n_features : int
        Number of variables ``d``.

    Returns
    -------
    n_neurons : int
        ``C(m + d, d) - d - 1`` for even ``m``; for odd ``m`` a few more (one per
        covering head; ``C(m + 2, 2) - 1`` for ``d = 2``).

    Examples
    --------
    >>> from sklearn_freenets.theory import neurons_needed_multivariate
    >>> [neurons_needed_multivariate(m, 2) for m in range(2, 9)]
    [3, 9, 12, 20, 25, 35, 42]
    """
    return _polynomial.neurons_needed_multivariate(int(degree), int(n_features))


@validate_params(
    {
        "estimator": [HasMethods(["predict"])],
        "coef": ["array-like", dict],
        "domain": ["array-like"],
        "n_points": [Interval(Integral, 2, None, closed="left")],
        "basis": [StrOptions(_BASES)],
    },
    prefer_skip_nested_validation=True,
)
def check_representation(
    estimator: Any,
    coef: ArrayLike | Mapping[tuple[int, ...], float],
    domain: ArrayLike,
    n_points: int = 10001,
    *,
    basis: str = "power",
) -> dict[str, float]:
    """Measure how exactly a fitted FreeNetRegressor represents a polynomial.

    Parameters
    ----------
    estimator : FreeNetRegressor
        Fitted regressor with the squared ReLU and the linear skip.
    coef : array-like or dict
        The polynomial, as in :func:`polynomial_freenet` or
        :func:`multivariate_polynomial_freenet`.
    domain : array-like
        Interval ``(lo, hi)`` or box ``[(lo_1, hi_1), ...]``.
    n_points : int, default=10001
        Grid size (``ceil(n_points ** (1 / d))`` points per axis in ``d`` variables).
    basis : {"power", "chebyshev"}, default="power"
        Basis of ``coef``.

    Returns
    -------
    result : dict
        ``max_abs_error`` and ``max_rel_error`` of ``estimator.predict`` against the
        polynomial (evaluated in double-double arithmetic), and ``min_margin``, the
        smallest pre-activation over the grid (positive: the ReLU never clipped).
    """
    from sklearn_freenets._estimators import _parameters_from_estimator

    params = _parameters_from_estimator(estimator)
    return _polynomial.check_parameters(
        params, coef, domain, n_points, basis=basis, predict=estimator.predict
    )
