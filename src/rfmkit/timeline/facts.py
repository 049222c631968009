"""The figures of the history report, computed from snapshots and transitions.

Segment sizes per date, the last period's transition matrix and flows, the top downgrades with
the revenue at stake, the population stability index (PSI) of each score between consecutive
snapshots, time in segment, and the headline figures a marketer quotes. The report
(:mod:`rfmkit.report.history`) only lays these out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rfmkit.schema import CUSTOMER_ID, SCORE_COLUMNS, SEGMENT
from rfmkit.sql.snapshots_query import AS_OF
from rfmkit.timeline.transitions import GONE, NEW, encode

# PSI bands in common use (credit scoring): < 0.1 stable, 0.1-0.25 moderate, > 0.25 large.
PSI_MODERATE, PSI_LARGE = 0.1, 0.25
_EPS = 1e-4  # share floor: an empty bin on one side would make the index infinite
TOP_SEGMENTS, BOTTOM_SEGMENTS = 2, 2  # "best" and "bottom" segments of the value order


def psi(before: np.ndarray, after: np.ndarray) -> float:
    """Population stability index of two samples of one score: sum over score values of
    (after share - before share) x ln(after share / before share)."""
    if before.dtype.kind in "iu" and after.dtype.kind in "iu":  # quantile scores 1..n
        size = int(max(before.max(initial=0), after.max(initial=0))) + 1
        b = np.bincount(before, minlength=size).astype(float)
        a = np.bincount(after, minlength=size).astype(float)
        seen = (a + b) > 0
        b, a = b[seen], a[seen]
    else:  # percentile scores: ten equal-width bins over 0..100
        edges = np.linspace(0, 100, 11)
        b = np.histogram(before, edges)[0].astype(float)
        a = np.histogram(after, edges)[0].astype(float)
    b = np.maximum(b / max(b.sum(), 1), _EPS)
    a = np.maximum(a / max(a.sum(), 1), _EPS)
    return float(np.sum((a - b) * np.log(a / b)))


def psi_flag(value: float) -> str:
    if value >= PSI_LARGE:
        return "large shift: the score distribution changed a lot; check the data or refit"
    if value >= PSI_MODERATE:
        return "moderate shift: worth watching"
    return "stable"


def _dates(snapshots: pd.DataFrame) -> list[pd.Timestamp]:
    return sorted(pd.to_datetime(snapshots[AS_OF]).unique())


def segment_sizes(coded: Any, order: Sequence[str]) -> pd.DataFrame:
    """Customers per segment (columns, in value order) and as-of date (rows)."""
    days, day = coded.dates, coded.day
    width = len(coded.names)
    counts = np.bincount(day * width + coded.segment, minlength=len(days) * width)
    sizes = pd.DataFrame(counts.reshape(len(days), width), index=pd.DatetimeIndex(days),
                         columns=coded.names)
    return sizes.reindex(columns=list(order), fill_value=0).astype("int64")


def drift(snapshots: pd.DataFrame, coded: Any = None) -> list[dict[str, Any]]:
    """PSI of each score between consecutive snapshots, with a plain-language flag."""
    rows = []
    dates = _dates(snapshots)
    coded = coded or encode(snapshots)
    scores = {col: snapshots[col].to_numpy() for col in SCORE_COLUMNS}
    for start, end in zip(dates, dates[1:], strict=False):
        row: dict[str, Any] = {"from": str(start.date()), "to": str(end.date())}
        for col in SCORE_COLUMNS:
            value = psi(scores[col][coded.rows(start)], scores[col][coded.rows(end)])
            row[col] = value
            row[f"{col}_flag"] = psi_flag(value)
        rows.append(row)
    return rows


def time_in_segment(snapshots: pd.DataFrame, order: Sequence[str], coded: Any = None
                    ) -> pd.DataFrame:
    """Per segment, at the last date: customers, and how many consecutive snapshots they have
    been in it (mean and median, counting the last one)."""
    coded = coded or encode(snapshots)
    n = len(coded.ids)
    segment = np.full(n, -1)
    streak = np.zeros(n, dtype="int64")
    rows = np.zeros(0, dtype="int64")
    for day in coded.dates:  # date by date: each customer's run in their current segment
        rows = coded.rows(day)
        who, seg = coded.customer[rows], coded.segment[rows]
        same = segment[who] == seg
        streak[who] = np.where(same, streak[who] + 1, 1)
        segment[who] = seg
    who = coded.customer[rows]
    names = np.asarray(coded.names, dtype=object)
    now = pd.DataFrame({SEGMENT: names[segment[who]], "snapshots": streak[who]})
    out = now.groupby(SEGMENT)["snapshots"].agg(["size", "mean", "median"])
    out = out.reindex([s for s in order if s in out.index])
    return out.rename(columns={"size": "customers"}).reset_index()


def last_period(transitions: pd.DataFrame, order: Sequence[str]) -> dict[str, Any] | None:
    """The last period's matrix (rows: from, with (new) last; columns: to) and its flows."""
    if transitions.empty:
        return None
    last = transitions[transitions["to_as_of"] == transitions["to_as_of"].max()]
    rows = [s for s in order if s in set(last.from_segment)] + (
        [NEW] if NEW in set(last.from_segment) else [])
    cols = [s for s in order if s in set(last.to_segment)] + (
        [GONE] if GONE in set(last.to_segment) else [])
    matrix = (last.pivot_table(index="from_segment", columns="to_segment", values="customers",
                               aggfunc="sum", fill_value=0)
              .reindex(index=rows, columns=cols, fill_value=0))
    return {"from_as_of": str(last.from_as_of.iloc[0]), "to_as_of": str(last.to_as_of.iloc[0]),
            "from": rows, "to": cols, "counts": matrix.to_numpy().astype(int).tolist()}


