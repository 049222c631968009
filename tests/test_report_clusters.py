"""The clusters section (report/sections/clusters.py, cluster_map.py): profile, k, the map."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import report_support as support
from report_support import fit, same
from rfmkit import ColumnMapping, schema
from rfmkit.clustering import k_selection
from rfmkit.errors import SmallDataWarning
from rfmkit.report import build_report
from rfmkit.report.sections.cluster_map import TSNE_MIN_POINTS
from rfmkit.report.sections.clusters import TINY_CLUSTER_SHARE

CUSTOMER_LEVEL = ColumnMapping(customer="customer_id", recency="recency",
                               frequency="frequency", monetary="monetary")


def test_knee_by_hand():
    # The report shows the knee the clusterer found (RFMClusterer.knee_); its detector, by hand.
    # (The report kept a copy of it until the copy was removed; these cases moved with it.)
    inertia = np.array([100.0, 40.0, 25.0, 20.0, 18.0])
    ks = np.array([1, 2, 3, 4, 5])
    # raw, scaled to [0, 1]: (1, .268, .085, .024, 0) under the chord (1, .75, .5, .25, 0):
    # gaps (0, .482, .415, .226, 0), largest at k=2
    assert k_selection._knee(ks, inertia) == 2
    # log: (4.605, 3.689, 3.219, 2.996, 2.890) scales to (1, .466, .192, .062, 0):
    # gaps (0, .284, .308, .188, 0), largest at k=3
    assert k_selection._inertia_knee(ks, inertia) == 3
    assert k_selection._knee([2, 3, 4, 5], [40, 30, 20, 10]) is None  # a line: no knee
    assert k_selection._inertia_knee(np.array([2, 3]), np.array([40.0, 10.0])) is None


def test_knee_matches_the_elbow_criterion(percentile_model):
    # Method P picks k by the elbow: the chosen k must be the knee the report marks
    sel = build_report(percentile_model, percentile_model.result_).to_dict()["clusters"][
        "k_selection"]
    assert sel["chosen"] == percentile_model.clusterer_.n_clusters_
    assert sel["knee"] == sel["chosen"] == percentile_model.clusterer_.knee_


def test_cluster_section_equals_the_cluster_tables(demo_summary, demo_model):
    c = demo_summary["clusters"]
    result = demo_model.result_
    assert c["k"] == demo_model.clusterer_.n_clusters_ == len(c["profile"])
    assert c["names"] == list(demo_model.cluster_names_)
    assert c["features"] == "scores"
    for row, (_, expected) in zip(c["profile"], result.clusters.iterrows(), strict=True):
        for column in result.clusters.columns:
            assert same(row[column], expected[column]), (row["cluster"], column)
    k_table = result.k_selection
    assert [r["k"] for r in c["k_selection"]["rows"]] == list(k_table["k"])
    for row, (_, expected) in zip(c["k_selection"]["rows"], k_table.iterrows(), strict=True):
        for column in ("inertia", "silhouette", "stability", "chosen"):
            assert same(row[column], expected[column])
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


def test_tsne_projection_on_a_sample(demo_model):
    m = build_report(demo_model, demo_model.result_, scatter_sample=120,
                     projection="tsne").to_dict()["clusters"]["map"]
    assert m["projection"] == "tsne"
    assert len(m["x"]) == m["sample_size"] < len(demo_model.result_.customers)
    assert all(math.isfinite(v) for v in m["x"] + m["y"])


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("projection", ["pca", "tsne"])
def test_the_map_of_one_to_three_customers(n, projection):
    """Issue 12: t-SNE on 2 customers raised; now t-SNE falls back to PCA under TSNE_MIN_POINTS
    points (a SmallDataWarning), and PCA of fewer than 3 customers pads its flat axis."""
    model = fit(support.customers(n), columns=CUSTOMER_LEVEL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = build_report(model, model.result_, projection=projection)
    m = report.to_dict()["clusters"]["map"]
    assert m["projection"] == "pca" and len(m["x"]) == len(m["y"]) == n
    assert all(math.isfinite(v) for v in m["x"] + m["y"])
    fallback = [w for w in caught if issubclass(w.category, SmallDataWarning)]
    assert len(fallback) == (projection == "tsne")
    if fallback:
        assert f"only {n} customer(s); t-SNE needs at least {TSNE_MIN_POINTS}" in str(
            fallback[0].message)
    assert report.html().rstrip().endswith("</html>")


def test_tiny_clusters_are_warned():
    customers = support.customers(600, seed=1)
    customers.loc[:3, ["recency", "frequency", "monetary"]] = [[0, 5000, 1e8]] * 4
    model = fit(customers, n_clusters=3, cluster_features="log-metrics")
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


def test_tsne_maps_at_most_its_cap(demo_model, monkeypatch):
    from rfmkit.report.sections import cluster_map

    monkeypatch.setattr(cluster_map, "TSNE_MAX_POINTS", 60)
    m = build_report(demo_model, demo_model.result_, scatter_sample=500,
                     projection="tsne").to_dict()["clusters"]["map"]
    assert m["sample_size"] <= 60 + 30 * demo_model.clusterer_.n_clusters_  # every cluster kept
    assert len(set(m["cluster"])) == demo_model.clusterer_.n_clusters_


def test_the_default_map_is_pca_on_all_customers_in_plain_words(demo_summary):
    m = demo_summary["clusters"]["map"]
    assert m["projection"] == "pca"
    assert len(m["axis_words"]) == 2 and all(m["axis_words"])
    from rfmkit.report.sections.cluster_map import axis_words

    assert axis_words([0.7, 0.1, 0.7], ["r_score", "f_score", "m_score"]) == \
        "more recent, spend more"
    assert axis_words([-0.9, 0.1, 0.1], ["recency", "frequency", "monetary"]) == "more recent"
