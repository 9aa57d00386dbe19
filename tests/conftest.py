# SPDX-License-Identifier: BSD-3-Clause
"""Shared fixtures: fixed seeds, the location of the offline data sets, and a spy
on the compiled kernels."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def seeds_fixed():
    """Seed numpy's and torch's global generators for every test."""
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def data_home():
    """Folder with the MNIST-family IDX files.

    SKLEARN_FREENETS_DATA if set, else ../shared/data beside the repository.
    """
    path = Path(
        os.environ.get(
            "SKLEARN_FREENETS_DATA",
            Path(__file__).resolve().parents[2] / "shared" / "data",
        )
    )
    if not (path / "mnist").is_dir():
        pytest.skip(
            f"MNIST-family data not found in {path} (set SKLEARN_FREENETS_DATA)"
        )
    return path


_PREDICT_IN_NEW_PROCESS = """
import pickle, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
model = pickle.load(open(sys.argv[1], "rb"))
np.save(sys.argv[4], getattr(model, sys.argv[3])(np.load(sys.argv[2])))
"""


@pytest.fixture
def predict_in_new_process(tmp_path):
    """Return a function that pickles an estimator and predicts in a fresh Python."""

    def run(estimator, X, method="predict", env=None):
        paths = [tmp_path / "model.pkl", tmp_path / "X.npy", tmp_path / "out.npy"]
        paths[0].write_bytes(pickle.dumps(estimator))
        np.save(paths[1], X)
        subprocess.run(
            [
                sys.executable,
                "-c",
                _PREDICT_IN_NEW_PROCESS,
                str(paths[0]),
                str(paths[1]),
                method,
                str(paths[2]),
            ],
            check=True,
            env=None if env is None else {**os.environ, **env},
        )
        return np.load(paths[2])

    return run


@pytest.fixture
def kernel_calls(monkeypatch):
    """``kernel_calls(*names)``: spy on those ``_kernel`` functions (which still
    run); returns one list that gets an item per call of any of them."""
    from sklearn_freenets import _kernel

    def spy_on(*names: str) -> list:
        calls: list = []
        for name in names:
            original = getattr(_kernel, name)

            def spy(*args, _original=original, **kwargs):
                calls.append(1)
                return _original(*args, **kwargs)

            monkeypatch.setattr(_kernel, name, spy)
        return calls

    return spy_on
