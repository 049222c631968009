"""The HTML report: the summary dict first (STYLE.md rule 8), then charts, HTML and notebook views.

Real browser checks (Chromium) are in test_report_browser.py.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.exceptions import NotFittedError

from rfmkit import schema
from rfmkit.demo import generate_transactions
from rfmkit.errors import InputError, ParameterError, RFMKitWarning
from rfmkit.model import RFMModel
from rfmkit.report import SECTIONS, Report, build_report
from rfmkit.report import charts as report_charts
from rfmkit.html_repr import (
    clusterer_html,
    model_html,
    report_html,
    scorer_html,
    segmentation_html,
)
from rfmkit.report.summary import TINY_CLUSTER_SHARE, knee
from rfmkit.segments.maps import SUMMARY_COLUMNS, SegmentMap


def _fit(X, *args, **kwargs) -> RFMModel:
    # Demo data has tie-heavy frequencies (collapsed bins) and few distinct score points; those
    # warnings are tested where they are raised, not here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMKitWarning)
        return RFMModel(*args, **kwargs).fit(X)


def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    """A customer-level table (one row per customer, metrics given)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)],
        "recency": rng.integers(0, 700, n),
        "frequency": 1 + rng.poisson(rng.gamma(0.6, 4.0, n)),
        "monetary": np.round(rng.lognormal(4.0, 1.2, n), 2),
    })


@pytest.fixture(scope="module")
def demo_tx():
    return generate_transactions(n_rows=12_000, seed=3)


@pytest.fixture(scope="module")
def demo_model(demo_tx):
    return _fit(demo_tx, k_max=6)


@pytest.fixture(scope="module")
def demo_summary(demo_model):
    return build_report(demo_model, demo_model.result_).to_dict()


@pytest.fixture(scope="module")
def demo_report(demo_model):
    return build_report(demo_model, demo_model.result_, title="Demo <shop> & co")


@pytest.fixture(scope="module")
def demo_html(demo_report):
    return demo_report.html()


@pytest.fixture(scope="module")
def plain_model():
    """No clustering; fixed caps (one quantile cap); customer-level input."""
    return _fit(_customers(3000, seed=5), n_clusters="none",
                caps={"frequency": 12, "monetary": "q0.95"})


@pytest.fixture(scope="module")
def percentile_model(demo_tx):
    return _fit(demo_tx, "percentile", k_max=6)


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


def _same(a, b) -> bool:
    """Summary value (None for missing) equals a table value (NaN for missing)."""
    if a is None:
        return b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b


# --- the summary dict -----------------------------------------------------------------------------
def test_summary_is_plain_json(demo_summary):
    for path, leaf in _walk(demo_summary):
        assert leaf is None or type(leaf) in (str, int, float, bool), (path, type(leaf))
        if isinstance(leaf, float):
            assert math.isfinite(leaf), path
    assert json.loads(json.dumps(demo_summary, allow_nan=False)) == demo_summary


def test_summary_structure_and_sections(demo_summary, demo_model):
    assert set(demo_summary) == {
        "schema_version", "rfmkit_version", "title", "sections", "headline", "method",
        "quality", "warnings", "distributions", "scores", "segments", "grid", "pareto",
        "clusters", "transitions"}
    assert demo_summary["sections"] == ["overview", "distributions", "scores", "segments",
                                        "clusters"]
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


def test_headline_and_quality_equal_the_segmentation(demo_summary, demo_model):
    result = demo_model.result_
    h = demo_summary["headline"]
    assert h["customers"] == len(result.customers)
    assert h["revenue"] == pytest.approx(result.customers[schema.REVENUE].sum(), rel=1e-12)
    assert h["revenue"] == pytest.approx(result.segments["revenue"].sum(), rel=1e-12)
    assert h["as_of"] == result.as_of.isoformat()
    assert h["training_data"] is True
    assert h["clusters"] == demo_model.clusterer_.n_clusters_
    assert h["segments"] == int((result.segments["customers"] > 0).sum())
    q = demo_summary["quality"]
    assert q["rows_read"] == result.quality.rows_read
    assert q["rows_used"] == result.quality.rows_used
    dropped = {d["reason"]: d["rows"] for d in q["dropped"]}
    assert dropped == {k: result.quality.dropped.get(k, 0) for k in dropped}
    assert sum(dropped.values()) == q["rows_dropped"] == result.quality.rows_dropped
    assert dropped["cancellation"] > 0 and dropped["missing_customer"] > 0


