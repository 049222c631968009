"""Snapshots (rfmkit.timeline.snapshots, engines/snapshots.py, sql/snapshots_query.py): each
as-of date scored exactly as ``RFMModel.segment(source, as_of=date)`` scores it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import rfmkit
from rfmkit.engines import get_engine
from rfmkit.timeline.snapshots import compute_snapshots, open_transactions

D = dt.date
# Hand-written orders; the expected metrics below are computed by hand from them.
ORDERS = pd.DataFrame({
    "customer": ["A", "A", "A", "B", "C", "C", "D"],
    "order": ["o1", "o2", "o3", "o4", "o5", "o6", "o7"],
    "date": pd.to_datetime(["2024-01-10 09:00", "2024-01-31 23:59", "2024-02-29 08:00",
                            "2024-01-20 12:00", "2024-02-15 10:00", "2024-03-05 10:00",
                            "2024-01-05 10:00"]),
    "amount": [100.0, 20.0, 50.0, 30.0, 200.0, 10.0, -5.0],
})
#   A buys on 01-10, on the as-of date 01-31 itself (23:59) and on the as-of date 02-29;
#   B buys once (01-20); C is new in February (02-15), and buys after the last date (03-05);
#   D only ever returns: never in a snapshot.
EXPECTED = pd.DataFrame({
    "customer_id": ["A", "B", "A", "B", "C"],
    "as_of": pd.to_datetime(["2024-01-31", "2024-01-31", "2024-02-29", "2024-02-29",
                             "2024-02-29"]),
    "recency": [0, 11, 0, 40, 14],
    "frequency": [2, 1, 3, 1, 1],
    "monetary": [120.0, 30.0, 170.0, 30.0, 200.0],
})
COLUMNS = rfmkit.ColumnMapping(customer="customer", order="order", date="date",
                               amount="amount")


def snapshots_of(model, source, dates, *, refit=False):
    eng = get_engine("duckdb")
    try:
        rel, resolved = open_transactions(model, source, eng, table=None, delimiter=None)
        return compute_snapshots(model, eng, rel, resolved, dates, refit=refit)
    finally:
        eng.close()


TWO_LEVELS = rfmkit.SegmentMap.from_dict({
    "name": "two", "levels": 2, "fallback": "Rest", "value_order": ["Best", "Rest", "Lapsed"],
    "rules": [{"name": "Best", "r": 2, "f": 2}, {"name": "Lapsed", "r": 1}]})


def training_orders() -> pd.DataFrame:
    """20 customers of December 2023 with 1-4 orders each: distinct enough for 2 bins."""
    rows = []
    for i in range(20):
        for k in range(i % 4 + 1):
            rows.append((f"T{i}", f"t{i}-{k}", pd.Timestamp("2023-12-01") +
                         pd.Timedelta(days=i + k), 10.0 * (i + 1)))
    return pd.DataFrame(rows, columns=list(ORDERS.columns))


@pytest.fixture(scope="module")
def hand_model():
    return rfmkit.RFMModel(columns=COLUMNS, n_bins=2, n_clusters="none",
                           segment_map=TWO_LEVELS).fit(training_orders())


def test_hand_computed_snapshots(hand_model):
    snaps = snapshots_of(hand_model, ORDERS, [D(2024, 1, 31), D(2024, 2, 29)])
    assert list(snaps.columns) == ["customer_id", "as_of", "recency", "frequency", "monetary",
                                   "r_score", "f_score", "m_score", "segment"]
    assert_frame_equal(snaps[list(EXPECTED.columns)], EXPECTED, check_dtype=False)
    assert snaps["as_of"].dtype == "datetime64[s]"


def test_a_purchase_on_the_as_of_date_counts_and_one_after_does_not(hand_model):
    snaps = snapshots_of(hand_model, ORDERS, [D(2024, 2, 28), D(2024, 2, 29)])
    a = snaps[snaps.customer_id == "A"].set_index("as_of")
    assert a.loc["2024-02-28", "frequency"] == 2 and a.loc["2024-02-28", "recency"] == 28
    assert a.loc["2024-02-29", "frequency"] == 3 and a.loc["2024-02-29", "recency"] == 0


def test_a_date_before_every_purchase_gives_an_empty_snapshot(hand_model):
    snaps = snapshots_of(hand_model, ORDERS, [D(2023, 12, 31), D(2024, 1, 10)])
    assert snaps["as_of"].unique().tolist() == [pd.Timestamp("2024-01-10")]
    assert snaps.customer_id.tolist() == ["A"]


# Every metric definition and cleaning rule whose interplay with dates could differ.
PARAMS = [
    {},
    {"consolidate_days": True, "frequency": "orders"},
    {"consolidate_days": True, "frequency": "days", "monetary": "mean"},
    {"frequency": "days", "returns": "net"},
    {"frequency": "rows", "monetary": "mean", "drop_duplicates": True},
    {"returns": "net", "drop_cancellations": False, "consolidate_days": True},
]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(f"{k}={v}" for k, v in
                                                                   p.items()) or "defaults")
def test_each_snapshot_equals_segment_at_that_date(synthetic_lines, params):
    train = synthetic_lines[synthetic_lines.InvoiceDate < "2022-08-01"]
    model = rfmkit.RFMModel(n_clusters=3, random_state=0, **params).fit(train)
    dates = [D(2022, 8, 31), D(2022, 11, 30), D(2023, 1, 15), D(2023, 2, 4)]
    snaps = snapshots_of(model, synthetic_lines, dates)
    for day in dates:
        expected = model.segment(synthetic_lines, as_of=day).customers
        got = snaps[snaps.as_of == pd.Timestamp(day)].drop(columns="as_of")
        assert_frame_equal(got.reset_index(drop=True),
                           expected[list(got.columns)].reset_index(drop=True))


def test_text_dates_and_amounts_equal_segment(synthetic_orders):
    model = rfmkit.RFMModel(n_clusters="none", date_format=None).fit(synthetic_orders)
    dates = [D(2022, 6, 30), D(2022, 12, 31)]
    snaps = snapshots_of(model, synthetic_orders, dates)
    for day in dates:
        expected = model.segment(synthetic_orders, as_of=day).customers
        got = snaps[snaps.as_of == pd.Timestamp(day)].drop(columns="as_of")
        assert_frame_equal(got.reset_index(drop=True),
                           expected[list(got.columns)].reset_index(drop=True))


def test_refit_learns_each_dates_edges(synthetic_lines):
    model = rfmkit.RFMModel(n_clusters="none").fit(synthetic_lines)
    day = D(2022, 6, 30)
    snaps = snapshots_of(model, synthetic_lines, [day], refit=True)
    expected = rfmkit.RFMModel(n_clusters="none", as_of=day).fit(synthetic_lines)
    got = snaps.drop(columns="as_of")
    assert_frame_equal(got, expected.result_.customers[list(got.columns)])
    frozen = snapshots_of(model, synthetic_lines, [day]).drop(columns="as_of")
    assert not frozen[["r_score", "f_score", "m_score"]].equals(
        got[["r_score", "f_score", "m_score"]])


def test_customer_level_input_is_refused(hand_model):
    customers = pd.DataFrame({"customer_id": ["A"], "recency": [1], "frequency": [1],
                              "monetary": [1.0]})
    model = rfmkit.RFMModel(n_clusters="none", n_bins=2, segment_map=TWO_LEVELS).fit(
        pd.concat([customers.assign(customer_id=str(i), recency=i, frequency=i + 1,
                                    monetary=float(i)) for i in range(6)]))
    with pytest.raises(rfmkit.InputError, match="customer-level table"):
        snapshots_of(model, customers, [D(2024, 1, 1)])


@pytest.mark.parametrize("params", [{}, {"consolidate_days": True, "monetary": "mean"}],
                         ids=["defaults", "consolidated-mean"])
def test_the_all_in_engine_query_equals_the_numpy_expansion(synthetic_lines, params):
    """SnapshotsQuery.snapshot_sql (the cumulative sums as SQL, for a warehouse) gives the
    rows that expand_periods builds from the per-period rows."""
    from rfmkit.engines.snapshots import snapshot_metrics
    from rfmkit.metrics import normalise_types
    from rfmkit.timeline.expansion import expand_periods

    model = rfmkit.RFMModel(n_clusters="none", **params).fit(synthetic_lines)
    dates = [D(2022, 3, 31), D(2022, 9, 30), D(2023, 2, 4)]
    eng = get_engine("duckdb")
    try:
        rel, resolved = open_transactions(model, synthetic_lines, eng, table=None,
                                          delimiter=None)
        args = (eng, rel, resolved, model.metric_options_, model.cleaning_rules_, dates)
        in_engine = snapshot_metrics(*args, per_period=False)
        expanded = expand_periods(snapshot_metrics(*args), dates, model.metric_options_)
    finally:
        eng.close()
    as_of = pd.to_datetime(in_engine.pop("as_of")).astype("datetime64[s]")
    in_engine = normalise_types(in_engine).assign(as_of=as_of.to_numpy())
    key = ["as_of", "customer_id"]
    left = in_engine.sort_values(key).reset_index(drop=True)[list(expanded.columns)]
    right = expanded.sort_values(key).reset_index(drop=True)
    assert_frame_equal(left, right)
