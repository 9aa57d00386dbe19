# SPDX-License-Identifier: BSD-3-Clause
"""Loaders for the image data sets of the FreeNets paper: MNIST, Fashion-MNIST, EMNIST.

The loaders work offline first: they read the original gzip-compressed IDX files from a
local folder, check each file's sha256 once, and cache the decoded arrays as ``.npy``
files so that later loads take a fraction of a second. They download only when asked to
(``download_if_missing=True``).

Where the files are looked for (the first that is set wins):

1. the ``data_home`` argument;
2. the environment variable ``SKLEARN_FREENETS_DATA``;
3. ``sklearn.datasets.get_data_home() / "freenets"`` (itself ``~/scikit_learn_data``
   unless the environment variable ``SCIKIT_LEARN_DATA`` says otherwise).

Inside that folder the layout is ``mnist/``, ``fashion-mnist/`` and ``emnist/``, holding
the files under their original names (``train-images-idx3-ubyte.gz``,
``emnist-byclass-test-images-idx3-ubyte.gz``, ...).

The decoded-array cache always lives in ``sklearn.datasets.get_data_home() /
"freenets" / "_cache"``, never in ``data_home``, so a read-only ``data_home`` works.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
import tempfile
import textwrap
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import fetch_file, get_data_home
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch
from sklearn.utils._param_validation import (
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)

__all__ = ["load_emnist", "load_fashion_mnist", "load_mnist"]

#: Environment variable naming the folder that holds ``mnist/``, ``fashion-mnist/``
#: and ``emnist/``.
DATA_ENV_VAR = "SKLEARN_FREENETS_DATA"

# Download locations. They are read at call time, so tests (or users behind a local
# mirror) can point them elsewhere, ``file://localhost/...`` URLs included
# (scikit-learn's fetch_file, which downloads them, wants a host in the URL).
_MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
_FASHION_MNIST_MIRRORS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
_EMNIST_ZIP_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
_EMNIST_ZIP_NAME = "gzip.zip"
# scikit-learn's fetch_file retries a failed HTTP download this often.
_DOWNLOAD_RETRIES = 2
_CACHE_FORMAT = 1

_IMAGE_MAGIC = 0x00000803
_LABEL_MAGIC = 0x00000801
_SIDE = 28


@dataclass(frozen=True)
class _FileSpec:
    """One original file: its name, sha256 and byte size (``None`` when unknown)."""

    name: str
    sha256: str | None
    size: int | None


def _f(name: str, sha256: str | None, size: int | None) -> _FileSpec:
    return _FileSpec(name, sha256, size)


# Canonical checksums of the original distribution files. MNIST and Fashion-MNIST: the
# values published for the original files (tensorflow-datasets, torchvision). EMNIST:
# the sha256 and size recorded by the Git LFS pointers of the complete original
# distribution (GitHub ``aurelienduarte/emnist``, folder ``gzip/``); the ByClass and
# EMNIST-MNIST test files of the offline copy match them. For the ByMerge files no
# sha256 is known, only the byte sizes, and for the Balanced, Letters and ByMerge
# mapping files neither is known: those are checked by size only, or not at all.
_MNIST_FILES: dict[str, _FileSpec] = {
    "train_images": _f(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        9912422,
    ),
    "train_labels": _f(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        28881,
    ),
    "test_images": _f(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        1648877,
    ),
    "test_labels": _f(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        4542,
    ),
}

_FASHION_MNIST_FILES: dict[str, _FileSpec] = {
    "train_images": _f(
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        26421880,
    ),
    "train_labels": _f(
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        29515,
    ),
    "test_images": _f(
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        4422102,
    ),
    "test_labels": _f(
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        5148,
    ),
}

_FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_EMNIST_CHECKSUMS: dict[str, tuple[str | None, int | None]] = {
    # split: train images, train labels, test images, test labels (sha256, size)
    "balanced-train-images": (
        "74295e75e4e9fa2c102147460ee7eb763653d5132d883a84fb88932bfb8d2db4",
        28207740,
    ),
    "balanced-train-labels": (
        "b46d41e5156a0a8aaaa4d18979fdd1588850fa8571018acffd5d93b325a7d6ed",
        80618,
    ),
    "balanced-test-images": (
        "117fc12b015e37ea98bfb2cbba3f77c3782c056cdbd219b87abfc8661d7135db",
        4714707,
    ),
    "balanced-test-labels": (
        "a67cac948379b67270b9a4d0a01c8ec661598accf2f2b1964340b7c83cb175cd",
        13504,
    ),
    "byclass-train-images": (
        "9e21987f03a6eb8b870187e785883ddad96947299587908f1a7ec2ca0f4be5f0",
        173367313,
    ),
    "byclass-train-labels": (
        "f7ef403d48dc18a89dae0d83d11ee69cecb6e1c12c3a961d03712e495c02a8fa",
        491603,
    ),
    "byclass-test-images": (
        "5ec835bd5d5b1a66378a132e727fef20fe994b3cc666899befcca5ac766f50cd",
        28908322,
    ),
    "byclass-test-labels": (
        "501e305eeeacb093b162592d80e8a2632040872360fa6d85cfcb2200d91ca92a",
        81839,
    ),
    "bymerge-train-images": (None, 173375281),
    "bymerge-train-labels": (None, 476444),
    "bymerge-test-images": (None, 28905295),
    "bymerge-test-labels": (None, 79351),
    "digits-train-images": (
        "f7c95004d14d81af89522e67d8f0c781dfb3bd544181c81bfe1eb6b41c35b726",
        59515779,
    ),
    "digits-train-labels": (
        "6638a6ff5fe2eefd9cca2471995b46c82986b8e4b2a70d2f5ce8e05d7edb319e",
        113859,
    ),
    "digits-test-images": (
        "20ebe43509264f7639d37c835a3f0b009e90b29e00a099a03101abe1644a3f63",
        9908519,
    ),
    "digits-test-labels": (
        "bad1834c45d5988e270b99d43b13edc3fd898f658ffbc2caf2846ef27f7b05b0",
        19960,
    ),
    "letters-train-images": (
        "6288f418a917e007bf5fddb823a2dc7a5c6a35031401b93292a539cb12bd881f",
        30804864,
    ),
    "letters-train-labels": (
        "9759af91ea6bccdf07a6040fd085861f2ec88e37f7c3f5760f6feb57106fbe5c",
        79283,
    ),
    "letters-test-images": (
        "50f0e93d75b99b463e9760b8345866f22587fa2c2fba472730a5ba09c693412d",
        5039157,
    ),
    "letters-test-labels": (
        "924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb",
        144,
    ),
    "mnist-train-images": (
        "5f9942f441031c0f1f2e4d162059fd6e19ea808b34c328b6d16cab0ed24c78f2",
        14873795,
    ),
    "mnist-train-labels": (
        "00c6d3c2342fdffb1711e0b5656cac4ce5862d2826399d383a9bac07d612e9f8",
        29480,
    ),
    "mnist-test-images": (
        "b25640fa9e356c618132f5df347c95ef5bae6d9c2596be1de40f7e0ae1c3eac6",
        2484884,
    ),
    "mnist-test-labels": (
        "bcc5385d38f083dba046f5f756e99b32f5ea7fad122c6243c71c2239873065ca",
        5144,
    ),
    "byclass-mapping": (
        "68fa9091ed325830418b5a8d732f32316e54a480b9f8994a161abb4eddd0d078",
        447,
    ),
    "mnist-mapping": (
        "6d157dc46a7b1c80d630f4fed571d9964db37ee1669cac403b6db2c8bb109d94",
        60,
    ),
    "digits-mapping": (
        "6d157dc46a7b1c80d630f4fed571d9964db37ee1669cac403b6db2c8bb109d94",
        60,
    ),
    "balanced-mapping": (None, None),
    "bymerge-mapping": (None, None),
    "letters-mapping": (None, None),
}

_EMNIST_SPLITS = ("balanced", "byclass", "bymerge", "digits", "letters", "mnist")


def _emnist_files(split: str) -> dict[str, _FileSpec]:
    files = {}
    for part in ("train", "test"):
        for kind, idx in (("images", "idx3"), ("labels", "idx1")):
            sha, size = _EMNIST_CHECKSUMS[f"{split}-{part}-{kind}"]
            name = f"emnist-{split}-{part}-{kind}-{idx}-ubyte.gz"
            files[f"{part}_{kind}"] = _FileSpec(name, sha, size)
    sha, size = _EMNIST_CHECKSUMS[f"{split}-mapping"]
    files["mapping"] = _FileSpec(f"emnist-{split}-mapping.txt", sha, size)
    return files


# --------------------------------------------------------------------------- paths


def _resolve_data_home(data_home: str | os.PathLike[str] | None) -> Path:
    """Return the data folder: the argument, else the env variable, else the default."""
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(get_data_home()) / "freenets"


def _cache_dir() -> Path | None:
    """Return the writable cache folder, or ``None`` when it cannot be created."""
    path = Path(get_data_home()) / "freenets" / "_cache"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file through a temporary name in the same folder, then rename it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ verification


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_size(path: Path, spec: _FileSpec, *, source: str) -> None:
    """Raise ``OSError`` when ``path`` does not have the byte size of ``spec``."""
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        raise OSError(
            f"{source} {path} has {size} bytes, expected {spec.size} bytes for "
            f"{spec.name}: the file is truncated or not the original one. Delete it "
            "and fetch it again."
        )


def _check_file(path: Path, spec: _FileSpec, *, source: str) -> str:
    """Check size and sha256 of ``path`` against ``spec``; return the sha256.

    Raises ``OSError`` on a mismatch. ``source`` words the message.
    """
    _check_size(path, spec, source=source)
    sha = _sha256(path)
    if spec.sha256 is not None and sha != spec.sha256:
        raise OSError(
            f"{source} {path} has sha256 {sha}, expected {spec.sha256} for "
            f"{spec.name}: the file is corrupt or not the original one. Delete it "
            "and fetch it again."
        )
    return sha


def _verified_sha256(path: Path, spec: _FileSpec, cache: Path | None) -> str:
    """Return the verified sha256 of ``path``, hashing it only when it changed.

    A verified file gets a small stamp (its size and modification time) in the cache,
    so later loads skip the hashing as long as the file is left untouched.
    """
    stat = path.stat()
    stamp: Path | None = None
    if cache is not None:
        key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:40]
        stamp = cache / "verified" / f"{key}.json"
        try:
            record = json.loads(stamp.read_text())
            if (
                record["size"] == stat.st_size
                and record["mtime_ns"] == stat.st_mtime_ns
                and (spec.sha256 is None or record["sha256"] == spec.sha256)
            ):
                return str(record["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    sha = _check_file(path, spec, source="Local file")
    if stamp is not None:
        record = {
            "path": str(path.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": sha,
        }
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(stamp, lambda fh: fh.write(json.dumps(record).encode()))
        except OSError:
            pass
    return sha


# ------------------------------------------------------------------------ decoding


def _parse_idx(raw: bytes, *, ndim: int, name: str) -> NDArray[np.uint8]:
    """Decode one IDX buffer of unsigned bytes with ``ndim`` dimensions."""
    magic = _IMAGE_MAGIC if ndim == 3 else _LABEL_MAGIC
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{name} is not a valid IDX file: {len(raw)} bytes, shorter than the "
            f"{header}-byte header."
        )
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise ValueError(
            f"{name} is not a valid IDX {'image' if ndim == 3 else 'label'} file: "
            f"magic number {found} (0x{found:08x}), expected {magic} (0x{magic:08x})."
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if ndim == 3 and dims[1:] != (_SIDE, _SIDE):
        raise ValueError(
            f"{name} holds images of {dims[1]}x{dims[2]} pixels, expected "
            f"{_SIDE}x{_SIDE}."
        )
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        raise ValueError(
            f"{name} is corrupt: its header announces shape {dims} "
            f"({expected} bytes in all) but it has {len(raw)} bytes."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_idx_gz(path: Path, *, ndim: int) -> NDArray[np.uint8]:
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path} is not a readable gzip file: {exc}") from exc
    return _parse_idx(raw, ndim=ndim, name=str(path))


def _load_idx(
    path: Path, spec: _FileSpec, *, ndim: int, cache: Path | None
) -> NDArray[np.uint8]:
    """Verify ``path`` (once), then return its array from the ``.npy`` cache."""
    sha = _verified_sha256(path, spec, cache)
    if cache is None:
        return _read_idx_gz(path, ndim=ndim)
    npy = cache / f"{sha}.v{_CACHE_FORMAT}.npy"
    if npy.exists():
        try:
            cached: NDArray[np.uint8] = np.load(npy, allow_pickle=False)
            if cached.dtype == np.uint8 and cached.ndim == ndim:
                return cached
        except (OSError, ValueError):
            pass  # a damaged cache entry: decode again and overwrite it
    arr = _read_idx_gz(path, ndim=ndim)
    try:
        _atomic_write(npy, lambda fh: np.save(fh, arr, allow_pickle=False))
    except OSError:
        pass
    return arr


# ------------------------------------------------------------------------ download


def _download(url: str, dest: Path, spec: _FileSpec | None = None) -> None:
    """Download ``url`` to ``dest`` with scikit-learn's :func:`fetch_file`.

    ``fetch_file`` writes to a temporary file, checks the sha256 (when known) and
    only then moves it to ``dest``; the byte size is checked here (without hashing
    the file again), and a file that fails it is deleted.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    path = fetch_file(
        url,
        folder=dest.parent,
        local_filename=dest.name,
        sha256=None if spec is None else spec.sha256,
        n_retries=_DOWNLOAD_RETRIES,
    )
    if spec is None:
        return
    try:
        _check_size(Path(path), spec, source=f"Downloaded file (from {url})")
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


