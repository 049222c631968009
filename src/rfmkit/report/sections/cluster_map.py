"""The 2-D cluster map of the clusters section: a seeded sample of customers, projected.

The default projection is PCA of the features the clusters were fitted on (the raw scores,
or the standardised log metrics), fitted on all customers: an exact n x 3 SVD, milliseconds at
any size, and distances on it are the distances k-means used. Only the plotted dots are a
sample. t-SNE (``projection="tsne"``) runs on at most :data:`TSNE_MAX_POINTS` of them: it
costs seconds (about 4 s for 2,000 points on one core, growing faster than linearly), and its
clumps say which customers are alike, not how far apart groups are.

The only random step of the summary: the sample (every cluster represented), the jitter of
integer score features and t-SNE are all seeded with ``random_state``. The statistics of the
report use all customers; only this scatter is sampled.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.errors import SmallDataWarning
from rfmkit.progress import step
from rfmkit.report.sections.common import plain

__all__ = ["MAP_DIGITS", "MAP_JITTER", "MAP_MIN_PER_CLUSTER", "PROJECTIONS", "TSNE_EXACT_MAX",
           "TSNE_MAX_POINTS", "TSNE_MIN_POINTS", "axis_words", "cluster_map"]

#: Every cluster keeps at least this many customers (or all it has) in the sampled map.
MAP_MIN_PER_CLUSTER = 30
#: Half-width of the jitter added to integer score features in the map (one level is 1.0).
MAP_JITTER = 0.3
#: Digits kept for map coordinates (enough for a plot, keeps the file small).
MAP_DIGITS = 3
#: Projections of the map: PCA on all customers, or t-SNE on the sample.
PROJECTIONS = ("pca", "tsne")
#: t-SNE samples up to this size use exact gradients, larger ones Barnes-Hut.
TSNE_EXACT_MAX = 200
#: t-SNE needs more points than its perplexity and says nothing about a handful of points:
#: smaller samples are mapped with PCA instead (with a SmallDataWarning).
TSNE_MIN_POINTS = 10
#: t-SNE maps at most this many customers (a seeded sample of the map's sample): its cost grows
#: faster than linearly (5,000 points: about 16 s), PCA's does not.
TSNE_MAX_POINTS = 2000
#: What a higher value of each clustering feature means, in words.
_HIGHER = {
    schema.R_SCORE: ("more recent", "less recent"),
    schema.F_SCORE: ("buy more often", "buy less often"),
    schema.M_SCORE: ("spend more", "spend less"),
    schema.RECENCY: ("longer since the last purchase", "more recent"),
    schema.FREQUENCY: ("buy more often", "buy less often"),
    schema.MONETARY: ("spend more", "spend less"),
}
#: A loading at least this large (of a unit vector) names its feature in the axis words.
_LOADING_NAMED = 0.4


def axis_words(loadings: list[float], feature_names: list[str]) -> str:
    """What moving right along a principal component means: ``"more recent, spend more"``."""
    words = []
    for w, name in sorted(zip(loadings, feature_names, strict=True), key=lambda t: -abs(t[0])):
        if abs(w) >= _LOADING_NAMED and name in _HIGHER:
            words.append(_HIGHER[name][0 if w > 0 else 1])
    return ", ".join(words) or "a mix of all features"


def _sample_rows(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Row positions of a seeded sample of ``size`` customers, every cluster represented.

    Each cluster gets its proportional share, but at least ``MAP_MIN_PER_CLUSTER`` rows (or all
    it has), so tiny clusters stay visible; the positions are returned sorted.
    """
    n = len(labels)
    if n <= size:
        return np.arange(n)
    ids, counts = np.unique(labels, return_counts=True)
    share = counts * size / n
    quota = np.minimum(np.maximum(np.floor(share), np.minimum(counts, MAP_MIN_PER_CLUSTER)),
                       counts).astype("int64")
    # Hand the rows lost to rounding down to the largest remainders, so that the sample has
    # `size` rows unless the per-cluster minimum pushed it above.
    short = size - int(quota.sum())
    if short > 0:
        room = quota < counts
        order = np.lexsort((ids, -(share - np.floor(share))))
        for i in [i for i in order if room[i]][:short]:
            quota[i] += 1
    picked = []
    for cluster, take in zip(ids, quota, strict=True):
        rows = np.flatnonzero(labels == cluster)
        picked.append(rng.choice(rows, int(take), replace=False))
    return np.sort(np.concatenate(picked))


