# SPDX-License-Identifier: BSD-3-Clause
"""Tests for the public exact-polynomial API ``sklearn_freenets.theory`` (Theorem 1).

Everything goes through the public functions and the fitted estimator's ``predict``;
the reference values come from the double-double evaluator of
``sklearn_freenets._polynomial`` (float64 Horner/numpy evaluation of, say,
``(x - 1) ** 20`` on ``(2, 7)`` is itself too inexact for a 1e-12 check).
"""

from __future__ import annotations

import itertools
import pickle
import warnings
from math import comb

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev as npcheb
from numpy.polynomial import legendre as npleg
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_freenets import FreeNetRegressor, theory
from sklearn_freenets.__main__ import main
from sklearn_freenets._polynomial import evaluate_polynomial

METHODS = ["layer", "paterson_stockmeyer"]
DOMAINS = [(-1.0, 1.0), (0.0, 1.0), (-3.0, 5.0), (2.0, 7.0)]
FAMILIES = ["random", "chebyshev", "shifted", "legendre", "chebyshev_basis"]
# The float64 rounding of a construction's forward pass depends on the CPU's BLAS
# kernels: the worst case measured is 1.01e-12 (degree 18, Chebyshev basis,
# Paterson-Stockmeyer, on (2, 7)) on the 2-core development machine.
TOL = 2e-12
MARGIN = 0.125  # documented certified margin of the constructions
N_GRID = 10001


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run this module's tiny networks on one torch thread (restored afterwards).

    The networks have at most a few dozen neurons; on a loaded machine torch's
    intra-op threads made the module about 7 times slower (35 s against 5 s for the
    exactness tests on 2 busy cores).
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


def _family(name: str, degree: int) -> tuple[np.ndarray, str]:
    """Coefficients (lowest degree first) and basis of a test polynomial."""
    unit = np.zeros(degree + 1)
    unit[degree] = 1.0
    if name == "random":
        return np.random.default_rng(100 + degree).standard_normal(degree + 1), "power"
    if name == "chebyshev":  # T_n(x) itself, in the power basis
        return npcheb.cheb2poly(unit), "power"
    if name == "shifted":  # (x - 1) ** n
        return np.array(
            [comb(degree, i) * (-1.0) ** (degree - i) for i in range(degree + 1)]
        ), "power"
    if name == "legendre":  # P_n(x), in the power basis
        return npleg.leg2poly(unit), "power"
    if name == "chebyshev_basis":  # T_n of the domain mapped onto [-1, 1]
        return unit, "chebyshev"
    raise ValueError(name)


def _assert_exact(estimator, coef, domain, basis="power"):
    """Check ``predict`` against the reference on 10,001 points, and the margin."""
    lo, hi = domain
    x = np.linspace(lo, hi, N_GRID)
    pred = estimator.predict(x.reshape(-1, 1))
    ref = evaluate_polynomial(coef, x, domain, basis=basis)
    rel = np.max(np.abs(pred - ref)) / np.max(np.abs(ref))
    assert rel <= TOL, (domain, rel)
    result = theory.check_representation(estimator, coef, domain, basis=basis)
    assert result["min_margin"] >= MARGIN * (1 - 1e-9), result
    assert result["max_rel_error"] <= TOL, result
    assert_allclose(result["max_rel_error"], rel, rtol=1e-6, atol=1e-30)
    return result


def _check_family(family, method, degree):
    coef, basis = _family(family, degree)
    for domain in DOMAINS:
        est = theory.polynomial_freenet(coef, domain, method=method, basis=basis)
        assert isinstance(est, FreeNetRegressor)
        assert est.k == theory.neurons_needed(degree, method)
        _assert_exact(est, coef, domain, basis)


# --------------------------------------------------------------------------------------
# Exactness of the univariate constructions
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("degree", [2, 7, 20])
def test_polynomial_freenet_exact(family, method, degree):
    """Check that constructed networks reproduce classic polynomials to 2e-12."""
    _check_family(family, method, degree)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("degree", range(1, 21))
