"""What a command shows while it works, and its --json summary (cli/feedback.py), through real
processes: stdout and stderr are pipes, as under a scheduler or in a log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from rfmkit.demo import write_transactions

PROGRESS_LINE = re.compile(r"^ *(\d+\.\d) s  (.+)$")


@pytest.fixture(scope="module")
def transactions(tmp_path_factory):
    return write_transactions(tmp_path_factory.mktemp("data") / "tx.parquet", 8_000, seed=4)


@pytest.fixture(scope="module")
def model(transactions, tmp_path_factory):
    out = tmp_path_factory.mktemp("seg")
    done = _rfmkit("segment", str(transactions), "--out", str(out), "-q", "--k-max", "4")
    assert done.returncode == 0, done.stderr
    return out / "model.json"


def _rfmkit(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "rfmkit", *args], capture_output=True,
                          text=True, timeout=600, env=env)


def _progress(stderr: str) -> list[tuple[float, str]]:
    return [(float(m.group(1)), m.group(2)) for m in map(PROGRESS_LINE.match,
                                                          stderr.splitlines()) if m]


def test_a_piped_run_prints_one_line_per_stage_with_seconds(transactions, tmp_path):
    done = _rfmkit("segment", str(transactions), "--out", str(tmp_path / "o"), "--k-max", "4")
    assert done.returncode == 0, done.stderr
    lines = _progress(done.stderr)
    texts = [text for _, text in lines]
    assert texts[0] == f"Segmenting {transactions}" and texts[-1] == "Done"
    for expected in ("Reading the input", "Aggregating transactions per customer",
                     "Scoring and segmenting", "Choosing k (k=2..4)",
                     "Choosing k (k=2..4): k=3 (2 of 3)", "Writing outputs",
                     "Writing the report"):
        assert expected in texts, done.stderr
    seconds = [s for s, _ in lines]
    assert seconds == sorted(seconds)  # seconds since the start
    assert "customers from" in done.stdout  # the summary stays on stdout
    assert not _progress(done.stdout)


def test_quiet_shows_no_progress(transactions, tmp_path):
    done = _rfmkit("segment", str(transactions), "--out", str(tmp_path / "o"), "-q",
                   "--clusters", "none")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_segment_json_is_one_object_on_stdout(transactions, tmp_path):
    out = tmp_path / "o"
    done = _rfmkit("segment", str(transactions), "--out", str(out), "--k-max", "4", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # nothing else on stdout
    assert summary["command"] == "segment" and summary["status"] == "ok"
    assert summary["exit_code"] == 0
    quality = json.loads((out / "quality.json").read_text())
    assert summary["input"] == str(transactions) and summary["out"] == str(out)
    assert summary["as_of"] == quality["as_of"]
    assert summary["customers"] == quality["customers"]
    assert summary["rows_read"] == quality["rows_read"]
    assert summary["rows_dropped"] == quality["dropped"]
    segments = pd.read_csv(out / "segments.csv")
    assert summary["segments"] == dict(zip(segments["segment"], segments["customers"],
                                           strict=True))
    clusters = pd.read_csv(out / "clusters.csv")
    assert summary["clusters"] == len(clusters)
    assert [c["customers"] for c in summary["cluster_customers"]] == clusters[
        "customers"].tolist()
    assert sorted(summary["files"]) == sorted(str(p) for p in out.iterdir()
                                              if not p.name.startswith("."))
    assert summary["tables"] is None and summary["seconds"] > 0
    # warnings in the command line's words, once each; also still on stderr for a person
    assert any("Ties in 'frequency'" in w for w in summary["warnings"])
    assert "Warning:" in done.stderr and _progress(done.stderr)


def test_quiet_json_prints_only_the_json(transactions, tmp_path):
    done = _rfmkit("segment", str(transactions), "--out", str(tmp_path / "o"), "--clusters",
                   "none", "-q", "--json")
    assert done.returncode == 0 and done.stderr == ""
    summary = json.loads(done.stdout)
    assert summary["clusters"] is None and summary["cluster_customers"] is None


def test_score_and_report_json(transactions, model, tmp_path):
    done = _rfmkit("score", str(transactions), "--model", str(model), "--out",
                   str(tmp_path / "s"), "--json", "--as-of", "2025-06-30")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["command"] == "score" and summary["as_of"] == "2025-06-30"
    assert str(tmp_path / "s" / "customers.parquet") in summary["files"]
    done = _rfmkit("report", str(transactions), "--model", str(model), "--out",
                   str(tmp_path / "r"), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["command"] == "report"
    assert summary["files"] == [str(tmp_path / "r" / "report.html")]


def test_history_json(transactions, model, tmp_path):
    done = _rfmkit("history", str(transactions), "--model", str(model), "--out",
                   str(tmp_path / "h"), "--as-of", "2025-06-30", "--as-of", "2025-12-31",
                   "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["command"] == "history" and summary["status"] == "ok"
    assert list(summary["snapshots"]) == ["2025-06-30", "2025-12-31"]
    assert summary["computed"] == ["2025-06-30", "2025-12-31"]


def test_an_error_is_json_too(tmp_path):
    done = _rfmkit("segment", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"),
                   "--bins", "1000", "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)
    assert error["status"] == "error" and error["exit_code"] == 2
    assert error["command"] == "segment"
    assert "--bins must be an int >= 2 and <= 20" in error["message"]  # the flag, not n_bins
    assert "Error:" in done.stderr  # the person reading the log sees it too


def test_a_usage_error_is_json_too(tmp_path):
    done = _rfmkit("segment", "x.csv", "--out", str(tmp_path / "o"), "--no-such-flag",
                   "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)
    assert error["status"] == "error" and error["exit_code"] == 2
    assert error["command"] == "segment" and "--no-such-flag" in error["message"]
