"""Purchase events for CLV, computed in the engine, against a pandas reference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rfmkit.errors import InputError, ParameterError, RFMKitWarning
from rfmkit.purchase_events import purchase_events

CAL, HOLD = dt.date(2023, 3, 31), dt.date(2023, 6, 30)


def _reference(rows: pd.DataFrame, cal: dt.date, hold: dt.date | None, *, has_order: bool):
    """The documented rule, in pandas: same-day purchases merged, $0.00 rows count for timing,
    returns do not, spend from positive amounts; identical rows kept without an order id."""
    df = rows.copy()
    if has_order:
        df = df.drop_duplicates()
        df = df[~df["order_id"].astype(str).str.startswith("C")]
    df = df[df["customer_id"].notna() & (df["amount"] >= 0)]
    df["day"] = pd.to_datetime(df["order_date"]).dt.normalize()
    days = df.groupby(["customer_id", "day"])["amount"].sum().reset_index()
    cal_days = days[days["day"] <= pd.Timestamp(cal)]
    first = cal_days.groupby("customer_id")["day"].transform("min")
    out = cal_days.groupby("customer_id").agg(first_day=("day", "min"), last_day=("day", "max"),
                                               events=("day", "size"))
    out["repeat_spend"] = cal_days[cal_days["day"] > first].groupby("customer_id")[
        "amount"].sum().reindex(out.index, fill_value=0.0)
    if hold is not None:
        h = days[(days["day"] > pd.Timestamp(cal)) & (days["day"] <= pd.Timestamp(hold))]
        out["holdout_events"] = h.groupby("customer_id").size().reindex(out.index, fill_value=0)
        out["holdout_spend"] = h.groupby("customer_id")["amount"].sum().reindex(
            out.index, fill_value=0.0)
    return out.reset_index()


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 3000
    rows = pd.DataFrame({
        "customer_id": rng.choice([f"c{i}" for i in range(150)] + [None], n),
        "order_id": [f"{'C' if rng.random() < 0.03 else ''}o{i}" for i in rng.integers(0, 900, n)],
        "order_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 180 * 24, n),
                                                                    unit="h"),
        "amount": np.round(rng.choice([0.0, -5.0, 12.5, 30.0, 7.25, 99.0], n), 2),
    })
    return pd.concat([rows, rows.iloc[:40]], ignore_index=True)  # exact duplicates


@pytest.mark.parametrize("has_order", [True, False])
def test_matches_the_reference(messy, has_order):
    data = messy if has_order else messy.drop(columns="order_id")
    got, label, _ = purchase_events(data, calibration_end=CAL, holdout_end=HOLD)
    expected = _reference(data, CAL, HOLD, has_order=has_order)
    assert label == "DataFrame"
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.sort_values("customer_id").reset_index(drop=True),
        check_dtype=False, check_exact=False, rtol=1e-12)


def test_same_day_merged_zero_counts_for_timing_returns_do_not():
    rows = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b"],
        "order_date": pd.to_datetime(["2023-01-02 09:00", "2023-01-02 17:00", "2023-02-01",
                                      "2023-03-01", "2023-01-05", "2023-03-20"], format="mixed"),
        "amount": [10.0, 5.0, 0.0, -20.0, 8.0, 12.0],
    })
    got, _, daily = purchase_events(rows, calibration_end=dt.date(2023, 3, 20), tracking=True)
    a = got.set_index("customer_id").loc["a"]
    assert a["events"] == 2  # 01-02 twice -> one event; the $0.00 day counts; the return not
    assert a["last_day"] == pd.Timestamp("2023-02-01")
    assert a["repeat_spend"] == 0.0  # the repeat event spent nothing
    assert got.set_index("customer_id").loc["b", "repeat_spend"] == 12.0
    assert daily["repeats"].sum() == 2


def test_identical_rows_without_order_id_are_two_purchases():
    rows = pd.DataFrame({"customer_id": ["a", "a", "a"],
                         "order_date": pd.to_datetime(["2023-01-02", "2023-02-02", "2023-02-02"]),
                         "amount": [10.0, 5.0, 5.0]})
    got, _, _ = purchase_events(rows, calibration_end=dt.date(2023, 2, 2))
    assert got.loc[0, "repeat_spend"] == 10.0
    with_order = rows.assign(order_id=["o1", "o2", "o2"])
    got, _, _ = purchase_events(with_order, calibration_end=dt.date(2023, 2, 2))
    assert got.loc[0, "repeat_spend"] == 5.0


def test_dates_outside_the_data_are_refused(messy):
    with pytest.raises(ParameterError, match="outside the data"):
        purchase_events(messy, calibration_end=dt.date(2024, 1, 1))
    with pytest.warns(RFMKitWarning, match="after the last purchase"):
        purchase_events(messy, calibration_end=CAL, holdout_end=dt.date(2030, 1, 1))
    with pytest.raises(ParameterError, match="must be after"):
        purchase_events(messy, calibration_end=CAL, holdout_end=CAL)


def test_customer_level_input_is_refused():
    customers = pd.DataFrame({"customer_id": ["a"], "recency": [3], "frequency": [2],
                              "monetary": [10.0]})
    with pytest.raises(InputError, match="customer-level"):
        purchase_events(customers, calibration_end=CAL)


@pytest.mark.postgres
def test_postgres_gives_the_same_events(messy):
    from pg_server import get_server
    from rfmkit.engines.postgres import PostgresEngine
    from rfmkit.engines.postgres_tables import write_tables

    dsn = get_server().new_database()
    write_tables(dsn, {"orders": messy})
    expected, _, daily = purchase_events(messy, calibration_end=CAL, holdout_end=HOLD,
                                         tracking=True)
    engine = PostgresEngine(dsn)
    try:
        got, _, got_daily = purchase_events(dsn, table="orders", calibration_end=CAL,
                                            holdout_end=HOLD, engine=engine, tracking=True)
    finally:
        engine.close()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False,
                                  rtol=1e-12)
    pd.testing.assert_frame_equal(got_daily, daily, check_dtype=False)


@pytest.mark.spark
def test_spark_gives_the_same_events(messy, tmp_path):
    from rfmkit.engines import get_engine
    from spark_session import get_session

    get_session()
    path = tmp_path / "messy.parquet"
    messy.to_parquet(path, index=False)
    expected, _, daily = purchase_events(str(path), calibration_end=CAL, holdout_end=HOLD,
                                         tracking=True)
    engine = get_engine("spark")
    try:
        got, _, got_daily = purchase_events(str(path), calibration_end=CAL, holdout_end=HOLD,
                                            engine=engine, tracking=True)
    finally:
        engine.close()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False,
                                  rtol=1e-12)
    pd.testing.assert_frame_equal(got_daily, daily, check_dtype=False)
