# SPDX-License-Identifier: BSD-3-Clause
"""Tests that the docs' statements about the estimators' parameters hold."""

import re
from pathlib import Path

from sklearn_freenets import FreeNetClassifier, FreeNetRegressor

DOC = Path(__file__).resolve().parents[1] / "doc" / "parameters.rst"


def _groups() -> dict[str, list[str]]:
    """The parameter groups of doc/parameters.rst's table: group -> names."""
    text = DOC.read_text()
    table = text[text.index(".. list-table::") : text.index("Why flat")]
    groups: dict[str, list[str]] = {}
    for row in table.split("   * - ")[2:]:  # skip the options and the header row
        cells = row.split("     - ")
        groups[cells[0].strip()] = re.findall(r"``(\w+)``", cells[1])
    return groups


def test_every_parameter_is_in_exactly_one_documented_group():
    """Check the parameter page against both estimators' signatures."""
    groups = _groups()
    assert len(groups) == 7
    names = [name for group in groups.values() for name in group]
    assert len(names) == len(set(names)), "a parameter listed twice"
    documented = set(names)
    for Estimator in (FreeNetClassifier, FreeNetRegressor):
        params = set(Estimator().get_params())
        assert params <= documented, f"undocumented: {params - documented}"
    everything = set(FreeNetClassifier().get_params()) | set(
        FreeNetRegressor().get_params()
    )
    assert documented == everything, f"not parameters: {documented - everything}"
    count = re.search(r"take (\d+) keyword", DOC.read_text()).group(1)
    assert int(count) == len(FreeNetRegressor().get_params())
