"""The console command as a real process: what it leaves behind, and how it ends.

A run must leave no process behind, also when it is killed, and a third-party warning raised
during any command is printed once, after which the command ends (an earlier handler
re-emitted warnings while still recording them, and looped forever after its files were
written).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rfmkit.demo import write_transactions
from signal_support import with_default_sigint


@pytest.fixture(scope="module")
def transactions(tmp_path_factory):
    return write_transactions(tmp_path_factory.mktemp("data") / "tx.parquet", 20_000, seed=5)


@pytest.fixture(scope="module")
def model(transactions, tmp_path_factory):
    out = tmp_path_factory.mktemp("seg")
    done = _console(["segment", str(transactions), "--out", str(out), "--quiet"])
    assert done.returncode == 0, done.stderr
    return out / "model.json"


def _script(args: list[str], setup: str = "") -> str:
    return (f"import sys\n{setup}\nfrom rfmkit.cli import run\n"
            f"sys.argv = ['rfmkit', *{args!r}]\nrun()\n")


def _console(args: list[str], setup: str = "", timeout: float = 300):
    return subprocess.run([sys.executable, "-c", _script(args, setup)], capture_output=True,
                          text=True, timeout=timeout)


def _without_progress(stderr: str) -> str:
    """stderr without the lines a piped run prints while it works ("   1.2 s  Reading ...")."""
    return "".join(line for line in stderr.splitlines(keepends=True)
                   if not re.match(r"^ *\d+\.\d s  ", line))


def _processes_in_group(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            found.append(int(entry.name))
    return found


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_segment_leaves_no_process_behind(transactions, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", _script(["segment", str(transactions), "--out",
                                        str(tmp_path / "o")])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    stdout, stderr = proc.communicate(timeout=300)  # ends when every holder of the pipes ends
    assert proc.returncode == 0, stderr
    assert "customers" in stdout
    assert (tmp_path / "o" / "report.html").exists()
    assert _processes_in_group(proc.pid) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "term"])
def test_a_killed_segment_leaves_no_process_behind(transactions, tmp_path, sig):
    proc = subprocess.Popen(
        [sys.executable, "-c", _script(["segment", str(transactions), "--out",
                                        str(tmp_path / "o")])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(2.5)  # inside the run: libraries loaded, the query or the fit under way
    os.kill(proc.pid, sig)
    proc.communicate(timeout=60)  # pipes close: nothing else holds them
    deadline = time.monotonic() + 10
    while _processes_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_in_group(proc.pid) == []


# The public API call each command makes; the wrapper raises a third-party warning (twice)
# from inside it, as numpy, pandas or scikit-learn would.
_WARN = """
import warnings, rfmkit
def _warned(name):
    real = getattr(rfmkit, name)
    def call(*args, **kwargs):
        for _ in range(2):
            warnings.warn_explicit("a third-party library warns", UserWarning,
                                   "thirdparty/module.py", 7, module="thirdparty.module")
        return real(*args, **kwargs)
    setattr(rfmkit, name, call)
for name in ("run_segment", "run_score", "run_report", "model_sql", "write_transactions",
             "builtin_segment_maps", "load_segment_map"):
    _warned(name)
"""


def _commands(transactions, model, tmp_path):
    return {
        "segment": ["segment", str(transactions), "--out", str(tmp_path / "seg")],
        "score": ["score", str(transactions), "--model", str(model), "--out",
                  str(tmp_path / "score")],
        "report": ["report", str(transactions), "--model", str(model), "--out",
                   str(tmp_path / "report")],
        "sql": ["sql", "--model", str(model)],
        "demo": ["demo", "--out", str(tmp_path / "demo"), "--rows", "3000", "--no-segment"],
        "segments list": ["segments", "list"],
        "segments check": ["segments", "check", "rfm-grid-11"],
    }


@pytest.mark.parametrize("command", ["segment", "score", "report", "sql", "demo",
                                     "segments list", "segments check"])
def test_a_third_party_warning_is_printed_once_and_the_command_ends(
        command, transactions, model, tmp_path):
    args = _commands(transactions, model, tmp_path)[command]
    done = _console(args, setup=_WARN, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("a third-party library warns") == 1, done.stderr
    assert "Traceback" not in done.stderr


# --- how a command fails: exit codes, one line, no traceback ----------------------------------

def _hashes(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _tables(db: Path) -> dict[str, list]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


_BUG = """
import rfmkit
def broken(*args, **kwargs):
    raise TypeError("an internal bug")
