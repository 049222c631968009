"""Reading transactions correctly (issue 12): ids as text, text dates, type drift, money.

Every case goes through compute_rfm on real files (the DuckDB engine); the command line's
side of the same cases is in tests/test_cli.py.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from input_support import drift_csv, long_ids_csv, week_csv, write_csv
from rfmkit.cleaning import CleaningRules
from rfmkit.errors import CollapsedBinsWarning, ParameterError, SchemaError
from rfmkit.export.persistence import load_model, save_model
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import compute_rfm
from rfmkit.model import RFMModel
from rfmkit.sql.metrics_query import MONEY, money_type

# --- ids are text -----------------------------------------------------------------------------

def test_18_digit_ids_stay_distinct_when_one_row_reads_dot_zero(tmp_path):
    result = compute_rfm(long_ids_csv(tmp_path / "ids.csv"))
    ids = result.customers["customer_id"].tolist()
    assert len(ids) == 1000
    assert ids == [str(123456789012340000 + i) for i in range(1000)]
    # the '.0' row is the same customer: all three of its orders count
    assert result.customers.loc[5, "frequency"] == 3


def test_text_ids_are_never_numbers(tmp_path):
    path = write_csv(tmp_path / "ids.csv", "customer_id,order_date,amount",
                ["007,2023-01-01,5", "7,2023-01-02,6", "12.5,2023-01-03,7", "12,2023-01-04,8",
                 "12.50,2023-01-05,9", "-3.00,2023-01-06,1"])
    ids = compute_rfm(path).customers["customer_id"].tolist()
    # leading zeros kept; a non-zero fraction is part of the id; only a zero fraction goes
    assert sorted(ids) == sorted(["007", "7", "12.5", "12", "12.50", "-3"])


def test_integral_float_ids_read_as_integers(tmp_path):
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"customer_id": [12345.0, 2.0**53 - 1, 12345.0],
                             "order_date": [dt.date(2023, 1, 1)] * 3,
                             "amount": [1.0, 2.0, 3.0]}), path)
    ids = compute_rfm(path).customers["customer_id"].tolist()
    assert ids == ["12345", "9007199254740991"]


@pytest.mark.parametrize("bad, shown", [(12345.5, "12345.5"), (2.0**53, "9007199254740992"),
                                        (1e19, "1e+19"), (float("inf"), "inf")])
def test_float_ids_that_are_not_exact_integers_are_refused(tmp_path, bad, shown):
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"customer_id": [1.0, bad], "order_date": [dt.date(2023, 1, 1)] * 2,
                             "amount": [1.0, 2.0]}), path)
    with pytest.raises(SchemaError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert "'customer_id'" in message and "f.parquet" in message
    assert shown in message.replace(".0,", ",").replace(".0 ", " ") or shown in message
    assert "text or integers" in message and "ColumnMapping(customer=NAME)" in message


def test_float_order_ids_are_checked_too():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "order_id": [1.0, 1.5],
                          "order_date": pd.to_datetime(["2023-01-01", "2023-01-02"]),
                          "amount": [1.0, 2.0]})
    with pytest.raises(SchemaError, match=r"'order_id' \(order id\) in DataFrame.*1\.5"):
        compute_rfm(frame)


# --- dates --------------------------------------------------------------------------------------

def test_dates_that_read_both_ways_are_refused(tmp_path):
    with pytest.raises(SchemaError) as info:
        compute_rfm(week_csv(tmp_path / "week.csv"))
    message = str(info.value)
    assert "'order_date'" in message and "week.csv" in message and "'01/01/2023'" in message
    assert "date_order='dayfirst'" in message and "date_order='monthfirst'" in message
    assert "date_format='%m/%d/%Y'" in message


def test_date_order_reads_ambiguous_dates(tmp_path):
    path = week_csv(tmp_path / "week.csv")
    us = compute_rfm(path, options=MetricOptions(date_order="monthfirst"))
    assert us.as_of == dt.date(2023, 1, 7)
    assert (us.customers["recency"].min(), us.customers["recency"].max()) == (0, 6)
    eu = compute_rfm(path, options=MetricOptions(date_order="dayfirst"))
    assert eu.as_of == dt.date(2023, 7, 1)
    given = compute_rfm(path, options=MetricOptions(date_format="%m/%d/%Y"))
    pd.testing.assert_frame_equal(given.customers, us.customers, check_exact=True)


@pytest.mark.parametrize("extra, as_of", [("C1,01/13/2023,5", dt.date(2023, 1, 13)),
                                          ("C1,13/01/2023,5", dt.date(2023, 7, 1))])
def test_one_decisive_value_decides(tmp_path, extra, as_of):
    result = compute_rfm(week_csv(tmp_path / "week.csv", [extra]))
    assert result.as_of == as_of
    assert result.quality.dropped["unparseable_date"] == 0


def test_common_layouts_are_detected(tmp_path):
    path = write_csv(tmp_path / "uci.csv", "InvoiceNo,CustomerID,InvoiceDate,Amount",
                ["1,17850,12/1/2010 8:26,3", "2,17850,12/13/2010 18:05,4",
                 "3,13047,1/9/2011 9:00,5"])
    result = compute_rfm(path)
    assert result.as_of == dt.date(2011, 1, 9)
    assert result.quality.date_format == "%m/%d/%Y %H:%M"
    for rows, fmt, last in (
            (["a,2023.12.31,1", "b,2023.01.05,2"], "%Y.%m.%d", "2023-12-31"),
            (["a,2023/12/31 10:00:00.123,1"], "%Y/%m/%d %H:%M:%S.%f", "2023-12-31 10:00:00.123"),
            (["a,31-12-23 10:00:00,1", "b,01-02-23 09:00:00,2"], "%d-%m-%y %H:%M:%S",
             "2023-12-31 10:00"),
            (["a,1/2/2023 8:26 PM,1", "b,1/13/2023 9:00 AM,2"], "%m/%d/%Y %I:%M %p",
             "2023-01-13 09:00")):
        got = compute_rfm(write_csv(tmp_path / "l.csv", "customer_id,order_date,amount", rows))
        assert got.quality.date_format == fmt
        assert got.customers["last_purchase"].max() == pd.Timestamp(last)
    iso = write_csv(tmp_path / "iso.csv", "customer_id,order_date,amount",
               ["a,2023-01-02,1", "b,2023-01-03 10:00:00,2"])
    assert compute_rfm(iso).quality.date_format is None  # ISO needs no format


def test_iso_text_dates_with_offsets_are_instants_read_as_utc(tmp_path):
    path = write_csv(tmp_path / "tz.csv", "customer_id,order_date,amount",
                ["a,2024-01-01 23:30:00+02,1", "b,2024-01-02 00:30:00+02:00,2",
                 "c,2024-01-01T22:00:00Z,3"])
    last = compute_rfm(path).customers.set_index("customer_id")["last_purchase"]
    assert last.tolist() == [pd.Timestamp("2024-01-01 21:30"), pd.Timestamp("2024-01-01 22:30"),
                             pd.Timestamp("2024-01-01 22:00")]


def test_the_model_keeps_the_date_reading(tmp_path):
    train = week_csv(tmp_path / "week.csv", ["C1,01/13/2023,5"])
    with pytest.warns(CollapsedBinsWarning):  # every customer buys once
        model = RFMModel(n_clusters="none").fit(train)
    assert model.quality_.date_format == "%m/%d/%Y"
    # the model keeps the order, not the layout: the next file may be written otherwise
    assert model.metric_options_.date_format is None
    assert model.metric_options_.date_order == "monthfirst"
    save_model(model, tmp_path / "model.json")
    loaded = load_model(tmp_path / "model.json")
    # scoring the ambiguous week alone reads it as training did: month first
    scored = loaded.segment(week_csv(tmp_path / "again.csv"))
    assert scored.as_of == dt.date(2023, 1, 7)
    assert scored.customers["recency"].max() == 6
    dashes = write_csv(tmp_path / "dashes.csv", "customer_id,order_date,amount",
                       ["C1,01-02-2023,5", "C2,01-03-2023,5"])
    assert loaded.segment(dashes).as_of == dt.date(2023, 1, 3)


@pytest.mark.parametrize("fmt", ["%s", "%Q", "%d/%m/%Y %s"])
def test_a_format_duckdb_cannot_use_is_a_parameter_error(tmp_path, fmt):
    with pytest.raises(ParameterError, match=r"date_format=.*strptime"):
        compute_rfm(week_csv(tmp_path / "w.csv"), options=MetricOptions(date_format=fmt))


def test_a_format_that_parses_nothing_is_a_schema_error(tmp_path):
    with pytest.raises(SchemaError, match=r"'order_date' \(date\) in .*w\.csv is not date: "
                                          r"none of its 400 values.*date_format="):
        compute_rfm(week_csv(tmp_path / "w.csv"), options=MetricOptions(date_format="%Y-%m"))


def test_a_format_without_directive_is_refused_at_once():
    with pytest.raises(ParameterError, match=r"date_format='abc' has no strptime directive"):
        MetricOptions(date_format="abc")
    with pytest.raises(ParameterError, match="date_order"):
        MetricOptions(date_order="yearfirst")


# --- a column that changes type deep in the file -----------------------------------------------

@pytest.mark.parametrize("dedupe", [True, False], ids=["dedupe", "no_dedupe"])
@pytest.mark.parametrize("what", ["ids", "amount", "date", "instants"])
def test_type_drift_after_the_sniffer_sample_is_read_row_by_row(tmp_path, what, dedupe):
    result = compute_rfm(drift_csv(tmp_path / "drift.csv", what),
                         cleaning=CleaningRules(drop_duplicates=dedupe))
    q = result.quality
    assert q.rows_read == 120_000
    if what == "ids":
        assert q.customers == 10_000 and q.rows_used == 120_000
    elif what == "amount":
        assert q.dropped["unparseable_amount"] == 5000 and q.rows_used == 115_000
        assert any("'n/a'" in w for w in q.warnings)
    else:  # text dates, or ISO instants with UTC offsets
        assert q.dropped["unparseable_date"] == 5000 and q.rows_used == 115_000
        if what == "date":
            assert any("'garbage'" in w for w in q.warnings)


# --- money --------------------------------------------------------------------------------------

def test_money_type_fits_the_data():
    assert money_type(168_469.6, 0.001, 541_909) == MONEY  # the UCI data: unchanged
    assert money_type(1.0, 1e-7, 20) == "DECIMAL(38, 9)"
    assert money_type(1.0, 3e-9, 20) == "DECIMAL(38, 11)"
    assert money_type(2e32, 1e32, 20) == "DECIMAL(38, 4)"
    assert money_type(1e37, 1.0, 100) is None


def test_huge_amounts_sum_exactly(tmp_path):
    rows = [f"C{i % 3},2023-01-0{1 + i % 9},{i + 1}e32" for i in range(20)]
    path = write_csv(tmp_path / "big.csv", "customer_id,order_date,amount", rows)
    got = compute_rfm(path).customers.set_index("customer_id")["monetary"]
    for c in range(3):
        exact = sum(Decimal(f"{i + 1}e32") for i in range(20) if i % 3 == c)
        assert got[f"C{c}"] == float(exact)


def test_tiny_amounts_are_not_rounded_to_zero(tmp_path):
    rows = [f"C{i},2023-01-0{1 + i % 9},{i + 1}e-7" for i in range(20)] + ["C0,2023-01-09,3e-9"]
    path = write_csv(tmp_path / "small.csv", "customer_id,order_date,amount", rows)
    got = compute_rfm(path).customers.set_index("customer_id")["monetary"]
    assert got["C0"] == float(Decimal("1e-7") + Decimal("3e-9"))
    assert got["C19"] == 2e-6


def test_money_sums_do_not_depend_on_row_order(tmp_path):
    amounts = [1e20, 3.3e-5, -1e20, 0.1, 0.2, 7e15, 1e-6]
    frame = pd.DataFrame({"customer_id": ["a"] * len(amounts),
                          "order_date": pd.date_range("2023-01-01", periods=len(amounts)),
                          "amount": amounts})
    options = MetricOptions()
    first = compute_rfm(frame, options=options).customers
    backwards = compute_rfm(frame.iloc[::-1].reset_index(drop=True), options=options).customers
    pd.testing.assert_frame_equal(first, backwards, check_exact=True)


def test_amounts_past_the_bound_are_refused(tmp_path):
    rows = [f"C{i},2023-01-01,{i + 1}e37" for i in range(20)]
    path = write_csv(tmp_path / "huge.csv", "customer_id,order_date,amount", rows)
    with pytest.raises(SchemaError, match=r"huge\.csv.*'amount'.*38 digits.*rescale"):
        compute_rfm(path)


# --- how text amounts write their numbers (issue 13) ---------------------------------------------

def _amounts(tmp_path, amounts: list[str], **options):
    """Customer i buys for 100 and for amounts[i] (kept when negative: returns are netted)."""
    rows = [f"C{i:02d};2023-01-01;100" for i in range(len(amounts))]
    rows += [f"C{i:02d};2023-01-0{2 + i % 8};{a}" for i, a in enumerate(amounts)]
    path = write_csv(tmp_path / "amounts.csv", "customer;order_date;amount", rows)
    return compute_rfm(path, cleaning=CleaningRules(returns="net"), **options)


def _spend(result) -> list[float]:
    """Each customer's amount beside the 100 (100 itself when it was not read)."""
    return [round(m - 100, 6) for m in result.customers.sort_values("customer_id")["monetary"]]