def test_polynomial_freenet_exact_all_degrees(family, method, degree):
    """Check every degree 1..20, every family, domain and method to 2e-12."""
    _check_family(family, method, degree)


@pytest.mark.slow
@pytest.mark.parametrize("degree", range(1, 21))
def test_polynomial_freenet_random_many(degree):
    """Check 5 random polynomials per degree, both methods, wide and shifted domains."""
    rng = np.random.default_rng(7 + degree)
    for _ in range(5):
        coef = rng.uniform(-10, 10, size=degree + 1)
        for method, domain in itertools.product(METHODS, [(-3.0, 5.0), (2.0, 7.0)]):
            est = theory.polynomial_freenet(coef, domain, method=method)
            _assert_exact(est, coef, domain)


@pytest.mark.parametrize("degree", [0, 1])
def test_polynomial_freenet_affine(degree):
    """Check that constants and affine maps use one idle neuron and are exact."""
    coef = np.array([2.5, -1.5])[: degree + 1]
    est = theory.polynomial_freenet(coef, (2.0, 7.0))
    assert est.k == 1
    _assert_exact(est, coef, (2.0, 7.0))


def test_polynomial_freenet_auto_picks_smaller():
    """Check that method='auto' builds the network with the fewer neurons."""
    coef = np.random.default_rng(0).standard_normal(21)
    est = theory.polynomial_freenet(coef, (-3, 5))
    assert est.k == 11 == theory.neurons_needed(20, "paterson_stockmeyer")
    _assert_exact(est, coef, (-3.0, 5.0))


# --------------------------------------------------------------------------------------
# High degrees: the guarantee is kept, or the construction refuses or warns (issue 17)
# --------------------------------------------------------------------------------------
def _random_power(degree: int) -> np.ndarray:
    """Random N(0, 1) power-basis coefficients, seed 0 (as the command line uses)."""
    return np.random.default_rng(0).standard_normal(degree + 1)


