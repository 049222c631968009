"""Keep cluster ids and names stable across refits by matching new centroids to old ones.

:func:`match_clusters` pairs the clusters of a refit with those of the previous model by an
optimal assignment on centroid distance (:func:`scipy.optimize.linear_sum_assignment`, minimising
the sum of Euclidean distances). A pair counts as the same cluster only if the centroid moved at
most ``max_distance``; by default that is half the distance from the old centroid to its nearest
other old centroid, i.e. the new centroid must lie well inside the old cluster's territory, which
makes the rule independent of the feature scale (scores 1..5, 0..100, standardised logs). Matched
clusters carry over the old id and name; unmatched new clusters are "new" and get fresh ids
(above every old id, so a retired id is never reused for a different group of customers);
unmatched old clusters are "gone". The number of clusters may change between refits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from rfmkit.errors import InputError, ParameterError

__all__ = ["ClusterMatch", "match_clusters"]

#: Default max_distance as a fraction of the distance from an old centroid to its nearest
#: other old centroid.
DEFAULT_RELATIVE_DISTANCE = 0.5


@dataclass(frozen=True)
class ClusterMatch:
    """How the clusters of a refit correspond to those of the previous model.

    Attributes
    ----------
    mapping : dict[int, int | None]
        New cluster index -> the old id it continues, or None for a new cluster.
    ids : list of int
        The id each new cluster index gets: the old id when matched, else a fresh id.
    names : list of str or None
        The name each new cluster gets: the old name when matched; for a new cluster its entry
        of ``new_names``, with " (new)" appended if an old cluster (continued or gone) had that
        name, so a name never moves to another id; None without ``new_names``.
    distances : list of float or None
        Distance from each new centroid to the old centroid it was paired with (None if it was
        not paired at all).
    new : list of int
        New cluster indices without a counterpart (unpaired, or farther than the threshold).
    gone : list of int
        Old ids no new cluster continues.
    moved : list of (int, float)
        (old id, distance moved) for every continued cluster, by id.
    thresholds : list of float
        The max_distance used for each old cluster.
    """

    mapping: dict[int, int | None]
    ids: list[int]
    names: list[str | None]
    distances: list[float | None]
    new: list[int]
    gone: list[int]
    moved: list[tuple[int, float]]
    thresholds: list[float] = field(repr=False)

    def relabel(self, labels) -> np.ndarray:
        """Map labels of the refit (new indices 0..k-1) to the carried-over ids."""
        lab = np.asarray(labels)
        if lab.size and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0
                         or lab.max() >= len(self.ids)):
            raise InputError(
                f"labels must be cluster indices 0..{len(self.ids) - 1} of the refit."
            )
        return np.asarray(self.ids, dtype=np.int64)[lab]

    @property
    def order(self) -> np.ndarray:
        """New cluster indices sorted by their carried-over id."""
        return np.argsort(np.asarray(self.ids), kind="stable")

    def reorder(self, rows) -> np.ndarray:
        """Rows indexed by new cluster index (e.g. centres), reordered by carried-over id;
        the matching ids are ``sorted(self.ids)``."""
        arr = np.asarray(rows)
        if arr.shape[0] != len(self.ids):
            raise InputError(f"Expected {len(self.ids)} rows (one per new cluster); got "
                             f"{arr.shape[0]}.")
        return arr[self.order]


def _as_centers(value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Cannot read {what} as numbers ({exc}).") from None
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InputError(f"{what} must have shape (n_clusters, n_features); got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise InputError(f"{what} contain missing or infinite values.")
    return arr


def match_clusters(new_centers, old_centers, *, old_names: Sequence[str] | None,
                   max_distance: float | None = None, old_ids: Sequence[int] | None = None,
                   new_names: Sequence[str] | None = None) -> ClusterMatch:
    """Match the centroids of a refit to the previous model's, so ids and names carry over.

    Parameters
    ----------
    new_centers : array of shape (k_new, n_features)
        Centroids of the refit, in the same feature space as ``old_centers``.
    old_centers : array of shape (k_old, n_features)
        Centroids of the previous model, row i having id ``old_ids[i]``.
    old_names : sequence of str or None
        Names of the old clusters, aligned with ``old_centers``.
    max_distance : float > 0 or None
        Largest centroid move (Euclidean, feature units) still counted as the same cluster.
        Default: for each old cluster, half the distance to its nearest other old centroid
        (no limit when there is a single old cluster).
    old_ids : sequence of int or None
        Ids of the old clusters (default 0..k_old-1).
    new_names : sequence of str or None
        Names to give new (unmatched) clusters, aligned with ``new_centers``.

    Returns
    -------
    ClusterMatch
    """
    new = _as_centers(new_centers, "new_centers")
    old = _as_centers(old_centers, "old_centers")
    if new.shape[1] != old.shape[1]:
        raise InputError(
            f"new_centers have {new.shape[1]} features but old_centers have {old.shape[1]}; "
            f"both must be in the same feature space."
        )
    k_new, k_old = new.shape[0], old.shape[0]
    ids_old = list(range(k_old)) if old_ids is None else [int(i) for i in old_ids]
    if len(ids_old) != k_old or len(set(ids_old)) != k_old:
        raise InputError(f"old_ids must be {k_old} distinct integers.")
    if old_names is not None and len(old_names) != k_old:
        raise InputError(f"old_names has {len(old_names)} entries for {k_old} old clusters.")
    if new_names is not None and len(new_names) != k_new:
        raise InputError(f"new_names has {len(new_names)} entries for {k_new} new clusters.")
    if max_distance is not None:
        if isinstance(max_distance, bool) or not isinstance(max_distance, (int, float)) or not (
                np.isfinite(max_distance) and max_distance > 0):
            raise ParameterError(
                f"The 'max_distance' parameter of match_clusters must be a float > 0 or None. "
                f"Got {max_distance!r} instead."
            )
        thresholds = np.full(k_old, float(max_distance))
    elif k_old == 1:
        thresholds = np.array([np.inf])
    else:
        between = np.sqrt(((old[:, None, :] - old[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(between, np.inf)
        thresholds = DEFAULT_RELATIVE_DISTANCE * between.min(axis=1)

    dist = np.sqrt(((new[:, None, :] - old[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(dist)
    mapping: dict[int, int | None] = {i: None for i in range(k_new)}
    distances: list[float | None] = [None] * k_new
    for i, j in zip(rows, cols, strict=True):
        distances[i] = float(dist[i, j])
        if dist[i, j] <= thresholds[j]:
            mapping[i] = ids_old[j]
    continued = {v for v in mapping.values() if v is not None}
    next_id = max(ids_old) + 1
    ids: list[int] = []
    for i in range(k_new):
        if mapping[i] is None:
            ids.append(next_id)
            next_id += 1
        else:
            ids.append(int(mapping[i]))
    position = {cid: j for j, cid in enumerate(ids_old)}
    used = {str(n) for n in old_names} if old_names is not None else set()
    names: list[str | None] = []
    for i in range(k_new):
        if mapping[i] is not None:
            names.append(None if old_names is None else str(old_names[position[mapping[i]]]))
        elif new_names is not None:
            name = str(new_names[i])
            names.append(f"{name} (new)" if name in used else name)
        else:
            names.append(None)
    moved = sorted((int(mapping[i]), float(distances[i])) for i in range(k_new)
                   if mapping[i] is not None)
    return ClusterMatch(
        mapping=mapping,
        ids=ids,
        names=names,
        distances=distances,
        new=[i for i in range(k_new) if mapping[i] is None],
        gone=sorted(cid for cid in ids_old if cid not in continued),
        moved=moved,
        thresholds=[float(t) for t in thresholds],
    )
