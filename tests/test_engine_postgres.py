"""The PostgreSQL engine and atomic table writes, against a real throwaway server.

Every customer table is compared with the DuckDB engine's on the same data (integers and
timestamps exactly, floats to 1e-9); the server is started by tests/pg_server.py (skipped when
initdb/pg_ctl are missing).
"""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest

from engine_comparison import same_as_duckdb
from pg_server import get_server
from rfmkit.cleaning import CleaningRules
from rfmkit.engines import get_engine
from rfmkit.engines.postgres import PostgresEngine
from rfmkit.engines.postgres_tables import redact, write_tables
from rfmkit.errors import InputError, ParameterError, SchemaError
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import compute_rfm
from rfmkit.schema import ColumnMapping
from rfmkit.sql.date_patterns import compile_strptime
from rfmkit.sql.dialects import postgres_sql
from rfmkit.sql.names import table_parts

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed "
                                                "(pip install 'rfmkit[postgres]')")
from psycopg import sql  # noqa: E402

pytestmark = pytest.mark.postgres

METHOD_Q = MetricOptions(frequency="days", monetary="mean", consolidate_days=True)


# --- helpers -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def module_dsn() -> str:
    """An empty database on the session's throwaway server, for this module."""
    return get_server().new_database()


@pytest.fixture
def pg_dsn() -> str:
    """An empty database for one test."""
    return get_server().new_database()


@pytest.fixture(scope="module")
def engine(module_dsn):
    engine = PostgresEngine(module_dsn)
    yield engine
    engine.close()


def load_table(dsn: str, name: str | tuple[str, str], df: pd.DataFrame) -> None:
    """Create a real table from a DataFrame (through write_tables: the path under test too)."""
    schema, table = (None, name) if isinstance(name, str) else name
    if schema is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    write_tables(dsn, {table: df}, schema=schema)


def fetch(dsn: str, query, params=None) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description is not None else []


# --- SQL translation (no server needed) -------------------------------------------------------

def test_translation_leaves_no_duckdb_only_function():
    sql_text = postgres_sql(
        "SELECT TRY_CAST(a AS DOUBLE), TRY_CAST(b AS TIMESTAMP), "
        "TRY_STRPTIME(CAST(c AS VARCHAR), '%d/%m/%Y %H:%M'), "
        "x IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE)) FROM t")
    for banned in ("TRY_CAST", "TRY_STRPTIME", "ISNAN", "IS_INF", "IS_NAN"):
        assert banned not in sql_text.upper()
    assert "REGEXP_REPLACE" in sql_text and " ~ '^" in sql_text


@pytest.mark.parametrize("fmt, message", [
    ("%d/%m/%Y %j", r"uses %j.*Supported: %Y %y %m %d"),
    ("%Y-%m-%d %z", r"uses %z"),
    ("%Y-%m-%d %Y", r"same field twice"),
    ("%m %b %Y", r"same field twice"),
    ("%Y^%m", r"contains '\^'"),
    ("%Y'%m", r"contains \"'\""),
])
def test_unsupported_date_formats_are_refused(fmt, message):
    with pytest.raises(ParameterError, match=message):
        compile_strptime(fmt)


def test_format_regex_has_no_backslash_or_quote():
    regex, groups = compile_strptime("%d.%m.%Y %I:%M:%S.%f %p")
    assert "\\" not in regex and "'" not in regex
    assert groups == {"d": 1, "m": 2, "Y": 3, "I": 4, "M": 5, "S": 6, "f": 7, "p": 8}
    regex, groups = compile_strptime("%B %d, %Y")
    assert groups == {"B": 1, "d": 2, "Y": 3}


@pytest.mark.parametrize("name, parts", [
    ("orders", ["orders"]),
    ("sales.orders", ["sales", "orders"]),
    ('"My Schema"."we""ird.Table"', ["My Schema", 'we"ird.Table']),
    ("Sales Data", ["Sales Data"]),
    (("a.b", "c"), ["a.b", "c"]),
])
def test_table_names_split_into_parts(name, parts):
    assert table_parts(name)[0] == parts


@pytest.mark.parametrize("name", ["a.b.c", "a..b", '"unterminated', ""])
def test_bad_table_names_are_refused(name):
    with pytest.raises(ParameterError):
        table_parts(name)


