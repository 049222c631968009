"""Tests of rfmkit.clustering: RFMClusterer, select_k, profile_clusters."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from threadpoolctl import threadpool_limits

from rfmkit import schema
from rfmkit.clustering import estimator as cl
from rfmkit.clustering.estimator import RFMClusterer, profile_clusters, select_k
from rfmkit.clustering.naming import name_clusters
from rfmkit.errors import InputError, ModelFormatError, ParameterError, RFMKitWarning, SchemaError

SCORES = list(schema.SCORE_COLUMNS)
METRICS = list(schema.METRIC_COLUMNS)


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread():
    # the reference KMeans fits too: OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


def quantile_scores(n: int, seed: int = 0) -> np.ndarray:
    """Correlated integer scores 1..5 (few distinct rows, many duplicates)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1))
    return np.clip(np.round(3 + 1.2 * (0.7 * z + 0.7 * rng.normal(size=(n, 3)))), 1, 5)


def score_frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=SCORES)


def blobs(n_per: int, centers, spread: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=float)
    return np.vstack([c + rng.normal(0, spread, size=(n_per, 3)) for c in centers])


def expand(P: np.ndarray, w: np.ndarray, labels: np.ndarray):
    reps = w.astype(int)
    return np.repeat(P, reps, axis=0), np.repeat(labels, reps)


def customers(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    freq = 1 + rng.poisson(3, n)
    return pd.DataFrame({
        schema.CUSTOMER_ID: np.arange(n),
        schema.RECENCY: rng.integers(0, 400, n),
        schema.FREQUENCY: freq,
        schema.MONETARY: np.round(rng.lognormal(4, 1, n) * freq, 2),
    })


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
    expected = cl._order_centers(ref.cluster_centers_, np.ones(3))
    np.testing.assert_allclose(est.cluster_centers_, expected, rtol=0, atol=1e-12)
    assert est.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)
    perm = [int(np.argmin(((expected - c) ** 2).sum(axis=1))) for c in ref.cluster_centers_]
    np.testing.assert_array_equal(est.labels_, np.asarray(perm)[ref.labels_])


def test_distinct_rows_detection():
    X = np.asfortranarray(quantile_scores(60_000, 1))  # as DataFrame.to_numpy returns it
    points, counts, inverse = cl._distinct_rows(X, cl.MAX_DISTINCT_POINTS)
    expected, expected_counts = np.unique(X, axis=0, return_counts=True)
    np.testing.assert_array_equal(points, expected)
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(points[inverse], X)
    assert cl._distinct_rows(np.random.default_rng(0).normal(size=(60_000, 3)), 5000) is None
    assert cl._distinct_rows(np.array([[0.0, 1, 2], [-0.0, 1, 2]]), 5)[1].tolist() == [2.0]


def test_many_restarts_never_worse_than_one():
    X = quantile_scores(2000, 3)
    P, w, _ = cl._distinct_rows(X, cl.MAX_DISTINCT_POINTS)
    for init in ("random", "k-means++"):
        inertia = []
        for n_init in (1, 200):
            c = cl._weighted_kmeans(P, w, 6, init=init, n_init=n_init, max_iter=300, seed=5)
            inertia.append(float((w * cl._nearest(P, c)[1]).sum()))
        assert inertia[1] <= inertia[0] + 1e-9


def test_weighted_lloyd_converges_to_kmeans_fixed_point():
    # a result of the vectorised Lloyd is a fixed point of scikit-learn's Lloyd on all rows
    X = quantile_scores(1500, 4)
    P, w, _ = cl._distinct_rows(X, cl.MAX_DISTINCT_POINTS)
    c = cl._weighted_kmeans(P, w, 5, init="random", n_init=50, max_iter=300, seed=1)
    km = KMeans(5, init=c, n_init=1, max_iter=300).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, c, atol=1e-12)
    assert km.n_iter_ == 1


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
    ours = cl._silhouettes(P, w, [labels, labels % 2])
    assert ours[0] == pytest.approx(silhouette_score(Xe, le), abs=1e-12)
    assert ours[1] == pytest.approx(silhouette_score(Xe, le % 2), abs=1e-12)


