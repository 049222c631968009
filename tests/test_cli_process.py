"""The console command as a real process: what it leaves behind, and how it ends.

A run must leave no process behind, also when it is killed, and a third-party warning raised
during any command is printed once, after which the command ends (an earlier handler
re-emitted warnings while still recording them, and looped forever after its files were
written).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rfmkit.demo import write_transactions


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
