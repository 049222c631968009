"""SQL for many as-of dates at once: every snapshot's customers from one scan of the rows.

:class:`SnapshotsQuery` reuses the typing and cleaning rules of
:class:`~rfmkit.sql.metrics_query.MetricsQuery` (so a snapshot is exactly what
``MetricsQuery`` gives at that as-of date), then rolls the kept rows up in three small steps:

1. per customer, order and day (the one pass over the transactions);
2. per customer and day, with the orders first bought that day (an order spanning two days
   counts once, on its first purchase day, as ``COUNT(DISTINCT order_id)`` does);
3. per customer and *period* (the days up to the first as-of date, then between consecutive
   dates), joined to the dates at or after it and summed: at most one row per customer and
   period reaches the join, not one per transaction.

A row after an as-of date is simply outside that snapshot: in ``MetricsQuery`` the rule
``after_as_of`` comes before the rules that depend on nothing but the row, so the rows kept up
to a date are the same whichever later dates exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

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
from rfmkit.sql.metrics_query import MONEY, MetricsQuery, quote

AS_OF = "as_of"
MICROS = 1_000_000  # MONEY has 6 decimals


def _date(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


@dataclass(frozen=True)
class SnapshotsQuery:
    """The customers of every as-of date in ``dates``, one row per customer and date.

    Parameters
    ----------
    metrics : MetricsQuery
        The one-date query whose definitions (columns, kinds, options, rules) are reused; its
        ``options.as_of`` is ignored: the dates are ``dates``.
    dates : sequence of datetime.date
        As-of dates, ascending and distinct.
    """

    metrics: MetricsQuery
    dates: Sequence[dt.date]

    def __post_init__(self) -> None:
        dates = list(self.dates)
        if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
            raise ValueError("SnapshotsQuery needs distinct as-of dates in ascending order.")

    def _last(self) -> dt.date:
        if not self.dates:
            raise ValueError("This query needs at least one as-of date.")
        return self.dates[-1]

    def _period(self) -> str:
        """Index of the first as-of date on or after ``day`` (days after the last: none)."""
        cases = " ".join(f"WHEN day <= {_date(d)} THEN {i}" for i, d in enumerate(self.dates))
        return f"CASE {cases} END"

    def _dates_table(self) -> str:
        rows = " UNION ALL ".join(f"SELECT {i} AS period, {_date(d)} AS {AS_OF}"
                                  for i, d in enumerate(self.dates))
        return f"as_of_dates AS ({rows})"

    def _per_day_ctes(self, last: dt.date | None) -> list[str]:
        """CTEs ending in ``per_day``: one row per customer and day with kept rows (up to
        ``last``, if given), over one scan of the transactions."""
        m = self.metrics
        # the rules without a date: a row after a date is left out by the period join
        flagged = m._flagged(None, None)
        until = "" if last is None else f" AND CAST(ts AS DATE) <= {_date(last)}"
        per_order_day = (
            "per_order_day AS (SELECT customer_id, order_id, CAST(ts AS DATE) AS day, "
            "COUNT(CASE WHEN amount > 0 THEN 1 END) AS n_rows, "
            f"SUM(CAST(amount AS {MONEY})) AS amount, "
            "MIN(CASE WHEN amount > 0 THEN ts END) AS first_ts, "
            "MAX(CASE WHEN amount > 0 THEN ts END) AS last_ts "
            f"FROM flagged WHERE reason IS NULL{until} "
            "GROUP BY customer_id, order_id, CAST(ts AS DATE))"
        )
        # an order counts on the first day it has a purchase row; rows without an order id are
        # an order each (as MetricsQuery._order_count)
        with_order_day = (
            "with_order_day AS (SELECT *, MIN(CASE WHEN n_rows > 0 THEN day END) OVER "
            "(PARTITION BY customer_id, order_id) AS order_day FROM per_order_day)"
        )
        per_day = (
            "per_day AS (SELECT customer_id, day, CAST(SUM(n_rows) AS BIGINT) AS n_rows, "
            "SUM(amount) AS amount, MIN(first_ts) AS first_ts, MAX(last_ts) AS last_ts, "
            "CAST(SUM(CASE WHEN order_id IS NULL THEN n_rows WHEN day = order_day THEN 1 "
            "ELSE 0 END) AS BIGINT) AS new_orders "
            "FROM with_order_day GROUP BY customer_id, day)"
        )
        return [flagged, per_order_day, with_order_day, per_day]

    def per_day_sql(self) -> str:
        """One row per customer and day with kept rows (no date needed): an engine may store
        it once, read the first and last purchase day from it (the default dates), then run
        :meth:`per_period_sql` on it."""
        return "WITH " + ", ".join(self._per_day_ctes(None)) + " SELECT * FROM per_day"

    def daily_ctes(self, *, per_day: str | None = None) -> list[str]:
        """CTEs ending in ``per_period``: one row per customer and period with purchases or
        kept rows, over one scan of the transactions (or of a stored :meth:`per_day_sql`)."""
        last = self._last()
        ctes = ([f"per_day AS (SELECT * FROM {per_day} WHERE day <= {_date(last)})"]
                if per_day is not None else self._per_day_ctes(last))
        if self.metrics.options.consolidate_days:
            # a day is a purchase when its kept amounts sum to more than zero
            first = "MIN(CASE WHEN amount > 0 THEN first_ts END)"
            last_ts = "MAX(CASE WHEN amount > 0 THEN last_ts END)"
        else:
            first, last_ts = "MIN(first_ts)", "MAX(last_ts)"
        per_period = (
            f"per_period AS (SELECT customer_id, {self._period()} AS period, "
            "CAST(SUM(n_rows) AS BIGINT) AS n_rows, "
            "COUNT(CASE WHEN n_rows > 0 THEN 1 END) AS n_row_days, "
            "COUNT(CASE WHEN amount > 0 THEN 1 END) AS n_positive_days, "
            "CAST(SUM(new_orders) AS BIGINT) AS n_orders, "
            f"SUM(amount) AS amount, {first} AS first_ts, {last_ts} AS last_ts "
            "FROM per_day GROUP BY customer_id, period)"
        )
        return [*ctes, per_period]

    def snapshot_sql(self, *, per_period: str | None = None) -> str:
        """One row per customer who bought on or before each date: ``as_of``, then the columns
        of :meth:`MetricsQuery.customers_sql` (recency to that date). ``per_period`` names a
        stored :meth:`per_period_sql` result to read instead of the transactions."""
        o = self.metrics.options
        ctes = ([f"per_period AS (SELECT * FROM {per_period})"] if per_period is not None
                else self.daily_ctes())
        ctes.append(self._dates_table())
        ctes.append(
            f"cumulative AS (SELECT p.customer_id, d.{AS_OF}, "
            "CAST(SUM(p.n_rows) AS BIGINT) AS n_rows, "
            "CAST(SUM(p.n_row_days) AS BIGINT) AS n_row_days, "
            "CAST(SUM(p.n_positive_days) AS BIGINT) AS n_positive_days, "
            "CAST(SUM(p.n_orders) AS BIGINT) AS n_orders, SUM(p.amount) AS total, "
            "MIN(p.first_ts) AS first_ts, MAX(p.last_ts) AS last_ts "
            f"FROM per_period AS p JOIN as_of_dates AS d ON p.period <= d.period "
            f"GROUP BY p.customer_id, d.{AS_OF})"
        )
        if o.consolidate_days:
            units = "n_positive_days"
            freq = {"orders": units, "days": units, "rows": units}[o.frequency]
        else:
            units = "n_rows"
            freq = {"orders": "n_orders", "days": "n_row_days", "rows": "n_rows"}[o.frequency]
        revenue = "CAST(total AS DOUBLE)"
        monetary = revenue if o.monetary == "sum" else f"{revenue} / NULLIF({freq}, 0)"
        return (
            "WITH " + ", ".join(ctes) + " "
            f"SELECT customer_id AS {quote(CUSTOMER_ID)}, {AS_OF} AS {quote(AS_OF)}, "
            f"CAST(DATE_DIFF('day', CAST(last_ts AS DATE), {AS_OF}) AS BIGINT) "
            f"AS {quote(RECENCY)}, "
            f"CAST({freq} AS BIGINT) AS {quote(FREQUENCY)}, {monetary} AS {quote(MONETARY)}, "
            f"first_ts AS {quote(FIRST_PURCHASE)}, last_ts AS {quote(LAST_PURCHASE)}, "
            f"CAST(n_orders AS BIGINT) AS {quote(ORDERS)}, {revenue} AS {quote(REVENUE)} "
            f"FROM cumulative WHERE {units} > 0"
        )

    def per_period_sql(self, *, per_day: str | None = None) -> str:
        """The ``per_period`` rows alone, one per customer and period (``period``: index into
        ``dates``), the amount as an exact integer of millionths (``amount_micros``): summed
        across periods it gives exactly the decimal total that :meth:`snapshot_sql` casts to
        a double (``micros / 1e6`` is that same double). What an engine returns; the sums up
        to each date are then taken in numpy (:mod:`rfmkit.timeline.expansion`)."""
        return (
            "WITH " + ", ".join(self.daily_ctes(per_day=per_day)) + " "
            "SELECT customer_id, period, n_rows, n_row_days, n_positive_days, n_orders, "
            f"CAST(amount * {MICROS} AS BIGINT) AS amount_micros, first_ts, last_ts "
            "FROM per_period"
        )
