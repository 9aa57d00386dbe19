# SPDX-License-Identifier: BSD-3-Clause
"""Tests of benchmarks/harness.py: cells stored as JSON Lines."""

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