def test_weighted_silhouette_nan_for_one_cluster(weighted_case):
    P, w, _ = weighted_case
    assert math.isnan(cl._silhouettes(P, w, [np.zeros(len(P), dtype=int)])[0])


def test_weighted_ch_db_equal_sklearn_on_expanded_rows(weighted_case):
    P, w, labels = weighted_case
    Xe, le = expand(P, w, labels)
    ch, db = cl._weighted_ch_db(P, w, labels)
    assert ch == pytest.approx(calinski_harabasz_score(Xe, le), rel=1e-12)
    assert db == pytest.approx(davies_bouldin_score(Xe, le), rel=1e-12)
    # labels with an unused id in the middle
    ch2, db2 = cl._weighted_ch_db(P, w, np.where(labels == 2, 9, labels))
    assert (ch2, db2) == pytest.approx((ch, db), rel=1e-12)


def test_weighted_ari_equals_sklearn_on_expanded_rows(weighted_case):
    P, w, labels = weighted_case
    other = np.random.default_rng(3).integers(0, 3, len(P))
    _, a = expand(P, w, labels)
    _, b = expand(P, w, other)
    assert cl._weighted_ari(labels, other, w) == pytest.approx(adjusted_rand_score(a, b),
                                                                abs=1e-12)
    assert cl._weighted_ari(labels, labels, w) == 1.0


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


def test_continuous_path_matches_kmeans_on_all_rows():
    X = np.random.default_rng(1).normal(size=(6000, 3))
    ref = KMeans(4, init="random", n_init=3, max_iter=200, random_state=7).fit(X)
    est = RFMClusterer(4, init="random", n_init=3, max_iter=200, random_state=7,
                       stability_resamples=0, silhouette_sample_size=200).fit(X)
    assert adjusted_rand_score(ref.labels_, est.labels_) == 1.0
    assert est.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


def test_subsample_path_assigns_every_row(monkeypatch):
    monkeypatch.setattr(cl, "MAX_FIT_ROWS", 1000)
    monkeypatch.setattr(cl, "STABILITY_MAX_ROWS", 500)
    X = blobs(1500, [[0, 0, 0], [6, 0, 0], [0, 6, 0]], 1.0, seed=2)
    est = RFMClusterer(3, n_init=2, silhouette_sample_size=300, stability_resamples=2).fit(X)
    assert est.labels_.shape == (4500,)
    np.testing.assert_array_equal(est.labels_, est.predict(X))
    d2 = ((X - est.cluster_centers_[est.labels_]) ** 2).sum(axis=1)
    assert est.inertia_ == pytest.approx(d2.sum(), rel=1e-12)
    assert est.metrics_["stability"] > 0.99


# --- predict, ordering, features ---------------------------------------------------------------
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


def test_cluster_ids_are_best_first():
    X = quantile_scores(2000, 6)
    est = RFMClusterer(6, stability_resamples=0).fit(score_frame(X))
    sums = est.cluster_centers_.sum(axis=1)
    assert np.all(np.diff(sums) <= 0)
    # ties are broken by R then F then M, higher first
    C = np.array([[1.0, 3.0, 2.0], [3.0, 1.0, 2.0], [2.0, 2.0, 2.0], [9.0, 9.0, 9.0]])
    np.testing.assert_array_equal(cl._order_centers(C, np.ones(3)), C[[3, 1, 2, 0]])


def test_log_metrics_ordering_treats_recency_as_lower_is_better():
    C = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])  # standardised log recency
    np.testing.assert_array_equal(cl._order_centers(C, cl._ORIENTATION["log-metrics"]),
                                  C[[1, 0]])