def test_segment_rows_equal_the_segment_table(demo_summary, demo_model):
    table = demo_model.result_.segments
    rows = demo_summary["segments"]["rows"]
    assert [r["segment"] for r in rows] == list(table[schema.SEGMENT])
    for row, (_, expected) in zip(rows, table.iterrows(), strict=True):
        for column in SUMMARY_COLUMNS:
            assert _same(row[column], expected[column]), (row["segment"], column)
        rule = demo_model.segment_map_.rule(row["segment"])
        assert row["action"] == rule.action and row["action"]
        assert row["description"] == rule.description
    assert demo_summary["segments"]["total_customers"] == len(demo_model.result_.customers)


def test_distribution_statistics(demo_summary, demo_model):
    customers = demo_model.result_.customers
    for metric, d in demo_summary["distributions"].items():
        values = customers[metric].to_numpy(dtype="float64")
        assert d["count"] == len(values)
        assert d["median"] == pytest.approx(np.median(values))
        assert d["mean"] == pytest.approx(values.mean())
        assert (d["min"], d["max"]) == (values.min(), values.max())
        assert d["p95"] == pytest.approx(np.percentile(values, 95))
        h = d["histogram"]
        assert sum(h["counts"]) == len(values)
        assert len(h["edges"]) == len(h["counts"]) + 1
        assert np.all(np.diff(h["edges"]) > 0)
        assert d["cap"] is None and d["above_cap"] is None
    # recency starts at 0 (bought on the as-of day): no log axis; spend is heavy-tailed: log
    assert demo_summary["distributions"]["recency"]["log_axis"] is False
    assert demo_summary["distributions"]["monetary"]["log_axis"] is True
    assert demo_summary["distributions"]["monetary"]["histogram"]["log"] is True


def test_caps_are_reported(plain_model):
    s = build_report(plain_model, plain_model.result_).to_dict()
    customers = plain_model.result_.customers
    freq, mon = s["distributions"]["frequency"], s["distributions"]["monetary"]
    assert freq["cap"] == 12
    assert freq["above_cap"] == int((customers["frequency"] > 12).sum()) > 0
    assert mon["cap"] == pytest.approx(np.quantile(customers["monetary"], 0.95))
    assert mon["above_cap"] == int((customers["monetary"] > mon["cap"]).sum()) > 0
    assert s["distributions"]["recency"]["cap"] is None


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


def test_rf_grid_equals_the_customer_table(demo_summary, demo_model):
    customers = demo_model.result_.customers
    g = demo_summary["grid"]
    assert g["r_levels"] == list(range(1, demo_model.scorer_.n_bins_["recency"] + 1))
    assert g["f_levels"] == list(range(1, demo_model.scorer_.n_bins_["frequency"] + 1))
    counts = pd.crosstab(customers[schema.R_SCORE], customers[schema.F_SCORE]).reindex(
        index=g["r_levels"], columns=g["f_levels"], fill_value=0)
    assert g["count"] == counts.to_numpy().tolist()
    means = customers.groupby([schema.R_SCORE, schema.F_SCORE])[schema.MONETARY].mean()
    for i, r in enumerate(g["r_levels"]):
        for j, f in enumerate(g["f_levels"]):
            if (r, f) in means.index:
                assert g["mean_monetary"][i][j] == pytest.approx(means[(r, f)])
            else:
                assert g["mean_monetary"][i][j] is None


