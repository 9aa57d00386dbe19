# SPDX-License-Identifier: BSD-3-Clause
"""Where and how a fit runs: torch devices, thread pools and random generators.

Every helper here restores what it changes, or changes nothing global at all:
thread settings are put back on exit, and randomness comes from generators the
fit owns (:func:`generator`), never from torch's global random state.
"""

from __future__ import annotations

import contextlib
import functools

import torch
from sklearn.utils._param_validation import Options
from threadpoolctl import ThreadpoolController

__all__ = [
    "TorchDevice",
    "blas_threads",
    "fused_adam_supported",
    "generator",
    "resolve_device",
    "torch_threads",
]


class TorchDevice(Options):
    """A torch device string (``"cpu"``, ``"cuda:1"``, ...) or ``"auto"``.

    Unavailable devices (CUDA without a GPU, a CUDA index past the last GPU)
    fail too, so a bad ``device`` fails at parameter validation, before any work.
    (An ``Options`` subclass: scikit-learn accepts only its own constraint types.)
    """

    def __init__(self) -> None:
        super().__init__(str, {"auto"})

    def is_satisfied_by(self, val):
        if isinstance(val, torch.device):
            val = str(val)
        if not isinstance(val, str):
            return False
        if val == "auto":
            return True
        try:
            device = torch.device(val)
        except (RuntimeError, TypeError, ValueError):
            return False
        if device.type == "cuda":
            return torch.cuda.is_available() and (
                device.index is None or device.index < torch.cuda.device_count()
            )
        if device.type == "mps":
            return torch.backends.mps.is_available()
        return device.type == "cpu"

    def __str__(self):
        return "a torch device available here ('cpu', 'cuda', 'cuda:0', ...) or 'auto'"


def resolve_device(device) -> str:
    """The torch device a ``device`` parameter means (``"auto"``: CUDA if any)."""
    if str(device) == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def fused_adam_supported(device: str) -> bool:
    """Whether torch has a fused Adam for this device (CPU since torch 2.4)."""
    kind = torch.device(device).type
    if kind not in ("cpu", "cuda"):
        return False
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return (major, minor) >= ((2, 4) if kind == "cpu" else (2, 0))


def generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed``.

    It draws the same numbers as torch's global generator of that device after
    ``torch.manual_seed(seed)``, without reading or advancing the global one: a
    fit seeded this way is reproducible while other fits run in other threads,
    and the caller's torch random state is never touched.
    """
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(int(seed))
    return gen


@contextlib.contextmanager
def torch_threads(n: int):
    """Run with ``n`` torch intra-op threads, then restore the caller's setting."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@functools.cache
def _threadpool_controller() -> ThreadpoolController:
    return ThreadpoolController()


def blas_threads(n: int):
    """Run with at most ``n`` BLAS threads (NumPy's matrix products).

    FreeEvolve's rounds multiply activity matrices in NumPy; with its default
    thread count, BLAS spins on those small products while other work holds the
    cores. The controller is built once (as scikit-learn does): finding the
    loaded libraries takes about a millisecond, a tenth of a small
    ``partial_fit`` call.
    """
    return _threadpool_controller().limit(limits=n, user_api="blas")
