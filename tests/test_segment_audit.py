"""Tests of rfmkit.segments.audit: gaps, overlaps, unreachable rules, its text and dict forms."""

from __future__ import annotations

import json

from rfmkit.segments.loading import load_segment_map
from rfmkit.segments.map import SegmentMap
from rfmkit.segments.rules import SegmentRule


def test_audit_reports_unreachable_rules_and_gaps():
    segment_map = SegmentMap(
        "shadowed", 3, [SegmentRule("Wide", r=(2, 3)), SegmentRule("Hidden", r=3, f=(1, 2))]
    )
    audit = segment_map.audit()
    assert audit.axes == ("r", "f")
    assert audit.unreachable == ("Hidden",)
    assert audit.overlaps == (((3, 1), ("Wide", "Hidden")), ((3, 2), ("Wide", "Hidden")))
    assert audit.unassigned == ((1, 1), (1, 2), (1, 3))
    assert audit.assignment[(1, 1)] is None
    assert audit.unassigned_without_fallback == audit.unassigned
    text = audit.to_text()
    assert "have no segment" in text
    assert "Unreachable segments: 'Hidden'." in text
    assert "Wide over Hidden: 3,1  3,2" in text


def test_audit_text_and_dict():
    audit = load_segment_map("r-rfm-0.3.0").audit()
    text = audit.to_text()
    assert "Complete partition: no." in text
    assert "Unassigned: 10 cells go to the fallback 'Others': 2,1,5  2,4,1" in text
    assert "Champions over Potential Loyalist: 5,5,5" in text
    assert "Others (fallback)" in text
    data = json.loads(json.dumps(audit.to_dict()))
    assert data["n_cells"] == 125 and data["is_complete_partition"] is False
    assert len(data["unassigned"]) == 10 and data["fallback"] == "Others"
    assert {"cell": [5, 5, 5], "rules": ["Champions", "Potential Loyalist"],
            "winner": "Champions"} in data["overlaps"]
    assert sum(data["cells_per_segment"].values()) == 125
    assert "Complete partition: yes." in load_segment_map("rf-10").audit().to_text()
