"""Cleaning rules: validation, and the count of rows each rule removes (first rule wins)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from reference import reference_rfm
from rfmkit.cleaning import DROP_REASONS, REASON_TEXT, CleaningRules, QualityReport
from rfmkit.errors import ParameterError
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import compute_rfm


def test_reasons_are_in_rule_order_and_described():
    assert DROP_REASONS == ("duplicate_row", "missing_customer", "unparseable_date",
                            "unparseable_amount", "after_as_of", "cancellation",
                            "non_positive_amount")
    assert set(REASON_TEXT) == set(DROP_REASONS)


def test_default_rules():
    rules = CleaningRules()
    assert rules.to_dict() == {"returns": "drop", "drop_cancellations": True,
                               "cancellation_prefix": "C", "drop_duplicates": True}


@pytest.mark.parametrize(
    "kwargs, name",
    [({"returns": "keep"}, "returns"), ({"drop_duplicates": "yes"}, "drop_duplicates"),
     ({"drop_cancellations": 0}, "drop_cancellations"),
     ({"cancellation_prefix": None}, "cancellation_prefix")],
)
def test_rules_are_validated(kwargs, name):
    with pytest.raises(ParameterError,
                       match=rf"The '{name}' parameter of CleaningRules must be .* Got "):
        CleaningRules(**kwargs)


# Rows that break several rules at once; each is counted under the first rule it breaks.
#   order, customer, date, amount                       first rule broken
MULTI = [
    ("o1", "k1", "2023-03-01 10:00", "10"),          # kept
    ("o1", "k1", "2023-03-01 10:00", "10"),          # duplicate_row (also fine otherwise)
    ("o2", None, "garbage", "x"),                    # missing_customer (date, amount bad too)
    ("o2", None, "garbage", "x"),                    # duplicate_row before missing_customer
    ("o3", "k2", "garbage", "x"),                    # unparseable_date (amount bad too)
    ("o4", "k2", "2023-03-02 11:00", "x"),           # unparseable_amount
    ("C5", "k2", "2023-04-01 09:00", "-5"),          # after_as_of (a cancellation too)
    ("C6", "k2", "2023-03-03 09:00", "-5"),          # cancellation (and amount <= 0)
    ("C7", "k3", "2023-03-03 09:00", "8"),           # cancellation, even with amount > 0
    ("o8", "k3", "2023-03-04 09:00", "0"),           # non_positive_amount (both policies)
    ("o9", "k3", "2023-03-05 09:00", "-3"),          # non_positive_amount under 'drop' only
    ("o10", "k4", "2023-03-06 23:59", "4"),          # kept: on the as-of date
    ("o11", "  ", "2023-03-06 12:00", "4"),          # missing_customer: blank id
]


@pytest.fixture
def multi() -> pd.DataFrame:
    return pd.DataFrame(MULTI, columns=["OrderId", "CustomerId", "OrderDate", "OrderAmount"])


def _counts(**kw: int) -> dict[str, int]:
    return {r: kw.get(r, 0) for r in DROP_REASONS}


@pytest.mark.parametrize(
    "rules, expected",
    [
        (CleaningRules(), _counts(duplicate_row=2, missing_customer=2, unparseable_date=1,
                                  unparseable_amount=1, after_as_of=1, cancellation=2,
                                  non_positive_amount=2)),
        # net returns keep cancellation invoices by default: they are netted against spend
        (CleaningRules(returns="net"),
         _counts(duplicate_row=2, missing_customer=2, unparseable_date=1, unparseable_amount=1,
                 after_as_of=1, non_positive_amount=1)),
        (CleaningRules(returns="net", drop_cancellations=True),
         _counts(duplicate_row=2, missing_customer=2, unparseable_date=1, unparseable_amount=1,
                 after_as_of=1, cancellation=2, non_positive_amount=1)),
        (CleaningRules(drop_duplicates=False),
         _counts(missing_customer=3, unparseable_date=1, unparseable_amount=1, after_as_of=1,
                 cancellation=2, non_positive_amount=2)),
        (CleaningRules(drop_cancellations=False),
         _counts(duplicate_row=2, missing_customer=2, unparseable_date=1, unparseable_amount=1,
                 after_as_of=1, non_positive_amount=3)),
        (CleaningRules(cancellation_prefix="o1"),
         # o1 and o10 start with "o1" (o11 has no customer; o1's copy is a duplicate first);
         # C6 is now just a return and C7 a purchase
         _counts(duplicate_row=2, missing_customer=2, unparseable_date=1, unparseable_amount=1,
                 after_as_of=1, cancellation=2, non_positive_amount=3)),
    ],
    ids=["defaults", "net", "net_drop_cancellations", "keep_duplicates", "keep_cancellations",
         "other_prefix"],
)
def test_each_row_is_counted_under_the_first_rule_it_breaks(multi, rules, expected):
    options = MetricOptions(as_of=dt.date(2023, 3, 6))
    result = compute_rfm(multi, options=options, cleaning=rules)
    quality = result.quality.to_dict()
    assert quality["dropped"] == expected
    assert quality["rows_read"] == len(multi)
    assert quality["rows_used"] == len(multi) - sum(expected.values())
    # the independent reference agrees, rule by rule
    ref = reference_rfm(multi, customer="CustomerId", order="OrderId", date="OrderDate",
                        amount="OrderAmount", as_of=options.as_of, returns=rules.returns,
                        drop_cancellations=rules.drop_cancellations,
                        cancellation_prefix=rules.cancellation_prefix,
                        drop_duplicates=rules.drop_duplicates)
    assert ref.dropped == expected


def test_partly_unparseable_values_are_noted(multi):
    result = compute_rfm(multi, options=MetricOptions(as_of=dt.date(2023, 3, 6)))
    notes = result.quality.warnings
    assert len(notes) == 2
    date_note = next(n for n in notes if "'OrderDate'" in n)
    amount_note = next(n for n in notes if "'OrderAmount'" in n)
    # counts are over non-missing values of the column, before any rule (duplicates included)
    assert date_note.startswith("3 of 13 values in column 'OrderDate' (date) are not date")
    assert "'garbage'" in date_note and "dropped" in date_note
    assert amount_note.startswith("4 of 13 values in column 'OrderAmount' (amount) are not "
                                  "numeric")
    assert "'x'" in amount_note


def test_kept_rows_give_the_expected_customers(multi):
    result = compute_rfm(multi, options=MetricOptions(as_of=dt.date(2023, 3, 6)))
    c = result.customers
    assert c["customer_id"].tolist() == ["k1", "k4"]
    assert c["recency"].tolist() == [5, 0]
    assert c["monetary"].tolist() == [10.0, 4.0]
    # k2 and k3 have no row left at all: they are not "customers without purchases"
    assert result.quality.customers_without_purchases == 0


def test_net_counts_customers_left_with_returns_only(multi):
    result = compute_rfm(multi, options=MetricOptions(as_of=dt.date(2023, 3, 6)),
                         cleaning=CleaningRules(returns="net", drop_cancellations=True))
    # k3 keeps only its -3 return: it has rows but no purchase
    assert result.customers["customer_id"].tolist() == ["k1", "k4"]
    assert result.quality.customers_without_purchases == 1


def test_duplicates_compare_every_column():
    # same customer, date and amount but another product: not a duplicate
    df = pd.DataFrame({
        "customer": ["a", "a", "a"],
        "date": ["2022-01-01", "2022-01-01", "2022-01-01"],
        "sku": ["p1", "p2", "p1"],
        "amount": [5.0, 5.0, 5.0],
    })
    result = compute_rfm(df)
    assert result.quality.to_dict()["dropped"]["duplicate_row"] == 1
    assert result.customers["revenue"].tolist() == [10.0]


def test_quality_report_totals():
    report = QualityReport(source="s", rows_read=10,
                           dropped={"missing_customer": 3, "cancellation": 1}, rows_used=6)
    assert report.rows_dropped == 4
    assert report.to_dict()["dropped"]["non_positive_amount"] == 0