def test_redact_hides_the_password():
    shown = redact("postgresql://alice:s3cret@db.example.com:5433/shop?sslmode=require")
    assert "s3cret" not in shown
    assert shown == "postgresql://alice@db.example.com:5433/shop"


# --- the engine against DuckDB --------------------------------------------------------------------

GRID = list(itertools.product(["orders", "days", "rows"], ["sum", "mean"], [False, True],
                              ["drop", "net"], [True, False],
                              [None, dt.date(2024, 1, 31)]))


@pytest.mark.parametrize("frequency, monetary, consolidate, returns, dedup, as_of", GRID)
def test_tiny_transactions_every_option_combination(engine, tiny_transactions, frequency,
                                                    monetary, consolidate, returns, dedup, as_of):
    options = MetricOptions(as_of=as_of, frequency=frequency, monetary=monetary,
                            consolidate_days=consolidate)
    rules = CleaningRules(returns=returns, drop_duplicates=dedup)
    same_as_duckdb(tiny_transactions, engine=engine, options=options, cleaning=rules)


@pytest.mark.parametrize("options, rules", [
    (MetricOptions(), CleaningRules()),
    (METHOD_Q, CleaningRules(returns="net", drop_duplicates=False)),
    (MetricOptions(frequency="rows", monetary="mean", as_of=dt.date(2022, 9, 30)),
     CleaningRules(drop_cancellations=False, returns="net")),
], ids=["defaults", "method_q_net", "rows_mean_asof"])
def test_synthetic_tables_match_duckdb(engine, synthetic_lines, synthetic_orders, options,
                                       rules):
    # synthetic_orders has text dates and text amounts: the guarded parses run here
    for df in (synthetic_lines, synthetic_orders):
        result = same_as_duckdb(df, engine=engine, options=options, cleaning=rules)
        assert len(result.customers) > 100


def test_table_and_column_names_with_spaces_quotes_and_case(module_dsn, tiny_transactions):
    weird = {"InvoiceNo": 'Invoice "No"', "CustomerID": "Customer ID",
             "InvoiceDate": "DATE of sale", "Quantity": "qty'", "UnitPrice": "Unit.Price"}
    df = tiny_transactions.rename(columns=weird)
    load_table(module_dsn, ("My Schema", 'Sales "2024".Q1'), df)
    columns = ColumnMapping(customer="Customer ID", order='Invoice "No"', date="DATE of sale",
                            quantity="qty'", price="Unit.Price")
    engine = PostgresEngine(table='"My Schema"."Sales ""2024"".Q1"')
    try:
        result = same_as_duckdb(df, engine_source=module_dsn, engine=engine, columns=columns)
        assert result.quality.source.startswith('table "My Schema"."Sales ""2024"".Q1" in ')
    finally:
        engine.close()
    engine = PostgresEngine(table=("My Schema", 'Sales "2024".Q1'))  # parts given separately
    try:
        same_as_duckdb(df, engine_source=module_dsn, engine=engine, columns=columns)
    finally:
        engine.close()


def test_unquoted_table_name_falls_back_to_lower_case(module_dsn, tiny_transactions):
    load_table(module_dsn, "orders_lower", tiny_transactions)
    engine = PostgresEngine(table="Orders_Lower")
    try:
        same_as_duckdb(tiny_transactions, engine_source=module_dsn, engine=engine)
    finally:
        engine.close()


def test_query_input(module_dsn, tiny_transactions):
    load_table(module_dsn, "tiny_for_query", tiny_transactions)
    query = ('SELECT * FROM tiny_for_query WHERE "CustomerID" <> \'F\' '
             "OR \"CustomerID\" IS NULL;")
    engine = get_engine("postgres", query=query)
    try:
        expected = tiny_transactions[tiny_transactions["CustomerID"].ne("F")
                                     | tiny_transactions["CustomerID"].isna()]
        result = same_as_duckdb(expected.reset_index(drop=True), engine_source=module_dsn,
                                engine=engine)
        assert "F" not in set(result.customers["customer_id"])
        assert result.quality.source.startswith("query in postgresql://postgres@127.0.0.1:")
    finally:
        engine.close()


