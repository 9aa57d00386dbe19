# SPDX-License-Identifier: BSD-3-Clause
"""Tests for the exact polynomial constructions in ``sklearn_freenets._polynomial``."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from numpy.polynomial import legendre
from numpy.polynomial import polynomial as npoly
from numpy.testing import assert_allclose

from sklearn_freenets import _polynomial
from sklearn_freenets._polynomial import (
    FreeNetParameters,
    check_parameters,
    evaluate_polynomial,
    multivariate_parameters,
    neurons_needed,
    neurons_needed_multivariate,
    paterson_stockmeyer_split,
    univariate_parameters,
)

METHODS = ["layer", "paterson_stockmeyer"]
DOMAINS = [(-1.0, 1.0), (0.0, 1.0), (-3.0, 5.0), (2.0, 7.0), (-10.0, 10.0)]
DEGREES = list(range(1, 21))
TOL = 1e-12
MARGIN = 0.125


def _assert_exact(params, coef, domain, *, basis="power", n_points=10001, tol=TOL):
    result = check_parameters(params, coef, domain, n_points, basis=basis)
    assert result["max_rel_error"] <= tol, result
    assert result["min_margin"] >= MARGIN * (1 - 1e-9), result
    return result


def _assert_structure(params: FreeNetParameters) -> None:
    k = params.n_neurons
    assert params.W.shape == (k, k)
    assert np.all(np.triu(params.W) == 0)
    assert np.all(np.triu(params.G) == 0)
    assert np.all(params.G[params.W != 0])
    assert params.V.shape == (1, k)
    assert params.c.shape == (1,)
    assert params.U.shape == (1, params.n_features)
    for array in (params.E, params.b, params.W, params.V, params.c, params.U):
        assert array.dtype == np.float64
        assert np.all(np.isfinite(array))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("degree", DEGREES)
def test_random_power_coefficients(method, degree):
    """Check that random power-basis polynomials are represented to 1e-12."""
    rng = np.random.default_rng(1000 + degree)
    for domain in DOMAINS:
        coef = rng.standard_normal(degree + 1)
        params, info = univariate_parameters(
            coef, domain, method=method, return_info=True
        )
        _assert_structure(params)
        assert params.n_neurons == neurons_needed(degree, method)
        assert info["certified_margin"] >= MARGIN * (1 - 1e-12)
        _assert_exact(params, coef, domain)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("degree", DEGREES)
def test_chebyshev_polynomials(method, degree):
    """Check that T_n given in the Chebyshev basis of the domain is exact."""
    coef = np.zeros(degree + 1)
    coef[degree] = 1.0
    for domain in DOMAINS:
        params = univariate_parameters(coef, domain, method=method, basis="chebyshev")
        assert params.n_neurons == neurons_needed(degree, method)
        _assert_exact(params, coef, domain, basis="chebyshev")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("degree", DEGREES)
def test_classic_power_polynomials(method, degree):
    """Check that (x - 1)^n, Legendre P_n and T_n in powers of x are exact."""
    shifted = npoly.polyfromroots(np.ones(degree))
    legendre_n = legendre.leg2poly(np.eye(degree + 1)[degree])
    cheb_n = np.polynomial.chebyshev.cheb2poly(np.eye(degree + 1)[degree])
    for domain in DOMAINS:
        params = univariate_parameters(shifted, domain, method=method)
        _assert_exact(params, shifted, domain)
    for domain in [(-1.0, 1.0), (0.0, 1.0)]:
        for coef in (legendre_n, cheb_n):
            params = univariate_parameters(coef, domain, method=method)
            _assert_exact(params, coef, domain)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("degree", [4, 9, 16, 20])
def test_random_chebyshev_coefficients(method, degree):
    """Check that random Chebyshev-basis polynomials are exact (notes: <= 2e-12)."""
    rng = np.random.default_rng(degree)
    for domain in DOMAINS:
        coef = rng.standard_normal(degree + 1)
        params = univariate_parameters(coef, domain, method=method, basis="chebyshev")
        _assert_exact(params, coef, domain, basis="chebyshev", tol=2e-12)


def test_neuron_counts_layer():
    """Check that the fixed layer meets the paper bound: degree n with <= n neurons."""
    expected = {0: 1, 1: 1, 2: 1, 3: 3, 4: 3, 5: 5, 6: 5, 19: 19, 20: 19}
    for degree, count in expected.items():
        assert neurons_needed(degree, "layer") == count
    for degree in range(1, 41):
        assert neurons_needed(degree, "layer") <= degree
        # k neurons reach degree 2 * ceil(k / 2)
        k = neurons_needed(degree, "layer")
        assert degree <= 2 * math.ceil(k / 2)


def test_neuron_counts_paterson_stockmeyer():
    """Check the baby-step/giant-step counts listed in the notes."""
    reach = [2, 2, 4, 4, 8, 8, 12, 12, 18, 18, 24, 24, 32, 32, 40]
    for k, degree in enumerate(reach, start=1):
        best = max(
            n for n in range(1, 60) if neurons_needed(n, "paterson_stockmeyer") <= k
        )
        assert best == degree
    assert neurons_needed(20, "paterson_stockmeyer") == 11
    assert neurons_needed(20, "auto") == 11
    assert neurons_needed(40, "paterson_stockmeyer") == 15
    for degree in range(2, 41):
        s, r = paterson_stockmeyer_split(degree)
        assert s % 2 == 0 and s * (r + 1) >= degree
        assert neurons_needed(degree, "paterson_stockmeyer") == s - 1 + 2 * r
        assert neurons_needed(degree, "auto") == min(
            neurons_needed(degree, "layer"),
            neurons_needed(degree, "paterson_stockmeyer"),
        )


@pytest.mark.parametrize("degree", [2, 8, 11, 20])
def test_auto_uses_fewest_neurons(degree):
    """Check that method='auto' builds the smaller network, with that many neurons."""
    coef = np.random.default_rng(degree).standard_normal(degree + 1)
    params, info = univariate_parameters(coef, (-3, 5), return_info=True)
    assert params.n_neurons == neurons_needed(degree, "auto") == info["n_neurons"]
    _assert_exact(params, coef, (-3, 5))


@pytest.mark.parametrize("coef", [[0.0], [2.5], [1.0, -3.0], [0.0, 0.0, 0.0]])
def test_degree_zero_and_one(coef):
    """Check that constants and lines use one idle neuron and the skip path."""
    params = univariate_parameters(coef, (2, 7))
    assert params.n_neurons == 1
    assert_allclose(params.V, 0.0)
    result = check_parameters(params, coef, (2, 7))
    assert result["max_abs_error"] <= 1e-14 * max(1.0, np.max(np.abs(coef)) * 7)
    assert result["min_margin"] > 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("eps", [1e-4, 1e-8, 1e-12])
def test_near_degenerate(method, eps):
    """Check that T_3 + eps T_6 keeps bounded weights and full accuracy."""
    coef = np.zeros(7)
    coef[3], coef[6] = 1.0, eps
    params = univariate_parameters(coef, (-1, 1), method=method, basis="chebyshev")
    _assert_exact(params, coef, (-1, 1), basis="chebyshev")
    for array in (params.E, params.b, params.W, params.V):
        assert np.max(np.abs(array)) < 1e3


@pytest.mark.slow
def test_degree_40_with_15_neurons():
    """Check that Paterson-Stockmeyer reaches degree 40 with 15 neurons."""
    rng = np.random.default_rng(40)
    coef = rng.standard_normal(41)
    params = univariate_parameters(coef, (-1, 1), method="paterson_stockmeyer")
    assert params.n_neurons == 15
    _assert_exact(params, coef, (-1, 1))
    params = univariate_parameters(
        coef, (-1, 1), method="paterson_stockmeyer", basis="chebyshev"
    )
    _assert_exact(params, coef, (-1, 1), basis="chebyshev", tol=1e-11)


def test_forward_matches_definition():
    """Check forward against a direct evaluation of the neuron recurrence."""
    rng = np.random.default_rng(0)
    k, d = 4, 2
    W = np.tril(rng.standard_normal((k, k)), k=-1)
    params = FreeNetParameters(
        E=rng.standard_normal((k, d)),
        b=rng.standard_normal(k),
        W=W,
        G=W != 0,
        V=rng.standard_normal((1, k)),
        c=rng.standard_normal(1),
        U=rng.standard_normal((1, d)),
    )
    X = rng.standard_normal((7, d))
    y, Z = params.forward(X)
    for n in range(X.shape[0]):
        h = np.zeros(k)
        for i in range(k):
            z = params.E[i] @ X[n] + params.b[i] + params.W[i] @ h
            assert_allclose(Z[n, i], z, rtol=1e-12, atol=1e-12)
            h[i] = max(z, 0.0) ** 2
        out = params.V[0] @ h + params.c[0] + params.U[0] @ X[n]
        assert_allclose(y[n], out, rtol=1e-12)


def test_parameters_validation():
    """Check that a non strictly lower triangular W or G is rejected."""
    k = 2
    base = dict(E=np.ones((k, 1)), b=np.ones(k), V=np.ones((1, k)), c=[0.0], U=[[0.0]])
    W = np.array([[0.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="strictly lower"):
        FreeNetParameters(W=W, G=W != 0, **base)
    W = np.array([[0.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="outside the adjacency"):
        FreeNetParameters(W=W, G=np.zeros((k, k), dtype=bool), **base)
    with pytest.raises(ValueError, match="squared_relu"):
        FreeNetParameters(W=W, G=W != 0, activation="relu", **base)


def test_input_validation():
    """Check that bad methods, bases, domains and degrees raise."""
    with pytest.raises(ValueError, match="method"):
        univariate_parameters([1, 2, 3], method="magic")
    with pytest.raises(ValueError, match="basis"):
        univariate_parameters([1, 2, 3], basis="hermite")
    with pytest.raises(ValueError, match="lo < hi"):
        univariate_parameters([1, 2, 3], (1, 1))
    with pytest.raises(ValueError, match="degree"):
        neurons_needed(-1)
    with pytest.raises(ValueError, match="features"):
        multivariate_parameters({(1, 2, 3): 1.0}, [(0, 1), (0, 1)])


def test_evaluate_polynomial_reference():
    """Check the double-double reference on a badly conditioned expansion."""
    x = np.linspace(-3, 5, 101)
    coef = npoly.polyfromroots(np.ones(20))
    naive = npoly.polyval(x, coef)
    got = evaluate_polynomial(coef, x, (-3, 5))
    scale = 4.0**20
    assert_allclose(got, (x - 1) ** 20, rtol=1e-14, atol=1e-15 * scale)
    assert np.max(np.abs(got - (x - 1) ** 20)) < np.max(np.abs(naive - (x - 1) ** 20))
    cheb = np.zeros(21)
    cheb[20] = 1.0
    t = (2 * x - 2) / 8
    expected = np.cos(20 * np.arccos(np.clip(t, -1, 1)))
    got = evaluate_polynomial(cheb, x, (-3, 5), basis="chebyshev")
    assert_allclose(got, expected, atol=1e-13)


def test_evaluate_polynomial_near_overflow():
    """Check that the reference stays finite for values up to 1.8e308."""
    x = np.array([2.0, 7.0])
    got = evaluate_polynomial([0.0, 0.0, 3.6e306], x, (2, 7))
    assert_allclose(got, 3.6e306 * x**2, rtol=1e-15)
    got = evaluate_polynomial([1e307, 1e307], x, (2, 7), basis="chebyshev")
    assert_allclose(got, [0.0, 2e307], atol=1e292)


# --------------------------------------------------------------------------------------
# The float64 check after building (issue 17)
# --------------------------------------------------------------------------------------
def _broken_paterson_stockmeyer(monkeypatch, *, bias=0.0, output=0.0):
    """Make '_univariate_ps' lower its last neuron's bias and shift its output.

    ``output`` is relative to the polynomial, which '_univariate_ps' receives
    divided by a power of two at least the sum of its Chebyshev coefficients.
    """
    original = _polynomial._univariate_ps

    def broken(cheb, degree, margin):
        builder, out, split = original(cheb, degree, margin)
        builder.rows[-1] = builder.rows[-1].copy()
        builder.rows[-1][0] -= bias
        out = out.copy()
        out[0] += output
        return builder, out, split

    monkeypatch.setattr(_polynomial, "_univariate_ps", broken)


def test_check_info_is_returned():
    """Check that info['check'] reports the float64 margin and error of the network."""
    coef = np.random.default_rng(0).standard_normal(21)
    params, info = univariate_parameters(coef, (2, 7), return_info=True)
    check = info["check"]
    assert check["n_points"] > 1000
    assert 0 < check["max_rel_error"] <= 1e-12
    assert MARGIN * (1 - 1e-9) <= check["min_margin"] <= MARGIN
    result = check_parameters(params, coef, (2, 7))
    assert result["min_margin"] >= check["min_margin"]


def test_auto_falls_back_when_the_margin_breaks(monkeypatch):
    """Check that a construction losing its margin is refused, and 'auto' avoids it."""
    _broken_paterson_stockmeyer(monkeypatch, bias=1e3)
    coef = np.random.default_rng(0).standard_normal(21)
    with pytest.raises(ValueError, match="'paterson_stockmeyer': float64 rounding"):
        univariate_parameters(coef, (-3, 5), method="paterson_stockmeyer")
    params, info = univariate_parameters(coef, (-3, 5), return_info=True)
    assert info["method"] == "layer"
    assert params.n_neurons == neurons_needed(20, "layer")
    _assert_exact(params, coef, (-3, 5))


def test_auto_falls_back_when_inaccurate(monkeypatch):
    """Check that an inaccurate construction warns, and 'auto' takes the other one."""
    coef = np.random.default_rng(0).standard_normal(21)
    _broken_paterson_stockmeyer(monkeypatch, output=1e-9)
    with pytest.warns(
        RuntimeWarning, match="'paterson_stockmeyer' network .* relative error of"
    ):
        univariate_parameters(coef, (-3, 5), method="paterson_stockmeyer")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        params, info = univariate_parameters(coef, (-3, 5), return_info=True)
    assert info["method"] == "layer"
    _assert_exact(params, coef, (-3, 5))


# --------------------------------------------------------------------------------------
# Multivariate
# --------------------------------------------------------------------------------------
def _random_multivariate(rng, degree, d):
    return {
        a: rng.standard_normal()
        for a in itertools.product(range(degree + 1), repeat=d)
        if sum(a) <= degree
    }


def test_neuron_counts_multivariate():
    """Check C(m + d, d) - d - 1 neurons (even m), C(m + 2, 2) - 1 for odd m, d = 2."""
    expected_d2 = {1: 1, 2: 3, 3: 9, 4: 12, 5: 20, 6: 25, 7: 35, 8: 42}
    for m, count in expected_d2.items():
        assert neurons_needed_multivariate(m, 2) == count
    for d in (2, 3, 4):
        for m in (2, 4, 6, 8):
            assert neurons_needed_multivariate(m, d) == math.comb(m + d, d) - d - 1
    for m in range(2, 21):
        assert neurons_needed_multivariate(m, 1) == neurons_needed(m, "layer")
    assert neurons_needed_multivariate(3, 3) == 20


@pytest.mark.parametrize(
    "degree",
    [1, 2, 3, 4, 5, pytest.param(6, marks=pytest.mark.slow), 7, 8],
)
def test_multivariate_two_variables(degree):
    """Check exact total-degree-m polynomials in two variables on 201 x 201 grids."""
    rng = np.random.default_rng(degree)
    domains = [[(-1, 1), (-1, 1)], [(0, 1), (-3, 5)], [(2, 7), (-10, 10)]]
    if degree in (7, 8):  # keep the fast suite fast: one box per high degree
        domains = domains[1:2]
    for domain in domains:
        coef = _random_multivariate(rng, degree, 2)
        params, info = multivariate_parameters(coef, domain, return_info=True)
        _assert_structure(params)
        assert params.n_neurons == neurons_needed_multivariate(degree, 2)
        assert info["certified_margin"] >= MARGIN * (1 - 1e-12)
        _assert_exact(params, coef, domain, n_points=201**2)


@pytest.mark.slow
@pytest.mark.parametrize("degree", [6, 7, 8])
def test_multivariate_two_variables_all_boxes(degree):
    """Check degrees 6 to 8 in two variables on every box, both bases."""
    rng = np.random.default_rng(100 + degree)
    for domain in [[(-1, 1), (-1, 1)], [(2, 7), (-10, 10)], [(-3, 5), (0, 1)]]:
        for basis in ("power", "chebyshev"):
            coef = _random_multivariate(rng, degree, 2)
            params = multivariate_parameters(coef, domain, basis=basis)
            _assert_exact(params, coef, domain, basis=basis, n_points=201**2)


def test_multivariate_classic():
    """Check (x + y - 1)^4 and T_3(t_1) T_2(t_2) in two variables."""
    domain = [(-3, 5), (0, 1)]
    coef: dict[tuple[int, int], float] = {}
    for i, j in itertools.product(range(5), repeat=2):
        if i + j <= 4:
            for c in range(5 - i - j):
                if i + j + c == 4:
                    coef[(i, j)] = (
                        math.factorial(4)
                        / (math.factorial(i) * math.factorial(j) * math.factorial(c))
                        * (-1) ** c
                    )
    params = multivariate_parameters(coef, domain)
    result = _assert_exact(params, coef, domain, n_points=101**2)
    assert result["max_rel_error"] <= 1e-13
    cheb = {(3, 2): 1.0}
    params = multivariate_parameters(cheb, domain, basis="chebyshev")
    assert params.n_neurons == neurons_needed_multivariate(5, 2)
    _assert_exact(params, cheb, domain, basis="chebyshev", n_points=101**2)


@pytest.mark.parametrize("degree", [1, 2, 3, 4])
def test_multivariate_three_variables(degree):
    """Check exact polynomials in three variables on a 31^3 grid."""
    rng = np.random.default_rng(30 + degree)
    domain = [(0, 1), (-3, 5), (2, 7)]
    coef = _random_multivariate(rng, degree, 3)
    params = multivariate_parameters(coef, domain)
    _assert_structure(params)
    assert params.n_neurons == neurons_needed_multivariate(degree, 3)
    _assert_exact(params, coef, domain, n_points=31**3)
