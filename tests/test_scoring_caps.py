"""Tests of rfmkit.scoring.caps: fixed and quantile caps, and the checks of the caps parameter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import ParameterError
from rfmkit.scoring.scorer import RFMScorer
from scoring_support import fit_quiet, tie_heavy, tiny_customers


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores: see scoring_support.tiny_customers."""
    return tiny_customers()


def test_fixed_and_quantile_caps(tiny):
    scorer = fit_quiet(RFMScorer(caps={schema.FREQUENCY: 3, schema.MONETARY: "q0.5"}), tiny)
    assert scorer.caps_ == {schema.FREQUENCY: 3.0, schema.MONETARY: 55.0}
    # monetary capped at 55: sorted 10 20 30 40 50 55 55 55 55 55 -> edges 10 28 46 55 55 55
    np.testing.assert_allclose(scorer.bin_edges_[schema.MONETARY], [10, 28, 46, 55])
    assert scorer.n_bins_[schema.MONETARY] == 3
    # frequency capped at 3: 1 1 1 1 2 2 3 3 3 3 -> edges 1, (1), 1.6, 2.4, 3, (3)
    np.testing.assert_allclose(scorer.bin_edges_[schema.FREQUENCY], [1, 1.6, 2.4, 3])
    new = pd.DataFrame(
        {schema.RECENCY: [0, 0], schema.FREQUENCY: [3, 300], schema.MONETARY: [55.0, 1e6]}
    )
    scores = scorer.transform(new)
    assert scores[schema.F_SCORE].tolist() == [3, 3]
    assert scores[schema.M_SCORE].tolist() == [3, 3]


def test_quantile_cap_uses_numpy_linear_quantile():
    X = tie_heavy(5)
    scorer = fit_quiet(RFMScorer(caps={schema.MONETARY: "q0.99", schema.RECENCY: "q.9"}), X)
    assert scorer.caps_[schema.MONETARY] == np.quantile(X[schema.MONETARY], 0.99)
    assert scorer.caps_[schema.RECENCY] == np.quantile(X[schema.RECENCY], 0.9)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"caps": [30]}, "'caps' parameter"),
        ({"caps": {"freq": 30}}, "unknown metric 'freq'"),
        ({"caps": {schema.MONETARY: "p99"}}, "invalid quantile cap 'p99'"),
        ({"caps": {schema.MONETARY: "q1.5"}}, "invalid quantile cap"),
        ({"caps": {schema.MONETARY: "q0"}}, "invalid quantile cap"),
        ({"caps": {schema.MONETARY: float("inf")}}, "finite number"),
        ({"caps": {schema.MONETARY: None}}, "finite number"),
        ({"caps": {schema.MONETARY: -5.0}}, r"give 'monetary' a cap > 0. Got -5.0 instead"),
        ({"caps": {schema.MONETARY: 0}}, r"'monetary' a cap > 0. Got 0 instead"),
        ({"caps": {schema.FREQUENCY: 0}}, r"'frequency' a cap >= 1. Got 0 instead"),
        ({"caps": {schema.FREQUENCY: 0.5}}, r"'frequency' a cap >= 1. Got 0.5 instead"),
        ({"caps": {schema.RECENCY: 0}}, r"'recency' a cap > 0. Got 0 instead"),
    ],
)
def test_caps_are_checked_at_fit(tiny, params, match):
    scorer = RFMScorer(**params)  # __init__ only stores
    with pytest.raises(ParameterError, match=match):
        scorer.fit(tiny)


def test_the_smallest_sensible_caps_are_accepted(tiny):
    """A frequency cap of 1 and tiny positive caps are legal (if odd): only caps that would
    make every value equal by construction are refused."""
    scorer = fit_quiet(RFMScorer(caps={schema.FREQUENCY: 1, schema.MONETARY: 1e-9,
                                       schema.RECENCY: 0.5}), tiny)
    assert scorer.caps_ == {schema.FREQUENCY: 1.0, schema.MONETARY: 1e-9, schema.RECENCY: 0.5}
