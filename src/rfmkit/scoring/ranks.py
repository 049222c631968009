"""Method P: the training ranks learned per metric, and the percentile scores they give.

Score = average rank (ties share it) / largest average rank of the training data x 100, a float
in ``[0, 100]``; a new value ``v`` gets rank ``L + (E + 1) / 2`` (``L`` training customers with
a worse value, ``E`` with exactly ``v``). A metric with one distinct training value cannot rank
anyone: every customer scores the middle, :data:`CONSTANT_PERCENTILE` (50).
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []  # private helpers of the scoring package

#: The percentile score of every customer on a metric constant at fit (see bins._constant_score).
CONSTANT_PERCENTILE = 50.0


def _rank_table(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Sorted distinct training values, how many customers have each, and the largest rank."""
    distinct, counts = np.unique(values, return_counts=True)
    max_rank = float((n - counts[-1]) + (counts[-1] + 1) / 2)
    return distinct.astype("float64"), counts.astype("int64"), max_rank


def _scores_from_ranks(
    distinct: np.ndarray, counts: np.ndarray, max_rank: float, values: np.ndarray
) -> np.ndarray:
    """Percentile scores in ``[0, 100]`` of oriented, capped values on the training ranks."""
    if len(distinct) == 1:
        return np.full(len(values), CONSTANT_PERCENTILE, dtype="float64")
    below = np.concatenate(([0], np.cumsum(counts)))  # training customers < distinct[i]
    pos = np.searchsorted(distinct, values, side="left")
    safe = np.minimum(pos, len(distinct) - 1)
    equal = (pos < len(distinct)) & (distinct[safe] == values)
    ties = np.where(equal, counts[safe], 0)
    rank = below[pos] + (ties + 1) / 2
    return np.clip(rank / max_rank * 100, 0.0, 100.0)
