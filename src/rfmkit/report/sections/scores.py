"""The scores section: the customers of each score and the metric range each score stands for."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.report.sections.common import METRIC_LABELS, number_text, plain
from rfmkit.scoring.bins import _constant_score
from rfmkit.scoring.inputs import NEGATED_METRICS

__all__ = ["PERCENTILE_SCORE_BINS", "scores"]

#: Histogram bins of percentile scores (0-100).
PERCENTILE_SCORE_BINS = 20

_SCORE_OF = dict(zip(schema.METRIC_COLUMNS, schema.SCORE_COLUMNS, strict=True))
_LETTER = {schema.RECENCY: "R", schema.FREQUENCY: "F", schema.MONETARY: "M"}


def _range_text(low: float | None, high: float | None, *, low_open: bool, high_open: bool,
                integer: bool) -> str:
    """Text of the interval between ``low`` and ``high`` (``None``: unbounded).

    ``low_open``/``high_open`` say whether the bound itself is excluded. For whole-number metrics
    the interval is written as the whole numbers it holds, e.g. "2-4" for [2, 5).
    """
    if integer:
        first = None if low is None else int(math.floor(low) + 1 if low_open else math.ceil(low))
        last = None if high is None else int(math.ceil(high) - 1 if high_open
                                              else math.floor(high))
        if first is None and last is None:
            return "all"
        if first is None:
            return f"≤ {last:,}"
        if last is None:
            return f"≥ {first:,}"
        return f"{first:,}" if first == last else f"{first:,}–{last:,}"
    if low is None and high is None:
        return "all"
    lower = None if low is None else f"{'>' if low_open else '≥'} {number_text(low)}"
    upper = None if high is None else f"{'<' if high_open else '≤'} {number_text(high)}"
    return " and ".join(t for t in (lower, upper) if t)


def _bin_ranges(metric: str, edges: np.ndarray, *, integer: bool) -> list[dict[str, Any]]:
    """The metric values of each score 1..n, on the metric's own scale (recency un-negated).

    A score of ``v`` (``-recency`` for recency) is ``1 + #{inner edges <= v}``: score k holds
    ``inner[k-2] <= v < inner[k-1]``. For recency that is ``-inner[k-1] < recency <= -inner[k-2]``.
    """
    inner = [float(e) for e in edges[1:-1]]
    n = len(inner) + 1
    ranges = []
    for k in range(1, n + 1):
        lo = inner[k - 2] if k >= 2 else None  # v >= lo
        hi = inner[k - 1] if k <= n - 1 else None  # v < hi
        if metric in NEGATED_METRICS:  # the scorer stores their edges negated
            low, high = (None if hi is None else -hi + 0.0), (None if lo is None else -lo + 0.0)
            text = _range_text(low, high, low_open=True, high_open=False, integer=integer)
            ranges.append({"score": k, "above": low, "at_most": high, "text": text})
        else:
            text = _range_text(lo, hi, low_open=False, high_open=True, integer=integer)
            ranges.append({"score": k, "at_least": lo, "below": hi, "text": text})
    return ranges


def scores(model: Any, result: Any) -> dict[str, Any]:
    """Per metric: the customers of each score and its range (quantile), or a histogram."""
    scorer = model.scorer_
    customers = result.customers
    method = "quantile" if getattr(scorer, "bin_edges_", None) is not None else "percentile"
    requested = int(getattr(scorer, "n_bins", model.params_.get("n_bins", 5)))
    out: dict[str, Any] = {"method": method, "requested_bins": requested,
                           "segment_levels": int(model.segment_levels), "metrics": {}}
    for metric in schema.METRIC_COLUMNS:
        column = _SCORE_OF[metric]
        scores = customers[column].to_numpy(dtype="float64")
        entry: dict[str, Any] = {"metric": metric, "score": column, "letter": _LETTER[metric],
                                 "label": METRIC_LABELS[metric][0]}
        if method == "quantile":
            edges = np.asarray(scorer.bin_edges_[metric], dtype="float64")
            realised = int(scorer.n_bins_[metric])
            # one realised bin (constant metric): every customer has the middle score
            levels = (np.arange(1, realised + 1) if realised > 1
                      else np.array([_constant_score(requested)]))
            counts = pd.Series(scores).value_counts().reindex(levels.astype("float64"),
                                                              fill_value=0)
            values = customers[metric].to_numpy(dtype="float64")
            integer = bool(np.all(values == np.round(values)))
            natural = -edges[::-1] + 0.0 if metric == schema.RECENCY else edges  # + 0.0: no -0.0
            entry.update({
                "n_bins": realised,
                "collapsed": realised < requested,
                "edges": [float(e) for e in natural],
                "inner_edges": [float(e) for e in natural[1:-1]],
                "bins": [{**r, "score": int(level), "customers": int(c)}
                         for r, level, c in zip(_bin_ranges(metric, edges, integer=integer),
                                                levels, counts.to_numpy(), strict=True)],
            })
        else:
            edges = np.linspace(0.0, 100.0, PERCENTILE_SCORE_BINS + 1)
            counts, _ = np.histogram(scores, bins=edges)
            level_edges = np.linspace(0.0, 100.0, model.segment_levels + 1)[1:-1]
            entry.update({
                "n_bins": None,
                "collapsed": False,
                "histogram": {"edges": [float(e) for e in edges],
                              "counts": [int(c) for c in counts], "log": False},
                "level_edges": [float(e) for e in level_edges],
                "mean": plain(scores.mean()),
                "median": plain(np.median(scores)),
            })
        out["metrics"][metric] = entry
    return out

