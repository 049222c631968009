"""The points k-means is fitted on, chosen from the data, and the seeds of the random streams.

Two ways of fitting, chosen from the data:

* **Weighted distinct points** (exact). When the feature matrix has at most
  ``MAX_DISTINCT_POINTS`` distinct rows (quantile scores have at most ``n_bins ** 3``), k-means
  runs on the distinct rows weighted by their counts. This is the same k-means problem as on all
  rows: the weighted mean of a cluster's distinct rows is the mean of its rows, the weighted
  squared distances sum to the inertia of all rows, and the convergence tolerance is computed
  from the variance of all rows, as scikit-learn does. The restarts (``n_init``) run together,
  vectorised in numpy (one batched matrix product per Lloyd step for thousands of restarts), so
  ``n_init=10000`` costs seconds. Silhouette, Calinski-Harabasz, Davies-Bouldin and stability are
  computed exactly on the distinct points.
* **Many distinct points** (continuous features). scikit-learn's :class:`~sklearn.cluster.KMeans`
  is fitted on all rows, or, above ``MAX_FIT_ROWS`` rows, on a seeded random subsample of that
  size (the one approximation), and every row is then assigned to its nearest centre; inertia,
  Calinski-Harabasz and Davies-Bouldin use all rows. The silhouette is computed on a seeded
  sample of ``silhouette_sample_size`` rows (the sample :func:`sklearn.metrics.silhouette_score`
  draws with the same ``sample_size`` and ``random_state``); the table records its size and seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MAX_DISTINCT_POINTS", "MAX_FIT_ROWS"]

#: At most this many distinct feature rows: fit on weighted distinct points, exact metrics.
MAX_DISTINCT_POINTS = 5000
#: Above this many rows (and many distinct rows), KMeans is fitted on a seeded subsample.
MAX_FIT_ROWS = 100_000


@dataclass
class _Data:
    """The feature matrix and how k-means sees it."""

    X: np.ndarray  # all rows (n, 3), feature space
    weighted: bool
    points: np.ndarray  # weighted: distinct rows; else: the rows KMeans is fitted on
    weights: np.ndarray  # weighted: counts; else: ones over X
    inverse: np.ndarray | None  # weighted: row -> distinct point


def _distinct_rows(X: np.ndarray, limit: int):
    """(points, counts, inverse) if X has at most ``limit`` distinct rows, else None."""
    if len(X) > 50_000:
        head = np.ascontiguousarray(X[:50_000]) + 0.0  # (+ 0.0 turns -0.0 into 0.0)
        rows = head.view(np.dtype((np.void, head.dtype.itemsize * head.shape[1])))
        if len(np.unique(rows)) > limit:
            return None  # already too many in the first rows
    codes, uniques = [], []
    for j in range(X.shape[1]):
        c, u = pd.factorize(X[:, j], sort=True)
        if len(u) > limit:
            return None
        codes.append(c.astype(np.int64))
        uniques.append(np.asarray(u, dtype=np.float64))
    key = np.zeros(X.shape[0], dtype=np.int64)
    for c, u in zip(codes, uniques, strict=True):
        key = key * len(u) + c
    # hashing, not sorting, finds the distinct rows (a million rows: 20 ms, not 120)
    inverse, ukey = pd.factorize(key, sort=True)
    counts = np.bincount(inverse, minlength=len(ukey))
    if len(ukey) > limit:
        return None
    cols = []
    rest = ukey.copy()
    for u in reversed(uniques):
        cols.append(u[rest % len(u)])
        rest //= len(u)
    points = np.column_stack(cols[::-1])
    return points, counts.astype(np.float64), inverse.ravel()


def _prepare(X: np.ndarray, seed: int) -> _Data:
    distinct = _distinct_rows(X, MAX_DISTINCT_POINTS)
    if distinct is not None:
        points, counts, inverse = distinct
        return _Data(X, True, points, counts, inverse)
    if X.shape[0] > MAX_FIT_ROWS:
        rows = np.sort(np.random.RandomState(_child_seed(seed, 1)).choice(
            X.shape[0], MAX_FIT_ROWS, replace=False))
        points = X[rows]
    else:
        points = X
    return _Data(X, False, points, np.ones(X.shape[0]), None)


def _child_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])
