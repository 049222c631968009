"""CLV per segment and cluster."""

from __future__ import annotations

import pandas as pd
import pytest

from rfmkit.clv.segments import group_values


def _customers(**extra):
    return pd.DataFrame({"customer_id": list("abcd"), "p_alive": [1.0, 0.5, 0.2, 0.9],
                         "expected_purchases": [2.0, 1.0, 0.5, 3.0],
                         "expected_spend": [10.0, 10.0, 20.0, 5.0],
                         "clv": [20.0, 10.0, 10.0, 15.0], **extra})


def test_per_segment_and_cluster_totals_and_shares():
    groups = group_values(_customers(segment=["A", "A", "B", "B"], cluster=[0, 1, 1, 0],
                                     cluster_name=["x", "y", "y", "x"]))
    seg = groups[groups.grouping == "segment"].set_index("group")
    assert seg.loc["A", "customers"] == 2 and seg.loc["A", "total_clv"] == 30.0
    assert seg.loc["B", "mean_p_alive"] == pytest.approx(0.55)
    assert seg["clv_share"].sum() == pytest.approx(1.0)
    clusters = groups[groups.grouping == "cluster"].set_index("group")
    assert set(clusters.index) == {"0: x", "1: y"}
    assert clusters.loc["0: x", "total_clv"] == 35.0


def test_holdout_columns_and_no_segments():
    groups = group_values(_customers(actual_purchases=[1, 0, 2, 3],
                                     actual_spend=[5.0, 0.0, 30.0, 12.0]))
    assert groups["group"].tolist() == ["all"]
    row = groups.iloc[0]
    assert row["actual_purchases"] == 6 and row["predicted_spend"] == pytest.approx(
        20 + 10 + 10 + 15)
