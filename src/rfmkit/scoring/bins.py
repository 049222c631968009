"""Method Q: quantile bin edges learned per metric, and the bin scores they give.

Edges are the linearly interpolated percentiles ``0, 100/n, ..., 100`` of the (oriented,
capped) values; an edge within 1e-8 of its predecessor is dropped. A value's score is 1 + the
number of inner edges ``<=`` the value. A metric that is constant at fit cannot rank anyone:
every customer gets the middle score :func:`_constant_score` (the lowest would call them all the
worst, e.g. label today's buyers Lost when every purchase is on one day).
"""

from __future__ import annotations

import warnings

import numpy as np

from rfmkit.errors import CollapsedBinsWarning, ConstantMetricWarning
from rfmkit.scoring.inputs import NEGATED_METRICS

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
        _warn_constant(metric, edges[0], f"{_constant_score(n_bins)} of 1..{n_bins}",
                       recorded=f" (n_bins_[{metric!r}] is 1)")
        return edges.astype("float64"), 1
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


def _warn_constant(metric: str, value: float, score: str, recorded: str = "", *,
                   stacklevel: int = 4) -> None:
    """Warn, pointing at the caller of ``RFMScorer.fit``, that ``metric`` is constant at fit
    (``value`` on the oriented scale) and every customer gets the middle ``score``."""
    shown = (-value if metric in NEGATED_METRICS else value) + 0.0  # + 0.0: no -0
    warnings.warn(
        f"Every customer has the same {metric} ({shown:g}): it cannot rank them, so every "
        f"{metric} score is the middle score {score}{recorded}. Check the data (e.g. every "
        "purchase on one day, a single customer, or a cap at or below the smallest value).",
        ConstantMetricWarning,
        stacklevel=stacklevel,
    )


def _constant_score(n_bins: int) -> int:
    """The score of every customer on a metric constant at fit: the middle of ``1..n_bins``
    (rounded up: 3 of 5, 2 of 2, 6 of 10)."""
    return int(n_bins) // 2 + 1


def _scores_from_edges(edges: np.ndarray, n_bins: int, values: np.ndarray, *,
                       requested: int) -> np.ndarray:
    """Bin scores ``1..n_bins`` of oriented, capped values: 1 + #{inner edges <= value}; the
    middle of ``1..requested`` for a metric constant at fit (one realised bin)."""
    if n_bins == 1:
        return np.full(len(values), _constant_score(requested), dtype="int64")
    inner = edges[1:-1]
    scores = 1 + np.searchsorted(inner, values, side="right")
    return np.clip(scores, 1, n_bins).astype("int64")
