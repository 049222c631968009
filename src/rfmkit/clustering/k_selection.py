"""The search over k: k-means for every k, scored by inertia, silhouette, Calinski-Harabasz,
Davies-Bouldin and bootstrap stability (the k-selection table); the knee of the inertia curve; the
criteria that choose k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfmkit.clustering.features import _order_centers
from rfmkit.clustering.kmeans import _fit_centers, _nearest
from rfmkit.clustering.points import _child_seed, _Data
from rfmkit.clustering.quality import _silhouettes, _weighted_ari, _weighted_ch_db
from rfmkit.progress import step

__all__ = [
    "CALINSKI_HARABASZ", "CHOSEN", "DAVIES_BOULDIN", "INERTIA", "K", "K_SELECTION_COLUMNS",
    "SILHOUETTE", "SILHOUETTE_SAMPLE_SIZE", "SILHOUETTE_SEED", "STABILITY",
]

# --- tuning constants (documented in RFMClusterer's docstring) ----------------------------------
#: Stability on many distinct points is measured on a seeded subsample of at most this many rows.
STABILITY_MAX_ROWS = 20_000
#: criterion="auto": the candidates are the k within this distance of the inertia knee ...
AUTO_KNEE_WINDOW = 1
#: ... and, if any candidate reaches it, only those at least this stable are kept.
AUTO_MIN_STABILITY = 0.8
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
    for number, k in enumerate(ks, start=1):
        if len(ks) > 1:
            step(f"k={k}", number=number, total=len(ks))
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

    if len(ks) > 1:
        step("silhouettes")
    if data.weighted:
        sil = _silhouettes(data.points, data.weights, [r.labels for r in results])
    else:
        sil = _silhouettes(X[sil_rows], np.ones(len(sil_rows)), [r.labels for r in results])
    for r, s in zip(results, sil, strict=True):
        r.silhouette = s
    return results, sample_size, sample_seed


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
