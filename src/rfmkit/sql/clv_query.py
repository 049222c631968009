"""The purchase-event summary the CLV models need, as one query (DuckDB dialect, translated for
the other engines like every rfmkit query).

A purchase event is a distinct customer and calendar day with any purchase row: same-day
purchases are merged. Timing comes from every purchase row, $0.00 ones included (the published
CDNOW fit counts them); spend comes from positive amounts. Returns and rows that break a
cleaning rule are not purchases. One row per customer with an event on or before the
calibration end: the first and last event day, the number of events, the spend of the repeat
events (all but the first), and, with a holdout, the events and spend in the holdout.
"""

from __future__ import annotations

import datetime as dt

import sqlglot
from sqlglot import exp

from rfmkit.schema import CUSTOMER_ID
from rfmkit.sql.metrics_query import MetricsQuery, literal, quote

FIRST_DAY = "first_day"
LAST_DAY = "last_day"
EVENTS = "events"
REPEAT_SPEND = "repeat_spend"
HOLDOUT_EVENTS = "holdout_events"
HOLDOUT_SPEND = "holdout_spend"
REPEATS = "repeats"
#: The name of a SELECT's WITH clause in SQLGlot's tree ("with_" since SQLGlot 28, "with" before)
WITH_ARG = "with_" if "with_" in exp.Select.arg_types else "with"


def _days_select(flagged: str, until: str | None = None) -> str:
    """Purchase days of the rows of ``flagged``: (customer_id, day, spend), up to the DATE
    expression ``until`` when given."""
    purchase = (f"customer_id IS NOT NULL AND (reason IS NULL OR "
                f"(reason = {literal('non_positive_amount')} AND amount = 0))")
    if until is not None:
        purchase += f" AND CAST(ts AS DATE) <= {until}"
    return ("SELECT customer_id, CAST(ts AS DATE) AS day, "
            "SUM(CASE WHEN amount > 0 THEN CAST(amount AS DOUBLE) ELSE 0 END) AS spend "
            f"FROM {flagged} WHERE {purchase} GROUP BY customer_id, CAST(ts AS DATE)")


def _days_cte(query: MetricsQuery, last_day: dt.date) -> list[str]:
    return [f"flagged AS ({query.flagged_sql(last_day)})", f"days AS ({_days_select('flagged')})"]


def _summary_select(calibration: str) -> str:
    return (f"SELECT customer_id, MIN(first_day) AS {quote(FIRST_DAY)}, "
            f"MAX(day) AS {quote(LAST_DAY)}, COUNT(*) AS {quote(EVENTS)}, "
            f"COALESCE(SUM(CASE WHEN day > first_day THEN spend END), 0) AS {quote(REPEAT_SPEND)} "
            f"FROM {calibration} GROUP BY customer_id")


def events_until_ctes(query: MetricsQuery, until: str) -> list[str]:
    """CTEs ending in ``clv_events``: the summary of :func:`purchase_events_sql` (no holdout)
    of the purchases up to ``until``, an SQL DATE expression (a literal, or a scalar subquery
    over another CTE of the same query: ``rfmkit sql`` uses the scoring query's reference day).

    The CTEs are named ``clv_*`` (the metric query's own typed rows are renamed too), so that
    they sit next to the RFM metric CTEs in one WITH: PostgreSQL and Spark refuse a nested
    WITH that reuses an outer CTE's name (Spark: by default), and one WITH is every dialect's.
    """
    tree = sqlglot.parse_one(query.flagged_sql(None), read="duckdb")
    renamed = {cte.alias: f"clv_{cte.alias}" for cte in tree.ctes}

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in renamed:
            return exp.to_table(renamed[node.name])
        return node

    tree = tree.transform(rename)
    ctes = [f"{renamed[c.alias]} AS ({c.this.sql('duckdb')})" for c in tree.ctes]
    body = tree.copy()
    body.set(WITH_ARG, None)
    return [
        *ctes,
        f"clv_flagged AS ({body.sql('duckdb')})",
        f"clv_days AS ({_days_select('clv_flagged', until)})",
        "clv_events AS (" + _summary_select(
            "(SELECT customer_id, day, spend, MIN(day) OVER (PARTITION BY customer_id) AS "
            "first_day FROM clv_days) AS calibration") + ")",
    ]


def repeat_purchases_by_day_sql(query: MetricsQuery, calibration_end: dt.date,
                                last_day: dt.date) -> str:
    """Repeat purchase events per calendar day up to ``last_day``, of the customers whose first
    purchase is on or before ``calibration_end`` (the cohort the models describe): the
    tracking plot's actual line."""
    cal = f"DATE '{calibration_end.isoformat()}'"
    ctes = _days_cte(query, last_day) + [
        "firsts AS (SELECT customer_id, MIN(day) AS first_day FROM days GROUP BY customer_id)"]
    return (f"WITH {', '.join(ctes)} SELECT d.day, COUNT(*) AS {quote(REPEATS)} FROM days AS d "
            "JOIN firsts AS f ON d.customer_id = f.customer_id "
            f"WHERE f.first_day <= {cal} AND d.day > f.first_day GROUP BY d.day")


def purchase_events_sql(query: MetricsQuery, calibration_end: dt.date,
                        holdout_end: dt.date | None = None) -> str:
    """The summary query over ``query``'s rows (its as-of date must be the last day read:
    ``holdout_end``, else ``calibration_end``)."""
    cal = f"DATE '{calibration_end.isoformat()}'"
    calibration = (
        "calibration AS (SELECT customer_id, day, spend, "
        f"MIN(day) OVER (PARTITION BY customer_id) AS first_day FROM days WHERE day <= {cal})"
    )
    summary = f"summary AS ({_summary_select('calibration')})"
    ctes = [*_days_cte(query, holdout_end or calibration_end), calibration, summary]
    select = (f"SELECT s.customer_id AS {quote(CUSTOMER_ID)}, s.{quote(FIRST_DAY)}, "
              f"s.{quote(LAST_DAY)}, s.{quote(EVENTS)}, s.{quote(REPEAT_SPEND)}")
    if holdout_end is None:
        return f"WITH {', '.join(ctes)} {select} FROM summary AS s"
    ctes.append(
        "holdout AS (SELECT customer_id, COUNT(*) AS n, SUM(spend) AS total FROM days "
        f"WHERE day > {cal} AND day <= DATE '{holdout_end.isoformat()}' GROUP BY customer_id)"
    )
    return (f"WITH {', '.join(ctes)} {select}, COALESCE(h.n, 0) AS {quote(HOLDOUT_EVENTS)}, "
            f"COALESCE(h.total, 0) AS {quote(HOLDOUT_SPEND)} FROM summary AS s "
            "LEFT JOIN holdout AS h ON s.customer_id = h.customer_id")
