"""Tests of rfmkit.engines.aggregation: the as-of sanity checks (issue 12).

The rule is tested on its own (``check_as_of`` on arrays of last purchase days) and through
the DuckDB engine, and it must never fire on the real data sets and on the demo data.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rfmkit
from rfmkit.engines.aggregation import (
    FAR_AS_OF_DAYS,
    OUTLIER_MIN_BULK,
    OUTLIER_MIN_GAP_DAYS,
    check_as_of,
)
from rfmkit.errors import AsOfWarning

DATA = Path(__file__).parents[2] / "shared" / "data"
REAL = ["online_retail.parquet", "online_retail_ii_2009_2010.parquet", "cdnow.parquet",
        "cdnow_sample.parquet"]


def days(*spec: tuple[str, int]) -> np.ndarray:
    """Last purchase days: (day, number of customers) pairs."""
    return np.concatenate([np.repeat(np.datetime64(d, "D"), n) for d, n in spec])


def dense(n: int = 500, start: str = "2023-01-01", span: int = 365) -> np.ndarray:
    """``n`` customers' last days spread over every day of ``span`` days (to 2023-12-31)."""
    return np.datetime64(start, "D") + (np.arange(n) % span).astype("timedelta64[D]")


def warned(last_day: np.ndarray, as_of: dt.date | None = None) -> list[str]:
    derived = as_of is None
    as_of = as_of or pd.Timestamp(last_day.max()).date()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_as_of(last_day, as_of, derived=derived, label="t.csv")
    assert all(issubclass(w.category, AsOfWarning) for w in caught)
    return [str(w.message) for w in caught]


def test_a_typo_row_far_after_the_rest_is_warned_with_its_dates_and_the_fix():
    last = np.concatenate([dense(), days(("2099-01-01", 1))])
    (message,) = warned(last)
    assert "The as-of date 2099-01-01 (the latest purchase day in t.csv) rests on 1 of 501" in (
        message)
    assert "2099-01-01 (1 customer)" in message
    assert "as_of='2023-12-31'" in message and "fix or drop those rows" in message


def test_several_outlier_days_are_listed_latest_first():
    last = np.concatenate([dense(), days(("2030-01-01", 2), ("2031-05-05", 1))])
    (message,) = warned(last)
    assert "rests on 3 of 503 customers" in message
    assert message.index("2031-05-05 (1 customer)") < message.index("2030-01-01 (2 customers)")


@pytest.mark.parametrize("last", [
    dense(),  # a year of daily purchases
    np.concatenate([dense(), days(("2024-01-20", 1))]),  # 20 days after: within the gap
    np.concatenate([dense(), days(("2024-03-01", 6))]),  # 6 of 506 customers: over 1%
    np.concatenate([dense(9), days(("2099-01-01", 1))]),  # fewer than OUTLIER_MIN_BULK others
    # a small shop: 12 customers months apart, the last one 100 days after the others
    days(*[(f"2023-{m:02d}-01", 1) for m in range(1, 12)], ("2024-03-10", 1)),
], ids=["dense", "20 days", "over 1%", "tiny bulk", "small shop"])
def test_no_false_alarm(last):
    assert OUTLIER_MIN_BULK == 10 and OUTLIER_MIN_GAP_DAYS == 30
    assert warned(last) == []


def test_a_small_shop_with_a_typo_row_is_warned():
    last = days(*[(f"2023-{m:02d}-01", 1) for m in range(1, 12)], ("2099-01-01", 1))
    assert "rests on 1 of 12 customers" in warned(last)[0]


def test_a_given_as_of_far_after_the_data_is_warned_with_the_days():
    last = dense()
    (message,) = warned(last, dt.date(2030, 1, 1))
    assert message.startswith("as_of='2030-01-01' is 2,193 days after the latest purchase in "
                              "t.csv (2023-12-31)")
    assert "Champions" in message
    assert warned(last, dt.date(2024, 1, 1) + dt.timedelta(days=FAR_AS_OF_DAYS - 1)) == []
    # a given as-of is never "resting on outliers": the user chose it
    assert warned(np.concatenate([last, days(("2099-01-01", 1))]), dt.date(2099, 1, 1)) == []


def test_one_day_is_left_to_the_scorer():
    """A constant recency is warned where it matters, by the scorer (ConstantMetricWarning):
    metrics alone are right, and one customer or one day of data is not an as-of problem."""
    assert warned(days(("2023-05-05", 40))) == []
    assert warned(days(("2023-05-05", 1))) == []


@pytest.mark.parametrize("name", REAL)
def test_no_false_alarm_on_the_real_data_sets(name):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AsOfWarning)
        result = rfmkit.compute_rfm(path)
    assert len(result.customers) > 2000


def test_no_false_alarm_on_the_demo_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error", AsOfWarning)
        rfmkit.compute_rfm(rfmkit.generate_transactions(20_000, seed=3).to_pandas())


def test_through_the_engine_a_typo_row_in_a_csv_is_warned(tmp_path):
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({
        "customer_id": [f"c{i % 300}" for i in range(1500)],
        "order_date": pd.Timestamp("2023-01-01")
        + pd.to_timedelta(rng.integers(0, 365, 1500), unit="D"),
        "amount": rng.uniform(5, 100, 1500).round(2)})
    rows.loc[7, "order_date"] = pd.Timestamp("2099-01-01")
    path = tmp_path / "t.csv"
    rows.to_csv(path, index=False)
    with pytest.warns(AsOfWarning, match=r"t\.csv\) rests on 1 of 300 customers"):
        result = rfmkit.compute_rfm(path)
    assert result.as_of == dt.date(2099, 1, 1)  # warned, not changed: the data say so
