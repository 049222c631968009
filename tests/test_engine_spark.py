"""The Spark engine (local mode) gives the DuckDB engine's results.

Customer tables are compared with DuckDB's on the same data (integers and timestamps exactly,
floats to 1e-9), and the quality reports must agree. One local SparkSession is shared by every
test (tests/spark_session.py); each compute_rfm is a few Spark jobs, so the option grid here is a
pairwise-style selection rather than the full product: the conformance suite (test_engines.py)
runs every combination, the synthetic data sets and the real ones through Spark as well.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pyarrow as pa
import pytest

from engine_comparison import same_as_duckdb
from rfmkit.cleaning import CleaningRules
from rfmkit.errors import InputError, SchemaError
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import compute_rfm
from rfmkit.schema import ColumnMapping
from spark_session import get_session

pytestmark = pytest.mark.spark

METHOD_Q = MetricOptions(frequency="days", monetary="mean", consolidate_days=True)


@pytest.fixture(scope="module")
def spark():
    """The shared local SparkSession (skips without PySpark or Java)."""
    return get_session()


@pytest.fixture(scope="module")
def engine(spark):
    from rfmkit.engines.spark import SparkEngine

    engine = SparkEngine(spark)
    yield engine
    engine.close()


# --- SQL translation (no Spark needed) -------------------------------------------------------

def test_translation_leaves_nothing_spark_lacks():
    from rfmkit.sql.dialects import spark_sql

    text = spark_sql("SELECT TRY_STRPTIME(CAST(c AS VARCHAR), '%d-%b-%Y %I:%M %p'), "
                     "TRY_CAST(a AS DOUBLE), TRY_CAST(b AS TIMESTAMP), "
                     "DATE_DIFF('day', d1, d2), x IN (CAST('NaN' AS DOUBLE)) FROM t")
    for banned in ("TRY_STRPTIME", "IS_INF", "ISINF", "DATE_DIFF("):
        assert banned not in text.upper()
    assert "RLIKE" in text and "TIMESTAMP_NTZ" in text


# --- same results as DuckDB -----------------------------------------------------------------

CASES = [  # pairwise-style coverage of the option grid
    (MetricOptions(), CleaningRules()),
    (METHOD_Q, CleaningRules()),
    (METHOD_Q, CleaningRules(returns="net")),
    (MetricOptions(frequency="rows", monetary="mean"), CleaningRules(drop_duplicates=False)),
    (MetricOptions(frequency="orders", consolidate_days=True, as_of=dt.date(2024, 1, 31)),
     CleaningRules(returns="net", drop_duplicates=False)),
    (MetricOptions(frequency="days", monetary="sum", as_of=dt.date(2024, 1, 31)),
     CleaningRules(returns="net", drop_cancellations=False)),
    (MetricOptions(frequency="rows", monetary="sum", consolidate_days=True),
     CleaningRules(drop_duplicates=False)),
    (MetricOptions(frequency="orders", monetary="mean", as_of=dt.date(2024, 3, 1)),
     CleaningRules(returns="net")),
]


@pytest.mark.parametrize("options, rules", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_tiny_transactions_match_duckdb(engine, tiny_transactions, options, rules):
    same_as_duckdb(tiny_transactions, engine=engine, options=options, cleaning=rules)


# --- inputs ----------------------------------------------------------------------------------

def test_csv_glob_folder_and_tsv(engine, tmp_path, tiny_transactions):
    df = tiny_transactions.assign(InvoiceDate=tiny_transactions["InvoiceDate"].dt.strftime(
        "%Y-%m-%d %H:%M:%S"))
    semicolon = tmp_path / "tiny.csv"
    df.to_csv(semicolon, index=False, sep=";")
    same_as_duckdb(semicolon, engine=engine)  # delimiter sniffed
    tsv = tmp_path / "tiny.tsv"
    df.to_csv(tsv, index=False, sep="\t")
    same_as_duckdb(tsv, engine=engine)
    parts = tmp_path / "parts"
    (parts / "sub").mkdir(parents=True)
    tiny_transactions.iloc[:8].to_parquet(parts / "a.parquet", index=False)
    tiny_transactions.iloc[8:].to_parquet(parts / "sub" / "b.parquet", index=False)
    same_as_duckdb(parts, engine=engine)  # a folder of Parquet files, read recursively
    same_as_duckdb(str(parts / "*.parquet"), engine=engine,
                   engine_source=str(parts / "*.parquet"))


@pytest.mark.parametrize("encoding, given", [("latin-1", "latin-1"), ("utf-16-le", None),
                                             ("cp1252", "cp1252")])
def test_csv_encodings_read_as_in_duckdb(engine, tmp_path, tiny_transactions, encoding, given):
    df = tiny_transactions.assign(Country="Zürich")
    path = tmp_path / "enc.csv"
    path.write_bytes(df.to_csv(index=False).encode(encoding))
    same_as_duckdb(path, engine=engine, encoding=given)


def test_csv_ids_are_text_and_dates_are_detected(engine, tmp_path):
    # 18-digit ids, one written with '.0', and US dates that one value (13) decides
    rows = [f"{123456789012340000 + i % 7}{'.0' if i == 3 else ''},O{i},"
            f"{1 + i % 12}/{1 + i % 13}/2023,{i + 1}.25" for i in range(40)]
    path = tmp_path / "ids.csv"
    path.write_text("customer_id,order_id,order_date,amount\n" + "\n".join(rows) + "\n")
    result = same_as_duckdb(path, engine=engine)
    assert len(result.customers) == 7 and result.quality.date_format == "%m/%d/%Y"


def test_csv_date_format_wins_over_type_inference(engine, tmp_path, tiny_transactions):
    # 05/01/2024 read with %m/%d/%Y is 1 May, whatever Spark's inference made of it
    df = tiny_transactions.assign(InvoiceDate=tiny_transactions["InvoiceDate"].dt.strftime(
        "%d/%m/%Y %H:%M"))
    path = tmp_path / "dmy.csv"
    df.to_csv(path, index=False)
    result = same_as_duckdb(path, engine=engine,
                            options=MetricOptions(date_format="%d/%m/%Y %H:%M"))
    assert result.as_of == dt.date(2024, 2, 1)


def test_spark_tables_and_dataframes(engine, spark, tiny_transactions):
    sdf = spark.createDataFrame(pa.Table.from_pandas(tiny_transactions, preserve_index=False))
    sdf.createOrReplaceTempView("tiny_sales")
    result = same_as_duckdb(tiny_transactions, engine=engine, engine_source="spark:tiny_sales")
    assert result.quality.source == "spark:tiny_sales"
    same_as_duckdb(tiny_transactions, engine=engine, engine_source=sdf)
    same_as_duckdb(tiny_transactions, engine=engine,
                   engine_source=pa.Table.from_pandas(tiny_transactions, preserve_index=False))
    with pytest.raises(InputError, match="Could not read spark:no_such_table"):
        compute_rfm("spark:no_such_table", engine=engine)


def test_instants_use_utc_days_and_the_session_zone_is_restored(engine, spark):
    # 23:30 UTC on Jan 31 is Feb 1 in Tokyo: the calendar day is the UTC one, as in DuckDB
    instants = pd.Series(pd.to_datetime(["2024-01-31 23:30", "2024-01-10 00:15",
                                         "2024-01-20 12:00"], utc=True)).astype(
        "datetime64[us, UTC]")
    df = pd.DataFrame({"customer": ["a", "a", "b"], "date": instants,
                       "amount": [5.0, 7.0, 3.0]})
    spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    try:
        result = same_as_duckdb(df, engine=engine)
        assert spark.conf.get("spark.sql.session.timeZone") == "Asia/Tokyo"
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert result.as_of == dt.date(2024, 1, 31)


def test_text_values_parse_as_in_duckdb(engine):
    amounts = ["12.5", " 3 ", "1e3", "+.5", "5.", "-2", "5d", "1e400", "inf", "NaN",
               "1,234.50", "", "abc", None]
    dates = ["2024-01-05", "2024-1-5 1:2:3", "2024-01-05T10:00", "2024-01-05  10:00",
             "2024-02-29 12:00", "2023-02-29", "2024-13-01", "2024", "2024-01", "20240105",
             "not a date", "", "2024-01-05 10:00 ", None]
    n = max(len(amounts), len(dates))
    df = pd.DataFrame({"customer": [f"c{i}" for i in range(n)],
                       "date": (dates * 2)[:n], "amount": (amounts * 2)[:n]})
    same_as_duckdb(df, engine=engine, cleaning=CleaningRules(returns="net"))


@pytest.mark.parametrize("numbers", [{}, {"decimal": ",", "thousands": "."},
                                     {"thousands": ","}, {"decimal": ",", "thousands": " "}],
                         ids=["plain", "eu", "us", "fr"])
def test_text_amounts_in_number_formats_parse_as_in_duckdb(engine, numbers):
    # one currency: amounts in two are an error (test_amounts_in_two_currencies_are_refused)
    values = ["€5.00", "€ 7.10", "12.50 EUR", "-€3", "1.234,50 €", "7,10", "1,234.50", "1 234,50",
     "1\u00a0234", "EUR 1'234.50", "12€50", "1.234", "12,34,567", "eur 4", "", None]
    df = pd.DataFrame({"customer": [f"c{i}" for i in range(len(values))] + ["z"],
                       "date": "2024-01-01", "amount": values + ["5"]})
    result = same_as_duckdb(df, engine=engine, options=MetricOptions(**numbers),
                            cleaning=CleaningRules(returns="net"))
    assert result.quality.cleaned["currency_sign"] > 0


def test_amounts_in_two_currencies_are_refused(engine):
    """The same error as DuckDB's: the marks are found by the same SQL, in Spark."""
    df = pd.DataFrame({"customer": ["a", "b", "c", "d"], "date": "2024-01-01",
                       "amount": ["$5", "US$ 4", "S$ 3", "2"]})
    with pytest.raises(SchemaError, match="mixes currencies") as caught:
        compute_rfm(df, engine=engine)
    assert "'US$' (1 value, e.g. 'US$ 4')" in str(caught.value)
    assert "'S$' (1 value, e.g. 'S$ 3')" in str(caught.value)
    assert "'$' (1 value, e.g. '$5')" in str(caught.value)


