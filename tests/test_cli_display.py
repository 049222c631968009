"""What the command line prints (cli/display.py), through a real process at common widths."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rfmkit.cli.display import _cell


@pytest.fixture(scope="module")
def big_spenders(tmp_path_factory):
    """Orders of 1,000 to 9,999.99, so mean spend prints like 27,213.42 (the widest numbers)."""
    rng = np.random.default_rng(3)
    rows = []
    for c in range(120):
        for o in range(int(rng.integers(1, 8))):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 365)))
            rows.append((f"C{c:03d}", f"O{c:03d}-{o}", day.date().isoformat(),
                         round(float(rng.uniform(1000, 9999.99)), 2)))
    path = tmp_path_factory.mktemp("data") / "tx.csv"
    pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"]).to_csv(
        path, index=False)
    return path


def _segment(path, out, columns: int, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run([sys.executable, "-m", "rfmkit", "segment", str(path), "--out",
                           str(out), *flags], capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("columns", [80, 60])
def test_tables_never_cut_numbers(big_spenders, tmp_path, columns):
    done = _segment(big_spenders, tmp_path / "out", columns)
    text = done.stdout
    assert "…" not in text
    assert max(map(len, text.splitlines())) <= columns
    segments = pd.read_csv(tmp_path / "out" / "segments.csv")
    clusters = pd.read_csv(tmp_path / "out" / "clusters.csv")
    # the columns that are always shown carry every value in full
    for row in segments.itertuples():
        assert f"{row.customers:,}" in text and f"{row.customer_share:.1%}" in text
    for row in clusters.itertuples():
        assert f"{row.customers:,}" in text
    if columns == 80:
        # the spend column (7,264.12-wide numbers) fits at 80; a column that does not is
        # named under the table instead of being cut
        assert all(f"{v:,.2f}" in text for v in segments["monetary_mean"].dropna())
        assert "Not shown at 80 columns: mean F" in text
    else:
        assert "Not shown at 60 columns" in text and "mean F" in text


def test_empty_values_print_a_dash_not_nan():
    assert _cell(math.nan, ",.2f") == "–" and _cell(None, ".1%") == "–"
    assert _cell(7264.123, ",.2f") == "7,264.12"


def test_customer_level_input_does_not_print_as_of_none(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    table = pd.DataFrame({"Customer": [f"K{i}" for i in range(n)],
                          "Recency": rng.integers(0, 400, n),
                          "Frequency": rng.integers(1, 20, n),
                          "Monetary": rng.uniform(10, 5000, n).round(2)})
    path = tmp_path / "customers.csv"
    table.to_csv(path, index=False)
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-m", "rfmkit", "segment", str(path), "--out", str(tmp_path / "o"),
         "--customer", "Customer", "--recency", "Recency", "--frequency-column", "Frequency",
         "--monetary-column", "Monetary", "--clusters", "none"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "200 customers" in done.stdout
    assert "None" not in done.stdout and "nan" not in done.stdout


def test_install_hints_keep_their_brackets(big_spenders, tmp_path):
    # Rich markup would read "[spark]" as a style and print "pip install 'rfmkit'"
    script = ("import sys\nsys.modules['pyspark'] = None  # as if it were not installed\n"
              "from rfmkit.cli import run\n"
              f"sys.argv = ['rfmkit', 'segment', {str(big_spenders)!r}, '--out', "
              f"{str(tmp_path / 'o')!r}, '--engine', 'spark']\nrun()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2
    assert "[spark]'" in done.stderr and "pip install" in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()


def test_quiet_prints_nothing_on_success_not_even_warnings_or_mlflow(tmp_path):
    from rfmkit.demo import write_transactions

    data = write_transactions(tmp_path / "tx.parquet", 20_000, seed=5)
    loud = subprocess.run([sys.executable, "-m", "rfmkit", "segment", str(data), "--out",
                           str(tmp_path / "loud")], capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0 and "Warning:" in loud.stderr  # the data does warn
    pytest.importorskip("mlflow")
    quiet = subprocess.run(
        [sys.executable, "-m", "rfmkit", "segment", str(data), "--out", str(tmp_path / "q"),
         "-q", "--mlflow-register", "quiet_model", "--mlflow-tracking-uri",
         f"sqlite:///{tmp_path / 'mlflow.db'}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    assert (tmp_path / "q" / "model.json").exists()


def test_empty_segments_print_dashes_and_customer_level_scoring_no_as_of(tmp_path):
    # issue 13, item 8: empty segments printed "nan", customer-level input "as of None"; with
    # 2 bins, 6 of the 11 segments of rfm-grid-11 are empty
    rng = np.random.default_rng(0)
    n = 200
    pd.DataFrame({"customer_id": [f"K{i}" for i in range(n)],
                  "recency_days": rng.integers(0, 400, n),
                  "frequency": rng.integers(1, 20, n),
                  "monetary": rng.uniform(10, 5000, n).round(2)}).to_csv(
        tmp_path / "customers.csv", index=False)
    env = {**os.environ, "COLUMNS": "120"}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "rfmkit", *args], capture_output=True,
                              text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    seg = run("segment", str(tmp_path / "customers.csv"), "--out", str(tmp_path / "o"),
              "--bins", "2", "--clusters", "none")
    scored = run("score", str(tmp_path / "customers.csv"), "--model",
                 str(tmp_path / "o" / "model.json"), "--out", str(tmp_path / "s"))
    segments = pd.read_csv(tmp_path / "o" / "segments.csv")
    empty = segments.loc[segments["customers"] == 0, "segment"].tolist()
    assert empty  # the case this test is about
    for text in (seg, scored):
        assert "nan" not in text.lower() and "None" not in text
        assert "as of" not in text  # customer-level input has no as-of date
        for name in empty:
            row = next(line for line in text.splitlines() if name.replace("'", "") in
                       line.replace("'", ""))
            assert "–" in row, row


def test_the_currency_reaches_the_tables_the_descriptions_and_the_saved_model(big_spenders,
                                                                             tmp_path):
    import json

    done = _segment(big_spenders, tmp_path / "out", 160, "--currency", "gbp")
    assert "mean M (GBP)" in done.stdout
    clusters = pd.read_csv(tmp_path / "out" / "clusters.csv")
    assert all("median spend £" in d for d in clusters["description"])
    saved = json.loads((tmp_path / "out" / "model.json").read_text(encoding="utf-8"))
    assert saved["params"]["currency"] == "GBP"
    # a later report from the saved model writes money in it without --currency
    report = subprocess.run(
        [sys.executable, "-m", "rfmkit", "report", str(big_spenders), "--model",
         str(tmp_path / "out" / "model.json"), "--out", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "£" in page and "median spend £" in page
    # without a currency: plain numbers, as before
    plain = _segment(big_spenders, tmp_path / "plain", 160)
    assert "mean M " in plain.stdout and "(GBP)" not in plain.stdout
    assert not any("£" in d for d in pd.read_csv(tmp_path / "plain" / "clusters.csv")[
        "description"])
