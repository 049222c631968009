"""The opening findings: the three to five facts a marketer acts on, each computed from the data.

Segment maps are data, so a finding about a segment appears only when the model's map has that
segment and it has customers: the names are matched loosely ("Can't Lose Them", ``cant_lose``).
Without segments (``segment_map="none"``) the findings come from the clusters and the metrics.
Every finding is a dict: ``kind``, ``figure`` (the number shown large), ``label`` (what the
figure is) and ``text`` (one or two plain sentences).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.money import money_text
from rfmkit.report.sections.common import customer_revenue

__all__ = ["AT_RISK", "CHAMPIONS", "DROPPED_ROWS_SHARE", "MAX_FINDINGS", "MIN_FINDINGS",
           "NEW_CUSTOMERS", "findings", "segment_key"]

MIN_FINDINGS, MAX_FINDINGS = 3, 5
#: Segment names (lower case, letters only) of each segment-based finding.
AT_RISK = ("atrisk", "cantlosethem", "cantlose")
CHAMPIONS = ("champions",)
NEW_CUSTOMERS = ("newcustomers",)
#: Dropped rows are a finding when they are at least this share of the rows read.
DROPPED_ROWS_SHARE = 0.05


def segment_key(name: str) -> str:
    """``"Can't Lose Them"`` -> ``"cantlosethem"``: how finding names are matched."""
    return re.sub(r"[^a-z]", "", str(name).lower())


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _days(value: float) -> str:
    return f"{int(round(value)):,} day{'s' if round(value) != 1 else ''}"


def _orders(value: float, unit: str) -> str:
    n = int(round(value))
    return f"{n:,} {unit if n != 1 else unit.rstrip('s')}"


class _Facts:
    """What the findings read: the customers, their revenue and segments, and the quality."""

    def __init__(self, model: Any, result: Any, quality: dict, currency: dict | None):
        self.customers = result.customers
        self.revenue = customer_revenue(self.customers)
        self.total = float(np.nansum(self.revenue))
        self.n = len(self.customers)
        self.quality = quality
        self.currency = currency
        self.segments = result.segments[result.segments["customers"] > 0]
        self.has_segments = len(model.segment_map_.segment_names) > 1
        self.unit = {"orders": "orders", "days": "purchase days", "rows": "purchases"}.get(
            getattr(model.metric_options_, "frequency", "orders"), "purchases")

    def money(self, value: float) -> str:
        return money_text(value, self.currency, compact=abs(value) >= 10_000)

    def named(self, keys: tuple[str, ...]) -> list[str]:
        return [str(s) for s in self.segments[schema.SEGMENT] if segment_key(s) in keys]

    def group(self, mask: np.ndarray) -> dict[str, Any]:
        customers = self.customers.loc[mask]
        revenue = float(np.nansum(self.revenue[mask]))
        return {
            "customers": int(mask.sum()),
            "customer_share": mask.sum() / self.n,
            "revenue": revenue,
            "revenue_share": revenue / self.total if self.total > 0 else None,
            "recency": float(customers[schema.RECENCY].median()),
            "frequency": float(customers[schema.FREQUENCY].median()),
        }

    def in_segments(self, names: list[str]) -> np.ndarray:
        return self.customers[schema.SEGMENT].astype(str).isin(names).to_numpy()


def _revenue_part(g: dict[str, Any], facts: _Facts) -> str:
    share = "" if g["revenue_share"] is None else f", {_pct(g['revenue_share'])} of all revenue"
    return f"{facts.money(g['revenue'])}{share}"


def _at_risk(facts: _Facts) -> dict[str, Any] | None:
    names = facts.named(AT_RISK)
    if not names:
        return None
    g = facts.group(facts.in_segments(names))
    return {
        "kind": "revenue_at_risk", "figure": facts.money(g["revenue"]),
        "label": "revenue at risk",
        "text": f"{g['customers']:,} customers in {' and '.join(names)} bought a median of "
                f"{_orders(g['frequency'], facts.unit)}, but the last one was "
                f"{_days(g['recency'])} ago (median). They brought {_revenue_part(g, facts)}: "
                "win them back first.",
    }


def _champions(facts: _Facts) -> dict[str, Any] | None:
    names = facts.named(CHAMPIONS)
    if not names:
        return None
    g = facts.group(facts.in_segments(names))
    share = "" if g["revenue_share"] is None else f"{_pct(g['revenue_share'])} of all revenue"
    return {
        "kind": "champions", "figure": f"{g['customers']:,}", "label": names[0],
        "text": f"{_pct(g['customer_share'])} of the customers are {names[0]} and bring "
                f"{share} ({facts.money(g['revenue'])}); median "
                f"{_orders(g['frequency'], facts.unit)}, last purchase "
                f"{_days(g['recency'])} ago. Reward and keep them.",
    }


def _new_customers(facts: _Facts) -> dict[str, Any] | None:
    names = facts.named(NEW_CUSTOMERS)
    if not names:
        return None
    g = facts.group(facts.in_segments(names))
    return {
        "kind": "new_customers", "figure": f"{g['customers']:,}", "label": names[0],
        "text": f"{g['customers']:,} customers ({_pct(g['customer_share'])}) are "
                f"{names[0]}: median {_orders(g['frequency'], facts.unit)}, last purchase "
                f"{_days(g['recency'])} ago. Make their second purchase easy.",
    }


def _biggest_segment(facts: _Facts) -> dict[str, Any] | None:
    if not facts.has_segments or facts.segments.empty:
        return None
    row = facts.segments.sort_values(["customers", "revenue"], ascending=False).iloc[0]
    share = row["revenue_share"]
    revenue = "" if pd.isna(share) else f" and {_pct(float(share))} of revenue"
    return {
        "kind": "biggest_segment", "figure": _pct(float(row["customer_share"])),
        "label": f"of customers are {row[schema.SEGMENT]}",
        "text": f"The biggest segment is {row[schema.SEGMENT]}: {int(row['customers']):,} "
                f"customers{revenue}.",
    }


def _top_cluster(facts: _Facts, result: Any) -> dict[str, Any] | None:
    profile = getattr(result, "clusters", None)
    if profile is None or profile.empty or facts.total <= 0:
        return None
    row = profile.sort_values("revenue_share", ascending=False).iloc[0]
    return {
        "kind": "top_cluster", "figure": _pct(float(row["revenue_share"])),
        "label": f"of revenue from cluster {int(row[schema.CLUSTER])}",
        "text": f"Cluster {int(row[schema.CLUSTER])} ({row[schema.CLUSTER_NAME]}) holds "
                f"{_pct(float(row['customer_share']))} of the customers and brings "
                f"{_pct(float(row['revenue_share']))} of revenue.",
    }


def _concentration(facts: _Facts) -> dict[str, Any] | None:
    revenue = np.sort(facts.revenue[np.isfinite(facts.revenue)])[::-1]
    if facts.total <= 0 or len(revenue) < 5:
        return None
    top = float(revenue[: max(1, int(round(0.2 * len(revenue))))].sum()) / facts.total
    return {
        "kind": "concentration", "figure": _pct(top), "label": "of revenue from the top 20%",
        "text": f"The top 20% of customers by revenue bring {_pct(top)} of all revenue "
                f"({facts.money(facts.total)} in total).",
    }


def _one_time_buyers(facts: _Facts) -> dict[str, Any] | None:
    once = facts.customers[schema.FREQUENCY].to_numpy(dtype="float64") <= 1
    if not once.any():
        return None
    return {
        "kind": "one_time_buyers", "figure": _pct(once.mean()), "label": "bought only once",
        "text": f"{int(once.sum()):,} customers ({_pct(once.mean())}) have made one purchase: "
                "a second one is the step that makes a regular customer.",
    }


def _recency(facts: _Facts) -> dict[str, Any]:
    median = float(facts.customers[schema.RECENCY].median())
    return {
        "kind": "recency", "figure": _days(median), "label": "median time since last purchase",
        "text": f"Half of the customers last bought more than {_days(median)} ago.",
    }


def _dropped(facts: _Facts) -> dict[str, Any] | None:
    q = facts.quality
    read = q.get("rows_read") or 0
    rows = [d for d in q["dropped"] if d["rows"] > 0]
    if not read or not rows:
        return None
    worst = max(rows, key=lambda d: d["rows"])
    if worst["rows"] / read < DROPPED_ROWS_SHARE:
        return None
    carried = "" if worst["revenue"] is None else \
        f"; they carried {money_text(worst['revenue'], facts.currency, compact=True)}"
    return {
        "kind": "dropped_rows", "figure": _pct(worst["rows"] / read),
        "label": f"of rows left out: {worst['text']}",
        "text": f"{worst['rows']:,} of {read:,} rows were left out as {worst['text']}"
                f"{carried}. Those purchases are in no customer's figures.",
    }


def findings(model: Any, result: Any, *, quality: dict, currency: dict | None
             ) -> list[dict[str, Any]]:
    """The report's opening findings, most important first (3 to 5 when the data allow)."""
    facts = _Facts(model, result, quality, currency)
    ordered = [_at_risk(facts), _champions(facts), _new_customers(facts), _dropped(facts)]
    if not facts.has_segments:
        ordered.append(_top_cluster(facts, result))
    biggest = _biggest_segment(facts)
    named = {f["label"] for f in ordered if f is not None}
    if biggest is not None and biggest["label"].removeprefix("of customers are ") in named:
        biggest = None  # already a finding of its own (Champions): not said twice
    ordered += [_concentration(facts), biggest]
    out = [f for f in ordered if f is not None][:MAX_FINDINGS]
    for extra in (_one_time_buyers(facts), _recency(facts)):
        if len(out) < MIN_FINDINGS and extra is not None:
            out.append(extra)
    return out