@pytest.mark.parametrize("fmt, values", [
    ("%d/%m/%Y %H:%M", ["05/01/2024 10:00", "5/1/2024 9:05", "29/02/2024 00:00",
                        "29/02/2023 00:00", "31/04/2024 10:00", "05/01/2024 24:00",
                        "05/01/2024  10:00", "garbage"]),
    ("%d-%b-%y %I:%M %p", ["05-jan-24 01:00 PM", "5-DEC-68 12:00 AM", "05-Mar-69 12:30 pm",
                           "05-Jan-24 13:00 PM", "05-xyz-24 01:00 AM"]),
    ("%d/%m %I:%M:%S.%f", ["05/01 12:30:00.5", "05/01 01:30:59.123456", "29/02 10:00:00.1",
                           "31/01 10:00:00.0"]),
])
def test_text_dates_with_a_format_parse_as_in_duckdb(engine, fmt, values):
    df = pd.DataFrame({"customer": [f"c{i}" for i in range(len(values))], "date": values,
                       "amount": 10.0})
    result = same_as_duckdb(df, engine=engine, options=MetricOptions(date_format=fmt))
    assert len(result.customers) >= 2


def test_customer_level_input(engine):
    df = pd.DataFrame({"Customer": ["c2", "c1", "10"], "Recency": [4, 3, 1],
                       "Frequency": [1, 2, 1], "Monetary": ["20", "50.5", "5"]})
    same_as_duckdb(df, engine=engine)
    with pytest.raises(SchemaError, match=r"'Monetary' \(monetary\).*found 'n/a'"):
        compute_rfm(df.assign(Monetary=["20", "n/a", "5"]), engine=engine)


