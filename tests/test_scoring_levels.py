"""Tests of rfmkit.scoring.levels: percentile and bin scores mapped to integer levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import InputError, ParameterError
from rfmkit.scoring.levels import score_levels


def test_score_levels_of_percentile_scores():
    scores = pd.DataFrame({schema.R_SCORE: [0.0, 19.99, 20.0, 39.9, 40.0, 79.9, 80.0, 100.0]},
                          index=list("abcdefgh"))
    levels = score_levels(scores, 5)
    assert levels[schema.R_SCORE].tolist() == [1, 1, 2, 2, 3, 4, 5, 5]
    assert levels.index.tolist() == list("abcdefgh")
    assert score_levels(scores, 4)[schema.R_SCORE].tolist() == [1, 1, 1, 2, 2, 4, 4, 4]
    with pytest.raises(InputError, match=r"\[0, 100\]"):
        score_levels(pd.DataFrame({schema.R_SCORE: [101.0]}))


def test_score_levels_of_bin_scores():
    scores = pd.DataFrame({schema.F_SCORE: np.arange(1, 11)})
    assert score_levels(scores, 10)[schema.F_SCORE].tolist() == list(range(1, 11))
    assert score_levels(scores, 5, n_bins=10)[schema.F_SCORE].tolist() == [
        1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    with pytest.raises(ParameterError, match="multiple of n_levels"):
        score_levels(scores, 4, n_bins=10)
    with pytest.raises(InputError, match=r"1\.\.5"):
        score_levels(scores, 5)


def test_scores_whose_ties_merged_bins_are_spread_keeping_both_ends():
    from rfmkit.scoring.levels import spread_levels

    assert spread_levels(np.arange(1, 4), 3, 5).tolist() == [1, 3, 5]
    assert spread_levels(np.arange(1, 3), 2, 5).tolist() == [1, 5]
    assert spread_levels(np.arange(1, 5), 4, 5).tolist() == [1, 2, 4, 5]
    assert spread_levels(np.array([1, 1]), 1, 5).tolist() == [3, 3]
    assert spread_levels(np.arange(1, 6), 5, 5).tolist() == [1, 2, 3, 4, 5]
    assert spread_levels(np.arange(1, 7), 6, 10).tolist() == [1, 3, 5, 6, 8, 10]
    scores = pd.DataFrame({schema.R_SCORE: [1, 5, 3], schema.F_SCORE: [1, 3, 2]})
    levels = score_levels(scores, 5, realised={schema.F_SCORE: 3})
    assert levels[schema.F_SCORE].tolist() == [1, 5, 3]
    assert levels[schema.R_SCORE].tolist() == [1, 5, 3]  # not in realised: as it is
    # deciles with 6 realised levels: spread over 1..10, then grouped in pairs
    deciles = pd.DataFrame({schema.F_SCORE: [1, 2, 3, 4, 5, 6]})
    assert score_levels(deciles, 5, n_bins=10, realised={schema.F_SCORE: 6})[
        schema.F_SCORE].tolist() == [1, 2, 3, 3, 4, 5]
