# SPDX-License-Identifier: BSD-3-Clause
"""Tests for ``python -m sklearn_freenets``: its help, and the copies of its output
in README and the docs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from sklearn_freenets.__main__ import _parser, _plain, main

ROOT = Path(__file__).resolve().parents[1]
PROG = "python -m sklearn_freenets"
# The help blocks shown are what argparse prints at this terminal width.
COLUMNS = "80"


# The files that show the command's output: README and the docs pages.
SHOWN_IN = ("README.md", "doc/results.md", "doc/user_guide.rst", "doc/theory.rst")


def _fenced(lines: list[str]) -> list[list[str]]:
    """The lines of each Markdown block fenced by ``` or ```text."""
    fenced: list[list[str]] = []
    inside = None
    for line in lines:
        if inside is None and line.startswith("```"):
            inside = line in ("```", "```text")
            if inside:
                fenced.append([])
        elif inside is not None and line == "```":
            inside = None
        elif inside:
            fenced[-1].append(line)
    return fenced


def _code_blocks(lines: list[str]) -> list[list[str]]:
    """The lines of each reST ``.. code-block:: text``, dedented by 3."""
    blocks: list[list[str]] = []
    inside = False
    for line in lines:
        if line.strip() == ".. code-block:: text":
            blocks.append([])
            inside = True
        elif inside and (not line.strip() or line.startswith("   ")):
            blocks[-1].append(line[3:])
        else:
            inside = False
    return [block[1:] if block and not block[0] else block for block in blocks]


def _cli_blocks() -> list[tuple[str, list[str], str]]:
    """Return (file, arguments, output) of each block opening with ``$ PROG``."""
    blocks = []
    for name in SHOWN_IN:
        lines = (ROOT / name).read_text().splitlines()
        found = _code_blocks(lines) if name.endswith(".rst") else _fenced(lines)
        for first, *output in filter(None, found):
            if first == f"$ {PROG}" or first.startswith(f"$ {PROG} "):
                args = shlex.split(first[len(f"$ {PROG}") :])
                blocks.append((name, args, "\n".join(output)))
    return blocks


def _normalise(text: str) -> str:
    """Drop trailing whitespace and blank lines."""
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def _stable(text: str) -> str:
    """Mask the numbers that change from run to run or machine to machine.

    Fit times (``2.84s`` at a line's end, in the demo) and the error columns of
    ``theorem1`` (``4.31e-15``: rounding errors, whose digits depend on the
    machine's float64 kernels) become placeholders; everything else is kept.
    """
    text = re.sub(r"\d+\.\d\ds$", "#.##s", text, flags=re.M)
    return re.sub(r"\d\.\d\de[+-]\d\d", "#.##e###", text)


def _run(args: list[str]) -> str:
    env = dict(os.environ, COLUMNS=COLUMNS, NO_COLOR="1", PYTHON_COLORS="0")
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "sklearn_freenets", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _is_demo(args: list[str]) -> bool:
    return "--help" not in args and "-h" not in args and "theorem1" not in args


BLOCKS = _cli_blocks()


def test_the_help_the_theorem1_table_and_the_demo_are_shown():
    """Check that README shows theorem1, and the docs the help and the demo."""
    shown = {(name, args[0] if args else "") for name, args, _ in BLOCKS}
    assert ("README.md", "theorem1") in shown
    assert ("doc/user_guide.rst", "--help") in shown
    assert ("doc/results.md", "") in shown
    assert ("doc/theory.rst", "theorem1") in shown


@pytest.mark.parametrize(
    "name, args, shown",
    [
        pytest.param(
            name,
            args,
            shown,
            id=f"{name}: {' '.join(args) or 'demo'}",
            marks=[pytest.mark.slow] if _is_demo(args) else [],
        )
        for name, args, shown in BLOCKS
    ],
)
def test_shown_cli_output_is_what_the_command_prints(name, args, shown):
    """Check that each ``$ python -m sklearn_freenets ...`` block shown is true.

    The command runs in a subprocess at 80 columns and its output is compared with
    the block line by line, trailing whitespace aside. Only the stable parts are
    compared: fit times and theorem1's error columns (rounding errors) are masked,
    see ``_stable``; theorem1's rows must still say "pass". The demo trains two
    models (several seconds), so its block is checked under ``-m slow``.
    """
    printed = _normalise(_run(args))
    assert _stable(_normalise(shown)) == _stable(printed), (
        f"{name}'s block for `{PROG} {shlex.join(args)}` is stale; replace it "
        f"with what the command prints (at COLUMNS={COLUMNS}):\n{printed}"
    )


def _option_entries(text: str) -> dict[str, str]:
    """Map each option of a help text (its first flag) to its entry, joined."""
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"  (-[-\w]+)", line)
        if match:
            current = match.group(1)
            entries[current] = line.strip()
        elif current and line.startswith("    "):
            entries[current] += " " + line.strip()
        else:
            current = None
    return entries


@pytest.mark.parametrize("command", [None, "demo", "theorem1"])
def test_help_is_plain_text_with_defaults(command, capsys, monkeypatch):
    """Check that --help has no reST markup and states every option's default."""
    monkeypatch.setenv("COLUMNS", COLUMNS)
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"] if command else ["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and not re.search(r":\w+:`", text)
    parser, commands = _parser()
    entries = _option_entries(text)
    options = [a for a in (commands[command] if command else parser)._actions]
    options = [a for a in options if a.option_strings and a.help != "==SUPPRESS=="]
    assert {a.option_strings[0] for a in options} == set(entries)
    for action in options:
        if action.default not in (None, "==SUPPRESS=="):
            assert "default" in entries[action.option_strings[0]], entries


def test_plain_strips_rst_markup():
    """Check that _plain turns literals and roles into readable text."""
    text = "``python -m x`` calls :func:`~a.b.fit` and :class:`sklearn.base.Cls`."
    assert _plain(text) == "'python -m x' calls fit and sklearn.base.Cls."


# Each out-of-range or unusable argument, and the message argparse prints for it.
USAGE_ERRORS = [
    (["--task", "images"], "argument --task: invalid choice: 'images'"),
    (["demo", "--task", "mnist"], "argument --task: invalid choice: 'mnist'"),
    (["--seed", "-1"], "argument --seed: must be an integer in [0, 4294967295]"),
    (["demo", "--seed", str(2**32)], "argument --seed: must be an integer in [0, "),
    (["--verbose", "-1"], "argument --verbose: must be an integer >= 0, got -1"),
    (["theorem1", "--points", "0"], "argument --points: must be an integer >= 2"),
    (["theorem1", "--points", "1"], "argument --points: must be an integer >= 2"),
    (["theorem1", "--degree", "-1"], "argument --degree: must be an integer >= 0"),
    (["theorem1", "--seed", "-1"], "argument --seed: must be an integer >= 0"),
    (["theorem1", "--coef", "1", "nan"], "argument --coef: must be a finite number"),
    (["theorem1", "--coef", "-inf"], "argument --coef: must be a finite number"),
    (["theorem1", "--domain", "0", "inf"], "argument --domain: must be a finite"),
    (["theorem1", "--domain", "1", "1"], "argument --domain: needs LO < HI, got 1 1"),
    (["theorem1", "--domain", "1", "-1e3"], "argument --domain: needs LO < HI"),
    (["theorem1", "--domain", "-1e308", "1e308"], "argument --domain: HI - LO over"),
]


def _usage_error(args, capsys) -> str:
    """Run the command line on ``args``; check a usage error; return its stderr."""
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: ")
    return err


@pytest.mark.parametrize(
    "args, message", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS]
)
def test_unusable_argument_is_a_usage_error(args, message, capsys, monkeypatch):
    """Check that an out-of-range argument exits 2 with argparse's usage and error.

    The error names the argument and comes before any work: the demo never starts
    (it would fail this test) and theorem1 prints no table.
    """

    def demo(args):
        raise AssertionError("the demo ran")

    monkeypatch.setattr("sklearn_freenets.__main__._demo", demo)
    err = _usage_error(args, capsys)
    command = f" {args[0]}" if args[0] in ("demo", "theorem1") else ""
    assert f"\n{PROG}{command}: error: {message}" in err
    assert "Traceback" not in err


# Polynomials whose construction, or whose values on the grid, overflow float64: huge
# coefficients, or a high degree on a wide domain. Where it overflows (and so the
# rest of the message) depends on the construction; the error names the argument.
OVERFLOWS = [
    "theorem1 --coef 1e308 1e308 1e308".split(),
    "theorem1 --coef 1e308 1e308 --method layer".split(),
    "theorem1 --coef 1e308 1e308 --domain 0 1e10".split(),
    "theorem1 --coef 1e308 -1e308 1e308 --method paterson_stockmeyer".split(),
    "theorem1 --domain -1e300 1e300".split(),
]


@pytest.mark.parametrize("args", OVERFLOWS, ids=" ".join)
def test_overflowing_polynomial_is_a_usage_error(args, capsys):
    """Check that a polynomial overflowing float64 is a usage error, not a table."""
    err = _usage_error(args, capsys)
    given = "--coef" if "--coef" in args else "--degree"
    error = err.splitlines()[-1]
    assert error.startswith(f"{PROG} theorem1: error: argument {given}: ")
    assert "overflow" in error
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args, option", [(["--seed", "-1"], "--seed"), (OVERFLOWS[0], "--coef")]
)
def test_usage_error_of_the_module_has_no_traceback(args, option):
    """Check that ``python -m sklearn_freenets`` itself exits 2 without a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "sklearn_freenets", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"error: argument {option}: " in proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr


@pytest.mark.parametrize(
    "args, dest, expected",
    [
        (["--domain", "-1e3", "1"], "domain", [-1000.0, 1.0]),
        (["--domain", "-1", "-0.5"], "domain", [-1.0, -0.5]),
        (["--domain", "-1E-3", "-.5e-4"], "domain", [-1e-3, -0.5e-4]),
        (["--domain", "-.5", ".5"], "domain", [-0.5, 0.5]),
        (["--coef", "-1e-3", "2", "-3E2"], "coef", [-1e-3, 2.0, -300.0]),
        (["--coef", "1", "-2", "--domain", "-1e3", "-1e2"], "coef", [1.0, -2.0]),
    ],
)
def test_negative_numbers_are_numbers(args, dest, expected):
    """Check that theorem1 reads -1e3, -.5 and -1 as numbers, not as options."""
    parser, _ = _parser()
    parsed = parser.parse_args(["theorem1", *args])
    assert getattr(parsed, dest) == expected
