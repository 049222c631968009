"""Scores of either method mapped to integer levels ``1..n_levels``."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.errors import InputError, ParameterError, SchemaError

__all__ = ["score_levels", "spread_levels"]


def _score_frame(scores: pd.DataFrame, *, need_all: bool) -> list[str]:
    if not isinstance(scores, pd.DataFrame):
        raise InputError(f"Expected a DataFrame of scores; got {type(scores).__name__}.")
    present = [c for c in schema.SCORE_COLUMNS if c in scores.columns]
    if (need_all and len(present) < len(schema.SCORE_COLUMNS)) or not present:
        missing = [c for c in schema.SCORE_COLUMNS if c not in scores.columns]
        raise SchemaError(
            f"Missing score column(s) {', '.join(map(repr, missing))}. "
            f"Columns found: {', '.join(map(repr, map(str, scores.columns)))}. "
            "Score the customers with RFMScorer first."
        )
    for column in present:
        if scores[column].isna().any():
            raise InputError(f"Score column {column!r} has missing values.")
    return present


def spread_levels(values: np.ndarray, realised: int, n_bins: int) -> np.ndarray:
    """Scores ``1..realised`` of a metric whose ties merged bins, spread over ``1..n_bins``
    keeping both ends: the lowest realised score stays 1, the highest becomes ``n_bins``, the
    rest in between (rounded; 3 of 5 are 1, 3, 5; 2 of 5 are 1, 5); one level is the middle.
    Merged bins are not equal quantiles, so the top realised score is the top, not a middle."""
    if realised >= n_bins:
        return values
    if realised <= 1:
        return np.full_like(values, (n_bins + 1) // 2)
    # exact integers: floor(1 + (s - 1)(N - 1)/(n - 1) + 1/2)
    return 1 + (2 * (values - 1) * (n_bins - 1) + (realised - 1)) // (2 * (realised - 1))


def score_levels(scores: pd.DataFrame, n_levels: int = 5, *, n_bins: int | None = None,
                 realised: dict[str, int] | None = None):
    """Map scores of either method to integer levels ``1..n_levels``.

    The scale is read from the dtype, which :class:`RFMScorer` fixes per method:

    * float columns are percentile scores in ``[0, 100]``: level ``k`` holds scores in
      ``[100 (k-1) / n, 100 k / n)``, i.e. ``min(n, floor(score * n / 100) + 1)``; 100 is in
      the top level.
    * integer columns are bin scores ``1..n_bins`` (``n_bins`` defaults to ``n_levels``): the
      identity when ``n_bins == n_levels``; when ``n_bins`` is a multiple of ``n_levels`` each
      level groups ``n_bins / n_levels`` consecutive bins: ``ceil(score * n_levels / n_bins)``.
      Other combinations raise, since some levels would get more bins than others.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :meth:`RFMScorer.transform`; every present score column is converted.
    n_levels : int, default=5
        Number of levels.
    n_bins : int or None, default=None
        Scale of integer scores; ``None`` means ``n_levels``.
    realised : dict or None, default=None
        Realised levels per score column (``{"f_score": 3}``) where ties left fewer than
        ``n_bins`` (:attr:`RFMScorer.n_bins_`): those scores are spread over ``1..n_bins``
        first (:func:`spread_levels`), so a metric's top customers reach the top level.

    Returns
    -------
    levels : pandas.DataFrame
        Same index and score columns, int64 levels ``1..n_levels``.
    """
    if isinstance(n_levels, bool) or not isinstance(n_levels, numbers.Integral) or n_levels < 1:
        raise ParameterError(f"n_levels must be an int >= 1. Got {n_levels!r} instead.")
    present = _score_frame(scores, need_all=False)
    n_bins = n_levels if n_bins is None else n_bins
    out = {}
    for column in present:
        series = scores[column]
        values = series.to_numpy(dtype="float64")
        if pd.api.types.is_float_dtype(series.dtype):
            if values.min() < 0 or values.max() > 100:
                raise InputError(
                    f"Percentile scores in {column!r} must lie in [0, 100]; found values from "
                    f"{values.min()} to {values.max()}."
                )
            levels = np.minimum(np.floor(values * n_levels / 100) + 1, n_levels)
        elif pd.api.types.is_integer_dtype(series.dtype):
            if values.min() < 1 or values.max() > n_bins:
                raise InputError(
                    f"Bin scores in {column!r} must lie in 1..{n_bins}; found values from "
                    f"{int(values.min())} to {int(values.max())}. Pass the scorer's n_bins."
                )
            if n_bins % n_levels:
                raise ParameterError(
                    f"Cannot map bin scores 1..{n_bins} to {n_levels} levels evenly: n_bins must "
                    f"be a multiple of n_levels. Score with n_bins={n_levels} (or a multiple)."
                )
            if realised and column in realised:
                values = spread_levels(values.astype("int64"), int(realised[column]), n_bins)
            levels = np.ceil(values * n_levels / n_bins)
        else:
            raise InputError(
                f"Score column {column!r} has dtype {series.dtype}; expected integer bin scores "
                "or float percentile scores."
            )
        out[column] = levels.astype("int64")
    return pd.DataFrame(out, index=scores.index)
