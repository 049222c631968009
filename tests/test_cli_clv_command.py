"""`rfmkit clv` through the real console command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CDNOW = SHARED / "cdnow_sample.parquet"
needs_cdnow = pytest.mark.skipif(not CDNOW.exists(), reason=f"{CDNOW} is not there")


def _rfmkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rfmkit", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


@needs_cdnow
def test_cdnow_with_default_flags_reproduces_the_published_fit(tmp_path):
    done = _rfmkit("clv", str(CDNOW), "--calibration-end", "1997-09-30", "--holdout-end",
                   "1998-06-30", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    fitted = json.loads((tmp_path / "clv.json").read_text())
    assert {k: round(fitted["bg_nbd"][k], 3) for k in ("r", "alpha", "a", "b")} == {
        "r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(fitted["bg_nbd"]["log_likelihood"], 1) == -9582.4
    assert {k: round(fitted["gamma_gamma"][k], 2) for k in ("p", "q", "v")} == {
        "p": 6.25, "q": 3.74, "v": 15.44}
    assert fitted["customers"] == 2357 and fitted["repeat_buyers"] == 946
    assert fitted["holdout"]["actual_purchases"] == 1882
    customers = pd.read_parquet(tmp_path / "customers_clv.parquet")
    assert list(customers.columns) == [
        "customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
        "expected_purchases", "expected_spend", "clv", "actual_purchases", "actual_spend"]
    assert len(customers) == 2357
    assert (tmp_path / "report.html").stat().st_size > 20_000
    assert "r=0.2426" in done.stdout


@needs_cdnow
def test_with_an_rfm_model_every_customer_has_a_segment(tmp_path):
    seg = tmp_path / "seg"
    done = _rfmkit("segment", str(CDNOW), "--preset", "quintile", "--out", str(seg), "--quiet")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "clv"
    done = _rfmkit("clv", str(CDNOW), "--calibration-end", "1997-09-30", "--model",
                   str(seg / "model.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    customers = pd.read_parquet(out / "customers_clv.parquet")
    assert customers["segment"].notna().all()
    groups = pd.read_csv(out / "segments_clv.csv")
    segments = groups[groups.grouping == "segment"]
    assert segments["customers"].sum() == len(customers)
    assert segments["clv_share"].sum() == pytest.approx(1.0)


def test_bad_calibration_end_is_a_clean_error(tmp_path):
    data = tmp_path / "tx.csv"
    data.write_text("customer_id,order_date,amount\na,2023-01-01,5\na,2023-02-01,7\n")
    done = _rfmkit("clv", str(data), "--calibration-end", "2030-01-01", "--out",
                   str(tmp_path / "out"))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "outside the data" in " ".join(done.stderr.split())
    assert not (tmp_path / "out").exists()


@needs_cdnow
def test_score_with_the_saved_clv_parameters_gives_the_fitted_values(tmp_path):
    """`clv --model` saves the fitted parameters in model.json; `score` applies them."""
    seg, clv, scored = tmp_path / "seg", tmp_path / "clv", tmp_path / "score"
    assert _rfmkit("segment", str(CDNOW), "--out", str(seg), "--quiet").returncode == 0
    done = _rfmkit("clv", str(CDNOW), "--calibration-end", "1997-09-30", "--model",
                   str(seg / "model.json"), "--out", str(clv), "--quiet")
    assert done.returncode == 0, done.stderr
    saved = json.loads((clv / "model.json").read_text())
    assert round(saved["clv"]["bg_nbd"]["r"], 4) == 0.2426
    done = _rfmkit("score", str(CDNOW), "--model", str(clv / "model.json"), "--as-of",
                   "1997-09-30", "--out", str(scored), "--quiet")
    assert done.returncode == 0, done.stderr
    customers = pd.read_parquet(scored / "customers.parquet")
    fitted = pd.read_parquet(clv / "customers_clv.parquet").set_index("customer_id")
    joined = customers.merge(fitted, left_on="customer_id", right_index=True,
                             suffixes=("", "_fit"))
    for column in ("p_alive", "expected_purchases", "clv"):
        assert (joined[column] - joined[f"{column}_fit"]).abs().max() < 1e-9, column
