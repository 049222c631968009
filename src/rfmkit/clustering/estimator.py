"""K-means clustering of customers on their RFM features.

:class:`RFMClusterer` fits k-means on the three R, F, M features of the per-customer table,
chooses the number of clusters (or takes it as given), numbers the clusters best first, and can
be saved to and rebuilt from plain JSON (:meth:`RFMClusterer.to_state`,
:meth:`RFMClusterer.from_state`). :func:`select_k` returns the table used to choose k;
:func:`profile_clusters` summarises the customers of each cluster (the ``clusters.csv`` table).

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

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from rfmkit import schema
from rfmkit._validation import Interval, Options, validate_params
from rfmkit.errors import InputError, ModelFormatError, ParameterError, RFMKitWarning, SchemaError

__all__ = ["RFMClusterer", "profile_clusters", "select_k"]

# --- tuning constants (documented in the class docstring) ---------------------------------------
#: At most this many distinct feature rows: fit on weighted distinct points, exact metrics.
MAX_DISTINCT_POINTS = 5000
#: Above this many rows (and many distinct rows), KMeans is fitted on a seeded subsample.
MAX_FIT_ROWS = 100_000
#: Stability on many distinct points is measured on a seeded subsample of at most this many rows.
STABILITY_MAX_ROWS = 20_000
#: criterion="auto": the candidates are the k within this distance of the inertia knee ...
AUTO_KNEE_WINDOW = 1
#: ... and, if any candidate reaches it, only those at least this stable are kept.
AUTO_MIN_STABILITY = 0.8
#: Relative tolerance of the Lloyd iterations (scikit-learn's default ``tol``).
LLOYD_TOL = 1e-4
#: BLAS and OpenMP threads while fitting (None: the libraries' defaults, all cores). One thread
#: because KMeans's per-iteration OpenMP barriers and small BLAS calls collapse when another
#: process holds a core (measured on 2 shared cores: KMeans on 100k rows, k=5, n_init=10: 0.9 s
#: on 1 thread, 6.7 s on 2).
FIT_THREADS: int | None = 1
#: Stability refits use k-means++ with at most this many runs (see RFMClusterer, Notes).
STABILITY_MAX_N_INIT = 3

# --- columns of the k-selection table -------------------------------------------------------------
K = "k"
INERTIA = "inertia"
SILHOUETTE = "silhouette"
CALINSKI_HARABASZ = "calinski_harabasz"
DAVIES_BOULDIN = "davies_bouldin"
STABILITY = "stability"
SILHOUETTE_SAMPLE_SIZE = "silhouette_sample_size"
SILHOUETTE_SEED = "silhouette_seed"
CHOSEN = "chosen"
K_SELECTION_COLUMNS = (
    K, INERTIA, SILHOUETTE, CALINSKI_HARABASZ, DAVIES_BOULDIN, STABILITY,
    SILHOUETTE_SAMPLE_SIZE, SILHOUETTE_SEED, CHOSEN,
)

# --- columns of the cluster profile (clusters.csv) -----------------------------------------------
CUSTOMERS = "customers"
CUSTOMER_SHARE = "customer_share"
REVENUE_SHARE = "revenue_share"
DESCRIPTION = "description"

_FEATURE_COLUMNS = {"scores": schema.SCORE_COLUMNS, "log-metrics": schema.METRIC_COLUMNS}
# +1 where a higher feature value is better, -1 where lower is better (recency in days).
_ORIENTATION = {"scores": np.array([1.0, 1.0, 1.0]), "log-metrics": np.array([-1.0, 1.0, 1.0])}
_STATE_KIND = "rfmkit.RFMClusterer"
_STATE_VERSION = 1

# Memory budgets of the vectorised Lloyd iterations (number of float64 cells per block).
_STATE_CELLS = 1_000_000  # restarts x points held at once
_ESTEP_CELLS = 4_000_000  # restarts x points x k per E-step block
_SILHOUETTE_CELLS = 4_000_000  # rows x points per distance block


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


_PARAMETER_CONSTRAINTS: dict[str, list] = {
    "n_clusters": [Options("auto"), Interval(numbers.Integral, 1, None)],
    "features": [Options("scores", "log-metrics")],
    "k_min": [Interval(numbers.Integral, 1, None)],
    "k_max": [Interval(numbers.Integral, 1, None)],
    "criterion": [Options("auto", "silhouette", "elbow")],
    "init": [_InitName("k-means++", "random"), _InitArray()],
    "n_init": [Interval(numbers.Integral, 1, None)],
    "max_iter": [Interval(numbers.Integral, 1, None)],
    "random_state": [None, Interval(numbers.Integral, 0, 2**32 - 1)],
    "silhouette_sample_size": [Interval(numbers.Integral, 2, None)],
    "stability_resamples": [Interval(numbers.Integral, 0, None)],
}


# ==================================================================================================
# Feature matrix
# ==================================================================================================
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


# ==================================================================================================
# Small numeric helpers
# ==================================================================================================
def _nearest(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre for each row (first on ties) and the squared distance."""
    n = X.shape[0]
    best = np.full(n, np.inf)
    labels = np.zeros(n, dtype=np.intp)
    for j, c in enumerate(centers):
        d = (X[:, 0] - c[0]) ** 2
        for f in range(1, X.shape[1]):
            d += (X[:, f] - c[f]) ** 2
        closer = d < best
        labels[closer] = j
        best[closer] = d[closer]
    return labels, best


def _order_centers(centers: np.ndarray, orientation: np.ndarray) -> np.ndarray:
    """Centres sorted best first: by the sum of the oriented coordinates, then R, F, M."""
    oriented = centers * orientation
    value = oriented.sum(axis=1)
    keys = [np.arange(len(centers))] + [-oriented[:, j] for j in
                                        range(centers.shape[1] - 1, -1, -1)] + [-value]
    return centers[np.lexsort(keys)]