def test_a_name_is_never_pasted_into_sql(module_dsn, tiny_transactions):
    load_table(module_dsn, "victim", tiny_transactions)
    for evil in ('victim; DROP TABLE victim; --', ('public', 'victim"; DROP TABLE victim; --'),
                 'public."victim""; DROP TABLE victim; --"'):
        engine = PostgresEngine(table=evil)
        try:
            with pytest.raises(InputError, match=r"does not exist.*Tables: .*public\.victim"):
                compute_rfm(module_dsn, engine=engine)
        finally:
            engine.close()
    assert fetch(module_dsn, "SELECT count(*) FROM victim")[0][0] == len(tiny_transactions)


def test_table_or_query_is_required_and_exclusive(module_dsn):
    engine = PostgresEngine()
    try:
        with pytest.raises(ParameterError, match=r"give a table \(table=NAME\) or a query"):
            engine.read(module_dsn)
    finally:
        engine.close()
    engine = PostgresEngine(query="SELECT 1 AS x")
    try:
        with pytest.raises(ParameterError, match="not both"):
            engine.read(module_dsn, table="orders")
    finally:
        engine.close()
    with pytest.raises(ParameterError, match="needs a database"):
        PostgresEngine().read(pd.DataFrame({"a": [1]}))


def test_failing_query_is_an_input_error(module_dsn):
    engine = PostgresEngine(query="SELECT * FROM no_such_table")
    try:
        with pytest.raises(InputError, match=r"The query failed in PostgreSQL: .*no_such_table"):
            engine.read(module_dsn)
    finally:
        engine.close()


def test_bad_connection_url_names_the_server_without_password():
    engine = PostgresEngine("postgresql://bob:hunter2@127.0.0.1:1/none", table="t")
    with pytest.raises(InputError, match=r"Could not connect to PostgreSQL at "
                                         r"postgresql://bob@127\.0\.0\.1:1/none") as info:
        engine.read()
    assert "hunter2" not in str(info.value)


def test_column_kinds_come_from_the_catalog(module_dsn, engine):
    with psycopg.connect(module_dsn, autocommit=True) as conn:
        conn.execute("CREATE DOMAIN money_amount AS numeric(12, 2)")
        conn.execute(
            "CREATE TABLE kinds (a text, b varchar(10), c char(3), d smallint, e integer, "
            "f bigint, g real, h double precision, i numeric(10, 2), j timestamp, "
            "k timestamptz, l date, m uuid, n boolean, o money_amount, p jsonb)")
    rel = engine.read(module_dsn, table="kinds")
    assert rel.kinds == {
        "a": "text", "b": "text", "c": "text", "d": "integer", "e": "integer", "f": "integer",
        "g": "float", "h": "float", "i": "decimal", "j": "timestamp", "k": "timestamp_tz",
        "l": "date", "m": "text", "n": "other", "o": "decimal", "p": "other",
    }


def test_text_numbers_parse_as_in_duckdb(module_dsn, engine):
    values = ["12.5", " 3 ", "1e3", "+.5", "5.", "-2", "0007", "1E-2", "1e400", "inf",
              "-Infinity", "NaN", "1,234.50", "", "abc", "12.3.4", "1e", "0x10", None]
    df = pd.DataFrame({
        "customer": [f"c{i}" for i in range(len(values))],
        "date": pd.Timestamp("2024-01-01 10:00"),
        "amount": values,
    })
    df["date"] = df["date"].astype("datetime64[us]")
    load_table(module_dsn, "text_numbers", df)
    pg = PostgresEngine(table="text_numbers")
    try:
        result = same_as_duckdb(df, engine_source=module_dsn, engine=pg,
                                cleaning=CleaningRules(returns="net"))
    finally:
        pg.close()
    assert result.quality.dropped["unparseable_amount"] == 11


@pytest.mark.parametrize("numbers", [{}, {"decimal": ",", "thousands": "."},
                                     {"thousands": ","}, {"decimal": ",", "thousands": " "},
                                     {"decimal": ".", "thousands": "'"}],
                         ids=["plain", "eu", "us", "fr", "ch"])
def test_text_amounts_in_number_formats_parse_as_in_duckdb(module_dsn, engine, numbers):
    # one currency: amounts in two are an error (test_amounts_in_two_currencies_are_refused)
    values = ["€5.00", "€ 7.10", "12.50 EUR", "-€3", "1.234,50 €", "7,10", "1,234.50", "1 234,50",
     "1\u00a0234", "EUR 1'234.50", "12€50", "1.234", "12,34,567", "eur 4", "", None]
    df = pd.DataFrame({"customer": [f"c{i}" for i in range(len(values))] + ["z"],
                       "date": pd.Timestamp("2024-01-01 10:00"), "amount": values + ["5"]})
    df["date"] = df["date"].astype("datetime64[us]")
    load_table(module_dsn, "text_amounts", df)
    pg = PostgresEngine(table="text_amounts")
    try:
        result = same_as_duckdb(df, engine_source=module_dsn, engine=pg,
                                options=MetricOptions(**numbers),
                                cleaning=CleaningRules(returns="net"))
    finally:
        pg.close()
    assert result.quality.cleaned["currency_sign"] > 0


