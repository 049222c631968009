"""Tests of rfmkit.clustering.points: the distinct rows and the subsample k-means is fitted on."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cluster_support import blobs, quantile_scores
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.clustering.points import MAX_DISTINCT_POINTS, _distinct_rows


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread():
    # the reference KMeans fits too: OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


# --- the points k-means is fitted on ------------------------------------------------------------
def test_distinct_rows_detection():
    X = np.asfortranarray(quantile_scores(60_000, 1))  # as DataFrame.to_numpy returns it
    points, counts, inverse = _distinct_rows(X, MAX_DISTINCT_POINTS)
    expected, expected_counts = np.unique(X, axis=0, return_counts=True)
    np.testing.assert_array_equal(points, expected)
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(points[inverse], X)
    assert _distinct_rows(np.random.default_rng(0).normal(size=(60_000, 3)), 5000) is None
    assert _distinct_rows(np.array([[0.0, 1, 2], [-0.0, 1, 2]]), 5)[1].tolist() == [2.0]


def test_subsample_path_assigns_every_row(monkeypatch):
    monkeypatch.setattr("rfmkit.clustering.points.MAX_FIT_ROWS", 1000)
    monkeypatch.setattr("rfmkit.clustering.k_selection.STABILITY_MAX_ROWS", 500)
    X = blobs(1500, [[0, 0, 0], [6, 0, 0], [0, 6, 0]], 1.0, seed=2)
    est = RFMClusterer(3, n_init=2, silhouette_sample_size=300, stability_resamples=2).fit(X)
    assert est.labels_.shape == (4500,)
    np.testing.assert_array_equal(est.labels_, est.predict(X))
    d2 = ((X - est.cluster_centers_[est.labels_]) ** 2).sum(axis=1)
    assert est.inertia_ == pytest.approx(d2.sum(), rel=1e-12)
    assert est.metrics_["stability"] > 0.99
