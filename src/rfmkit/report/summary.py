"""Fitted model + segmentation -> one plain, JSON-able dict: everything the report shows.

This is the first stage of the report pipeline (data -> SVG charts -> HTML). Every number a
chart or table of the report displays is in this dict, so the report is tested here, on data.
The dict holds only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``
(missing numbers are ``None``, never NaN), and is the same for the same input: the only random
step, the sample of customers drawn for the 2-D cluster map, is seeded with ``random_state``.

Statistics are computed on all customers; only the scatter of the cluster map is sampled.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from rfmkit import schema
from rfmkit._version import __version__
from rfmkit.cleaning import DROP_REASONS, REASON_TEXT
from rfmkit.errors import InputError, ParameterError
from rfmkit.scoring import score_levels

__all__ = ["SCHEMA_VERSION", "SECTIONS", "summarize"]

#: Version of the dict's layout; bumped when a key changes meaning or disappears.
SCHEMA_VERSION = 1

#: Every section the report can have, in page order. ``summary["sections"]`` lists those present.
SECTIONS = ("overview", "distributions", "scores", "segments", "clusters", "transitions")

#: A cluster holding less than this share of the customers is flagged as tiny.
TINY_CLUSTER_SHARE = 0.01
#: Histogram bins of the metric distributions.
HISTOGRAM_BINS = 40
#: Histogram bins of percentile scores (0-100).
PERCENTILE_SCORE_BINS = 20
#: A metric gets a log axis when all values are > 0, its skewness exceeds this ...
LOG_AXIS_MIN_SKEW = 1.0
#: ... and its largest value is at least this many times its smallest.
LOG_AXIS_MIN_RATIO = 30.0
#: Points of the Pareto (revenue concentration) curve: customer shares 0, 1/N, ..., 1.
PARETO_POINTS = 100
#: Every cluster keeps at least this many customers (or all it has) in the sampled map.
MAP_MIN_PER_CLUSTER = 30
#: Half-width of the jitter added to integer score features in the map (one level is 1.0).
MAP_JITTER = 0.3
#: Digits kept for map coordinates (enough for a plot, keeps the file small).
MAP_DIGITS = 3
PROJECTIONS = ("pca", "tsne")
#: t-SNE samples up to this size use exact gradients, larger ones Barnes-Hut.
TSNE_EXACT_MAX = 200

_METRIC_LABELS = {
    schema.RECENCY: ("Recency", "days since the last purchase"),
    schema.FREQUENCY: ("Frequency", "purchases"),
    schema.MONETARY: ("Monetary", "spend"),
}
_SCORE_OF = dict(zip(schema.METRIC_COLUMNS, schema.SCORE_COLUMNS, strict=True))
#: Metrics where fewer is better; the scorer stores their bin edges negated (see scoring.py).
_NEGATED = (schema.RECENCY,)
_LETTER = {schema.RECENCY: "R", schema.FREQUENCY: "F", schema.MONETARY: "M"}
_OPTION_GROUPS = (
    ("Metrics", ("as_of", "frequency", "monetary", "consolidate_days")),
    ("Cleaning", ("returns", "drop_cancellations", "drop_duplicates")),
    ("Scores", ("score_method", "n_bins", "caps")),
    ("Segments", ("segment_map",)),
    ("Clusters", ("n_clusters", "cluster_features", "criterion", "k_min", "k_max", "init",
                  "n_init", "max_iter", "random_state")),
)
_CLUSTER_OPTIONS = _OPTION_GROUPS[-1][1]
_K_SELECTION_COLUMNS = ("k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin",
                        "stability", "chosen")


# --- plain values --------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
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
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    columns = list(frame.columns) if columns is None else [c for c in columns if c in frame]
    return [{c: _plain(v) for c, v in zip(columns, row, strict=True)}
            for row in frame[columns].itertuples(index=False, name=None)]


def _number_text(x: float | None) -> str:
    """Short display form of a number: integers as they are, others with 4 significant digits."""
    if x is None:
        return "?"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


# --- checks --------------------------------------------------------------------------------------
def _check_inputs(model: Any, result: Any, scatter_sample: Any, projection: Any,
                  random_state: Any) -> None:
    check_is_fitted(model, "scorer_")
    for attr in ("customers", "segments", "clusters", "quality"):
        if not hasattr(result, attr):
            raise InputError(
                "build_report needs a Segmentation as `result` (model.result_ after fit, or the "
                f"output of model.segment(X)); got {type(result).__name__}, without {attr!r}."
            )
    if (isinstance(scatter_sample, bool) or not isinstance(scatter_sample, numbers.Integral)
            or scatter_sample < 2):
        raise ParameterError(
            f"The 'scatter_sample' parameter of build_report must be an int >= 2. "
            f"Got {scatter_sample!r} instead."
        )
    if projection not in PROJECTIONS:
        raise ParameterError(
            f"The 'projection' parameter of build_report must be one of "
            f"{', '.join(map(repr, PROJECTIONS))}. Got {projection!r} instead."
        )
    if (isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral)
            or not 0 <= random_state < 2**32):
        raise ParameterError(
            f"The 'random_state' parameter of build_report must be an int in [0, 2**32). "
            f"Got {random_state!r} instead."
        )
    missing = [c for c in (schema.CUSTOMER_ID, *schema.METRIC_COLUMNS, *schema.SCORE_COLUMNS,
                           schema.SEGMENT) if c not in result.customers.columns]
    if missing:
        raise InputError(
            f"The segmentation's customer table lacks {', '.join(map(repr, missing))}; build the "
            "report from model.result_ or model.segment(X)."
        )
    if len(result.customers) == 0:
        raise InputError("The segmentation has no customers; there is nothing to report.")


# --- overview -------------------------------------------------------------------------------------
def _revenue(customers: pd.DataFrame) -> np.ndarray:
    """Revenue per customer: the revenue column when present, else monetary (as in segments.csv)."""
    column = schema.REVENUE if schema.REVENUE in customers.columns else schema.MONETARY
    return customers[column].to_numpy(dtype="float64", na_value=np.nan)


def _option_text(name: str, value: Any) -> str:
    if value is None:
        return "latest purchase date" if name == "as_of" else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_option_text(k, v)}" for k, v in value.items()) or "none"
    if hasattr(value, "name") and name == "segment_map":
        return str(value.name)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _method(model: Any) -> dict[str, Any]:
    from rfmkit.presets import get_preset

    params = dict(model.params_)
    # The resolved option objects hold what was applied (e.g. drop_cancellations=None in the
    # parameters means "drop under returns='drop'"); show those values.
    for resolved in (getattr(model, "metric_options_", None),
                     getattr(model, "cleaning_rules_", None)):
        if resolved is not None:
            params.update({k: v for k, v in resolved.to_dict().items() if k in params})
    params["segment_map"] = model.segment_map_.name
    preset = model.preset or "default"
    groups = []
    for group, names in _OPTION_GROUPS:
        if group == "Clusters" and params.get("n_clusters") == "none":
            names = ("n_clusters",)
        groups.append({
            "group": group,
            "options": [{"name": n, "value": _plain(params.get(n)),
                         "text": _option_text(n, params.get(n))} for n in names if n in params],
        })
    shape = getattr(getattr(model, "columns_", None), "shape", None)
    mapping = getattr(getattr(model, "columns_", None), "mapping", None)
    columns = {} if mapping is None else {k: v for k, v in mapping.to_dict().items() if v}
    return {
        "preset": preset,
        "preset_description": get_preset(preset).description,
        "score_method": params["score_method"],
        "n_bins": int(params["n_bins"]),
        "segment_map": model.segment_map_.name,
        "segment_map_description": model.segment_map_.description,
        "input_shape": None if shape is None else str(getattr(shape, "value", shape)),
        "columns": columns,
        "options": groups,
    }


def _quality(result: Any) -> dict[str, Any]:
    q = result.quality.to_dict()
    dropped = q.get("dropped", {})
    return {
        "source": q.get("source"),
        "rows_read": q.get("rows_read"),
        "rows_used": q.get("rows_used"),
        "rows_dropped": q.get("rows_dropped"),
        "customers_without_purchases": q.get("customers_without_purchases", 0),
        "as_of_policy": q.get("as_of_policy"),
        "dropped": [{"reason": r, "text": REASON_TEXT.get(r, r.replace("_", " ")),
                     "rows": int(dropped.get(r, 0))}
                    for r in (*DROP_REASONS, *sorted(set(dropped) - set(DROP_REASONS)))],
    }


def _headline(model: Any, result: Any) -> dict[str, Any]:
    customers = result.customers
    as_of = getattr(result, "as_of", None)
    return {
        "customers": int(len(customers)),
        "revenue": _plain(float(np.nansum(_revenue(customers)))),
        "as_of": None if as_of is None else as_of.isoformat(),
        # model.segment(X) reads X afresh (a new QualityReport); the fit's result shares the
        # model's, also after dataclasses.replace(model.result_, ...)
        "training_data": result.quality is getattr(model, "quality_", None),
        "segments": int((result.segments["customers"] > 0).sum()),
        "clusters": None if getattr(model, "clusterer_", None) is None
        else int(model.clusterer_.n_clusters_),
    }


# --- distributions -------------------------------------------------------------------------------
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
    return _METRIC_LABELS[metric][1]


def _metric_summary(metric: str, values: np.ndarray, cap: float | None,
                    unit: str) -> dict[str, Any]:
    label = _METRIC_LABELS[metric][0]
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
        "sum": _plain(values.sum()),
        "mean": _plain(values.mean()),
        "min": _plain(lo),
        "p25": _plain(q[0]),
        "median": _plain(q[1]),
        "p75": _plain(q[2]),
        "p95": _plain(q[3]),
        "p99": _plain(q[4]),
        "max": _plain(hi),
        "skew": _plain(skew),
        "log_axis": log,
        "cap": _plain(cap),
        "above_cap": None if cap is None else int((values > cap).sum()),
        "histogram": _histogram(values, log=log),
    }


def _distributions(model: Any, result: Any) -> dict[str, Any]:
    caps = getattr(model.scorer_, "caps_", {}) or {}
    out = {}
    for metric in schema.METRIC_COLUMNS:
        values = result.customers[metric].to_numpy(dtype="float64", na_value=np.nan)
        values = values[np.isfinite(values)]
        out[metric] = _metric_summary(metric, values, caps.get(metric),
                                      _unit(metric, model.params_))
    return out


# --- scores --------------------------------------------------------------------------------------
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
    lower = None if low is None else f"{'>' if low_open else '≥'} {_number_text(low)}"
    upper = None if high is None else f"{'<' if high_open else '≤'} {_number_text(high)}"
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
        if metric in _NEGATED:
            low, high = (None if hi is None else -hi + 0.0), (None if lo is None else -lo + 0.0)
            text = _range_text(low, high, low_open=True, high_open=False, integer=integer)
            ranges.append({"score": k, "above": low, "at_most": high, "text": text})
        else:
            text = _range_text(lo, hi, low_open=False, high_open=True, integer=integer)
            ranges.append({"score": k, "at_least": lo, "below": hi, "text": text})
    return ranges


def _scores(model: Any, result: Any) -> dict[str, Any]:
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
                                 "label": _METRIC_LABELS[metric][0]}
        if method == "quantile":
            edges = np.asarray(scorer.bin_edges_[metric], dtype="float64")
            realised = int(scorer.n_bins_[metric])
            levels = np.arange(1, realised + 1)
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
                "bins": [{**r, "customers": int(c)}
                         for r, c in zip(_bin_ranges(metric, edges, integer=integer),
                                         counts.to_numpy(), strict=True)],
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
                "mean": _plain(scores.mean()),
                "median": _plain(np.median(scores)),
            })
        out["metrics"][metric] = entry
    return out


# --- segments ------------------------------------------------------------------------------------
def _segments(model: Any, result: Any) -> dict[str, Any]:
    seg_map = model.segment_map_
    rules = {rule.name: rule for rule in seg_map.rules}
    rows = []
    for row in _records(result.segments):
        rule = rules.get(row[schema.SEGMENT])
        row["description"] = rule.description if rule is not None else ""
        row["action"] = rule.action if rule is not None else ""
        row["fallback"] = row[schema.SEGMENT] == seg_map.fallback
        rows.append(row)
    return {
        "map": seg_map.name,
        "map_description": seg_map.description,
        "fallback": seg_map.fallback,
        "rows": rows,
        "total_customers": int(result.segments["customers"].sum()),
        "total_revenue": _plain(result.segments["revenue"].sum()),
    }


def _grid_levels(model: Any, customers: pd.DataFrame) -> tuple[pd.DataFrame, list[int], list[int]]:
    scores = customers[[schema.R_SCORE, schema.F_SCORE]]
    scorer = model.scorer_
    if getattr(scorer, "n_bins_", None) is not None:
        r_levels = list(range(1, int(scorer.n_bins_[schema.RECENCY]) + 1))
        f_levels = list(range(1, int(scorer.n_bins_[schema.FREQUENCY]) + 1))
        return scores.astype("int64"), r_levels, f_levels
    levels = score_levels(scores.astype("float64"), model.segment_levels)
    every = list(range(1, model.segment_levels + 1))
    return levels, every, every


def _grid(model: Any, result: Any) -> dict[str, Any]:
    customers = result.customers
    levels, r_levels, f_levels = _grid_levels(model, customers)
    frame = pd.DataFrame({
        "r": levels[schema.R_SCORE].to_numpy(), "f": levels[schema.F_SCORE].to_numpy(),
        "m": customers[schema.MONETARY].to_numpy(dtype="float64"),
        "revenue": _revenue(customers),
    })
    grouped = frame.groupby(["r", "f"])
    index = pd.MultiIndex.from_product([r_levels, f_levels], names=["r", "f"])
    count = grouped.size().reindex(index, fill_value=0).to_numpy().reshape(
        len(r_levels), len(f_levels))
    mean_m = grouped["m"].mean().reindex(index).to_numpy().reshape(len(r_levels), len(f_levels))
    revenue = grouped["revenue"].sum().reindex(index, fill_value=0.0).to_numpy().reshape(
        len(r_levels), len(f_levels))
    return {
        "r_levels": r_levels,
        "f_levels": f_levels,
        "levels_from": "scores" if getattr(model.scorer_, "n_bins_", None) is not None
        else "percentile levels",
        "count": [[int(c) for c in row] for row in count],
        "mean_monetary": [[_plain(v) for v in row] for row in mean_m],
        "revenue": [[_plain(v) for v in row] for row in revenue],
    }


def _pareto(result: Any) -> dict[str, Any]:
    revenue = _revenue(result.customers)
    revenue = np.sort(revenue[np.isfinite(revenue)])[::-1]
    n = len(revenue)
    total = float(revenue.sum())
    cumulative = np.concatenate(([0.0], np.cumsum(revenue)))
    shares = np.linspace(0.0, 1.0, PARETO_POINTS + 1)
    if total > 0:
        curve = np.interp(shares * n, np.arange(n + 1), cumulative) / total
    else:
        curve = np.full(len(shares), math.nan)

    def top(share: float) -> float | None:
        if total <= 0:
            return None
        return float(np.interp(share * n, np.arange(n + 1), cumulative) / total)

    def customers_for(revenue_share: float) -> float | None:
        if total <= 0:
            return None
        needed = int(np.searchsorted(cumulative, revenue_share * total - 1e-9 * abs(total)))
        return needed / n

    gini = None
    if total > 0 and revenue.min() >= 0:
        ascending = revenue[::-1]
        ranks = np.arange(1, n + 1)
        gini = float((2 * (ranks * ascending).sum()) / (n * ascending.sum()) - (n + 1) / n)
    return {
        "customer_share": [float(s) for s in shares],
        "revenue_share": [_plain(v) for v in curve],
        "top_1_percent": top(0.01),
        "top_10_percent": top(0.10),
        "top_20_percent": top(0.20),
        "customers_for_80_percent": customers_for(0.80),
        "gini": gini,
        "negative_revenue_customers": int((revenue < 0).sum()),
    }


# --- clusters ------------------------------------------------------------------------------------
def knee(ks: Sequence[int], inertias: Sequence[float], *, log_scale: bool = True) -> int | None:
    """The knee of a decreasing inertia curve: the k farthest below the chord (None if none).

    The curve is taken on a log scale when ``log_scale`` and every inertia is > 0 (as
    :class:`~rfmkit.RFMClusterer` does for ``criterion="elbow"``/``"auto"``); both axes are then
    scaled to [0, 1] and the chord joins the first and last points (Kneedle's difference curve,
    unsmoothed). Needs at least three finite points. The report prefers the clusterer's own
    ``knee_`` when it records one.
    """
    x = np.asarray(ks, dtype="float64")
    y = np.asarray(inertias, dtype="float64")
    if len(x) < 3 or not np.isfinite(y).all():
        return None
    if log_scale and (y > 0).all():
        y = np.log(y)
    if y.max() <= y.min():
        return None
    xs = (x - x[0]) / (x[-1] - x[0])
    ys = (y - y.min()) / (y.max() - y.min())
    gap = ys[0] + (ys[-1] - ys[0]) * xs - ys
    best = int(np.argmax(gap))
    return int(x[best]) if gap[best] > 1e-12 else None


def _cluster_warnings(profile: pd.DataFrame) -> list[dict[str, str]]:
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
        components = vt[:2]
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
    for method in ("feature_matrix", "transform"):
        if callable(getattr(clusterer, method, None)):
            return np.asarray(getattr(clusterer, method)(customers), dtype="float64")
    # From the documented fitted state: the score columns as they are, or standardised
    # log1p metrics (monetary clipped at 0) for features="log-metrics".
    if clusterer.features == "scores":
        return customers[list(schema.SCORE_COLUMNS)].to_numpy(dtype="float64")
    raw = customers[list(schema.METRIC_COLUMNS)].to_numpy(dtype="float64")
    raw[:, 2] = np.clip(raw[:, 2], 0.0, None)
    return (np.log1p(raw) - clusterer.feature_mean_) / clusterer.feature_scale_


def _cluster_map(model: Any, result: Any, *, scatter_sample: int, projection: str,
                 random_state: int) -> dict[str, Any]:
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
    xy, centers_xy, extra = _project(points, centers, rows, projection, random_state)
    names = list(getattr(model, "cluster_names_", None) or [])
    if centers_xy is None:  # t-SNE: label each cluster at the median of its sampled points
        centers_xy = np.array([np.median(xy[labels[rows] == c], axis=0)
                               if np.any(labels[rows] == c) else [np.nan, np.nan]
                               for c in range(len(centers))])
    feature_names = list(getattr(clusterer, "feature_names_", None) or
                         (schema.SCORE_COLUMNS if clusterer.features == "scores"
                          else schema.METRIC_COLUMNS))
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
                     "x": _plain(p[0]), "y": _plain(p[1])}
                    for i, p in enumerate(centers_xy)],
    }


def _clusters(model: Any, result: Any, *, scatter_sample: int, projection: str,
              random_state: int) -> dict[str, Any] | None:
    clusterer = getattr(model, "clusterer_", None)
    profile = getattr(result, "clusters", None)
    if clusterer is None or profile is None or schema.CLUSTER not in result.customers.columns:
        return None
    k_table = getattr(result, "k_selection", None)
    if k_table is None:
        k_table = getattr(clusterer, "k_selection_", None)
    selection = None
    if k_table is not None and len(k_table):
        rows = _records(k_table, _K_SELECTION_COLUMNS)
        selection = {
            "rows": rows,
            "chosen": next((int(r["k"]) for r in rows if r.get("chosen")), None),
            "knee": _plain(getattr(clusterer, "knee_", None)) if hasattr(clusterer, "knee_")
            else knee(k_table["k"].to_numpy(), k_table["inertia"].to_numpy()),
            "best_silhouette": _best_k(k_table, "silhouette"),
        }
    params = model.params_
    names = list(getattr(model, "cluster_names_", None) or [])
    return {
        "k": int(clusterer.n_clusters_),
        "features": clusterer.features,
        "criterion": params.get("criterion"),
        "selection_reason": getattr(clusterer, "selection_reason_", None),
        "metrics": _plain(getattr(clusterer, "metrics_", None) or {}),
        "k_selection": selection,
        "names": names,
        "centers": [[_plain(v) for v in row] for row in np.asarray(clusterer.cluster_centers_)],
        "profile": _records(profile),
        "map": _cluster_map(model, result, scatter_sample=scatter_sample,
                            projection=projection, random_state=random_state),
        "options": {n: _plain(params.get(n)) for n in _CLUSTER_OPTIONS},
    }


def _best_k(table: pd.DataFrame, column: str) -> int | None:
    values = table[column].to_numpy(dtype="float64", na_value=np.nan)
    if not np.isfinite(values).any():
        return None
    return int(table["k"].to_numpy()[int(np.nanargmax(values))])


# --- transitions ---------------------------------------------------------------------------------
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


def _transitions(model: Any, result: Any) -> dict[str, Any] | None:
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


# --- everything ----------------------------------------------------------------------------------
def _warnings(model: Any, result: Any, scores: dict[str, Any],
              clusters: dict[str, Any] | None) -> list[dict[str, str]]:
    out = [{"kind": "data", "message": str(w)} for w in result.quality.warnings]
    for entry in scores["metrics"].values():
        if entry["collapsed"]:
            out.append({
                "kind": "collapsed_bins",
                "message": f"{entry['label']}: ties left {entry['n_bins']} score levels instead "
                           f"of the {scores['requested_bins']} requested ({entry['letter']} "
                           f"scores run 1..{entry['n_bins']}).",
            })
    if clusters is not None and result.clusters is not None:
        out.extend(_cluster_warnings(result.clusters))
    empty = [str(s) for s, c in zip(result.segments[schema.SEGMENT], result.segments["customers"],
                                    strict=True) if c == 0]
    if empty:
        out.append({"kind": "empty_segments",
                    "message": f"No customers in {len(empty)} segment(s): {', '.join(empty)}."})
    return out


def summarize(model: Any, result: Any, *, title: str | None = None, scatter_sample: int = 5000,
              projection: str = "pca", random_state: int = 0) -> dict[str, Any]:
    """Everything the report shows, as a plain JSON-able dict.

    Parameters
    ----------
    model : RFMModel
        A fitted model.
    result : Segmentation
        ``model.result_`` (the training data) or the output of ``model.segment(X)``.
    title : str or None
        Report title; default "RFM segmentation report".
    scatter_sample : int, default=5000
        Customers drawn (seeded, every cluster represented) for the 2-D cluster map.
    projection : {"pca", "tsne"}, default="pca"
        Map projection of the clustering features: PCA fitted on all customers, or t-SNE on the
        sample.
    random_state : int, default=0
        Seed of the map sample, jitter and t-SNE.

    Returns
    -------
    dict
        Keys ``schema_version``, ``rfmkit_version``, ``title``, ``sections``, ``headline``,
        ``method``, ``quality``, ``warnings``, ``distributions``, ``scores``, ``segments``,
        ``grid``, ``pareto``, ``clusters`` (None without clustering) and ``transitions`` (None
        without previous assignments).
    """
    _check_inputs(model, result, scatter_sample, projection, random_state)
    scores = _scores(model, result)
    clusters = _clusters(model, result, scatter_sample=int(scatter_sample),
                         projection=projection, random_state=int(random_state))
    transitions = _transitions(model, result)
    sections = [s for s in SECTIONS
                if (s != "clusters" or clusters is not None)
                and (s != "transitions" or transitions is not None)]
    return {
        "schema_version": SCHEMA_VERSION,
        "rfmkit_version": __version__,
        "title": title if title is not None else "RFM segmentation report",
        "sections": sections,
        "headline": _headline(model, result),
        "method": _method(model),
        "quality": _quality(result),
        "warnings": _warnings(model, result, scores, clusters),
        "distributions": _distributions(model, result),
        "scores": scores,
        "segments": _segments(model, result),
        "grid": _grid(model, result),
        "pareto": _pareto(result),
        "clusters": clusters,
        "transitions": transitions,
    }
