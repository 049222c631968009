"""Tests of rfmkit.clustering.k_selection: the k-selection table, the knee and the criteria."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from cluster_support import blobs, quantile_scores, score_frame
from rfmkit.clustering.estimator import RFMClusterer, select_k
from rfmkit.clustering.k_selection import (
    CALINSKI_HARABASZ,
    CHOSEN,
    DAVIES_BOULDIN,
    INERTIA,
    K_SELECTION_COLUMNS,
    SILHOUETTE,
    SILHOUETTE_SAMPLE_SIZE,
    SILHOUETTE_SEED,
    STABILITY,
    K,
    _choose_k,
    _knee,
)
from rfmkit.errors import RFMKitWarning, SmallDataWarning


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread():
    # the reference KMeans fits too: OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


# --- choosing k ----------------------------------------------------------------------------------
def test_select_k_table():
    X = quantile_scores(1500, 7)
    table = select_k(score_frame(X), k_min=1, k_max=6, criterion="silhouette",
                     stability_resamples=2)
    assert list(table.columns) == list(K_SELECTION_COLUMNS)
    assert table[K].tolist() == [1, 2, 3, 4, 5, 6]
    first = table.iloc[0]
    for c in (SILHOUETTE, CALINSKI_HARABASZ, DAVIES_BOULDIN, STABILITY):
        assert math.isnan(first[c])
    assert table[SILHOUETTE].iloc[1:].notna().all()
    assert table[CHOSEN].sum() == 1
    chosen = table.loc[table[CHOSEN], K].item()
    assert chosen == table.loc[table[SILHOUETTE].idxmax(), K]
    assert np.all(np.diff(table[INERTIA]) < 0)
    assert (table[SILHOUETTE_SAMPLE_SIZE] == 1500).all()  # exact on the distinct points
    assert table[SILHOUETTE_SEED].isna().all()


def test_auto_finds_separated_blobs_and_records_why():
    centers = [[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8]]
    X = blobs(150, centers, 0.7, seed=4)
    est = RFMClusterer(k_min=2, k_max=7, n_init=3).fit(X)
    assert est.n_clusters_ == 4 and est.knee_ == 4
    row = est.k_selection_.set_index(K).loc[4]
    assert row[STABILITY] > 0.99 and row[CHOSEN]
    assert est.selection_reason_.startswith("k=4:")
    assert est.metrics_["k"] == 4
    assert RFMClusterer(k_min=1, k_max=8, criterion="elbow", n_init=3,
                        stability_resamples=0).fit(X).n_clusters_ == 4


def test_knee_detector():
    assert _knee([1, 2, 3, 4, 5, 6], [100, 50, 20, 15, 12, 10]) == 3
    assert _knee([2, 3, 4, 5], [40, 30, 20, 10]) is None  # a straight line has no knee
    assert _knee([2, 3], [40, 30]) is None


def _table(sil, stab, inertia, ks=None):
    ks = ks or list(range(2, 2 + len(sil)))
    return pd.DataFrame({K: ks, INERTIA: inertia, SILHOUETTE: sil, STABILITY: stab})


# log inertia 4.61, 3.69, 2.77, 2.64, 2.56, 2.53 for k=2..7: knee at k=4
_INERTIA = [100.0, 40.0, 16.0, 14.0, 13.0, 12.5]


def test_auto_rule_takes_best_silhouette_next_to_the_knee():
    sil = [0.60, 0.45, 0.40, 0.42, 0.30, 0.30]
    table = _table(sil, [1.0] * 6, _INERTIA)
    k, reason = _choose_k(table, "auto")
    assert k == 3
    assert "knee of the log-inertia curve at k=4; candidates k=3, 4, 5" in reason
    assert "best silhouette overall 0.600 at k=2" in reason
    assert _choose_k(table, "elbow")[0] == 4
    assert _choose_k(table, "silhouette")[0] == 2


def test_auto_rule_drops_unstable_candidates():
    sil = [0.60, 0.45, 0.40, 0.42, 0.30, 0.30]
    stab = [1.0, 0.5, 0.9, 0.85, 0.9, 0.9]  # k=3 does not reproduce on resamples
    k, reason = _choose_k(_table(sil, stab, _INERTIA), "auto")
    assert k == 5 and "stability >= 0.8 (k=4, 5)" in reason
    # when no candidate is stable, stability does not filter
    stab = [1.0, 0.5, 0.6, 0.7, 0.9, 0.9]
    k, reason = _choose_k(_table(sil, stab, _INERTIA), "auto")
    assert k == 3 and "none reaches stability" in reason


def test_auto_rule_without_knee_uses_silhouette():
    table = _table([0.3, 0.5, 0.4], [1.0, 1.0, 1.0], [30.0, 20.0, 10.0])  # a straight line
    assert _choose_k(table, "auto")[0] == 3
    k, reason = _choose_k(table, "elbow")
    assert k == 3 and "no knee" in reason
    # k=1 only: nothing to compare
    one = _table([np.nan], [np.nan], [5.0], ks=[1])
    assert _choose_k(one, "auto")[0] == 1


def test_k_max_above_distinct_points_warns_and_clips():
    X = np.array([[1, 1, 1], [5, 5, 5], [1, 5, 1], [5, 1, 5]] * 10, dtype=float)
    with pytest.warns(RFMKitWarning, match="only 4 distinct"):
        est = RFMClusterer(k_min=2, k_max=6, stability_resamples=0).fit(X)
    assert est.k_selection_[K].tolist() == [2, 3, 4]


def test_n_clusters_above_distinct_points_is_reduced_with_a_warning():
    """Issue 12: k larger than the number of distinct points is reduced, not refused."""
    X = np.array([[1, 1, 1], [5, 5, 5], [1, 5, 1], [5, 1, 5]] * 10, dtype=float)
    with pytest.warns(SmallDataWarning, match=r"n_clusters=5 but the data have only 4 distinct"):
        est = RFMClusterer(5, stability_resamples=0).fit(X)
    assert est.n_clusters_ == 4 and len(est.cluster_centers_) == 4
    assert "n_clusters=5 was given, but the data have only 4" in est.selection_reason_
    assert sorted(set(est.labels_.tolist())) == [0, 1, 2, 3]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_k_search_on_tiny_data(n):
    """1, 2 or 3 distinct points with k_min=2: k is searched over what the data can hold."""
    X = np.array([[1, 1, 1], [5, 5, 5], [3, 1, 5]][:n], dtype=float)
    with pytest.warns(SmallDataWarning, match=f"only {n} distinct feature row"):
        est = RFMClusterer(k_min=2, k_max=10, stability_resamples=0).fit(X)
    assert est.k_selection_[K].tolist() == list(range(min(2, n), n + 1))
    assert 1 <= est.n_clusters_ <= n
    assert est.predict(X).tolist() == est.labels_.tolist()


def test_int_n_clusters_skips_search_but_reports_metrics():
    X = quantile_scores(800, 8)
    est = RFMClusterer(3, stability_resamples=2).fit(score_frame(X))
    assert est.k_selection_ is None and est.knee_ is None
    assert est.n_clusters_ == 3 and "n_clusters=3 was given" in est.selection_reason_
    assert set(est.metrics_) == set(K_SELECTION_COLUMNS) - {CHOSEN}
    assert 0 < est.metrics_["silhouette"] < 1 and 0 <= est.metrics_["stability"] <= 1
