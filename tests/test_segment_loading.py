"""Tests of rfmkit.segments.loading: the built-in maps and YAML/JSON map files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rfmkit.errors import SegmentMapError
from rfmkit.segments.assignment import assign_segments
from rfmkit.segments.audit import SegmentAudit
from rfmkit.segments.loading import DEFAULT_SEGMENT_MAP, builtin_segment_maps, load_segment_map
from rfmkit.segments.map import SegmentMap
from segment_support import GRID_11, scores_frame, small_map

# The R rfm 0.3.0 cells no rule reaches, each checked by hand against the rules.
R_RFM_UNASSIGNED = [(2, 1, 5), (2, 4, 1), (2, 5, 1), (2, 5, 2), (3, 4, 1), (3, 5, 1), (4, 4, 1),
                    (4, 5, 1), (5, 4, 1), (5, 5, 1)]


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


def test_yaml_tags_never_run_code(tmp_path):
    """!!python/object/apply would call os.mkdir with an unsafe loader; safe_load refuses it."""
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f"!!python/object/apply:os.mkdir [{str(marker)!r}]\n", encoding="utf-8")
    with pytest.raises(SegmentMapError, match=r"evil\.yaml' is not valid YAML.*python/object"):
        load_segment_map(path)
    path.write_text(f"name: x\nlevels: !!python/object/apply:os.mkdir [{str(marker)!r}]\n"
                    "rules: []\n", encoding="utf-8")
    with pytest.raises(SegmentMapError, match="not valid YAML"):
        load_segment_map(path)
    assert not marker.exists()


@pytest.mark.parametrize(("name", "text"), [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep.yaml", "[" * 100_000 + "]" * 100_000),
    ("block.yaml", "".join("  " * i + "-\n" for i in range(3_000))),
])
def test_deeply_nested_maps_are_a_clear_error(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SegmentMapError, match=rf"{name.replace('.', '[.]')}' is nested too deep"):
        load_segment_map(path)


def test_a_map_that_is_not_utf8_names_the_file_and_the_encoding(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: Caf\u00e9\nlevels: 5\nrules: []\n".encode("latin-1"))
    with pytest.raises(SegmentMapError, match=r"latin\.yaml' is not UTF-8 text \(byte 0xe9"):
        load_segment_map(path)


# --- the documented format, its example and "none" (issue 13) -----------------------------------
DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "segment-map.yaml"


def test_the_documented_example_file_loads_and_matches_the_docs():
    seg_map = load_segment_map(EXAMPLE)
    assert seg_map.name == "five-groups" and seg_map.levels == 5
    assert seg_map.segment_names == ("Best", "Loyal", "New", "Slipping", "Gone", "Others")
    assert seg_map.axes == ("r", "fm")
    audit = seg_map.audit()
    assert not audit.overlaps and not audit.unreachable
    # the example shown in docs/segment-maps.md is the file, rule for rule
    text = (DOCS / "segment-maps.md").read_text(encoding="utf-8")
    shown = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert SegmentMap.from_dict(yaml.safe_load(shown)) == seg_map
    # every key of the file is in the docs' tables
    for key in ("name", "description", "levels", "fallback", "rules", "any_of", "action", "fm"):
        assert f"`{key}`" in text


def test_none_means_one_segment_for_everyone():
    seg_map = load_segment_map("none")
    assert seg_map.segment_names == ("All customers",)
    scores = pd.DataFrame({"r_score": [1, 5, 3], "f_score": [2, 5, 1], "m_score": [4, 5, 1]})
    for n_levels in (3, 5, 7):
        got = assign_segments(scores.clip(upper=n_levels), seg_map, n_levels=n_levels)
        assert got.tolist() == ["All customers"] * 3
    with pytest.raises(SegmentMapError, match=r"'none' \(no segments\)"):
        load_segment_map("nonee")