def _download_from_mirrors(
    mirrors: tuple[str, ...], folder: Path, specs: list[_FileSpec]
) -> None:
    for spec in specs:
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + spec.name
            try:
                _download(url, folder / spec.name, spec)
                break
            except OSError as exc:  # URLError and checksum failures are OSErrors
                errors.append(f"  {url}: {exc}")
        else:
            raise OSError(
                f"Could not download {spec.name} into {folder}; every mirror "
                "failed:\n" + "\n".join(errors)
            )


def _download_emnist(folder: Path, specs: list[_FileSpec]) -> None:
    """Fetch NIST's ``gzip.zip`` (kept in ``folder``) and extract ``specs`` from it."""
    archive = folder / _EMNIST_ZIP_NAME
    if not archive.exists():
        try:
            _download(_EMNIST_ZIP_URL, archive)
        except OSError as exc:
            raise OSError(
                f"Could not download the EMNIST archive {_EMNIST_ZIP_URL}: {exc}"
            ) from exc
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {Path(m).name: m for m in zf.namelist()}
            for spec in specs:
                if spec.name not in members:
                    raise OSError(
                        f"The EMNIST archive {archive} has no member {spec.name}."
                    )
                dest = folder / spec.name
                part = dest.with_name(dest.name + ".part")
                try:
                    with zf.open(members[spec.name]) as src, open(part, "wb") as fh:
                        shutil.copyfileobj(src, fh, 1 << 20)
                    _check_file(part, spec, source=f"File extracted from {archive}:")
                except BaseException:
                    part.unlink(missing_ok=True)
                    raise
                os.replace(part, dest)
    except (OSError, zipfile.BadZipFile) as exc:
        archive.unlink(missing_ok=True)
        raise OSError(
            f"{exc} The archive {archive} was deleted; a new call with "
            "download_if_missing=True downloads it again."
        ) from exc