def _build_quietly(coef, domain, **kwargs):
    """Build with theory.polynomial_freenet; an accuracy warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return theory.polynomial_freenet(coef, domain, **kwargs)


@pytest.mark.parametrize("method", ["auto", *METHODS])
@pytest.mark.parametrize("degree, domain", [(200, (0.0, 1.0)), (80, (2.0, 7.0))])
def test_polynomial_freenet_high_degree_keeps_its_guarantee(method, degree, domain):
    """Check margin >= 1/8 and 1e-12 accuracy at degree 200 on (0, 1), 80 on (2, 7).

    Degree 200 on (0, 1): the Paterson-Stockmeyer network ('auto' picks it: 37
    neurons) had a pre-activation of -9e8, because its product neurons balanced a
    Clenshaw term of size 1e-88 against the absolute margin and ``h+ - h-``
    cancelled. Degree 80 on (2, 7) missed 1e-12 (1.3e-12).
    """
    coef = _random_power(degree)
    est = _build_quietly(coef, domain, method=method)
    assert est.k == theory.neurons_needed(degree, method)
    result = theory.check_representation(est, coef, domain)
    assert result["min_margin"] >= MARGIN * (1 - 1e-9), result
    assert result["max_rel_error"] <= 1e-12, result


@pytest.mark.slow
@pytest.mark.parametrize("degree", [30, 50, 76, 79, 100, 150, 200, 250])
def test_polynomial_freenet_high_degrees(degree):
    """Check random polynomials of degree 30..250 on (0, 1) and (2, 7) to 1e-12."""
    coef = _random_power(degree)
    for domain in [(0.0, 1.0), (2.0, 7.0)]:
        est = _build_quietly(coef, domain)
        assert est.k == theory.neurons_needed(degree)
        result = theory.check_representation(est, coef, domain)
        assert result["min_margin"] >= MARGIN * (1 - 1e-9), (domain, result)
        assert result["max_rel_error"] <= 1e-12, (domain, result)


def test_polynomial_freenet_largest_values():
    """Check values up to 1.8e308 still work and overflow is a clear ValueError."""
    coef = [0.0, 0.0, 3.6e306]  # 3.6e306 x^2 reaches 1.76e308 at x = 7
    est = _build_quietly(coef, (2.0, 7.0))
    result = theory.check_representation(est, coef, (2.0, 7.0))
    assert result["min_margin"] >= MARGIN * (1 - 1e-9), result
    assert result["max_rel_error"] <= 1e-15, result
    with pytest.raises(ValueError, match=r"degree-2 polynomial on \[2, 7\].*overflow"):
        theory.polynomial_freenet([0.0, 0.0, 4e306], (2.0, 7.0))


@pytest.mark.slow
def test_polynomial_freenet_degree_360_on_2_7():
    """Check degree 360 on (2, 7) (values near 1e304) works, and 400 is refused."""
    coef = _random_power(360)
    est = _build_quietly(coef, (2.0, 7.0))
    result = theory.check_representation(est, coef, (2.0, 7.0))
    assert result["min_margin"] >= MARGIN * (1 - 1e-9), result
    assert result["max_rel_error"] <= 1e-12, result
    with pytest.raises(ValueError, match=r"degree-400 .* overflow float64"):
        theory.polynomial_freenet(_random_power(400), (2.0, 7.0))


@pytest.mark.parametrize("domain", [(1e200, 2e200), (1.0, 1.0 + 1e-15)])
def test_polynomial_freenet_refuses(domain):
    """Check that a network that cannot keep the margin is refused, not returned."""
    coef = np.ones(4)
    with pytest.raises(ValueError, match=r"degree-3 polynomial on \[.*Rescale x"):
        theory.polynomial_freenet(coef, domain)


def test_polynomial_freenet_refuses_narrow_domain():
    """Check that rounding below the margin on a narrow domain is refused."""
    coef = np.random.default_rng(0).standard_normal(21)
    for method in ["auto", *METHODS]:
        with pytest.raises(ValueError, match="rounding lowers a pre-activation"):
            theory.polynomial_freenet(
                coef, (1.0, 1.0 + 1e-6), method=method, basis="chebyshev"
            )


def test_polynomial_freenet_warns_when_less_accurate():
    """Check that T_100 warns about its 1e-11 error and still keeps the margin."""
    coef = np.zeros(101)
    coef[100] = 1.0
    with pytest.warns(RuntimeWarning, match=r"degree-100 .* relative error of"):
        est = theory.polynomial_freenet(coef, (-1.0, 1.0), basis="chebyshev")
    result = theory.check_representation(est, coef, (-1.0, 1.0), basis="chebyshev")
    assert result["min_margin"] >= MARGIN * (1 - 1e-6), result
    assert 2e-12 < result["max_rel_error"] < 1e-10, result


# --------------------------------------------------------------------------------------
# Neuron counts
# --------------------------------------------------------------------------------------
def test_neurons_needed_paper_bound():
    """Check the paper's bound: degree n needs at most n neurons ('layer')."""
    for n in range(1, 41):
        layer = theory.neurons_needed(n, "layer")
        assert layer <= n
        if n >= 2:
            assert layer == (n - 1 if n % 2 == 0 else n)


def test_neurons_needed_paterson_stockmeyer_table():
    """Check the reach of k = 1..15 neurons (degree 20 in 11, degree 40 in 15)."""
    reach = [2, 2, 4, 4, 8, 8, 12, 12, 18, 18, 24, 24, 32, 32, 40]
    for k, degree in enumerate(reach, start=1):
        assert theory.neurons_needed(degree, "paterson_stockmeyer") <= k
        assert theory.neurons_needed(degree + 1, "paterson_stockmeyer") > k
    assert theory.neurons_needed(20, "paterson_stockmeyer") == 11
    assert theory.neurons_needed(40, "paterson_stockmeyer") == 15


