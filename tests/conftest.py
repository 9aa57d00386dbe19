# SPDX-License-Identifier: BSD-3-Clause
"""Shared fixtures: fixed seeds and the location of the offline data sets."""

import os
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