# --------------------------------------------------------------- file resolution


def _missing_error(
    dataset: str,
    folder: Path,
    missing: list[_FileSpec],
    where: str,
    also: list[_FileSpec],
    also_why: str,
    note: str,
) -> FileNotFoundError:
    names = "\n".join(f"  {spec.name}" for spec in missing)
    message = f"{dataset}: {len(missing)} file(s) missing from {folder}:\n{names}\n"
    at_once = ""
    if also:
        names = "\n".join(f"  {spec.name}" for spec in also)
        message += f"Also missing, and needed {also_why}:\n{names}\n"
        at_once = "; with subset='all' it fetches the training and test files at once"
    if note:
        message += note + "\n"
    return FileNotFoundError(
        f"{message}Put the original files (unchanged, still gzip-compressed) in "
        f"{folder}, or point to the folder that holds the 'mnist/', "
        "'fashion-mnist/' and 'emnist/' folders with the data_home argument or the "
        f"{DATA_ENV_VAR} environment variable. They can be downloaded from {where}, "
        "or pass download_if_missing=True to download them (needs network access"
        f"{at_once})."
    )


def _ensure_files(
    dataset: str,
    folder: Path,
    specs: list[_FileSpec],
    *,
    download_if_missing: bool,
    where: str,
    fetch: Callable[[Path, list[_FileSpec]], None],
    also: Sequence[_FileSpec] = (),
    also_why: str = "",
    note: str = "",
) -> None:
    """Check that ``specs`` are in ``folder``, downloading the missing ones if asked.

    ``also`` are the files a complete experiment needs besides ``specs`` (the other
    subset); when some of ``specs`` are missing, the error lists those of ``also``
    that are missing too, ``also_why`` saying what for, so one fetch gets them all.
    ``note`` ends the list of files.
    """
    missing = [spec for spec in specs if not (folder / spec.name).is_file()]
    if not missing:
        return
    if not download_if_missing:
        other = [s for s in also if s not in specs and not (folder / s.name).is_file()]
        raise _missing_error(dataset, folder, missing, where, other, also_why, note)
    fetch(folder, missing)


