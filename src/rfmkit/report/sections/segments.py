"""The segments section: the segment table, the R x F grid and revenue concentration (Pareto)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.clustering.descriptions import compare_medians, comparison_words, median_texts
from rfmkit.money import resolve_currency
from rfmkit.report.sections.common import customer_revenue, plain, records
from rfmkit.scoring.levels import score_levels

__all__ = ["PARETO_POINTS", "pareto", "rf_grid", "segments"]

#: Points of the Pareto (revenue concentration) curve: customer shares 0, 1/N, ..., 1.
PARETO_POINTS = 100


def segments(model: Any, result: Any, *, currency: str | None = None) -> dict[str, Any]:
    """The segment table, each row with its rule's description and action, and its medians
    compared with the median customer's (in ``currency``, a code or symbol)."""
    seg_map = model.segment_map_
    rules = {rule.name: rule for rule in seg_map.rules}
    options = model.metric_options_
    overall = result.customers[list(schema.METRIC_COLUMNS)].median().to_numpy(dtype="float64")
    rows = []
    for row in records(result.segments):
        rule = rules.get(row[schema.SEGMENT])
        row["description"] = rule.description if rule is not None else ""
        # the map's text is relative to the data ("recent"); this says what it means here,
        # against the median customer (the table's columns quote the medians themselves)
        median = [row[f"{m}_median"] if row[f"{m}_median"] is not None else math.nan
                  for m in schema.METRIC_COLUMNS]
        known = all(map(math.isfinite, median)) and np.isfinite(overall).all()
        row["medians"] = (f"{comparison_words(compare_medians(median, overall))}."
                          if known else "No customers")
        row["action"] = rule.action if rule is not None else ""
        row["fallback"] = row[schema.SEGMENT] == seg_map.fallback
        rows.append(row)
    return {
        "map": seg_map.name,
        "map_description": seg_map.description,
        "median_customer": _median_customer(overall, options, currency),
        "fallback": seg_map.fallback,
        "rows": rows,
        "total_customers": int(result.segments["customers"].sum()),
        "total_revenue": plain(result.segments["revenue"].sum()),
    }


def _median_customer(overall: np.ndarray, options: Any, currency: str | None) -> str:
    """"The median customer: 2 orders, last purchase 235 days ago, spend £81.64"."""
    if not np.isfinite(overall).all():
        return ""
    t = median_texts(overall, options.frequency, options.monetary, resolve_currency(currency))
    return f"The median customer: {t['f']}, {t['r']}, {t['m']}."


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


def rf_grid(model: Any, result: Any) -> dict[str, Any]:
    """Customers, mean monetary value and revenue per (R, F) score cell."""
    customers = result.customers
    levels, r_levels, f_levels = _grid_levels(model, customers)
    frame = pd.DataFrame({
        "r": levels[schema.R_SCORE].to_numpy(), "f": levels[schema.F_SCORE].to_numpy(),
        "m": customers[schema.MONETARY].to_numpy(dtype="float64"),
        "revenue": customer_revenue(customers),
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
        "mean_monetary": [[plain(v) for v in row] for row in mean_m],
        "revenue": [[plain(v) for v in row] for row in revenue],
    }


def pareto(result: Any) -> dict[str, Any]:
    """Revenue concentration: the Pareto curve, top shares and the Gini coefficient."""
    revenue = customer_revenue(result.customers)
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
        "revenue_share": [plain(v) for v in curve],
        "top_1_percent": top(0.01),
        "top_10_percent": top(0.10),
        "top_20_percent": top(0.20),
        "customers_for_80_percent": customers_for(0.80),
        "gini": gini,
        "negative_revenue_customers": int((revenue < 0).sum()),
    }

