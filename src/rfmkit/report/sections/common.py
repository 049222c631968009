"""Helpers every section of the summary shares: plain JSON values, records, number text.

The summary holds only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``
(missing numbers are ``None``, never NaN); :func:`plain` makes it so.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema

__all__ = ["METRIC_LABELS", "customer_revenue", "number_text", "plain", "records"]

#: Display name and default unit of each metric.
METRIC_LABELS = {
    schema.RECENCY: ("Recency", "days since the last purchase"),
    schema.FREQUENCY: ("Frequency", "purchases"),
    schema.MONETARY: ("Monetary", "spend"),
}


def plain(value: Any) -> Any:
    """``value`` with numpy/pandas scalars turned into Python ones and NaN/NA into None."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    columns = list(frame.columns) if columns is None else [c for c in columns if c in frame]
    return [{c: plain(v) for c, v in zip(columns, row, strict=True)}
            for row in frame[columns].itertuples(index=False, name=None)]


def number_text(x: float | None) -> str:
    """Short display form of a number: integers as they are, others with 4 significant digits."""
    if x is None:
        return "?"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def customer_revenue(customers: pd.DataFrame) -> np.ndarray:
    """Revenue per customer: the revenue column when present, else monetary (as in segments.csv)."""
    column = schema.REVENUE if schema.REVENUE in customers.columns else schema.MONETARY
    return customers[column].to_numpy(dtype="float64", na_value=np.nan)
