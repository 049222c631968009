"""The metric columns a scorer reads, checked, and their "higher is better" orientation.

Recency is negated before anything is learned, so that a higher score is always better. That
negation happens in exactly one place, :func:`_oriented`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError

__all__ = ["NEGATED_METRICS"]  # the rest: private helpers of the scoring package

_METRICS = schema.METRIC_COLUMNS
#: Metrics where fewer is better; they are negated before binning or ranking.
NEGATED_METRICS = (schema.RECENCY,)


def _oriented(metric: str, values: np.ndarray) -> np.ndarray:
    """Return ``values`` on the "higher is better" scale: recency is negated, others unchanged."""
    return -values if metric in NEGATED_METRICS else values


def _few_ids(X: pd.DataFrame, bad: np.ndarray, limit: int = 5) -> str:
    positions = np.flatnonzero(bad)[:limit]
    if schema.CUSTOMER_ID in X.columns:
        labels = X[schema.CUSTOMER_ID].iloc[positions].tolist()
        what = "customers"
    else:
        labels = X.index[positions].tolist()
        what = "rows"
    more = ", ..." if bad.sum() > limit else ""
    return f"{what} {', '.join(repr(v) for v in labels)}{more}"


def _metric_arrays(X: Any) -> dict[str, np.ndarray]:
    """Read the three metric columns of ``X`` as float64 arrays, refusing missing or bad values.

    ``X`` is a DataFrame with the canonical metric columns (other columns are ignored), or a 2-D
    array-like with exactly three columns in the order recency, frequency, monetary.
    """
    if not isinstance(X, pd.DataFrame):
        array = np.asarray(X)
        if array.ndim != 2 or array.shape[1] != len(_METRICS):
            raise InputError(
                "RFMScorer needs a DataFrame with columns "
                f"{', '.join(map(repr, _METRICS))} (or a 2-D array with exactly these three "
                f"columns, in this order). Got an array of shape {array.shape}."
            )
        X = pd.DataFrame(array, columns=list(_METRICS))
    missing = [c for c in _METRICS if c not in X.columns]
    if missing:
        raise SchemaError(
            f"Missing column(s) {', '.join(map(repr, missing))} for RFM scoring. "
            f"Columns found: {', '.join(map(repr, map(str, X.columns)))}. "
            "Compute the customer table first (rfmkit.compute_rfm) or rename the columns."
        )
    arrays = {}
    for metric in _METRICS:
        column = X[metric]
        if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
            column.dtype
        ):
            raise SchemaError(
                f"Column {metric!r} must be numeric; got dtype {column.dtype}. "
                "Convert it to numbers before scoring."
            )
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(
                f"Column {metric!r} has {int(bad.sum())} missing or infinite value(s), for "
                f"{_few_ids(X, bad)}. Remove these customers or fill the values before scoring."
            )
        arrays[metric] = values
    return arrays
