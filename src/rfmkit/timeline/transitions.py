"""Who moved: segment transitions between consecutive snapshots, and the customers who went down.

:func:`transitions` counts, for each pair of consecutive as-of dates, the customers going from
each segment to each other one (``(new)`` for customers with no purchase on or before the first
date) and what they spent in between. :func:`movers` lists the customers whose segment went
down in the last period, down meaning later in the segment map's ``value_order``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


class _Coded:
    """The snapshots as integer codes (customer, segment, date): consecutive snapshots are then
    compared with numpy indexing, not string merges (millions of rows)."""

    def __init__(self, snapshots: pd.DataFrame, revenue: pd.Series):
        self.customer, self.ids = pd.factorize(snapshots[CUSTOMER_ID])
        self.segment, names = pd.factorize(snapshots[SEGMENT].astype(str))
        self.names = [*map(str, names), NEW, GONE]
        self.new, self.gone = len(names), len(names) + 1
        self.as_of = pd.to_datetime(snapshots[AS_OF]).to_numpy()
        self.revenue = revenue.to_numpy(dtype="float64")
        # the rows of each date, found once (a comparison over millions of rows per use adds up)
        self.dates, self.day = np.unique(self.as_of, return_inverse=True)
        by_day = np.argsort(self.day, kind="stable")
        bounds = np.searchsorted(self.day[by_day], np.arange(len(self.dates) + 1))
        self._rows = {d: by_day[bounds[i]:bounds[i + 1]] for i, d in enumerate(self.dates)}

    def rows(self, day: Any) -> np.ndarray:
        """Positions of the rows of snapshot ``day``, in their order."""
        return self._rows.get(np.datetime64(day, "ns"), np.zeros(0, dtype="int64"))

    def period(self, start: pd.Timestamp, end: pd.Timestamp
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Customer code, segment before (or (new)), after (or (gone)) and spend in between,
        for every customer of either snapshot."""
        n = len(self.ids)
        a, b = self.rows(start), self.rows(end)
        before = np.full(n, self.new)
        spent = np.zeros(n)
        before[self.customer[a]] = self.segment[a]
        spent[self.customer[a]] = self.revenue[a]
        cb = self.customer[b]
        in_b = np.zeros(n, dtype=bool)
        in_b[cb] = True
        gone = self.customer[a][~in_b[self.customer[a]]]
        customers = np.concatenate([cb, gone])
        frm = np.concatenate([before[cb], before[gone]])
        to = np.concatenate([self.segment[b], np.full(len(gone), self.gone)])
        revenue = np.concatenate([self.revenue[b] - spent[cb], np.zeros(len(gone))])
        return customers, frm, to, revenue


def encode(snapshots: pd.DataFrame, monetary: str | None = None) -> _Coded:
    """The snapshots as codes, computed once and shared by the functions below (``coded=``)."""
    _check(snapshots)
    return _Coded(snapshots, customer_revenue(snapshots, monetary))


def transitions(snapshots: pd.DataFrame, *, monetary: str | None = None,
                coded: _Coded | None = None) -> pd.DataFrame:
    """The transition table of ``snapshots`` (what :func:`rfmkit.history` returns).

    One row per pair of consecutive as-of dates and segment pair with at least one customer:
    ``from_as_of``, ``to_as_of``, ``from_segment`` (``(new)``: no purchase on or before
    ``from_as_of``), ``to_segment``, ``customers``, ``revenue`` (what they spent between the
    two dates). The customers of each ``to_as_of`` add up to that snapshot's size.
    """
    coded = coded or encode(snapshots, monetary)
    width = len(coded.names)
    parts = []
    for start, end in _pairs(snapshots):
        _, frm, to, revenue = coded.period(start, end)
        key = frm * width + to
        keys, counts = np.unique(key, return_counts=True)
        spent = np.bincount(np.searchsorted(keys, key), weights=revenue, minlength=len(keys))
        parts.append(pd.DataFrame({
            "from_as_of": start.date(), "to_as_of": end.date(),
            "from_segment": [coded.names[k // width] for k in keys],
            "to_segment": [coded.names[k % width] for k in keys],
            "customers": counts.astype("int64"), "revenue": spent}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TRANSITION_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out[REVENUE] = out[REVENUE].astype("float64").round(6)
    return out.sort_values(["to_as_of", "customers", "from_segment", "to_segment"],
                           ascending=[True, False, True, True],
                           kind="stable").reset_index(drop=True)[list(TRANSITION_COLUMNS)]


def last_period(snapshots: pd.DataFrame, *, monetary: str | None = None,
                coded: _Coded | None = None) -> pd.DataFrame | None:
    """Every customer of the last two snapshots: ``customer_id``, ``from_segment``,
    ``to_segment``, ``row`` (the position of their row in the last snapshot, -1 when gone)
    and ``revenue`` (spent in between). None with fewer than two snapshots."""
    pairs = _pairs(snapshots)
    if not pairs:
        return None
    coded = coded or encode(snapshots, monetary)
    start, end = pairs[-1]
    customers, frm, to, revenue = coded.period(start, end)
    rows = coded.rows(end)
    at = np.full(len(customers), -1)
    at[: len(rows)] = rows  # period() lists the last snapshot's customers first, in its order
    names = np.asarray(coded.names, dtype=object)
    return pd.DataFrame({CUSTOMER_ID: coded.ids.take(customers), "from_segment": names[frm],
                         "to_segment": names[to], "row": at, REVENUE: revenue,
                         "from_as_of": start.date(), "to_as_of": end.date()})


def value_rank(value_order: Sequence[str], names: pd.Series) -> pd.Series:
    """Position of each segment name in ``value_order`` (0: most valuable; NaN: unknown)."""
    rank = {name: i for i, name in enumerate(value_order)}
    return names.map(rank).astype("float64")


def movers(snapshots: pd.DataFrame, value_order: Sequence[str], *,
           monetary: str | None = None, coded: _Coded | None = None) -> pd.DataFrame:
    """Customers whose segment went down between the last two snapshots, most valuable first.

    Columns: ``customer_id``, ``from_as_of``, ``to_as_of``, ``from_segment``, ``to_segment``,
    ``steps_down`` (places lower in ``value_order``), ``recency`` (days since the last
    purchase, at ``to_as_of``), ``frequency``, ``monetary``, ``revenue`` (total spend so far):
    the list a win-back campaign starts from.
    """
    _check(snapshots)
    period = last_period(snapshots, monetary=monetary, coded=coded)
    if period is None or not value_order:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in MOVER_COLUMNS})
    steps = (value_rank(value_order, period["to_segment"])
             - value_rank(value_order, period["from_segment"])).to_numpy()
    down = period[(steps > 0) & (period["row"].to_numpy() >= 0)].assign(
        steps_down=steps[steps > 0].astype("int64"))
    rows = down["row"].to_numpy()
    total = coded.revenue if coded is not None else customer_revenue(snapshots,
                                                                       monetary).to_numpy()
    out = down[[CUSTOMER_ID, "from_as_of", "to_as_of", "from_segment", "to_segment",
                "steps_down"]].reset_index(drop=True)
    for col in (RECENCY, FREQUENCY, MONETARY):
        out[col] = snapshots[col].to_numpy()[rows]
    out[REVENUE] = total[rows]
    order = np.lexsort((out[CUSTOMER_ID].astype(str).to_numpy(), -out["steps_down"].to_numpy(),
                        -out[REVENUE].to_numpy()))
    return out.iloc[order].reset_index(drop=True)[list(MOVER_COLUMNS)]