def test_currency_signs_and_codes_are_ignored_and_counted(tmp_path):
    amounts = ["$5.00", "US$ 7.10", "12.50 USD", "-$3", "US$ 4", "9", " 2.5 ", "USD1", "5 USD"]
    result = _amounts(tmp_path, amounts)
    assert _spend(result) == [5.0, 7.1, 12.5, -3.0, 4.0, 9.0, 2.5, 1.0, 5.0]
    assert result.quality.cleaned == {"currency_sign": 7}
    assert result.quality.to_dict()["cleaned"] == {"currency_sign": 7}
    assert result.quality.warnings == []


@pytest.mark.parametrize("amounts", [
    ["€ 7.10", "5 EUR", "3"], ["$5", "A$ 4"], ["¥100", "JPY 5"], ["¥100", "CNY 5"],
    ["£1", "GBP 2"], ["C$ 3", "CAD 4", "$1"]],
    ids=["euro", "dollar-aud", "yen", "yuan", "pound", "cad"])
def test_marks_of_one_currency_are_read(tmp_path, amounts):
    result = _amounts(tmp_path, amounts)
    assert result.quality.cleaned["currency_sign"] == sum(not a.isdigit() for a in amounts)


@pytest.mark.parametrize("amounts, marks", [
    (["$12.50", "€ 3", "4"], ["'$' (1 value, e.g. '$12.50')", "'€' (1 value, e.g. '€ 3')"]),
    (["US$ 4", "S$ 3", "US$ 5"], ["'US$' (2 values", "'S$' (1 value"]),  # "S$" inside "US$"
    (["JPY 5", "CNY 5"], ["'JPY'", "'CNY'"]),  # "¥" is either, the codes are not
    (["12.50 USD", "£1", "5 EUR", "7"], ["'USD'", "'£'", "'EUR'"]),
], ids=["dollar-euro", "us-singapore", "yen-yuan", "three"])
def test_amounts_in_different_currencies_are_refused(tmp_path, amounts, marks):
    """Summing dollars and euros would be a revenue in no currency: a silent wrong answer."""
    with pytest.raises(SchemaError, match="mixes currencies") as caught:
        _amounts(tmp_path, amounts)
    message = str(caught.value)
    assert "amounts.csv" in message and "'amount'" in message
    assert all(mark in message for mark in marks), message
    assert "Convert the amounts to one currency" in message


