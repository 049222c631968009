"""The opening findings (report/sections/findings.py): each one computed from the data."""

from __future__ import annotations

import dataclasses

import pytest

from report_support import customers, fit
from rfmkit import schema
from rfmkit.cleaning import QualityReport
from rfmkit.report import build_report
from rfmkit.report.sections.findings import (
    DROPPED_ROWS_SHARE,
    MAX_FINDINGS,
    MIN_FINDINGS,
    segment_key,
)


def _by_kind(summary):
    return {f["kind"]: f for f in summary["findings"]}


def test_the_demo_report_opens_with_the_segment_findings(demo_model):
    s = build_report(demo_model, demo_model.result_, currency="EUR").to_dict()
    found = _by_kind(s)
    assert MIN_FINDINGS <= len(s["findings"]) <= MAX_FINDINGS
    assert list(found)[:3] == ["revenue_at_risk", "champions", "new_customers"]
    c = demo_model.result_.customers
    at_risk = c[c[schema.SEGMENT].isin(["At Risk", "Can't Lose Them"])]
    revenue = at_risk[schema.REVENUE].sum()
    text = found["revenue_at_risk"]["text"]
    assert text.startswith(f"{len(at_risk):,} customers in At Risk and Can't Lose Them")
    assert f"{revenue / c[schema.REVENUE].sum():.1%}" in text
    assert f"{int(at_risk[schema.RECENCY].median()):,} days ago" in text
    assert found["revenue_at_risk"]["figure"] == f"€{revenue / 1000:.3g}k"
    champions = c[c[schema.SEGMENT] == "Champions"]
    assert found["champions"]["figure"] == f"{len(champions):,}"
    assert f"{champions[schema.REVENUE].sum() / c[schema.REVENUE].sum():.1%} of all revenue" \
        in found["champions"]["text"]
    new = (c[schema.SEGMENT] == "New Customers").sum()
    assert found["new_customers"]["figure"] == f"{new:,}"
    top = c[schema.REVENUE].sort_values(ascending=False).iloc[: round(0.2 * len(c))].sum()
    assert f"{top / c[schema.REVENUE].sum():.1%}" == found["concentration"]["figure"]
    # the biggest segment (Champions, since frequency's realised levels reach the map's top)
    # is already a finding: test_the_biggest_segment_is_not_said_twice
    biggest = demo_model.result_.segments.sort_values("customers").iloc[-1]
    assert biggest[schema.SEGMENT] == "Champions" and "biggest_segment" not in found


def test_findings_follow_the_names_of_the_map(demo_tx):
    # rf-10 spells its segments at_risk, cant_lose, champions, new_customers
    model = fit(demo_tx, segment_map="rf-10", n_clusters="none")
    found = _by_kind(build_report(model, model.result_).to_dict())
    sizes = model.result_.segments.set_index(schema.SEGMENT)["customers"]
    # the demo's frequency has 3 realised levels, read as 1, 3, 5: its top customers reach
    # F5, the cells of cant_lose and champions (read as 1..3 of 5 they never did)
    assert sizes["cant_lose"] > 0 and sizes["champions"] > 0
    total = sizes["at_risk"] + sizes["cant_lose"]
    assert found["revenue_at_risk"]["text"].startswith(
        f"{total:,} customers in at_risk and cant_lose bought")
    assert "champions" in found
    assert found["new_customers"]["label"] == "new_customers"
    assert segment_key("Can't Lose Them") == "cantlosethem"


def test_without_segments_the_findings_come_from_clusters_and_metrics(demo_tx):
    model = fit(demo_tx, segment_map="none", k_max=5)
    s = build_report(model, model.result_).to_dict()
    kinds = [f["kind"] for f in s["findings"]]
    assert not {"revenue_at_risk", "champions", "new_customers", "biggest_segment"} & set(kinds)
    assert kinds[0] == "top_cluster" and len(kinds) >= MIN_FINDINGS
    top = model.result_.clusters.sort_values("revenue_share").iloc[-1]
    assert f"Cluster {int(top[schema.CLUSTER])} ({top[schema.CLUSTER_NAME]})" in \
        s["findings"][0]["text"]
    assert s["segment_grid"] is None


def test_no_segments_and_no_clusters_still_give_three_findings():
    model = fit(customers(500, seed=2), segment_map="none", n_clusters="none")
    s = build_report(model, model.result_).to_dict()
    kinds = [f["kind"] for f in s["findings"]]
    assert kinds == ["concentration", "one_time_buyers", "recency"]
    once = (model.result_.customers[schema.FREQUENCY] == 1).mean()
    assert s["findings"][1]["figure"] == f"{once:.1%}"


@pytest.mark.parametrize("missing, shown", [(30, False), (400, True)])
def test_dropped_rows_are_a_finding_when_many(demo_model, missing, shown):
    quality = QualityReport(source="x", rows_read=2000, dropped={"missing_customer": missing},
                            rows_used=2000 - missing,
                            dropped_revenue={"missing_customer": 12_345.0})
    result = dataclasses.replace(demo_model.result_, quality=quality)
    found = _by_kind(build_report(demo_model, result, currency="£").to_dict())
    assert ("dropped_rows" in found) is shown
    assert (missing / 2000 >= DROPPED_ROWS_SHARE) is shown
    if shown:
        assert found["dropped_rows"]["figure"] == "20.0%"
        assert "400 of 2,000 rows were left out as rows without a customer id" in \
            found["dropped_rows"]["text"]
        assert "£12.3k" in found["dropped_rows"]["text"]


def test_the_biggest_segment_is_not_said_twice(demo_model, demo_summary):
    # the demo's biggest segment is Champions, already a finding of its own
    sizes = demo_model.result_.segments.set_index(schema.SEGMENT)["customers"]
    assert sizes.idxmax() == "Champions"
    kinds = [f["kind"] for f in demo_summary["findings"]]
    assert "champions" in kinds and "biggest_segment" not in kinds
    assert 3 <= len(kinds) <= 5
