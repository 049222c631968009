"""Files written all or nothing (rfmkit.atomic_files)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rfmkit.atomic_files import (
    STAGING_PREFIX,
    InBackground,
    _backup,
    _Staging,
    _write_journal,
    recover,
    write_files,
)
from rfmkit.errors import RFMKitWarning


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


# --- the set as one unit ---------------------------------------------------------------------

def _write(text):
    return lambda p: p.write_text(text)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_names_of_the_set_this_run_does_not_write_are_removed_and_others_kept(tmp_path):
    (tmp_path / "clusters.csv").write_text("old\n")
    (tmp_path / "k_selection.csv").write_text("old\n")
    (tmp_path / "notes.txt").write_text("the user's\n")
    (tmp_path / "customers.parquet").write_text("old\n")
    write_files(tmp_path, {"customers.csv": _write("new\n")},
                replaces=["customers.parquet", "clusters.csv", "k_selection.csv", "absent.csv"])
    assert _names(tmp_path) == ["customers.csv", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "the user's\n"


def test_a_folder_at_a_name_of_the_set_is_never_removed(tmp_path):
    (tmp_path / "clusters.csv").mkdir()
    (tmp_path / "clusters.csv" / "inside").write_text("keep\n")
    write_files(tmp_path, {"a.csv": _write("new\n")}, replaces=["clusters.csv"])
    assert (tmp_path / "clusters.csv" / "inside").read_text() == "keep\n"
    with pytest.raises(IsADirectoryError, match="clusters.csv"):
        write_files(tmp_path, {"clusters.csv": _write("new\n")})


def test_a_rename_failing_midway_puts_back_the_files_already_renamed(tmp_path):
    for name in ("a.csv", "b.csv", "stale.csv"):
        (tmp_path / name).write_text(f"old {name}\n")

    def a_folder(path):  # renaming a folder over the file b.csv fails, after a.csv was renamed
        path.mkdir()

    with pytest.raises(OSError):
        write_files(tmp_path, {"a.csv": _write("new\n"), "b.csv": a_folder,
                               "c.csv": _write("new\n")}, replaces=["stale.csv"])
    assert _names(tmp_path) == ["a.csv", "b.csv", "stale.csv"]
    for name in ("a.csv", "b.csv", "stale.csv"):
        assert (tmp_path / name).read_text() == f"old {name}\n"


def test_symlinks_are_replaced_not_followed_and_put_back_on_failure(tmp_path):
    target = tmp_path / "elsewhere.csv"
    target.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").symlink_to(target)
    (out / "b.csv").write_text("old\n")
    with pytest.raises(OSError):
        write_files(out, {"a.csv": _write("new\n"), "b.csv": lambda p: p.mkdir()})
    assert (out / "a.csv").is_symlink() and os.readlink(out / "a.csv") == str(target)
    write_files(out, {"a.csv": _write("new\n")})
    assert not (out / "a.csv").is_symlink() and (out / "a.csv").read_text() == "new\n"
    assert target.read_text() == "precious\n"


def test_an_interrupt_while_writing_changes_nothing(tmp_path):
    (tmp_path / "a.csv").write_text("old\n")

    def interrupted(path):
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_files(tmp_path, {"a.csv": _write("new\n"), "b.csv": interrupted})
    assert _names(tmp_path) == ["a.csv"] and (tmp_path / "a.csv").read_text() == "old\n"


# --- what killed runs leave ------------------------------------------------------------------

_HOLD = """
import sys, time
from rfmkit.atomic_files import write_files
def hold(path):
    print("writing", flush=True)
    time.sleep(60)