def test_columns_with_odd_names(engine, tiny_transactions):
    weird = {"InvoiceNo": "Invoice `No`", "CustomerID": "Customer ID", "Quantity": "qty'",
             "UnitPrice": "Unit.Price", "InvoiceDate": "DATE of sale"}
    df = tiny_transactions.rename(columns=weird)
    same_as_duckdb(df, engine=engine, columns=ColumnMapping(
        customer="Customer ID", order="Invoice `No`", date="DATE of sale", quantity="qty'",
        price="Unit.Price"))


def test_missing_input_is_an_input_error(engine, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        compute_rfm(tmp_path / "nope.parquet", engine=engine)
    with pytest.raises(InputError, match="No file matches"):
        compute_rfm(str(tmp_path / "*.parquet"), engine=engine)


@pytest.mark.slow
def test_online_retail_method_q_facts(engine, shared_data):
    path = shared_data / "online_retail.parquet"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    result = same_as_duckdb(path, engine=engine, options=METHOD_Q,
                            cleaning=CleaningRules(drop_duplicates=False))
    c = result.customers
    assert len(c) == 4338
    assert int(c["recency"].sum()) == 399_354
    assert int(c["frequency"].sum()) == 16_763
    assert int((c["monetary"] > 2500).sum()) == 36
    row = c.loc[c["customer_id"] == "12346"].iloc[0]
    assert (row["recency"], row["frequency"]) == (325, 1)
    assert row["monetary"] == pytest.approx(77183.60, rel=1e-12)


def test_missing_java_names_the_fix(tmp_path):
    # a fresh interpreter with no java on PATH and no JAVA_HOME, so no session can start
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)
    code = textwrap.dedent("""
        from rfmkit.engines import get_engine
        from rfmkit.errors import EngineUnavailableError
        try:
            get_engine("spark")
        except EngineUnavailableError as exc:
            print("ERROR:", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "ERROR: The spark engine needs a Java runtime" in out
    assert "JAVA_HOME" in out


def test_missing_pyspark_names_the_install_command():
    code = textwrap.dedent("""
        import sys
        sys.modules["pyspark"] = None
        from rfmkit.engines import get_engine
        from rfmkit.sql.dialects import spark_sql
        from rfmkit.errors import EngineUnavailableError
        assert "RLIKE" in spark_sql("SELECT TRY_CAST(a AS DOUBLE) FROM t")
        try:
            get_engine("spark")
        except EngineUnavailableError as exc:
            print("ERROR:", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "ERROR: The spark engine needs a package that is not installed" in out
    from rfmkit.errors import install_hint

    assert install_hint("spark") in out  # same working folder: the same hint
