"""Tests of rfmkit.clustering.estimator: RFMClusterer (predict, fitting, JSON state) and the
Method P acceptance test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from cluster_support import SCORES, customers, quantile_scores, score_frame
from rfmkit import schema
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.clustering.k_selection import K
from rfmkit.clustering.naming import name_clusters
from rfmkit.clustering.profiles import CUSTOMERS, profile_clusters
from rfmkit.errors import ModelFormatError


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread():
    # the reference KMeans fits too: OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


# --- predict -----------------------------------------------------------------------------------
def test_predict_equals_kmeans_predict():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(800, 3))
    km = KMeans(5, n_init=2, random_state=0).fit(X)
    est = RFMClusterer(5, n_init=1, stability_resamples=0).fit(X)
    state = est.to_state()
    state["cluster_centers"] = km.cluster_centers_.tolist()  # the same centres, KMeans order
    rebuilt = RFMClusterer.from_state(json.loads(json.dumps(state)))
    Y = rng.normal(size=(3000, 3)) * 2
    np.testing.assert_array_equal(rebuilt.predict(Y), km.predict(Y))


# --- fitting ---------------------------------------------------------------------------------
def test_unfitted_and_clone():
    est = RFMClusterer(3, n_init=4)
    with pytest.raises(NotFittedError):
        est.predict(quantile_scores(5))
    with pytest.raises(NotFittedError):
        est.to_state()
    assert clone(est).get_params() == est.get_params()


def test_fit_is_deterministic_and_idempotent():
    X = score_frame(quantile_scores(700, 9))
    a = RFMClusterer(k_max=5, n_init=3, stability_resamples=2).fit(X)
    table = a.k_selection_.copy()
    a.fit(X)
    b = RFMClusterer(k_max=5, n_init=3, stability_resamples=2).fit(X)
    pd.testing.assert_frame_equal(a.k_selection_, table)
    pd.testing.assert_frame_equal(a.k_selection_, b.k_selection_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.fit_predict(X), a.labels_)


# --- JSON state ----------------------------------------------------------------------------------
@pytest.mark.parametrize("features", ["scores", "log-metrics"])
def test_state_round_trips_through_json(features):
    df = customers(600, 2)
    rng = np.random.default_rng(2)
    for c in SCORES:
        df[c] = rng.integers(1, 6, len(df))
    est = RFMClusterer(k_max=4, features=features, n_init=2, stability_resamples=1).fit(df)
    state = json.loads(json.dumps(est.to_state(), allow_nan=False))
    rebuilt = RFMClusterer.from_state(state)
    np.testing.assert_array_equal(rebuilt.predict(df), est.predict(df))
    np.testing.assert_array_equal(rebuilt.cluster_centers_, est.cluster_centers_)
    pd.testing.assert_frame_equal(rebuilt.k_selection_, est.k_selection_)
    assert rebuilt.get_params() == est.get_params()
    assert rebuilt.metrics_ == json.loads(json.dumps(est.metrics_, default=str))
    assert rebuilt.selection_reason_ == est.selection_reason_
    assert rebuilt.knee_ == est.knee_
    assert not hasattr(rebuilt, "labels_")


def test_state_with_explicit_init_and_int_k():
    X = quantile_scores(300, 1)
    init = [[4.0, 4.0, 4.0], [2.0, 2.0, 2.0]]
    est = RFMClusterer(2, init=np.array(init), n_init=1, stability_resamples=0).fit(X)
    state = json.loads(json.dumps(est.to_state(), allow_nan=False))
    assert state["params"]["init"] == init and state["k_selection"] is None
    rebuilt = RFMClusterer.from_state(state)
    np.testing.assert_array_equal(rebuilt.predict(X), est.labels_)


def test_from_state_rejects_bad_states():
    est = RFMClusterer(2, stability_resamples=0).fit(quantile_scores(100))
    good = est.to_state()
    with pytest.raises(ModelFormatError, match="Not an RFMClusterer state"):
        RFMClusterer.from_state({**good, "kind": "something else"})
    with pytest.raises(ModelFormatError, match="version"):
        RFMClusterer.from_state({**good, "state_version": 99})
    with pytest.raises(ModelFormatError, match="shape"):
        RFMClusterer.from_state({**good, "cluster_centers": [[1.0, 2.0]]})
    with pytest.raises(ModelFormatError, match="Invalid parameters"):
        RFMClusterer.from_state({**good, "params": {**good["params"], "n_init": 0}})
    broken = dict(good)
    del broken["feature_mean"]
    with pytest.raises(ModelFormatError, match="KeyError"):
        RFMClusterer.from_state(broken)


# --- Method P acceptance -------------------------------------------------------------------------
# Customer types behind the synthetic Method P data: share, first-order and last-order windows
# (days before the end of the 3-year window), orders per year while active, spend per order.
_METHOD_P_TYPES = (
    (0.16, (700, 1090), (0, 60), 20.0, 120.0),  # loyal
    (0.15, (150, 400), (0, 90), 8.0, 60.0),  # potential loyal
    (0.13, (600, 1090), (150, 400), 15.0, 110.0),  # need attention
    (0.14, (700, 1090), (450, 800), 6.0, 70.0),  # at risk
    (0.12, (500, 1090), (500, 1090), 0.0, 250.0),  # one-time buy
    (0.15, (150, 500), (150, 450), 1.0, 30.0),  # dormant
    (0.15, (600, 1090), (600, 1090), 0.5, 30.0),  # lost
)
# Method P's hand-made names, as prototypes on the 0..100 score scale, mapped to the vocabulary.
_METHOD_P_NAMES = {
    "Champions": (80, 80, 80),  # Loyal: high R, F, M
    "Potential Loyalists": (80, 50, 50),  # Potential Loyal: high R, medium F and M
    "Need Attention": (50, 80, 80),  # Need Attention: medium R, high F and M
    "At Risk": (20, 50, 50),  # At Risk: low R, medium F and M
    "One-Time Buyers": (20, 20, 50),  # One-Time Buy: low R and F, medium M
    "About To Sleep": (50, 20, 20),  # Dormant: medium R, low F and M
    "Lost": (20, 20, 20),  # Lost: low everything
}


def method_p_customers(n: int = 50_000, seed: int = 7) -> pd.DataFrame:
    """Customers like Method P's data: 3 years of orders, integer amounts, percentile scores."""
    rng = np.random.default_rng(seed)
    share = np.array([t[0] for t in _METHOD_P_TYPES])
    kind = rng.choice(len(_METHOD_P_TYPES), n, p=share / share.sum())
    first, last, rate, spend = (np.empty(n) for _ in range(4))
    for j, (_, first_window, last_window, per_year, per_order) in enumerate(_METHOD_P_TYPES):
        idx = kind == j
        a, b = rng.uniform(*first_window, idx.sum()), rng.uniform(*last_window, idx.sum())
        first[idx], last[idx] = np.maximum(a, b), np.minimum(a, b)
        rate[idx] = per_year * rng.lognormal(0, 0.5, idx.sum())
        spend[idx] = per_order * rng.lognormal(0, 0.5, idx.sum())
    span = first - last
    frequency = np.where(span < 1, 1, 2 + rng.poisson(rate * span / 365.0))
    owner = np.repeat(np.arange(n), frequency)
    amounts = np.maximum(1, np.rint(rng.gamma(3.0, spend[owner] / 3.0)))
    recency = np.floor(last).astype(np.int64)
    df = pd.DataFrame({
        schema.CUSTOMER_ID: np.arange(n),
        schema.RECENCY: recency - recency.min(),
        schema.FREQUENCY: frequency,
        schema.MONETARY: np.bincount(owner, weights=amounts, minlength=n),
    })
    df[schema.REVENUE] = df[schema.MONETARY]
    # Method P's scores: average ranks / max rank * 100, recency ranked descending
    for metric, score, ascending in ((schema.RECENCY, schema.R_SCORE, False),
                                     (schema.FREQUENCY, schema.F_SCORE, True),
                                     (schema.MONETARY, schema.M_SCORE, True)):
        rank = df[metric].rank(method="average", ascending=ascending)
        df[score] = rank / rank.max() * 100
    return df


