"""The snapshot store in a database: the ``rfm_snapshots`` table, one row per customer and
as-of date, replaced whole or appended to date by date (idempotently).

Appending deletes the rows of the dates being written and inserts the new ones in one
transaction, so running the same append twice leaves one copy and a failed append leaves the
table as it was.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from rfmkit.engines.interrupts import interruptible
from rfmkit.engines.tables import check_destination
from rfmkit.sql.metrics_query import quote

SNAPSHOT_TABLE = "rfm_snapshots"


def _duckdb_path(target: str) -> str:
    return target[len("duckdb:"):]


def stored_dates(target: str, table: str = SNAPSHOT_TABLE) -> list[dt.date]:
    """The as-of dates already in ``table`` of ``target`` (none when it does not exist)."""
    if check_destination(target) == "postgres":
        return _postgres_dates(target, table)
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


@interruptible
def write_snapshots(target: str, snapshots: pd.DataFrame, *, append: bool,
                    table: str = SNAPSHOT_TABLE) -> str:
    """Write ``snapshots`` into ``table``: replace it, or (``append=True``) replace only the
    rows of the dates in ``snapshots``. Returns the database path."""
    if check_destination(target) == "postgres":
        return _write_postgres(target, snapshots, append=append, table=table)
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


def _postgres_dates(dsn: str, table: str) -> list[dt.date]:
    from rfmkit.engines.postgres_tables import connect

    with connect(dsn) as conn:
        found = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0]
        if found is None:
            return []
        from psycopg import sql

        rows = conn.execute(sql.SQL("SELECT DISTINCT as_of FROM {} ORDER BY 1").format(
            sql.Identifier(table))).fetchall()
    return [r[0] for r in rows]


def _write_postgres(dsn: str, snapshots: pd.DataFrame, *, append: bool, table: str) -> str:
    """Replace the table (atomically, as every result table), or delete the dates being
    written and copy them in, in one transaction."""
    from psycopg import sql

    from rfmkit.engines.postgres_tables import (
        arrow_from_pandas,
        connect,
        copy_arrow,
        create_table_sql,
        redact,
        write_tables,
    )

    frame = snapshots.assign(as_of=pd.to_datetime(snapshots["as_of"]).dt.date)
    if not append:
        write_tables(dsn, {table: frame})
        return f"{redact(dsn)} ({table})"
    arrow = arrow_from_pandas(frame)
    name = sql.Identifier(table)
    with connect(dsn) as conn, conn.transaction(), conn.cursor() as cur:
        if cur.execute("SELECT to_regclass(%s)", [table]).fetchone()[0] is None:
            cur.execute(create_table_sql(name, arrow))
        days = sorted(set(frame["as_of"]))
        cur.execute(sql.SQL("DELETE FROM {} WHERE as_of = ANY(%s)").format(name), [days])
        copy_arrow(cur, name, arrow)
    return f"{redact(dsn)} ({table})"