def test_pareto_by_hand():
    # 10 customers, revenue 100 x 1 customer + 50 x 1 + 10 x 8 = 230 (customer-level input)
    customers = pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(10)],
        "recency": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "frequency": [5, 4, 3, 2, 1, 1, 2, 3, 4, 5],
        "monetary": [100.0, 50.0] + [10.0] * 8,
    })
    model = _fit(customers, n_clusters="none")
    p = build_report(model, model.result_).to_dict()["pareto"]
    assert p["top_10_percent"] == pytest.approx(100 / 230)
    assert p["top_20_percent"] == pytest.approx(150 / 230)
    # 80% of 230 = 184: the top 2 give 150, 3 give 160, ..., 6 give 190
    assert p["customers_for_80_percent"] == pytest.approx(0.6)
    # Gini of (10 x 8, 50, 100): sum_i (2i - n - 1) x_i / (n sum x), ascending
    ascending = np.array([10.0] * 8 + [50.0, 100.0])
    i = np.arange(1, 11)
    expected = ((2 * i - 11) * ascending).sum() / (10 * ascending.sum())
    assert p["gini"] == pytest.approx(expected)
    assert p["customer_share"][0] == 0 and p["customer_share"][-1] == 1
    assert p["revenue_share"][0] == 0 and p["revenue_share"][-1] == pytest.approx(1)
    assert np.all(np.diff(p["revenue_share"]) >= 0)


def test_knee_by_hand():
    inertia = [100, 40, 25, 20, 18]
    # raw, scaled to [0, 1]: (1, .268, .085, .024, 0) under the chord (1, .75, .5, .25, 0):
    # gaps (0, .482, .415, .226, 0), largest at k=2
    assert knee([1, 2, 3, 4, 5], inertia, log_scale=False) == 2
    # log: (4.605, 3.689, 3.219, 2.996, 2.890) scales to (1, .466, .192, .062, 0):
    # gaps (0, .284, .308, .188, 0), largest at k=3
    assert knee([1, 2, 3, 4, 5], inertia) == 3
    assert knee([2, 3, 4, 5], [40, 30, 20, 10], log_scale=False) is None  # a line: no knee
    assert knee([2, 3], [40, 10]) is None


def test_knee_matches_the_elbow_criterion(percentile_model):
    # Method P picks k by the elbow: the chosen k must be the knee the report marks
    sel = build_report(percentile_model, percentile_model.result_).to_dict()["clusters"][
        "k_selection"]
    assert sel["chosen"] == percentile_model.clusterer_.n_clusters_
    assert sel["knee"] == sel["chosen"]


def test_cluster_section_equals_the_cluster_tables(demo_summary, demo_model):
    c = demo_summary["clusters"]
    result = demo_model.result_
    assert c["k"] == demo_model.clusterer_.n_clusters_ == len(c["profile"])
    assert c["names"] == list(demo_model.cluster_names_)
    assert c["features"] == "scores"
    for row, (_, expected) in zip(c["profile"], result.clusters.iterrows(), strict=True):
        for column in result.clusters.columns:
            assert _same(row[column], expected[column]), (row["cluster"], column)
    k_table = result.k_selection
    assert [r["k"] for r in c["k_selection"]["rows"]] == list(k_table["k"])
    for row, (_, expected) in zip(c["k_selection"]["rows"], k_table.iterrows(), strict=True):
        for column in ("inertia", "silhouette", "stability", "chosen"):
            assert _same(row[column], expected[column])
    assert c["k_selection"]["chosen"] == int(k_table.loc[k_table["chosen"], "k"].iloc[0])
    assert np.allclose(c["centers"], demo_model.clusterer_.cluster_centers_)


