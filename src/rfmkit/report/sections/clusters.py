"""The clusters section: the clusters' profile, centres and names, and the choice of k.

It reads the fitted clusterer (``model.clusterer_``, an :class:`~rfmkit.RFMClusterer`): the knee
of the inertia curve is the one it recorded at fit (``knee_``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.report.sections.cluster_map import cluster_map
from rfmkit.report.sections.common import plain, records
from rfmkit.report.sections.overview import CLUSTER_OPTIONS

__all__ = ["TINY_CLUSTER_SHARE", "cluster_warnings", "clusters"]

#: A cluster holding less than this share of the customers is flagged as tiny.
TINY_CLUSTER_SHARE = 0.01
#: Columns of the k-selection table the report shows.
_K_SELECTION_COLUMNS = ("k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin",
                        "stability", "chosen")


def cluster_warnings(profile: pd.DataFrame) -> list[dict[str, str]]:
    """A warning for each cluster under :data:`TINY_CLUSTER_SHARE` of the customers."""
    out = []
    total = int(profile["customers"].sum())
    for row in profile.itertuples(index=False):
        customers = int(row.customers)
        share = customers / total if total else 0.0
        if share < TINY_CLUSTER_SHARE:
            name = getattr(row, schema.CLUSTER_NAME, f"Cluster {row.cluster}")
            what = "no customers" if customers == 0 else (
                f"{customers:,} customer{'s' if customers != 1 else ''} ({share:.2%})")
            out.append({
                "kind": "tiny_cluster",
                "message": f"Cluster {int(row.cluster)} ({name}) has {what}, under "
                           f"{TINY_CLUSTER_SHARE:.0%} of all customers; consider fewer clusters.",
            })
    return out


def clusters(model: Any, result: Any, *, scatter_sample: int, projection: str,
             random_state: int) -> dict[str, Any] | None:
    """The clusters section; None when the model has no clustering."""
    clusterer = getattr(model, "clusterer_", None)
    profile = getattr(result, "clusters", None)
    if clusterer is None or profile is None or schema.CLUSTER not in result.customers.columns:
        return None
    k_table = getattr(result, "k_selection", None)
    if k_table is None:
        k_table = getattr(clusterer, "k_selection_", None)
    selection = None
    if k_table is not None and len(k_table):
        rows = records(k_table, _K_SELECTION_COLUMNS)
        selection = {
            "rows": rows,
            "chosen": next((int(r["k"]) for r in rows if r.get("chosen")), None),
            "knee": plain(clusterer.knee_),  # the clusterer's, found when it chose k
            "best_silhouette": _best_k(k_table, "silhouette"),
        }
    params = model.params_
    names = list(getattr(model, "cluster_names_", None) or [])
    return {
        "k": int(clusterer.n_clusters_),
        "features": clusterer.features,
        "criterion": params.get("criterion"),
        "selection_reason": getattr(clusterer, "selection_reason_", None),
        "metrics": plain(getattr(clusterer, "metrics_", None) or {}),
        "k_selection": selection,
        "names": names,
        "centers": [[plain(v) for v in row] for row in np.asarray(clusterer.cluster_centers_)],
        "profile": records(profile),
        "map": cluster_map(model, result, scatter_sample=scatter_sample,
                           projection=projection, random_state=random_state),
        "options": {n: plain(params.get(n)) for n in CLUSTER_OPTIONS},
    }


def _best_k(table: pd.DataFrame, column: str) -> int | None:
    values = table[column].to_numpy(dtype="float64", na_value=np.nan)
    if not np.isfinite(values).any():
        return None
    return int(table["k"].to_numpy()[int(np.nanargmax(values))])

