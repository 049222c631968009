"""Tests of rfmkit.segments.summary: the per-segment summary, worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError
from rfmkit.segments.assignment import assign_segments
from rfmkit.segments.loading import DEFAULT_SEGMENT_MAP
from rfmkit.segments.summary import SUMMARY_COLUMNS, segment_summary
from segment_support import GRID_11, scores_frame, small_map


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.CUSTOMER_ID: ["u1", "u2", "u3", "u4"],
            schema.SEGMENT: ["A", "B", "A", "A"],
            schema.RECENCY: [10, 100, 20, 30],
            schema.FREQUENCY: [2, 1, 4, 6],
            schema.MONETARY: [50.0, 20.0, 25.0, 30.0],
            schema.REVENUE: [100.0, 20.0, 100.0, 180.0],
        }
    )


def test_segment_summary_by_hand(customers):
    summary = segment_summary(customers, order=small_map().segment_names)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary[schema.SEGMENT].tolist() == ["A", "B", "C", "Others"]
    assert summary["customers"].tolist() == [3, 1, 0, 0]
    assert summary["customer_share"].tolist() == [0.75, 0.25, 0, 0]
    assert summary["revenue"].tolist() == [380, 20, 0, 0]
    assert summary["revenue_share"].tolist() == [0.95, 0.05, 0, 0]
    first = summary.iloc[0]
    assert (first["recency_mean"], first["recency_median"]) == (20, 20)
    assert (first["frequency_mean"], first["frequency_median"]) == (4, 4)
    assert (first["monetary_mean"], first["monetary_median"]) == (35, 30)
    assert summary.loc[1, ["recency_mean", "frequency_median", "monetary_mean"]].tolist() == [
        100, 1, 20]
    assert summary.loc[2:, "monetary_mean"].isna().all()


def test_segment_summary_without_revenue_uses_monetary(customers):
    summary = segment_summary(customers.drop(columns=schema.REVENUE))
    # no map, plain strings: sorted by customers, descending
    assert summary[schema.SEGMENT].tolist() == ["A", "B"]
    assert summary["revenue"].tolist() == [105, 20]
    assert summary["revenue_share"].tolist() == [0.84, 0.16]


def test_segment_summary_follows_categorical_order():
    scores = scores_frame([[1, 1, 1], [5, 5, 5], [5, 5, 4]])
    table = pd.DataFrame({schema.RECENCY: [300, 1, 2], schema.FREQUENCY: [1, 9, 8],
                          schema.MONETARY: [5.0, 50.0, 40.0]})
    table[schema.SEGMENT] = assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=5)
    summary = segment_summary(table)
    assert summary[schema.SEGMENT].tolist() == list(GRID_11)
    assert summary.set_index(schema.SEGMENT).loc["Champions", "customers"] == 2
    assert summary["customers"].sum() == 3


def test_segment_summary_rejects_segments_outside_the_map(customers):
    with pytest.raises(InputError, match=r"not among the segments 'A', 'B', 'C', 'Others': Z\."):
        segment_summary(customers.assign(**{schema.SEGMENT: ["A", "Z", "A", "A"]}),
                        order=small_map().segment_names)
    with pytest.raises(InputError, match="missing values"):
        segment_summary(customers.assign(**{schema.SEGMENT: ["A", None, "A", "A"]}))
    with pytest.raises(InputError, match="distinct segment names"):
        segment_summary(customers, order="AB")
    with pytest.raises(SchemaError, match="'segment'"):
        segment_summary(customers.drop(columns=schema.SEGMENT))