def _weighted_mean_var(P: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = w.sum()
    mean = (w[:, None] * P).sum(axis=0) / total
    var = (w[:, None] * (P - mean) ** 2).sum(axis=0) / total
    return mean, var


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


def _knee(ks: Sequence[int], inertias: Sequence[float]) -> int | None:
    """Knee of a decreasing inertia curve: the k farthest below the chord (None if there is none).

    Both axes are scaled to [0, 1]; the chord joins the first and the last point, and the knee is
    the point with the largest vertical distance below it (for a fixed chord this is also the
    largest perpendicular distance). This is the Kneedle difference curve without smoothing.
    Needs at least three points.
    """
    ks_arr = np.asarray(ks, dtype=np.float64)
    y = np.asarray(inertias, dtype=np.float64)
    if len(ks_arr) < 3 or not np.isfinite(y).all():
        return None
    span = y.max() - y.min()
    if span <= 0:
        return None
    x = (ks_arr - ks_arr[0]) / (ks_arr[-1] - ks_arr[0])
    yn = (y - y.min()) / span
    chord = yn[0] + (yn[-1] - yn[0]) * x
    gap = chord - yn
    best = int(np.argmax(gap))
    if gap[best] <= 1e-12:
        return None
    return int(ks_arr[best])


# ==================================================================================================
# Vectorised weighted Lloyd (many restarts on few distinct points)
# ==================================================================================================
def _init_random(P: np.ndarray, w: np.ndarray, k: int, runs: int,
                 rng: np.random.RandomState) -> np.ndarray:
    """k distinct points per run, drawn without replacement with probability proportional to w."""
    keys = np.log(w)[None, :] + rng.gumbel(size=(runs, len(w)))  # Gumbel-top-k sampling
    idx = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    return P[idx]


def _init_kmeans_pp(P: np.ndarray, w: np.ndarray, k: int, runs: int,
                    rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ (2 + log k local trials per centre, as scikit-learn), weighted, batched."""
    m = P.shape[0]
    trials = 2 + int(np.log(k))
    # Candidates are data points: look their squared distances up when the matrix is small.
    table = _pairwise_sq(P, P) if m * m <= _ESTEP_CELLS else None

    def sq_to(idx: np.ndarray) -> np.ndarray:
        if table is not None:
            return table[idx]
        return ((P[idx][..., None, :] - P) ** 2).sum(axis=-1)

    chosen = np.empty((runs, k), dtype=np.intp)
    cum_w = np.cumsum(w)
    chosen[:, 0] = np.minimum(
        np.searchsorted(cum_w, rng.random_sample(runs) * cum_w[-1], side="right"), m - 1)
    closest = sq_to(chosen[:, 0])
    r_idx = np.arange(runs)
    for c in range(1, k):
        # sample candidates with probability proportional to w * closest: one searchsorted over
        # all runs, each run's normalised cumulative sum shifted by its run index
        cum = np.cumsum(closest * w, axis=1)
        cum /= cum[:, -1:]
        cum += r_idx[:, None]
        targets = rng.random_sample((runs, trials)) + r_idx[:, None]
        cand = np.searchsorted(cum.ravel(), targets.ravel()).reshape(runs, trials)
        cand -= r_idx[:, None] * m
        np.clip(cand, 0, m - 1, out=cand)
        dist = sq_to(cand)
        np.minimum(closest[:, None, :], dist, out=dist)
        best = np.argmin(dist @ w, axis=1)
        closest = dist[r_idx, best]
        chosen[:, c] = cand[r_idx, best]
    return P[chosen]


def _pairwise_sq(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (exact differences; few features)."""
    out = (A[:, None, 0] - B[None, :, 0]) ** 2
    for j in range(1, A.shape[1]):
        out += (A[:, None, j] - B[None, :, j]) ** 2
    return out


def _estep(P: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Labels (runs, m) of the nearest centre of each run (first on ties).

    Minimises ||c||^2 - 2 x.c (the squared distance minus ||x||^2, as scikit-learn's Lloyd step)
    with one batched matrix product per block of runs.
    """
    runs, k, p = C.shape
    m = P.shape[0]
    P_aug = np.hstack([P, np.ones((m, 1))])
    labels = np.empty((runs, m), dtype=np.intp)
    block = max(1, _ESTEP_CELLS // (m * k))
    for r0 in range(0, runs, block):
        Cb = C[r0:r0 + block]
        C_aug = np.concatenate([-2.0 * Cb, (Cb**2).sum(axis=2)[:, :, None]], axis=2)
        labels[r0:r0 + block] = np.matmul(P_aug[None], C_aug.transpose(0, 2, 1)).argmin(axis=2)
    return labels


def _mstep(P: np.ndarray, w: np.ndarray, C_old: np.ndarray, labels: np.ndarray,
           tiled: np.ndarray) -> np.ndarray:
    """Weighted means of the clusters; empty clusters get the points farthest from their centres
    (scikit-learn's relocation rule). ``tiled`` holds w, w*x_1, ..., w*x_p repeated for at least
    ``runs`` runs, shape (p + 1, >= runs * m)."""
    runs, k, p = C_old.shape
    m = P.shape[0]
    flat = (labels + (np.arange(runs) * k)[:, None]).ravel()
    cells = runs * m
    wsum = np.bincount(flat, weights=tiled[0, :cells], minlength=runs * k).reshape(runs, k)
    sums = np.stack([np.bincount(flat, weights=tiled[j + 1, :cells], minlength=runs * k)
                     for j in range(p)], axis=1).reshape(runs, k, p)
    for r in np.flatnonzero((wsum == 0).any(axis=1)):
        empty = np.flatnonzero(wsum[r] == 0)
        dist = ((P - C_old[r][labels[r]]) ** 2).sum(axis=1)
        far = np.argsort(-dist, kind="stable")[:len(empty)]
        for e, i in zip(empty, far, strict=True):
            old = labels[r, i]
            sums[r, old] -= P[i] * w[i]
            wsum[r, old] -= w[i]
            sums[r, e] = P[i] * w[i]
            wsum[r, e] = w[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        C = sums / wsum[:, :, None]
    keep = wsum <= 0
    C[keep] = C_old[keep]
    return C


def _lloyd_runs(P: np.ndarray, w: np.ndarray, C: np.ndarray, max_iter: int,
                tol: float) -> tuple[np.ndarray, float]:
    """Run Lloyd's algorithm from each initial state in C (runs, k, p); return the best run.

    Each run stops as in scikit-learn: when its labels no longer change, or when the sum of
    squared centre shifts is <= tol. The best run has the lowest inertia (the first run on ties).
    """
    owner = np.arange(C.shape[0])
    labels_old = np.full((C.shape[0], P.shape[0]), -1, dtype=np.intp)
    tiled = np.tile(np.vstack([w, w * P.T]), C.shape[0])  # M-step weights for every run
    best_inertia, best_owner, best_centers = np.inf, C.shape[0], None

    def finish(Cf: np.ndarray, owners: np.ndarray, lab: np.ndarray | None) -> None:
        # lab: the labels of Cf if known (strict convergence), else recomputed (one more E-step,
        # as scikit-learn does after a tolerance stop)
        nonlocal best_inertia, best_owner, best_centers
        if lab is None:
            lab = _estep(P, Cf)
        diff = P[None, :, :] - np.take_along_axis(Cf, lab[:, :, None], axis=1)
        inertia = ((diff**2).sum(axis=2) * w).sum(axis=1)
        j = np.lexsort((owners, inertia))[0]
        if inertia[j] < best_inertia or (inertia[j] == best_inertia and owners[j] < best_owner):
            best_inertia, best_owner, best_centers = float(inertia[j]), int(owners[j]), Cf[j]

    for _ in range(max_iter):
        if C.shape[0] == 0:
            break
        labels = _estep(P, C)
        C_new = _mstep(P, w, C, labels, tiled)
        strict = (labels == labels_old).all(axis=1)
        shift = ((C_new - C) ** 2).sum(axis=(1, 2))
        # labels unchanged: C_new are the means of the same clusters, i.e. C itself
        if strict.any():
            finish(C_new[strict], owner[strict], labels[strict])
        by_tol = ~strict & (shift <= tol)
        if by_tol.any():
            finish(C_new[by_tol], owner[by_tol], None)
        done = strict | by_tol
        if done.any():
            active = ~done
            C_new, labels, owner = C_new[active], labels[active], owner[active]
        C, labels_old = C_new, labels
    if C.shape[0]:
        finish(C, owner, None)
    return best_centers, best_inertia


def _weighted_kmeans(P: np.ndarray, w: np.ndarray, k: int, *, init: Any, n_init: int,
                     max_iter: int, seed: int) -> np.ndarray:
    """Centres of the best of ``n_init`` k-means runs on weighted distinct points.

    The same k-means problem as on the rows repeated ``w`` times, including scikit-learn's
    tolerance (``tol`` times the mean per-feature variance of the repeated rows).
    """
    _, var = _weighted_mean_var(P, w)
    tol = LLOYD_TOL * float(var.mean())
    rng = np.random.RandomState(seed)
    if not isinstance(init, str):
        centers, _ = _lloyd_runs(P, w, np.asarray(init, dtype=np.float64)[None].copy(),
                                    max_iter, tol)
        return centers
    per_batch = max(1, _STATE_CELLS // P.shape[0])
    best, best_inertia = None, np.inf
    done = 0
    while done < n_init:
        runs = min(per_batch, n_init - done)
        if init == "random":
            C0 = _init_random(P, w, k, runs, rng)
        else:
            C0 = _init_kmeans_pp(P, w, k, runs, rng)
        centers, inertia = _lloyd_runs(P, w, C0, max_iter, tol)
        if inertia < best_inertia:
            best, best_inertia = centers, inertia
        done += runs
    return best


# ==================================================================================================
# The search over k
# ==================================================================================================
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


def _fit_centers(points: np.ndarray, weights: np.ndarray | None, k: int, *, weighted: bool,
                 init: Any, n_init: int, max_iter: int, seed: int) -> np.ndarray:
    if weighted:
        return _weighted_kmeans(points, weights, k, init=init, n_init=n_init, max_iter=max_iter,
                                seed=seed)
    # imported here: scikit-learn's cluster package (~0.2 s) is needed only for many points
    from sklearn.cluster import KMeans

    explicit = not isinstance(init, str)
    km = KMeans(n_clusters=k, init=np.asarray(init, dtype=np.float64) if explicit else init,
                n_init=1 if explicit else n_init, max_iter=max_iter, random_state=seed)
    return km.fit(points).cluster_centers_


@dataclass
class _KResult:
    k: int
    centers: np.ndarray  # ordered best first
    labels: np.ndarray  # weighted: per distinct point; else: per silhouette-sample row
    inertia: float
    calinski_harabasz: float
    davies_bouldin: float
    stability: float
    silhouette: float = math.nan


def _search(data: _Data, ks: Sequence[int], *, init: Any, n_init: int, max_iter: int, seed: int,
            orientation: np.ndarray, silhouette_sample_size: int,
            stability_resamples: int) -> tuple[list[_KResult], int, int | None]:
    """Fit k-means for every k; return the per-k results and the silhouette sample size/seed."""
    X, n = data.X, data.X.shape[0]
    if data.weighted:
        eval_points, eval_w = data.points, data.weights
    else:
        eval_points, eval_w = X, data.weights
    # Stability: the same bootstrap resamples for every k (common random numbers).
    stab_rng = np.random.RandomState(_child_seed(seed, 2))
    if data.weighted:
        stab_points, stab_w = data.points, data.weights
        resamples = [stab_rng.multinomial(int(n), data.weights / n) for _ in
                     range(stability_resamples)]
    else:
        m = min(n, STABILITY_MAX_ROWS)
        stab_rows = np.sort(stab_rng.choice(n, m, replace=False)) if m < n else np.arange(n)
        stab_points, stab_w = X[stab_rows], np.ones(m)
        resamples = [stab_rng.randint(0, m, m) for _ in range(stability_resamples)]
    if data.weighted:
        sil_rows, sample_size, sample_seed = None, int(n), None
    elif n > silhouette_sample_size:
        # the sample silhouette_score(sample_size=..., random_state=seed) draws
        sil_rows = np.random.RandomState(seed).permutation(n)[:silhouette_sample_size]
        sample_size, sample_seed = int(silhouette_sample_size), int(seed)
    else:
        sil_rows, sample_size, sample_seed = np.arange(n), int(n), None
    refit_seeds = [_child_seed(seed, 100 + b) for b in range(stability_resamples)]
    stab_n_init = min(n_init, STABILITY_MAX_N_INIT)
    stab_init = init if not isinstance(init, str) else "k-means++"

    results = []
    for k in ks:
        raw = _fit_centers(data.points, data.weights if data.weighted else None, k,
                           weighted=data.weighted, init=init, n_init=n_init, max_iter=max_iter,
                           seed=seed)
        centers = _order_centers(raw, orientation)
        labels, d2 = _nearest(eval_points, centers)
        inertia = float((eval_w * d2).sum())
        ch, db = _weighted_ch_db(eval_points, eval_w, labels)
        stability = math.nan
        if k >= 2 and resamples:
            ref = labels if data.weighted else labels[stab_rows]
            scores = []
            for b, draw in enumerate(resamples):
                if data.weighted:
                    keep = draw > 0
                    if keep.sum() < k:
                        continue
                    fit_points, fit_w = stab_points[keep], draw[keep].astype(np.float64)
                else:
                    fit_points, fit_w = stab_points[draw], None
                refit = _fit_centers(fit_points, fit_w, k, weighted=data.weighted, init=stab_init,
                                     n_init=stab_n_init, max_iter=max_iter, seed=refit_seeds[b])
                pred, _ = _nearest(stab_points, refit)
                scores.append(_weighted_ari(ref, pred, stab_w))
            if scores:
                stability = float(np.mean(scores))
        kept = labels if data.weighted else labels[sil_rows]  # all rows' labels: too big to keep
        results.append(_KResult(k, centers, kept, inertia, ch, db, stability))

    if data.weighted:
        sil = _silhouettes(data.points, data.weights, [r.labels for r in results])
    else:
        sil = _silhouettes(X[sil_rows], np.ones(len(sil_rows)), [r.labels for r in results])
    for r, s in zip(results, sil, strict=True):
        r.silhouette = s
    return results, sample_size, sample_seed


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.3f}"


def _inertia_knee(ks: np.ndarray, inertia: np.ndarray) -> int | None:
    """Knee of the inertia curve on a log scale (raw scale if an inertia is 0)."""
    if (inertia > 0).all():
        return _knee(ks, np.log(inertia))
    return _knee(ks, inertia)


def _choose_k(table: pd.DataFrame, criterion: str) -> tuple[int, str]:
    """Apply a selection criterion to a k-selection table; return (k, reason)."""
    ks = table[K].to_numpy()
    sil = table[SILHOUETTE].to_numpy(dtype=np.float64)
    stab = table[STABILITY].to_numpy(dtype=np.float64)
    has_sil = np.isfinite(sil)
    span = f"k={ks[0]}..{ks[-1]}"
    knee = _inertia_knee(ks, table[INERTIA].to_numpy(dtype=np.float64))

    def best_of(rows: np.ndarray) -> int:
        # highest silhouette; ties: more stable, then smaller k
        order = np.lexsort((ks[rows], -np.nan_to_num(stab[rows], nan=-np.inf), -sil[rows]))
        return int(rows[order[0]])

    if criterion == "elbow" and knee is not None:
        return knee, f"k={knee}: knee of the log-inertia curve over {span}."
    if not has_sil.any():
        return int(ks[0]), (f"k={ks[0]}: no knee and no silhouette over {span} (k=1 only or too "
                            f"few distinct points); took the smallest k searched.")
    rows = np.flatnonzero(has_sil)
    best = best_of(rows)
    if criterion == "elbow":
        k = int(ks[best])
        return k, (f"k={k}: the inertia curve over {span} has no knee (fewer than 3 values or no "
                   f"bend); fell back to the highest silhouette ({_fmt(sil[best])}).")
    if criterion == "silhouette":
        k = int(ks[best])
        return k, f"k={k}: highest mean silhouette ({_fmt(sil[best])}) over {span}."

    # criterion == "auto"
    if knee is not None:
        window = rows[np.abs(ks[rows] - knee) <= AUTO_KNEE_WINDOW]
    else:
        window = np.array([], dtype=rows.dtype)
    if len(window):
        notes = [f"knee of the log-inertia curve at k={knee}; candidates "
                 f"k={', '.join(map(str, ks[window]))}"]
    else:
        window = rows
        notes = [f"no knee of the log-inertia curve over {span}; candidates all k"]
    stable = window[np.nan_to_num(stab[window], nan=-np.inf) >= AUTO_MIN_STABILITY]
    if len(stable):
        if len(stable) < len(window):
            notes.append(f"kept those with stability >= {AUTO_MIN_STABILITY} "
                         f"(k={', '.join(map(str, ks[stable]))})")
        window = stable
    elif np.isfinite(stab[window]).any():
        notes.append(f"none reaches stability {AUTO_MIN_STABILITY}, so all were kept")
    row = best_of(window)
    k = int(ks[row])
    notes.append(f"k={k} has the highest silhouette among them ({_fmt(sil[row])}; stability "
                 f"{_fmt(stab[row])}; best silhouette overall {_fmt(sil[best])} at k={ks[best]})")
    return k, f"k={k}: " + "; ".join(notes) + "."


def _table(results: Sequence[_KResult], sample_size: int, sample_seed: int | None,
           chosen: int) -> pd.DataFrame:
    return pd.DataFrame({
        K: np.array([r.k for r in results], dtype=np.int64),
        INERTIA: [r.inertia for r in results],
        SILHOUETTE: [r.silhouette for r in results],
        CALINSKI_HARABASZ: [r.calinski_harabasz for r in results],
        DAVIES_BOULDIN: [r.davies_bouldin for r in results],
        STABILITY: [r.stability for r in results],
        SILHOUETTE_SAMPLE_SIZE: np.full(len(results), sample_size, dtype=np.int64),
        SILHOUETTE_SEED: pd.array([sample_seed] * len(results), dtype="Int64"),
        CHOSEN: np.array([r.k == chosen for r in results], dtype=bool),
    }, columns=list(K_SELECTION_COLUMNS))


# ==================================================================================================
# The estimator
# ==================================================================================================
class RFMClusterer(ClusterMixin, BaseEstimator):
    """K-means clustering of customers on R, F, M features, with the number of clusters chosen.

    Parameters
    ----------
    n_clusters : "auto" or int >= 1, default="auto"
        Number of clusters, or "auto" to choose it over ``k_min..k_max`` with ``criterion``.
        (Method P uses 7, Method Q chose 8.)
    features : {"scores", "log-metrics"}, default="scores"
        ``"scores"``: the columns r_score, f_score, m_score as they are (they share one scale,
        higher is better). ``"log-metrics"``: log1p of recency, frequency and monetary (monetary
        clipped at 0), standardised with the mean and standard deviation learned in ``fit``.
    k_min, k_max : int >= 1, default=2, 10
        Range of k searched when ``n_clusters="auto"``. k=1 is allowed (for the elbow; Method P
        searches 1..14).
    criterion : {"auto", "silhouette", "elbow"}, default="auto"
        How k is chosen (ignored when ``n_clusters`` is an int):

        * ``"silhouette"`` (Method Q): the k with the highest mean silhouette (ties: more stable,
          then smaller k).
        * ``"elbow"`` (Method P): the knee of the inertia curve. The curve is read on a log scale
          (relative gains: the k after which each further cluster removes a clearly smaller share
          of the remaining inertia) and the knee is the k farthest below the chord from the first
          to the last point, both axes scaled to [0, 1] (Kneedle's difference curve, unsmoothed).
          Without a knee (fewer than 3 k, or no bend): the highest silhouette.
        * ``"auto"``: the elbow proposes, silhouette and stability decide. The candidates are the
          k within ``AUTO_KNEE_WINDOW`` (1) of the knee; if any of them has a stability (mean
          adjusted Rand index of bootstrap refits) >= ``AUTO_MIN_STABILITY`` (0.8), the less
          stable ones are dropped; of the rest, the k with the highest silhouette wins (ties: more
          stable, then smaller k). Without a knee, all k are candidates. The silhouette alone
          favours k=2 on most RFM data, the elbow alone ignores how well clusters separate and
          reproduce; ``selection_reason_`` spells out each step with its numbers.
    init : {"k-means++", "random"} or array of shape (n_clusters, 3), default="k-means++"
        Initialisation, as in :class:`~sklearn.cluster.KMeans`; an array gives the initial
        centres in feature space (then one run, and ``n_clusters`` must be its number of rows).
    n_init : int >= 1, default=10
        Number of k-means runs per k; the one with the lowest inertia is kept.
    max_iter : int >= 1, default=300
        Maximum Lloyd iterations per run.
    random_state : int or None, default=0
        Seed of every random choice (initialisation, subsamples, resamples). The KMeans runs use
        it directly, so results match ``KMeans(random_state=random_state)`` on the same rows.
    silhouette_sample_size : int >= 2, default=20000
        With more than ``MAX_DISTINCT_POINTS`` (5000) distinct feature rows, the silhouette is
        computed on this many rows drawn with ``random_state`` (as
        ``silhouette_score(sample_size=..., random_state=...)``). With fewer it is exact.
    stability_resamples : int >= 0, default=5
        Number of bootstrap refits per k for the stability column (0 skips it: NaN).

    Attributes
    ----------
    n_clusters_ : int
        Number of clusters fitted.
    cluster_centers_ : ndarray of shape (n_clusters_, 3)
        Centres in feature space, ordered best first (see Notes).
    labels_ : ndarray of shape (n_customers,)
        Cluster of each customer of the fitted data (not part of the saved state).
    inertia_ : float
        Sum of squared distances of all customers to their centre.
    k_selection_ : DataFrame or None
        One row per k searched: k, inertia, silhouette, calinski_harabasz, davies_bouldin,
        stability, silhouette_sample_size, silhouette_seed (NA when exact), chosen. None when
        ``n_clusters`` is an int.
    metrics_ : dict
        The same quantities for the fitted k (computed also when ``n_clusters`` is an int).
    selection_reason_ : str
        Why ``n_clusters_`` was chosen, in one sentence with the numbers.
    knee_ : int or None
        Knee of the log-inertia curve over the k searched (None without a search or a knee).
    feature_mean_ : ndarray of shape (3,) or None
        Mean of the log metrics (``features="log-metrics"``), else None.
    feature_scale_ : ndarray of shape (3,) or None
        Standard deviation of the log metrics (1 where it is 0), else None.
    feature_names_ : list of str
        The customer-table columns the features come from.
    n_features_in_ : int
        Number of features (3).

    Notes
    -----
    **Cluster ids** are 0..k-1, best first: ordered by the sum of the centre's coordinates with
    each oriented so that higher is better (scores as they are; for log-metrics, minus
    standardised log recency plus standardised log frequency and log monetary), ties broken by R,
    then F, then M (higher first). Cluster 0 is the best-valued cluster.

    **Fitting.** With at most ``MAX_DISTINCT_POINTS`` distinct feature rows, k-means runs on the
    distinct rows weighted by their counts, with all ``n_init`` runs vectorised in numpy; this is
    the same k-means problem as on all rows (same initial centres give the same result). Otherwise
    scikit-learn's KMeans is fitted on all rows, or on a seeded subsample of ``MAX_FIT_ROWS``
    (100,000) rows when there are more, and every row is assigned to its nearest centre; inertia,
    Calinski-Harabasz and Davies-Bouldin are then computed on all rows.

    **Stability** of k: ``stability_resamples`` bootstrap resamples (seeded, the same for every
    k) are clustered again and the mean adjusted Rand index between each refit's assignment and
    the reference labels is reported (NaN for k=1). The refits use k-means++ with at most
    ``STABILITY_MAX_N_INIT`` (3) runs (an explicit ``init`` array is reused), so stability costs
    a fraction of the reference fit even with ``n_init=10000``. On weighted distinct points a
    bootstrap resample is a multinomial draw of the counts and the index is weighted by the counts
    (exact); otherwise resamples of ``STABILITY_MAX_ROWS`` (20,000) rows are drawn from a seeded
    subsample of that size, on which the index is measured.

    **Threads.** Fitting runs with ``FIT_THREADS`` (1) BLAS/OpenMP threads; set the module
    constant to None to use scikit-learn's default.

    ``predict`` assigns the nearest stored centre in numpy after the stored feature transform;
    nothing is unpickled, and :meth:`to_state` / :meth:`from_state` round-trip through JSON.
    """

    _parameter_constraints: dict = _PARAMETER_CONSTRAINTS

    def __init__(self, n_clusters="auto", *, features="scores", k_min=2, k_max=10,
                 criterion="auto", init="k-means++", n_init=10, max_iter=300, random_state=0,
                 silhouette_sample_size=20000, stability_resamples=5):
        self.n_clusters = n_clusters
        self.features = features
        self.k_min = k_min
        self.k_max = k_max
        self.criterion = criterion
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.silhouette_sample_size = silhouette_sample_size
        self.stability_resamples = stability_resamples

    # --- fitting --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False),
                        self._parameter_constraints)
        if self.n_clusters == "auto" and self.k_min > self.k_max:
            raise ParameterError(
                f"The 'k_min' parameter of {type(self).__name__} must be <= k_max. Got "
                f"k_min={self.k_min}, k_max={self.k_max} instead."
            )
        if not isinstance(self.init, str):
            rows = np.asarray(self.init).shape[0]
            if self.n_clusters != rows:
                raise ParameterError(
                    f"The 'init' parameter of {type(self).__name__} is an array of {rows} "
                    f"centres, so n_clusters must be {rows}. Got n_clusters={self.n_clusters!r} "
                    f"instead."
                )

    def _features(self, X: Any, *, fit: bool) -> np.ndarray:
        raw = _raw_matrix(X, self.features)
        if self.features == "scores":
            if fit:
                self.feature_mean_ = None
                self.feature_scale_ = None
            return raw
        logged = _log_metrics(raw)
        if fit:
            mean = logged.mean(axis=0)
            scale = logged.std(axis=0)
            scale[scale == 0] = 1.0
            self.feature_mean_, self.feature_scale_ = mean, scale
        return (logged - self.feature_mean_) / self.feature_scale_

    def fit(self, X, y=None):
        """Choose k (unless given), fit k-means and number the clusters best first.

        Parameters
        ----------
        X : DataFrame or array of shape (n_customers, 3)
            The per-customer table (columns r_score, f_score, m_score for ``features="scores"``;
            recency, frequency, monetary for ``"log-metrics"``), or those three columns as an
            array in that order.
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        Xf = self._features(X, fit=True)
        seed = (int(self.random_state) if self.random_state is not None
                else int(np.random.SeedSequence().generate_state(1)[0]))
        data = _prepare(Xf, seed)
        n_distinct = data.points.shape[0] if data.weighted else None
        if self.n_clusters == "auto":
            ks = list(range(self.k_min, self.k_max + 1))
            if n_distinct is not None and self.k_min > n_distinct:
                raise InputError(
                    f"The data have only {n_distinct} distinct feature rows, fewer than "
                    f"k_min={self.k_min}; lower k_min."
                )
            if n_distinct is not None and self.k_max > n_distinct:
                warnings.warn(
                    f"The data have only {n_distinct} distinct feature rows; k is searched over "
                    f"{self.k_min}..{n_distinct} instead of up to k_max={self.k_max}.",
                    RFMKitWarning, stacklevel=2)
                ks = list(range(self.k_min, n_distinct + 1))
        else:
            limit = n_distinct if n_distinct is not None else Xf.shape[0]
            if self.n_clusters > limit:
                raise InputError(
                    f"n_clusters={self.n_clusters} but the data have only {limit} distinct "
                    f"feature rows; choose n_clusters <= {limit}."
                )
            ks = [int(self.n_clusters)]
        init = self.init if isinstance(self.init, str) else np.asarray(self.init, dtype=np.float64)
        with threadpool_limits(limits=FIT_THREADS):
            results, sample_size, sample_seed = _search(
                data, ks, init=init, n_init=self.n_init, max_iter=self.max_iter, seed=seed,
                orientation=_ORIENTATION[self.features],
                silhouette_sample_size=self.silhouette_sample_size,
                stability_resamples=self.stability_resamples)
        if self.n_clusters == "auto":
            provisional = _table(results, sample_size, sample_seed, chosen=-1)
            k, reason = _choose_k(provisional, self.criterion)
            self.k_selection_ = _table(results, sample_size, sample_seed, chosen=k)
            self.knee_ = _inertia_knee(provisional[K].to_numpy(),
                                       provisional[INERTIA].to_numpy(dtype=np.float64))
        else:
            k = int(self.n_clusters)
            reason = f"k={k}: n_clusters={k} was given; no search over k."
            self.k_selection_ = None
            self.knee_ = None
        result = next(r for r in results if r.k == k)
        row = _table([result], sample_size, sample_seed, chosen=k).iloc[0]
        self.metrics_ = {c: _py(row[c]) for c in K_SELECTION_COLUMNS if c != CHOSEN}
        self.n_clusters_ = k
        self.cluster_centers_ = result.centers.copy()
        self.labels_ = (result.labels[data.inverse] if data.weighted
                        else _nearest(data.X, result.centers)[0])
        self.inertia_ = result.inertia
        self.selection_reason_ = reason
        self.feature_names_ = list(_FEATURE_COLUMNS[self.features])
        self.n_features_in_ = 3
        return self

    def _html_repr(self) -> str:
        # Notebook view (scikit-learn's _repr_html_/_repr_mimebundle_ call this). The report
        # package is imported only when a notebook asks for the view.
        from rfmkit.html_repr import clusterer_html

        return clusterer_html(self)

    def predict(self, X):
        """Cluster of each customer: the nearest centre after the stored feature transform.

        Parameters
        ----------
        X : DataFrame or array of shape (n_customers, 3)
            As in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_customers,)
        """
        check_is_fitted(self, "cluster_centers_")
        labels, _ = _nearest(self._features(X, fit=False), self.cluster_centers_)
        return labels

    def feature_matrix(self, X) -> np.ndarray:
        """The features of ``X`` as clustered: shape (n_customers, 3), in the space of
        ``cluster_centers_`` (the stored log and standardisation for log-metrics)."""
        check_is_fitted(self, "cluster_centers_")
        return self._features(X, fit=False)

    # --- JSON state -----------------------------------------------------------------------------
    def to_state(self) -> dict:
        """Fitted state as plain JSON types (dict/list/str/int/float/None; NaN stored as None).

        ``labels_`` (one entry per training customer) is not included.
        """
        check_is_fitted(self, "cluster_centers_")
        params = self.get_params(deep=False)
        if not isinstance(params["init"], str):
            params["init"] = np.asarray(params["init"], dtype=np.float64).tolist()
        table = None
        if self.k_selection_ is not None:
            table = [{c: _py(v) for c, v in rec.items()}
                     for rec in self.k_selection_.to_dict(orient="records")]
        return {
            "kind": _STATE_KIND,
            "state_version": _STATE_VERSION,
            "params": {k: _py(v) for k, v in params.items()},
            "n_clusters": int(self.n_clusters_),
            "cluster_centers": self.cluster_centers_.tolist(),
            "inertia": _py(self.inertia_),
            "feature_names": list(self.feature_names_),
            "feature_mean": None if self.feature_mean_ is None else self.feature_mean_.tolist(),
            "feature_scale": None if self.feature_scale_ is None else self.feature_scale_.tolist(),
            "selection_reason": self.selection_reason_,
            "knee": self.knee_,
            "metrics": dict(self.metrics_),
            "k_selection": table,
        }

    @classmethod
    def from_state(cls, state: Mapping) -> RFMClusterer:
        """Rebuild a fitted clusterer from :meth:`to_state` output (``labels_`` is not restored)."""
        if not isinstance(state, Mapping) or state.get("kind") != _STATE_KIND:
            raise ModelFormatError(
                f"Not an RFMClusterer state: expected 'kind': {_STATE_KIND!r}. Pass the dict "
                f"written by RFMClusterer.to_state()."
            )
        if state.get("state_version") != _STATE_VERSION:
            raise ModelFormatError(
                f"Unknown RFMClusterer state version {state.get('state_version')!r}; this rfmkit "
                f"reads version {_STATE_VERSION}. Refit the model with this rfmkit version."
            )
        try:
            est = cls(**state["params"])
            est._check_params()
            centers = np.asarray(state["cluster_centers"], dtype=np.float64)
            k = int(state["n_clusters"])
            if centers.shape != (k, 3) or not np.isfinite(centers).all():
                raise ValueError(f"cluster_centers has shape {centers.shape}, expected ({k}, 3)")
            mean, scale = state["feature_mean"], state["feature_scale"]
            if est.features == "log-metrics":
                mean = np.asarray(mean, dtype=np.float64)
                scale = np.asarray(scale, dtype=np.float64)
                if mean.shape != (3,) or scale.shape != (3,) or (scale <= 0).any():
                    raise ValueError("feature_mean/feature_scale must be 3 numbers (scale > 0)")
            elif mean is not None or scale is not None:
                raise ValueError("feature_mean/feature_scale must be null for features='scores'")
            table = state["k_selection"]
            if table is not None:
                frame = pd.DataFrame.from_records(table, columns=list(K_SELECTION_COLUMNS))
                table = frame.astype({K: np.int64, SILHOUETTE_SAMPLE_SIZE: np.int64,
                                      SILHOUETTE_SEED: "Int64", CHOSEN: bool})
                for c in (INERTIA, SILHOUETTE, CALINSKI_HARABASZ, DAVIES_BOULDIN, STABILITY):
                    table[c] = table[c].astype(np.float64)
            est.n_clusters_ = k
            est.cluster_centers_ = centers
            est.inertia_ = float(state["inertia"])
            est.feature_mean_, est.feature_scale_ = mean, scale
            est.feature_names_ = [str(c) for c in state["feature_names"]]
            est.selection_reason_ = str(state["selection_reason"])
            knee = state.get("knee")
            est.knee_ = None if knee is None else int(knee)
            est.metrics_ = dict(state["metrics"])
            est.k_selection_ = table
            est.n_features_in_ = 3
        except ParameterError as exc:
            raise ModelFormatError(f"Invalid parameters in the RFMClusterer state: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"Invalid RFMClusterer state ({type(exc).__name__}: {exc}). Pass the dict written "
                f"by RFMClusterer.to_state()."
            ) from None
        return est


def _py(value: Any) -> Any:
    """A plain-Python JSON value: numpy scalars unwrapped, NaN and NA as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def select_k(X, *, k_min=2, k_max=10, criterion="auto", features="scores", init="k-means++",
             n_init=10, max_iter=300, random_state=0, silhouette_sample_size=20000,
             stability_resamples=5) -> pd.DataFrame:
    """The k-selection table: fit k-means for every k in ``k_min..k_max`` and score each.

    Parameters are those of :class:`RFMClusterer` (with ``n_clusters="auto"``).

    Returns
    -------
    DataFrame
        Columns k, inertia, silhouette, calinski_harabasz, davies_bouldin, stability (NaN for
        k=1), silhouette_sample_size and silhouette_seed (how the silhouette was computed; the
        seed is NA when it is exact), and chosen (True for the k the criterion picks).
    """
    est = RFMClusterer("auto", features=features, k_min=k_min, k_max=k_max, criterion=criterion,
                       init=init, n_init=n_init, max_iter=max_iter, random_state=random_state,
                       silhouette_sample_size=silhouette_sample_size,
                       stability_resamples=stability_resamples)
    return est.fit(X).k_selection_


# ==================================================================================================
# Cluster profile (clusters.csv)
# ==================================================================================================
def profile_clusters(customers: pd.DataFrame, labels, names=None) -> pd.DataFrame:
    """Per-cluster summary of the customers: size, revenue, metrics and mean scores.

    Parameters
    ----------
    customers : DataFrame
        The per-customer table: recency, frequency and monetary are required; revenue and the
        score columns are used when present (NaN otherwise).
    labels : array-like of int, length n_customers
        Cluster id of each customer (0..k-1).
    names : sequence or None
        Cluster names indexed by id: strings, or (name, description) pairs (as returned by
        :func:`rfmkit.clustering.naming.name_clusters`), which adds a description column. Its
        length sets k, so clusters without customers still get a row. Default: Method Q's
        label from the rounded mean scores, e.g. "Cluster 3: r=4, f=2, m=3" ("Cluster 3" when
        the scores are absent).

    Returns
    -------
    DataFrame
        One row per cluster: cluster, cluster_name, [description,] customers, customer_share,
        revenue, revenue_share, recency/frequency/monetary mean and median, and r/f/m score
        means.
    """
    if not isinstance(customers, pd.DataFrame):
        raise InputError("profile_clusters needs the per-customer table as a pandas DataFrame.")
    missing = [c for c in schema.METRIC_COLUMNS if c not in customers.columns]
    if missing:
        raise SchemaError(
            f"profile_clusters needs the columns {', '.join(map(repr, schema.METRIC_COLUMNS))}; "
            f"missing {', '.join(map(repr, missing))}. Columns found: "
            f"{', '.join(map(repr, map(str, customers.columns)))}."
        )
    lab = np.asarray(labels)
    if lab.ndim != 1 or len(lab) != len(customers):
        raise InputError(
            f"labels must have one entry per customer ({len(customers)}); got shape {lab.shape}."
        )
    if len(lab) and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0):
        raise InputError("labels must be non-negative integer cluster ids.")
    descriptions = None
    if names is None:
        k = int(lab.max()) + 1 if len(lab) else 0
        label_names = [f"Cluster {i}" for i in range(k)]
    else:
        names = list(names)
        if names and not isinstance(names[0], str):
            label_names = [str(n[0]) for n in names]
            descriptions = [str(n[1]) for n in names]
        else:
            label_names = [str(n) for n in names]
        k = len(label_names)
        if len(lab) and lab.max() >= k:
            raise InputError(f"labels go up to {int(lab.max())} but only {k} names were given.")
    frame = pd.DataFrame({schema.CLUSTER: lab})
    n = len(frame)
    for c in schema.METRIC_COLUMNS:
        frame[c] = customers[c].to_numpy(dtype=np.float64, na_value=np.nan)
    has_revenue = schema.REVENUE in customers.columns
    frame[schema.REVENUE] = (customers[schema.REVENUE].to_numpy(dtype=np.float64, na_value=np.nan)
                             if has_revenue else np.nan)
    for c in schema.SCORE_COLUMNS:
        frame[c] = (customers[c].to_numpy(dtype=np.float64, na_value=np.nan)
                    if c in customers.columns else np.nan)
    g = frame.groupby(schema.CLUSTER)
    ids = pd.RangeIndex(k, name=schema.CLUSTER)
    count = g.size().reindex(ids, fill_value=0)
    revenue = g[schema.REVENUE].sum(min_count=1).reindex(ids)
    total_revenue = frame[schema.REVENUE].sum(min_count=1)
    score_means = {c: g[c].mean().reindex(ids).to_numpy() for c in schema.SCORE_COLUMNS}
    if names is None:
        for i in range(k):
            means = [score_means[c][i] for c in schema.SCORE_COLUMNS]
            if all(np.isfinite(means)):
                label_names[i] += ": " + ", ".join(
                    f"{c[0]}={v:.0f}" for c, v in zip(schema.SCORE_COLUMNS, means, strict=True))
    out = pd.DataFrame({schema.CLUSTER: np.arange(k, dtype=np.int64),
                        schema.CLUSTER_NAME: label_names})
    if descriptions is not None:
        out[DESCRIPTION] = descriptions
    out[CUSTOMERS] = count.to_numpy(dtype=np.int64)
    out[CUSTOMER_SHARE] = count.to_numpy(dtype=np.float64) / n if n else np.nan
    out[schema.REVENUE] = revenue.fillna(0.0 if has_revenue else np.nan).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out[REVENUE_SHARE] = (out[schema.REVENUE].to_numpy() / total_revenue
                              if has_revenue and total_revenue else np.nan)
    for c in schema.METRIC_COLUMNS:
        out[f"{c}_mean"] = g[c].mean().reindex(ids).to_numpy()
        out[f"{c}_median"] = g[c].median().reindex(ids).to_numpy()
    for c in schema.SCORE_COLUMNS:
        out[f"{c}_mean"] = score_means[c]
    return out