def test_amounts_in_two_currencies_are_refused(module_dsn):
    """The same error as DuckDB's: the marks are found by the same SQL, in the table."""
    df = pd.DataFrame({"customer": ["a", "b", "c", "d"], "amount": ["$5", "US$ 4", "S$ 3", "2"],
                       "date": pd.Timestamp("2024-01-01 10:00")})
    df["date"] = df["date"].astype("datetime64[us]")
    load_table(module_dsn, "two_currencies", df)
    pg = PostgresEngine(table="two_currencies")
    try:
        with pytest.raises(SchemaError, match="mixes currencies") as caught:
            compute_rfm(module_dsn, engine=pg)
    finally:
        pg.close()
    assert "'US$' (1 value, e.g. 'US$ 4')" in str(caught.value)
    assert "'S$' (1 value, e.g. 'S$ 3')" in str(caught.value)
    assert "'$' (1 value, e.g. '$5')" in str(caught.value)


def test_text_timestamps_parse_as_in_duckdb(module_dsn):
    values = ["2024-01-05", "2024-1-5 1:2:3", "2024-01-05T10:00", "2024-01-05 10:00:00.5",
              "2024-01-05  10:00", "2024-01-05 10:00 ", "2024-02-29 12:00", "2023-02-29",
              "2024-04-31", "2024-13-01", "2024-01-05 10:60", "2024-00-10", "05/01/2024",
              "not a date", "", "2024", "20240105", None]
    df = pd.DataFrame({"customer": [f"c{i}" for i in range(len(values))], "date": values,
                       "amount": 10.0})
    load_table(module_dsn, "text_dates", df)
    pg = PostgresEngine(table="text_dates")
    try:
        result = same_as_duckdb(df, engine_source=module_dsn, engine=pg)
    finally:
        pg.close()
    assert len(result.customers) == 7


@pytest.mark.parametrize("fmt, values", [
    ("%d/%m/%Y %H:%M", ["05/01/2024 10:00", "5/1/2024 9:05", "31/12/2023 23:59",
                        "29/02/2024 00:00", "29/02/2023 00:00", "31/04/2024 10:00",
                        "05/13/2024 10:00", "05/01/2024 24:00", " 05/01/2024 10:00",
                        "05/01/2024  10:00", "2024-01-05 10:00", "", "garbage"]),
    ("%d-%b-%Y", ["05-jan-2024", "05-JAN-2024", "5-Dec-2023", "05-Janu-2024", "05-xyz-2024"]),
    ("%d %B %y", ["05 January 24", "05 DECEMBER 68", "05 march 69", "05 Jan 24"]),
    ("%Y-%m-%d %I:%M %p", ["2024-01-05 01:00 PM", "2024-01-05 12:00 AM", "2024-01-05 12:30 pm",
                           "2024-01-05 13:00 PM", "2024-01-05 00:00 AM"]),
    ("%Y%m%d %H%M%S.%f", ["20240105 101112.5", "20240105 101112.123456", "2024015 101112.1"]),
    ("%d/%m %I:%M", ["05/01 12:30", "05/01 01:30", "29/02 10:00", "31/01 10:00"]),
])
def test_text_timestamps_with_a_format_parse_as_in_duckdb(module_dsn, fmt, values):
    df = pd.DataFrame({"customer": [f"c{i}" for i in range(len(values))], "date": values,
                       "amount": 10.0})
    name = f"fmt_{abs(hash(fmt)) % 10**8}"
    load_table(module_dsn, name, df)
    pg = PostgresEngine(table=name)
    try:
        result = same_as_duckdb(df, engine_source=module_dsn, engine=pg,
                                options=MetricOptions(date_format=fmt))
    finally:
        pg.close()
    assert len(result.customers) >= 2


