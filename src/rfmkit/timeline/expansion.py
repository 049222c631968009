"""Per-period rows to snapshots: each customer's sums up to every as-of date, in numpy.

The engine returns one row per customer and period (the days up to the first date, then
between consecutive dates; :meth:`~rfmkit.sql.snapshots_query.SnapshotsQuery.per_period_sql`).
Here the rows of each customer are summed cumulatively (amounts as exact integers of
millionths, so the totals are the decimal sums of a single-date run, to the last bit), then
repeated for every date until the customer's next active period: one row per customer and date,
in the columns and types of :func:`~rfmkit.compute_rfm` and in its customer order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import sort_customers
from rfmkit.schema import (
    CUSTOMER_ID,
    FIRST_PURCHASE,
    FREQUENCY,
    LAST_PURCHASE,
    MONETARY,
    ORDERS,
    RECENCY,
    REVENUE,
)
from rfmkit.sql.snapshots_query import AS_OF, MICROS

_SUMMED = ("n_rows", "n_row_days", "n_positive_days", "n_orders", "amount_micros")


def expand_periods(per: pd.DataFrame, dates: Sequence[dt.date],
                   options: MetricOptions) -> pd.DataFrame:
    """Snapshots rows (``customer_id``, ``as_of`` and the customer columns) of ``dates`` from
    the per-period rows ``per``, sorted by date then customer as ``compute_rfm`` sorts."""
    n_dates = len(dates)
    ids = per[CUSTOMER_ID].astype(str)
    # customers in compute_rfm's order: their rank sorts every snapshot
    first_code, unique = pd.factorize(ids)
    ordered = sort_customers(pd.DataFrame({CUSTOMER_ID: unique,
                                           "_at": np.arange(len(unique))}))
    rank = np.empty(len(unique), dtype="int64")
    rank[ordered["_at"].to_numpy()] = np.arange(len(unique))
    ordered = ordered[CUSTOMER_ID].reset_index(drop=True)
    code = rank[first_code]
    period = per["period"].to_numpy(dtype="int64")
    order = np.lexsort((period, code))
    code, period = code[order], period[order]
    rows = per.iloc[order].reset_index(drop=True)
    first_of_customer = np.ones(len(rows), dtype=bool)
    first_of_customer[1:] = code[1:] != code[:-1]
    group = np.cumsum(first_of_customer)
    sums = {c: rows[c].to_numpy(dtype="int64") for c in _SUMMED}
    starts = np.flatnonzero(first_of_customer)
    sizes = np.diff(np.append(starts, len(rows)))

    def running(values: np.ndarray) -> np.ndarray:
        """Sum so far within each customer's rows."""
        total = np.cumsum(values)
        return total - np.repeat(total[starts] - values[starts], sizes)

    cum = {c: running(v) for c, v in sums.items()}
    first_ts = pd.Series(pd.to_datetime(rows["first_ts"]).astype("datetime64[us]"))
    last_ts = pd.Series(pd.to_datetime(rows["last_ts"]).astype("datetime64[us]"))
    # NaT (a period without purchase rows) stays NaT in cummin/cummax: carry the value before
    first_ts = first_ts.groupby(group).cummin().groupby(group).ffill().to_numpy()
    last_ts = last_ts.groupby(group).cummax().groupby(group).ffill().to_numpy()
    # each row stands for its period and every later one until the customer's next row
    following = np.append(period[1:], n_dates)
    following[np.append(first_of_customer[1:], True)] = n_dates
    repeats = following - period
    take = np.repeat(np.arange(len(rows)), repeats)
    starts = np.repeat(np.cumsum(repeats) - repeats, repeats)
    date_index = period[take] + (np.arange(len(take)) - starts)

    if options.consolidate_days:
        units = cum["n_positive_days"][take]
        freq = units
    else:
        units = cum["n_rows"][take]
        freq = {"orders": cum["n_orders"], "days": cum["n_row_days"],
                "rows": cum["n_rows"]}[options.frequency][take]
    bought = units > 0
    take, date_index, freq = take[bought], date_index[bought], freq[bought]
    # by date, then customer: rows are already in customer order within each date
    small = np.int16 if n_dates < 2 ** 15 else np.int64  # int16: numpy's radix sort
    final = np.argsort(date_index.astype(small), kind="stable")
    take, date_index, freq = take[final], date_index[final], freq[final]
    revenue = cum["amount_micros"][take].astype("float64") / MICROS
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = revenue if options.monetary == "sum" else np.where(
            freq > 0, revenue / freq, np.nan)
    as_of = np.asarray(dates, dtype="datetime64[D]")[date_index]
    last = last_ts[take]
    return pd.DataFrame({
        CUSTOMER_ID: ordered.take(code[take]).reset_index(drop=True),
        AS_OF: as_of,
        RECENCY: (as_of - last.astype("datetime64[D]")).astype("int64", copy=False),
        FREQUENCY: freq.astype("int64", copy=False),
        MONETARY: monetary.astype("float64", copy=False),
        FIRST_PURCHASE: first_ts[take],
        LAST_PURCHASE: last,
        ORDERS: cum["n_orders"][take],
        REVENUE: revenue,
    }, copy=False)