def test_cluster_map_sample(demo_model):
    result = demo_model.result_
    n = len(result.customers)
    full = build_report(demo_model, result).to_dict()["clusters"]["map"]
    assert full["sample_size"] == n == len(full["x"]) == len(full["y"]) == len(full["cluster"])
    assert full["projection"] == "pca"
    assert 0.5 < sum(full["explained_variance_ratio"]) <= 1 + 1e-12
    assert full["jitter"] > 0  # integer scores are jittered
    assert len(full["centers"]) == demo_model.clusterer_.n_clusters_

    small = build_report(demo_model, result, scatter_sample=200).to_dict()["clusters"]["map"]
    sizes = result.customers[schema.CLUSTER].value_counts()
    counts = pd.Series(small["cluster"]).value_counts()
    assert set(counts.index) == set(sizes.index)  # every cluster is on the map
    for cluster, size in sizes.items():
        assert counts[cluster] >= min(size, 30)
    assert 200 <= small["sample_size"] <= 200 + 30 * len(sizes)
    again = build_report(demo_model, result, scatter_sample=200).to_dict()["clusters"]["map"]
    assert again == small
    other = build_report(demo_model, result, scatter_sample=200, random_state=1).to_dict()
    assert other["clusters"]["map"]["x"] != small["x"]


@pytest.mark.parametrize(("sample", "raster"), [(200, False), (5000, True)])
def test_cluster_map_dots_are_an_image_when_dense(demo_model, sample, raster):
    report = build_report(demo_model, demo_model.result_, scatter_sample=sample)
    dots = report.to_dict()["clusters"]["map"]["sample_size"]
    assert (dots > 1000) is raster  # the demo has 1,226 customers
    fig = report.figure("cluster-map")
    svg = report_charts.figure_svg(fig, "cluster-map")
    # many dots: one embedded picture; few: one vector mark each
    assert ("<image" in svg) is raster
    assert (svg.count("<use ") < 50) if raster else (svg.count("<use ") >= dots)
    assert fig.dpi == Figure().dpi  # the raster resolution is set for the SVG only
    if raster:
        width = float(re.search(r'<image[^>]*\swidth="([0-9.]+)', svg).group(1))
        assert width > 300  # the plot area, not a thumbnail


def test_tsne_projection_on_a_sample(demo_model):
    m = build_report(demo_model, demo_model.result_, scatter_sample=120,
                     projection="tsne").to_dict()["clusters"]["map"]
    assert m["projection"] == "tsne"
    assert len(m["x"]) == m["sample_size"] < len(demo_model.result_.customers)
    assert all(math.isfinite(v) for v in m["x"] + m["y"])


def test_tiny_clusters_are_warned():
    customers = _customers(600, seed=1)
    customers.loc[:3, ["recency", "frequency", "monetary"]] = [[0, 5000, 1e8]] * 4
    model = _fit(customers, n_clusters=3, cluster_features="log-metrics")
    sizes = model.result_.clusters["customers"]
    tiny = model.result_.clusters[sizes / sizes.sum() < TINY_CLUSTER_SHARE]
    assert len(tiny) == 1
    s = build_report(model, model.result_).to_dict()
    messages = [w["message"] for w in s["warnings"] if w["kind"] == "tiny_cluster"]
    assert len(messages) == 1
    assert f"Cluster {int(tiny['cluster'].iloc[0])} " in messages[0]
    assert "4 customers" in messages[0]
    assert s["clusters"]["features"] == "log-metrics"
    assert s["clusters"]["map"]["jitter"] == 0  # continuous features are not jittered


def test_report_without_clusters(plain_model):
    report = build_report(plain_model, plain_model.result_)
    s = report.to_dict()
    assert s["clusters"] is None
    assert s["headline"]["clusters"] is None
    assert s["sections"] == ["overview", "distributions", "scores", "segments"]
    html = report.html()
    assert 'id="clusters"' not in html and 'id="chart-cluster-map"' not in html
    assert 'id="chart-rf-grid"' in html
    with pytest.raises(ValueError, match="no clusters"):
        report_charts.plot_cluster_map(report)
    with pytest.raises(ValueError, match="no 'cluster-map' chart"):
        report.figure("cluster-map")


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


