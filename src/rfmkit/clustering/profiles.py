"""Cluster profiles: the per-cluster summary of the customers (the ``clusters.csv`` table)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError

__all__ = ["CUSTOMERS", "CUSTOMER_SHARE", "DESCRIPTION", "REVENUE_SHARE", "profile_clusters"]

# --- columns of the cluster profile (clusters.csv) -----------------------------------------------
CUSTOMERS = "customers"
CUSTOMER_SHARE = "customer_share"
REVENUE_SHARE = "revenue_share"
DESCRIPTION = "description"


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
