"""The scores section (report/sections/scores.py): customers and metric range of each score."""

from __future__ import annotations

import numpy as np
import pytest

from rfmkit import schema
from rfmkit.report import build_report


@pytest.mark.parametrize("fixture", ["demo_model", "plain_model"])
def test_score_bins_hold_their_customers(fixture, request):
    """Every customer's metric lies in the range the summary gives for their score.

    This checks the un-negation of the recency edges (stored as edges of -recency).
    """
    model = request.getfixturevalue(fixture)
    s = build_report(model, model.result_).to_dict()
    customers = model.result_.customers
    scorer = model.scorer_
    for metric, entry in s["scores"]["metrics"].items():
        score_col = entry["score"]
        values = customers[metric].to_numpy(dtype="float64")
        cap = scorer.caps_.get(metric)
        if cap is not None:
            values = np.minimum(values, cap)
        scores = customers[score_col].to_numpy()
        assert entry["n_bins"] == scorer.n_bins_[metric] == len(entry["bins"])
        assert [b["customers"] for b in entry["bins"]] == [
            int((scores == b["score"]).sum()) for b in entry["bins"]]
        for b in entry["bins"]:
            held = values[scores == b["score"]]
            if metric == schema.RECENCY:
                if b["above"] is not None:
                    assert np.all(held > b["above"])
                if b["at_most"] is not None:
                    assert np.all(held <= b["at_most"])
            else:
                if b["at_least"] is not None:
                    assert np.all(held >= b["at_least"])
                if b["below"] is not None:
                    assert np.all(held < b["below"])
    recency_bins = s["scores"]["metrics"]["recency"]["bins"]
    assert recency_bins[-1]["above"] is None  # the best recency score is "at most N days"
    assert recency_bins[0]["at_most"] is None


def test_bin_range_text_for_whole_numbers(demo_summary):
    f_bins = demo_summary["scores"]["metrics"]["frequency"]["bins"]
    assert f_bins[0]["text"] == "≤ 1"  # frequency < 2 is exactly 1 purchase
    r_bins = demo_summary["scores"]["metrics"]["recency"]["bins"]
    assert r_bins[-1]["text"].startswith("≤ ")
    assert r_bins[0]["text"].startswith("≥ ")
    assert all("-0" not in b["text"] for b in r_bins)


def test_collapsed_bins_are_warned(demo_summary, demo_model):
    collapsed = [m for m, n in demo_model.scorer_.n_bins_.items() if n < 5]
    assert collapsed, "demo frequencies are tie-heavy; the fixture should collapse bins"
    messages = [w["message"] for w in demo_summary["warnings"] if w["kind"] == "collapsed_bins"]
    assert len(messages) == len(collapsed)
    for metric in collapsed:
        entry = demo_summary["scores"]["metrics"][metric]
        assert entry["collapsed"] is True
        assert any(entry["label"] in m and f"1..{entry['n_bins']}" in m for m in messages)


def test_percentile_scores(percentile_model):
    s = build_report(percentile_model, percentile_model.result_).to_dict()
    assert s["scores"]["method"] == "percentile"
    n = len(percentile_model.result_.customers)
    for entry in s["scores"]["metrics"].values():
        assert entry["n_bins"] is None and entry["collapsed"] is False
        assert sum(entry["histogram"]["counts"]) == n
        assert entry["level_edges"] == [20.0, 40.0, 60.0, 80.0]
    assert s["grid"]["r_levels"] == s["grid"]["f_levels"] == [1, 2, 3, 4, 5]
    assert sum(map(sum, s["grid"]["count"])) == n
    assert not [w for w in s["warnings"] if w["kind"] == "collapsed_bins"]