def _idx_pair(
    folder: Path,
    files: dict[str, _FileSpec],
    part: str,
    cache: Path | None,
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    images = _load_idx(
        folder / files[f"{part}_images"].name,
        files[f"{part}_images"],
        ndim=3,
        cache=cache,
    )
    labels = _load_idx(
        folder / files[f"{part}_labels"].name,
        files[f"{part}_labels"],
        ndim=1,
        cache=cache,
    )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{files[f'{part}_images'].name} holds {images.shape[0]} images but "
            f"{files[f'{part}_labels'].name} holds {labels.shape[0]} labels."
        )
    return images, labels


def _parts(subset: str) -> tuple[str, ...]:
    return {"train": ("train",), "test": ("test",), "all": ("train", "test")}[subset]


def _also_why(subset: str) -> str:
    """Say why the other subset's files are needed too (see ``_ensure_files``)."""
    other = "test" if subset == "train" else "train"
    return f"with them to train and test (subset={other!r})"


# --------------------------------------------------------------------- assembly


def _feature_names() -> list[str]:
    return [f"pixel_{r}_{c}" for r in range(_SIDE) for c in range(_SIDE)]


def _assemble(
    images: list[NDArray[np.uint8]],
    labels: list[NDArray[np.uint8]],
    *,
    transpose: bool,
    scale: bool,
) -> tuple[NDArray[np.float32] | NDArray[np.uint8], NDArray[np.int64]]:
    """Stack the parts into a C-ordered ``(n, 28, 28)`` array and an int64 target."""
    n = sum(len(x) for x in images)
    out = np.empty((n, _SIDE, _SIDE), dtype=np.float32 if scale else np.uint8)
    start = 0
    for part in images:
        src = part.transpose(0, 2, 1) if transpose else part
        out[start : start + len(part)] = src
        start += len(part)
    if scale:
        out *= np.float32(1.0 / 255.0)
    target = np.concatenate(labels).astype(np.int64)
    return out, target


def _finish(
    images: NDArray[np.float32] | NDArray[np.uint8],
    target: NDArray[np.int64],
    *,
    target_names: NDArray[np.str_],
    descr: str,
    return_X_y: bool,
    **extra: object,
) -> Bunch | tuple[NDArray[np.float32] | NDArray[np.uint8], NDArray[np.int64]]:
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=images,
        target_names=target_names,
        feature_names=_feature_names(),
        DESCR=descr,
        **extra,
    )


_MNIST_DESCR = """\
MNIST handwritten digits
------------------------

70,000 grayscale images of 28x28 pixels of the handwritten digits 0-9: 60,000 for
training and 10,000 for testing (the official split), white digit (255) on a black
background (0). Train class counts: 5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
5851, 5949.

Source: Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten
digits", http://yann.lecun.com/exdb/mnist/ . Derived from NIST Special Databases 1 and
3; commonly used under CC BY-SA 3.0.
"""

