"""Result tables written all or nothing (rfmkit.engines.tables)."""

from __future__ import annotations

import pandas as pd
import pytest

from rfmkit.engines.tables import write_duckdb


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
