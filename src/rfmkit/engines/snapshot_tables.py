"""The snapshot store in a database: the ``rfm_snapshots`` table, one row per customer and
as-of date, replaced whole or appended to date by date (idempotently).

Appending deletes the rows of the dates being written and inserts the new ones in one
transaction, so running the same append twice leaves one copy and a failed append leaves the
table as it was.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from rfmkit.engines.tables import check_destination
from rfmkit.errors import ParameterError
from rfmkit.sql.metrics_query import quote

SNAPSHOT_TABLE = "rfm_snapshots"


def _duckdb_path(target: str) -> str:
    if check_destination(target) != "duckdb":
        raise ParameterError(
            f"The snapshot store target={target!r} is not supported yet: use duckdb:PATH.db.")
    return target[len("duckdb:"):]


def stored_dates(target: str, table: str = SNAPSHOT_TABLE) -> list[dt.date]:
    """The as-of dates already in ``table`` of ``target`` (none when it does not exist)."""
    import duckdb

    path = _duckdb_path(target)
    con = duckdb.connect(path)
    try:
        exists = con.execute("SELECT COUNT(*) FROM information_schema.tables "
                             "WHERE table_name = ?", [table]).fetchone()[0]
        if not exists:
            return []
        rows = con.execute(f"SELECT DISTINCT CAST(as_of AS DATE) FROM {quote(table)} "
                           "ORDER BY 1").fetchall()
        return [r[0] for r in rows]
    finally:
        con.close()


def write_snapshots(target: str, snapshots: pd.DataFrame, *, append: bool,
                    table: str = SNAPSHOT_TABLE) -> str:
    """Write ``snapshots`` into ``table``: replace it, or (``append=True``) replace only the
    rows of the dates in ``snapshots``. Returns the database path."""
    import duckdb

    path = _duckdb_path(target)
    frame = snapshots.assign(as_of=pd.to_datetime(snapshots["as_of"]).dt.date)
    con = duckdb.connect(path)
    name = quote(table)
    try:
        con.execute("BEGIN TRANSACTION")
        con.register("rfmkit_snapshots", frame)
        exists = con.execute("SELECT COUNT(*) FROM information_schema.tables "
                             "WHERE table_name = ?", [table]).fetchone()[0]
        if append and exists:
            con.execute(f"DELETE FROM {name} WHERE as_of IN "
                        "(SELECT DISTINCT as_of FROM rfmkit_snapshots)")
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM rfmkit_snapshots")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM rfmkit_snapshots")
        con.unregister("rfmkit_snapshots")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return path
