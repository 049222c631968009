"""Tests of rfmkit.clustering.quality: metrics of weighted points equal scikit-learn's on the
repeated rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from threadpoolctl import threadpool_limits

from cluster_support import expand
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.clustering.quality import _silhouettes, _weighted_ari, _weighted_ch_db


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread():
    # the reference KMeans fits too: OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


# --- metrics on weighted points equal scikit-learn's on the repeated rows -----------------------
@pytest.fixture
def weighted_case():
    rng = np.random.default_rng(11)
    P = rng.integers(1, 6, size=(40, 3)).astype(float)
    P = np.unique(P, axis=0)
    w = rng.integers(1, 5, size=len(P)).astype(float)
    labels = rng.integers(0, 4, size=len(P))
    # a cluster that is one distinct point counted 3 times (a(i) = 0) and a singleton cluster
    labels[0], w[0] = 4, 3.0
    labels[1], w[1] = 5, 1.0
    return P, w, labels


def test_weighted_silhouette_equals_sklearn_on_expanded_rows(weighted_case):
    P, w, labels = weighted_case
    Xe, le = expand(P, w, labels)
    ours = _silhouettes(P, w, [labels, labels % 2])
    assert ours[0] == pytest.approx(silhouette_score(Xe, le), abs=1e-12)
    assert ours[1] == pytest.approx(silhouette_score(Xe, le % 2), abs=1e-12)


def test_weighted_silhouette_nan_for_one_cluster(weighted_case):
    P, w, _ = weighted_case
    assert math.isnan(_silhouettes(P, w, [np.zeros(len(P), dtype=int)])[0])


def test_weighted_ch_db_equal_sklearn_on_expanded_rows(weighted_case):
    P, w, labels = weighted_case
    Xe, le = expand(P, w, labels)
    ch, db = _weighted_ch_db(P, w, labels)
    assert ch == pytest.approx(calinski_harabasz_score(Xe, le), rel=1e-12)
    assert db == pytest.approx(davies_bouldin_score(Xe, le), rel=1e-12)
    # labels with an unused id in the middle
    ch2, db2 = _weighted_ch_db(P, w, np.where(labels == 2, 9, labels))
    assert (ch2, db2) == pytest.approx((ch, db), rel=1e-12)


def test_weighted_ari_equals_sklearn_on_expanded_rows(weighted_case):
    P, w, labels = weighted_case
    other = np.random.default_rng(3).integers(0, 3, len(P))
    _, a = expand(P, w, labels)
    _, b = expand(P, w, other)
    assert _weighted_ari(labels, other, w) == pytest.approx(adjusted_rand_score(a, b),
                                                                abs=1e-12)
    assert _weighted_ari(labels, labels, w) == 1.0


def test_sampled_silhouette_equals_sklearn_with_same_sample():
    X = np.random.default_rng(0).normal(size=(6000, 3))  # > MAX_DISTINCT_POINTS distinct rows
    est = RFMClusterer(3, random_state=3, n_init=2, silhouette_sample_size=500,
                       stability_resamples=0).fit(X)
    expected = silhouette_score(X, est.labels_, sample_size=500, random_state=3)
    assert est.metrics_["silhouette"] == pytest.approx(expected, abs=1e-10)
    assert est.metrics_["silhouette_sample_size"] == 500
    assert est.metrics_["silhouette_seed"] == 3
    ch, db = calinski_harabasz_score(X, est.labels_), davies_bouldin_score(X, est.labels_)
    assert est.metrics_["calinski_harabasz"] == pytest.approx(ch, rel=1e-10)
    assert est.metrics_["davies_bouldin"] == pytest.approx(db, rel=1e-10)
