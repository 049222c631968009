"""K-means centres: the vectorised weighted Lloyd (many restarts on weighted distinct points,
the same k-means problem as on all rows) and scikit-learn's KMeans on many distinct points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

__all__ = ["LLOYD_TOL"]

#: Relative tolerance of the Lloyd iterations (scikit-learn's default ``tol``).
LLOYD_TOL = 1e-4

# Memory budgets of the vectorised Lloyd iterations (number of float64 cells per block).
_STATE_CELLS = 1_000_000  # restarts x points held at once
_ESTEP_CELLS = 4_000_000  # restarts x points x k per E-step block


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


def _weighted_mean_var(P: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = w.sum()
    mean = (w[:, None] * P).sum(axis=0) / total
    var = (w[:, None] * (P - mean) ** 2).sum(axis=0) / total
    return mean, var


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
    # One BLAS thread for the initialisation and the Lloyd iterations, as scikit-learn's KMeans
    # limits its Lloyd loop: the batched matrix products are small, so more threads gain little,
    # and one thread sums in the same order on any machine (the same centres to the last bit).
    with threadpool_limits(limits=1, user_api="blas"):
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
