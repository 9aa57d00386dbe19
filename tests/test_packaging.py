# SPDX-License-Identifier: BSD-3-Clause
"""Check that the built wheel carries the licence, py.typed and clean metadata."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _setuptools_version() -> Version | None:
    try:
        return Version(metadata.version("setuptools"))
    except metadata.PackageNotFoundError:
        return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Build the wheel from a copy of the sources; return it and the build log.

    The build runs without isolation, so it needs no network, only setuptools >= 77
    in the running environment (the version that reads PEP 639 licence fields);
    without it, or without pip, the tests skip. Building from a copy keeps
    ``build/`` and ``*.egg-info`` out of the checkout.
    """
    version = _setuptools_version()
    if version is None or version < Version("77"):
        pytest.skip(f"building needs setuptools>=77 installed, found {version}")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "sklearn_freenets",
        src / "sklearn_freenets",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    cmd += ["--no-index", "-v", "-w", str(out), str(src)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot run pip wheel: {exc}")
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 and "No module named pip" in log:
        pytest.skip("pip is not installed")
    assert proc.returncode == 0, log
    (path,) = out.glob("sklearn_freenets-*.whl")
    return path, log


def test_wheel_contains_license_and_py_typed(wheel):
    """Check that the wheel holds LICENSE under .dist-info/licenses and py.typed."""
    path, _ = wheel
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        (dist_info,) = {n.split("/")[0] for n in names if ".dist-info/" in n}
        assert f"{dist_info}/licenses/LICENSE" in names
        assert "sklearn_freenets/py.typed" in names
        licence = zf.read(f"{dist_info}/licenses/LICENSE")
        meta = zf.read(f"{dist_info}/METADATA").decode()
    assert licence == (ROOT / "LICENSE").read_bytes()
    assert "License-Expression: BSD-3-Clause" in meta.splitlines()
    assert "License-File: LICENSE" in meta.splitlines()


def test_wheel_builds_without_deprecation_warnings(wheel):
    """Check that setuptools warns about nothing deprecated in pyproject.toml."""
    _, log = wheel
    deprecated = [line for line in log.splitlines() if "deprecat" in line.lower()]
    assert not deprecated, "\n".join(deprecated)
