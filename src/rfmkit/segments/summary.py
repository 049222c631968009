"""The per-segment summary (``segments.csv``): customers, revenue and R, F, M per segment."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.errors import InputError, SchemaError

__all__ = ["SUMMARY_COLUMNS", "segment_summary"]

#: Columns of :func:`segment_summary` (``segments.csv``).
SUMMARY_COLUMNS = (
    schema.SEGMENT,
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "recency_mean",
    "recency_median",
    "frequency_mean",
    "frequency_median",
    "monetary_mean",
    "monetary_median",
)


def _share(part: np.ndarray, total: float) -> np.ndarray:
    """Fractions of ``total``; NaN when the total is zero (no customers, or no revenue)."""
    if total == 0:
        return np.full(len(part), math.nan)
    return part / total



def segment_summary(
    customers: pd.DataFrame, *, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per segment: customer count and share, revenue and share, mean and median R, F and M.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with ``segment``, ``recency``, ``frequency``, ``monetary`` and
        optionally ``revenue`` (revenue is the sum of ``revenue`` when present, else of
        ``monetary``).
    order : sequence of str or None, default=None
        All segment names in row order, usually ``segment_map.segment_names`` (rules, then the
        fallback); segments without customers are kept as rows with 0 customers. Without it a
        categorical ``segment`` column (as returned by :func:`assign_segments`) gives the order;
        otherwise segments are sorted by customers, descending, then name.

    Returns
    -------
    summary : pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`, one row per segment; shares are fractions of the total
        (0..1, NaN when the total is 0); means and medians are NaN for empty segments.
    """
    required = (schema.SEGMENT, *schema.METRIC_COLUMNS)
    missing = [c for c in required if c not in customers.columns]
    if missing:
        raise SchemaError(
            f"Missing column(s) {', '.join(map(repr, missing))} for the segment summary. "
            f"Columns found: {', '.join(map(repr, map(str, customers.columns)))}."
        )
    segment = customers[schema.SEGMENT]
    if order is not None:
        if isinstance(order, str) or len(set(order)) != len(order):
            raise InputError(
                "order must be a sequence of distinct segment names, e.g. "
                "segment_map.segment_names."
            )
        order = list(order)
    elif isinstance(segment.dtype, pd.CategoricalDtype):
        order = list(segment.cat.categories)
    else:
        counts = segment.value_counts()
        order = sorted(counts.index, key=lambda name: (-counts[name], str(name)))
    # Position of each customer's segment in ``order`` (-1: not there, or missing): the
    # distinct names first (a fast hash pass), then a lookup among those few.
    found, names = pd.factorize(segment)
    codes = np.append(pd.Index(order).get_indexer(names), -1)[found]
    stray = segment[codes < 0]
    if len(stray):
        found = sorted(map(str, stray.dropna().unique()))[:5]
        found += ["missing values"] if stray.isna().any() else []
        raise InputError(
            f"The segment column has values not among the segments "
            f"{', '.join(map(repr, order))}: {', '.join(found)}. "
            "Summarise with the segment names of the map that assigned the segments."
        )
    revenue_source = schema.REVENUE if schema.REVENUE in customers.columns else schema.MONETARY
    frame = pd.DataFrame(
        {
            "key": pd.Categorical.from_codes(codes, categories=order),
            "revenue": customers[revenue_source].to_numpy(dtype="float64"),
            **{m: customers[m].to_numpy(dtype="float64") for m in schema.METRIC_COLUMNS},
        }
    )
    grouped = frame.groupby("key", observed=False, sort=True)
    n_customers = grouped.size().to_numpy(dtype="int64")
    revenue = grouped["revenue"].sum().to_numpy(dtype="float64")
    total_customers = n_customers.sum()
    total_revenue = revenue.sum()
    out: dict[str, Any] = {
        schema.SEGMENT: order,
        "customers": n_customers,
        "customer_share": _share(n_customers, total_customers),
        "revenue": revenue,
        "revenue_share": _share(revenue, total_revenue),
    }
    for metric in schema.METRIC_COLUMNS:
        out[f"{metric}_mean"] = grouped[metric].mean().to_numpy(dtype="float64")
        out[f"{metric}_median"] = grouped[metric].median().to_numpy(dtype="float64")
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
