"""The segments section (report/sections/segments.py): segment table, R x F grid, Pareto curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from report_support import fit, same
from rfmkit import schema
from rfmkit.report import build_report
from rfmkit.segments.summary import SUMMARY_COLUMNS


def days(median: float) -> str:
    """A median recency as descriptions write it: 378.5 -> 378, 19.5 -> 19.5."""
    return f"{median:,.0f}" if median >= 100 or float(median).is_integer() else f"{median:g}"


def test_segment_rows_equal_the_segment_table(demo_summary, demo_model):
    table = demo_model.result_.segments
    rows = demo_summary["segments"]["rows"]
    assert [r["segment"] for r in rows] == list(table[schema.SEGMENT])
    for row, (_, expected) in zip(rows, table.iterrows(), strict=True):
        for column in SUMMARY_COLUMNS:
            assert same(row[column], expected[column]), (row["segment"], column)
        rule = demo_model.segment_map_.rule(row["segment"])
        assert row["action"] == rule.action and row["action"]
        assert row["description"] == rule.description
        # the map's relative text ("recent") comes with what it means in this data: compared
        # with the median customer, whose medians the section quotes once
        everyone = demo_model.result_.customers[list(schema.METRIC_COLUMNS)].median()
        if row["customers"]:
            sign = np.sign(expected["recency_median"] - everyone[schema.RECENCY])
            word = {-1: "more", 0: "as", 1: "less"}[int(sign)]
            assert row["medians"].startswith(f"Bought {word} recently")
        else:
            assert row["medians"] == "No customers"
    assert demo_summary["segments"]["total_customers"] == len(demo_model.result_.customers)
    assert demo_summary["segments"]["median_customer"] == (
        f"The median customer: {everyone[schema.FREQUENCY]:g} orders, last purchase "
        f"{days(everyone[schema.RECENCY])} days ago, spend {everyone[schema.MONETARY]:g}.")


def test_rf_grid_equals_the_customer_table(demo_summary, demo_model):
    customers = demo_model.result_.customers
    g = demo_summary["grid"]
    assert g["r_levels"] == list(range(1, demo_model.scorer_.n_bins_["recency"] + 1))
    assert g["f_levels"] == list(range(1, demo_model.scorer_.n_bins_["frequency"] + 1))
    counts = pd.crosstab(customers[schema.R_SCORE], customers[schema.F_SCORE]).reindex(
        index=g["r_levels"], columns=g["f_levels"], fill_value=0)
    assert g["count"] == counts.to_numpy().tolist()
    means = customers.groupby([schema.R_SCORE, schema.F_SCORE])[schema.MONETARY].mean()
    for i, r in enumerate(g["r_levels"]):
        for j, f in enumerate(g["f_levels"]):
            if (r, f) in means.index:
                assert g["mean_monetary"][i][j] == pytest.approx(means[(r, f)])
            else:
                assert g["mean_monetary"][i][j] is None


def test_pareto_by_hand():
    # 10 customers, revenue 100 x 1 customer + 50 x 1 + 10 x 8 = 230 (customer-level input)
    customers = pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(10)],
        "recency": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "frequency": [5, 4, 3, 2, 1, 1, 2, 3, 4, 5],
        "monetary": [100.0, 50.0] + [10.0] * 8,
    })
    model = fit(customers, n_clusters="none")
    p = build_report(model, model.result_).to_dict()["pareto"]
    assert p["top_10_percent"] == pytest.approx(100 / 230)
    assert p["top_20_percent"] == pytest.approx(150 / 230)
    # 80% of 230 = 184: the top 2 give 150, 3 give 160, ..., 6 give 190
    assert p["customers_for_80_percent"] == pytest.approx(0.6)
    # Gini of (10 x 8, 50, 100): sum_i (2i - n - 1) x_i / (n sum x), ascending
    ascending = np.array([10.0] * 8 + [50.0, 100.0])
    i = np.arange(1, 11)
    expected = ((2 * i - 11) * ascending).sum() / (10 * ascending.sum())
    assert p["gini"] == pytest.approx(expected)
    assert p["customer_share"][0] == 0 and p["customer_share"][-1] == 1
    assert p["revenue_share"][0] == 0 and p["revenue_share"][-1] == pytest.approx(1)
    assert np.all(np.diff(p["revenue_share"]) >= 0)
