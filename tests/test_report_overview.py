"""The overview section (report/sections/overview.py): headline figures and data quality."""

from __future__ import annotations

import warnings

import pytest

from rfmkit import schema
from rfmkit.demo import generate_transactions
from rfmkit.errors import RFMKitWarning
from rfmkit.report import build_report


def test_headline_and_quality_equal_the_segmentation(demo_summary, demo_model):
    result = demo_model.result_
    h = demo_summary["headline"]
    assert h["customers"] == len(result.customers)
    assert h["revenue"] == pytest.approx(result.customers[schema.REVENUE].sum(), rel=1e-12)
    assert h["revenue"] == pytest.approx(result.segments["revenue"].sum(), rel=1e-12)
    assert h["as_of"] == result.as_of.isoformat()
    assert h["training_data"] is True
    assert h["clusters"] == demo_model.clusterer_.n_clusters_
    assert h["segments"] == int((result.segments["customers"] > 0).sum())
    q = demo_summary["quality"]
    assert q["rows_read"] == result.quality.rows_read
    assert q["rows_used"] == result.quality.rows_used
    dropped = {d["reason"]: d["rows"] for d in q["dropped"]}
    assert dropped == {k: result.quality.dropped.get(k, 0) for k in dropped}
    assert sum(dropped.values()) == q["rows_dropped"] == result.quality.rows_dropped
    assert dropped["cancellation"] > 0 and dropped["missing_customer"] > 0


def test_applied_model_report(demo_model, demo_tx):
    """A report of model.segment(X) on other data: frozen state, that data's numbers."""
    new = generate_transactions(n_rows=6_000, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMKitWarning)
        result = demo_model.segment(new)
    s = build_report(demo_model, result).to_dict()
    assert s["headline"]["training_data"] is False
    assert s["headline"]["customers"] == len(result.customers)
    assert s["quality"]["rows_read"] == 6_000
    assert [r["customers"] for r in s["segments"]["rows"]] == list(result.segments["customers"])
    # the score ranges are the training edges, whatever data is scored
    trained = build_report(demo_model, demo_model.result_).to_dict()
    assert s["scores"]["metrics"]["monetary"]["edges"] == \
        trained["scores"]["metrics"]["monetary"]["edges"]


def test_dropped_rows_carry_their_amount(demo_summary, demo_model):
    q = demo_summary["quality"]
    quality = demo_model.result_.quality
    rows = {d["reason"]: d for d in q["dropped"]}
    tx = demo_model_transactions()
    # duplicates come first (a row is counted under the first rule it breaks)
    missing = tx.drop_duplicates()
    missing = missing[missing["customer_id"].isna()]
    amount = (missing["quantity"] * missing["unit_price"]).sum()
    assert rows["missing_customer"]["revenue"] == pytest.approx(amount, rel=1e-9)
    assert rows["missing_customer"]["revenue"] == quality.dropped_revenue["missing_customer"]
    assert rows["missing_customer"]["rows"] == len(missing)
    assert rows["missing_customer"]["row_share"] == pytest.approx(len(missing) / len(tx))
    assert rows["cancellation"]["revenue"] < 0  # cancellations are refunds
    # duplicates are copies of kept rows: not counted as money left out
    assert rows["duplicate_row"]["rows"] > 0 and rows["duplicate_row"]["revenue"] is None
    assert quality.to_dict()["dropped_revenue"]["duplicate_row"] is None


def demo_model_transactions():
    import report_support

    return report_support.demo_tx().to_pandas()
