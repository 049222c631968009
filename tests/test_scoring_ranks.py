"""Tests of rfmkit.scoring.ranks: Method P percentile scores, by hand and against pandas ranks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import ConstantMetricWarning
from rfmkit.scoring.scorer import RFMScorer
from scoring_support import SCORES, tie_heavy, tiny_customers


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores: see scoring_support.tiny_customers."""
    return tiny_customers()


def test_percentile_scores_match_hand_computation(tiny):
    scorer = RFMScorer(method="percentile").fit(tiny)
    scores = scorer.transform(tiny)
    assert all(dtype == np.float64 for dtype in scores.dtypes)
    # recency ranked descending: 365->1, 200->2, 90->3, 30x3->5, 10->7, 3x2->8.5, 0->10
    # (rank / 10 * 100 is not always exact in floating point, hence approx)
    assert scores[schema.R_SCORE].tolist() == pytest.approx(
        [100, 85, 85, 70, 50, 50, 50, 30, 20, 10], abs=1e-12)
    # frequency: 1x4->2.5, 2x2->5.5, 3->7, 4->8, 5->9, 8->10
    assert scores[schema.F_SCORE].tolist() == pytest.approx(
        [25, 25, 25, 25, 55, 55, 70, 80, 90, 100], abs=1e-12)
    assert scores[schema.M_SCORE].tolist() == pytest.approx(
        [30, 10, 100, 20, 50, 90, 40, 70, 60, 80], abs=1e-12)
    assert scorer.max_rank_ == {schema.RECENCY: 10.0, schema.FREQUENCY: 10.0,
                                schema.MONETARY: 10.0}
    assert scorer.rank_values_[schema.RECENCY].tolist() == [-365, -200, -90, -30, -10, -3, 0]
    assert scorer.rank_counts_[schema.FREQUENCY].tolist() == [4, 2, 1, 1, 1, 1]


def test_percentile_max_rank_with_ties_at_the_top():
    X = pd.DataFrame({schema.RECENCY: [0, 0, 9], schema.FREQUENCY: [5, 5, 1],
                      schema.MONETARY: [1.0, 2.0, 3.0]})
    scores = RFMScorer(method="percentile").fit_transform(X)
    # ranks 2.5, 2.5, 1 over max rank 2.5
    assert scores[schema.R_SCORE].tolist() == [100, 100, 40]
    assert scores[schema.F_SCORE].tolist() == [100, 100, 40]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_percentile_equals_pandas_average_rank(seed):
    X = tie_heavy(seed)
    scorer = RFMScorer(method="percentile").fit(X)
    scores = scorer.transform(X)
    for metric, column in zip(schema.METRIC_COLUMNS, SCORES, strict=True):
        rank = X[metric].rank(method="average", ascending=metric != schema.RECENCY)
        expected = rank / rank.max() * 100
        np.testing.assert_array_equal(scores[column].to_numpy(), expected.to_numpy())


def test_percentile_unseen_values_get_a_mid_rank():
    X = pd.DataFrame({schema.RECENCY: [1, 2, 3, 4], schema.FREQUENCY: [1, 2, 3, 4],
                      schema.MONETARY: [1.0, 2.0, 2.0, 4.0]})
    scorer = RFMScorer(method="percentile").fit(X)
    new = pd.DataFrame({schema.RECENCY: [2.5, 0, 10], schema.FREQUENCY: [2.5, 0, 10],
                        schema.MONETARY: [2.0, 3.0, 5.0]})
    scores = scorer.transform(new)
    # frequency: 2.5 -> rank 2 + 0.5; 0 -> rank 0.5; 10 -> rank 4.5, clipped to 100
    assert scores[schema.F_SCORE].tolist() == [62.5, 12.5, 100.0]
    # recency is ranked descending: 2.5 has 2 worse values (3, 4) -> 2.5; 0 beats all -> 4.5
    assert scores[schema.R_SCORE].tolist() == [62.5, 100.0, 12.5]
    # monetary 2.0 was seen twice: average rank 2.5; 3.0 unseen: 3 below + 0.5
    assert scores[schema.M_SCORE].tolist() == [62.5, 87.5, 100.0]


def test_percentile_with_fewer_customers_than_bins_is_fine():
    """One customer: every metric is constant, so every score is the middle (50), as in Method
    Q (3 of 5), with one ConstantMetricWarning per metric."""
    X = pd.DataFrame({schema.RECENCY: [3], schema.FREQUENCY: [1], schema.MONETARY: [9.0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = RFMScorer(method="percentile").fit_transform(X)
    assert scores.iloc[0].tolist() == [50, 50, 50]
    assert [w.category for w in caught] == [ConstantMetricWarning] * 3