def test_applied_model_report(demo_model, demo_tx):
    """A report of model.segment(X) on other data: frozen state, that data's numbers."""
    new = generate_transactions(n_rows=6_000, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMKitWarning)
        result = demo_model.segment(new)
    s = build_report(demo_model, result).to_dict()
    assert s["headline"]["training_data"] is False
    assert s["headline"]["customers"] == len(result.customers)
    assert s["quality"]["rows_read"] == 6_000
    assert [r["customers"] for r in s["segments"]["rows"]] == list(result.segments["customers"])
    # the score ranges are the training edges, whatever data is scored
    trained = build_report(demo_model, demo_model.result_).to_dict()
    assert s["scores"]["metrics"]["monetary"]["edges"] == \
        trained["scores"]["metrics"]["monetary"]["edges"]


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
    earlier = _fit(demo_tx, as_of="2025-06-30", n_clusters=4)
    model = _fit(demo_tx, n_clusters=4, previous_model=earlier)
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


# --- the HTML -------------------------------------------------------------------------------------
def test_html_has_every_section_and_chart(demo_html, demo_summary):
    assert demo_html.startswith("<!DOCTYPE html>")
    assert "<h1>Demo &lt;shop&gt; &amp; co</h1>" in demo_html
    for section in demo_summary["sections"]:
        assert len(re.findall(rf'<section id="{section}"', demo_html)) == 1, section
    for chart in ("distributions", "scores", "segments", "rf-grid", "pareto", "k-selection",
                  "cluster-profile", "cluster-sizes", "cluster-map"):
        assert f'<figure id="chart-{chart}"' in demo_html
    assert demo_html.count("<svg") == 9
    for row in demo_summary["segments"]["rows"]:
        assert f"<strong>{row['segment']}</strong>".replace("'", "&#39;") in demo_html
        assert row["action"].replace("'", "&#39;") in demo_html
    for name in demo_summary["clusters"]["names"]:
        assert name in demo_html
    assert f"{demo_summary['headline']['customers']:,}" in demo_html


def test_html_loads_nothing(demo_html):
    assert "http://" not in demo_html and "https://" not in demo_html
    assert "<?xml" not in demo_html and "<!DOCTYPE svg" not in demo_html
    for tag in ("<link", "<img", "<iframe", "<object", "<embed", "@import", "<base"):
        assert tag not in demo_html.lower(), tag
    assert not re.search(r"\ssrc\s*=", demo_html)
    assert not re.findall(r"url\((?!#)", demo_html)  # only references inside the page
    assert not re.search(r"<script[^>]*\ssrc", demo_html)


def test_svg_ids_are_unique(demo_html):
    ids = re.findall(r'\sid="([^"]+)"', demo_html)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'href="#([^"]+)"', demo_html) + re.findall(r"url\(#([^)]+)\)",
                                                                     demo_html):
        assert ref in ids, ref


def test_html_escapes_user_text(demo_tx):
    evil = SegmentMap.from_dict({
        "name": "evil <map>", "levels": 5, "fallback": "Rest & <i>others</i>",
        "rules": [{"name": "<script>alert(1)</script>", "r": [4, 5],
                   "action": "Say \"hi\" <b>now</b>"}],
    })
    model = _fit(demo_tx, segment_map=evil, n_clusters="none")
    html = build_report(model, model.result_, title="Q3 <report> & \"more\"").html()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>now</b>" not in html and "<i>others</i>" not in html
    assert "<title>Q3 &lt;report&gt; &amp; &#34;more&#34;</title>" in html
    assert html.count("<script>") == 1  # only the report's own sorting script


def test_report_is_deterministic(demo_tx, demo_report):
    """An independent fit of the same data gives the same dict and byte-identical HTML."""
    model = _fit(demo_tx, k_max=6)
    again = build_report(model, model.result_, title="Demo <shop> & co")
    assert again.to_dict() == demo_report.to_dict()
    assert json.dumps(again.to_dict()) == json.dumps(demo_report.to_dict())
    assert again.html().encode() == demo_report.html().encode()