def test_neurons_needed_auto_is_minimum():
    """Check that 'auto' (the default) is the smaller of the two methods."""
    for n in range(0, 41):
        both = [theory.neurons_needed(n, m) for m in METHODS]
        assert theory.neurons_needed(n, "auto") == min(both)
        assert theory.neurons_needed(n) == min(both)


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_estimator_k_equals_neurons_needed(method):
    """Check that the estimator's k is neurons_needed for every degree 1..20."""
    rng = np.random.default_rng(3)
    for degree in range(1, 21):
        est = theory.polynomial_freenet(rng.standard_normal(degree + 1), method=method)
        assert est.k == theory.neurons_needed(degree, method)
        assert est.net_.module_.k == est.k


def test_leading_zeros_lower_the_degree():
    """Check that trailing zero coefficients do not cost neurons."""
    est = theory.polynomial_freenet([1.0, 2.0, 3.0, 0.0, 0.0, 0.0], (0, 1))
    assert est.k == theory.neurons_needed(2)


# --------------------------------------------------------------------------------------
# The result is a genuine fitted FreeNetRegressor
# --------------------------------------------------------------------------------------
def test_constructed_estimator_is_a_regressor():
    """Check settings, pickling, cloning and scoring of a constructed network."""
    domain = (-3.0, 5.0)
    coef = np.random.default_rng(1).standard_normal(13)
    est = theory.polynomial_freenet(coef, domain)
    assert isinstance(est, FreeNetRegressor)
    assert est.activation == "squared_relu"
    assert est.dtype == "float64"
    assert est.skip is True
    assert est.n_features_in_ == 1

    X = np.linspace(*domain, 501).reshape(-1, 1)
    y = evaluate_polynomial(coef, X, domain)
    pred = est.predict(X)
    assert pred.shape == (501,)
    assert est.score(X, y) == pytest.approx(1.0, abs=1e-12)

    restored = pickle.loads(pickle.dumps(est))
    assert_allclose(restored.predict(X), pred, rtol=0, atol=0)

    unfitted = clone(est)
    with pytest.raises(NotFittedError):
        unfitted.predict(X)
    assert unfitted.get_params()["k"] == est.k
    unfitted.set_params(max_epochs=2, n_iter_no_change=np.inf, batch_size=64)
    unfitted.fit(X, y / np.abs(y).max())
    assert len(unfitted.validation_scores_) == 2  # "auto" stopped on held-out rows
    assert unfitted.predict(X).shape == (501,)


def test_check_representation_on_trained_estimator():
    """Check that a trained squared-ReLU network can be measured too."""
    X = np.linspace(0, 1, 200).reshape(-1, 1)
    coef = [0.0, 0.0, 1.0]
    est = FreeNetRegressor(
        3,
        activation="squared_relu",
        initial_graph="dense",  # the recurrent weights take part
        evolve_rounds=0,
        max_epochs=5,
        n_iter_no_change=np.inf,
        random_state=0,
    ).fit(X, X[:, 0] ** 2)
    result = theory.check_representation(est, coef, (0, 1), n_points=101)
    assert set(result) == {"max_abs_error", "max_rel_error", "min_margin"}
    grid = np.linspace(0, 1, 101).reshape(-1, 1)
    assert result["max_abs_error"] == pytest.approx(
        np.max(np.abs(est.predict(grid) - grid[:, 0] ** 2)), rel=1e-5
    )
    Z = est.net_.module_.preactivations(torch.as_tensor(grid, dtype=torch.float32))
    assert result["min_margin"] == pytest.approx(float(Z.min()), rel=1e-5, abs=1e-6)


