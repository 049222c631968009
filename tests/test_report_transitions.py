"""The transitions section (report/sections/transitions.py): how the same customers moved."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd

from report_support import fit
from rfmkit import schema
from rfmkit.report import build_report


def test_transitions(demo_model):
    result = demo_model.result_
    customers = result.customers
    previous = customers[[schema.CUSTOMER_ID, schema.SEGMENT, schema.CLUSTER,
                          schema.CLUSTER_NAME]].copy()
    previous[schema.SEGMENT] = previous[schema.SEGMENT].astype(object)
    previous.loc[previous.index[:50], schema.SEGMENT] = "Lost"
    previous.loc[previous.index[:20], schema.CLUSTER] = 0
    previous = previous.iloc[10:]  # 10 customers are new

    report = build_report(demo_model, dataclasses.replace(result, previous=previous))
    s = report.to_dict()
    assert s["sections"][-1] == "transitions"
    t = s["transitions"]
    n = len(customers)
    assert (t["customers_current"], t["customers_previous"], t["matched"]) == (n, n - 10, n - 10)
    seg = t["segments"]
    moved = int((customers[schema.SEGMENT].iloc[10:50] != "Lost").sum())
    assert seg["changed"] == moved and seg["unchanged"] == n - 10 - moved
    assert seg["customers"] == n - 10
    table = pd.DataFrame(seg["counts"], index=seg["from"], columns=seg["to"])
    assert table.loc["Lost"].sum() == 40 + int((customers[schema.SEGMENT].iloc[50:] == "Lost")
                                               .sum())
    cl = t["clusters"]
    cluster_moved = int((customers[schema.CLUSTER].iloc[10:20] != 0).sum())
    assert cl["changed"] == cluster_moved
    assert all(re.fullmatch(r"\d+: .+", label) for label in cl["from"] + cl["to"])
    html = report.html()
    assert 'id="transitions"' in html and 'id="chart-transitions-segments"' in html
    assert 'id="chart-transitions-clusters"' in html


def test_transitions_from_a_previous_model(demo_tx):
    """A model fitted with previous_model: the report shows how its customers moved."""
    earlier = fit(demo_tx, as_of="2025-06-30", n_clusters=4)
    model = fit(demo_tx, n_clusters=4, previous_model=earlier)
    previous = model.result_.previous
    s = build_report(model, model.result_).to_dict()
    t = s["transitions"]
    assert t["matched"] == len(model.result_.customers) == len(previous)
    cl = t["clusters"]
    assert set(cl["from"]) <= {f"{i}: {n}" for i, n in enumerate(earlier.cluster_names_)}
    assert set(cl["to"]) <= {f"{i}: {n}" for i, n in enumerate(model.cluster_names_)}
    kept = int((previous[schema.CLUSTER].to_numpy()
                == model.result_.customers[schema.CLUSTER].to_numpy()).sum())
    assert (cl["unchanged"], cl["customers"]) == (kept, t["matched"])
    seg = t["segments"]
    table = pd.DataFrame(seg["counts"], index=seg["from"], columns=seg["to"])
    expected = pd.crosstab(previous[schema.SEGMENT].astype(str).to_numpy(),
                           model.result_.customers[schema.SEGMENT].astype(str).to_numpy())
    assert table.loc[expected.index, expected.columns].to_numpy().tolist() == \
        expected.to_numpy().tolist()
    merged = model.result_.customers.merge(previous, on=schema.CUSTOMER_ID,
                                           suffixes=("", "_before"))
    same = int((merged[schema.SEGMENT].astype(str)
                == merged[f"{schema.SEGMENT}_before"].astype(str)).sum())
    assert (seg["unchanged"], seg["changed"]) == (same, len(merged) - same)
    assert 0 < seg["changed"] < seg["customers"]


def test_no_previous_means_no_transitions(demo_model):
    result = dataclasses.replace(demo_model.result_, previous=None)
    s = build_report(demo_model, result).to_dict()
    assert s["transitions"] is None and "transitions" not in s["sections"]


def test_the_section_is_called_a_model_change(demo_model):
    result = demo_model.result_
    previous = result.customers[[schema.CUSTOMER_ID, schema.SEGMENT]].copy()
    html = build_report(demo_model, dataclasses.replace(result, previous=previous)).html()
    assert "Model change: how the new model re-labels the same customers" in html
    assert "same, current data" in html and "moved between" not in html
    assert '<a href="#transitions">Model change</a>' in html
