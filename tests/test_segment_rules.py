"""Tests of rfmkit.segments.rules: rule validation and the normal forms of ranges and boxes."""

from __future__ import annotations

import pytest

from rfmkit.errors import SegmentMapError
from rfmkit.segments.rules import SegmentRule


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: SegmentRule("A", r=(3, 2)), r"range \[3, 2\] is empty"),
        (lambda: SegmentRule("A", f=(0, 2)), "below 1"),
        (lambda: SegmentRule("A", m=(1, 2, 3)), "pair"),
        (lambda: SegmentRule("A", m=2.5), "pair"),
        (lambda: SegmentRule("A", r=True), "pair"),
        (lambda: SegmentRule(""), "non-empty"),
        (lambda: SegmentRule("A", r=1, any_of=[{"f": 1}]), "both ranges and any_of"),
        (lambda: SegmentRule("A", any_of=[{"x": 1}]), "unknown axis 'x'"),
        (lambda: SegmentRule("A", any_of=[{}]), "non-empty mapping"),
        (lambda: SegmentRule("A", any_of=5), "list of boxes"),
        (lambda: SegmentRule("A", any_of=[("r", (1, 2))]), "non-empty mapping"),
    ],
)
def test_invalid_rules(build, match):
    with pytest.raises(SegmentMapError, match=match):
        build()


def test_rule_forms_are_normalised():
    rule = SegmentRule("A", r=5, f=[2, 3])
    assert (rule.r, rule.f, rule.m) == ((5, 5), (2, 3), None)
    assert rule.boxes == ({"r": (5, 5), "f": (2, 3)},)
    union = SegmentRule("B", any_of=[{"fm": [4, 5], "r": 5}, {"r": 4, "fm": 5}])
    assert union.boxes == ({"r": (5, 5), "fm": (4, 5)}, {"r": (4, 4), "fm": (5, 5)})
    assert union.axes == {"r", "fm"}
    assert SegmentRule("B", any_of=union.any_of) == union
    assert SegmentRule("Everyone").boxes == ({},)
