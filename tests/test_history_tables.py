"""The rfm_snapshots table (rfmkit.engines.snapshot_tables): replaced, or appended to date by
date idempotently, in DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from rfmkit.engines.snapshot_tables import stored_dates, write_snapshots

D = dt.date


def snaps(days, customers=("A", "B")):
    return pd.DataFrame({
        "customer_id": [c for _ in days for c in customers],
        "as_of": pd.to_datetime([d for d in days for _ in customers]).astype("datetime64[s]"),
        "recency": 1, "frequency": 2, "monetary": 3.5, "r_score": 1, "f_score": 2,
        "m_score": 3, "segment": "Best"})


def check_store(target, read):
    assert stored_dates(target) == []
    write_snapshots(target, snaps([D(2024, 1, 31), D(2024, 2, 29)]), append=False)
    for _ in range(2):  # the same dates twice: one copy
        write_snapshots(target, snaps([D(2024, 2, 29), D(2024, 3, 31)], ("A", "B", "C")),
                        append=True)
    assert stored_dates(target) == [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)]
    table = read()
    assert table.groupby("as_of").size().tolist() == [2, 3, 3]
    assert not table.duplicated(["customer_id", "as_of"]).any()
    write_snapshots(target, snaps([D(2024, 4, 30)]), append=False)  # replaced whole
    assert stored_dates(target) == [D(2024, 4, 30)]


def test_duckdb_store(tmp_path):
    path = tmp_path / "h.db"

    def read():
        with duckdb.connect(str(path)) as con:
            return con.execute("SELECT * FROM rfm_snapshots ORDER BY as_of").df()

    check_store(f"duckdb:{path}", read)


@pytest.mark.postgres
def test_postgres_store():
    from pg_server import get_server

    dsn = get_server().new_database()
    import psycopg

    def read():
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT customer_id, as_of FROM rfm_snapshots").fetchall()
        return pd.DataFrame(rows, columns=["customer_id", "as_of"]).sort_values("as_of")

    check_store(dsn, read)


@pytest.mark.postgres
def test_snapshots_computed_inside_postgres_equal_duckdbs(synthetic_lines):
    """The snapshot query translated for PostgreSQL and run there (engine='postgres')."""
    import rfmkit
    from pg_server import get_server
    from rfmkit.engines.postgres_tables import write_tables

    dsn = get_server().new_database()
    write_tables(dsn, {"lines": synthetic_lines})
    model = rfmkit.RFMModel(n_clusters="none", consolidate_days=True).fit(synthetic_lines)
    dates = [D(2022, 6, 30), D(2022, 12, 31), D(2023, 2, 4)]
    in_postgres = rfmkit.history(dsn, model, as_of=dates, engine="postgres", table="lines")
    in_duckdb = rfmkit.history(synthetic_lines, model, as_of=dates)
    pd.testing.assert_frame_equal(in_postgres, in_duckdb)


@pytest.mark.spark
def test_snapshots_computed_inside_spark_equal_duckdbs(synthetic_lines):
    """The snapshot query translated to Spark SQL and run by a local Spark session."""
    import rfmkit
    from rfmkit.engines.spark import SparkEngine
    from spark_session import get_session

    model = rfmkit.RFMModel(n_clusters="none").fit(synthetic_lines)
    engine = SparkEngine(get_session())
    try:
        in_spark = rfmkit.history(synthetic_lines, model, every="quarter",
                                  start="2022-01-01", engine=engine)
    finally:
        engine.close()
    in_duckdb = rfmkit.history(synthetic_lines, model, every="quarter", start="2022-01-01")
    pd.testing.assert_frame_equal(in_spark, in_duckdb)