_FASHION_MNIST_DESCR = """\
Fashion-MNIST
-------------

70,000 grayscale images of 28x28 pixels of Zalando articles in 10 classes (T-shirt/top,
Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot): 60,000 for
training and 10,000 for testing, 6,000 and 1,000 per class.

Source: H. Xiao, K. Rasul and R. Vollgraf (2017), "Fashion-MNIST: a novel image data set
for benchmarking machine learning algorithms", arXiv:1708.07747.
https://github.com/zalandoresearch/fashion-mnist . MIT License, (c) 2017 Zalando SE.
"""

_EMNIST_DESCR = """\
EMNIST ({split})
{underline}

Handwritten characters from NIST Special Database 19, converted to 28x28 grayscale
images the way MNIST was made. Split '{split}': {n_classes} classes.

{provenance}

Source: G. Cohen, S. Afshar, J. Tapson and A. van Schaik (2017), "EMNIST: an extension
of MNIST to handwritten letters", arXiv:1702.05373.
https://www.nist.gov/itl/products-and-services/emnist-dataset . No license stated;
cite the paper.
"""


# ------------------------------------------------------------ MNIST-like loaders


def _load_mnist_like(
    *,
    dataset: str,
    dirname: str,
    files: dict[str, _FileSpec],
    mirrors: tuple[str, ...],
    target_names: NDArray[np.str_],
    descr: str,
    subset: str,
    data_home: str | os.PathLike[str] | None,
    download_if_missing: bool,
    return_X_y: bool,
    scale: bool,
) -> Bunch | tuple[NDArray[np.float32] | NDArray[np.uint8], NDArray[np.int64]]:
    folder = _resolve_data_home(data_home) / dirname
    parts = _parts(subset)
    specs = [files[f"{p}_{k}"] for p in parts for k in ("images", "labels")]
    _ensure_files(
        dataset,
        folder,
        specs,
        download_if_missing=download_if_missing,
        where=" or ".join(mirrors),
        fetch=lambda dest, missing: _download_from_mirrors(mirrors, dest, missing),
        also=list(files.values()),
        also_why=_also_why(subset),
    )
    cache = _cache_dir()
    pairs = [_idx_pair(folder, files, p, cache) for p in parts]
    images, target = _assemble(
        [i for i, _ in pairs], [y for _, y in pairs], transpose=False, scale=scale
    )
    if target.size and target.max() >= len(target_names):
        raise ValueError(f"{dataset}: labels out of range in {folder}.")
    return _finish(
        images,
        target,
        target_names=target_names,
        descr=descr,
        return_X_y=return_X_y,
    )


_COMMON_CONSTRAINTS: dict[str, list[object]] = {
    "subset": [StrOptions({"train", "test", "all"})],
    "data_home": [str, os.PathLike, None],
    "download_if_missing": ["boolean"],
    "return_X_y": ["boolean"],
    "scale": ["boolean"],
}


@validate_params(dict(_COMMON_CONSTRAINTS), prefer_skip_nested_validation=True)
def load_mnist(
    *,
    subset: Literal["train", "test", "all"] = "train",
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = False,
    return_X_y: bool = False,
    scale: bool = True,
) -> Bunch | tuple[NDArray[np.float32] | NDArray[np.uint8], NDArray[np.int64]]:
    """Load the MNIST handwritten digits (classification, 10 classes).

    ==================  =================
    Classes                            10
    Samples total                   70000
    Samples train/test        60000/10000
    Dimensionality                    784
    Features            float32 in [0, 1]
    ==================  =================

    The original gzip-compressed IDX files are read from ``data_home / "mnist"``.
    Each file's sha256 is checked the first time it is read; the decoded arrays are
    then cached as ``.npy`` files (see Notes), so later calls take well under a
    second.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which part to load: the 60,000 training images, the 10,000 test images, or
        all 70,000 (training images first).

    data_home : str or path-like, default=None
        Folder that holds ``mnist/`` (with ``train-images-idx3-ubyte.gz``,
        ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
        ``t10k-labels-idx1-ubyte.gz``). When None, the environment variable
        ``SKLEARN_FREENETS_DATA`` is used, else
        ``sklearn.datasets.get_data_home() / "freenets"``.

    download_if_missing : bool, default=False
        If False (offline first), a missing file raises a ``FileNotFoundError`` that
        names every missing file of the call and those of the other subset (a
        train/test experiment needs both), the folder and where to download them.
        If True, missing files are downloaded into ``data_home / "mnist"`` from
        https://ossci-datasets.s3.amazonaws.com/mnist/ (then the original site) and
        checked against their sha256; a file that fails the check is deleted and an
        ``OSError`` raised.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    scale : bool, default=True
        If True, the pixels are float32 in [0, 1] (the stored bytes divided by 255),
        ready for a neural network. If False, they are the raw uint8 values 0-255.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784)
            One flattened 28x28 image per row, row-major (float32 in [0, 1], or
            uint8 with ``scale=False``).
        target : ndarray of shape (n_samples,), dtype=int64
            The digit, 0-9.
        images : ndarray of shape (n_samples, 28, 28)
            The same pixels as ``data`` (a view of it), one image per entry.
        target_names : ndarray of shape (10,), dtype=str
            ``"0"`` to ``"9"``; ``target_names[target]`` names each sample.
        feature_names : list of str
            ``"pixel_{row}_{col}"`` for each of the 784 columns.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The two arrays described above.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download_if_missing`` is False.
    OSError
        If a file does not match its published size or sha256, or a download fails.
    ValueError
        If a file passes no checksum test but its IDX header is corrupt.

    See Also
    --------
    load_fashion_mnist : Load Fashion-MNIST, a drop-in replacement for MNIST.
    load_emnist : Load EMNIST letters and digits.
    sklearn.datasets.load_digits : The small 8x8 digits data shipped with sklearn.

    Notes
    -----
    The decoded arrays are cached in ``sklearn.datasets.get_data_home() /
    "freenets" / "_cache"`` (set the ``SCIKIT_LEARN_DATA`` environment variable to
    move it), named by the sha256 of the file they were decoded from, so the cache
    never goes stale and ``data_home`` may be read-only. A small stamp (path, size,
    modification time) records that a file was verified, so it is hashed again only
    when it changes. If the cache folder cannot be written, every call decodes the
    files again.

    References
    ----------
    .. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
       applied to document recognition", Proc. IEEE 86(11), 1998.

    Examples
    --------
    >>> from sklearn_freenets.datasets import load_mnist
    >>> X, y = load_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((60000, 784), dtype('float32'), array([5, 0, 4, 1, 9]))
    """
    return _load_mnist_like(
        dataset="MNIST",
        dirname="mnist",
        files=_MNIST_FILES,
        mirrors=_MNIST_MIRRORS,
        target_names=np.array([str(d) for d in range(10)]),
        descr=_MNIST_DESCR,
        subset=subset,
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        scale=scale,
    )


