# SPDX-License-Identifier: BSD-3-Clause
"""Tests of benchmarks/harness.py: JSON Lines cells, busy load, marked blocks."""

import json

import harness
import pytest


def _key(cell):
    return cell["data"], cell["seed"]


def test_later_line_replaces_earlier_cell(tmp_path):
    """Check that a cell appended again replaces the first, keeping its place."""
    path = tmp_path / "out" / "cells.jsonl"
    assert harness.read_cells(path, _key) == {}
    harness.append_cell(path, {"data": "a", "seed": 0, "score": 1.0})
    harness.append_cell(path, {"data": "b", "seed": 0, "score": 2.0})
    harness.append_cell(path, {"data": "a", "seed": 0, "score": 3.0})
    cells = harness.read_cells(path, _key)
    assert list(cells) == [("a", 0), ("b", 0)]
    assert cells[("a", 0)]["score"] == 3.0
    assert len(path.read_text().splitlines()) == 3


def test_is_done_reads_the_file_now(tmp_path):
    """Check that a key stored by another writer since the last read is seen."""
    path = tmp_path / "cells.jsonl"
    assert not harness.is_done(path, ("a", 1), _key)
    harness.append_cell(path, {"data": "a", "seed": 1})
    assert harness.is_done(path, ("a", 1), _key)
    assert not harness.is_done(path, ("a", 2), _key)


def test_unfinished_last_line_is_ignored_then_cut(tmp_path):
    """Check that an interrupted append neither breaks reading nor the next one."""
    path = tmp_path / "cells.jsonl"
    harness.append_cell(path, {"data": "a", "seed": 0})
    with path.open("a") as f:
        f.write('{"data": "b", "se')
    assert list(harness.read_cells(path, _key)) == [("a", 0)]
    harness.append_cell(path, {"data": "c", "seed": 0})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["data"] for line in lines] == ["a", "c"]


def test_a_whole_last_line_without_newline_is_kept(tmp_path):
    """Check that a last cell missing only its newline is read and kept."""
    path = tmp_path / "cells.jsonl"
    path.write_text('{"data": "a", "seed": 0}')
    assert list(harness.read_cells(path, _key)) == [("a", 0)]
    harness.append_cell(path, {"data": "b", "seed": 0})
    assert list(harness.read_cells(path, _key)) == [("a", 0), ("b", 0)]


def test_a_broken_line_inside_the_file_is_an_error(tmp_path):
    """Check that a corrupt line other than the last one is reported, not skipped."""
    path = tmp_path / "cells.jsonl"
    path.write_text('{"data": "a", "seed": 0}\nnot json\n{"data": "b", "seed": 0}\n')
    with pytest.raises(ValueError, match="line 2"):
        harness.read_cells(path, _key)


def test_write_cells_round_trips(tmp_path):
    """Check that written cells read back as the same dicts, in order."""
    path = tmp_path / "cells.jsonl"
    cells = [{"data": "x", "seed": s, "curve": [0.5], "none": None} for s in (2, 1)]
    harness.write_cells(path, cells)
    assert list(harness.read_cells(path, _key).values()) == cells
    assert not list(tmp_path.glob("*.tmp"))


def test_busy_load_runs_the_processes_only_inside_the_block():
    """Check that busy_load starts n spinning processes and stops them after."""
    with harness.busy_load(2) as procs:
        assert len(procs) == 2
        assert all(p.poll() is None for p in procs)
    assert all(p.returncode is not None for p in procs)


def test_busy_load_stops_the_processes_on_an_error():
    """Check that an error inside the block still stops the processes."""
    with pytest.raises(KeyError), harness.busy_load(1) as procs:
        raise KeyError("inside")
    assert procs[0].returncode is not None


BEGIN, END = "<!-- table -->", "<!-- /table -->"


def test_replace_between_markers_rewrites_only_the_block(tmp_path):
    """Check that only the text between the markers changes, markers kept."""
    path = tmp_path / "README.md"
    path.write_text(f"# Title\n\n{BEGIN}\nold\nrows\n{END}\n\nAfter {END}\n")
    harness.replace_between_markers(path, BEGIN, END, "| new |")
    assert path.read_text() == f"# Title\n\n{BEGIN}\n| new |\n{END}\n\nAfter {END}\n"
    harness.replace_between_markers(path, BEGIN, END, "| new |")  # idempotent
    assert path.read_text() == f"# Title\n\n{BEGIN}\n| new |\n{END}\n\nAfter {END}\n"


@pytest.mark.parametrize(
    "text, missing",
    [("no markers\n", BEGIN), (f"{BEGIN}\nx\n", END), (f"{END}\n{BEGIN}\n", END)],
)
def test_replace_between_markers_raises_on_a_missing_marker(tmp_path, text, missing):
    """Check that a missing marker (or an end before the begin) is a clear error."""
    path = tmp_path / "README.md"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"marker '{missing}' not found"):
        harness.replace_between_markers(path, BEGIN, END, "new")
    assert path.read_text() == text
