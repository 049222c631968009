"""Tests of rfmkit.segments: rules, maps, audits, built-in maps, assignment and the summary."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError, SegmentMapError
from rfmkit.segments.maps import (
    DEFAULT_SEGMENT_MAP,
    SUMMARY_COLUMNS,
    SegmentAudit,
    SegmentMap,
    SegmentRule,
    assign_segments,
    builtin_segment_maps,
    load_segment_map,
    segment_summary,
)

# METHODS.md section 5, transcribed: segment -> its R,FM cells.
GRID_11 = {
    "Champions": "5,5 5,4 4,5",
    "Loyal Customers": "5,3 4,4 3,5 3,4",
    "Potential Loyalists": "5,2 4,2 3,3 4,3",
    "New Customers": "5,1",
    "Promising": "4,1 3,1",
    "Need Attention": "3,2 2,3 2,2",
    "About To Sleep": "2,1",
    "At Risk": "2,5 2,4 1,3",
    "Can't Lose Them": "1,5 1,4",
    "Hibernating": "1,2",
    "Lost": "1,1",
}
# The R rfm 0.3.0 cells no rule reaches, each checked by hand against the rules.
R_RFM_UNASSIGNED = [(2, 1, 5), (2, 4, 1), (2, 5, 1), (2, 5, 2), (3, 4, 1), (3, 5, 1), (4, 4, 1),
                    (4, 5, 1), (5, 4, 1), (5, 5, 1)]


def scores_frame(rows, index=None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(schema.SCORE_COLUMNS), index=index)


def small_map(**kwargs) -> SegmentMap:
    rules = [
        SegmentRule("A", r=(4, 5)),
        SegmentRule("B", r=(1, 3), f=(1, 2)),
        SegmentRule("C", r=3, f=(3, 5)),
    ]
    return SegmentMap(**{"name": "small", "levels": 5, "rules": rules, "fallback": "Others",
                         **kwargs})


# --- built-in maps and audits ------------------------------------------------------------------
def test_builtin_names():
    assert builtin_segment_maps() == ["r-rfm-0.3.0", "rf-10", "rfm-grid-11"]
    assert DEFAULT_SEGMENT_MAP == "rfm-grid-11"


def test_default_grid_is_the_methods_table_and_a_complete_partition():
    segment_map = load_segment_map(DEFAULT_SEGMENT_MAP)
    audit = segment_map.audit()
    assert isinstance(audit, SegmentAudit)
    assert audit.axes == ("r", "fm") and audit.n_cells == 25
    expected = {
        tuple(int(v) for v in cell.split(",")): name
        for name, cells in GRID_11.items() for cell in cells.split()
    }
    assert audit.assignment == expected
    assert audit.is_complete_partition
    assert audit.unassigned == () and audit.overlaps == () and audit.unreachable == ()
    assert list(audit.cells_per_segment) == list(GRID_11)
    assert segment_map.fallback is None
    assert all(rule.action and rule.description for rule in segment_map.rules)


def test_r_rfm_default_leaves_ten_cells_to_others_and_one_champion_cell():
    segment_map = load_segment_map("r-rfm-0.3.0")
    audit = segment_map.audit()
    assert audit.axes == ("r", "f", "m") and audit.n_cells == 125
    # METHODS.md: "leaves 10 of 125 cells unassigned and lets only 555 be Champions".
    assert sorted(audit.unassigned) == R_RFM_UNASSIGNED
    assert [c for c, name in audit.assignment.items() if name == "Champions"] == [(5, 5, 5)]
    assert audit.cells_per_segment["Others"] == 10
    assert audit.unassigned_without_fallback == ()
    assert not audit.is_complete_partition
    assert audit.unreachable == ()
    assert ((5, 5, 5), ("Champions", "Potential Loyalist")) in audit.overlaps
    assert len(audit.overlaps) == 58
    assert [r.name for r in segment_map.rules] == [
        "Champions", "Potential Loyalist", "Loyal Customers", "Promising", "New Customers",
        "Can't Lose Them", "At Risk", "Need Attention", "About To Sleep", "Lost"]


def test_rf_10_is_a_complete_r_by_f_partition():
    audit = load_segment_map("rf-10").audit()
    assert audit.axes == ("r", "f") and audit.n_cells == 25
    assert audit.is_complete_partition
    assert audit.assignment[(5, 1)] == "new_customers"
    assert audit.assignment[(3, 3)] == "need_attention"
    assert audit.assignment[(2, 5)] == "cant_lose"
    assert audit.assignment[(4, 5)] == "loyal_customers"


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


# --- assignment --------------------------------------------------------------------------------
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


@pytest.mark.parametrize("n_levels", [4, 3, 6, 9])
def test_incompatible_score_scales_are_rejected(n_levels):
    scores = scores_frame([[1, 1, 1]])
    with pytest.raises(SegmentMapError, match=rf"1\.\.5 but the scores have {n_levels} levels.*"
                                              r"multiple of 5"):
        assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=n_levels)


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


# --- validation --------------------------------------------------------------------------------
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
        (lambda: SegmentMap("x", 1, [SegmentRule("A")]), "levels must be an int from 2"),
        (lambda: SegmentMap("x", 5, [SegmentRule("A")], fallback="A"), "fallback 'A' is also"),
        (lambda: SegmentMap("x", 5, [{"name": "A"}]), "must be a SegmentRule"),
    ],
)
def test_invalid_maps_and_rules(build, match):
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


# --- serialisation and files -------------------------------------------------------------------
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


def test_load_yaml_and_json_files(tmp_path):
    yaml_file = tmp_path / "my-map.yml"
    yaml_file.write_text(
        "levels: 5\nfallback: Rest\nrules:\n"
        "  - name: Recent\n    r: [4, 5]\n    action: Thank them.\n"
        "  - name: Big\n    any_of:\n      - {m: 5}\n      - {f: 5, m: 4}\n",
        encoding="utf-8",
    )
    loaded = load_segment_map(yaml_file)
    assert loaded.name == "my-map"  # named after the file
    assert loaded.rule("Recent").action == "Thank them."
    assert loaded.axes == ("r", "f", "m")
    json_file = tmp_path / "small.json"
    json_file.write_text(json.dumps(small_map().to_dict()), encoding="utf-8")
    assert load_segment_map(str(json_file)) == small_map()
    segments = assign_segments(scores_frame([[5, 1, 1], [1, 5, 5], [3, 3, 1]]),
                               str(json_file), n_levels=5)
    assert segments.tolist() == ["A", "Others", "C"]


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("bad.yaml", "levels: [5\n", r"bad\.yaml' is not valid YAML"),
        ("bad.json", "{levels: 5}", r"bad\.json' is not valid JSON"),
        ("unsafe.yaml", "!!python/object/apply:os.system ['true']\n", "not valid YAML"),
        ("keys.yaml", "levels: 5\nrules: []\ncolour: red\n", r"keys\.yaml'.*unknown key.*colour"),
        ("rule.yaml", "levels: 5\nrules:\n  - name: A\n    recency: [1, 2]\n",
         r"rule\.yaml'.*Rule 'A' has unknown key.*'recency'"),
        ("range.yaml", "levels: 5\nrules:\n  - {name: A, r: [2, 9]}\n",
         r"range\.yaml'.*outside the levels"),
        ("list.yaml", "- a\n- b\n", r"list\.yaml'.*must be a mapping"),
        ("map.txt", "levels: 5\n", r"suffix '\.txt'"),
    ],
)
def test_file_errors_name_the_file_and_the_problem(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SegmentMapError, match=match):
        load_segment_map(path)


def test_unknown_name_lists_the_builtins():
    with pytest.raises(SegmentMapError, match=r"'rfm-grid-12' is neither a built-in segment map "
                                              r"\(r-rfm-0\.3\.0, rf-10, rfm-grid-11\)"):
        load_segment_map("rfm-grid-12")


# --- summary -----------------------------------------------------------------------------------
@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.CUSTOMER_ID: ["u1", "u2", "u3", "u4"],
            schema.SEGMENT: ["A", "B", "A", "A"],
            schema.RECENCY: [10, 100, 20, 30],
            schema.FREQUENCY: [2, 1, 4, 6],
            schema.MONETARY: [50.0, 20.0, 25.0, 30.0],
            schema.REVENUE: [100.0, 20.0, 100.0, 180.0],
        }
    )


def test_segment_summary_by_hand(customers):
    summary = segment_summary(customers, order=small_map().segment_names)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary[schema.SEGMENT].tolist() == ["A", "B", "C", "Others"]
    assert summary["customers"].tolist() == [3, 1, 0, 0]
    assert summary["customer_share"].tolist() == [0.75, 0.25, 0, 0]
    assert summary["revenue"].tolist() == [380, 20, 0, 0]
    assert summary["revenue_share"].tolist() == [0.95, 0.05, 0, 0]
    first = summary.iloc[0]
    assert (first["recency_mean"], first["recency_median"]) == (20, 20)
    assert (first["frequency_mean"], first["frequency_median"]) == (4, 4)
    assert (first["monetary_mean"], first["monetary_median"]) == (35, 30)
    assert summary.loc[1, ["recency_mean", "frequency_median", "monetary_mean"]].tolist() == [
        100, 1, 20]
    assert summary.loc[2:, "monetary_mean"].isna().all()


def test_segment_summary_without_revenue_uses_monetary(customers):
    summary = segment_summary(customers.drop(columns=schema.REVENUE))
    # no map, plain strings: sorted by customers, descending
    assert summary[schema.SEGMENT].tolist() == ["A", "B"]
    assert summary["revenue"].tolist() == [105, 20]
    assert summary["revenue_share"].tolist() == [0.84, 0.16]


def test_segment_summary_follows_categorical_order():
    scores = scores_frame([[1, 1, 1], [5, 5, 5], [5, 5, 4]])
    table = pd.DataFrame({schema.RECENCY: [300, 1, 2], schema.FREQUENCY: [1, 9, 8],
                          schema.MONETARY: [5.0, 50.0, 40.0]})
    table[schema.SEGMENT] = assign_segments(scores, DEFAULT_SEGMENT_MAP, n_levels=5)
    summary = segment_summary(table)
    assert summary[schema.SEGMENT].tolist() == list(GRID_11)
    assert summary.set_index(schema.SEGMENT).loc["Champions", "customers"] == 2
    assert summary["customers"].sum() == 3


def test_segment_summary_rejects_segments_outside_the_map(customers):
    with pytest.raises(InputError, match=r"not among the segments 'A', 'B', 'C', 'Others': Z\."):
        segment_summary(customers.assign(**{schema.SEGMENT: ["A", "Z", "A", "A"]}),
                        order=small_map().segment_names)
    with pytest.raises(InputError, match="missing values"):
        segment_summary(customers.assign(**{schema.SEGMENT: ["A", None, "A", "A"]}))
    with pytest.raises(InputError, match="distinct segment names"):
        segment_summary(customers, order="AB")
    with pytest.raises(SchemaError, match="'segment'"):
        segment_summary(customers.drop(columns=schema.SEGMENT))
