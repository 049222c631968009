"""Tests of rfmkit.clustering.params: invalid RFMClusterer parameters raise at fit."""

from __future__ import annotations

import pytest

from cluster_support import quantile_scores
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.errors import ParameterError


# --- parameter constraints -----------------------------------------------------------------------
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
