"""Tests of rfmkit.segments.assignment: customers' score levels to segments, checked by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError, SegmentMapError
from rfmkit.segments.assignment import assign_segments, rescale_levels
from rfmkit.segments.loading import DEFAULT_SEGMENT_MAP, load_segment_map
from rfmkit.segments.map import SegmentMap
from rfmkit.segments.rules import SegmentRule
from segment_support import GRID_11, scores_frame


def test_assign_default_grid_by_hand():
    scores = scores_frame(
        [
            [5, 5, 5],  # FM 5 -> Champions
            [5, 4, 5],  # FM = floor(4.5 + 0.5) = 5 -> Champions
            [4, 4, 3],  # FM 4 -> Loyal Customers
            [4, 3, 3],  # FM 3 -> Potential Loyalists
            [1, 1, 2],  # FM 2 -> Hibernating
            [1, 1, 1],  # Lost
            [2, 5, 1],  # FM 3 -> Need Attention
            [1, 5, 4],  # FM 5 -> Can't Lose Them
            [3, 1, 2],  # FM 2 -> Need Attention
        ],
        index=list("abcdefghi"),
    )
    segments = assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=5)
    assert segments.name == schema.SEGMENT
    assert segments.index.tolist() == list("abcdefghi")
    assert segments.tolist() == [
        "Champions", "Champions", "Loyal Customers", "Potential Loyalists", "Hibernating",
        "Lost", "Need Attention", "Can't Lose Them", "Need Attention"]
    assert list(segments.cat.categories) == list(GRID_11)


@pytest.mark.parametrize("name", ["rfm-grid-11", "rf-10", "r-rfm-0.3.0"])
def test_assignment_agrees_with_the_audit_on_every_cell(name):
    segment_map = load_segment_map(name)
    cells = np.array(list(itertools.product(range(1, 6), repeat=3)))
    segments = assign_segments(scores_frame(cells), segment_map, n_levels=5)
    audit = segment_map.audit()
    for (r, f, m), segment in zip(cells.tolist(), segments, strict=True):
        key = {("r", "fm"): (r, (f + m + 1) // 2), ("r", "f"): (r, f)}.get(audit.axes,
                                                                          (r, f, m))
        assert segment == audit.assignment[key]


def test_unmatched_go_to_the_fallback():
    segments = assign_segments(scores_frame([[2, 1, 5], [5, 5, 5]]), "r-rfm-0.3.0", n_levels=5)
    assert segments.tolist() == ["Others", "Champions"]


def test_unmatched_without_fallback_is_an_error_listing_the_cells():
    segment_map = SegmentMap("top", 5, [SegmentRule("Top", r=(4, 5))])
    scores = scores_frame([[5, 1, 1], [1, 2, 3], [1, 5, 5], [1, 4, 4], [2, 1, 1]])
    with pytest.raises(SegmentMapError, match=r"4 score cell\(s\) \(r,f\) holding 4 customers: "
                                              r"1,2 \(1 customer\), 1,4 \(1 customer\), 1,5 \(1 "
                                              r"customer\), 2,1 \(1 customer\)\. "):
        assign_segments(scores, segment_map, n_levels=5)


def test_unmatched_error_counts_cells():
    segment_map = SegmentMap("top", 5, [SegmentRule("Top", r=(4, 5))])
    with pytest.raises(SegmentMapError, match=r"1 score cell\(s\) \(r,f\) holding 3 customers: "
                                              r"1,2 \(3 customers\)"):
        assign_segments(scores_frame([[1, 2, 1], [1, 2, 2], [1, 2, 5]]), segment_map, n_levels=5)


def test_decile_scores_are_grouped_onto_a_five_level_map():
    scores = scores_frame([[10, 10, 10], [9, 9, 7], [2, 1, 1], [3, 2, 2], [10, 1, 2]])
    # ceil(s / 2): (5,5,5) (5,5,4 -> FM 5) (1,1,1) (2,1,1) (5,1,1)
    segments = assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=10)
    assert segments.tolist() == ["Champions", "Champions", "Lost", "About To Sleep",
                                 "New Customers"]


@pytest.mark.parametrize("n_levels, expected", [
    (3, [1, 3, 5]), (4, [1, 2, 4, 5]), (7, [1, 2, 2, 3, 4, 4, 5]), (6, [1, 2, 3, 3, 4, 5]),
    (10, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]), (1, [3])])
def test_any_number_of_levels_is_rescaled_by_quantile_position(n_levels, expected):
    # score s covers the quantiles ((s-1)/n, s/n]; its middle decides the map level
    assert rescale_levels(np.arange(1, n_levels + 1), n_levels, 5).tolist() == expected
    scores = scores_frame([[s, s, s] for s in range(1, n_levels + 1)])
    segments = assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=n_levels)
    direct = assign_segments(scores_frame([[e, e, e] for e in expected]), DEFAULT_SEGMENT_MAP,
                             n_levels=5)
    assert segments.tolist() == direct.tolist()
    if n_levels > 1:
        assert segments.iloc[-1] == "Champions" and segments.iloc[0] == "Lost"


def test_scores_must_be_integer_levels_in_range():
    with pytest.raises(InputError,
                       match=r"'r_score' must hold integer levels 1\.\.5.*score_levels"):
        assign_segments(scores_frame([[87.5, 1.0, 1.0]]), DEFAULT_SEGMENT_MAP, n_levels=5)
    with pytest.raises(InputError, match=r"'m_score'.*found 6"):
        assign_segments(scores_frame([[1, 1, 6]]), DEFAULT_SEGMENT_MAP, n_levels=5)
    with pytest.raises(InputError, match="'f_score'"):
        assign_segments(scores_frame([[1, None, 1]]), DEFAULT_SEGMENT_MAP, n_levels=5)
    floats = scores_frame([[5.0, 5.0, 5.0]])
    assert assign_segments(floats, DEFAULT_SEGMENT_MAP, n_levels=5).tolist() == ["Champions"]


def test_only_the_axes_a_map_uses_are_required():
    scores = pd.DataFrame({schema.R_SCORE: [5, 1], schema.F_SCORE: [1, 5]})
    assert assign_segments(scores, "rf-10", n_levels=5).tolist() == ["new_customers",
                                                                     "cant_lose"]
    with pytest.raises(SchemaError, match="'m_score'"):
        assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=5)


def test_assignment_of_many_customers_matches_a_reference():
    rng = np.random.default_rng(7)
    scores = scores_frame(rng.integers(1, 6, size=(200_000, 3)))
    segments = assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=5)
    expected = {cell: name for name, cells in GRID_11.items()
                for cell in (tuple(int(v) for v in c.split(",")) for c in cells.split())}
    fm = (scores[schema.F_SCORE] + scores[schema.M_SCORE] + 1) // 2
    reference = [expected[(r, f)] for r, f in zip(scores[schema.R_SCORE], fm, strict=True)]
    assert segments.astype(str).tolist() == reference
