"""Tests of rfmkit.scoring.codes: display codes such as "545"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.scoring.codes import rfm_code
from scoring_support import SCORES


def test_rfm_code():
    scores = pd.DataFrame({schema.R_SCORE: [5, 1], schema.F_SCORE: [4, 1],
                           schema.M_SCORE: [5, 3]}, index=["x", "y"])
    codes = rfm_code(scores)
    assert codes.tolist() == ["545", "113"]
    assert codes.name == schema.RFM_CODE and codes.index.tolist() == ["x", "y"]
    wide = pd.DataFrame({schema.R_SCORE: [10, 1], schema.F_SCORE: [3, 1], schema.M_SCORE: [7, 1]})
    assert rfm_code(wide).tolist() == ["10-3-7", "1-1-1"]
    assert rfm_code(scores, n_bins=12).tolist() == ["5-4-5", "1-1-3"]
    percent = pd.DataFrame({schema.R_SCORE: [100.0, 0.0], schema.F_SCORE: [55.0, 39.0],
                            schema.M_SCORE: [80.0, 20.0]})
    assert rfm_code(percent).tolist() == ["535", "122"]


def test_rfm_code_of_many_customers_matches_string_concatenation():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.integers(1, 6, size=(5000, 3)), columns=SCORES)
    expected = (scores[schema.R_SCORE].astype(str) + scores[schema.F_SCORE].astype(str)
                + scores[schema.M_SCORE].astype(str))
    assert rfm_code(scores).tolist() == expected.tolist()
