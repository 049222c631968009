"""The distributions section: statistics and a histogram of recency, frequency and monetary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.report.sections.common import METRIC_LABELS, plain

__all__ = ["HISTOGRAM_BINS", "LOG_AXIS_MIN_RATIO", "LOG_AXIS_MIN_SKEW", "distributions"]

#: Histogram bins of the metric distributions.
HISTOGRAM_BINS = 40
#: A metric gets a log axis when all values are > 0, its skewness exceeds this ...
LOG_AXIS_MIN_SKEW = 1.0
#: ... and its largest value is at least this many times its smallest.
LOG_AXIS_MIN_RATIO = 30.0


def _histogram(values: np.ndarray, *, log: bool, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    lo, hi = float(values.min()), float(values.max())
    integer = bool(np.all(values == np.round(values)))
    if lo == hi:
        edges = np.array([lo - 0.5, hi + 0.5])
    elif log:
        if integer:  # bins [a, b) of whole numbers, so no bin falls between two integers
            edges = np.unique(np.floor(np.geomspace(lo, hi + 1, bins + 1)))
        else:
            edges = np.geomspace(lo, hi, bins + 1)
    elif integer and hi - lo + 1 <= bins:
        edges = np.arange(lo, hi + 2) - 0.5
    else:
        edges = np.linspace(lo, hi, bins + 1)
    counts, edges = np.histogram(values, bins=edges)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts], "log": log}


def _unit(metric: str, params: Mapping[str, Any]) -> str:
    """What the metric counts, in the words of the options the model used."""
    if metric == schema.FREQUENCY:
        return {"orders": "orders", "days": "purchase days", "rows": "purchase rows"}.get(
            params.get("frequency"), "purchases")
    if metric == schema.MONETARY:
        if params.get("monetary") == "mean":
            return "mean spend per day" if params.get("consolidate_days") else \
                "mean spend per order"
        return "total spend"
    return METRIC_LABELS[metric][1]


def _metric_summary(metric: str, values: np.ndarray, cap: float | None,
                    unit: str) -> dict[str, Any]:
    label = METRIC_LABELS[metric][0]
    skew = float(pd.Series(values).skew()) if len(values) > 2 else math.nan
    lo, hi = float(values.min()), float(values.max())
    log = bool(lo > 0 and np.isfinite(skew) and skew > LOG_AXIS_MIN_SKEW
               and hi >= LOG_AXIS_MIN_RATIO * lo)
    q = np.percentile(values, [25, 50, 75, 95, 99])
    return {
        "metric": metric,
        "label": label,
        "unit": unit,
        "count": int(len(values)),
        "sum": plain(values.sum()),
        "mean": plain(values.mean()),
        "min": plain(lo),
        "p25": plain(q[0]),
        "median": plain(q[1]),
        "p75": plain(q[2]),
        "p95": plain(q[3]),
        "p99": plain(q[4]),
        "max": plain(hi),
        "skew": plain(skew),
        "log_axis": log,
        "cap": plain(cap),
        "above_cap": None if cap is None else int((values > cap).sum()),
        "histogram": _histogram(values, log=log),
    }


def distributions(model: Any, result: Any) -> dict[str, Any]:
    """Statistics and a histogram of each metric, with its cap, over all customers."""
    caps = getattr(model.scorer_, "caps_", {}) or {}
    out = {}
    for metric in schema.METRIC_COLUMNS:
        values = result.customers[metric].to_numpy(dtype="float64", na_value=np.nan)
        values = values[np.isfinite(values)]
        out[metric] = _metric_summary(metric, values, caps.get(metric),
                                      _unit(metric, model.params_))
    return out
