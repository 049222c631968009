"""Result tables written all or nothing (rfmkit.engines.tables)."""

from __future__ import annotations

import pandas as pd
import pytest

from rfmkit.engines.tables import (
    open_transaction,
    probe_destination,
    run_committed,
    write_duckdb,
)
from rfmkit.errors import InputError


def test_write_duckdb_keeps_old_tables_on_failure(tmp_path):
    import duckdb

    db = tmp_path / "x.db"
    write_duckdb(db, {"t1": pd.DataFrame({"a": [1, 2]}), "t2": pd.DataFrame({"b": [1]})})

    # the second table fails after the first was already replaced inside the transaction
    with pytest.raises(Exception):  # noqa: B017 - whatever DuckDB raises for a non-table
        write_duckdb(db, {"t1": pd.DataFrame({"a": [9]}), "t2": "not a table"})
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT a FROM t1 ORDER BY a").fetchall() == [(1,), (2,)]
    assert con.execute("SELECT count(*) FROM t2").fetchone()[0] == 1


def _rows(db, table):
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_a_prepared_transaction_changes_nothing_until_it_commits(tmp_path):
    db = tmp_path / "x.db"
    write_duckdb(db, {"t": pd.DataFrame({"a": [1]}), "old": pd.DataFrame({"b": [1]})})
    rolled = open_transaction(f"duckdb:{db}", {"t": pd.DataFrame({"a": [2]})}, drop=["old"])
    rolled.prepare()
    rolled.rollback()
    assert _rows(db, "t") == [(1,)] and _rows(db, "old") == [(1,)]
    assert run_committed(rolled.record) is False

    done = open_transaction(f"duckdb:{db}", {"t": pd.DataFrame({"a": [3]})}, drop=["old"])
    done.prepare()
    assert run_committed(done.record) is None  # the file is held by the open transaction
    done.commit()
    assert _rows(db, "t") == [(3,)]
    assert run_committed(done.record) is True and run_committed(rolled.record) is False
    assert run_committed({"target": f"duckdb:{tmp_path / 'absent.db'}", "run": "r",
                          "first": "t"}) is False


_LOCK = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


def test_a_locked_database_is_refused_cleanly_before_and_during_the_write(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "held.db"
    write_duckdb(db, {"t": pd.DataFrame({"a": [1]})})
    proc = subprocess.Popen([sys.executable, "-c", _LOCK, str(db)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match=rf"{db.name}: another program \(process "
                                             rf"{proc.pid}\) has it open\. Close"):
            probe_destination(f"duckdb:{db}")
        transaction = open_transaction(f"duckdb:{db}", {"t": pd.DataFrame({"a": [2]})})
        with pytest.raises(InputError, match="Nothing was changed"):
            transaction.prepare()
    finally:
        proc.kill()
        proc.communicate()
    assert _rows(db, "t") == [(1,)]


def test_a_file_that_is_not_a_duckdb_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("id,amount\n1,2\n")
    with pytest.raises(InputError, match="sales.csv: the file exists but is not a DuckDB"):
        probe_destination(f"duckdb:{path}")
    assert path.read_text() == "id,amount\n1,2\n"


def test_a_destination_in_a_missing_folder_is_refused_and_nothing_is_created(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        probe_destination(f"duckdb:{tmp_path / 'nope' / 'x.db'}")
    probe_destination(f"duckdb:{tmp_path / 'new.db'}")  # a new file is fine
    assert list(tmp_path.iterdir()) == []  # and is not created by the check


def test_postgres_tables_commit_with_their_run_marker_or_not_at_all():
    pytest.importorskip("psycopg")
    from pg_server import get_server
    from rfmkit.engines.postgres_tables import connect

    dsn = get_server().new_database()
    target = dsn if dsn.startswith(("postgresql://", "postgres://")) else None
    if target is None:
        pytest.skip("the test server's DSN is not a URL")
    write = open_transaction(target, {"rfm_customers": pd.DataFrame({"a": [1]})})
    write.prepare()
    write.commit()
    assert run_committed(write.record, target=target) is True
    abandoned = open_transaction(target, {"rfm_customers": pd.DataFrame({"a": [2]})},
                                 drop=["absent"])
    abandoned.prepare()
    abandoned.rollback()
    assert run_committed(abandoned.record, target=target) is False
    conn = connect(target, autocommit=True)
    try:
        assert conn.execute("SELECT a FROM rfm_customers").fetchall() == [(1,)]
    finally:
        conn.close()
