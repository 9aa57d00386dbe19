# SPDX-License-Identifier: BSD-3-Clause
"""Tests for :mod:`sklearn_freenets.datasets` (MNIST, Fashion-MNIST, EMNIST loaders)."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_freenets import datasets
from sklearn_freenets.datasets import load_emnist, load_fashion_mnist, load_mnist

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _data_dir() -> Path:
    env = os.environ.get("SKLEARN_FREENETS_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


# Resolved at import, before the fixtures below clear SKLEARN_FREENETS_DATA.
DATA_DIR = _data_dir()


@pytest.fixture(scope="module")
def data_dir() -> Path:
    """Folder holding mnist/, fashion-mnist/ and emnist/; skip when absent."""
    path = DATA_DIR
    if not (path / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(
            f"offline data not found in {path}; set SKLEARN_FREENETS_DATA to the "
            "folder holding mnist/, fashion-mnist/ and emnist/"
        )
    return path


@pytest.fixture(scope="module", autouse=True)
def cache_home(tmp_path_factory: pytest.TempPathFactory):
    """Point sklearn's data home (where the array cache lives) at a fresh folder."""
    home = tmp_path_factory.mktemp("scikit_learn_data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCIKIT_LEARN_DATA", str(home))
        mp.delenv("SKLEARN_FREENETS_DATA", raising=False)
        yield home / "freenets" / "_cache"


@pytest.fixture(scope="module")
def mnist_train(data_dir: Path):
    """MNIST training set, decoded once for the whole module."""
    return load_mnist(data_home=data_dir)


@pytest.fixture
def mnist_copy(data_dir: Path, tmp_path: Path) -> Path:
    """A writable data home holding a copy of the small MNIST test files."""
    folder = tmp_path / "home" / "mnist"
    folder.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(data_dir / "mnist" / name, folder / name)
    return folder.parent


def test_load_mnist_train(mnist_train):
    """Check that MNIST train has the published shapes, counts and mean pixel."""
    assert mnist_train.data.shape == (60000, 784)
    assert mnist_train.data.dtype == np.float32
    assert mnist_train.images.shape == (60000, 28, 28)
    assert np.shares_memory(mnist_train.images, mnist_train.data)
    assert mnist_train.target.dtype == np.int64
    assert_array_equal(np.bincount(mnist_train.target), MNIST_TRAIN_COUNTS)
    assert mnist_train.data.min() == 0.0 and mnist_train.data.max() == 1.0
    assert_allclose(mnist_train.data.mean(dtype=np.float64), 33.32 / 255, atol=1e-4)
    assert_array_equal(mnist_train.target[:5], [5, 0, 4, 1, 9])
    assert list(mnist_train.target_names) == [str(d) for d in range(10)]
    assert len(mnist_train.feature_names) == 784
    assert mnist_train.feature_names[29] == "pixel_1_1"
    assert "MNIST" in mnist_train.DESCR


def test_load_mnist_subsets_return_X_y_and_scale(data_dir, mnist_train):
    """Check that subsets, return_X_y and scale=False give consistent arrays."""
    X_test, y_test = load_mnist(subset="test", data_home=data_dir, return_X_y=True)
    assert X_test.shape == (10000, 784) and y_test.shape == (10000,)
    X_all, y_all = load_mnist(
        subset="all", data_home=data_dir, return_X_y=True, scale=False
    )
    assert X_all.dtype == np.uint8 and X_all.shape == (70000, 784)
    assert_array_equal(y_all, np.concatenate([mnist_train.target, y_test]))
    assert_allclose(X_all[60000:] / np.float32(255), X_test, rtol=1e-6)
    assert_array_equal(np.round(mnist_train.data[:100] * 255), X_all[:100])


