"""PostgreSQL as an engine: cleaning and per-customer aggregation run inside the database.

The input is a ``postgresql://`` URL plus a table (``table="schema.orders"``) or a query
(``query="SELECT ..."``). The metric SQL of :mod:`rfmkit.sql.metrics_query` is translated
(:func:`rfmkit.sql.dialects.postgres_sql`), so only one row per customer leaves the database.
Every identifier is
quoted; a table name is split on dots (quote a part that holds a dot: ``'"my.schema".orders'``)
and matched exactly, or, like PostgreSQL does for unquoted names, in lower case. A query is the
user's own SQL: it is run as given, as a temporary view.

Local files and DataFrames are accepted too (what the DuckDB engine reads is uploaded into a
temporary table with COPY), which lets the conformance tests run every case here.

Text columns that need parsing (the patterns live in :mod:`rfmkit.sql.date_patterns`).
PostgreSQL has no TRY_CAST, and a failed CAST aborts the query,
so every parse is guarded by a pattern (a plain ``~`` match, which is cheap) that accepts only
values the CAST after it can read; anything else is NULL, i.e. counted as unparseable:

* numbers: optional sign, digits with an optional decimal point, optional exponent (up to three
  digits), blanks around; ``inf``/``infinity``/``nan`` in any case (then dropped as non-finite,
  as are numbers beyond the double range). Thousands separators and decimal commas are not
  numbers, as in DuckDB.
* timestamps without a format: ``YYYY-MM-DD`` (year 0001-9999), optionally followed by
  ``HH:MM[:SS[.fraction]]`` after blanks or ``T``, blanks after; the date must exist (month
  lengths and leap years are part of the pattern). Unlike DuckDB, ``/`` as date separator,
  time-zone suffixes and hour 24 are not accepted, and a seventh fraction digit rounds (DuckDB
  truncates).
* timestamps with ``date_format``: the strftime directives ``%Y`` (four digits here) ``%y %m %d %b
  %B %H %I %p %M %S %f %%``; literal letters, digits, blanks and ``- / : . , _``. Any other
  directive is refused with a :class:`~rfmkit.errors.ParameterError`. A matching value is
  rewritten (one ``regexp_replace``) into text PostgreSQL's timestamp input reads.

This module does not import psycopg until a connection is needed.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from rfmkit.cleaning import CleaningRules, QualityReport
from rfmkit.engines.aggregation import run_customer_metrics, run_customer_table
from rfmkit.engines.base import Relation
from rfmkit.engines.input_checks import prepare_input
from rfmkit.errors import InputError, ParameterError
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import ResolvedColumns
from rfmkit.sql.dialects import postgres_sql
from rfmkit.sql.metrics_query import (
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    OTHER,
    TEXT,
    TIMESTAMP,
    TIMESTAMP_TZ,
    quote,
)
from rfmkit.sql.names import table_parts

# --- the engine -------------------------------------------------------------------------------

_PG_KINDS = {
    "text": TEXT, "varchar": TEXT, "bpchar": TEXT, "name": TEXT, "citext": TEXT, "uuid": TEXT,
    "int2": INTEGER, "int4": INTEGER, "int8": INTEGER,
    "float4": FLOAT, "float8": FLOAT, "numeric": DECIMAL,
    "timestamp": TIMESTAMP, "timestamptz": TIMESTAMP_TZ, "date": DATE,
}


def postgres_kind(type_name: str) -> str:
    """Column kind of a PostgreSQL base type (``pg_type.typname``)."""
    return _PG_KINDS.get(type_name, OTHER)


class PostgresEngine:
    """Run cleaning and aggregation inside PostgreSQL.

    Parameters
    ----------
    dsn : str, optional
        ``postgresql://user@host:port/database``. May instead be given as the source of
        :meth:`read` (what ``compute_rfm("postgresql://...", engine="postgres")`` does).
    table : str or sequence of str, optional
        Table (or view) holding the transactions: ``"orders"``, ``"sales.orders"`` or
        ``("sales", "orders")``. Overridden by the ``table`` argument of :meth:`read`.
    query : str, optional
        A SELECT returning the transactions, instead of a table.
    """

    name = "postgres"

    def __init__(self, dsn: str | None = None, *, table: str | Sequence[str] | None = None,
                 query: str | None = None):
        self.dsn = dsn
        self.table = table
        self.query_text = query
        self._conn = None
        self._conn_dsn: str | None = None
        self._counter = itertools.count()
        self._reader = None  # a DuckDB engine reading local files to upload

    # --- connection ----------------------------------------------------------------------------
    def _connect(self, dsn: str | None):
        from rfmkit.engines.postgres_tables import connect

        dsn = dsn or self.dsn
        if dsn is None:
            raise ParameterError(
                "The postgres engine needs a database: pass a postgresql:// URL as the input "
                "(with table=NAME or query='SELECT ...'), or PostgresEngine(dsn)."
            )
        if self._conn is None or self._conn_dsn != dsn or self._conn.closed:
            self.close()
            self._conn = connect(dsn, autocommit=True)
            self._conn_dsn = dsn
        return self._conn

    @property
    def connection(self):
        """The open psycopg connection (connecting to ``dsn`` first if needed)."""
        return self._connect(None) if self._conn is None else self._conn

    def _fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description is not None else []

    def _frame(self, sql: str) -> pd.DataFrame:
        with self.connection.cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    # --- reading -------------------------------------------------------------------------------
    def read(self, source: Any = None, *, table: str | Sequence[str] | None = None,
             delimiter: str | None = None, encoding: str | None = None) -> Relation:
        from rfmkit.engines.postgres_tables import redact

        if source is None or (isinstance(source, str) and source.startswith(
                ("postgresql://", "postgres://"))):
            conn = self._connect(source)
            where = redact(self._conn_dsn)
            table = table if table is not None else self.table
            if (table is None) == (self.query_text is None):
                raise ParameterError(
                    f"Name the transactions in {where}: give a table (table=NAME) or a "
                    "query (query='SELECT ...'), not both." if table is not None else
                    f"Name the transactions in {where}: give a table (table=NAME) or a "
                    "query (query='SELECT ...')."
                )
            if table is not None:
                handle, shown = self._resolve_table(conn, table)
                label = f"table {shown} in {where}"
            else:
                handle = self._query_view(conn, self.query_text)
                label = f"query in {where}"
        else:
            handle, label = self._upload(source, table=table, delimiter=delimiter,
                                          encoding=encoding)
        return self._describe(handle, label)

    def _resolve_table(self, conn, table: str | Sequence[str]) -> tuple[str, str]:
        from psycopg import sql

        parts, quoted = table_parts(table)
        candidates = [parts]
        lowered = [p if q else p.lower() for p, q in zip(parts, quoted, strict=True)]
        if lowered != parts:
            candidates.append(lowered)
        for cand in candidates:
            ident = sql.Identifier(*cand).as_string(conn)
            if self._fetch("SELECT to_regclass(%s)", [ident])[0][0] is not None:
                return ".".join(quote(p) for p in cand), ident
        known = [f"{s}.{t}" for s, t in self._fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_schema NOT LIKE 'pg_temp%' ORDER BY 1, 2 LIMIT 31")]
        shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
        raise InputError(
            f"Table {sql.Identifier(*parts).as_string(conn)} does not exist (or is not visible "
            f"to this user). Tables: {shown or 'none'}."
        )

    def _query_view(self, conn, query: str) -> str:
        import psycopg
        from psycopg import sql

        view = f"rfm_source_{next(self._counter)}"
        body = query.strip().rstrip(";").strip()
        try:
            conn.execute(sql.SQL("CREATE TEMPORARY VIEW {} AS ").format(sql.Identifier(view))
                         + sql.SQL(body))
        except psycopg.Error as exc:
            raise InputError(f"The query failed in PostgreSQL: {_first_line(exc)}.") from None
        return quote(view)

    def _upload(self, source: Any, *, table: str | None, delimiter: str | None, encoding: str | None
                ) -> tuple[str, str]:
        """Read a local file or DataFrame with DuckDB and COPY it into a temporary table."""
        from psycopg import sql

        from rfmkit.engines.duckdb import DuckDBEngine
        from rfmkit.engines.postgres_tables import copy_arrow, create_table_sql

        if self._reader is None:
            self._reader = DuckDBEngine(threads=1)
        rel = self._reader.read(source, table=table, delimiter=delimiter, encoding=encoding)
        result = self._reader.con.sql(f"SELECT * FROM {rel.handle}")
        arrow = (getattr(result, "to_arrow_table", None) or result.arrow)()
        _forget(self._reader.con, rel.handle)
        name = f"rfm_upload_{next(self._counter)}"
        target = sql.Identifier(name)
        conn = self.connection
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(create_table_sql(target, arrow, temporary=True))
            copy_arrow(cur, target, arrow)
            cur.execute(sql.SQL("ANALYZE {}").format(target))
        label = str(source) if isinstance(source, (str, os.PathLike)) else rel.label
        return quote(name), label

    def _describe(self, handle: str, label: str) -> Relation:
        import psycopg

        try:
            with self.connection.cursor() as cur:
                cur.execute(postgres_sql(f"SELECT * FROM {handle} LIMIT 0", pretty=False))
                described = [(d.name, d.type_code) for d in cur.description]
        except psycopg.Error as exc:
            raise InputError(f"Could not read {label}: {_first_line(exc)}.") from None
        oids = sorted({oid for _, oid in described})
        names = dict(self._fetch(
            "SELECT t.oid, COALESCE(b.typname, t.typname) FROM pg_type AS t "
            "LEFT JOIN pg_type AS b ON b.oid = t.typbasetype AND t.typtype = 'd' "
            "WHERE t.oid = ANY(%s)", [oids]))
        columns = [name for name, _ in described]
        kinds = {name: postgres_kind(names.get(oid, "")) for name, oid in described}
        return Relation(label=label, columns=columns, kinds=kinds, handle=handle)

    # --- metrics -------------------------------------------------------------------------------
    def customer_metrics(self, rel: Relation, columns: ResolvedColumns,
                         options: MetricOptions, rules: CleaningRules
                         ) -> tuple[pd.DataFrame, QualityReport]:
        conn = self.connection
        # One snapshot for every query; flagged rows read twice (per-day consolidation) are
        # kept in a temporary table that the transaction's end drops.
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            fetch = lambda sql: self._fetch(postgres_sql(sql))  # noqa: E731
            options, money = prepare_input(rel, columns, options, fetch)
            customers, report = run_customer_metrics(
                rel, columns, options, rules, fetch=fetch,
                fetch_frame=lambda sql: self._frame(postgres_sql(sql)),
                store=self._store, money=money,
            )
        report.date_format = options.date_format
        report.date_order = options.date_order
        return customers, report

    def _store(self, sql: str) -> tuple[str, Callable[[], None]]:
        from psycopg import sql as pgsql

        name = f"rfm_flagged_{next(self._counter)}"
        self.connection.execute(
            pgsql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS ").format(
                pgsql.Identifier(name)) + pgsql.SQL(postgres_sql(sql)))
        self.connection.execute(pgsql.SQL("ANALYZE {}").format(pgsql.Identifier(name)))
        return quote(name), lambda: None

    def customer_table(self, rel: Relation, columns: ResolvedColumns) -> pd.DataFrame:
        return run_customer_table(
            rel, columns, fetch=lambda sql: self._fetch(postgres_sql(sql)),
            fetch_frame=lambda sql: self._frame(postgres_sql(sql)))

    def query(self, sql: str) -> pd.DataFrame:
        """Run PostgreSQL SQL; return the (small) result."""
        return self._frame(sql)

    def run_sql_into(self, sql: str, table: Sequence[str], *, rel: Relation | None = None
                     ) -> tuple[str, int]:
        """Replace ``table`` (``[schema,] name``, used exactly as given) with the result of
        PostgreSQL ``sql``, in one transaction on this engine's connection (so ``sql`` may read
        the temporary views and tables :meth:`read` made); no row leaves the database.

        The new table is created under a temporary name and renamed into place, so other
        sessions see the old table or the new one, never a partial one (see
        :mod:`rfmkit.engines.postgres_tables`). An empty result is refused and leaves the old table.
        ``rel`` is not needed here (there is one database). Returns the qualified name written
        and the number of rows.
        """
        from rfmkit.engines.postgres_tables import redact, replace_with_query

        schema, name = (None, table[0]) if len(table) == 1 else table
        return replace_with_query(self.connection, sql, name, schema=schema,
                                  where=redact(self._conn_dsn or self.dsn or ""))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _forget(con, handle: str) -> None:
    """Drop a DuckDB view or registered DataFrame once uploaded (frees the DataFrame)."""
    name = handle[1:-1].replace('""', '"') if handle.startswith('"') else handle
    try:
        con.unregister(name)
    except Exception:  # not a registered object: a view over a file
        pass
    con.execute(f"DROP VIEW IF EXISTS {handle}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".")
