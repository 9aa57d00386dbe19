# SPDX-License-Identifier: BSD-3-Clause
"""Check that README.md's commands stay true."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_readme_leads_with_demo_and_test_commands():
    """Check that the first two commands install and run the demo, then the tests."""
    demo, tests = _bash_blocks()[:2]
    assert demo.startswith("pip install torch==2.13.0") and demo.endswith(
        "python -m sklearn_freenets"
    )
    assert tests.startswith("pip install torch==2.13.0") and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    """Check that .ci/run runs the README's test command verbatim."""
    tests = _bash_blocks()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines


def test_torch_requirement_admits_the_pinned_cpu_build():
    """Check that the project's torch range is satisfied by torch 2.13.0."""
    from packaging.requirements import Requirement

    text = (ROOT / "pyproject.toml").read_text()
    spec = re.search(r'"(torch[^"]*)"', text).group(1)
    assert Requirement(spec).specifier.contains("2.13.0")


def test_readme_tabular_table_is_the_committed_result():
    """Check that README's tabular table is the one bench_tabular.py last wrote."""
    import bench_tabular as bench

    report = (ROOT / "benchmarks" / "results" / "tabular" / "tabular.md").read_text()
    text = (ROOT / "README.md").read_text()
    begin = text.index(bench.README_BEGIN) + len(bench.README_BEGIN)
    shown = text[begin : text.index(bench.README_END)].strip()
    assert shown == bench.readme_section(report).strip(), (
        "README's tabular block is stale: run "
        "`python benchmarks/bench_tabular.py --aggregate-only --update-readme`"
    )


def test_readme_table2_summary_is_the_committed_result():
    """Check that README's Table 2 summary is what the committed cells give."""
    from table2 import common, report

    records = common.load_records(common.RESULTS)
    expected = report.readme_table(report.summarise(records), records)
    text = (ROOT / "README.md").read_text()
    begin = text.index(report.README_BEGIN) + len(report.README_BEGIN)
    shown = text[begin : text.index(report.README_END)].strip()
    assert shown == expected.strip(), (
        "README's Table 2 block is stale: run "
        "`python benchmarks/bench_table2.py report --update-readme`"
    )


def test_readme_example_runs(capsys):
    """Check that README's Python example runs and prints an R^2 and the graph."""
    (example,) = re.findall(
        r"```python\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S
    )
    exec(compile(example, "README.md", "exec"), {})
    score, graph = capsys.readouterr().out.splitlines()
    assert 0.3 < float(score) < 1.0
    assert graph.endswith("(100, 100)")
