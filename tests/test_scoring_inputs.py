"""Tests of rfmkit.scoring.inputs: the metric columns a scorer reads, and their checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError
from rfmkit.scoring.scorer import RFMScorer
from scoring_support import SCORES, fit_quiet, tiny_customers


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores: see scoring_support.tiny_customers."""
    return tiny_customers()


def test_missing_values_name_column_and_customers(tiny):
    X = tiny.copy()
    X.loc[[12, 15], schema.MONETARY] = np.nan
    with pytest.raises(InputError, match=r"'monetary' has 2 missing.*'c2', 'c5'"):
        RFMScorer().fit(X)
    scorer = fit_quiet(RFMScorer(), tiny)
    with pytest.raises(InputError, match=r"'monetary'.*rows 12, 15"):
        scorer.transform(X.drop(columns=schema.CUSTOMER_ID))


def test_missing_and_non_numeric_columns(tiny):
    with pytest.raises(SchemaError, match=r"Missing column\(s\) 'frequency'.*'customer_id'"):
        RFMScorer().fit(tiny.drop(columns=schema.FREQUENCY))
    with pytest.raises(SchemaError, match="'recency' must be numeric"):
        RFMScorer().fit(tiny.assign(**{schema.RECENCY: "x"}))


def test_array_input_in_metric_order(tiny):
    scorer = fit_quiet(RFMScorer(), tiny)
    from_array = fit_quiet(RFMScorer(), tiny[list(schema.METRIC_COLUMNS)].to_numpy())
    np.testing.assert_array_equal(
        from_array.transform(tiny[list(schema.METRIC_COLUMNS)].to_numpy()).to_numpy(),
        scorer.transform(tiny)[SCORES].to_numpy(),
    )
    with pytest.raises(InputError, match="shape"):
        RFMScorer().fit(np.zeros((10, 2)))
