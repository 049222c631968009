"""An interrupted DuckDB query surfaces as KeyboardInterrupt (rfmkit.engines.interrupts)."""

from __future__ import annotations

import threading

import duckdb
import pytest

from rfmkit.engines.interrupts import interruptible, is_interrupt

LONG_QUERY = "SELECT count(*) FROM range(10000000000) a(i) WHERE i % 7 = 3"


def test_an_interrupted_query_raises_keyboard_interrupt():
    con = duckdb.connect()

    @interruptible
    def run():
        return con.execute(LONG_QUERY).fetchall()

    timer = threading.Timer(0.3, con.interrupt)  # what Ctrl-C makes DuckDB do
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
    finally:
        timer.cancel()
    assert con.execute("SELECT 42").fetchone() == (42,)  # the connection still works


@pytest.mark.parametrize("exc, expected", [
    (RuntimeError("Query interrupted"), True),
    (RuntimeError("INTERRUPT Error: Query interrupted!"), True),
    (duckdb.InterruptException("Interrupted"), True),
    (RuntimeError("out of memory"), False),
    (duckdb.IOException("Query interrupted? no: disk"), False),
    (ValueError("Query interrupted"), False),
])
def test_only_duckdbs_interrupt_reports_count(exc, expected):
    assert is_interrupt(exc) is expected


def test_other_errors_pass_through_unchanged():
    @interruptible
    def fail():
        raise duckdb.CatalogException("Table x does not exist")

    with pytest.raises(duckdb.CatalogException, match="does not exist"):
        fail()
