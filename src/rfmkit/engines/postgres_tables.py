"""Writing tables to PostgreSQL, all or nothing.

:func:`write_tables` replaces a set of tables atomically: every table is first written (with COPY)
into a new table under a temporary name, then, in the same transaction, each old table is dropped
and the new one renamed into its place. Nothing is visible to other sessions until the single
COMMIT, so a failed run, including a connection killed in the middle of a COPY, rolls back
entirely and leaves the previous tables untouched and complete.

Notes
-----
* A replaced table is a new table: privileges granted on the old one (and comments, indexes)
  are not carried over. Grant readers access through ``ALTER DEFAULT PRIVILEGES`` or a schema-level
  grant. A view that depends on an old table makes the replacement fail (the old tables stay);
  rfmkit never drops dependent objects (no ``CASCADE``).
* Missing values (``None``, ``NaN``, ``NaT``) are written as NULL.
* Table and column names are always quoted identifiers, so case, spaces and quotes survive;
  names longer than PostgreSQL's 63-byte limit are refused rather than silently truncated.

psycopg is imported only when a function here is called (``pip install 'rfmkit[postgres]'``).
"""

from __future__ import annotations

import io
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from rfmkit.errors import EngineUnavailableError, InputError, ParameterError, install_hint

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as pgsql

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1; longer names are truncated silently
_COPY_BATCH_ROWS = 65_536


def import_psycopg():
    """Import psycopg, or fail with the install command."""
    try:
        import psycopg
    except ImportError as exc:
        raise EngineUnavailableError(
            f"PostgreSQL support needs a package that is not installed ({exc.name or exc}). "
            f"Install it with: {install_hint('postgres')}"
        ) from exc
    return psycopg


def connect(dsn: str, **kwargs: Any) -> psycopg.Connection:
    """Connect, naming the application ``rfmkit`` unless the URL names it."""
    psycopg = import_psycopg()
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ParameterError(f"Invalid PostgreSQL connection URL: {exc}.") from None
    if "application_name" not in given:
        kwargs.setdefault("application_name", "rfmkit")
    try:
        return psycopg.connect(dsn, **kwargs)
    except psycopg.OperationalError as exc:
        raise InputError(
            f"Could not connect to PostgreSQL at {redact(dsn)}: {str(exc).strip()}"
        ) from None


def redact(dsn: str) -> str:
    """The connection URL without its password (for messages and labels)."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        return "postgresql://..."
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        return "postgresql://..."
    user = parts.get("user")
    host = parts.get("host", "")
    port = parts.get("port")
    where = f"{host}:{port}" if port else host
    return f"postgresql://{user + '@' if user else ''}{where}/{parts.get('dbname', '')}"


def check_identifier(name: str, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ParameterError(f"The {what} name must be a non-empty string. Got {name!r} instead.")
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise ParameterError(
            f"The {what} name {name!r} is longer than PostgreSQL's limit of "
            f"{MAX_IDENTIFIER_BYTES} bytes (it would be truncated). Choose a shorter name."
        )
    if "\x00" in name:
        raise ParameterError(f"The {what} name {name!r} contains a NUL character.")
    return name


# --- Arrow -> PostgreSQL ------------------------------------------------------------------------

def pg_type(arrow_type: pa.DataType, column: str = "?") -> str:
    """The PostgreSQL column type for an Arrow type."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        return pg_type(t.value_type, column)
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_uint64(t):
        return "numeric(20, 0)"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision}, {t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp with time zone" if t.tz else "timestamp without time zone"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time without time zone"
    if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)
            or str(t) == "string_view"):
        return "text"
    raise ParameterError(
        f"Column {column!r} has type {t}, which rfmkit cannot write to PostgreSQL. Convert it "
        "to text, a number, a date or a timestamp first."
    )