@validate_params(dict(_COMMON_CONSTRAINTS), prefer_skip_nested_validation=True)
def load_fashion_mnist(
    *,
    subset: Literal["train", "test", "all"] = "train",
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = False,
    return_X_y: bool = False,
    scale: bool = True,
) -> Bunch | tuple[NDArray[np.float32] | NDArray[np.uint8], NDArray[np.int64]]:
    """Load Fashion-MNIST, images of clothing (classification, 10 classes).

    ==================  =================
    Classes                            10
    Samples total                   70000
    Samples train/test        60000/10000
    Dimensionality                    784
    Features            float32 in [0, 1]
    ==================  =================

    Same format and API as :func:`load_mnist`; the files are read from
    ``data_home / "fashion-mnist"`` under their original names.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which part to load: the 60,000 training images, the 10,000 test images, or
        all 70,000 (training images first).

    data_home : str or path-like, default=None
        Folder that holds ``fashion-mnist/``. When None, the environment variable
        ``SKLEARN_FREENETS_DATA`` is used, else
        ``sklearn.datasets.get_data_home() / "freenets"``.

    download_if_missing : bool, default=False
        If False (offline first), a missing file raises a ``FileNotFoundError`` that
        names every missing file of the call and those of the other subset (a
        train/test experiment needs both), the folder and where to download them.
        If True, missing files are downloaded from
        http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ and checked
        against their sha256; a file that fails the check is deleted and an
        ``OSError`` raised.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    scale : bool, default=True
        If True, the pixels are float32 in [0, 1] (the stored bytes divided by 255).
        If False, they are the raw uint8 values 0-255.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784)
            One flattened 28x28 image per row.
        target : ndarray of shape (n_samples,), dtype=int64
            The class, 0-9.
        images : ndarray of shape (n_samples, 28, 28)
            The same pixels as ``data`` (a view of it).
        target_names : ndarray of shape (10,), dtype=str
            ``"T-shirt/top"``, ``"Trouser"``, ``"Pullover"``, ``"Dress"``,
            ``"Coat"``, ``"Sandal"``, ``"Shirt"``, ``"Sneaker"``, ``"Bag"``,
            ``"Ankle boot"``.
        feature_names : list of str
            ``"pixel_{row}_{col}"`` for each of the 784 columns.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The two arrays described above.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download_if_missing`` is False.
    OSError
        If a file does not match its published size or sha256, or a download fails.
    ValueError
        If a file's IDX header is corrupt.

    See Also
    --------
    load_mnist : Load MNIST; the notes there describe the cache.
    load_emnist : Load EMNIST letters and digits.

    References
    ----------
    .. [1] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a novel image dataset
       for benchmarking machine learning algorithms", arXiv:1708.07747, 2017.

    Examples
    --------
    >>> from sklearn_freenets.datasets import load_fashion_mnist
    >>> data = load_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> data.images.shape, data.target_names[data.target[0]]  # doctest: +SKIP
    ((10000, 28, 28), 'Ankle boot')
    """
    return _load_mnist_like(
        dataset="Fashion-MNIST",
        dirname="fashion-mnist",
        files=_FASHION_MNIST_FILES,
        mirrors=_FASHION_MNIST_MIRRORS,
        target_names=np.array(_FASHION_MNIST_CLASSES),
        descr=_FASHION_MNIST_DESCR,
        subset=subset,
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        scale=scale,
    )


# ------------------------------------------------------------------------ EMNIST


