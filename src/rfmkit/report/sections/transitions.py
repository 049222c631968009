"""The transitions section: how the same customers moved between segments and clusters.

Present when the segmentation carries previous assignments (``Segmentation.previous``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from rfmkit import schema
from rfmkit.errors import InputError

__all__ = ["transitions"]


def _crosstab(before: pd.Series, after: pd.Series, order: Sequence[str]) -> dict[str, Any]:
    seen_before = set(before.unique())
    seen_after = set(after.unique())
    rows = [n for n in order if n in seen_before] + sorted(seen_before - set(order))
    cols = [n for n in order if n in seen_after] + sorted(seen_after - set(order))
    table = pd.crosstab(before, after).reindex(index=rows, columns=cols, fill_value=0)
    counts = table.to_numpy(dtype="int64")
    same = sum(int(table.loc[n, n]) for n in rows if n in cols)
    return {
        "from": [str(n) for n in rows],
        "to": [str(n) for n in cols],
        "counts": [[int(c) for c in row] for row in counts],
        "customers": int(counts.sum()),
        "unchanged": same,
        "changed": int(counts.sum()) - same,
    }


def _cluster_labels(frame: pd.DataFrame) -> pd.Series:
    ids = frame[schema.CLUSTER].astype("int64").astype(str)
    if schema.CLUSTER_NAME in frame.columns:
        return ids + ": " + frame[schema.CLUSTER_NAME].astype(str)
    return "Cluster " + ids


def transitions(model: Any, result: Any) -> dict[str, Any] | None:
    """Previous -> current segment and cluster of the same customers; None without previous."""
    previous = getattr(result, "previous", None)
    if previous is None:
        return None
    if not isinstance(previous, pd.DataFrame) or schema.CUSTOMER_ID not in previous.columns:
        raise InputError(
            "Segmentation.previous must be a DataFrame with a customer_id column (and segment, "
            f"cluster, cluster_name); got {type(previous).__name__}."
        )
    current = result.customers
    merged = current.merge(previous, on=schema.CUSTOMER_ID, how="inner",
                           suffixes=("", "_previous"))
    out: dict[str, Any] = {
        "customers_current": int(len(current)),
        "customers_previous": int(len(previous)),
        "matched": int(len(merged)),
        "segments": None,
        "clusters": None,
    }
    if merged.empty:  # no customer in common: nothing moved anywhere we can show
        return out
    if schema.SEGMENT in previous.columns:
        out["segments"] = _crosstab(merged[f"{schema.SEGMENT}_previous"].astype(str),
                                    merged[schema.SEGMENT].astype(str),
                                    model.segment_map_.segment_names)
    if schema.CLUSTER in previous.columns and schema.CLUSTER in current.columns:
        before = merged[[f"{schema.CLUSTER}_previous"]].rename(
            columns={f"{schema.CLUSTER}_previous": schema.CLUSTER})
        if f"{schema.CLUSTER_NAME}_previous" in merged.columns:
            before[schema.CLUSTER_NAME] = merged[f"{schema.CLUSTER_NAME}_previous"]
        before = before.dropna(subset=[schema.CLUSTER])
        after = merged.loc[before.index]
        labels_before, labels_after = _cluster_labels(before), _cluster_labels(after)
        order = sorted(set(labels_before) | set(labels_after),
                       key=lambda s: (int(s.split(":")[0]) if s.split(":")[0].isdigit() else 0, s))
        clusters = _crosstab(labels_before, labels_after, order)
        # Cluster ids are carried over from the previous model, so "kept" compares ids: a
        # cluster that was renamed is still the same cluster.
        kept = int((before[schema.CLUSTER].astype("int64").to_numpy()
                    == after[schema.CLUSTER].astype("int64").to_numpy()).sum())
        clusters.update(unchanged=kept, changed=clusters["customers"] - kept)
        out["clusters"] = clusters
    return out

