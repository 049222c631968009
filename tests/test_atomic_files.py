"""Files written all or nothing (rfmkit.atomic_files)."""

from __future__ import annotations

import pytest

from rfmkit.atomic_files import InBackground, write_files


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