def test_write_html_is_atomic(demo_report, tmp_path):
    report = demo_report
    target = tmp_path / "report.html"
    target.write_text("old")
    assert report.write_html(target) == target
    assert target.read_text(encoding="utf-8") == report.html()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with pytest.raises(FileNotFoundError):
        report.write_html(tmp_path / "missing" / "report.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.slow
def test_size_for_100k_customers():
    model = _fit(_customers(100_000, seed=2), k_max=6)
    report = build_report(model, model.result_)
    s = report.to_dict()
    assert s["headline"]["customers"] == 100_000
    assert s["clusters"]["map"]["sample_size"] == 5000
    assert sum(s["grid"]["count"][0]) + sum(map(sum, s["grid"]["count"][1:])) == 100_000
    size = len(report.html().encode("utf-8"))
    assert size < 5_000_000, size


# --- charts and notebook views -------------------------------------------------------------------
def test_every_chart_function_returns_a_figure(demo_summary):
    for name in report_charts.__all__:
        if not name.startswith("plot_"):
            continue
        fig = getattr(report_charts, name)(demo_summary) if name != "plot_transitions" else None
        if fig is None:
            with pytest.raises(ValueError, match="no segments transitions"):
                report_charts.plot_transitions(demo_summary)
            continue
        assert isinstance(fig, Figure), name
        assert fig.axes, name


def test_report_figure_and_svg(demo_model):
    report = build_report(demo_model, demo_model.result_)
    fig = report.figure("segments")
    assert isinstance(fig, Figure)
    svg = report_charts.figure_svg(fig, "x-1", title='Seg "A"')
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "http" not in svg and "<metadata" not in svg and "xmlns" not in svg
    assert 'aria-label="Seg &quot;A&quot;"' in svg
    assert all(i.startswith("x-1-") for i in re.findall(r'\sid="([^"]+)"', svg))
    assert report_charts.figure_svg(report.figure("segments"), "x-1", title='Seg "A"') == svg
    # the figure is left as it was: still drawable by the caller, same size in pixels
    canvas, dpi = fig.canvas, fig.dpi
    assert report_charts.figure_svg(fig, "x-1", title='Seg "A"') == svg
    assert fig.canvas is canvas and fig.dpi == dpi
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="Unknown chart"):
        report.figure("treemap")
    with pytest.raises(TypeError):
        report_charts.plot_segments({"no": "summary"})


def test_notebook_views(demo_model):
    report = build_report(demo_model, demo_model.result_)
    html = report._repr_html_()
    assert html == report_html(report.to_dict())
    assert len(html) < 20_000 and "<script" not in html and "<style" not in html
    for row in report.to_dict()["segments"]["rows"]:
        assert row["segment"].replace("'", "&#x27;") in html
    assert "Report" in repr(report) and f"{len(demo_model.result_.customers):,}" in repr(report)

    text = model_html(demo_model)
    assert "RFMModel" in text and demo_model.segment_map_.name in text
    assert all(name in text for name in demo_model.cluster_names_)
    assert "not fitted" in model_html(RFMModel(n_bins=4)) and "n_bins=4" in model_html(
        RFMModel(n_bins=4))

    scorer = scorer_html(demo_model.scorer_)
    assert "RFMScorer" in scorer and "quantile" in scorer
    edges = demo_model.scorer_.bin_edges_["recency"]
    assert f"{int(-edges[1]):,}" in scorer  # recency edges are shown in days, not negated

    clusterer = clusterer_html(demo_model.clusterer_)
    assert f"k={demo_model.clusterer_.n_clusters_}" in clusterer

    seg = segmentation_html(demo_model.result_)
    assert f"{len(demo_model.result_.customers):,}" in seg and "Segmentation" in seg
    assert "<script" not in seg


def test_sections_constant_is_the_page_order():
    assert SECTIONS == ("overview", "distributions", "scores", "segments", "clusters",
                        "transitions")
    assert Report.__module__ == "rfmkit.report"


def test_importing_the_report_does_not_import_matplotlib_or_jinja2():
    # `import rfmkit` (CLI start-up) pays for matplotlib and Jinja2 only when a report is drawn
    code = ("import sys, rfmkit.report; "
            "print(sorted(m for m in ('matplotlib', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
