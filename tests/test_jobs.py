"""Tests of rfmkit.jobs: every check that needs no data runs before any data is read, and the
summary a job gives a scheduler.

The input of the early checks does not exist: an error about the parameter (not about the
missing file) shows that the check ran before the input was opened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rfmkit
from rfmkit.demo import write_transactions
from rfmkit.errors import (
    EngineUnavailableError,
    ModelFormatError,
    ParameterError,
    RFMKitError,
)

pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seg")
    data = write_transactions(folder / "tx.parquet", 4_000, seed=1)
    rfmkit.run_segment(str(data), folder / "out", params={"n_clusters": 3})
    return folder / "out" / "model.json"


@pytest.fixture
def missing(tmp_path):
    return str(tmp_path / "missing.csv")


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder in which nothing can be created: read-only for a user; /sys for root (even root
    cannot make a folder there)."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        return locked
    if not Path("/sys").is_dir():
        pytest.skip("running as root without /sys: no folder refuses a write")
    return Path("/sys")


def test_an_unwritable_out_is_refused_before_the_data_is_read(missing, tmp_path):
    out = _unwritable_folder(tmp_path) / "results"
    with pytest.raises(ParameterError, match=r"out_dir=.*results' cannot be written: its "
                                             r"folder .* is not writable"):
        rfmkit.run_segment(missing, out)
    assert not out.exists()


def test_an_out_that_is_a_file_is_refused_by_every_job(missing, model, tmp_path):
    a_file = tmp_path / "results"
    a_file.write_text("keep me")
    calls = [
        lambda: rfmkit.run_segment(missing, a_file),
        lambda: rfmkit.run_score(missing, model, a_file),
        lambda: rfmkit.run_report(missing, model, a_file),
        lambda: rfmkit.run_history(missing, model, a_file, every="month"),
        lambda: rfmkit.run_clv(missing, a_file, calibration_end="2025-06-30"),
    ]
    for call in calls:
        with pytest.raises(ParameterError, match="is an existing file, not a folder"):
            call()
    assert a_file.read_text() == "keep me"


@pytest.mark.parametrize(("call", "expected"), [
    (lambda src, out, model: rfmkit.run_segment(src, out, params={"segment_map": "rfm-grd-11"}),
     "'rfm-grd-11' is neither a built-in"),
    (lambda src, out, model: rfmkit.run_segment(src, out, target="mysql://crm"),
     "Unknown destination target='mysql://crm'"),
    (lambda src, out, model: rfmkit.run_segment(src, out, fmt="xlsx"),
     "Unknown output format fmt='xlsx'"),
    (lambda src, out, model: rfmkit.run_report(src, model, out, projection="umap"),
     "The 'projection' parameter of build_report must be one of 'pca', 'tsne'"),
    (lambda src, out, model: rfmkit.run_report(src, model, out, title=3),
     "The 'title' parameter of build_report must be a str"),
    (lambda src, out, model: rfmkit.run_score(src, model, out, as_of="31/12/2025"),
     "as_of"),
    (lambda src, out, model: rfmkit.run_segment(src, out, progress="print"),
     "progress= must be a callable"),
], ids=["map-typo", "target-syntax", "format", "projection", "title", "as-of", "progress"])
def test_parameters_are_checked_before_the_data_is_read(missing, model, tmp_path, call,
                                                        expected):
    out = tmp_path / "o"
    with pytest.raises(RFMKitError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        call(missing, out, model)
    assert not out.exists()


def test_an_unreadable_model_is_refused_before_the_data_is_read(missing, tmp_path):
    broken = tmp_path / "model.json"
    broken.write_text('{"format_version": ')
    for call in (lambda: rfmkit.run_score(missing, broken, tmp_path / "o"),
                 lambda: rfmkit.run_report(missing, broken, tmp_path / "o"),
                 lambda: rfmkit.run_segment(missing, tmp_path / "o", previous_model=broken)):
        with pytest.raises(ModelFormatError):
            call()
    assert not (tmp_path / "o").exists()


def test_mlflow_missing_is_said_before_the_work(missing, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if it were not installed
    with pytest.raises(EngineUnavailableError, match="MLflow support needs the mlflow package"):
        rfmkit.run_segment(missing, tmp_path / "o", registered_model_name="rfm")
    assert not (tmp_path / "o").exists()


def test_an_unwritable_out_is_exit_2_naming_the_flag_on_the_command_line(tmp_path):
    out = _unwritable_folder(tmp_path) / "results"
    done = subprocess.run([sys.executable, "-m", "rfmkit", "segment", str(tmp_path / "no.csv"),
                           "--out", str(out), "--json"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2, done.stderr
    message = json.loads(done.stdout)["message"]
    assert message.startswith(f"--out {out} cannot be written"), message
    assert "does not exist" not in done.stderr and "Traceback" not in done.stderr


def test_the_summary_is_plain_json(model, tmp_path):
    data = write_transactions(tmp_path / "tx.parquet", 3_000, seed=3)
    job = rfmkit.run_score(str(data), model, tmp_path / "scored")
    summary = job.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["out"] == str(tmp_path / "scored")
    assert summary["customers"] == len(job.result.customers)
    assert sum(summary["segments"].values()) == summary["customers"]
    assert summary["clusters"] == 3
    assert sum(c["customers"] for c in summary["cluster_customers"]) == summary["customers"]


def test_an_unknown_engine_option_lists_the_known_ones_with_their_engines():
    from rfmkit.jobs import _open_engine

    with pytest.raises(ParameterError) as info:
        with _open_engine("duckdb", {"workers": 4}):
            pass
    message = str(info.value)
    assert message.startswith("Unknown engine option workers=.")
    assert "master= (engine=spark)" in message and "query= (engine=postgres)" in message
    assert "threads= (engine=duckdb or spark)" in message
