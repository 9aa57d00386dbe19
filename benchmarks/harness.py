# SPDX-License-Identifier: BSD-3-Clause
"""What the benchmark scripts share: cell storage, busy-load timing, README blocks.

A *cell* is one finished unit of a benchmark (a fit, a fold, a seed), a JSON
object. A benchmark keeps all its cells in one ``cells.jsonl`` file, one object
per line; a key function names the fields that identify a cell (for example
data set, method, k and seed). Storing a cell appends one line, and a later
line with the same key replaces an earlier one, so a cell is rerun by appending
it again, and a run that stops is resumed by skipping the keys already there.
The reports are built from these files only.

- :func:`read_cells`: every cell of a file, by key (later lines win);
- :func:`append_cell`: store one cell (safe with several processes appending);
- :func:`is_done`: whether a key is in the file now (another worker may have
  stored it since the file was last read);
- :func:`write_cells`: rewrite a file with the given cells (conversions,
  compaction);
- :func:`busy_load`: keep other processes spinning on the cores while timed
  code runs (the ``busy`` timing mode);
- :func:`replace_between_markers`: rewrite the generated block of a file such as
  README.md, between two marker comments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

try:  # POSIX: appends from several processes are serialised by a lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "SPINNER_CODE",
    "append_cell",
    "busy_load",
    "is_done",
    "read_cells",
    "replace_between_markers",
    "write_cells",
]

Cell = dict[str, Any]
Key = Callable[[Cell], Hashable]


def _lines(path: Path) -> Iterator[Cell]:
    """The cells of ``path`` in file order.

    An unfinished last line (a run stopped in the middle of an append) is
    ignored; :func:`append_cell` removes it before writing.
    """
    if not path.exists():
        return
    text = path.read_text()
    lines = text.split("\n")
    if lines and lines[-1] and not text.endswith("\n"):
        try:
            json.loads(lines[-1])
        except ValueError:
            lines = lines[:-1]
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}, line {number}: {exc}") from None


def read_cells(path: Path, key: Key) -> dict[Hashable, Cell]:
    """Every cell of the JSON Lines file ``path``, by ``key(cell)``.

    A later line with the same key replaces an earlier one (its position in
    the returned dict stays that of the first line). A missing file has no
    cells.
    """
    cells: dict[Hashable, Cell] = {}
    for cell in _lines(path):
        cells[key(cell)] = cell
    return cells


def is_done(path: Path, cell_key: Hashable, key: Key) -> bool:
    """Whether a cell with ``key(cell) == cell_key`` is stored in ``path`` now."""
    return any(key(cell) == cell_key for cell in _lines(path))


@contextmanager
def _locked(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for reading and appending (binary), under an exclusive lock
    where the platform has one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield f
        finally:
            if fcntl is not None:
                fcntl.flock(f, fcntl.LOCK_UN)


def append_cell(
    path: Path, cell: Cell, default: Callable[[Any], Any] | None = None
) -> None:
    """Append ``cell`` to ``path`` as one JSON line (``default``: as for json.dumps).

    The line is written in one call under a lock, so workers appending to one
    file do not interleave; an unfinished last line left by an interrupted
    append (one that is not a whole JSON object) is cut off first.
    """
    line = (json.dumps(cell, default=default) + "\n").encode()
    with _locked(path) as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":  # no newline after the last line
                f.seek(0)
                text = f.read()
                start = text.rfind(b"\n") + 1
                try:  # a whole cell (written by hand, say): keep it
                    json.loads(text[start:])
                    f.write(b"\n")
                except ValueError:  # an interrupted append: drop its line
                    f.truncate(start)
        f.write(line)
        f.flush()


def write_cells(
    path: Path, cells: Iterable[Cell], default: Callable[[Any], Any] | None = None
) -> None:
    """Write ``cells`` to ``path``, one JSON line each, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(c, default=default) + "\n" for c in cells))
    os.replace(tmp, path)


# ------------------------------------------------------------------ busy load
# A pure-Python busy loop that also ends when the benchmark dies (every ~20 ms it
# checks that its parent is still the same process).
SPINNER_CODE = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""


@contextmanager
def busy_load(n_processes: int) -> Iterator[list[subprocess.Popen]]:
    """Keep ``n_processes`` processes spinning while the ``with`` block runs.

    Each is a separate interpreter (``python -S -c`` of :data:`SPINNER_CODE`, so
    nothing is forked from a process holding torch or OpenMP threads) running a
    pure-Python loop; it ends by itself should the benchmark die. They are started
    before the block, given 0.5 s to start spinning, and terminated (killed after
    10 s) when it ends, also on an error.

    Parameters
    ----------
    n_processes : int
        Number of spinning processes; usually ``os.cpu_count()``, so that every
        core is taken by another process. 0 starts none.

    Yields
    ------
    procs : list of subprocess.Popen
        The running processes.

    Raises
    ------
    RuntimeError
        If a process has exited before the block starts.
    """
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n_processes):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-S", "-c", SPINNER_CODE],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(0.5)  # let them start spinning
        dead = [p.pid for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"busy-loop processes {dead} exited early")
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# ------------------------------------------------------------- marked blocks
def replace_between_markers(path: Path, begin: str, end: str, text: str) -> None:
    """Replace the text between the markers ``begin`` and ``end`` in ``path``.

    The markers stay and the rest of the file is left as it was; between them
    the file then holds a newline, ``text`` and a newline. ``end`` is looked for
    after ``begin``.

    Parameters
    ----------
    path : Path
        The file to rewrite, for example README.md.
    begin, end : str
        The markers (HTML comments in Markdown) around the generated block.
    text : str
        The new block, without its surrounding newlines.

    Raises
    ------
    ValueError
        If ``begin`` is not in the file, or ``end`` is not after it; the file is
        then left unchanged.
    """
    body = path.read_text()
    start = body.find(begin)
    if start < 0:
        raise ValueError(f"{path}: marker {begin!r} not found")
    start += len(begin)
    stop = body.find(end, start)
    if stop < 0:
        raise ValueError(f"{path}: marker {end!r} not found after {begin!r}")
    path.write_text(body[:start] + "\n" + text + "\n" + body[stop:])