def test_instants_are_read_as_utc_whatever_the_session_time_zone(module_dsn):
    # 23:30 UTC on Jan 31 is Feb 1 in Tokyo: the calendar day must be the UTC one, as in DuckDB
    instants = pd.to_datetime(["2024-01-31 23:30", "2024-01-10 00:15", "2024-01-20 12:00"],
                              utc=True).astype("datetime64[us, UTC]")
    df = pd.DataFrame({"customer": ["a", "a", "b"], "date": instants, "amount": [5.0, 7.0, 3.0]})
    load_table(module_dsn, "instants", df)
    tokyo = module_dsn + "?options=-c%20TimeZone%3DAsia/Tokyo"
    pg = PostgresEngine(table="instants")
    try:
        result = same_as_duckdb(df, engine_source=tokyo, engine=pg)
    finally:
        pg.close()
    assert result.as_of == dt.date(2024, 1, 31)
    assert result.customers["last_purchase"].tolist() == [pd.Timestamp("2024-01-31 23:30"),
                                                          pd.Timestamp("2024-01-20 12:00")]


def test_customer_level_table(module_dsn):
    df = pd.DataFrame({"Customer": ["c2", "c1", "10"], "Recency": [4, 3, 1],
                       "Frequency": [1, 2, 1], "Monetary": ["20", "50.5", "5"]})
    load_table(module_dsn, "crm", df)
    pg = PostgresEngine(table="crm")
    try:
        same_as_duckdb(df, engine_source=module_dsn, engine=pg)
        bad = df.assign(Monetary=["20", "n/a", "5"])
        load_table(module_dsn, "crm", bad)
        with pytest.raises(SchemaError, match=r"'Monetary' \(monetary\).*found 'n/a'"):
            compute_rfm(module_dsn, engine=pg)
    finally:
        pg.close()


def test_unparseable_date_column_is_a_schema_error(engine, tiny_transactions):
    # compact dates are no layout rfmkit detects: an error, until a format is given
    df = tiny_transactions.assign(InvoiceDate=tiny_transactions["InvoiceDate"].dt.strftime(
        "%Y%m%d"))
    with pytest.raises(SchemaError, match=r"'InvoiceDate' \(date\).*none of its 16 values"):
        compute_rfm(df, engine=engine)
    result = same_as_duckdb(df, engine=engine, options=MetricOptions(date_format="%Y%m%d"))
    assert len(result.customers) == 4


def test_text_date_layouts_are_detected_as_in_duckdb(engine, tiny_transactions):
    # day-first dates (the 20th, 25th and 31st decide), ambiguous ones refused as in DuckDB
    df = tiny_transactions.assign(InvoiceDate=tiny_transactions["InvoiceDate"].dt.strftime(
        "%d.%m.%Y"))
    assert len(same_as_duckdb(df, engine=engine).customers) == 4
    week = pd.DataFrame({"customer_id": [f"c{i}" for i in range(14)],
                         "order_date": [f"01/0{1 + i % 7}/2023" for i in range(14)],
                         "amount": [1.0] * 14})
    with pytest.raises(SchemaError, match=r"date_order='dayfirst'"):
        compute_rfm(week, engine=engine)


@pytest.mark.slow
def test_online_retail_method_q_facts(module_dsn, shared_data):
    path = shared_data / "online_retail.parquet"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    df = pd.read_parquet(path)
    load_table(module_dsn, "online_retail", df)
    pg = PostgresEngine(table="online_retail")
    try:
        result = same_as_duckdb(path, engine_source=module_dsn, engine=pg, options=METHOD_Q,
                                cleaning=CleaningRules(drop_duplicates=False))
    finally:
        pg.close()
    c = result.customers
    assert len(c) == 4338
    assert int(c["recency"].sum()) == 399_354
    assert int(c["frequency"].sum()) == 16_763
    assert int((c["monetary"] > 2500).sum()) == 36
    row = c.loc[c["customer_id"] == "12346"].iloc[0]
    assert (row["recency"], row["frequency"]) == (325, 1)
    assert row["monetary"] == pytest.approx(77183.60, rel=1e-12)


# --- atomic table writes ---------------------------------------------------------------------

def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "recency": rng.integers(0, 400, n),
        "monetary": rng.random(n) * 100,
        "last_purchase": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n),
                                                                      unit="s"),
        "segment": rng.choice(["Champions", "Lost", "At Risk"], n),
    })