rfmkit.run_segment = broken
"""


def test_an_unexpected_error_is_one_line_with_how_to_report_it(transactions, tmp_path):
    args = ["segment", str(transactions), "--out", str(tmp_path / "o")]
    done = _console(args, setup=_BUG)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "failed unexpectedly: TypeError: an internal bug" in done.stderr
    assert "report" in done.stderr and "--debug" in done.stderr
    for debug_args, env in ((["--debug", *args], None), (args, {"RFMKIT_DEBUG": "1"})):
        shown = subprocess.run(
            [sys.executable, "-c", _script(debug_args, _BUG)], capture_output=True, text=True,
            timeout=300, env={**os.environ, **(env or {})})
        assert shown.returncode == 1
        assert "Traceback" in shown.stderr and "TypeError: an internal bug" in shown.stderr


def _limited(limit: int):
    """A child process whose files cannot grow past ``limit`` bytes: writing more fails with
    EFBIG, as a full disk fails with ENOSPC."""
    import resource

    def limit_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_files


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
def test_outputs_that_cannot_be_written_are_a_clean_error_and_change_nothing(transactions,
                                                                            model, tmp_path):
    out = model.parent
    before = _hashes(out)
    done = subprocess.run(
        [sys.executable, "-c", _script(["segment", str(transactions), "--out", str(out),
                                        "--clusters", "none"])],
        capture_output=True, text=True, timeout=300, preexec_fn=_limited(20_000))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"Could not use {out}" in " ".join(done.stderr.split())
    assert "larger than this system allows" in done.stderr
    assert _hashes(out) == before  # the earlier run's files, and no staging folder


@pytest.fixture(scope="module")
def bigger(tmp_path_factory):
    return write_transactions(tmp_path_factory.mktemp("big") / "tx.parquet", 60_000, seed=8)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
def test_a_database_commit_that_fails_after_the_files_were_renamed_rolls_the_folder_back(
        bigger, tmp_path):
    out, db = tmp_path / "out", tmp_path / "rfm.db"
    first = _console(["segment", str(bigger), "--out", str(out), "--to", f"duckdb:{db}",
                      "--quiet"])
    assert first.returncode == 0, first.stderr
    files, tables = _hashes(out), _tables(db)
    new = ["segment", str(bigger), "--out", str(out), "--to", f"duckdb:{db}", "--quiet",
           "--clusters", "none"]
    probe = _console(["segment", str(bigger), "--out", str(tmp_path / "probe"), "--quiet",
                      "--clusters", "none"])  # the new run's file sizes, elsewhere
    assert probe.returncode == 0, probe.stderr
    limit = max(p.stat().st_size for p in (tmp_path / "probe").iterdir()) + 4096
    done = subprocess.run([sys.executable, "-c", _script(new)], capture_output=True, text=True,
                          timeout=300, preexec_fn=_limited(limit))
    message = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"Could not write the tables to DuckDB database {db}: the disk is full" in message
    assert "Failed to commit" in message  # after the renames: the folder was put back
    assert _hashes(out) == files and _tables(db) == tables


def test_a_locked_target_is_refused_before_any_data_is_read(tmp_path):
    import duckdb

    db = tmp_path / "held.db"
    duckdb.connect(str(db)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1])\n"
         "print('locked', flush=True)\ntime.sleep(60)\n", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        done = _console(["segment", str(tmp_path / "not-read.csv"), "--out", str(tmp_path / "o"),
                         "--to", f"duckdb:{db}"])
    finally:
        holder.kill()
        holder.communicate()
    message = " ".join(_without_progress(done.stderr).split())
    assert done.returncode == 2, done.stderr
    assert f"DuckDB database {db}: another program (process {holder.pid}) has it open" in message
    assert "not-read.csv" not in message  # the input was never opened
    assert not (tmp_path / "o").exists()


def test_an_existing_file_as_out_is_refused_before_any_data_is_read(tmp_path):
    (tmp_path / "results").write_text("a file\n")
    done = _console(["segment", str(tmp_path / "not-read.csv"), "--out",
                     str(tmp_path / "results")])
    assert done.returncode == 2, done.stderr
    said = _without_progress(done.stderr)
    assert "is an existing file" in said and "not-read.csv" not in said
    assert (tmp_path / "results").read_text() == "a file\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_an_interrupted_command_says_so_and_exits_130(transactions, model, tmp_path, sig):
    out = model.parent
    before = _hashes(out)
    proc = subprocess.Popen(
        with_default_sigint([sys.executable, "-c", _script(
            ["segment", str(transactions), "--out", str(out), "--clusters", "none"])]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(1.0)
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run ended before the signal")  # a fast machine
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "Interrupted" and "Traceback" not in stderr
    assert _hashes(out) == before
    assert _processes_in_group(proc.pid) == []
