"""``rfmkit history`` and rfmkit.run_history / rfmkit.history (rfmkit.timeline.job): the files,
appending, the rfm_snapshots table, and equality with ``rfmkit score --as-of``."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import warnings

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import rfmkit

D = dt.date
DATES = [D(2022, 9, 30), D(2022, 12, 31), D(2023, 1, 31), D(2023, 2, 4)]


@pytest.fixture(scope="module")
def data(tmp_path_factory, synthetic_lines):
    folder = tmp_path_factory.mktemp("history")
    source = folder / "lines.parquet"
    synthetic_lines.to_parquet(source)
    model = rfmkit.RFMModel(n_clusters=3, random_state=0).fit(
        synthetic_lines[synthetic_lines.InvoiceDate < "2022-09-01"])
    rfmkit.save_model(model, folder / "model.json")
    return source, folder / "model.json"


def cli(*args, timeout=120):
    code = "import sys\nfrom rfmkit.cli import run\nsys.argv = ['rfmkit', *sys.argv[1:]]\nrun()\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_the_command_writes_the_three_tables_and_the_report(data, tmp_path):
    source, model = data
    done = cli("history", source, "--model", model, "--every", "month", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"snapshots.parquet", "transitions.csv",
                                                    "movers.csv", "report.html"}
    snaps = pd.read_parquet(tmp_path / "snapshots.parquet")
    assert list(snaps.columns) == ["customer_id", "as_of", "recency", "frequency", "monetary",
                                   "r_score", "f_score", "m_score", "segment", "cluster",
                                   "cluster_name"]
    assert isinstance(snaps.as_of.iloc[0], dt.date)
    dates = sorted(snaps.as_of.unique())
    assert dates[0] == D(2022, 9, 30) and dates[-1] == D(2023, 2, 4)  # the latest purchase
    moved = pd.read_csv(tmp_path / "transitions.csv")
    sizes = snaps.groupby("as_of").size()
    for day, n in moved.groupby("to_as_of").customers.sum().items():
        assert n == sizes[D.fromisoformat(day)]
    down = pd.read_csv(tmp_path / "movers.csv")
    assert set(down.to_as_of) <= {"2023-02-04"}


def test_the_command_matches_score_as_of_for_every_customer(data, tmp_path):
    source, model = data
    done = cli("history", source, "-m", model, "--as-of", "2022-12-31", "--as-of",
               "2022-10-15", "-o", tmp_path / "h", "-q")
    assert done.returncode == 0, done.stderr
    snaps = pd.read_parquet(tmp_path / "h" / "snapshots.parquet")
    done = cli("score", source, "-m", model, "--as-of", "2022-12-31", "-o", tmp_path / "s",
               "-q")
    assert done.returncode == 0, done.stderr
    scored = pd.read_parquet(tmp_path / "s" / "customers.parquet")
    got = snaps[snaps.as_of == D(2022, 12, 31)].drop(columns="as_of").reset_index(drop=True)
    assert_frame_equal(got, scored[list(got.columns)])


def test_bad_input_fails_with_the_flag_and_writes_nothing(data, tmp_path):
    source, model = data
    done = cli("history", source, "-m", model, "--every", "month", "--as-of", "2022-10-01",
               "-o", tmp_path / "out")
    assert done.returncode != 0 and "--every" in done.stderr and "--as-of" in done.stderr
    assert not (tmp_path / "out").exists()


def test_append_computes_only_new_dates_and_is_idempotent(data, tmp_path):
    source, model = data
    rfmkit.run_history(source, model, tmp_path / "full", as_of=DATES, report=False)
    first = rfmkit.run_history(source, model, tmp_path / "inc", as_of=DATES[:2], report=False,
                               target=f"duckdb:{tmp_path / 'h.db'}")
    assert first.computed == DATES[:2]
    for _ in range(2):  # twice: one copy
        again = rfmkit.run_history(source, model, tmp_path / "inc", as_of=DATES, append=True,
                                   report=False, target=f"duckdb:{tmp_path / 'h.db'}")
    assert again.computed == []
    stored = pd.read_parquet(tmp_path / "inc" / "snapshots.parquet")
    assert_frame_equal(stored, pd.read_parquet(tmp_path / "full" / "snapshots.parquet"))
    assert_frame_equal(pd.read_csv(tmp_path / "inc" / "transitions.csv"),
                       pd.read_csv(tmp_path / "full" / "transitions.csv"))
    con = duckdb.connect(str(tmp_path / "h.db"))
    table = con.execute("SELECT * FROM rfm_snapshots ORDER BY as_of").df()
    dupes = con.execute("SELECT COUNT(*) FROM (SELECT customer_id, as_of FROM rfm_snapshots "
                        "GROUP BY ALL HAVING COUNT(*) > 1)").fetchone()[0]
    con.close()
    assert dupes == 0 and len(table) == len(stored)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(DATES), min_size=1, max_size=3))
def test_append_equals_a_full_run(data, tmp_path_factory, first):
    source, model = data
    folder = tmp_path_factory.mktemp("append")
    rfmkit.run_history(source, model, folder, as_of=first, report=False)
    rfmkit.run_history(source, model, folder, as_of=DATES, append=True, report=False)
    whole = rfmkit.history(source, model, as_of=DATES)
    stored = pd.read_parquet(folder / "snapshots.parquet")
    assert_frame_equal(stored.drop(columns="as_of"), whole.drop(columns="as_of"))
    assert stored.as_of.tolist() == whole.as_of.dt.date.tolist()


def test_a_stored_history_of_another_model_is_not_mixed(data, tmp_path, synthetic_lines):
    source, model = data
    rfmkit.run_history(source, model, tmp_path, as_of=DATES[:1], report=False)
    before = (tmp_path / "snapshots.parquet").read_bytes()
    other = rfmkit.RFMModel(n_clusters="none").fit(synthetic_lines)
    with pytest.raises(rfmkit.ParameterError, match="append only with the model"):
        rfmkit.run_history(source, other, tmp_path, as_of=DATES, append=True, report=False)
    assert (tmp_path / "snapshots.parquet").read_bytes() == before


def test_a_map_without_value_order_warns_and_uses_rule_order(data, synthetic_lines):
    source, _ = data
    plain = rfmkit.SegmentMap.from_dict(
        {k: v for k, v in rfmkit.load_segment_map("rf-10").to_dict().items()
         if k != "value_order"})
    model = rfmkit.RFMModel(n_clusters="none", segment_map=plain).fit(synthetic_lines)
    from rfmkit.timeline.job import segment_value_order

    with pytest.warns(rfmkit.SegmentOrderWarning, match="declares no value_order"):
        assert segment_value_order(model) == plain.segment_names


def test_refit_must_be_a_bool(data):
    source, model = data
    with pytest.raises(rfmkit.ParameterError, match="refit="):
        rfmkit.history(source, model, as_of=DATES, refit="yes")


def test_online_retail_snapshots_equal_score_as_of(shared_data, tmp_path):
    """Fitted on the rows before 2011-07-01; every month end to November and 2011-12-09."""
    source = shared_data / "online_retail.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rfmkit.CollapsedBinsWarning)
        model = rfmkit.RFMModel(as_of="2011-06-30").fit(source)
    job = rfmkit.run_history(source, model, tmp_path / "h", every="month", report=False)
    dates = sorted(job.snapshots.as_of.dt.date.unique())
    assert dates == [D(2011, 7, 31), D(2011, 8, 31), D(2011, 9, 30), D(2011, 10, 31),
                     D(2011, 11, 30), D(2011, 12, 9)]
    for day in dates:
        scored = rfmkit.run_score(source, model, tmp_path / str(day), as_of=day).result
        got = job.snapshots[job.snapshots.as_of == pd.Timestamp(day)].drop(columns="as_of")
        assert_frame_equal(got.reset_index(drop=True), scored.customers[list(got.columns)])
    sizes = job.snapshots.groupby("as_of").size()
    into = job.transitions.groupby("to_as_of").customers.sum()
    assert [into[d] for d in dates[1:]] == [sizes[pd.Timestamp(d)] for d in dates[1:]]


def test_the_command_appends_once(data, tmp_path):
    source, model = data
    args = ["history", source, "-m", model, "--as-of", "2022-12-31", "-o", tmp_path / "h",
            "--to", f"duckdb:{tmp_path / 'h.db'}", "--append"]
    first, second = cli(*args), cli(*args)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "Computed 2022-12-31" in first.stdout
    assert "none (all stored already)" in second.stdout
    con = duckdb.connect(str(tmp_path / "h.db"))
    rows = con.execute("SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM rfm_snapshots"
                       ).fetchone()
    con.close()
    assert rows[0] == rows[1] > 0
