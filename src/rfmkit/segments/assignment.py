"""Segment assignment: each customer's score levels to the first matching rule of a map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError, SegmentMapError
from rfmkit.segments.audit import _cell_text
from rfmkit.segments.loading import load_segment_map
from rfmkit.segments.map import SegmentMap
from rfmkit.segments.rules import _fm, _is_int

__all__ = ["assign_segments", "check_map_levels", "rescale_levels"]

_AXIS_SCORE = {"r": schema.R_SCORE, "f": schema.F_SCORE, "m": schema.M_SCORE}


def _map_levels(scores: pd.DataFrame, axis: str, n_levels: int, map_levels: int) -> np.ndarray:
    column = _AXIS_SCORE[axis]
    if column not in scores.columns:
        raise SchemaError(
            f"Missing score column {column!r} for segment assignment. Columns found: "
            f"{', '.join(map(repr, map(str, scores.columns)))}."
        )
    series = scores[column]
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise InputError(f"Score column {column!r} must be numeric; got dtype {series.dtype}.")
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 1) | (values > n_levels)
    if bad.any():
        example = values[bad][0]
        raise InputError(
            f"Score column {column!r} must hold integer levels 1..{n_levels}; found {example:g} "
            f"({int(bad.sum())} bad value(s)). Convert percentile scores (0..100) with "
            "rfmkit.score_levels first, and pass the number of score levels as n_levels."
        )
    return rescale_levels(values.astype("int64"), n_levels, map_levels)


def rescale_levels(levels: np.ndarray, n_levels: int, map_levels: int) -> np.ndarray:
    """Score levels ``1..n_levels`` as the levels ``1..map_levels`` of a map, by quantile
    position: score ``s`` covers the quantiles ((s-1)/n, s/n] and goes to the map level whose
    range holds their middle, ``floor((2s - 1) L / 2n) + 1`` (exact integers; a middle on a
    boundary goes up). With n a multiple of L this groups n / L consecutive scores per level
    (10 deciles: 1-2 -> 1, ..., 9-10 -> 5); 3 levels on a 5-level map are 1, 3, 5; 7 are
    1, 2, 2, 3, 4, 4, 5."""
    if n_levels == map_levels:
        return levels
    return ((2 * levels - 1) * map_levels) // (2 * n_levels) + 1


def check_map_levels(segment_map: SegmentMap, n_levels: int) -> None:
    """Raise SegmentMapError unless scores on ``n_levels`` levels can be read by the map
    (checked before any data is read). Any number of levels can: they are rescaled to the
    map's by quantile position (:func:`rescale_levels`)."""
    if not _is_int(n_levels) or n_levels < 1:
        raise SegmentMapError(f"n_levels must be a positive int. Got {n_levels!r} instead.")


def assign_segments(
    scores: pd.DataFrame, segment_map: SegmentMap | str, *, n_levels: int
) -> pd.Series:
    """Name each customer's segment: the first rule of ``segment_map`` that matches.

    Parameters
    ----------
    scores : pandas.DataFrame
        Integer score levels ``1..n_levels`` in ``r_score``, ``f_score``, ``m_score``. Only the
        columns of the map's grid (:attr:`SegmentMap.axes`; ``fm`` needs f and m) are needed.
        Convert percentile scores with :func:`rfmkit.score_levels` first.
    segment_map : SegmentMap or str
        A map, or a name/path for :func:`load_segment_map`.
    n_levels : int
        Number of score levels. When it differs from ``segment_map.levels`` the levels are
        rescaled to the map's by quantile position (:func:`rescale_levels`).

    Returns
    -------
    segments : pandas.Series
        Named ``segment``, indexed like ``scores``; a categorical whose categories are the
        map's segments in rule order (fallback last), so empty segments are kept.

    Raises
    ------
    rfmkit.errors.SegmentMapError
        The score scale cannot be mapped, or customers fall in cells no rule matches and the map
        has no fallback (the message lists those cells and their customer counts).
    """
    segment_map = load_segment_map(segment_map)
    check_map_levels(segment_map, n_levels)
    L = segment_map.levels
    if not isinstance(scores, pd.DataFrame):
        raise InputError(f"Expected a DataFrame of scores; got {type(scores).__name__}.")
    # The columns of the map's natural grid are required (fm needs f and m), even when no rule
    # constrains one of them, so that error messages show real cells.
    needed = {"r", *("f" if axis == "fm" else axis for axis in segment_map.axes)}
    if "fm" in segment_map.axes:
        needed.add("m")
    size = len(scores)
    levels = {
        axis: _map_levels(scores, axis, n_levels, L) if axis in needed
        else np.ones(size, dtype="int64")
        for axis in ("r", "f", "m")
    }
    flat = ((levels["r"] - 1) * L + (levels["f"] - 1)) * L + (levels["m"] - 1)
    codes = segment_map._cube[flat]
    if (codes < 0).any():
        raise SegmentMapError(_unmatched_message(segment_map, levels, codes < 0))
    categorical = pd.Categorical.from_codes(codes, categories=list(segment_map.segment_names))
    return pd.Series(categorical, index=scores.index, name=schema.SEGMENT)


def _unmatched_message(segment_map: SegmentMap, levels: dict, unmatched: np.ndarray) -> str:
    axes = segment_map.axes
    values = {**levels, "fm": _fm(levels["f"], levels["m"])}
    cells = np.column_stack([values[a][unmatched] for a in axes])
    unique, counts = np.unique(cells, axis=0, return_counts=True)
    listed = ", ".join(
        f"{_cell_text(tuple(cell.tolist()))} ({count} customer{'s' if count != 1 else ''})"
        for cell, count in list(zip(unique, counts, strict=True))[:20]
    )
    more = f", ... ({len(unique) - 20} more cells)" if len(unique) > 20 else ""
    return (
        f"Segment map {segment_map.name!r} has no fallback and no rule for {len(unique)} score "
        f"cell(s) ({','.join(axes)}) holding {int(unmatched.sum())} customers: {listed}{more}. "
        "Add rules covering these cells or set a fallback segment (e.g. fallback: Others); "
        "'rfmkit segments check' lists every uncovered cell."
    )