def test_a_currency_inside_a_number_or_twice_is_not_a_number(tmp_path):
    result = _amounts(tmp_path, ["12$50", "$12 USD", "usd 4", "5", "6.5"])
    assert result.quality.dropped["unparseable_amount"] == 3
    assert _spend(result) == [0, 0, 0, 5, 6.5]
    assert result.quality.cleaned == {"currency_sign": 0}


@pytest.mark.parametrize("decimal, thousands, amounts, spend", [
    (",", ".", ["1.234,50 €", "7,10", "12", "-1.000.000,5", "1234,5"],
     [1234.5, 7.1, 12.0, -1000000.5, 1234.5]),
    (None, ",", ["$1,234.50", "7.10", "1,000,000", "12"], [1234.5, 7.1, 1e6, 12.0]),
    (",", " ", ["1 234,50", "1\u00a0234,50 €", "1\u202f234", "5,5"], [1234.5, 1234.5, 1234, 5.5]),
    (None, "'", ["CHF 1'234.50", "7.10"], [1234.5, 7.1]),
    (None, ".", ["1.234", "12.500", "7"], [1234.0, 12500.0, 7.0]),  # decimal then is ','
    (".", None, ["1.234", "12.500"], [1.234, 12.5]),
], ids=["eu", "us", "fr-spaces", "ch", "dots-group", "dots-decimal"])
def test_decimal_and_thousands_read_amounts(tmp_path, decimal, thousands, amounts, spend):
    result = _amounts(tmp_path, amounts, decimal=decimal, thousands=thousands)
    assert _spend(result) == pytest.approx(spend)
    assert result.options.decimal == decimal and result.options.thousands == thousands