def _snapshot(dsn: str, table: str, schema: str = "public") -> pd.DataFrame:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(
            sql.Identifier(schema, table)))
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def _staging_tables(dsn: str) -> list[str]:
    return [r[0] for r in fetch(dsn, "SELECT relname FROM pg_class WHERE relname LIKE "
                                     "'rfmkit\\_new\\_%'")]


def test_write_tables_round_trip_types_and_missing_values(pg_dsn):
    df = pd.DataFrame({
        "Customer ID": ["a", "", None, 'q"uote,d', "new\nline"],
        "n": pd.array([1, 2, None, 4, 5], dtype="Int64"),
        "x": [1.5, np.nan, 0.1 + 0.2, -0.0, 1e300],
        "when": pd.Series([pd.Timestamp("2024-01-01 10:00:00.123456"), None,
                           pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03"),
                           pd.Timestamp("2024-01-04")], dtype="datetime64[us]"),
        "flag": [True, False, None, True, False],
        "cat": pd.Categorical(["x", "y", "x", None, "y"]),
    })
    written = write_tables(pg_dsn, {"Mixed Case \"Table\"": df})
    assert written == ['"public"."Mixed Case ""Table"""']
    types = dict(fetch(pg_dsn, "SELECT attname, format_type(atttypid, atttypmod) "
                               "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                       [written[0]]))
    assert types == {"Customer ID": "text", "n": "bigint", "x": "double precision",
                     "when": "timestamp without time zone", "flag": "boolean", "cat": "text"}
    rows = fetch(pg_dsn, sql.SQL("SELECT * FROM {} ORDER BY n NULLS LAST, x").format(
        sql.Identifier("Mixed Case \"Table\"")))
    assert rows[0] == ("a", 1, 1.5, dt.datetime(2024, 1, 1, 10, 0, 0, 123456), True, "x")
    assert rows[1] == ("", 2, None, None, False, "y")  # empty string kept, NaN/NaT -> NULL
    assert rows[2][0] == 'q"uote,d' and rows[2][2] == -0.0
    assert rows[3] == ("new\nline", 5, 1e300, dt.datetime(2024, 1, 4), False, "y")
    assert rows[4][:3] == (None, None, 0.30000000000000004)  # exact float round trip


def test_write_tables_replaces_and_changes_schema(pg_dsn):
    write_tables(pg_dsn, {"rfm_customers": _customers(10), "rfm_segments": _customers(3)})
    new = pd.DataFrame({"customer_id": ["z"], "score": [5]})
    write_tables(pg_dsn, {"rfm_customers": new})
    assert _snapshot(pg_dsn, "rfm_customers").to_dict("list") == {"customer_id": ["z"],
                                                                   "score": [5]}
    assert len(_snapshot(pg_dsn, "rfm_segments")) == 3  # untouched
    assert _staging_tables(pg_dsn) == []


def test_write_tables_drops_stale_tables_in_the_same_transaction(pg_dsn):
    write_tables(pg_dsn, {"rfm_customers": _customers(10), "rfm_clusters": _customers(3)})
    write_tables(pg_dsn, {"rfm_customers": _customers(4)}, drop=["rfm_clusters", "absent"])
    with psycopg.connect(pg_dsn) as conn:
        names = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert names == {"rfm_customers"}
    assert len(_snapshot(pg_dsn, "rfm_customers")) == 4


def test_write_tables_into_a_named_schema_with_odd_name(pg_dsn):
    fetch(pg_dsn, 'CREATE SCHEMA "Rfm ""Out"""')
    write_tables(pg_dsn, {"Customers": _customers(5)}, schema='Rfm "Out"')
    assert len(_snapshot(pg_dsn, "Customers", schema='Rfm "Out"')) == 5
    with pytest.raises(ParameterError, match=r"Schema 'nope' does not exist"):
        write_tables(pg_dsn, {"t": _customers(1)}, schema="nope")


def test_write_tables_refuses_long_names_and_views(pg_dsn):
    with pytest.raises(ParameterError, match="longer than PostgreSQL's limit of 63 bytes"):
        write_tables(pg_dsn, {"x" * 64: _customers(1)})
    with pytest.raises(ParameterError, match="column name"):
        write_tables(pg_dsn, {"t": pd.DataFrame({"é" * 32: [1]})})
    write_tables(pg_dsn, {"base": _customers(4)})
    fetch(pg_dsn, "CREATE VIEW rfm_view AS SELECT * FROM base")
    with pytest.raises(InputError, match="is not a table"):
        write_tables(pg_dsn, {"rfm_view": _customers(2), "base": _customers(9)})
    with pytest.raises(InputError, match="depend.*Nothing was changed"):
        write_tables(pg_dsn, {"base": _customers(9)})
    assert len(_snapshot(pg_dsn, "base")) == 4
    assert _staging_tables(pg_dsn) == []


def test_connection_killed_mid_copy_leaves_old_tables_intact(pg_dsn):
    old = {"rfm_customers": _customers(1000, seed=1), "rfm_segments": _customers(50, seed=2)}
    write_tables(pg_dsn, old)
    before = {name: _snapshot(pg_dsn, name) for name in old}
    big = {"rfm_customers": _customers(1_500_000, seed=3),
           "rfm_segments": _customers(1_500_000, seed=4)}
    app = "rfmkit-kill-test"
    errors: list[BaseException] = []

    def write():
        try:
            write_tables(f"{pg_dsn}?application_name={app}", big)
        except BaseException as exc:  # noqa: BLE001  (handed to the main thread)
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    killed = None
    try:
        with psycopg.connect(pg_dsn, autocommit=True) as watcher:
            deadline = time.monotonic() + 120
            first_relid = None
            while killed is None and time.monotonic() < deadline and writer.is_alive():
                row = watcher.execute(
                    "SELECT p.pid, p.relid, p.tuples_processed FROM pg_stat_progress_copy p "
                    "JOIN pg_stat_activity a USING (pid) WHERE a.application_name = %s",
                    [app]).fetchone()
                if row is not None:
                    pid, relid, tuples = row
                    first_relid = first_relid or relid
                    # the second table's COPY is running: the first is completely written
                    if relid != first_relid and tuples > 0:
                        killed = watcher.execute("SELECT pg_terminate_backend(%s)",
                                                 [pid]).fetchone()[0]
                        killed = (killed, tuples)
                time.sleep(0.005)
    finally:
        writer.join(180)
    assert killed is not None and killed[0], "the COPY was not caught in progress"
    assert 0 < killed[1] < 1_500_000
    assert len(errors) == 1 and isinstance(errors[0], InputError), errors
    assert "Nothing was changed" in str(errors[0])
    for name, frame in before.items():
        pd.testing.assert_frame_equal(_snapshot(pg_dsn, name), frame)
    assert _staging_tables(pg_dsn) == []


def test_readers_keep_the_old_tables_until_the_swap_commits(pg_dsn):
    write_tables(pg_dsn, {"rfm_customers": _customers(10)})
    with psycopg.connect(pg_dsn) as reader:  # a reading transaction holds its lock
        assert reader.execute("SELECT count(*) FROM rfm_customers").fetchone()[0] == 10
        with pytest.raises(InputError, match=r"kept using an old table.*Nothing was changed"):
            write_tables(pg_dsn, {"rfm_customers": _customers(20)}, lock_timeout=0.3)
        done: list[BaseException | None] = []
        writer = threading.Thread(target=lambda: done.append(
            write_tables(pg_dsn, {"rfm_customers": _customers(30)}) and None))
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive()  # waiting for the reader
        assert reader.execute("SELECT count(*) FROM rfm_customers").fetchone()[0] == 10
        reader.commit()
        writer.join(30)
    assert done == [None]
    assert len(_snapshot(pg_dsn, "rfm_customers")) == 30
    assert _staging_tables(pg_dsn) == []


def test_missing_psycopg_names_the_install_command():
    # a fresh interpreter where psycopg cannot be imported: the SQL translation still works,
    # a connection fails with the pip command
    code = textwrap.dedent("""
        import sys
        sys.modules["psycopg"] = None
        from rfmkit.engines import get_engine
        from rfmkit.sql.dialects import postgres_sql
        from rfmkit.errors import EngineUnavailableError
        assert "~" in postgres_sql("SELECT TRY_CAST(a AS DOUBLE) FROM t")
        engine = get_engine("postgres", table="orders")
        try:
            engine.read("postgresql://localhost/shop")
        except EngineUnavailableError as exc:
            print("ERROR:", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "ERROR: PostgreSQL support needs a package that is not installed" in out
    from rfmkit.errors import install_hint

    assert install_hint("postgres") in out  # same working folder: the same hint
