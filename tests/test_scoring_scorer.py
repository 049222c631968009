"""Tests of rfmkit.scoring.scorer: the RFMScorer estimator, its checks and scikit-learn contract."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from rfmkit import schema
from rfmkit.errors import CollapsedBinsWarning, InputError, ParameterError
from rfmkit.scoring.scorer import RFMScorer
from scoring_support import SCORES, fit_quiet, tiny_customers


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores: see scoring_support.tiny_customers."""
    return tiny_customers()


def test_fewer_customers_than_bins(tiny):
    with pytest.raises(InputError, match=r"Only 3 customers but n_bins=5.*fewer bins \(n_bins=\)"):
        RFMScorer().fit(tiny.head(3))


def test_empty_table():
    X = pd.DataFrame({c: pd.Series([], dtype=float) for c in schema.METRIC_COLUMNS})
    with pytest.raises(InputError, match="empty"):
        RFMScorer(method="percentile").fit(X)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_bins": 1}, r"'n_bins' parameter of RFMScorer must be an int >= 2. Got 1"),
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