def test_log_metrics_transform_is_learned_in_fit():
    df = customers(500, 1)
    df.loc[0, schema.MONETARY] = -20.0  # a net refund: clipped at 0 before log1p
    est = RFMClusterer(3, features="log-metrics", stability_resamples=0).fit(df)
    logged = np.log1p(np.column_stack([df[schema.RECENCY], df[schema.FREQUENCY],
                                       df[schema.MONETARY].clip(lower=0)]))
    np.testing.assert_allclose(est.feature_mean_, logged.mean(axis=0))
    np.testing.assert_allclose(est.feature_scale_, logged.std(axis=0))
    assert est.feature_names_ == METRICS
    # new data are transformed with the stored statistics, not their own
    new = df.iloc[:7]
    expected = (logged[:7] - est.feature_mean_) / est.feature_scale_
    np.testing.assert_allclose(est.feature_matrix(new), expected)
    d2 = ((expected[:, None, :] - est.cluster_centers_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(est.predict(new), d2.argmin(axis=1))
    np.testing.assert_array_equal(est.predict(df), est.labels_)


def test_log_metrics_rejects_negative_recency():
    df = customers(50)
    df.loc[3, schema.RECENCY] = -1
    with pytest.raises(InputError, match="negative recency"):
        RFMClusterer(2, features="log-metrics").fit(df)


def test_scores_features_from_frame_and_array_agree():
    X = quantile_scores(600, 2)
    df = score_frame(X).assign(**{schema.CUSTOMER_ID: np.arange(600)})
    a = RFMClusterer(4, stability_resamples=0).fit(df)
    b = RFMClusterer(4, stability_resamples=0).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.feature_mean_ is None and a.feature_scale_ is None
    assert a.n_features_in_ == 3


def test_missing_columns_and_bad_values():
    with pytest.raises(SchemaError, match="missing 'm_score'"):
        RFMClusterer(2).fit(pd.DataFrame({"r_score": [1, 2], "f_score": [1, 2]}))
    bad = score_frame(quantile_scores(20))
    bad.iloc[4, 1] = np.nan
    with pytest.raises(InputError, match="1 of 20 customers"):
        RFMClusterer(2).fit(bad)
    with pytest.raises(InputError, match="shape"):
        RFMClusterer(2).fit(np.zeros((5, 2)))


# --- choosing k ----------------------------------------------------------------------------------
def test_select_k_table():
    X = quantile_scores(1500, 7)
    table = select_k(score_frame(X), k_min=1, k_max=6, criterion="silhouette",
                     stability_resamples=2)
    assert list(table.columns) == list(cl.K_SELECTION_COLUMNS)
    assert table[cl.K].tolist() == [1, 2, 3, 4, 5, 6]
    first = table.iloc[0]
    for c in (cl.SILHOUETTE, cl.CALINSKI_HARABASZ, cl.DAVIES_BOULDIN, cl.STABILITY):
        assert math.isnan(first[c])
    assert table[cl.SILHOUETTE].iloc[1:].notna().all()
    assert table[cl.CHOSEN].sum() == 1
    chosen = table.loc[table[cl.CHOSEN], cl.K].item()
    assert chosen == table.loc[table[cl.SILHOUETTE].idxmax(), cl.K]
    assert np.all(np.diff(table[cl.INERTIA]) < 0)
    assert (table[cl.SILHOUETTE_SAMPLE_SIZE] == 1500).all()  # exact on the distinct points
    assert table[cl.SILHOUETTE_SEED].isna().all()


def test_auto_finds_separated_blobs_and_records_why():
    centers = [[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8]]
    X = blobs(150, centers, 0.7, seed=4)
    est = RFMClusterer(k_min=2, k_max=7, n_init=3).fit(X)
    assert est.n_clusters_ == 4 and est.knee_ == 4
    row = est.k_selection_.set_index(cl.K).loc[4]
    assert row[cl.STABILITY] > 0.99 and row[cl.CHOSEN]
    assert est.selection_reason_.startswith("k=4:")
    assert est.metrics_["k"] == 4
    assert RFMClusterer(k_min=1, k_max=8, criterion="elbow", n_init=3,
                        stability_resamples=0).fit(X).n_clusters_ == 4


def test_knee_detector():
    assert cl._knee([1, 2, 3, 4, 5, 6], [100, 50, 20, 15, 12, 10]) == 3
    assert cl._knee([2, 3, 4, 5], [40, 30, 20, 10]) is None  # a straight line has no knee
    assert cl._knee([2, 3], [40, 30]) is None


def _table(sil, stab, inertia, ks=None):
    ks = ks or list(range(2, 2 + len(sil)))
    return pd.DataFrame({cl.K: ks, cl.INERTIA: inertia, cl.SILHOUETTE: sil, cl.STABILITY: stab})


# log inertia 4.61, 3.69, 2.77, 2.64, 2.56, 2.53 for k=2..7: knee at k=4
_INERTIA = [100.0, 40.0, 16.0, 14.0, 13.0, 12.5]


def test_auto_rule_takes_best_silhouette_next_to_the_knee():
    sil = [0.60, 0.45, 0.40, 0.42, 0.30, 0.30]
    table = _table(sil, [1.0] * 6, _INERTIA)
    k, reason = cl._choose_k(table, "auto")
    assert k == 3
    assert "knee of the log-inertia curve at k=4; candidates k=3, 4, 5" in reason
    assert "best silhouette overall 0.600 at k=2" in reason
    assert cl._choose_k(table, "elbow")[0] == 4
    assert cl._choose_k(table, "silhouette")[0] == 2


def test_auto_rule_drops_unstable_candidates():
    sil = [0.60, 0.45, 0.40, 0.42, 0.30, 0.30]
    stab = [1.0, 0.5, 0.9, 0.85, 0.9, 0.9]  # k=3 does not reproduce on resamples
    k, reason = cl._choose_k(_table(sil, stab, _INERTIA), "auto")
    assert k == 5 and "stability >= 0.8 (k=4, 5)" in reason
    # when no candidate is stable, stability does not filter
    stab = [1.0, 0.5, 0.6, 0.7, 0.9, 0.9]
    k, reason = cl._choose_k(_table(sil, stab, _INERTIA), "auto")
    assert k == 3 and "none reaches stability" in reason


def test_auto_rule_without_knee_uses_silhouette():
    table = _table([0.3, 0.5, 0.4], [1.0, 1.0, 1.0], [30.0, 20.0, 10.0])  # a straight line
    assert cl._choose_k(table, "auto")[0] == 3
    k, reason = cl._choose_k(table, "elbow")
    assert k == 3 and "no knee" in reason
    # k=1 only: nothing to compare
    one = _table([np.nan], [np.nan], [5.0], ks=[1])
    assert cl._choose_k(one, "auto")[0] == 1


def test_k_max_above_distinct_points_warns_and_clips():
    X = np.array([[1, 1, 1], [5, 5, 5], [1, 5, 1], [5, 1, 5]] * 10, dtype=float)
    with pytest.warns(RFMKitWarning, match="only 4 distinct"):
        est = RFMClusterer(k_min=2, k_max=6, stability_resamples=0).fit(X)
    assert est.k_selection_[cl.K].tolist() == [2, 3, 4]
    with pytest.raises(InputError, match="only 4 distinct"):
        RFMClusterer(5).fit(X)


def test_int_n_clusters_skips_search_but_reports_metrics():
    X = quantile_scores(800, 8)
    est = RFMClusterer(3, stability_resamples=2).fit(score_frame(X))
    assert est.k_selection_ is None and est.knee_ is None
    assert est.n_clusters_ == 3 and "n_clusters=3 was given" in est.selection_reason_
    assert set(est.metrics_) == set(cl.K_SELECTION_COLUMNS) - {cl.CHOSEN}
    assert 0 < est.metrics_["silhouette"] < 1 and 0 <= est.metrics_["stability"] <= 1


# --- estimator contract ----------------------------------------------------------------------
@pytest.mark.parametrize("params, match", [
    ({"n_clusters": 0}, "'n_clusters' parameter"),
    ({"n_clusters": "many"}, "'n_clusters' parameter"),
    ({"features": "raw"}, "'features' parameter"),
    ({"criterion": "gap"}, "'criterion' parameter"),
    ({"k_min": 5, "k_max": 3}, "'k_min' parameter"),
    ({"n_init": 0}, "'n_init' parameter"),
    ({"random_state": -1}, "'random_state' parameter"),
    ({"stability_resamples": -1}, "'stability_resamples' parameter"),
    ({"init": "kmeans"}, "'init' parameter"),
    ({"n_clusters": 3, "init": [[1, 1, 1], [2, 2, 2]]}, "must be 2"),
])
def test_invalid_params_raise_at_fit(params, match):
    est = RFMClusterer(**params)  # __init__ stores only
    with pytest.raises(ParameterError, match=match):
        est.fit(quantile_scores(50))


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


# --- profile_clusters ----------------------------------------------------------------------------
def test_profile_clusters_hand_computed():
    df = pd.DataFrame({
        schema.CUSTOMER_ID: [1, 2, 3, 4],
        schema.RECENCY: [10, 20, 300, 500],
        schema.FREQUENCY: [5, 7, 1, 2],
        schema.MONETARY: [100.0, 50.0, 10.0, 30.0],
        schema.REVENUE: [500.0, 350.0, 10.0, 60.0],
        schema.R_SCORE: [5, 4, 1, 2],
        schema.F_SCORE: [5, 5, 1, 2],
        schema.M_SCORE: [5, 4, 1, 3],
    })
    names = [("Champions", "Best."), ("Lost", "Gone."), ("Spare", "Empty.")]
    out = profile_clusters(df, np.array([0, 0, 1, 1]), names)
    assert out[schema.CLUSTER].tolist() == [0, 1, 2]
    assert out[schema.CLUSTER_NAME].tolist() == ["Champions", "Lost", "Spare"]
    assert out[cl.DESCRIPTION].tolist() == ["Best.", "Gone.", "Empty."]
    assert out[cl.CUSTOMERS].tolist() == [2, 2, 0]
    assert out[cl.CUSTOMER_SHARE].tolist() == [0.5, 0.5, 0.0]
    assert out[schema.REVENUE].tolist() == [850.0, 70.0, 0.0]
    np.testing.assert_allclose(out[cl.REVENUE_SHARE], [850 / 920, 70 / 920, 0.0])
    assert out["recency_mean"].tolist()[:2] == [15.0, 400.0]
    assert out["frequency_median"].tolist()[:2] == [6.0, 1.5]
    assert out["monetary_mean"].tolist()[:2] == [75.0, 20.0]
    assert out["r_score_mean"].tolist()[:2] == [4.5, 1.5]
    assert out["m_score_mean"].tolist()[:2] == [4.5, 2.0]
    assert np.isnan(out["recency_mean"].iloc[2])
    expected_cols = [schema.CLUSTER, schema.CLUSTER_NAME, cl.DESCRIPTION, cl.CUSTOMERS,
                     cl.CUSTOMER_SHARE, schema.REVENUE, cl.REVENUE_SHARE,
                     "recency_mean", "recency_median", "frequency_mean", "frequency_median",
                     "monetary_mean", "monetary_median", "r_score_mean", "f_score_mean",
                     "m_score_mean"]
    assert list(out.columns) == expected_cols


def test_profile_clusters_default_names_and_errors():
    df = customers(30)
    out = profile_clusters(df, np.arange(30) % 3)
    assert out[schema.CLUSTER_NAME].tolist() == ["Cluster 0", "Cluster 1", "Cluster 2"]
    assert out[schema.REVENUE].isna().all() and out["r_score_mean"].isna().all()
    assert cl.DESCRIPTION not in out.columns
    scored = df.assign(**{schema.R_SCORE: 4, schema.F_SCORE: np.arange(30) % 3 + 1,
                          schema.M_SCORE: 2.6})
    out = profile_clusters(scored, np.arange(30) % 3)
    assert out[schema.CLUSTER_NAME].tolist() == [  # Method Q's label
        "Cluster 0: r=4, f=1, m=3", "Cluster 1: r=4, f=2, m=3", "Cluster 2: r=4, f=3, m=3"]
    with pytest.raises(InputError, match="one entry per customer"):
        profile_clusters(df, [0, 1])
    with pytest.raises(InputError, match="only 2 names"):
        profile_clusters(df, np.arange(30) % 3, ["a", "b"])
    with pytest.raises(SchemaError, match="missing 'monetary'"):
        profile_clusters(df.drop(columns=schema.MONETARY), np.zeros(30, dtype=int))


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
    assert profile[cl.CUSTOMERS].sum() == len(df)
    assert profile[schema.CLUSTER_NAME].iloc[0] == "Champions"  # best first


@pytest.mark.slow
def test_method_p_elbow_over_1_to_14_picks_seven(method_p_data):
    est = RFMClusterer(k_min=1, k_max=14, criterion="elbow", init="random", n_init=10,
                       max_iter=500, random_state=12345, stability_resamples=0,
                       silhouette_sample_size=1000).fit(method_p_data)
    assert est.n_clusters_ == 7  # as the Method P notebook chose
    assert est.k_selection_[cl.K].tolist() == list(range(1, 15))
