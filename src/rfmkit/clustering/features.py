"""The clustering features: the three R, F, M columns read and checked, the log transform of the
metrics, which direction of each feature is better, and the best-first order of centres it gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError

__all__: list[str] = []  # private helpers of the clustering package

_FEATURE_COLUMNS = {"scores": schema.SCORE_COLUMNS, "log-metrics": schema.METRIC_COLUMNS}
# +1 where a higher feature value is better, -1 where lower is better (recency in days).
_ORIENTATION = {"scores": np.array([1.0, 1.0, 1.0]), "log-metrics": np.array([-1.0, 1.0, 1.0])}


def _raw_matrix(X: Any, features: str) -> np.ndarray:
    """The three raw feature columns of ``X`` as a float64 array (n, 3)."""
    columns = _FEATURE_COLUMNS[features]
    if isinstance(X, pd.DataFrame):
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise SchemaError(
                f"Clustering with features={features!r} needs the columns "
                f"{', '.join(map(repr, columns))}; missing {', '.join(map(repr, missing))}. "
                f"Columns found: {', '.join(map(repr, map(str, X.columns)))}."
            )
        try:
            arr = X.loc[:, list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"The columns {', '.join(map(repr, columns))} must be numeric ({exc})."
            ) from None
    else:
        if sp.issparse(X):
            raise InputError("Sparse input is not supported; pass a dense array or a DataFrame.")
        if np.iscomplexobj(X):
            raise InputError("Complex data are not supported; R, F and M features are real.")
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"Cannot read the clustering input as numbers ({exc}).") from None
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise InputError(
                f"Clustering input must be a DataFrame with the columns "
                f"{', '.join(map(repr, columns))} or an array of shape (n_customers, 3); got an "
                f"array of shape {arr.shape}."
            )
    if arr.shape[0] == 0:
        raise InputError("Clustering input has no rows; there are no customers to cluster.")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} of {arr.shape[0]} customers have a missing or infinite value in "
            f"{', '.join(map(repr, columns))}; remove or fill them before clustering."
        )
    return arr


def _log_metrics(raw: np.ndarray) -> np.ndarray:
    """log1p of recency, frequency and monetary (monetary clipped at 0 first)."""
    for j, name in ((0, schema.RECENCY), (1, schema.FREQUENCY)):
        if (raw[:, j] < 0).any():
            raise InputError(
                f"{int((raw[:, j] < 0).sum())} customers have a negative {name}; "
                f"features='log-metrics' needs {name} >= 0."
            )
    out = raw.copy()
    np.clip(out[:, 2], 0.0, None, out=out[:, 2])
    return np.log1p(out)


def _order_centers(centers: np.ndarray, orientation: np.ndarray) -> np.ndarray:
    """Centres sorted best first: by the sum of the oriented coordinates, then R, F, M."""
    oriented = centers * orientation
    value = oriented.sum(axis=1)
    keys = [np.arange(len(centers))] + [-oriented[:, j] for j in
                                        range(centers.shape[1] - 1, -1, -1)] + [-value]
    return centers[np.lexsort(keys)]
