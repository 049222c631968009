"""The parameters of RFMClusterer (and select_k): what each one accepts, as constraints checked by
:func:`rfmkit._validation.validate_params`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from rfmkit._validation import Interval, Options

__all__: list[str] = []  # private helpers of the clustering package


def _is_init_array(value: Any) -> bool:
    if isinstance(value, str):
        return False
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return arr.ndim == 2 and arr.shape[0] >= 1 and arr.shape[1] == 3 and bool(
        np.isfinite(arr).all())


class _InitArray:
    """Constraint: an array-like of finite initial centres of shape (n_clusters, 3)."""

    def __call__(self, value: Any) -> bool:
        return _is_init_array(value)

    def __str__(self) -> str:
        return "an array-like of finite initial centres of shape (n_clusters, 3)"


class _InitName(Options):
    """Options for a parameter that may also be an array (``Options`` compares with ``in``,
    which is ambiguous for numpy arrays)."""

    def __call__(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values


#: The most clusters (n_clusters, k_min, k_max): more segments than anyone can act on, and a
#: search up to k_max=10**6 would run for days.
MAX_CLUSTERS = 100

_PARAMETER_CONSTRAINTS: dict[str, list] = {
    "n_clusters": [Options("auto"), Interval(numbers.Integral, 1, MAX_CLUSTERS)],
    "features": [Options("scores", "log-metrics")],
    "k_min": [Interval(numbers.Integral, 1, MAX_CLUSTERS)],
    "k_max": [Interval(numbers.Integral, 1, MAX_CLUSTERS)],
    "criterion": [Options("auto", "silhouette", "elbow")],
    "init": [_InitName("k-means++", "random"), _InitArray()],
    "n_init": [Interval(numbers.Integral, 1, None)],
    "max_iter": [Interval(numbers.Integral, 1, None)],
    "random_state": [None, Interval(numbers.Integral, 0, 2**32 - 1)],
    "silhouette_sample_size": [Interval(numbers.Integral, 2, None)],
    "stability_resamples": [Interval(numbers.Integral, 0, None)],
}
