"""Tests of rfmkit.clustering.profiles: profile_clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cluster_support import customers
from rfmkit import schema
from rfmkit.clustering.profiles import (
    CUSTOMER_SHARE,
    CUSTOMERS,
    DESCRIPTION,
    REVENUE_SHARE,
    profile_clusters,
)
from rfmkit.errors import InputError, SchemaError


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
    assert out[DESCRIPTION].tolist() == ["Best.", "Gone.", "Empty."]
    assert out[CUSTOMERS].tolist() == [2, 2, 0]
    assert out[CUSTOMER_SHARE].tolist() == [0.5, 0.5, 0.0]
    assert out[schema.REVENUE].tolist() == [850.0, 70.0, 0.0]
    np.testing.assert_allclose(out[REVENUE_SHARE], [850 / 920, 70 / 920, 0.0])
    assert out["recency_mean"].tolist()[:2] == [15.0, 400.0]
    assert out["frequency_median"].tolist()[:2] == [6.0, 1.5]
    assert out["monetary_mean"].tolist()[:2] == [75.0, 20.0]
    assert out["r_score_mean"].tolist()[:2] == [4.5, 1.5]
    assert out["m_score_mean"].tolist()[:2] == [4.5, 2.0]
    assert np.isnan(out["recency_mean"].iloc[2])
    expected_cols = [schema.CLUSTER, schema.CLUSTER_NAME, DESCRIPTION, CUSTOMERS,
                     CUSTOMER_SHARE, schema.REVENUE, REVENUE_SHARE,
                     "recency_mean", "recency_median", "frequency_mean", "frequency_median",
                     "monetary_mean", "monetary_median", "r_score_mean", "f_score_mean",
                     "m_score_mean"]
    assert list(out.columns) == expected_cols


def test_profile_clusters_default_names_and_errors():
    df = customers(30)
    out = profile_clusters(df, np.arange(30) % 3)
    assert out[schema.CLUSTER_NAME].tolist() == ["Cluster 0", "Cluster 1", "Cluster 2"]
    assert out[schema.REVENUE].isna().all() and out["r_score_mean"].isna().all()
    assert DESCRIPTION not in out.columns
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