def test_a_given_format_refuses_other_shapes(tmp_path):
    # a dot with decimal=',' and no thousands, groups of other than three digits, two marks
    result = _amounts(tmp_path, ["12.50", "1.23,4", "12,34,567", "1,2,3", "5,5", "1e3"],
                      decimal=",")
    assert result.quality.dropped["unparseable_amount"] == 5
    assert _spend(result) == [0, 0, 0, 0, 5.5, 0]


def test_line_items_read_both_columns_with_the_format(tmp_path):
    path = write_csv(tmp_path / "lines.csv", "customer;order_date;quantity;price",
                     ["C1;2023-01-01;1.000;2,50 €", "C2;2023-01-02;3;1.000,00"])
    result = compute_rfm(path, decimal=",", thousands=".")
    assert result.customers["monetary"].tolist() == [2500.0, 3000.0]
    assert result.quality.cleaned == {"currency_sign": 1}


@pytest.mark.parametrize("amounts, advice", [
    (["1.234,50", "7,10", "12"], "decimal=',' and thousands='.'"),
    (["5,50", "7,25"], "decimal=','"),
    (["1 234,50 €", "3"], "decimal=',' and thousands=' '"),
    (["1,234", "7", "12"], "thousands=',' or with decimal=','"),
], ids=["eu", "comma", "spaces", "one-comma-group"])
def test_amounts_another_format_reads_are_an_error_naming_it(tmp_path, amounts, advice):
    # some values ("12", "7") read the plain way: if a comma is the decimal mark, the others
    # would be misread or dropped, so the format must be said
    with pytest.raises(SchemaError) as info:
        _amounts(tmp_path, amounts)
    message = str(info.value)
    assert advice in message and repr(amounts[0]) in message
    assert "decimal= and thousands=" in message


