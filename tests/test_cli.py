# SPDX-License-Identifier: BSD-3-Clause
"""Tests for ``python -m sklearn_freenets``: its help, and README's copies of it."""

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
# The README's help blocks are what argparse prints at this terminal width.
COLUMNS = "80"


def _readme_cli_blocks() -> list[tuple[list[str], str]]:
    """Return (arguments, output) of each README block opening with ``$ PROG``."""
    fenced: list[list[str]] = []  # the lines of each fenced block without a language
    inside = None
    for line in (ROOT / "README.md").read_text().splitlines():
        if inside is None and line.startswith("```"):
            inside = line == "```"
            if inside:
                fenced.append([])
        elif inside is not None and line == "```":
            inside = None
        elif inside:
            fenced[-1].append(line)
    blocks = []
    for first, *output in filter(None, fenced):
        if first == f"$ {PROG}" or first.startswith(f"$ {PROG} "):
            blocks.append((shlex.split(first[len(f"$ {PROG}") :]), "\n".join(output)))
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


BLOCKS = _readme_cli_blocks()


def test_readme_shows_the_help_the_theorem1_table_and_the_demo():
    """Check that README keeps a block for --help, theorem1 and the demo."""
    commands = [args for args, _ in BLOCKS]
    assert ["--help"] in commands
    assert any(args[:1] == ["theorem1"] for args in commands)
    assert [] in commands


@pytest.mark.parametrize(
    "args, shown",
    [
        pytest.param(
            args,
            shown,
            id=" ".join(args) or "demo",
            marks=[pytest.mark.slow] if _is_demo(args) else [],
        )
        for args, shown in BLOCKS
    ],
)
def test_readme_cli_output_is_what_the_command_prints(args, shown):
    """Check that each ``$ python -m sklearn_freenets ...`` block in README is true.

    The command runs in a subprocess at 80 columns and its output is compared with
    the block line by line, trailing whitespace aside. Only the stable parts are
    compared: fit times and theorem1's error columns (rounding errors) are masked,
    see ``_stable``; theorem1's rows must still say "pass". The demo trains two
    models (several seconds), so its block is checked under ``-m slow``.
    """
    printed = _normalise(_run(args))
    assert _stable(_normalise(shown)) == _stable(printed), (
        f"README's block for `{PROG} {shlex.join(args)}` is stale; replace it "
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
