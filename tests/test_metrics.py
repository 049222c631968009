"""compute_rfm on hand-computed fixtures (expected tables written out by hand, not by reference.py)
and the METHODS.md facts on the real UCI Online Retail data."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rfmkit.cleaning import DROP_REASONS, CleaningRules, QualityReport
from rfmkit.engines.duckdb import DuckDBEngine
from rfmkit.errors import InputError, ParameterError
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import RFMResult, compute_rfm
from rfmkit.schema import CUSTOMER_COLUMNS, ColumnMapping, InputShape

T = pd.Timestamp

EXPECTED_DTYPES = {
    "customer_id": "str", "recency": "int64", "frequency": "int64", "monetary": "float64",
    "first_purchase": "datetime64[us]", "last_purchase": "datetime64[us]", "orders": "int64",
    "revenue": "float64",
}


def table(rows: list[tuple]) -> pd.DataFrame:
    """An expected customer table from hand-written rows (columns in canonical order)."""
    df = pd.DataFrame(rows, columns=list(CUSTOMER_COLUMNS))
    return df.astype(EXPECTED_DTYPES)


def dropped(**counts: int) -> dict[str, int]:
    return {reason: counts.get(reason, 0) for reason in DROP_REASONS}


def check(result: RFMResult, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(result.customers, expected, check_exact=False, rtol=1e-12)


# Each case: options, cleaning rules, expected table, expected drop counts, rows used,
# customers without purchases, as-of. Worked out by hand from the 16 rows in conftest.TINY_ROWS:
#   A: r1 10 + r2 3 (order 1001) and r3 7 (order 1002) on Jan 10; r4 10 on Jan 20 (r5 duplicate);
#      r14 50 on Feb 1 (latest purchase in the data)
#   B: r6 12 on Jan 5; r7 -4 cancellation C1005; Jan 25: r8 -8 return at 19:00, r9 20 at 18:00
#   D: Jan 15: r10 9 at 08:00, r11 -9 return at 17:00      E: r12 -5 (only a return)
#   F: r15 3 on Jan 31 at 23:30    G: r16 amount 0    r13: no customer id
CASES = {
    "defaults": (
        MetricOptions(), CleaningRules(),
        [
            ("A", 0, 4, 80.0, T("2024-01-10 09:00"), T("2024-02-01 10:00"), 4, 80.0),
            ("B", 7, 2, 32.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 32.0),
            ("D", 17, 1, 9.0, T("2024-01-15 08:00"), T("2024-01-15 08:00"), 1, 9.0),
            ("F", 1, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(duplicate_row=1, missing_customer=1, cancellation=1, non_positive_amount=4),
        9, 0, dt.date(2024, 2, 1),
    ),
    "returns_net": (
        # B nets its return (-8) but not the cancellation (dropped); D's revenue nets to 0 but D
        # still bought once; E never bought and is dropped (and counted).
        MetricOptions(), CleaningRules(returns="net", drop_cancellations=True),
        [
            ("A", 0, 4, 80.0, T("2024-01-10 09:00"), T("2024-02-01 10:00"), 4, 80.0),
            ("B", 7, 2, 24.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 24.0),
            ("D", 17, 1, 0.0, T("2024-01-15 08:00"), T("2024-01-15 08:00"), 1, 0.0),
            ("F", 1, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(duplicate_row=1, missing_customer=1, cancellation=1, non_positive_amount=1),
        12, 1, dt.date(2024, 2, 1),
    ),
    "net_keep_cancellations": (
        # the cancellation row (-4) now nets against B's spend as well
        MetricOptions(), CleaningRules(returns="net", drop_cancellations=False),
        [
            ("A", 0, 4, 80.0, T("2024-01-10 09:00"), T("2024-02-01 10:00"), 4, 80.0),
            ("B", 7, 2, 20.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 20.0),
            ("D", 17, 1, 0.0, T("2024-01-15 08:00"), T("2024-01-15 08:00"), 1, 0.0),
            ("F", 1, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(duplicate_row=1, missing_customer=1, non_positive_amount=1),
        13, 1, dt.date(2024, 2, 1),
    ),
    "method_q": (
        # days / mean / consolidation: A's two orders on Jan 10 are one purchase of 20
        MetricOptions(frequency="days", monetary="mean", consolidate_days=True), CleaningRules(),
        [
            ("A", 0, 3, 80.0 / 3, T("2024-01-10 09:00"), T("2024-02-01 10:00"), 4, 80.0),
            ("B", 7, 2, 16.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 32.0),
            ("D", 17, 1, 9.0, T("2024-01-15 08:00"), T("2024-01-15 08:00"), 1, 9.0),
            ("F", 1, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(duplicate_row=1, missing_customer=1, cancellation=1, non_positive_amount=4),
        9, 0, dt.date(2024, 2, 1),
    ),
    "consolidated_net": (
        # D's Jan 15 nets to 0: no purchase left, D is dropped. B's Jan 25 nets to 12; its last
        # purchase is the 18:00 purchase, not the 19:00 return.
        MetricOptions(frequency="days", monetary="mean", consolidate_days=True),
        CleaningRules(returns="net", drop_cancellations=True),
        [
            ("A", 0, 3, 80.0 / 3, T("2024-01-10 09:00"), T("2024-02-01 10:00"), 4, 80.0),
            ("B", 7, 2, 12.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 24.0),
            ("F", 1, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(duplicate_row=1, missing_customer=1, cancellation=1, non_positive_amount=1),
        12, 2, dt.date(2024, 2, 1),
    ),
    "orders_consolidated": (
        # with consolidation a purchase day is one order for the frequency ('orders' keeps
        # counting distinct order ids)
        MetricOptions(frequency="orders", consolidate_days=True), CleaningRules(),
        [
            ("A", 0, 3, 80.0, T("2024-01-10 09:00"), T("2024-02-01 10:00"), 4, 80.0),
            ("B", 7, 2, 32.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 32.0),
            ("D", 17, 1, 9.0, T("2024-01-15 08:00"), T("2024-01-15 08:00"), 1, 9.0),
            ("F", 1, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(duplicate_row=1, missing_customer=1, cancellation=1, non_positive_amount=4),
        9, 0, dt.date(2024, 2, 1),
    ),
    "as_of_given": (
        # Feb 1 (r14) is after the as-of date; Jan 31 23:30 (r15) is on it and stays
        MetricOptions(as_of=dt.date(2024, 1, 31)), CleaningRules(),
        [
            ("A", 11, 3, 30.0, T("2024-01-10 09:00"), T("2024-01-20 11:00"), 3, 30.0),
            ("B", 6, 2, 32.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 32.0),
            ("D", 16, 1, 9.0, T("2024-01-15 08:00"), T("2024-01-15 08:00"), 1, 9.0),
            ("F", 0, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(duplicate_row=1, missing_customer=1, after_as_of=1, cancellation=1,
                non_positive_amount=4),
        8, 0, dt.date(2024, 1, 31),
    ),
    "keep_duplicates_rows_mean": (
        # r5 stays: A has 6 purchase rows and 90 of revenue (still 4 distinct orders)
        MetricOptions(frequency="rows", monetary="mean"), CleaningRules(drop_duplicates=False),
        [
            ("A", 0, 6, 15.0, T("2024-01-10 09:00"), T("2024-02-01 10:00"), 4, 90.0),
            ("B", 7, 2, 16.0, T("2024-01-05 10:00"), T("2024-01-25 18:00"), 2, 32.0),
            ("D", 17, 1, 9.0, T("2024-01-15 08:00"), T("2024-01-15 08:00"), 1, 9.0),
            ("F", 1, 1, 3.0, T("2024-01-31 23:30"), T("2024-01-31 23:30"), 1, 3.0),
        ],
        dropped(missing_customer=1, cancellation=1, non_positive_amount=4),
        10, 0, dt.date(2024, 2, 1),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tiny_transactions_by_hand(tiny_transactions, case):
    options, rules, rows, drops, rows_used, without, as_of = CASES[case]
    result = compute_rfm(tiny_transactions, options=options, cleaning=rules)
    check(result, table(rows))
    quality = result.quality.to_dict()
    assert quality["dropped"] == drops
    assert quality["rows_read"] == 16
    assert quality["rows_dropped"] == sum(drops.values())
    assert quality["rows_used"] == rows_used == 16 - sum(drops.values())
    assert quality["customers"] == len(rows)
    assert quality["customers_without_purchases"] == without
    assert result.as_of == as_of
    assert quality["as_of"] == as_of.isoformat()
    assert quality["as_of_policy"] == ("latest" if options.as_of is None else "fixed")
    assert quality["warnings"] == []


def test_detected_columns_of_tiny_transactions(tiny_transactions):
    result = compute_rfm(tiny_transactions)
    assert result.columns.shape is InputShape.LINE_ITEMS
    assert result.columns.mapping == ColumnMapping(
        customer="CustomerID", order="InvoiceNo", date="InvoiceDate", quantity="Quantity",
        price="UnitPrice",
    )


def test_output_columns_and_dtypes(tiny_transactions):
    customers = compute_rfm(tiny_transactions).customers
    assert list(customers.columns) == list(CUSTOMER_COLUMNS)
    assert {c: str(t) for c, t in customers.dtypes.items()} == EXPECTED_DTYPES
    assert customers.index.equals(pd.RangeIndex(len(customers)))


def test_as_of_after_the_data_counts_from_the_given_date(tiny_transactions):
    result = compute_rfm(tiny_transactions, options=MetricOptions(as_of="2024-03-01"))
    # Feb 1 -> Mar 1 is 29 days (2024 is a leap year)
    assert dict(zip(result.customers["customer_id"], result.customers["recency"],
                    strict=True)) == {"A": 29, "B": 36, "D": 46, "F": 30}
    assert result.quality.dropped.get("after_as_of", 0) == 0


def test_as_of_before_all_purchases_is_an_error(tiny_transactions):
    with pytest.raises(InputError, match=r"No purchases left in DataFrame.*after as of"):
        compute_rfm(tiny_transactions, options=MetricOptions(as_of=dt.date(2024, 1, 1)))


@pytest.mark.parametrize("as_of", ["2024-01-31", dt.datetime(2024, 1, 31, 18, 0),
                                   pd.Timestamp("2024-01-31"), dt.date(2024, 1, 31)],
                         ids=["string", "datetime", "timestamp", "date"])
def test_as_of_accepts_dates_in_several_types(tiny_transactions, as_of):
    result = compute_rfm(tiny_transactions, options=MetricOptions(as_of=as_of))
    assert result.as_of == dt.date(2024, 1, 31)
    assert result.customers["recency"].tolist() == [11, 6, 16, 0]


def test_unparseable_as_of_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"'31/01/2024' is not a date.*YYYY-MM-DD"):
        MetricOptions(as_of="31/01/2024")


@pytest.mark.parametrize(
    "kwargs, name",
    [({"frequency": "visits"}, "frequency"), ({"monetary": "median"}, "monetary"),
     ({"consolidate_days": 1}, "consolidate_days"), ({"as_of": 20240131}, "as_of")],
)
def test_metric_options_are_validated(kwargs, name):
    with pytest.raises(ParameterError, match=rf"The '{name}' parameter of MetricOptions must be"):
        MetricOptions(**kwargs)


def test_orders_without_an_order_column_count_rows():
    # orders shape (cdnow-like): each row is an order; two orders on one day stay two orders
    df = pd.DataFrame({
        "customer_id": ["1", "1", "1", "2", "2"],
        "date": pd.to_datetime(["2020-03-01", "2020-03-01", "2020-03-05", "2020-03-02",
                                "2020-03-03"]).astype("datetime64[us]"),
        "quantity": [1, 2, 1, 1, 3],
        "amount": [10.0, 5.5, 4.5, 7.0, -7.0],
    })
    result = compute_rfm(df)
    assert result.columns.shape is InputShape.ORDERS
    check(result, table([
        ("1", 0, 3, 20.0, T("2020-03-01"), T("2020-03-05"), 3, 20.0),
        ("2", 3, 1, 7.0, T("2020-03-02"), T("2020-03-02"), 1, 7.0),
    ]))
    days = compute_rfm(df, options=MetricOptions(frequency="days", monetary="mean"))
    check(days, table([
        ("1", 0, 2, 10.0, T("2020-03-01"), T("2020-03-05"), 3, 20.0),
        ("2", 3, 1, 7.0, T("2020-03-02"), T("2020-03-02"), 1, 7.0),
    ]))


def test_rows_without_an_order_id_are_orders_of_their_own():
    # Customer 7's two lines have no invoice number: two orders, not zero (a frequency of 0
    # would make the mean monetary value infinite).
    df = pd.DataFrame({
        "InvoiceNo": ["10", "10", None, None, "11"],
        "CustomerID": ["5", "5", "7", "7", "7"],
        "InvoiceDate": pd.to_datetime(["2021-05-01 10:00", "2021-05-01 10:00",
                                       "2021-05-02 09:00", "2021-05-03 09:00",
                                       "2021-05-03 12:00"]).astype("datetime64[us]"),
        "Quantity": [1, 2, 1, 1, 1],
        "UnitPrice": [2.0, 3.0, 4.0, 6.0, 10.0],
    })
    result = compute_rfm(df, options=MetricOptions(monetary="mean"))
    check(result, table([
        ("5", 2, 1, 8.0, T("2021-05-01 10:00"), T("2021-05-01 10:00"), 1, 8.0),
        ("7", 0, 3, 20.0 / 3, T("2021-05-02 09:00"), T("2021-05-03 12:00"), 3, 20.0),
    ]))


def test_customer_level_csv_returns_canonical_columns(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("Customer,Recency,FREQUENCY,monetary\n"
                    "c2,4,1,20\nc1,3,2,50.5\n10,1,1,5\n9,0,7,100.25\n")
    result = compute_rfm(path)
    assert result.columns.shape is InputShape.CUSTOMERS
    expected = pd.DataFrame({
        "customer_id": ["9", "10", "c1", "c2"],
        "recency": [0, 1, 3, 4],
        "frequency": [7, 1, 2, 1],
        "monetary": [100.25, 5.0, 50.5, 20.0],
        "first_purchase": pd.Series([pd.NaT] * 4, dtype="datetime64[us]"),
        "last_purchase": pd.Series([pd.NaT] * 4, dtype="datetime64[us]"),
        "orders": [7, 1, 2, 1],
        "revenue": [100.25, 5.0, 50.5, 20.0],
    }).astype(EXPECTED_DTYPES)
    pd.testing.assert_frame_equal(result.customers, expected, check_exact=True)
    assert result.quality.rows_read == result.quality.customers == 4


def test_customer_level_shape_can_be_forced(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("member,days_since,n,total\nm1,3,2,50\nm2,10,1,5\n")
    result = compute_rfm(path, shape="customers", columns=ColumnMapping(
        customer="member", recency="days_since", frequency="n", monetary="total"))
    assert result.customers["recency"].tolist() == [3, 10]
    assert result.customers["monetary"].tolist() == [50.0, 5.0]


def test_engine_instance_is_left_open(tiny_transactions):
    engine = DuckDBEngine(threads=1)
    try:
        first = compute_rfm(tiny_transactions, engine=engine).customers
        second = compute_rfm(tiny_transactions, engine=engine).customers  # still usable
        pd.testing.assert_frame_equal(first, second, check_exact=True)
    finally:
        engine.close()


def test_result_objects_survive_copy_and_repr(tiny_transactions):
    result = compute_rfm(tiny_transactions)
    clone = copy.deepcopy(result)
    assert clone.columns == result.columns
    assert clone.columns.customer == "CustomerID"
    assert "InvoiceNo" in repr(result.columns)
    assert isinstance(result.quality, QualityReport)


def test_quality_report_dict_lists_every_reason_in_rule_order():
    report = QualityReport(source="x.csv", rows_read=10, dropped={"cancellation": 2})
    d = report.to_dict()
    assert list(d["dropped"]) == list(DROP_REASONS)
    assert d["rows_dropped"] == 2 and d["as_of"] is None


# --- real data: METHODS.md section 3 facts -------------------------------------------------------

METHOD_Q = MetricOptions(frequency="days", monetary="mean", consolidate_days=True)


@pytest.mark.slow
def test_method_q_facts_on_online_retail(shared_data):
    path = shared_data / "online_retail.parquet"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    result = compute_rfm(path, options=METHOD_Q, cleaning=CleaningRules(drop_duplicates=False))
    c = result.customers
    assert len(c) == 4338
    assert int(c["recency"].sum()) == 399_354
    assert int(c["frequency"].sum()) == 16_763
    assert int((c["frequency"] > 30).sum()) == 26
    assert int((c["monetary"] > 2500).sum()) == 36
    row = c.loc[c["customer_id"] == "12346"].iloc[0]
    assert (row["recency"], row["frequency"]) == (325, 1)
    assert row["monetary"] == pytest.approx(77183.60, rel=1e-12)
    assert result.as_of == dt.date(2011, 12, 9)
    q = result.quality
    assert q.rows_read == 541_909
    assert q.dropped["missing_customer"] == 135_080
    assert q.to_dict()["dropped"]["duplicate_row"] == 0  # duplicates kept, as Method Q does
    assert q.rows_used + q.rows_dropped == q.rows_read
    assert np.all(c["first_purchase"] <= c["last_purchase"])
