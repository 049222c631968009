"""Who moved: segment transitions between consecutive snapshots, and the customers who went down.

:func:`transitions` counts, for each pair of consecutive as-of dates, the customers going from
each segment to each other one (``(new)`` for customers with no purchase on or before the first
date) and what they spent in between. :func:`movers` lists the customers whose segment went
down in the last period, down meaning later in the segment map's ``value_order``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rfmkit.errors import ParameterError
from rfmkit.schema import CUSTOMER_ID, FREQUENCY, MONETARY, RECENCY, SEGMENT
from rfmkit.sql.snapshots_query import AS_OF

NEW = "(new)"
GONE = "(gone)"  # a customer who leaves a snapshot (never with frozen purchases; kept to add up)
TRANSITION_COLUMNS = ("from_as_of", "to_as_of", "from_segment", "to_segment", "customers",
                      "revenue")
MOVER_COLUMNS = ("customer_id", "from_as_of", "to_as_of", "from_segment", "to_segment",
                 "steps_down", "recency", "frequency", "monetary", "revenue")
REVENUE = "revenue"


def customer_revenue(snapshots: pd.DataFrame, monetary: str | None = None) -> pd.Series:
    """Each snapshot row's total spend up to its date: ``monetary`` itself when monetary is the
    sum, else monetary x frequency (``monetary="mean"``). ``None`` reads
    ``snapshots.attrs["monetary"]`` (set by :func:`rfmkit.history`), default ``"sum"``."""
    monetary = monetary or snapshots.attrs.get("monetary", "sum")
    if monetary not in ("sum", "mean"):
        raise ParameterError(f"Unknown monetary={monetary!r}. Choose sum or mean.")
    value = snapshots[MONETARY].astype("float64")
    return value if monetary == "sum" else value * snapshots[FREQUENCY].astype("float64")


def _check(snapshots: pd.DataFrame) -> None:
    missing = [c for c in (CUSTOMER_ID, AS_OF, SEGMENT, MONETARY, FREQUENCY)
               if c not in snapshots.columns]
    if missing:
        raise ParameterError(
            f"snapshots= lacks the column(s) {', '.join(map(repr, missing))}: pass what "
            "rfmkit.history() returns (or snapshots.parquet).")


def _pairs(snapshots: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    dates = sorted(pd.to_datetime(snapshots[AS_OF]).unique())
    return list(zip(dates, dates[1:], strict=False))


def _period(snapshots: pd.DataFrame, revenue: pd.Series, start: pd.Timestamp,
            end: pd.Timestamp) -> pd.DataFrame:
    """One row per customer of either snapshot: segment before (or (new)) and after (or
    (gone)), and the spend between the two dates."""
    as_of = pd.to_datetime(snapshots[AS_OF])
    cols = [CUSTOMER_ID, SEGMENT]
    before = snapshots.loc[as_of == start, cols].assign(_rev=revenue[as_of == start])
    after = snapshots.loc[as_of == end, cols].assign(_rev=revenue[as_of == end])
    both = after.merge(before, on=CUSTOMER_ID, how="outer", suffixes=("_to", "_from"))
    both["from_segment"] = both[f"{SEGMENT}_from"].astype(object).where(
        both[f"{SEGMENT}_from"].notna(), NEW)
    both["to_segment"] = both[f"{SEGMENT}_to"].astype(object).where(
        both[f"{SEGMENT}_to"].notna(), GONE)
    both[REVENUE] = both["_rev_to"].fillna(both["_rev_from"]) - both["_rev_from"].fillna(0.0)
    both["from_as_of"], both["to_as_of"] = start, end
    return both


def transitions(snapshots: pd.DataFrame, *, monetary: str | None = None) -> pd.DataFrame:
    """The transition table of ``snapshots`` (what :func:`rfmkit.history` returns).

    One row per pair of consecutive as-of dates and segment pair with at least one customer:
    ``from_as_of``, ``to_as_of``, ``from_segment`` (``(new)``: no purchase on or before
    ``from_as_of``), ``to_segment``, ``customers``, ``revenue`` (what they spent between the
    two dates). The customers of each ``to_as_of`` add up to that snapshot's size.
    """
    _check(snapshots)
    revenue = customer_revenue(snapshots, monetary)
    parts = []
    for start, end in _pairs(snapshots):
        period = _period(snapshots, revenue, start, end)
        parts.append(period.groupby(["from_as_of", "to_as_of", "from_segment", "to_segment"],
                                    sort=False)
                     .agg(customers=(CUSTOMER_ID, "size"), revenue=(REVENUE, "sum"))
                     .reset_index())
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TRANSITION_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["customers"] = out["customers"].astype("int64")
    out[REVENUE] = out[REVENUE].astype("float64").round(6)
    for col in ("from_as_of", "to_as_of"):
        out[col] = pd.to_datetime(out[col]).dt.date
    return out.sort_values(["to_as_of", "customers", "from_segment", "to_segment"],
                           ascending=[True, False, True, True],
                           kind="stable").reset_index(drop=True)[list(TRANSITION_COLUMNS)]


def value_rank(value_order: Sequence[str], names: pd.Series) -> pd.Series:
    """Position of each segment name in ``value_order`` (0: most valuable; NaN: unknown)."""
    rank = {name: i for i, name in enumerate(value_order)}
    return names.map(rank).astype("float64")


def movers(snapshots: pd.DataFrame, value_order: Sequence[str], *,
           monetary: str | None = None) -> pd.DataFrame:
    """Customers whose segment went down between the last two snapshots, most valuable first.

    Columns: ``customer_id``, ``from_as_of``, ``to_as_of``, ``from_segment``, ``to_segment``,
    ``steps_down`` (places lower in ``value_order``), ``recency`` (days since the last
    purchase, at ``to_as_of``), ``frequency``, ``monetary``, ``revenue`` (total spend so far):
    the list a win-back campaign starts from.
    """
    _check(snapshots)
    pairs = _pairs(snapshots)
    if not pairs or not value_order:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in MOVER_COLUMNS})
    start, end = pairs[-1]
    as_of = pd.to_datetime(snapshots[AS_OF])
    revenue = customer_revenue(snapshots, monetary)
    before = snapshots.loc[as_of == start, [CUSTOMER_ID, SEGMENT]]
    after = snapshots.loc[as_of == end, [CUSTOMER_ID, SEGMENT, RECENCY, FREQUENCY, MONETARY]]
    after = after.assign(revenue=revenue[as_of == end])
    both = after.merge(before, on=CUSTOMER_ID, suffixes=("_to", "_from"))
    steps = (value_rank(value_order, both[f"{SEGMENT}_to"])
             - value_rank(value_order, both[f"{SEGMENT}_from"]))
    down = both[steps.to_numpy() > 0].assign(steps_down=steps[steps > 0].astype("int64"))
    out = down.rename(columns={f"{SEGMENT}_from": "from_segment", f"{SEGMENT}_to": "to_segment"})
    out["from_as_of"], out["to_as_of"] = start.date(), end.date()
    order = np.lexsort((out[CUSTOMER_ID].astype(str).to_numpy(), -out["steps_down"].to_numpy(),
                        -out[REVENUE].to_numpy()))
    return out.iloc[order].reset_index(drop=True)[list(MOVER_COLUMNS)]