def test_margin_matches_module_preactivations():
    """Check the reported margin against the module's own pre-activations."""
    coef = np.random.default_rng(2).standard_normal(9)
    est = theory.polynomial_freenet(coef, (2, 7), method="paterson_stockmeyer")
    grid = torch.linspace(2, 7, N_GRID, dtype=torch.float64).reshape(-1, 1)
    Z = est.net_.module_.preactivations(grid)
    result = theory.check_representation(est, coef, (2, 7))
    assert float(Z.min()) >= MARGIN * (1 - 1e-9)
    assert result["min_margin"] == pytest.approx(float(Z.min()), rel=1e-9)


# --------------------------------------------------------------------------------------
# Multivariate
# --------------------------------------------------------------------------------------
def _random_multivariate(m, d, seed):
    rng = np.random.default_rng(seed)
    return {
        a: float(rng.standard_normal())
        for a in itertools.product(range(m + 1), repeat=d)
        if sum(a) <= m
    }


def _assert_exact_multivariate(est, coef, box, n_points):
    result = theory.check_representation(est, coef, box, n_points=n_points)
    assert result["max_rel_error"] <= TOL, result
    assert result["min_margin"] >= MARGIN * (1 - 1e-9), result
    # the same through predict on an independent random sample of the box
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(lo, hi, 2000) for lo, hi in box])
    ref = evaluate_polynomial(coef, X, box)
    grid_ref = max(np.max(np.abs(ref)), 1e-300)
    assert np.max(np.abs(est.predict(X) - ref)) / grid_ref <= 10 * TOL


def _multivariate_formula(m, d):
    if m <= 1:
        return 1
    if m % 2 == 0:
        return comb(m + d, d) - d - 1
    return comb(m + 2, 2) - 1 if d == 2 else None


@pytest.mark.parametrize("m", range(1, 9))
def test_multivariate_two_variables(m):
    """Check total degree m = 1..8 in two variables, and the neuron formula."""
    coef = _random_multivariate(m, 2, seed=m)
    for box in ([(-1.0, 1.0), (0.0, 2.0)], [(2.0, 7.0), (-3.0, 5.0)]):
        est = theory.multivariate_polynomial_freenet(coef, box)
        assert est.n_features_in_ == 2
        assert est.k == theory.neurons_needed_multivariate(m, 2)
        assert est.k == _multivariate_formula(m, 2)
        _assert_exact_multivariate(est, coef, box, n_points=151**2)


def test_multivariate_neuron_counts():
    """Check the documented counts for d = 2 and the even-degree formula for d = 3."""
    assert [theory.neurons_needed_multivariate(m, 2) for m in range(2, 9)] == [
        3, 9, 12, 20, 25, 35, 42,
    ]  # fmt: skip
    for m in (2, 4, 6):
        assert theory.neurons_needed_multivariate(m, 3) == comb(m + 3, 3) - 4
    for m in (3, 5):  # odd: a few covering heads on top of the dimension count
        assert theory.neurons_needed_multivariate(m, 3) >= comb(m + 3, 3) - 4


@pytest.mark.parametrize("m", [2, 3, 4])
def test_multivariate_three_variables(m):
    """Check small total degrees in three variables."""
    coef = _random_multivariate(m, 3, seed=10 + m)
    box = [(-1.0, 1.0), (0.0, 1.0), (2.0, 7.0)]
    est = theory.multivariate_polynomial_freenet(coef, box)
    assert est.k == theory.neurons_needed_multivariate(m, 3)
    _assert_exact_multivariate(est, coef, box, n_points=31**3)


def test_multivariate_chebyshev_basis():
    """Check a tensor Chebyshev polynomial given in the Chebyshev basis."""
    coef = {(3, 2): 1.0, (0, 4): -0.5, (1, 0): 2.0}
    box = [(-3.0, 5.0), (0.0, 1.0)]
    est = theory.multivariate_polynomial_freenet(coef, box, basis="chebyshev")
    result = theory.check_representation(
        est, coef, box, n_points=101**2, basis="chebyshev"
    )
    assert result["max_rel_error"] <= TOL
    assert result["min_margin"] >= MARGIN * (1 - 1e-9)


