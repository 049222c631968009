"""Input formats (the same data in any format gives the same result) and bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from rfmkit.cleaning import CleaningRules
from rfmkit.engines.duckdb import DuckDBEngine
from rfmkit.errors import InputError, RFMKitWarning, SchemaError
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import compute_rfm
from rfmkit.schema import ColumnMapping

DATA = Path(__file__).parent / "data"


# --- one data set, every format -----------------------------------------------------------------

def _write(df: pd.DataFrame, kind: str, folder: Path):
    """Write ``df`` as ``kind``; return (source, extra compute_rfm keyword arguments)."""
    if kind == "csv":
        path = folder / "data.csv"
        df.to_csv(path, index=False)
    elif kind == "tsv":
        path = folder / "data.tsv"
        df.to_csv(path, index=False, sep="\t")
    elif kind == "csv.gz":
        path = folder / "data.csv.gz"
        df.to_csv(path, index=False, compression="gzip")
    elif kind == "parquet":
        path = folder / "data.parquet"
        df.to_parquet(path, index=False)
    elif kind == "parquet_folder":
        path = folder / "parts"
        (path / "year=2024").mkdir(parents=True)
        for i in range(3):
            df.iloc[i::3].to_parquet(path / "year=2024" / f"part-{i}.parquet", index=False)
    elif kind == "xlsx":
        path = folder / "data.xlsx"
        df.to_excel(path, index=False, engine="openpyxl", sheet_name="orders")
    elif kind == "json":
        path = folder / "data.json"
        df.to_json(path, orient="records", date_format="iso")
    elif kind == "jsonl":
        path = folder / "data.jsonl"
        df.to_json(path, orient="records", date_format="iso", lines=True)
    elif kind == "duckdb":
        path = folder / "data.duckdb"
        con = duckdb.connect(str(path))
        con.register("frame", df)
        con.execute("CREATE TABLE transactions AS SELECT * FROM frame")
        con.execute("CREATE TABLE other AS SELECT 1 AS x")
        con.close()
        return path, {"table": "transactions"}
    elif kind == "pandas":
        return df.copy(), {}
    elif kind == "polars":
        polars = pytest.importorskip("polars")
        return polars.from_pandas(df), {}
    elif kind == "pyarrow":
        return pa.Table.from_pandas(df, preserve_index=False), {}
    else:  # pragma: no cover
        raise AssertionError(kind)
    return path, {}


FORMATS = ["csv", "tsv", "csv.gz", "parquet", "parquet_folder", "xlsx", "json", "jsonl",
           "duckdb", "pandas", "polars", "pyarrow"]

# one setting per data set: reading is what varies here (the options are covered elsewhere)
SETTINGS = {
    "tiny": (MetricOptions(), CleaningRules()),
    "messy": (MetricOptions(frequency="days", monetary="mean", consolidate_days=True),
              CleaningRules(returns="net")),
}


@pytest.fixture(scope="module")
def messy_sample(synthetic_lines) -> pd.DataFrame:
    """400 rows of the synthetic line items: padded, blank and missing ids, missing dates."""
    return synthetic_lines.iloc[:400].reset_index(drop=True)


@pytest.fixture(scope="module")
def from_dataframe(tiny_transactions_shared, messy_sample):
    """compute_rfm straight from the pandas DataFrame, per data set and setting (computed once)."""
    frames = {"tiny": tiny_transactions_shared, "messy": messy_sample}
    return {name: compute_rfm(frames[name], options=o, cleaning=r)
            for name, (o, r) in SETTINGS.items()}


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize("data", ["tiny", "messy"])
def test_every_format_gives_identical_results(kind, data, tiny_transactions, messy_sample,
                                              from_dataframe, tmp_path):
    df = tiny_transactions if data == "tiny" else messy_sample
    source, extra = _write(df, kind, tmp_path)
    options, rules = SETTINGS[data]
    expected = from_dataframe[data]
    result = compute_rfm(source, options=options, cleaning=rules, **extra)
    pd.testing.assert_frame_equal(result.customers, expected.customers, check_exact=True)
    assert result.quality.to_dict() | {"source": None} == (
        expected.quality.to_dict() | {"source": None})
    assert result.columns == expected.columns


def test_tiny_csv_in_tests_data_equals_the_fixture(tiny_transactions):
    from_file = compute_rfm(DATA / "tiny_transactions.csv")
    pd.testing.assert_frame_equal(from_file.customers, compute_rfm(tiny_transactions).customers,
                                  check_exact=True)
    assert from_file.quality.source == str(DATA / "tiny_transactions.csv")


def test_semicolon_csv_is_sniffed_or_read_with_the_given_delimiter():
    expected = compute_rfm(DATA / "tiny_transactions.csv").customers
    for delimiter in (None, ";"):
        result = compute_rfm(DATA / "tiny_transactions_semicolon.csv", delimiter=delimiter)
        pd.testing.assert_frame_equal(result.customers, expected, check_exact=True)


def test_glob_of_csv_files(tiny_transactions, tmp_path):
    tiny_transactions.iloc[:8].to_csv(tmp_path / "a.csv", index=False)
    tiny_transactions.iloc[8:].to_csv(tmp_path / "b.csv", index=False)
    result = compute_rfm(str(tmp_path / "*.csv"))
    pd.testing.assert_frame_equal(result.customers, compute_rfm(tiny_transactions).customers,
                                  check_exact=True)


def test_user_connection_and_excel_sheet_by_name(tiny_transactions, tmp_path):
    con = duckdb.connect()
    con.register("frame", tiny_transactions)
    con.execute("CREATE TABLE sales AS SELECT * FROM frame")
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(writer, sheet_name="readme", index=False)
        tiny_transactions.to_excel(writer, sheet_name="sales", index=False)
    expected = compute_rfm(tiny_transactions).customers
    engine = DuckDBEngine(connection=con)
    on_connection = compute_rfm(con.sql("SELECT * FROM sales").to_arrow_table(), engine=engine)
    from_sheet = compute_rfm(path, table="sales")
    for result in (on_connection, from_sheet):
        pd.testing.assert_frame_equal(result.customers, expected, check_exact=True)
    con.close()


def test_text_dates_with_a_format(tiny_transactions, tmp_path):
    path = tmp_path / "uk.csv"
    tiny_transactions.to_csv(path, index=False, date_format="%d/%m/%Y %H:%M")
    result = compute_rfm(path, options=MetricOptions(date_format="%d/%m/%Y %H:%M"))
    pd.testing.assert_frame_equal(result.customers, compute_rfm(tiny_transactions).customers,
                                  check_exact=True)


def test_time_zone_aware_timestamps_are_read_in_utc(tiny_transactions):
    # the same instants, written in another zone: calendar days are UTC days, whatever the
    # session time zone of the connection
    aware = tiny_transactions.assign(InvoiceDate=tiny_transactions["InvoiceDate"]
                                     .dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"))
    expected = compute_rfm(tiny_transactions).customers
    for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{zone}'")
        result = compute_rfm(aware, engine=DuckDBEngine(connection=con))
        pd.testing.assert_frame_equal(result.customers, expected, check_exact=True)
        con.close()


def test_float_ids_with_nan_are_missing_customers():
    # pyarrow (and polars) keep NaN apart from null: a NaN id is a missing id, not a crash
    table = pa.table({
        "customer_id": pa.array([12346.0, float("nan"), 12347.0, None]),
        "date": pa.array([dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 2),
                          dt.datetime(2020, 1, 3), dt.datetime(2020, 1, 3)]),
        "amount": [1.5, 2.0, 3.0, 4.0],
    })
    result = compute_rfm(table)
    assert result.customers["customer_id"].tolist() == ["12346", "12347"]
    assert result.quality.dropped["missing_customer"] == 2


def test_non_finite_amounts_are_unparseable():
    table = pa.table({
        "customer_id": ["a", "b", "c", "d"],
        "date": pa.array([dt.date(2020, 1, 1)] * 4),
        "amount": [1.0, float("nan"), float("inf"), -float("inf")],
    })
    result = compute_rfm(table)
    assert result.customers["customer_id"].tolist() == ["a"]
    assert result.quality.dropped["unparseable_amount"] == 3


def test_integral_float_ids_read_like_integers(tmp_path):
    # an id column exported as floats (12346.0) and one exported as ints give the same ids
    floats = pd.DataFrame({"CustomerID": [12346.0, 12347.0, None], "date": ["2020-01-01"] * 3,
                           "amount": [1.0, 2.0, 3.0]})
    ints = floats.assign(CustomerID=pd.array([12346, 12347, None], dtype="Int64"))
    a, b = compute_rfm(floats).customers, compute_rfm(ints).customers
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["customer_id"].tolist() == ["12346", "12347"]


# --- bad input ----------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "sales.csv"
    with pytest.raises(InputError) as info:
        compute_rfm(path)
    assert str(path) in str(info.value) and "does not exist" in str(info.value)
    assert "Check the path" in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"sales\.csv is empty \(0 bytes\)"):
        compute_rfm(path)


def test_header_only_csv(tmp_path):
    with pytest.raises(InputError) as info:
        compute_rfm(DATA / "header_only.csv")
    assert "header_only.csv" in str(info.value) and "no rows" in str(info.value)
    # customer-level input too: no silent empty result
    path = tmp_path / "customers.csv"
    path.write_text("customer,recency,frequency,monetary\n")
    with pytest.raises(InputError, match=r"customers\.csv has no rows"):
        compute_rfm(path)


def test_wrong_delimiter_names_the_file_the_column_and_the_fix():
    path = DATA / "tiny_transactions_semicolon.csv"
    with pytest.raises(InputError) as info:
        compute_rfm(path, delimiter=",")
    message = str(info.value)
    assert str(path) in message
    assert "'InvoiceNo;CustomerID;InvoiceDate;StockCode;Quantity;UnitPrice'" in message
    assert "delimiter=';'" in message


def test_missing_column_lists_columns_found_and_the_flag(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("shopper,when,total\n1,2020-01-01,5\n")
    with pytest.raises(SchemaError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert str(path) in message and "customer" in message
    assert "'shopper', 'when', 'total'" in message and "ColumnMapping(customer=NAME)" in message


def test_ambiguous_columns(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer_id,Customer ID,date,amount\n1,1,2020-01-01,5\n")
    with pytest.raises(SchemaError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert "ambiguous" in message and str(path) in message
    assert "'customer_id', 'Customer ID'" in message and "ColumnMapping(customer=NAME)" in message


def test_non_numeric_amount_column(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\n1,2020-01-01,five\n2,2020-01-02,7 euros\n"
                    "3,2020-01-02,\n")
    with pytest.raises(SchemaError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert str(path) in message and "'amount'" in message
    assert "'five'" in message and "'7 euros'" in message
    assert "none of its 2 values" in message and "ColumnMapping(amount=NAME)" in message


def test_decimal_commas_are_reported_as_non_numeric(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("kunde;datum;amount\n1;2020-01-01;5,50\n2;2020-01-02;7,25\n")
    with pytest.raises(SchemaError, match=r"'5,50'.*decimal=','"):
        compute_rfm(path, columns=ColumnMapping(customer="kunde", date="datum"))


def test_unparseable_dates(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\n1,yesterday,5\n2,last week,7\n")
    with pytest.raises(SchemaError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert str(path) in message and "'date'" in message
    assert "'yesterday'" in message and "'last week'" in message
    assert "none of its 2 values" in message and "date_format=" in message


def test_a_given_date_format_wins_over_the_csv_sniffer(tmp_path):
    # DuckDB's sniffer reads these ambiguous dates day first; a US file says otherwise
    path = tmp_path / "us.csv"
    path.write_text("customer,date,amount\n1,01/02/2020,5\n2,03/04/2020,7\n")
    us = compute_rfm(path, options=MetricOptions(date_format="%m/%d/%Y")).customers
    assert us["last_purchase"].tolist() == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-03-04")]
    assert us["recency"].tolist() == [62, 0]
    uk = compute_rfm(path, options=MetricOptions(date_format="%d/%m/%Y")).customers
    assert uk["last_purchase"].tolist() == [pd.Timestamp("2020-02-01"), pd.Timestamp("2020-04-03")]


def test_partly_unparseable_dates_are_dropped_counted_and_noted(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\n1,2020-01-01,5\n2,sometime,7\n3,2020-01-05,7\n"
                    "4,,3\n")
    result = compute_rfm(path)
    assert result.customers["customer_id"].tolist() == ["1", "3"]
    assert result.quality.dropped["unparseable_date"] == 2  # 'sometime' and the empty date
    assert result.quality.warnings == [
        "1 of 3 values in column 'date' (date) are not date (e.g. 'sometime'); those rows "
        "were dropped."
    ]


def test_no_rows_left_after_cleaning(tmp_path):
    path = tmp_path / "refunds.csv"
    path.write_text("customer,date,amount\n1,2020-01-01,-5\n2,2020-01-02,0\n,2020-01-02,4\n")
    with pytest.raises(InputError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert str(path) in message and "3 rows read" in message
    assert "2 non positive amount" in message and "1 missing customer" in message
    assert "returns policy" in message


def test_returns_cancelling_every_purchase_day_is_no_purchase(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\n1,2020-01-01 10:00,5\n1,2020-01-01 12:00,-5\n")
    options = MetricOptions(consolidate_days=True)
    with pytest.raises(InputError, match=r"No purchases left in .*sales\.csv.*returns='drop'"):
        compute_rfm(path, options=options, cleaning=CleaningRules(returns="net"))
    # without netting, the purchase stands
    assert len(compute_rfm(path, options=options).customers) == 1


def test_duplicate_ids_in_customer_level_input():
    path = DATA / "customers_duplicate_ids.csv"
    with pytest.raises(InputError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert str(path) in message and "'customer_id'" in message
    assert "'1001'" in message and "'1002'" in message and "'1003'" not in message
    assert "one row per customer" in message


def test_non_numeric_metric_in_customer_level_input(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("customer,recency,frequency,monetary\n1,3,2,50\n2,n/a,1,5\n")
    with pytest.raises(SchemaError, match=r"'recency' \(recency\) in .*crm\.csv must be numeric"
                                          r".*'n/a'"):
        compute_rfm(path)


def test_negative_frequency_in_customer_level_input(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("cust_id,recency,orders_n,monetary\n1,3,-2,50\n2,4,1,5\n")
    with pytest.raises(InputError, match=r"'orders_n' \(frequency\) in .*crm\.csv has negative "
                                         r"values for customers '1'"):
        compute_rfm(path, columns=ColumnMapping(frequency="orders_n"))


def test_unknown_file_extension(tmp_path):
    path = tmp_path / "sales.xml"
    path.write_text("<sales/>")
    with pytest.raises(InputError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert str(path) in message and ".csv" in message and ".parquet" in message


def test_unreadable_file_content(tmp_path):
    path = tmp_path / "sales.parquet"
    path.write_text("this is not parquet")
    with pytest.raises(InputError, match=r"Could not read .*sales\.parquet.*valid parquet"):
        compute_rfm(path)


def test_glob_without_matches(tmp_path):
    with pytest.raises(InputError, match=r"No file matches .*\*\.csv"):
        compute_rfm(str(tmp_path / "*.csv"))


def test_folder_without_parquet_files(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(InputError, match=r"holds no \.parquet files"):
        compute_rfm(tmp_path)


def test_duckdb_database_needs_an_existing_table(tiny_transactions, tmp_path):
    path, _ = _write(tiny_transactions, "duckdb", tmp_path)
    with pytest.raises(InputError, match=r"holds 2 tables \(other, transactions\).*table=NAME"):
        compute_rfm(path)
    with pytest.raises(InputError, match=r"'sales' is not in DuckDB database .*other, "
                                         r"transactions"):
        compute_rfm(path, table="sales")


def test_missing_excel_sheet(tiny_transactions, tmp_path):
    path, _ = _write(tiny_transactions, "xlsx", tmp_path)
    with pytest.raises(InputError, match=r"Sheet 'sales' is not in .*data\.xlsx.*orders"):
        compute_rfm(path, table="sales")


def test_a_workbook_with_several_sheets_names_them_and_table(tiny_transactions, tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        tiny_transactions.to_excel(writer, sheet_name="2023", index=False)
        tiny_transactions.to_excel(writer, sheet_name="2024", index=False)
        pd.DataFrame().to_excel(writer, sheet_name="empty", index=False)
    with pytest.warns(RFMKitWarning, match=r"has 3 sheets \('2023', '2024', 'empty'\); only "
                                           r"the first, '2023', is read.*table='2024'"):
        first = compute_rfm(path)
    pd.testing.assert_frame_equal(first.customers, compute_rfm(path, table="2023").customers)
    with pytest.raises(InputError, match=r"'empty' of .*is empty\. The workbook's sheets: "
                                         r"'2023', '2024', 'empty'; pick one with table=NAME"):
        compute_rfm(path, table="empty")
    with pytest.raises(InputError, match=r"'2025' is not in .*'2023', '2024', 'empty'; pick "
                                         r"one with table=NAME"):
        compute_rfm(path, table="2025")
    # an error about the first sheet's contents comes with the warning naming the others
    notes = tmp_path / "notes.xlsx"
    with pd.ExcelWriter(notes, engine="openpyxl") as writer:
        pd.DataFrame({"note": ["read me"]}).to_excel(writer, sheet_name="readme", index=False)
        tiny_transactions.to_excel(writer, sheet_name="sales", index=False)
    with pytest.warns(RFMKitWarning, match="table='sales'"), pytest.raises(SchemaError):
        compute_rfm(notes)


def test_unsupported_python_object():
    with pytest.raises(InputError, match=r"Cannot read a list.*pandas or polars DataFrame"):
        compute_rfm([{"customer": 1}])


def test_gzip_file_that_is_not_gzip(tmp_path, tiny_transactions):
    good = tmp_path / "good.csv"
    tiny_transactions.to_csv(good, index=False)
    with open(good, "rb") as src, gzip.open(tmp_path / "good.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    pd.testing.assert_frame_equal(compute_rfm(tmp_path / "good.csv.gz").customers,
                                  compute_rfm(good).customers, check_exact=True)
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match=r"bad\.csv\.gz"):
        compute_rfm(bad)


def test_xlsx_with_a_repeated_header_reads_like_the_csv(tmp_path):
    # two columns named 'amount': the first is the amount, the second is 'amount_1' (as
    # DuckDB's CSV reader names it), never a silent replacement of the first
    frame = pd.DataFrame([[f"C{i}", f"2023-01-{1 + i % 28:02d}", 10.0 + i, 2.0 + i % 3]
                          for i in range(50)],
                         columns=["customer_id", "order_date", "amount", "amount"])
    book, text = tmp_path / "dup.xlsx", tmp_path / "dup.csv"
    frame.to_excel(book, index=False, engine="openpyxl")
    frame.to_csv(text, index=False)
    from_book, from_text = compute_rfm(book), compute_rfm(text)
    assert from_book.customers["monetary"].sum() == sum(10.0 + i for i in range(50))
    pd.testing.assert_frame_equal(from_book.customers, from_text.customers, check_exact=True)
    assert DuckDBEngine().read(str(book)).columns == ["customer_id", "order_date", "amount",
                                                      "amount_1"]