write_files(sys.argv[1], {"a.csv": hold})
"""


def _holder(out):
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _staging(out):
    return sorted(p.name for p in out.iterdir() if p.name.startswith(STAGING_PREFIX))


def test_a_live_runs_staging_folder_is_kept_and_a_killed_ones_removed(tmp_path):
    proc = _holder(tmp_path)
    try:
        live = _staging(tmp_path)
        assert len(live) == 1
        (tmp_path / f"{STAGING_PREFIX}from-an-old-version").mkdir()  # no owner file
        write_files(tmp_path, {"b.csv": _write("b\n")})
        assert _staging(tmp_path) == live  # the live run's, untouched
    finally:
        proc.kill()
        proc.communicate()
    write_files(tmp_path, {"b.csv": _write("b2\n")})
    assert _staging(tmp_path) == []
    assert _names(tmp_path) == ["b.csv"]


def _left_mid_commit(out, renamed, record=None):
    """The folder as a run killed during its renames leaves it: old a.csv, b.csv and stale.csv,
    new a.csv, b.csv and c.csv, the first ``renamed`` names already renamed (real steps of the
    commit, the owner's lock then dropped as a killed process's is)."""
    for name in ("a.csv", "b.csv", "stale.csv"):
        (out / name).write_text(f"old {name}\n")
    staging = _Staging(out)
    new = ["a.csv", "b.csv", "c.csv"]
    for name in new:
        (staging.new / name).write_text(f"new {name}\n")
    for name in ("a.csv", "b.csv", "stale.csv"):
        _backup(out / name, staging.old / name)
    _write_journal(staging.path / "journal.json", {
        "names": [*new, "stale.csv"], "new": new, "record": record})
    for name in new[:renamed]:
        os.replace(staging.new / name, out / name)
    if renamed == 3:
        os.unlink(out / "stale.csv")
    staging.keep = True
    staging.close()


OLD_SET = {"a.csv": "old a.csv\n", "b.csv": "old b.csv\n", "stale.csv": "old stale.csv\n"}
NEW_SET = {"a.csv": "new a.csv\n", "b.csv": "new b.csv\n", "c.csv": "new c.csv\n"}


def _contents(out):
    return {p.name: p.read_text() for p in out.iterdir() if p.is_file()}


@pytest.mark.parametrize("renamed", [0, 1, 2, 3])
def test_the_next_run_rolls_back_a_set_killed_mid_commit(tmp_path, renamed):
    _left_mid_commit(tmp_path, renamed)
    if renamed in (1, 2):
        assert _contents(tmp_path) not in (OLD_SET, NEW_SET)  # mixed, until repaired
    assert recover(tmp_path) == 1
    assert _contents(tmp_path) == OLD_SET
    assert _staging(tmp_path) == []


@pytest.mark.parametrize("renamed", [0, 2, 3])
def test_a_set_whose_database_committed_is_completed(tmp_path, renamed):
    asked = []
    _left_mid_commit(tmp_path, renamed, record={"target": "duckdb:x.db", "run": "r1"})

    def committed(record):
        asked.append(record["run"])
        return True

    write_files(tmp_path, {"d.csv": _write("d\n")}, resolve=committed)  # the next run
    assert asked == ["r1"]
    assert _contents(tmp_path) == {**NEW_SET, "d.csv": "d\n"}
    assert _staging(tmp_path) == []


def test_a_set_whose_database_cannot_be_asked_is_rolled_back_with_a_warning(tmp_path):
    _left_mid_commit(tmp_path, 2, record={"target": "duckdb:x.db", "run": "r1"})
    with pytest.warns(RFMKitWarning, match="x.db"):
        recover(tmp_path, lambda record: None)
    assert _contents(tmp_path) == OLD_SET


_LATE = """
import sys, time
from pathlib import Path
from rfmkit.atomic_files import write_files
go = Path(sys.argv[2])
def late(path):
    print("writing", flush=True)
    while not go.exists():
        time.sleep(0.02)
    path.write_text("A\\n")
write_files(sys.argv[1], {"a.csv": late, "b.csv": lambda p: p.write_text("A\\n")},
            replaces=["a.csv", "b.csv", "c.csv"])
"""


def test_two_runs_into_one_folder_commit_one_whole_set_after_the_other(tmp_path):
    out, go = tmp_path / "out", tmp_path / "go"
    out.mkdir()
    first = subprocess.Popen([sys.executable, "-c", _LATE, str(out), str(go)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "writing"
        write_files(out, {"a.csv": _write("B\n"), "c.csv": _write("B\n")},
                    replaces=["a.csv", "b.csv", "c.csv"])
        assert _contents(out) == {"a.csv": "B\n", "c.csv": "B\n"}
        assert len(_staging(out)) == 1  # the first run's, still writing, untouched
        go.touch()
        first.communicate(timeout=60)
    finally:
        first.kill()
        first.communicate()
    assert first.returncode == 0
    assert _contents(out) == {"a.csv": "A\n", "b.csv": "A\n"}  # its whole set, c.csv gone
    assert _staging(out) == []
