# SPDX-License-Identifier: BSD-3-Clause
"""FreeEvolve's topology rules and what they see, for writing rules of your own.

A *rule* is a function ``rule(adjacency, stats, epsilon) -> new_adjacency``:
``adjacency`` is the current boolean ``(k, k)`` graph (``adjacency[i, j]`` is the
edge ``j -> i``), ``stats`` the :class:`ActivityStats` of one round's activity
sample, ``epsilon`` the estimator's threshold. It returns a ``(k, k)`` array of
booleans (or 0s and 1s) of which only the strictly lower triangle is used, so
the graph stays a DAG. Pass it as ``rule=`` to
:class:`~sklearn_freenets.FreeNetClassifier` or
:class:`~sklearn_freenets.FreeNetRegressor`, or use a named one (the keys of
``RULES``). A rule that sets ``needs_gradient = True`` (as :func:`rigl_rule`
does) gets ``stats.edge_gradient``, the loss's gradient for every possible edge.

Two wrappers change how a rule acts during training: :class:`GatedRule` keeps a
round's change only if a paired branch shows that it lowers the loss on
held-out rows, and :class:`L1Rule` shrinks the edge weights by an L1 penalty
after every optimizer step and prunes the edges at 0.

Examples
--------
>>> import numpy as np
>>> from sklearn_freenets import FreeNetClassifier
>>> from sklearn_freenets.evolve import RULES, paper_rule
>>> sorted(RULES)
['contribution', 'paper', 'phi', 'rigl', 'usage']
>>> def add_only(adjacency, stats, epsilon):
...     # the paper's rule without pruning
...     return adjacency | paper_rule(adjacency, stats, epsilon)
>>> X = np.random.RandomState(0).uniform(size=(200, 4))
>>> y = (X[:, 0] > 0.5).astype(int)
>>> clf = FreeNetClassifier(k=6, evolve_rounds=60, rule=add_only, random_state=0)
>>> clf.fit(X, y).adjacency_.shape
(6, 6)
"""

from sklearn_freenets._evolve import (
    RULES,
    ActivityStats,
    GatedRule,
    L1Rule,
    Rule,
    contribution_rule,
    evolve_adjacency,
    paper_rule,
    phi_rule,
    rigl_rule,
    usage_rule,
)

__all__ = [
    "RULES",
    "ActivityStats",
    "GatedRule",
    "L1Rule",
    "Rule",
    "contribution_rule",
    "evolve_adjacency",
    "paper_rule",
    "phi_rule",
    "rigl_rule",
    "usage_rule",
]