def _read_mapping(
    path: Path, spec: _FileSpec, cache: Path | None
) -> tuple[int, NDArray[np.str_]]:
    """Return the first label and the class names of an EMNIST mapping file.

    Each line is ``label code [code ...]`` with ASCII codes; Letters lists the upper
    and lower case of each letter, which become one name (``"Aa"``).
    """
    _verified_sha256(path, spec, cache)
    rows = [line.split() for line in path.read_text(encoding="ascii").splitlines()]
    rows = [r for r in rows if r]
    try:
        labels = [int(r[0]) for r in rows]
        names = ["".join(chr(int(c)) for c in r[1:]) for r in rows]
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path} is not a valid EMNIST mapping file.") from exc
    first = labels[0] if labels else 0
    if labels != list(range(first, first + len(labels))) or not all(names):
        raise ValueError(f"{path} is not a valid EMNIST mapping file.")
    return first, np.array(names)


@validate_params(
    {
        "split": [StrOptions(set(_EMNIST_SPLITS))],
        **_COMMON_CONSTRAINTS,
        "holdout_from_test": [StrOptions({"auto"}), "boolean"],
        "test_size": [Interval(RealNotInt, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def load_emnist(
    *,
    split: Literal[
        "balanced", "byclass", "bymerge", "digits", "letters", "mnist"
    ] = "byclass",
    subset: Literal["train", "test", "all"] = "train",
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = False,
    return_X_y: bool = False,
    scale: bool = True,
    holdout_from_test: bool | Literal["auto"] = False,
    test_size: float = 0.2,
    random_state: int | np.random.RandomState | None = 0,
) -> Bunch | tuple[NDArray[np.float32] | NDArray[np.uint8], NDArray[np.int64]]:
    """Load EMNIST handwritten characters (classification, 10 to 62 classes).

    ==========  =======  ===============  ====================================
    split       classes  official train   official test
    ==========  =======  ===============  ====================================
    byclass          62          697,932  116,323 (digits, A-Z, a-z)
    bymerge          47          697,932  116,323 (similar cases merged)
    balanced         47          112,800   18,800
    letters          26          124,800   20,800 (case merged)
    digits           10          240,000   40,000
    mnist            10           60,000   10,000 (not the MNIST images)
    ==========  =======  ===============  ====================================

    The original files (``emnist-{split}-{train,test}-{images,labels}-idx?-ubyte.gz``
    and ``emnist-{split}-mapping.txt``) are read from ``data_home / "emnist"``. The
    images are stored transposed in every EMNIST file; this loader returns them
    upright.

    **Truncated EMNIST.** The FreeNets paper trains on a truncated EMNIST, not on the
    full 697,932-image ByClass training set. Asked to (``holdout_from_test=True``),
    this loader divides a split's official *test* split into a training and a test
    part, stratified by class and seeded by ``random_state``, which needs only the
    test files. That division is **not** an official EMNIST split: say so when
    reporting results. By default the loader reads the official files only.

    Parameters
    ----------
    split : {"byclass", "bymerge", "balanced", "letters", "digits", "mnist"}, \
            default="byclass"
        Which EMNIST split to load.

    subset : {"train", "test", "all"}, default="train"
        Which part to load. With the official files: the official training or test
        set, or both (training first). With the hold-out division: its training
        part, its test part, or the whole official test split in file order.

    data_home : str or path-like, default=None
        Folder that holds ``emnist/``. When None, the environment variable
        ``SKLEARN_FREENETS_DATA`` is used, else
        ``sklearn.datasets.get_data_home() / "freenets"``.

    download_if_missing : bool, default=False
        If False (offline first), a missing file raises a ``FileNotFoundError`` that
        names every missing file of the call and those of the other subset (a
        train/test experiment needs both), the folder and where to download them.
        If True, the NIST archive
        https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip (about 0.5 GB, kept as
        ``emnist/gzip.zip`` for later splits) is downloaded and the missing files
        extracted from it and checked; a file that fails the check is deleted
        together with the archive, and an ``OSError`` raised.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    scale : bool, default=True
        If True, the pixels are float32 in [0, 1] (the stored bytes divided by 255).
        If False, they are the raw uint8 values 0-255.

    holdout_from_test : bool, default=False
        Where the training and test sets come from.

        - False: the official files only; missing training files are an error
          (or downloaded, with ``download_if_missing=True``) whose message says
          when the test files alone would do for ``True``.
        - True: divide the official test split into a training part and a test
          part of relative size ``test_size``, stratified by class.
        - "auto" (deprecated; the earlier default): the official split
          when its training files are present or may be downloaded, otherwise
          the division of ``True``. It gives a ``FutureWarning``; pass True or
          False instead.

    test_size : float, default=0.2
        Fraction of the official test split that forms the test part of the
        hold-out division. Ignored with the official split.

    random_state : int, RandomState instance or None, default=0
        Seed of the stratified hold-out division. Keep an int for the same division
        in every call; None gives a different division each time. Ignored with the
        official split.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784)
            One flattened upright 28x28 image per row.
        target : ndarray of shape (n_samples,), dtype=int64
            The class, 0 to ``n_classes - 1``. The Letters files number their
            classes 1-26; they are shifted to 0-25 so that ``target_names[target]``
            works for every split.
        images : ndarray of shape (n_samples, 28, 28)
            The same pixels as ``data`` (a view of it), upright.
        target_names : ndarray of shape (n_classes,), dtype=str
            The character of each class, from the mapping file (``"0"``-``"9"``,
            ``"A"``-``"Z"``, ``"a"``-``"z"``; merged cases as ``"Aa"``).
        feature_names : list of str
            ``"pixel_{row}_{col}"`` for each of the 784 columns.
        official_split : bool
            False when the data come from the hold-out division of the test split.
        DESCR : str
            Description of the data set, and of the division used.

    (data, target) : tuple if ``return_X_y`` is True
        The two arrays described above.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download_if_missing`` is False.
    OSError
        If a file does not match its published size or sha256, or a download fails.
    ValueError
        If a file's IDX header or the mapping file is corrupt.

    See Also
    --------
    load_mnist : Load MNIST; the notes there describe the cache.
    load_fashion_mnist : Load Fashion-MNIST.

    Notes
    -----
    Checksums: the sha256 and byte size of every file of the official distribution
    are known (from Git LFS records of that distribution) except for ByMerge, whose
    files are checked by byte size only, and for the Balanced, Letters and ByMerge
    mapping files, which are not checked. The archive ``gzip.zip`` itself is not
    checked; each file taken from it is.

    References
    ----------
    .. [1] G. Cohen, S. Afshar, J. Tapson and A. van Schaik, "EMNIST: an extension
       of MNIST to handwritten letters", arXiv:1702.05373, 2017.

    Examples
    --------
    >>> from sklearn_freenets.datasets import load_emnist
    >>> X, y = load_emnist(split="byclass", holdout_from_test=True,
    ...                    return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (93058, 784)
    """
    folder = _resolve_data_home(data_home) / "emnist"
    files = _emnist_files(split)
    where = (
        f"{_EMNIST_ZIP_URL} (the archive holds them under gzip/; "
        "https://www.nist.gov/itl/products-and-services/emnist-dataset)"
    )
    train_specs = [files["train_images"], files["train_labels"]]
    test_specs = [files["test_images"], files["test_labels"], files["mapping"]]

    def present(specs: list[_FileSpec]) -> bool:
        return all((folder / s.name).is_file() for s in specs)

    if holdout_from_test == "auto":
        warnings.warn(
            "holdout_from_test='auto' is deprecated: the default is False (the "
            "official files only). Pass holdout_from_test=True to divide the "
            "official test split into a training and a test part.",
            FutureWarning,
            stacklevel=3,  # past the validate_params wrapper, to the caller
        )
        official = (
            present(train_specs) or download_if_missing or not present(test_specs)
        )
        if not official:
            warnings.warn(
                f"The official EMNIST '{split}' training files are not in {folder}; "
                f"using a stratified division (test_size={test_size}, "
                f"random_state={random_state!r}) of the official test split "
                "instead. This is NOT the official EMNIST split. Pass "
                "holdout_from_test=True to silence this warning.",
                UserWarning,
                stacklevel=3,  # past the validate_params wrapper, to the caller
            )
    else:
        official = not holdout_from_test

    if official:
        needed = [
            files[f"{p}_{k}"] for p in _parts(subset) for k in ("images", "labels")
        ]
        needed.append(files["mapping"])
        also = train_specs + test_specs
    else:
        needed = also = test_specs
    note = ""
    if official and present(test_specs) and not present(train_specs):
        note = (
            "With only the test files and the mapping file, holdout_from_test=True "
            "divides the official test split into a training and a test part "
            "instead (not an official split)."
        )
    _ensure_files(
        f"EMNIST ({split})",
        folder,
        needed,
        download_if_missing=download_if_missing,
        where=where,
        fetch=_download_emnist,
        also=also,
        also_why=_also_why(subset),
        note=note,
    )

    cache = _cache_dir()
    first, target_names = _read_mapping(
        folder / files["mapping"].name, files["mapping"], cache
    )
    if official:
        pairs = [_idx_pair(folder, files, p, cache) for p in _parts(subset)]
        images_parts = [i for i, _ in pairs]
        label_parts = [y for _, y in pairs]
        what = "training and test sets" if subset == "all" else f"{subset} set"
        provenance = f"Official EMNIST '{split}' {what}."
    else:
        images, labels = _idx_pair(folder, files, "test", cache)
        if subset == "all":
            images_parts, label_parts = [images], [labels]
        else:
            train_idx, test_idx = train_test_split(
                np.arange(len(labels)),
                test_size=test_size,
                random_state=random_state,
                stratify=labels,
            )
            idx = np.sort(train_idx if subset == "train" else test_idx)
            images_parts, label_parts = [images[idx]], [labels[idx]]
        provenance = (
            f"NOT an official split: the {subset} part of a stratified division of "
            f"the official EMNIST '{split}' test split ({len(labels)} images), "
            f"test_size={test_size}, random_state={random_state!r} "
            "(a 'truncated EMNIST')."
        )
    X, target = _assemble(images_parts, label_parts, transpose=True, scale=scale)
    target -= first
    if target.size and (target.min() < 0 or target.max() >= len(target_names)):
        raise ValueError(
            f"EMNIST ({split}): labels out of range of the mapping file in {folder}."
        )
    descr = _EMNIST_DESCR.format(
        split=split,
        underline="-" * (len(split) + 9),
        n_classes=len(target_names),
        provenance=textwrap.fill(provenance, width=88),
    )
    return _finish(
        X,
        target,
        target_names=target_names,
        descr=descr,
        return_X_y=return_X_y,
        official_split=official,
    )
