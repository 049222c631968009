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
