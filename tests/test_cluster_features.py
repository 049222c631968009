"""Tests of rfmkit.clustering.features: the feature matrix, the log-metrics transform and the
best-first order of centres."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from cluster_support import METRICS, customers, quantile_scores, score_frame
from rfmkit import schema
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.clustering.features import _ORIENTATION, _order_centers
from rfmkit.errors import InputError, SchemaError


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread():
    # the reference KMeans fits too: OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


# --- ordering, features ------------------------------------------------------------------------
def test_cluster_ids_are_best_first():
    X = quantile_scores(2000, 6)
    est = RFMClusterer(6, stability_resamples=0).fit(score_frame(X))
    sums = est.cluster_centers_.sum(axis=1)
    assert np.all(np.diff(sums) <= 0)
    # ties are broken by R then F then M, higher first
    C = np.array([[1.0, 3.0, 2.0], [3.0, 1.0, 2.0], [2.0, 2.0, 2.0], [9.0, 9.0, 9.0]])
    np.testing.assert_array_equal(_order_centers(C, np.ones(3)), C[[3, 1, 2, 0]])


def test_log_metrics_ordering_treats_recency_as_lower_is_better():
    C = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])  # standardised log recency
    np.testing.assert_array_equal(_order_centers(C, _ORIENTATION["log-metrics"]),
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