def test_a_dot_that_may_group_thousands_is_ambiguous(tmp_path):
    with pytest.raises(SchemaError, match=r"'1\.234'.*decimal='\.' or thousands='\.'"):
        _amounts(tmp_path, ["1.234", "7.500", "12", "$2.000"])
    # a dot two digits from the end shows the dots are decimal points
    assert _spend(_amounts(tmp_path, ["1.234", "7.50", "12"])) == [1.234, 7.5, 12.0]
    assert _spend(_amounts(tmp_path, ["0.125", "12"])) == [0.125, 12.0]  # no group starts 0


def test_thousands_commas_among_decimal_points_are_dropped_with_the_format_named(tmp_path):
    result = _amounts(tmp_path, ["1,234.50", "7.25", "12.10"])
    assert result.quality.dropped["unparseable_amount"] == 1
    [note] = result.quality.warnings
    assert "'1,234.50'" in note and "thousands=','" in note


def test_amounts_in_no_format_keep_the_plain_error(tmp_path):
    path = write_csv(tmp_path / "words.csv", "customer,order_date,amount",
                     ["a,2023-01-01,n/a", "b,2023-01-02,twelve"])
    with pytest.raises(SchemaError, match="none of its 2 values parses") as info:
        compute_rfm(path)
    assert "decimal=" not in str(info.value)


