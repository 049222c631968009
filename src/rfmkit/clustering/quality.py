"""Quality metrics of a clustering of weighted points (integer counts): silhouette,
Calinski-Harabasz, Davies-Bouldin and the adjusted Rand index, each equal to scikit-learn's on
the rows repeated by their counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

__all__: list[str] = []  # private helpers of the clustering package

# Memory budget of the silhouette (number of float64 cells per block).
_SILHOUETTE_CELLS = 4_000_000  # rows x points per distance block


def _weighted_ari(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> float:
    """Adjusted Rand index of two labelings of rows with integer weights (row counts).

    Equals :func:`sklearn.metrics.adjusted_rand_score` on the rows repeated ``w`` times.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    w = np.ones(len(a)) if w is None else np.asarray(w, dtype=np.float64)
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    ka, kb = ai.max() + 1, bi.max() + 1
    table = np.bincount(ai * kb + bi, weights=w, minlength=ka * kb).reshape(ka, kb)
    n = float(w.sum())
    rows = table.sum(axis=1)
    cols = table.sum(axis=0)
    sum_sq = float((table**2).sum())
    tp = sum_sq - n
    fp = float((table @ cols).sum()) - sum_sq
    fn = float((table.T @ rows).sum()) - sum_sq
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def _valid_label_count(labels: np.ndarray, w: np.ndarray) -> int | None:
    """Number of non-empty clusters if 2 <= it <= n - 1 (scikit-learn's condition), else None.

    ``labels`` are non-negative integers; ``w`` the row counts.
    """
    k = int((np.bincount(labels, weights=w) > 0).sum())
    if 2 <= k <= w.sum() - 1:
        return k
    return None


def _weighted_ch_db(P: np.ndarray, w: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Calinski-Harabasz and Davies-Bouldin scores of weighted points.

    Equal to :func:`sklearn.metrics.calinski_harabasz_score` and
    :func:`sklearn.metrics.davies_bouldin_score` on the rows repeated ``w`` times (NaN when the
    number of clusters is not between 2 and n - 1).
    """
    if _valid_label_count(labels, w) is None:
        return math.nan, math.nan
    present = np.bincount(labels, weights=w) > 0
    lab = (np.cumsum(present) - 1)[labels]  # ids of the non-empty clusters, 0..k-1
    k = int(present.sum())
    n = w.sum()
    wc = np.bincount(lab, weights=w, minlength=k)
    mu = np.column_stack([np.bincount(lab, weights=w * P[:, j], minlength=k)
                          for j in range(P.shape[1])]) / wc[:, None]
    mean = (w[:, None] * P).sum(axis=0) / n
    extra = float((wc * ((mu - mean) ** 2).sum(axis=1)).sum())
    sq = ((P - mu[lab]) ** 2).sum(axis=1)
    intra = float((w * sq).sum())
    ch = 1.0 if intra == 0.0 else extra * (n - k) / (intra * (k - 1.0))
    spread = np.bincount(lab, weights=w * np.sqrt(sq), minlength=k) / wc
    centroid_dist = np.sqrt(((mu[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2))
    if np.allclose(spread, 0.0, rtol=1e-5, atol=1e-8) or np.allclose(
            centroid_dist, 0.0, rtol=1e-5, atol=1e-8):
        return float(ch), 0.0
    centroid_dist[centroid_dist == 0] = np.inf
    db = float(np.mean(np.max((spread[:, None] + spread[None, :]) / centroid_dist, axis=1)))
    return float(ch), db


def _silhouettes(P: np.ndarray, w: np.ndarray, label_sets: Sequence[np.ndarray]) -> list[float]:
    """Mean silhouette of several labelings of the same weighted points, in one distance pass.

    ``w`` holds integer counts: point i stands for ``w[i]`` identical rows. A row's mean distance
    to its own cluster counts its duplicates (at distance 0) and divides by the cluster's size
    minus one, so the result equals :func:`sklearn.metrics.silhouette_score` on the repeated rows.
    """
    m = P.shape[0]
    out = [math.nan] * len(label_sets)
    todo = [i for i, lab in enumerate(label_sets) if _valid_label_count(lab, w) is not None]
    if not todo:
        return out
    sizes = [int(label_sets[i].max()) + 1 for i in todo]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    H = np.zeros((m, offsets[-1]))
    rows = np.arange(m)
    for off, i in zip(offsets[:-1], todo, strict=True):
        H[rows, off + label_sets[i]] = w
    wc = H.sum(axis=0)
    sq = (P**2).sum(axis=1)[:, None]
    ones = np.ones((m, 1))
    left = np.hstack([P, sq, ones])  # left[i] . right[j] = |x_i|^2 + |x_j|^2 - 2 x_i.x_j
    right = np.hstack([-2.0 * P, ones, sq])
    acc = np.zeros(len(todo))
    block = max(1, _SILHOUETTE_CELLS // m)
    # One BLAS thread for the distance blocks: the matrix products then sum in the same order
    # (the same silhouette to the last bit) whatever the number of cores.
    with threadpool_limits(limits=1, user_api="blas"):
        for i0 in range(0, m, block):
            i1 = min(m, i0 + block)
            d2 = left[i0:i1] @ right.T
            np.maximum(d2, 0.0, out=d2)
            d2[np.arange(i1 - i0), np.arange(i0, i1)] = 0.0
            S = np.sqrt(d2, out=d2) @ H
            r = np.arange(i1 - i0)
            for t, (off, size, i) in enumerate(zip(offsets[:-1], sizes, todo, strict=True)):
                lab = label_sets[i][i0:i1]
                sums = S[:, off:off + size]
                sizes_c = wc[off:off + size]
                with np.errstate(divide="ignore", invalid="ignore"):
                    a = sums[r, lab] / (sizes_c[lab] - 1.0)
                    mean_other = np.where(sizes_c > 0, sums / np.where(sizes_c > 0, sizes_c, 1.0),
                                          np.inf)
                    mean_other[r, lab] = np.inf
                    b = mean_other.min(axis=1)
                    s = (b - a) / np.maximum(a, b)
                s = np.nan_to_num(s, nan=0.0, posinf=0.0, neginf=0.0)
                acc[t] += float((w[i0:i1] * s).sum())
    total = w.sum()
    for t, i in enumerate(todo):
        out[i] = float(acc[t] / total)
    return out