# --------------------------------------------------------------------------------------
# Parameter validation
# --------------------------------------------------------------------------------------
def test_bad_method():
    """Check that an unknown method is a clear ValueError."""
    with pytest.raises(ValueError, match="method"):
        theory.polynomial_freenet([1.0, 2.0, 3.0], (0, 1), method="horner")
    with pytest.raises(ValueError, match="method"):
        theory.neurons_needed(4, "horner")


@pytest.mark.parametrize("domain", [(1.0, 0.0), (2.0, 2.0)])
def test_bad_domain(domain):
    """Check that an empty or reversed interval is a clear ValueError."""
    with pytest.raises(ValueError, match="lo < hi"):
        theory.polynomial_freenet([1.0, 2.0, 3.0], domain)


def test_bad_multivariate_domain():
    """Check that a reversed box side is a clear ValueError."""
    with pytest.raises(ValueError, match="lo < hi"):
        theory.multivariate_polynomial_freenet({(1, 1): 1.0}, [(0, 1), (3, 2)])


@pytest.mark.parametrize("domain", [(0.0, np.inf), (-np.inf, 1.0), (np.nan, 1.0)])
def test_non_finite_domain(domain):
    """Check that an infinite or NaN interval is a clear ValueError."""
    with pytest.raises(ValueError, match="finite with lo < hi"):
        theory.polynomial_freenet([1.0, 2.0, 3.0], domain)
    with pytest.raises(ValueError, match="finite with lo < hi"):
        theory.multivariate_polynomial_freenet({(1, 1): 1.0}, [(0, 1), domain])


def test_bad_degree():
    """Check that a negative degree is rejected."""
    with pytest.raises(ValueError, match="degree"):
        theory.neurons_needed(-1)
    with pytest.raises(ValueError, match="degree"):
        theory.neurons_needed_multivariate(-1, 2)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_check_representation_needs_squared_relu(activation):
    """Check that measuring a non-squared-ReLU network is a clear ValueError."""
    X = np.linspace(0, 1, 50).reshape(-1, 1)
    est = FreeNetRegressor(
        2,
        activation=activation,
        evolve_rounds=0,
        max_epochs=1,
        n_iter_no_change=np.inf,
        random_state=0,
    ).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="squared_relu"):
        theory.check_representation(est, [0.0, 1.0], (0, 1))


def test_check_representation_unfitted():
    """Check that an unfitted estimator is reported as such."""
    with pytest.raises(NotFittedError):
        theory.check_representation(
            FreeNetRegressor(2, activation="squared_relu"), [0.0, 1.0], (0, 1)
        )


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
def test_cli_theorem1(capsys):
    """Check that `python -m sklearn_freenets theorem1` prints a passing table."""
    assert main(["theorem1", "--degree", "12", "--domain", "-3", "5"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for method, k in (("layer", 11), ("paterson_stockmeyer", 7)):
        row = next(line for line in lines if line.startswith(method))
        assert str(k) in row.split()
        assert row.split()[-1] == "pass"
    assert "fail" not in out


def test_cli_theorem1_given_coefficients(capsys):
    """Check --coef and --method on a wide shifted interval."""
    argv = ["theorem1", "--coef", "1", "-2", "0", "3", "--domain", "2", "7"]
    assert main([*argv, "--method", "paterson_stockmeyer"]) == 0
    out = capsys.readouterr().out
    assert "paterson_stockmeyer" in out
    assert "pass" in out and "fail" not in out


def test_cli_theorem1_bad_domain(capsys):
    """Check that a reversed domain is a clean command-line error."""
    with pytest.raises(SystemExit) as exc:
        main(["theorem1", "--degree", "3", "--domain", "5", "-3"])
    assert exc.value.code == 2
    assert "argument --domain: needs LO < HI, got 5 -3" in capsys.readouterr().err
