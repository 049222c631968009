"""The summary dict as a whole (report/summary.py): plain JSON, its keys and sections, checks."""

from __future__ import annotations

import json
import math

import pytest
from sklearn.exceptions import NotFittedError

from rfmkit import schema
from rfmkit.errors import InputError, ParameterError
from rfmkit.model import RFMModel
from rfmkit.report import SECTIONS, Report, build_report


def _walk(value, path="summary"):
    """Yield (path, value) for every leaf of a nested dict/list."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), f"{path} has a non-string key {k!r}"
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


def test_summary_is_plain_json(demo_summary):
    for path, leaf in _walk(demo_summary):
        assert leaf is None or type(leaf) in (str, int, float, bool), (path, type(leaf))
        if isinstance(leaf, float):
            assert math.isfinite(leaf), path
    assert json.loads(json.dumps(demo_summary, allow_nan=False)) == demo_summary


def test_summary_structure_and_sections(demo_summary, demo_model):
    assert set(demo_summary) == {
        "schema_version", "rfmkit_version", "title", "currency", "sections", "findings",
        "headline", "method", "quality", "warnings", "distributions", "scores", "segments",
        "segment_grid", "grid", "pareto", "clusters", "transitions"}
    # what to do first (summary, segments, clusters), how it was computed after
    assert demo_summary["sections"] == ["overview", "segments", "clusters", "distributions",
                                        "scores"]
    assert demo_summary["transitions"] is None
    assert demo_summary["title"] == "RFM segmentation report"
    assert demo_summary["method"]["preset"] == "default"
    assert demo_summary["method"]["segment_map"] == demo_model.segment_map_.name
    groups = {g["group"]: {o["name"]: o["value"] for o in g["options"]}
              for g in demo_summary["method"]["options"]}
    assert groups["Clusters"]["k_max"] == 6
    assert groups["Scores"]["n_bins"] == 5
    # the applied values, not the parameters (drop_cancellations=None means "drop" here)
    applied = demo_model.cleaning_rules_.to_dict()
    assert groups["Cleaning"] == {k: applied[k] for k in groups["Cleaning"]}
    assert groups["Cleaning"]["drop_cancellations"] is True
    assert groups["Metrics"]["frequency"] == demo_model.metric_options_.frequency
    assert set(demo_summary["distributions"]) == set(schema.METRIC_COLUMNS)


def test_bad_arguments(demo_model):
    with pytest.raises(ParameterError, match="projection"):
        build_report(demo_model, demo_model.result_, projection="umap")
    with pytest.raises(ParameterError, match="scatter_sample"):
        build_report(demo_model, demo_model.result_, scatter_sample=0)
    with pytest.raises(ParameterError, match="random_state"):
        build_report(demo_model, demo_model.result_, random_state=-1)
    with pytest.raises(InputError, match="Segmentation"):
        build_report(demo_model, demo_model.result_.customers)
    with pytest.raises(NotFittedError):
        build_report(RFMModel(), demo_model.result_)


def test_sections_constant_is_the_page_order():
    assert SECTIONS == ("overview", "segments", "clusters", "distributions", "scores",
                        "transitions")
    assert Report.__module__ == "rfmkit.report"
