"""Transitions and movers (rfmkit.timeline.transitions), on hand-written snapshots."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rfmkit
from rfmkit.timeline.transitions import movers, transitions

ORDER = ["Best", "Mid", "Low"]


def snaps(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "as_of", "segment", "recency", "frequency",
                                     "monetary"])
    df["as_of"] = pd.to_datetime(df["as_of"])
    return df


# A stays Best; B moves Best -> Low (down 2), C moves Low -> Mid (up); D is new in February.
HAND = snaps([
    ("A", "2024-01-31", "Best", 1, 3, 100.0), ("B", "2024-01-31", "Best", 2, 4, 400.0),
    ("C", "2024-01-31", "Low", 20, 1, 10.0),
    ("A", "2024-02-29", "Best", 3, 4, 130.0), ("B", "2024-02-29", "Low", 31, 4, 400.0),
    ("C", "2024-02-29", "Mid", 5, 2, 25.0), ("D", "2024-02-29", "Mid", 9, 1, 70.0),
])


def test_hand_computed_transitions():
    got = transitions(HAND)
    assert list(got.columns) == ["from_as_of", "to_as_of", "from_segment", "to_segment",
                                 "customers", "revenue"]
    pairs = {(r.from_segment, r.to_segment): (r.customers, r.revenue)
             for r in got.itertuples()}
    assert pairs == {("Best", "Best"): (1, 30.0), ("Best", "Low"): (1, 0.0),
                     ("Low", "Mid"): (1, 15.0), ("(new)", "Mid"): (1, 70.0)}
    assert set(got.from_as_of.astype(str)) == {"2024-01-31"}


def test_mean_monetary_revenue_is_monetary_times_frequency():
    mean = HAND.assign(monetary=HAND.monetary / HAND.frequency)
    got = transitions(mean, monetary="mean")
    assert got.set_index(["from_segment", "to_segment"]).loc[("Best", "Best"), "revenue"] == \
        pytest.approx(30.0)


def test_movers_are_the_customers_who_went_down_in_the_last_period():
    got = movers(HAND, ORDER)
    assert got.customer_id.tolist() == ["B"]
    row = got.iloc[0]
    assert (row.from_segment, row.to_segment, row.steps_down, row.recency) == (
        "Best", "Low", 2, 31)
    assert list(got.columns) == ["customer_id", "from_as_of", "to_as_of", "from_segment",
                                 "to_segment", "steps_down", "recency", "frequency",
                                 "monetary", "revenue"]


def test_one_snapshot_has_no_transitions_and_bad_input_is_named():
    one = HAND[HAND.as_of == "2024-01-31"]
    assert transitions(one).empty and movers(one, ORDER).empty
    with pytest.raises(rfmkit.ParameterError, match="snapshots= lacks the column"):
        transitions(HAND.drop(columns="segment"))


@st.composite
def histories(draw):
    """Random snapshot histories: customers join at some date and stay (as purchases do)."""
    n_dates = draw(st.integers(2, 4))
    dates = pd.date_range("2024-01-31", periods=n_dates, freq="ME")
    rows = []
    for c in range(draw(st.integers(1, 12))):
        first = draw(st.integers(0, n_dates - 1))
        spent = 0.0
        for day in dates[first:]:
            spent += draw(st.sampled_from([0.0, 5.0, 12.5]))
            rows.append((f"c{c}", day, draw(st.sampled_from(ORDER)), 1, 1, spent))
    return snaps(rows)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(histories())
def test_transitions_conserve_customers(history):
    got = transitions(history)
    sizes = history.groupby("as_of").size()
    into = got.groupby("to_as_of").customers.sum()
    for day, n in into.items():
        assert n == sizes[pd.Timestamp(day)]
    out = got[got.from_segment != "(new)"].groupby("from_as_of").customers.sum()
    for day, n in out.items():
        assert n == sizes[pd.Timestamp(day)]
    assert (got.customers > 0).all()