def test_load_fashion_mnist(data_dir):
    """Check that Fashion-MNIST has 6000/1000 images per class and named classes."""
    train = load_fashion_mnist(data_home=data_dir)
    X_test, y_test = load_fashion_mnist(
        subset="test", data_home=data_dir, return_X_y=True
    )
    assert train.data.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert_array_equal(np.bincount(train.target), [6000] * 10)
    assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert train.target_names[0] == "T-shirt/top"
    assert train.target_names[9] == "Ankle boot"
    assert train.target_names[train.target[0]] == "Ankle boot"


def test_cache_is_written_and_used(data_dir, mnist_train, cache_home, monkeypatch):
    """Check that a second load reads the .npy cache, without hashing or gunzip."""
    spec = datasets._MNIST_FILES["train_images"]
    assert (cache_home / f"{spec.sha256}.v1.npy").is_file()
    assert any((cache_home / "verified").glob("*.json"))

    def fail(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(datasets, "_read_idx_gz", fail)
    monkeypatch.setattr(datasets, "_sha256", fail)
    X, y = load_mnist(data_home=data_dir, return_X_y=True)
    assert_array_equal(X, mnist_train.data)
    assert_array_equal(y, mnist_train.target)


def test_default_data_home_and_env_variable(data_dir, cache_home, monkeypatch):
    """Check that SKLEARN_FREENETS_DATA, then sklearn's data home, are searched."""
    monkeypatch.setenv("SKLEARN_FREENETS_DATA", str(data_dir))
    X, _ = load_mnist(subset="test", return_X_y=True)
    assert X.shape == (10000, 784)
    monkeypatch.delenv("SKLEARN_FREENETS_DATA")
    default = cache_home.parent / "mnist"
    with pytest.raises(FileNotFoundError, match=str(default)):
        load_mnist(subset="test")


def test_missing_files_error_message(tmp_path):
    """Check that a missing file names the files, folder, env variable and URL."""
    with pytest.raises(FileNotFoundError) as exc_info:
        load_fashion_mnist(subset="test", data_home=tmp_path)
    message = str(exc_info.value)
    assert "2 file(s) missing" in message
    assert str(tmp_path / "fashion-mnist") in message
    assert "SKLEARN_FREENETS_DATA" in message
    assert "fashion-mnist.s3-website.eu-central-1.amazonaws.com" in message
    assert "download_if_missing=True" in message
    with pytest.raises(FileNotFoundError, match="ossci-datasets.s3.amazonaws.com"):
        load_mnist(data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match="biometrics.nist.gov"):
        load_emnist(split="letters", data_home=tmp_path)


MNIST_NAMES = {
    "train": ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"],
    "test": ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
}


@pytest.mark.parametrize("load", [load_mnist, load_fashion_mnist])
@pytest.mark.parametrize("subset", ["train", "test", "all"])
def test_missing_files_error_lists_train_and_test_files(load, subset, tmp_path):
    """Check that an empty data_home lists all four files, the call's ones first."""
    with pytest.raises(FileNotFoundError) as exc_info:
        load(subset=subset, data_home=tmp_path)
    message = str(exc_info.value)
    names = MNIST_NAMES["train"] + MNIST_NAMES["test"]
    assert all(name in message for name in names), message
    listed = [line.strip() for line in message.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(names)  # each once
    needed = names if subset == "all" else MNIST_NAMES[subset]
    assert f"{len(needed)} file(s) missing" in message
    assert listed[: len(needed)] == needed
    if subset != "all":
        other = "test" if subset == "train" else "train"
        assert f"needed with them to train and test (subset='{other}')" in message
        assert "subset='all'" in message


def test_missing_files_error_omits_present_files(mnist_copy):
    """Check that files already in data_home are not listed as missing."""
    with pytest.raises(FileNotFoundError) as exc_info:
        load_mnist(subset="train", data_home=mnist_copy)
    message = str(exc_info.value)
    assert all(name in message for name in MNIST_NAMES["train"])
    assert not any(name in message for name in MNIST_NAMES["test"])
    assert "Also missing" not in message


@pytest.mark.parametrize(
    "kwargs, needed, also",
    [
        (
            {"holdout_from_test": False},
            ["train-images-idx3", "train-labels-idx1", "mapping"],
            ["test-images-idx3", "test-labels-idx1"],
        ),
        (
            {"subset": "test"},
            ["test-images-idx3", "test-labels-idx1", "mapping"],
            ["train-images-idx3", "train-labels-idx1"],
        ),
        (
            {"holdout_from_test": True},
            ["test-images-idx3", "test-labels-idx1", "mapping"],
            [],
        ),
    ],
)
def test_emnist_missing_files_error_lists_needed_files(kwargs, needed, also, tmp_path):
    """Check that EMNIST's error lists the call's files, then the other subset's."""
    with pytest.raises(FileNotFoundError) as exc_info:
        load_emnist(split="letters", data_home=tmp_path, **kwargs)
    message = str(exc_info.value)
    listed = [line.strip() for line in message.splitlines() if line.startswith("  ")]
    for line, part in zip(listed, needed + also, strict=True):
        assert line.startswith("emnist-letters-") and part in line, listed
    assert f"{len(needed)} file(s) missing from {tmp_path / 'emnist'}" in message
    assert ("Also missing" in message) == bool(also)
    # no test files either: dividing them is no way out, so it is not offered
    assert "holdout_from_test=True divides" not in message


def test_local_checksum_mismatch(mnist_copy):
    """Check that a local file that differs from the original raises OSError."""
    X, _ = load_mnist(subset="test", data_home=mnist_copy, return_X_y=True)
    labels = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(labels.read_bytes())
    raw[-10] ^= 0xFF
    labels.write_bytes(bytes(raw))
    with pytest.raises(OSError, match="sha256 .* expected f7ae60f9"):
        load_mnist(subset="test", data_home=mnist_copy)
    labels.write_bytes(bytes(raw[:-1]))
    with pytest.raises(OSError, match="4541 bytes, expected 4542"):
        load_mnist(subset="test", data_home=mnist_copy)


def _local_url(path):
    """A ``file://`` URL with a host, as scikit-learn's ``fetch_file`` requires."""
    return "file://localhost" + path.resolve().as_posix()


def test_download_with_file_url(mnist_copy, tmp_path, monkeypatch):
    """Check that downloads skip a bad mirror and verify the files they fetch."""
    mirror = mnist_copy / "mnist"
    broken = tmp_path / "no-such-mirror"
    monkeypatch.setattr(
        datasets, "_MNIST_MIRRORS", (_local_url(broken) + "/", _local_url(mirror))
    )
    home = tmp_path / "fresh"
    with pytest.warns(UserWarning, match="Retry downloading from url: .*no-such"):
        X, y = load_mnist(
            subset="test", data_home=home, download_if_missing=True, return_X_y=True
        )
    assert sorted(p.name for p in (home / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    X_ref, y_ref = load_mnist(subset="test", data_home=mnist_copy, return_X_y=True)
    assert_array_equal(X, X_ref)
    assert_array_equal(y, y_ref)


def test_download_checksum_mismatch_deletes_file(mnist_copy, tmp_path, monkeypatch):
    """Check that a download failing its sha256 is deleted and raises OSError."""
    labels = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(labels.read_bytes())
    raw[-10] ^= 0xFF
    labels.write_bytes(bytes(raw))
    monkeypatch.setattr(datasets, "_MNIST_MIRRORS", (_local_url(mnist_copy / "mnist"),))
    home = tmp_path / "fresh"
    with pytest.raises(OSError, match="(?i)t10k-labels-idx1-ubyte.gz.*sha256"):
        load_mnist(subset="test", data_home=home, download_if_missing=True)
    left = sorted(p.name for p in (home / "mnist").iterdir())
    assert left == ["t10k-images-idx3-ubyte.gz"]  # the good file is kept


def _idx(magic: int, dims: tuple[int, ...], n_bytes: int) -> bytes:
    header = struct.pack(f">I{len(dims)}I", magic, *dims)
    return header + bytes(n_bytes)


def test_corrupt_idx_raises_value_error(tmp_path):
    """Check that a wrong magic number, shape or length raises a clear ValueError."""
    parse = datasets._parse_idx
    assert parse(_idx(0x803, (2, 28, 28), 2 * 784), ndim=3, name="f").shape == (
        2,
        28,
        28,
    )
    with pytest.raises(ValueError, match="magic number 2049"):
        parse(_idx(0x801, (2, 28, 28), 2 * 784), ndim=3, name="f")
    with pytest.raises(ValueError, match="announces shape"):
        parse(_idx(0x803, (3, 28, 28), 2 * 784), ndim=3, name="f")
    with pytest.raises(ValueError, match="32x28 pixels"):
        parse(_idx(0x803, (1, 32, 28), 32 * 28), ndim=3, name="f")
    with pytest.raises(ValueError, match="shorter than"):
        parse(b"\x00\x00", ndim=1, name="f")
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        datasets._read_idx_gz(bad, ndim=1)
    good = tmp_path / "labels.gz"
    good.write_bytes(gzip.compress(_idx(0x801, (3,), 3)))
    assert_array_equal(datasets._read_idx_gz(good, ndim=1), [0, 0, 0])


def test_invalid_parameters():
    """Check that invalid parameters raise InvalidParameterError."""
    with pytest.raises(InvalidParameterError, match="subset"):
        load_mnist(subset="valid")
    with pytest.raises(InvalidParameterError, match="split"):
        load_emnist(split="emnist")
    with pytest.raises(InvalidParameterError, match="test_size"):
        load_emnist(test_size=1.5)


@pytest.fixture(scope="module")
def emnist_byclass(data_dir):
    """Hold-out division of the EMNIST ByClass test split (train and test parts)."""
    if not (data_dir / "emnist" / "emnist-byclass-test-images-idx3-ubyte.gz").is_file():
        pytest.skip("EMNIST ByClass test split not in the offline data")
    train = load_emnist(data_home=data_dir, holdout_from_test=True)
    test = load_emnist(
        subset="test", data_home=data_dir, return_X_y=True, holdout_from_test=True
    )
    return train, test


def test_emnist_byclass_holdout(emnist_byclass):
    """Check that the ByClass hold-out has 62 named classes, stratified 80/20."""
    train, (X_test, y_test) = emnist_byclass
    assert not train.official_split
    assert "NOT an official split" in train.DESCR
    assert train.data.shape[0] + X_test.shape[0] == 116323
    assert X_test.shape == (23265, 784) and X_test.dtype == np.float32
    expected = [str(d) for d in range(10)]
    expected += [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    expected += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    assert list(train.target_names) == expected
    n_train = np.bincount(train.target, minlength=62)
    n_test = np.bincount(y_test, minlength=62)
    assert n_train.min() > 0 and n_test.min() > 0
    assert np.all(np.abs(n_test - 0.2 * (n_train + n_test)) <= 1)


def test_emnist_divides_the_test_split_only_when_asked(data_dir):
    """Check the default (official files only, the division offered in the
    error) and the deprecated "auto" (a FutureWarning, then its fallback)."""
    with pytest.raises(FileNotFoundError, match="holdout_from_test=True divides"):
        load_emnist(split="mnist", data_home=data_dir)  # no training files
    with (
        pytest.warns(FutureWarning, match="holdout_from_test='auto' is deprecated"),
        pytest.warns(UserWarning, match="NOT the official EMNIST split"),
    ):
        bunch = load_emnist(
            split="mnist", subset="test", data_home=data_dir, holdout_from_test="auto"
        )
    assert not bunch.official_split
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_emnist(
            split="mnist", subset="test", data_home=data_dir, holdout_from_test=True
        )


def test_emnist_holdout_is_deterministic_partition(data_dir):
    """Check that the seeded division is reproducible and partitions the split."""
    kw = dict(split="mnist", data_home=data_dir, holdout_from_test=True, scale=False)
    X_tr, y_tr = load_emnist(subset="train", return_X_y=True, **kw)
    X_tr2, y_tr2 = load_emnist(subset="train", return_X_y=True, **kw)
    X_te, y_te = load_emnist(subset="test", return_X_y=True, **kw)
    X_all, y_all = load_emnist(subset="all", return_X_y=True, **kw)
    assert_array_equal(X_tr, X_tr2)
    assert_array_equal(y_tr, y_tr2)
    assert_array_equal(np.bincount(y_te), [200] * 10)
    assert_array_equal(np.bincount(y_all), [1000] * 10)
    rows = sorted(r.tobytes() for r in np.vstack([X_tr, X_te]))
    assert rows == sorted(r.tobytes() for r in X_all)
    X_other, _ = load_emnist(
        subset="train", return_X_y=True, **kw | {"random_state": 1}
    )
    assert not np.array_equal(X_other, X_tr)


def test_emnist_official_split_requires_train_files(data_dir, tmp_path):
    """Check that holdout_from_test=False needs the official training files."""
    with pytest.raises(FileNotFoundError, match="emnist-byclass-train-images"):
        load_emnist(data_home=data_dir, holdout_from_test=False)
    test = load_emnist(
        split="mnist", subset="test", data_home=data_dir, holdout_from_test=False
    )
    assert test.official_split and test.data.shape == (10000, 784)
    assert "Official EMNIST 'mnist' test set" in test.DESCR


def test_emnist_images_are_upright(data_dir):
    """Check that EMNIST digits look like MNIST digits, not like their transpose."""
    emnist = load_emnist(
        split="mnist", subset="test", data_home=data_dir, holdout_from_test=False
    )
    mnist = load_mnist(subset="test", data_home=data_dir)
    for digit in range(10):
        ref = mnist.images[mnist.target == digit].mean(axis=0).ravel()
        mean = emnist.images[emnist.target == digit].mean(axis=0)
        upright = np.corrcoef(ref, mean.ravel())[0, 1]
        transposed = np.corrcoef(ref, mean.T.ravel())[0, 1]
        assert upright > transposed, digit


def test_emnist_download_from_zip(data_dir, tmp_path, monkeypatch):
    """Check that EMNIST files are extracted and verified from the NIST archive."""
    archive = tmp_path / "gzip.zip"
    names = [
        "emnist-mnist-test-images-idx3-ubyte.gz",
        "emnist-mnist-test-labels-idx1-ubyte.gz",
        "emnist-mnist-mapping.txt",
    ]
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in names:
            zf.write(data_dir / "emnist" / name, f"gzip/{name}")
    monkeypatch.setattr(datasets, "_EMNIST_ZIP_URL", _local_url(archive))
    home = tmp_path / "home"
    X, y = load_emnist(
        split="mnist",
        subset="test",
        data_home=home,
        download_if_missing=True,
        holdout_from_test=False,
        return_X_y=True,
    )
    assert X.shape == (10000, 784)
    assert sorted(p.name for p in (home / "emnist").iterdir()) == sorted(
        [*names, "gzip.zip"]
    )
    # A member that fails its checksum is deleted, and so is the archive.
    with zipfile.ZipFile(archive, "w") as zf:
        for name in names:
            if "labels" not in name:
                zf.write(data_dir / "emnist" / name, f"gzip/{name}")
        zf.writestr("gzip/emnist-mnist-test-labels-idx1-ubyte.gz", b"corrupt")
    home2 = tmp_path / "home2"
    with pytest.raises(OSError, match="7 bytes, expected 5144"):
        load_emnist(
            split="mnist",
            subset="test",
            data_home=home2,
            download_if_missing=True,
            holdout_from_test=False,
        )
    assert not (home2 / "emnist" / "gzip.zip").exists()
    assert not (home2 / "emnist" / "emnist-mnist-test-labels-idx1-ubyte.gz").exists()
