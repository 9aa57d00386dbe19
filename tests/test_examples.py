# SPDX-License-Identifier: BSD-3-Clause
"""Run the gallery examples (``examples/plot_*.py``) as scripts.

Each example runs in a fresh interpreter with the non-interactive Agg backend, as
sphinx-gallery would run it; the test checks the exit status and, for the examples
listed in ``EXPECTED_OUTPUT``, a key line of the standard output. They take tens of
seconds each, so they are marked ``slow``: run them with ``pytest -m slow``.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py"))

# A line (substring) that each example prints once it has done its work.
EXPECTED_OUTPUT = {
    "plot_class_weight.py": 'class_weight="balanced": balanced accuracy',
    "plot_evolution_fashion_mnist.py": "FCNN test accuracy:",
    "plot_grid_search_neurons.py": "best k:",
    "plot_dask_grid_search.py": "best k:",
}

# Examples that read offline data: the sub-folder of the data folder and its files.
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
NEEDS_DATA = {"plot_evolution_fashion_mnist.py": ("fashion-mnist", FASHION_MNIST_FILES)}

# Generous: the examples take under a minute on an idle CPU, but CI machines are
# shared; a hanging example (e.g. a dask worker that never starts) still fails.
TIMEOUT_S = 900


def _data_home():
    """SKLEARN_FREENETS_DATA if set, else ``../shared/data`` beside the repository."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("SKLEARN_FREENETS_DATA", default))


def _tail(text, n_chars=3000):
    return text[-n_chars:] if text else "<empty>"


def test_examples_found():
    """Check that the examples folder holds the gallery's README and scripts."""
    assert (EXAMPLES_DIR / "README.txt").is_file()
    assert set(EXPECTED_OUTPUT) <= {path.name for path in EXAMPLES}


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(path, tmp_path):
    """Check that the example runs to the end and prints its key line."""
    env = dict(os.environ, MPLBACKEND="Agg")
    if path.name in NEEDS_DATA:
        data_home = _data_home()
        subfolder, files = NEEDS_DATA[path.name]
        folder = data_home / subfolder
        missing = [name for name in files if not (folder / name).is_file()]
        if missing:
            pytest.skip(
                f"{path.name} needs data that is not there: {folder} lacks "
                f"{missing}. Set SKLEARN_FREENETS_DATA to a folder holding "
                f"{subfolder}/ with the original files (see the example's "
                "'Load the data' section)."
            )
        env["SKLEARN_FREENETS_DATA"] = str(data_home)

    result = subprocess.run(
        [sys.executable, str(path)],
        env=env,
        cwd=tmp_path,  # any file an example writes lands in a temporary folder
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )

    assert result.returncode == 0, (
        f"{path.name} exited with status {result.returncode}\n"
        f"--- stdout (tail) ---\n{_tail(result.stdout)}\n"
        f"--- stderr (tail) ---\n{_tail(result.stderr)}"
    )
    expected = EXPECTED_OUTPUT.get(path.name)
    if expected is not None:
        assert expected in result.stdout, (
            f"{path.name} did not print {expected!r}\n"
            f"--- stdout (tail) ---\n{_tail(result.stdout)}"
        )
