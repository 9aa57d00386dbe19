# SPDX-License-Identifier: BSD-3-Clause
"""
========================================================
Theorem 1: a polynomial as an exact squared-ReLU FreeNet
========================================================

With the squared ReLU ``max(0, z) ** 2`` a FreeNet can represent a polynomial
*exactly* on a bounded interval: if every pre-activation stays above a positive
margin there, the ReLU never clips and each neuron is the square of a polynomial
already in the span. :func:`sklearn_freenets.theory.polynomial_freenet` builds such a
network and returns it as a fitted :class:`~sklearn_freenets.FreeNetRegressor`;
:func:`~sklearn_freenets.theory.check_representation` verifies it on a grid.

This example builds a random polynomial of degree 12 on the wide, shifted interval
``(-3, 5)`` (random coefficients in the Chebyshev basis of the interval, so that it
oscillates instead of being dominated by ``x ** 12``) with both constructions: the
paper's fixed hidden layer (degree ``n`` in at most ``n`` neurons) and
Paterson-Stockmeyer's baby-step/giant-step, which needs only 7 neurons here. It plots
the polynomial with the network's output, the error curve and the network's graph.
"""

# %%
# Build and verify
# ----------------
# ``coef[j]`` multiplies ``T_j(t)`` with ``t = (2 x - lo - hi) / (hi - lo)``
# (``basis="chebyshev"``; the default ``basis="power"`` takes ``sum coef[j] x ** j``).
# Both networks are plain fitted regressors: ``predict``, ``score``, pickling and
# cloning work as for a trained one.
import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from sklearn_freenets import theory
from sklearn_freenets._polynomial import evaluate_polynomial
from sklearn_freenets.plotting import plot_graph

degree, domain = 12, (-3.0, 5.0)
coef = np.random.default_rng(0).standard_normal(degree + 1)
networks = {
    method: theory.polynomial_freenet(coef, domain, method=method, basis="chebyshev")
    for method in ("layer", "paterson_stockmeyer")
}
for method, net in networks.items():
    result = theory.check_representation(net, coef, domain, basis="chebyshev")
    print(
        f"{method:<20} {net.k:>2} neurons  "
        f"max rel error {result['max_rel_error']:.1e}  "
        f"min pre-activation {result['min_margin']:.3f}"
    )
print(
    f"neurons_needed({degree}): {theory.neurons_needed(degree, 'layer')} (layer), "
    f"{theory.neurons_needed(degree, 'paterson_stockmeyer')} (Paterson-Stockmeyer)"
)

# %%
# The polynomial, the network and the error
# -----------------------------------------
# The reference ``p(x)`` is evaluated in double-double arithmetic (plain float64
# evaluation of a degree-12 polynomial on ``(-3, 5)`` loses more digits than the
# network does). The error stays at the rounding level of ``max |p|``: about
# ``1e-13`` relative, far below the ``1e-12`` the tests require.
x = np.linspace(*domain, 10001)
p = evaluate_polynomial(coef, x, domain, basis="chebyshev")

fig, (ax_fit, ax_err) = plt.subplots(1, 2, figsize=(11, 4))
ax_fit.plot(x, p, color="0.6", linewidth=4, label="p(x)")
for method, net in networks.items():
    y = net.predict(x.reshape(-1, 1))
    ax_fit.plot(x, y, "--", label=f"{method} ({net.k} neurons)")
    ax_err.semilogy(x, np.abs(y - p) / np.max(np.abs(p)) + 1e-18, label=method)
ax_fit.set(title=f"degree-{degree} polynomial on {domain}", xlabel="x")
ax_fit.legend(loc="lower center", fontsize=8)
ax_err.axhline(1e-12, color="k", linestyle=":", label="1e-12")
ax_err.set(title="|net(x) - p(x)| / max |p|", xlabel="x", ylim=(1e-18, 1e-10))
ax_err.legend(loc="upper left")
fig.tight_layout()

# %%
# The networks' graphs
# --------------------
# The fixed layer is a chain of doubling steps: the two neurons that bring degrees
# ``2m + 1`` and ``2m + 2`` square ``T_{m+1} +- T_m + M`` and so read the neurons
# that carry degrees ``m`` and ``m + 1``; the depth grows like ``log2(degree)``.
# Paterson-Stockmeyer spends ``s - 1`` neurons on ``T_0 .. T_s`` (``s = 6`` here),
# then two neurons per product ``Q * b_j`` (``Q = T_s``) of Clenshaw's recurrence,
# one product per depth. The linear skip ``x -> output`` carries the affine part
# and is not drawn.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, (method, net) in zip(axes, networks.items(), strict=True):
    plot_graph(net, ax=ax)
    ax.set_title(f"{method}: {ax.get_title()}", fontsize=9)
fig.tight_layout()

if matplotlib.get_backend().lower() != "agg":  # headless (Agg): nothing to show
    plt.show()
