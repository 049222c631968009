"""Tests of rfmkit.segments.map: map validation and the dict form of maps."""

from __future__ import annotations

import json

import pytest

from rfmkit.errors import SegmentMapError
from rfmkit.segments.loading import load_segment_map
from rfmkit.segments.map import SegmentMap
from rfmkit.segments.rules import SegmentRule
from segment_support import small_map


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: SegmentMap("x", 5, []), "has no rules"),
        (lambda: SegmentMap("x", 5, [SegmentRule("A"), SegmentRule("A", r=1)]),
         "two rules named 'A'"),
        (lambda: SegmentMap("x", 5, [SegmentRule("A", r=(4, 6))]),
         r"rule 'A': the r range \[4, 6\] is outside the levels 1\.\.5"),
        (lambda: SegmentMap("x", 4, [SegmentRule("A", any_of=[{"fm": 5}])]),
         r"the fm range \[5, 5\] is outside"),
        (lambda: SegmentMap("x", 1, [SegmentRule("A")]), "levels must be an int from 2"),
        (lambda: SegmentMap("x", 5, [SegmentRule("A")], fallback="A"), "fallback 'A' is also"),
        (lambda: SegmentMap("x", 5, [{"name": "A"}]), "must be a SegmentRule"),
    ],
)
def test_invalid_maps(build, match):
    with pytest.raises(SegmentMapError, match=match):
        build()


@pytest.mark.parametrize("name", ["rfm-grid-11", "rf-10", "r-rfm-0.3.0"])
def test_dict_round_trip_through_json(name):
    segment_map = load_segment_map(name)
    data = json.loads(json.dumps(segment_map.to_dict()))
    assert SegmentMap.from_dict(data) == segment_map


def test_to_dict_format():
    data = small_map(description="demo").to_dict()
    assert data == {
        "name": "small",
        "description": "demo",
        "levels": 5,
        "fallback": "Others",
        "rules": [
            {"name": "A", "r": [4, 5]},
            {"name": "B", "r": [1, 3], "f": [1, 2]},
            {"name": "C", "r": [3, 3], "f": [3, 5]},
        ],
    }


# --- value_order (issue 14: what "down" means for customers who move) -----------------------
def _with_order(order):
    return {"name": "m", "levels": 5, "fallback": "Rest", "value_order": order,
            "rules": [{"name": "Top", "r": 5}, {"name": "Low", "r": 1}]}


def test_value_order_round_trips_and_builtin_maps_declare_it():
    from rfmkit.segments.loading import builtin_segment_maps, load_segment_map

    seg_map = SegmentMap.from_dict(_with_order(["Top", "Rest", "Low"]))
    assert seg_map.value_order == ("Top", "Rest", "Low")
    assert SegmentMap.from_dict(seg_map.to_dict()) == seg_map
    for name in builtin_segment_maps():
        built_in = load_segment_map(name)
        assert sorted(built_in.value_order) == sorted(built_in.segment_names), name
    assert "value_order" not in SegmentMap.from_dict(
        {k: v for k, v in _with_order([]).items() if k != "value_order"}).to_dict()


@pytest.mark.parametrize("order, message", [
    (["Top", "Rest"], "leaves out 'Low'"),
    (["Top", "Rest", "Low", "Top"], "repeats 'Top'"),
    (["Top", "Rest", "Low", "Gold"], "names no segment 'Gold'"),
    ("Top", "must be a list"),
])
def test_a_bad_value_order_is_refused_with_the_segment_names(order, message):
    with pytest.raises(SegmentMapError, match=message):
        SegmentMap.from_dict(_with_order(order))
