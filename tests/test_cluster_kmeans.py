"""Tests of rfmkit.clustering.kmeans: weighted k-means on distinct points is the same problem as
on all rows; scikit-learn's KMeans on many distinct points."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from cluster_support import quantile_scores, score_frame
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.clustering.features import _order_centers
from rfmkit.clustering.kmeans import _nearest, _weighted_kmeans
from rfmkit.clustering.points import MAX_DISTINCT_POINTS, _distinct_rows


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread():
    # the reference KMeans fits too: OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


# --- weighted distinct points: the same k-means problem ------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_distinct_points_same_result_as_all_rows(seed):
    X = quantile_scores(3000, seed)
    rng = np.random.default_rng(seed)
    init = X[rng.choice(len(X), 4, replace=False)] + rng.normal(0, 0.1, (4, 3))
    ref = KMeans(4, init=init, n_init=1).fit(X)
    est = RFMClusterer(4, init=init, n_init=1, stability_resamples=0).fit(score_frame(X))
    assert len(np.unique(X, axis=0)) <= 125  # the weighted path
    assert est.metrics_["silhouette_seed"] is None  # exact silhouette, no sample
    # Same centres (up to the best-first renumbering), inertia and labels.
    expected = _order_centers(ref.cluster_centers_, np.ones(3))
    np.testing.assert_allclose(est.cluster_centers_, expected, rtol=0, atol=1e-12)
    assert est.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)
    perm = [int(np.argmin(((expected - c) ** 2).sum(axis=1))) for c in ref.cluster_centers_]
    np.testing.assert_array_equal(est.labels_, np.asarray(perm)[ref.labels_])


def test_many_restarts_never_worse_than_one():
    X = quantile_scores(2000, 3)
    P, w, _ = _distinct_rows(X, MAX_DISTINCT_POINTS)
    for init in ("random", "k-means++"):
        inertia = []
        for n_init in (1, 200):
            c = _weighted_kmeans(P, w, 6, init=init, n_init=n_init, max_iter=300, seed=5)
            inertia.append(float((w * _nearest(P, c)[1]).sum()))
        assert inertia[1] <= inertia[0] + 1e-9


def test_weighted_lloyd_converges_to_kmeans_fixed_point():
    # a result of the vectorised Lloyd is a fixed point of scikit-learn's Lloyd on all rows
    X = quantile_scores(1500, 4)
    P, w, _ = _distinct_rows(X, MAX_DISTINCT_POINTS)
    c = _weighted_kmeans(P, w, 5, init="random", n_init=50, max_iter=300, seed=1)
    km = KMeans(5, init=c, n_init=1, max_iter=300).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, c, atol=1e-12)
    assert km.n_iter_ == 1


# --- many distinct points: scikit-learn's KMeans ------------------------------------------------
def test_continuous_path_matches_kmeans_on_all_rows():
    X = np.random.default_rng(1).normal(size=(6000, 3))
    ref = KMeans(4, init="random", n_init=3, max_iter=200, random_state=7).fit(X)
    est = RFMClusterer(4, init="random", n_init=3, max_iter=200, random_state=7,
                       stability_resamples=0, silhouette_sample_size=200).fit(X)
    assert adjusted_rand_score(ref.labels_, est.labels_) == 1.0
    assert est.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
