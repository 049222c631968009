"""Method Q: quantile bin edges learned per metric, and the bin scores they give.

Edges are the linearly interpolated percentiles ``0, 100/n, ..., 100`` of the (oriented,
capped) values; an edge within 1e-8 of its predecessor is dropped. A value's score is 1 + the
number of inner edges ``<=`` the value.
"""

from __future__ import annotations

import warnings

import numpy as np

from rfmkit.errors import CollapsedBinsWarning

__all__: list[str] = []  # private helpers of the scoring package

#: Edges closer than this to their predecessor are removed (scikit-learn's KBinsDiscretizer rule).
_MIN_BIN_WIDTH = 1e-8


def _quantile_edges(metric: str, values: np.ndarray, n_bins: int) -> tuple[np.ndarray, int]:
    """The bin edges of one metric's oriented, capped values and the realised number of bins.

    Warns with :class:`~rfmkit.errors.CollapsedBinsWarning`, pointing at the caller of
    ``RFMScorer.fit``, when ties merged bins.
    """
    edges = np.percentile(values, np.linspace(0, 100, n_bins + 1))
    edges = edges[np.ediff1d(edges, to_begin=np.inf) > _MIN_BIN_WIDTH]
    if len(edges) == 1:  # constant metric: one bin
        edges = np.repeat(edges, 2)
    realised = len(edges) - 1
    if realised < n_bins:
        warnings.warn(
            f"Ties in {metric!r} left {realised} distinct bin(s) instead of the "
            f"{n_bins} requested; {metric} scores run 1..{realised}. The realised "
            f"number is recorded in n_bins_[{metric!r}].",
            CollapsedBinsWarning,
            stacklevel=3,
        )
    return edges.astype("float64"), realised


def _scores_from_edges(edges: np.ndarray, n_bins: int, values: np.ndarray) -> np.ndarray:
    """Bin scores ``1..n_bins`` of oriented, capped values: 1 + #{inner edges <= value}."""
    inner = edges[1:-1]
    scores = 1 + np.searchsorted(inner, values, side="right")
    return np.clip(scores, 1, n_bins).astype("int64")