@pytest.mark.parametrize("options, named", [
    ({"decimal": ";"}, "'decimal' parameter of MetricOptions"),
    ({"thousands": "x"}, "'thousands' parameter of MetricOptions"),
    ({"decimal": ",", "thousands": ","}, "decimal=',' and thousands=',' must differ"),
    ({"decimal": ".", "thousands": "."}, "decimal='.' and thousands='.' must differ"),
])
def test_number_formats_are_checked_in_one_place(options, named):
    with pytest.raises(ParameterError, match=re.escape(named)):
        MetricOptions(**options)
    with pytest.raises(ParameterError, match=re.escape(named)):
        compute_rfm(pd.DataFrame({"customer": ["a"], "date": ["2023-01-01"], "amount": ["1"]}),
                    **options)
    assert MetricOptions(thousands=".").decimal_mark == ","
    assert MetricOptions(thousands=",").decimal_mark == "."


@pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")
def test_the_model_keeps_the_number_format(tmp_path):
    fit_on = write_csv(tmp_path / "eu.csv", "customer;order_date;amount",
                       [f"C{i % 30};2023-01-0{1 + i % 9};{i + 1}.{i % 10}00,50"
                        for i in range(45)])
    model = RFMModel(n_clusters="none").fit(fit_on, decimal=",", thousands=".")
    assert (model.metric_options_.decimal, model.metric_options_.thousands) == (",", ".")
    save_model(model, tmp_path / "model.json")
    loaded = load_model(tmp_path / "model.json")
    again = loaded.segment(fit_on).customers
    pd.testing.assert_series_equal(again["monetary"], model.result_.customers["monetary"])
    assert again["monetary"].sum() == pytest.approx(sum(float(f"{i + 1}{i % 10}00.5")
                                                        for i in range(45)))
    # another file, another format: given for that file only
    us = write_csv(tmp_path / "us.csv", "customer,order_date,amount",
                   [f"C{i % 30},2023-01-0{1 + i % 9},\"{i + 1},{i % 10}00.50\""
                    for i in range(45)])
    scored = loaded.segment(us, decimal=".", thousands=",").customers
    pd.testing.assert_series_equal(scored["monetary"], again["monetary"])
    assert loaded.metric_options_.decimal == ","
    # an RFMResult computed with a format is fitted on as it is
    rfm = compute_rfm(fit_on, decimal=",", thousands=".")
    assert RFMModel(n_clusters="none").fit(rfm).metric_options_.thousands == "."
