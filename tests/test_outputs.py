"""Outputs are written all or nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from rfmkit.errors import ParameterError
from rfmkit.export.outputs import InBackground, write_destination, write_duckdb, write_files


def test_write_files_is_all_or_nothing(tmp_path):
    (tmp_path / "keep.csv").write_text("old\n")

    def fail(path):
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_files(tmp_path, {"a.csv": lambda p: p.write_text("a\n"), "keep.csv":
                               lambda p: p.write_text("new\n"), "b.csv": fail})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"]
    assert (tmp_path / "keep.csv").read_text() == "old\n"


def test_write_files_replaces(tmp_path):
    write_files(tmp_path, {"a.csv": lambda p: p.write_text("1\n")})
    written = write_files(tmp_path, {"a.csv": lambda p: p.write_text("2\n")})
    assert written == [tmp_path / "a.csv"]
    assert (tmp_path / "a.csv").read_text() == "2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_background_writers_overlap_the_others_and_finish_first(tmp_path):
    import threading

    started, order = threading.Event(), []

    def slow(path):
        started.set()
        order.append("background start")
        path.write_text("big\n")
        order.append("background done")

    def fast(path):
        # runs while the background writer is (or has been) running, in the calling thread
        assert started.wait(10) and threading.current_thread() is threading.main_thread()
        path.write_text("small\n")

    written = write_files(tmp_path, {"big.parquet": InBackground(slow), "small.csv": fast})
    assert written == [tmp_path / "big.parquet", tmp_path / "small.csv"]
    assert (tmp_path / "big.parquet").read_text() == "big\n"
    assert order == ["background start", "background done"]


@pytest.mark.parametrize("failing", ["background", "foreground"])
def test_background_writers_are_all_or_nothing(tmp_path, failing):
    import threading

    (tmp_path / "keep.csv").write_text("old\n")
    release = threading.Event()

    def background(path):
        release.wait(10)  # still writing when the foreground writer fails
        if failing == "background":
            raise OSError("disk full")
        path.write_text("new\n")

    def foreground(path):
        path.write_text("new\n")
        release.set()
        if failing == "foreground":
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_files(tmp_path, {"keep.csv": InBackground(background), "b.csv": foreground})
    # nothing renamed, the staging folder removed only after the background writer ended
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"]
    assert (tmp_path / "keep.csv").read_text() == "old\n"


def test_write_duckdb_keeps_old_tables_on_failure(tmp_path):
    import duckdb

    db = tmp_path / "x.db"
    write_duckdb(db, {"t1": pd.DataFrame({"a": [1, 2]}), "t2": pd.DataFrame({"b": [1]})})

    # the second table fails after the first was already replaced inside the transaction
    with pytest.raises(Exception):  # noqa: B017 - whatever DuckDB raises for a non-table
        write_duckdb(db, {"t1": pd.DataFrame({"a": [9]}), "t2": "not a table"})
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT a FROM t1 ORDER BY a").fetchall() == [(1,), (2,)]
    assert con.execute("SELECT count(*) FROM t2").fetchone()[0] == 1


def test_unknown_destination():
    with pytest.raises(ParameterError, match="duckdb:PATH"):
        write_destination("s3://bucket", None)