def _project(features: np.ndarray, centers: np.ndarray, rows: np.ndarray, projection: str,
             random_state: int) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    mean = features.mean(axis=0)
    if projection == "pca":
        # PCA on all customers (n x 3: cheap and exact); signs fixed so the largest loading of
        # each component is positive, which makes the picture the same on every machine.
        _, sing, vt = np.linalg.svd(features - mean, full_matrices=False)
        signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
        signs[signs == 0] = 1.0
        vt = vt * signs[:, None]
        variance = sing**2
        ratio = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
        # fewer than 3 customers give fewer than 2 components: the missing axis is flat
        components = np.vstack([vt[:2], np.zeros((max(0, 2 - len(vt)), vt.shape[1]))])
        ratio = np.concatenate([ratio, np.zeros(max(0, 2 - len(ratio)))])
        return ((features[rows] - mean) @ components.T, (centers - mean) @ components.T,
                {"explained_variance_ratio": [float(r) for r in ratio[:2]],
                 "loadings": [[float(v) for v in comp] for comp in components]})
    from sklearn.manifold import TSNE

    sample = features[rows]
    perplexity = float(min(30.0, max(2.0, (len(sample) - 1) / 3.0)))
    # Exact gradients are faster than Barnes-Hut on small samples and scale as n**2.
    method = "exact" if len(sample) <= TSNE_EXACT_MAX else "barnes_hut"
    embedded = TSNE(n_components=2, perplexity=perplexity, init="pca", method=method,
                    random_state=random_state).fit_transform(sample)
    return embedded, None, {"perplexity": perplexity, "tsne_method": method}


def _cluster_features(clusterer: Any, customers: pd.DataFrame) -> np.ndarray:
    """The customers in the clusterer's feature space (where its centres live)."""
    return np.asarray(clusterer.feature_matrix(customers), dtype="float64")


def cluster_map(model: Any, result: Any, *, scatter_sample: int, projection: str,
                random_state: int) -> dict[str, Any]:
    """The map: sampled customers' 2-D coordinates and cluster, and the centres' positions."""
    clusterer = model.clusterer_
    customers = result.customers
    features = _cluster_features(clusterer, customers)
    labels = customers[schema.CLUSTER].to_numpy(dtype="int64")
    rng = np.random.default_rng(random_state)
    rows = _sample_rows(labels, scatter_sample, rng)
    discrete = bool(np.all(features == np.round(features)))
    jitter = MAP_JITTER if discrete else 0.0
    points = features.copy()
    if jitter:
        # Integer scores pile up on at most n_bins**3 points; a small seeded jitter shows mass.
        points[rows] += rng.uniform(-jitter, jitter, size=(len(rows), features.shape[1]))
    centers = np.asarray(clusterer.cluster_centers_, dtype="float64")
    if projection == "tsne" and len(rows) > TSNE_MAX_POINTS:
        rows = rows[_sample_rows(labels[rows], TSNE_MAX_POINTS, rng)]
    if projection == "tsne" and len(rows) < TSNE_MIN_POINTS:
        warnings.warn(
            f"The cluster map has only {len(rows)} customer(s); t-SNE needs at least "
            f"{TSNE_MIN_POINTS}, so the map uses PCA (projection='pca').",
            SmallDataWarning, stacklevel=2)
        projection = "pca"
    step(f"{'t-SNE' if projection == 'tsne' else 'PCA'} map of {len(rows):,} customers")
    xy, centers_xy, extra = _project(points, centers, rows, projection, random_state)
    names = list(getattr(model, "cluster_names_", None) or [])
    if centers_xy is None:  # t-SNE: label each cluster at the median of its sampled points
        centers_xy = np.array([np.median(xy[labels[rows] == c], axis=0)
                               if np.any(labels[rows] == c) else [np.nan, np.nan]
                               for c in range(len(centers))])
    feature_names = list(getattr(clusterer, "feature_names_", None) or
                         (schema.SCORE_COLUMNS if clusterer.features == "scores"
                          else schema.METRIC_COLUMNS))
    if "loadings" in extra:
        extra["axis_words"] = [axis_words(comp, feature_names) for comp in extra["loadings"]]
    return {
        "projection": projection,
        "features": clusterer.features,
        "feature_names": feature_names,
        "customers": int(len(customers)),
        "sample_size": int(len(rows)),
        "random_state": int(random_state),
        "jitter": jitter,
        **extra,
        "x": [round(float(v), MAP_DIGITS) for v in xy[:, 0]],
        "y": [round(float(v), MAP_DIGITS) for v in xy[:, 1]],
        "cluster": [int(c) for c in labels[rows]],
        "centers": [{"cluster": i, "name": names[i] if i < len(names) else f"Cluster {i}",
                     "x": plain(p[0]), "y": plain(p[1])}
                    for i, p in enumerate(centers_xy)],
    }

