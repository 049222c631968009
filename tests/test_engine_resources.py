"""Threads, memory limits and spill folders of the engines (rfmkit.engines.resources)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from rfmkit.engines.duckdb import DuckDBEngine
from rfmkit.engines.resources import (
    SpillFolder,
    check_threads,
    memory_bytes,
    spark_settings,
)
from rfmkit.errors import ParameterError
from rfmkit.jobs import _open_engine
from rfmkit.metrics import compute_rfm


@pytest.mark.parametrize("value, expected", [(None, None), (1, 1), (16, 16)])
def test_threads_are_whole_numbers_of_at_least_one(value, expected):
    assert check_threads(value) == expected


@pytest.mark.parametrize("value", [0, -2, 1.5, "4", True])
def test_other_thread_counts_are_refused_with_the_parameter_named(value):
    with pytest.raises(ParameterError, match="must be a whole number of at least 1"):
        check_threads(value)


@pytest.mark.parametrize("text, expected", [
    ("2GB", 2 * 10**9), ("500MB", 500 * 10**6), ("1.5GiB", int(1.5 * 2**30)),
    (" 3 gb ", 3 * 10**9), ("64MB", 64 * 10**6), (None, None),
])
def test_memory_limits_read_in_bytes(text, expected):
    assert memory_bytes(text) == expected


@pytest.mark.parametrize("text", ["2 gigs", "2", "GB", "-1GB", "80%"])
def test_memory_limits_that_are_not_sizes_are_refused(text):
    with pytest.raises(ParameterError, match="is not a size: give one such as '2GB'"):
        memory_bytes(text)


def test_a_memory_limit_too_small_to_work_in_is_refused():
    with pytest.raises(ParameterError, match="below 64MB"):
        memory_bytes("2MB")  # a typo for 2GB: DuckDB would fail mid-query instead


def test_spark_settings_local_master_gets_its_cores_and_driver_memory():
    master, config = spark_settings("local[2]", 3, 2 * 2**30)
    assert master == "local[3]"
    assert config == {"spark.driver.memory": "2048m"}


def test_spark_settings_on_a_cluster_limit_the_application_and_its_executors():
    master, config = spark_settings("spark://host:7077", 4, 10**9)
    assert master == "spark://host:7077"
    assert config == {"spark.cores.max": "4", "spark.executor.memory": "953m"}
    assert spark_settings("local[*]", None, None) == ("local[*]", {})


def test_duckdb_engine_applies_threads_and_memory_limit():
    eng = DuckDBEngine(threads=1, memory_limit="1GiB")
    try:
        threads, limit = eng.con.execute(
            "SELECT current_setting('threads'), current_setting('memory_limit')").fetchone()
        assert (threads, limit) == (1, "1.0 GiB")
    finally:
        eng.close()


def test_duckdb_spills_into_a_private_folder_that_close_removes(tmp_path):
    eng = DuckDBEngine(spill_directory=str(tmp_path))
    folder = Path(eng.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    assert folder.parent == tmp_path and folder.name.startswith("rfmkit-spill-")
    assert folder.is_dir()
    eng.close()
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []


def test_duckdb_spills_outside_the_current_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # DuckDB's own default would be ./.tmp here
    eng = DuckDBEngine()
    try:
        folder = eng.con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        assert not Path(folder).resolve().is_relative_to(tmp_path.resolve())
    finally:
        eng.close()
    assert list(tmp_path.iterdir()) == []


def test_a_limited_aggregation_spills_there_and_gives_the_same_answer(tmp_path):
    # a GROUP BY much larger than its limit: DuckDB must spill to finish
    query = ("SELECT count(*), sum(n) FROM (SELECT i % 3000000 AS k, count(*) AS n "
             "FROM range(12000000) t(i) GROUP BY k)")
    unlimited = duckdb.connect().execute(query).fetchone()
    eng = DuckDBEngine(threads=1, memory_limit="100MB", spill_directory=str(tmp_path))
    try:
        assert eng.con.execute(query).fetchone() == unlimited == (3000000, 12000000)
    finally:
        eng.close()
    assert list(tmp_path.iterdir()) == []


def test_an_unusable_spill_directory_is_a_parameter_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(ParameterError, match="spill_directory"):
        DuckDBEngine(spill_directory=str(blocked))


def test_a_callers_connection_keeps_its_own_spill_setting():
    con = duckdb.connect()
    before = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    eng = DuckDBEngine(connection=con)
    eng.close()
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == before


def test_the_spill_folder_goes_with_an_unclosed_engine():
    eng = DuckDBEngine()
    path = eng._spill.name
    assert os.path.isdir(path)
    del eng  # never closed: the folder still goes, without a warning
    gc.collect()
    assert not os.path.exists(path)
    folder = SpillFolder()
    folder.cleanup()
    folder.cleanup()  # twice is harmless
    assert not os.path.exists(folder.name)


def test_postgres_has_no_threads_or_memory_limit_of_its_own():
    with pytest.raises(ParameterError, match="max_parallel_workers_per_gather") as info:
        with _open_engine("postgres", {"threads": 2}):
            pass
    assert "engine='duckdb' or engine='spark'" in str(info.value)
    with pytest.raises(ParameterError, match="work_mem"):
        with _open_engine("postgres", {"memory_limit": "2GB"}):
            pass


def test_engine_options_left_unset_are_ignored():
    with _open_engine("duckdb", {"threads": None, "memory_limit": None, "master": None}) as eng:
        assert eng.name == "duckdb"


def test_a_memory_limited_engine_deduplicates_and_aggregates_in_two_steps():
    """Under a limit the typed, deduplicated rows are stored first, so that deduplication and
    aggregation each get the whole memory (together they ran out of 2 GB on 100M rows), and
    the answer is the unlimited one."""
    rows = [("c1", "o1", "2024-01-01", 5.0), ("c1", "o1", "2024-01-01", 5.0),  # a duplicate
            ("c1", "C9", "2024-01-03", -2.0), ("c2", "o2", "2024-01-02", 7.5),
            (None, "o3", "2024-01-02", 4.0), ("c2", "o4", "2024-01-05", 1.0)]
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    unlimited = compute_rfm(df)
    eng = DuckDBEngine(memory_limit="1GB")
    stored = []
    keep = eng._store
    eng._store = lambda sql: stored.append(sql) or keep(sql)  # a spy: the real store runs
    try:
        limited = compute_rfm(df, engine=eng)
        left = eng.con.execute("SELECT count(*) FROM duckdb_tables() "
                               "WHERE table_name LIKE 'rfm_flagged%'").fetchone()[0]
    finally:
        eng.close()
    assert len(stored) == 1 and "SELECT DISTINCT *" in stored[0]
    assert left == 0  # dropped after the aggregation
    pd.testing.assert_frame_equal(limited.customers, unlimited.customers)
    got, want = limited.quality.to_dict(), unlimited.quality.to_dict()
    assert got["dropped"] == want["dropped"] and got["dropped"]["duplicate_row"] == 1