@pytest.fixture(scope="module")
def method_p_data() -> pd.DataFrame:
    return method_p_customers()


def test_method_p_acceptance(method_p_data):
    df = method_p_data
    assert 14 <= df[schema.FREQUENCY].mean() <= 18 and df[schema.RECENCY].max() >= 1000
    X = df[SCORES].to_numpy()
    ref = KMeans(n_clusters=7, init="random", n_init=10, max_iter=500,
                 random_state=12345).fit(X)
    est = RFMClusterer(n_clusters=7, features="scores", init="random", n_init=10, max_iter=500,
                       random_state=12345, stability_resamples=0,
                       silhouette_sample_size=2000).fit(df)
    assert adjusted_rand_score(ref.labels_, est.labels_) > 0.95
    # hand naming of the reference centroids: each of Method P's seven names once, to the
    # centroid closest to its description
    protos = np.array(list(_METHOD_P_NAMES.values()), dtype=float)
    cost = ((ref.cluster_centers_[:, None, :] - protos[None]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    hand = np.empty(7, dtype=object)
    hand[rows] = np.array(list(_METHOD_P_NAMES))[cols]
    auto = [n.name.split(" (")[0] for n in name_clusters(est.cluster_centers_, scale=(0, 100))]
    agree = np.mean(np.asarray(auto, dtype=object)[est.labels_] == hand[ref.labels_])
    assert agree > 0.8
    profile = profile_clusters(df, est.labels_, name_clusters(est.cluster_centers_,
                                                              scale=(0, 100)))
    assert profile[CUSTOMERS].sum() == len(df)
    assert profile[schema.CLUSTER_NAME].iloc[0] == "Champions"  # best first


@pytest.mark.slow
def test_method_p_elbow_over_1_to_14_picks_seven(method_p_data):
    est = RFMClusterer(k_min=1, k_max=14, criterion="elbow", init="random", n_init=10,
                       max_iter=500, random_state=12345, stability_resamples=0,
                       silhouette_sample_size=1000).fit(method_p_data)
    assert est.n_clusters_ == 7  # as the Method P notebook chose
    assert est.k_selection_[K].tolist() == list(range(1, 15))