def arrow_from_pandas(frame: pd.DataFrame) -> pa.Table:
    """A pandas DataFrame as an Arrow table (missing values, NaN included, become nulls)."""
    frame = frame.rename(columns=str)
    with warnings.catch_warnings():
        # pyarrow reads tz-aware columns through an accessor pandas 3 deprecates; harmless here
        warnings.filterwarnings("ignore", message=".*drops timezone information.*")
        return pa.Table.from_pandas(frame, preserve_index=False)


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded (the CSV writer needs plain arrays)."""
    fields = [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
              for f in table.schema]
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)


def create_table_sql(target: pgsql.Composable, table: pa.Table, *, temporary: bool = False
                     ) -> pgsql.Composed:
    from psycopg import sql

    columns = [
        sql.SQL("{} {}").format(sql.Identifier(check_identifier(f.name, "column")),
                                sql.SQL(pg_type(f.type, f.name)))
        for f in table.schema
    ]
    return sql.SQL("CREATE {}TABLE {} ({})").format(
        sql.SQL("TEMPORARY " if temporary else ""), target, sql.SQL(", ").join(columns))


def copy_arrow(cursor: psycopg.Cursor, target: pgsql.Composable, table: pa.Table) -> int:
    """COPY an Arrow table into an existing table (columns by name); return the row count.

    Rows travel as CSV in batches: nulls as unquoted empty fields, strings always quoted (so an
    empty string stays an empty string), floats in shortest round-trip form, NaN and infinities
    as PostgreSQL spells them.
    """
    import pyarrow.csv as pacsv
    from psycopg import sql

    if table.num_columns == 0:
        return 0
    table = _plain(table)
    names = sql.SQL(", ").join(sql.Identifier(f.name) for f in table.schema)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)
    with cursor.copy(statement) as copy:
        for batch in table.to_batches(max_chunksize=_COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getvalue())
    return table.num_rows


# --- atomic replacement ------------------------------------------------------------------------

def write_tables(dsn: str, tables: Mapping[str, pd.DataFrame | pa.Table], *,
                 schema: str | None = None, lock_timeout: float = 60.0,
                 drop: Sequence[str] = ()) -> list[str]:
    """Replace ``tables`` in a PostgreSQL database, all or nothing.

    Parameters
    ----------
    dsn : str
        A ``postgresql://`` connection URL.
    tables : dict of str to pandas.DataFrame (or pyarrow.Table)
        Table name -> contents. Names are used exactly as given (quoted identifiers).
    schema : str, optional
        Target schema (must exist); default the connection's current schema (the first schema
        of its ``search_path``).
    lock_timeout : float
        Seconds to wait for readers of an old table to finish before giving up (the old tables
        then stay as they were).
    drop : sequence of str
        Tables to drop (if they exist) in the same transaction: an earlier run's table that
        this run no longer produces (e.g. clusters), which would otherwise be left stale.

    Returns
    -------
    list of str
        The qualified names written, e.g. ``"public"."rfm_customers"``.
    """
    transaction = TableTransaction(dsn, tables, schema=schema, lock_timeout=lock_timeout,
                                   drop=drop)
    transaction.prepare()
    transaction.commit()
    return transaction.written


class _Abandoned(Exception):
    """Thrown into an open transaction to roll it back."""


class TableTransaction:
    """:func:`write_tables` in two steps: ``prepare()`` writes and swaps every table inside
    one open transaction, ``commit()`` makes it visible, ``rollback()`` forgets it. With
    ``comment``, the first table gets it (``COMMENT ON TABLE``) in the same transaction: a
    later session tells from it whether this one committed (:func:`table_comment`)."""

    def __init__(self, dsn: str, tables: Mapping[str, pd.DataFrame | pa.Table], *,
                 schema: str | None = None, lock_timeout: float = 60.0,
                 drop: Sequence[str] = (), comment: str | None = None,
                 record: Mapping[str, Any] | None = None) -> None:
        if not tables:
            raise ParameterError("write_tables needs at least one table to write.")
        for name in (*tables, *drop):
            check_identifier(name, "table")
        if schema is not None:
            check_identifier(schema, "schema")
        import_psycopg()
        self.dsn, self.schema, self.lock_timeout = dsn, schema, lock_timeout
        self.drop, self.comment = list(drop), comment
        self.arrow = {name: frame if isinstance(frame, pa.Table) else arrow_from_pandas(frame)
                      for name, frame in tables.items()}
        for frame in self.arrow.values():
            for field in frame.schema:
                check_identifier(field.name, "column")
        self.record = {**(record or {}), "target": redact(dsn), "first": next(iter(tables))}
        self.written: list[str] = []
        self._conn: Any = None
        self._block: Any = None

    @property
    def where(self) -> str:
        return f"{redact(self.dsn)} ({', '.join(self.written)})"

    def prepare(self) -> None:
        from psycopg import sql

        self._conn = connect(self.dsn, autocommit=True)
        try:
            self._block = replacing(self._conn, redact(self.dsn), lock_timeout=self.lock_timeout)
            cur = self._block.__enter__()
            target_schema = _target_schema(cur, self.schema)
            staged = []
            for name, frame in self.arrow.items():
                stage = _stage_name()
                target = sql.Identifier(target_schema, stage)
                cur.execute(create_table_sql(target, frame))
                copy_arrow(cur, target, frame)
                staged.append((name, stage))
            for name, stage in staged:
                final = _swap_in(cur, target_schema, stage, name)
                self.written.append(final.as_string(self._conn))
            for name in self.drop:
                _drop_old(cur, sql.Identifier(target_schema, name), target_schema, name)
            if self.comment is not None:
                cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
                    sql.Identifier(target_schema, self.record["first"]),
                    sql.Literal(self.comment)))
        except BaseException as exc:
            block, self._block = self._block, None
            try:
                if block is not None:  # maps psycopg's errors to rfmkit's, after rolling back
                    block.__exit__(type(exc), exc, exc.__traceback__)
            finally:
                self._close()
            raise

    def commit(self) -> None:
        block, self._block = self._block, None
        try:
            block.__exit__(None, None, None)
        finally:
            self._close()

    def rollback(self) -> None:
        block, self._block = self._block, None
        try:
            if block is not None:
                block.__exit__(_Abandoned, _Abandoned(), None)
        except BaseException:
            pass  # rolled back, or the connection broke: nothing was committed
        finally:
            self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def table_comment(dsn: str, table: str) -> str | None:
    """The comment on ``table`` (in the connection's current schema), or None."""
    conn = connect(dsn, autocommit=True)
    try:
        with conn.cursor() as cur:
            row = cur.execute("SELECT obj_description(to_regclass(quote_ident(%s)), 'pg_class')",
                              [table]).fetchone()
        return None if row is None else row[0]
    finally:
        conn.close()


def replace_with_query(conn: psycopg.Connection, query: str, table: str, *,
                       schema: str | None = None, where: str = "PostgreSQL",
                       lock_timeout: float = 60.0) -> tuple[str, int]:
    """Replace ``table`` with the result of ``query``, all or nothing, inside the database.

    Like :func:`write_tables`, but the rows come from a query run by the server (``CREATE TABLE
    ... AS``), so none of them passes through Python. Runs on ``conn`` (an autocommit
    connection), so the query may read the session's temporary tables and views. An empty
    result is refused: the old table then stays as it was (an empty table would make tools
    that sync from it delete every record).

    Parameters
    ----------
    conn : psycopg.Connection
        An open connection in autocommit mode.
    query : str
        A PostgreSQL SELECT (a WITH query is fine).
    table, schema : str
        The table to replace, used exactly as given (quoted identifiers); ``schema`` defaults
        to the connection's current schema.
    where : str
        How messages name the database (a redacted URL).
    lock_timeout : float
        As in :func:`write_tables`.

    Returns
    -------
    (str, int)
        The qualified name written, e.g. ``"public"."rfm_assignments"``, and its row count.
    """
    check_identifier(table, "table")
    if schema is not None:
        check_identifier(schema, "schema")
    from psycopg import sql

    with replacing(conn, where, lock_timeout=lock_timeout) as cur:
        target_schema = _target_schema(cur, schema)
        stage = _stage_name()
        cur.execute(sql.SQL("CREATE TABLE {} AS ").format(sql.Identifier(target_schema, stage))
                    + sql.SQL(query))
        rows = cur.rowcount
        if rows == 0:
            shown = sql.Identifier(target_schema, table).as_string(conn)
            raise InputError(
                f"The query returned no rows, so {shown} in {where} was left as it was. Check "
                "the input, the column mapping and the as-of date."
            )
        final = _swap_in(cur, target_schema, stage, table)
    return final.as_string(conn), rows


def _stage_name() -> str:
    return f"rfmkit_new_{uuid.uuid4().hex[:16]}"


def _swap_in(cur: psycopg.Cursor, schema: str, stage: str, name: str) -> pgsql.Identifier:
    """Drop the old table ``name`` (if any) and rename the staged table into its place."""
    from psycopg import sql

    final = sql.Identifier(schema, name)
    _drop_old(cur, final, schema, name)
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
        sql.Identifier(schema, stage), sql.Identifier(name)))
    return final


