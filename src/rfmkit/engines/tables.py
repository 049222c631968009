"""Result tables written into a database, all or nothing: DuckDB files and PostgreSQL.

One entry point, :func:`write_tables`, for every destination: the tables are replaced (and
stale ones dropped) in one transaction, so a reader sees the old tables or the new ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from rfmkit.errors import ParameterError
from rfmkit.sql.metrics_query import quote

DESTINATION_FORMS = "duckdb:PATH.db or postgresql://USER@HOST:PORT/DATABASE"


def write_tables(target: str, tables: Mapping[str, pd.DataFrame],
                 drop: Sequence[str] = ()) -> str:
    """Replace ``tables`` in ``target`` (``duckdb:PATH`` or a ``postgresql://`` URL) and drop
    the tables named in ``drop``; returns where they went (a URL without its password)."""
    if check_destination(target) == "duckdb":
        path = target[len("duckdb:"):]
        write_duckdb(path, tables, drop=drop)
        return path
    from rfmkit.engines.postgres_tables import redact
    from rfmkit.engines.postgres_tables import write_tables as write_postgres

    written = write_postgres(target, tables, drop=drop)
    return f"{redact(target)} ({', '.join(written)})"


def check_destination(target: str) -> str:
    """The kind of destination ``target`` names (duckdb or postgres), or a ParameterError: so
    that a mistyped destination fails before any work is done."""
    if target.startswith("duckdb:"):
        if not target[len("duckdb:"):]:
            raise ParameterError(
                "target='duckdb:' needs a file path, e.g. target='duckdb:rfm.db'.")
        return "duckdb"
    if target.startswith(("postgresql://", "postgres://")):
        return "postgres"
    raise ParameterError(f"Unknown destination target={target!r}. Use {DESTINATION_FORMS}.")


def write_duckdb(path: str | os.PathLike, tables: Mapping[str, pd.DataFrame],
                 drop: Sequence[str] = ()) -> None:
    """Replace ``tables`` (and drop the tables named in ``drop``, if they exist) in a DuckDB
    database file in one transaction: on error the old tables stay as they were."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("BEGIN TRANSACTION")
        for name, frame in tables.items():
            con.register("rfmkit_frame", frame)
            con.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS SELECT * FROM rfmkit_frame")
            con.unregister("rfmkit_frame")
        for name in drop:
            con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