def headline(snapshots: pd.DataFrame, transitions: pd.DataFrame, order: Sequence[str],
             coded: Any = None) -> dict[str, Any]:
    """Net movement into the best segments, customers lost to the bottom ones, and new
    customers with where they landed, over the last period."""
    best, bottom = set(order[:TOP_SEGMENTS]), set(order[-BOTTOM_SEGMENTS:])
    if transitions.empty:
        return {"best": sorted(best), "bottom": sorted(bottom), "net_into_best": 0,
                "lost_to_bottom": 0, "new": 0, "new_landed": [], "period": None}
    last = transitions[transitions["to_as_of"] == transitions["to_as_of"].max()]
    into = last[last.to_segment.isin(best) & ~last.from_segment.isin(best)].customers.sum()
    out_of = last[last.from_segment.isin(best) & ~last.to_segment.isin(best)].customers.sum()
    lost = last[last.to_segment.isin(bottom) & ~last.from_segment.isin(bottom)
                & (last.from_segment != NEW)]
    new = last[last.from_segment == NEW]
    landed = new.groupby("to_segment").customers.sum().sort_values(ascending=False)
    return {
        "period": f"{last.from_as_of.iloc[0]} to {last.to_as_of.iloc[0]}",
        "best": [s for s in order if s in best], "bottom": [s for s in order if s in bottom],
        "net_into_best": int(into - out_of), "into_best": int(into), "out_of_best": int(out_of),
        "lost_to_bottom": int(lost.customers.sum()),
        "lost_revenue": float(_spend_before(snapshots, lost, coded or encode(snapshots))),
        "new": int(new.customers.sum()), "new_revenue": float(new.revenue.sum()),
        "new_landed": [{"segment": s, "customers": int(n)} for s, n in landed.items()],
    }


def _spend_before(snapshots: pd.DataFrame, lost: pd.DataFrame, coded: Any) -> float:
    """Total spend so far of the customers who fell to the bottom (what is at stake)."""
    if lost.empty:
        return 0.0
    start, end = pd.Timestamp(lost.from_as_of.iloc[0]), pd.Timestamp(lost.to_as_of.iloc[0])
    _, frm, to, _ = coded.period(start, end)
    width = len(coded.names)
    code = {name: i for i, name in enumerate(coded.names)}
    keys = [code[f] * width + code[t] for f, t in zip(lost.from_segment, lost.to_segment,
                                                      strict=True)]
    rows = coded.rows(end)  # period() lists the later snapshot's customers first, in order
    hit = np.isin(frm[: len(rows)] * width + to[: len(rows)], keys)
    return float(coded.revenue[rows[hit]].sum())


def history_facts(snapshots: pd.DataFrame, transitions: pd.DataFrame, movers: pd.DataFrame,
                  order: Sequence[str], *, top: int = 15, coded: Any = None) -> dict[str, Any]:
    """Everything the history report shows, as plain data (``coded``: :func:`encode` of the
    snapshots, when already computed)."""
    coded = coded or encode(snapshots)
    sizes = segment_sizes(coded, order)
    downgrades = (movers.groupby(["from_segment", "to_segment"], sort=False)
                  .agg(customers=(CUSTOMER_ID, "size"), revenue=("revenue", "sum"))
                  .reset_index().sort_values("revenue", ascending=False, kind="stable")
                  if not movers.empty else pd.DataFrame(
                      columns=["from_segment", "to_segment", "customers", "revenue"]))
    return {
        "dates": [str(d.date()) for d in sizes.index],
        "order": list(order),
        "sizes": {s: sizes[s].astype(int).tolist() for s in sizes.columns},
        "customers": [int(n) for n in sizes.sum(axis=1)],
        "matrix": last_period(transitions, order),
        "downgrades": downgrades.head(top).to_dict("records"),
        "movers": movers.head(top).to_dict("records"),
        "n_movers": int(len(movers)),
        "movers_revenue": float(movers["revenue"].sum()) if len(movers) else 0.0,
        "drift": drift(snapshots, coded),
        "time_in_segment": time_in_segment(snapshots, order, coded).to_dict("records"),
        "headline": headline(snapshots, transitions, order, coded),
    }
