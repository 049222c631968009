"""Result tables written into a database, all or nothing: DuckDB files and PostgreSQL.

:func:`write_tables` replaces the tables (and drops stale ones) in one transaction, so a reader
sees the old tables or the new ones. :func:`open_transaction` splits that transaction in two
(``prepare``, then ``commit``) so that the folder of files is replaced in between: files and
tables then change together (:func:`rfmkit.atomic_files.write_files`). Each transaction marks
its first table with a comment naming its run, which tells a later run, through
:func:`run_committed`, whether a killed run's tables committed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rfmkit.engines.interrupts import interruptible, is_interrupt
from rfmkit.errors import InputError, ParameterError
from rfmkit.sql.metrics_query import literal, quote

DESTINATION_FORMS = "duckdb:PATH.db or postgresql://USER@HOST:PORT/DATABASE"
_MARK = "rfmkit run "


def write_tables(target: str, tables: Mapping[str, pd.DataFrame],
                 drop: Sequence[str] = ()) -> str:
    """Replace ``tables`` in ``target`` (``duckdb:PATH`` or a ``postgresql://`` URL) and drop
    the tables named in ``drop``; returns where they went (a URL without its password)."""
    transaction = open_transaction(target, tables, drop=drop)
    transaction.prepare()
    transaction.commit()
    return transaction.where


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


def probe_destination(target: str) -> None:
    """Fail now, before any data is read, if ``target`` cannot be written: a DuckDB file that
    another program holds, that is not a DuckDB database, or whose folder is missing or
    read-only; a PostgreSQL server that refuses the connection. Changes nothing."""
    if check_destination(target) == "postgres":
        from rfmkit.engines.postgres_tables import connect

        connect(target).close()
        return
    path = target[len("duckdb:"):]
    if os.path.exists(path):
        _connect_duckdb(path).close()
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"Cannot write DuckDB database {path}: folder {folder} does not exist. "
                         "Create it or give another target='duckdb:PATH'.")
    if not os.access(folder, os.W_OK):
        raise InputError(f"Cannot write DuckDB database {path}: folder {folder} is not "
                         "writable. Give another target='duckdb:PATH'.")


def open_transaction(target: str, tables: Mapping[str, pd.DataFrame],
                     drop: Sequence[str] = ()) -> Any:
    """A transaction that replaces ``tables`` in ``target``: ``prepare()`` writes them,
    ``commit()`` makes them visible, ``rollback()`` forgets them; ``record`` is what
    :func:`run_committed` needs to tell afterwards whether it committed."""
    run = uuid.uuid4().hex
    if check_destination(target) == "duckdb":
        return DuckDBTransaction(target[len("duckdb:"):], tables, drop, run)
    from rfmkit.engines.postgres_tables import TableTransaction

    return TableTransaction(target, tables, drop=drop, comment=_MARK + run,
                            record={"run": run})


def run_committed(record: Mapping[str, Any], *, target: str | None = None) -> bool | None:
    """Whether the transaction of ``record`` (a killed run's journal) committed: True, False,
    or None when the database cannot be asked. ``target``: the full URL (with password) when
    the caller has it; a record keeps none."""
    where, run, first = record.get("target"), record.get("run"), record.get("first")
    if not isinstance(where, str) or not isinstance(run, str) or not isinstance(first, str):
        return None
    try:
        if check_destination(where) == "postgres":
            from rfmkit.engines.postgres_tables import redact, table_comment

            dsn = target if target is not None and redact(target) == redact(where) else where
            return table_comment(dsn, first) == _MARK + run
        path = where[len("duckdb:"):]
        if not os.path.exists(path):
            return False
        return _duckdb_comment(path, first) == _MARK + run
    except Exception:
        return None


class DuckDBTransaction:
    """Tables replaced in a DuckDB database file in one transaction (:func:`open_transaction`)."""

    def __init__(self, path: str | os.PathLike, tables: Mapping[str, pd.DataFrame],
                 drop: Sequence[str], run: str) -> None:
        if not tables:
            raise ParameterError("write_tables needs at least one table to write.")
        self.path, self.tables, self.drop = str(path), dict(tables), list(drop)
        self.where = self.path
        self.record = {"target": f"duckdb:{os.path.abspath(self.path)}", "run": run,
                       "first": next(iter(self.tables))}
        self._con: Any = None

    @interruptible
    def prepare(self) -> None:
        import duckdb

        self._con = _connect_duckdb(self.path)
        try:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            for name, frame in self.tables.items():
                con.register("rfmkit_frame", frame)
                con.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS SELECT * FROM rfmkit_frame")
                con.unregister("rfmkit_frame")
            for name in self.drop:
                con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
            con.execute(f"COMMENT ON TABLE {quote(self.record['first'])} IS "
                        f"{literal(_MARK + self.record['run'])}")
        except duckdb.Error as exc:
            self.rollback()
            if is_interrupt(exc):
                raise KeyboardInterrupt from None
            raise _duckdb_error(self.path, exc) from None
        except BaseException:
            self.rollback()
            raise

    @interruptible
    def commit(self) -> None:
        import duckdb

        try:
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            self.rollback()
            if is_interrupt(exc):
                raise KeyboardInterrupt from None
            raise _duckdb_error(self.path, exc) from None
        self._con.close()
        self._con = None

    def rollback(self) -> None:
        con, self._con = self._con, None
        if con is None:
            return
        try:
            con.execute("ROLLBACK")
        except Exception:
            pass  # none open, or the connection broke: nothing was committed
        try:
            con.close()
        except Exception:
            pass


def write_duckdb(path: str | os.PathLike, tables: Mapping[str, pd.DataFrame],
                 drop: Sequence[str] = ()) -> None:
    """Replace ``tables`` (and drop the tables named in ``drop``, if they exist) in a DuckDB
    database file in one transaction: on error the old tables stay as they were."""
    transaction = DuckDBTransaction(path, tables, drop, uuid.uuid4().hex)
    transaction.prepare()
    transaction.commit()


def _connect_duckdb(path: str) -> Any:
    import duckdb

    try:
        with open(path, "rb") as f:
            header = f.read(12)
    except FileNotFoundError:
        header = b""
    except OSError as exc:
        raise _duckdb_error(path, exc) from None
    if header and header[8:12] != b"DUCK":
        # checked here: DuckDB opens some such files (a .csv) as an empty in-memory database,
        # where the tables would vanish without a word
        raise _duckdb_error(path, ValueError("not a valid DuckDB database file"))
    try:
        return duckdb.connect(path)
    except duckdb.Error as exc:
        raise _duckdb_error(path, exc) from None


def _duckdb_comment(path: str, table: str) -> str | None:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        row = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'main' "
                          "AND table_name = ?", [table]).fetchone()
        return None if row is None else row[0]
    finally:
        con.close()


def _duckdb_error(path: str, exc: Exception) -> InputError:
    """A DuckDB failure on a destination as one clear message: what, and the fix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lower = text.lower()
    if "conflicting lock" in lower or "could not set lock" in lower:
        holder = text.split("(PID", 1)[1].split(")", 1)[0].strip() if "(PID" in text else ""
        who = f" (process {holder})" if holder else ""
        fix = (f"another program{who} has it open. Close that program or its connection, "
               "then run again")
    elif "not a valid duckdb database" in lower:
        fix = ("the file exists but is not a DuckDB database. Give the path of a DuckDB "
               "database, or a new file name")
    elif any(s in lower for s in ("no space left", "file too large", "disk full", "quota")):
        fix = f"the disk is full ({text}). Free space or write to another disk"
    elif "permission denied" in lower or "read-only" in lower:
        fix = f"it cannot be written ({text}). Check its permissions or give another path"
    else:
        fix = f"{text}. Check the path"
    return InputError(f"Could not write the tables to DuckDB database {path}: {fix}. "
                      "Nothing was changed.")
