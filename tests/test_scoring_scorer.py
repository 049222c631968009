"""Tests of rfmkit.scoring.scorer: the RFMScorer estimator, its checks and scikit-learn contract."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from rfmkit import schema
from rfmkit.errors import (
    CollapsedBinsWarning,
    ConstantMetricWarning,
    InputError,
    ParameterError,
    SmallDataWarning,
)
from rfmkit.scoring.scorer import MAX_BINS, RFMScorer
from scoring_support import SCORES, fit_quiet, tiny_customers


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores: see scoring_support.tiny_customers."""
    return tiny_customers()


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_fewer_customers_than_bins_are_scored_with_a_warning(tiny, n):
    """A small shop or a fixture must work: scores degrade (gaps, or the middle score for a
    single customer), with a SmallDataWarning naming the fix."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scorer = RFMScorer().fit(tiny.head(n))
    small = [w for w in caught if issubclass(w.category, SmallDataWarning)]
    assert len(small) == 1
    assert f"Only {n} customer" in str(small[0].message) and "n_bins=5" in str(small[0].message)
    scores = scorer.transform(tiny.head(n))
    assert scores.isin(range(1, 6)).all().all()
    if n == 1:  # every metric constant: the middle score
        assert scores.iloc[0].tolist() == [3, 3, 3]
        assert all(issubclass(w.category, ConstantMetricWarning) for w in caught
                   if w.category is not SmallDataWarning)
    else:  # the best customer scores 5, the worst 1, on each metric that varies
        assert scores[schema.M_SCORE].max() == 5 and scores[schema.M_SCORE].min() == 1


def test_percentile_scores_of_a_constant_metric_are_the_middle(tiny):
    X = tiny.assign(**{schema.RECENCY: 7})
    with pytest.warns(ConstantMetricWarning, match=r"same recency \(7\).*middle score 50"):
        scorer = RFMScorer(method="percentile").fit(X)
    assert set(scorer.transform(X)[schema.R_SCORE]) == {50.0}
    assert set(scorer.transform(X.assign(**{schema.RECENCY: 0}))[schema.R_SCORE]) == {50.0}
    assert scorer.transform(X)[schema.M_SCORE].max() == 100.0


def test_n_bins_has_a_maximum(tiny):
    """n_bins=1000 gave 0 Champions silently (ties collapse nearly every bin, and a 5-level map
    reads the few left as its lowest level); above MAX_BINS (20) it is refused."""
    assert MAX_BINS == 20
    with pytest.raises(ParameterError, match=r"'n_bins' parameter of RFMScorer must be an int "
                       r">= 2 and <= 20. Got 1000 instead"):
        RFMScorer(1000).fit(tiny)


def test_empty_table():
    X = pd.DataFrame({c: pd.Series([], dtype=float) for c in schema.METRIC_COLUMNS})
    with pytest.raises(InputError, match="empty"):
        RFMScorer(method="percentile").fit(X)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_bins": 1}, r"'n_bins' parameter of RFMScorer must be an int >= 2 and <= 20. Got 1"),
        ({"n_bins": 2.5}, "'n_bins'"),
        ({"n_bins": True}, "'n_bins'"),
        ({"method": "ntile"}, r"'method' parameter of RFMScorer must be one of"),
    ],
)
def test_parameters_are_checked_at_fit(tiny, params, match):
    scorer = RFMScorer(**params)  # __init__ only stores
    with pytest.raises(ParameterError, match=match):
        scorer.fit(tiny)


def test_sklearn_contract(tiny):
    scorer = RFMScorer(3, method="quantile", caps={schema.MONETARY: 50})
    assert scorer.get_params() == {"n_bins": 3, "method": "quantile",
                                   "caps": {schema.MONETARY: 50}}
    assert not [k for k in vars(scorer) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        scorer.transform(tiny)
    assert fit_quiet(scorer, tiny) is scorer
    assert scorer.get_feature_names_out().tolist() == SCORES
    assert scorer.n_features_in_ == 3
    assert scorer.feature_names_in_.tolist() == list(schema.METRIC_COLUMNS)
    fresh = clone(scorer)
    assert fresh.get_params() == scorer.get_params() and not hasattr(fresh, "bin_edges_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedBinsWarning)
        assert scorer.fit_transform(tiny).equals(scorer.transform(tiny))


def test_documented_attributes_are_exactly_the_fitted_ones(tiny):
    doc = RFMScorer.__doc__
    section = doc[doc.index("Attributes\n    ----------"):doc.index("See Also")]
    documented = {line.split(" : ")[0].strip() for line in section.splitlines()
                  if " : " in line and line.startswith("    ") and not line.startswith("     ")}
    for method in ("quantile", "percentile"):
        scorer = fit_quiet(RFMScorer(method=method), tiny)
        fitted = {k for k in vars(scorer) if k.endswith("_") and not k.startswith("_")}
        assert fitted == documented