@contextmanager
def replacing(conn: psycopg.Connection, where: str, *, lock_timeout: float = 60.0
              ) -> Iterator[psycopg.Cursor]:
    """A cursor in one transaction that replaces tables; failures become one clear error.

    Nothing is visible to other sessions until the transaction commits when the block ends;
    any error inside rolls everything back.
    """
    psycopg = import_psycopg()
    from psycopg import sql

    step = "writing"
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(
                sql.Literal(f"{int(lock_timeout * 1000)}ms")))
            yield cur
            step = "committing"
    except psycopg.errors.DependentObjectsStillExist as exc:
        raise InputError(
            f"Could not replace the tables in {where}: {exc.diag.message_primary}; "
            f"{exc.diag.message_detail or ''} Drop or change those objects first (rfmkit never "
            "drops them for you). Nothing was changed."
        ) from None
    except psycopg.errors.LockNotAvailable:
        raise InputError(
            f"Could not replace the tables in {where}: another session kept using an old "
            f"table for more than {lock_timeout:g} s. Nothing was changed; try again."
        ) from None
    except psycopg.OperationalError as exc:
        # the connection broke (server restart, killed backend, network)
        outcome = ("Nothing was changed: the transaction was rolled back, the previous tables "
                   "are intact." if step == "writing" else
                   "The connection broke while committing, so whether the new tables replaced "
                   "the old ones is unknown; check them.")
        raise InputError(
            f"Writing tables to {where} failed: {_first_line(exc)}. {outcome}"
        ) from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _target_schema(cur: psycopg.Cursor, schema: str | None) -> str:
    if schema is None:
        current = cur.execute("SELECT current_schema()").fetchone()[0]
        if current is None:
            raise ParameterError(
                "The connection has no current schema (its search_path names no existing "
                "schema). Give the schema to write to."
            )
        return current
    found = cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    if found is None:
        raise ParameterError(f"Schema {schema!r} does not exist in the target database. Create "
                             "it first (CREATE SCHEMA) or pick another.")
    return schema


def _drop_old(cur: psycopg.Cursor, final: pgsql.Identifier, schema: str, name: str) -> None:
    from psycopg import sql

    kind = cur.execute(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s", [schema, name]).fetchone()
    if kind is None:
        return
    if kind[0] not in ("r", "p"):
        raise InputError(
            f"{schema}.{name} exists and is not a table (a view or another object); rfmkit only "
            "replaces tables it can drop safely. Nothing was changed."
        )
    cur.execute(sql.SQL("DROP TABLE {}").format(final))
