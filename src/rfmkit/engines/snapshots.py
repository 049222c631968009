"""Many as-of dates in one engine pass: the customers of every snapshot, inside the engine.

:func:`snapshot_metrics` runs :class:`~rfmkit.sql.snapshots_query.SnapshotsQuery` (one scan of
the transactions) in DuckDB, Spark or PostgreSQL, after the same value-column checks as a
single-date run, and returns one row per customer and as-of date. Each engine lends its own
way of running DuckDB-dialect SQL (translated for Spark and PostgreSQL), so the snapshot of a
date is what that engine's ``customer_metrics`` gives at that date.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence

import pandas as pd

from rfmkit.cleaning import CleaningRules
from rfmkit.engines.aggregation import check_value_columns
from rfmkit.engines.base import Engine, Relation
from rfmkit.engines.input_checks import prepare_input
from rfmkit.errors import InputError, ParameterError
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import ResolvedColumns
from rfmkit.sql.metrics_query import MetricsQuery
from rfmkit.sql.snapshots_query import SnapshotsQuery

Runner = tuple[Callable[[str], list[tuple]], Callable[[str], pd.DataFrame]]


def snapshot_metrics(eng: Engine, rel: Relation, columns: ResolvedColumns,
                     options: MetricOptions, rules: CleaningRules,
                     dates: Sequence[dt.date], *, per_period: bool = True) -> pd.DataFrame:
    """The rows the snapshots of ``dates`` are made of, from one scan of the transactions.

    ``per_period=True`` (what :func:`rfmkit.history` uses): one row per customer and period
    with kept rows (:meth:`SnapshotsQuery.per_period_sql`), at most as many rows as customers
    times dates and usually far fewer; the sums up to each date are taken outside the engine.
    ``per_period=False``: the finished snapshots computed in the engine, one row per customer
    and date (:meth:`SnapshotsQuery.snapshot_sql`). Unsorted either way.
    """
    with _runner(eng, rel, columns, options) as (rel, options, money, (fetch, fetch_frame)):
        rows_read, _, _ = check_value_columns(rel, columns, options, fetch)
        if rows_read == 0:
            raise InputError(f"{rel.label} has no rows (only a header?). Nothing to segment.")
        metrics = MetricsQuery(rel.handle, columns, rel.kinds, options, rules, money)
        query = SnapshotsQuery(metrics, tuple(dates))
        return fetch_frame(query.per_period_sql() if per_period else query.snapshot_sql())


def snapshot_periods(eng: Engine, rel: Relation, columns: ResolvedColumns,
                     options: MetricOptions, rules: CleaningRules,
                     choose: Callable[[dt.date | None, dt.date | None], Sequence[dt.date]]
                     ) -> tuple[pd.DataFrame, list[dt.date]]:
    """:func:`snapshot_metrics` (per period) for the dates ``choose(first_day, last_day)``
    picks from the first and last purchase day (None, None when there is no purchase).

    DuckDB stores the per-customer-day rows once and reads both the days and the periods
    from them: one scan of the transactions. Spark and PostgreSQL ask for the days first (a
    second, lighter scan) unless ``choose`` needs none (it is then called with None, None only
    if it ignores them: see :func:`rfmkit.history`).
    """
    if getattr(eng, "name", None) != "duckdb":
        days = date_range(eng, rel, columns, options, rules)
        dates = sorted(choose(*(days or (None, None))))
        if not dates:
            return pd.DataFrame(), []
        return snapshot_metrics(eng, rel, columns, options, rules, dates), dates
    with _runner(eng, rel, columns, options) as (rel, options, money, (fetch, fetch_frame)):
        rows_read, _, _ = check_value_columns(rel, columns, options, fetch)
        if rows_read == 0:
            raise InputError(f"{rel.label} has no rows (only a header?). Nothing to segment.")
        metrics = MetricsQuery(rel.handle, columns, rel.kinds, options, rules, money)
        per_day, drop = eng._store(SnapshotsQuery(metrics, ()).per_day_sql())
        try:
            first, last = fetch(f"SELECT MIN(day), MAX(day) FROM {per_day} WHERE n_rows > 0")[0]
            dates = sorted(choose(first, last))
            if not dates:
                return pd.DataFrame(), []
            query = SnapshotsQuery(metrics, tuple(dates))
            return fetch_frame(query.per_period_sql(per_day=per_day)), dates
        finally:
            drop()


def date_range(eng: Engine, rel: Relation, columns: ResolvedColumns, options: MetricOptions,
               rules: CleaningRules) -> tuple[dt.date, dt.date] | None:
    """First and last day with a kept purchase row (None when there is none): the calendar's
    default bounds."""
    with _runner(eng, rel, columns, options) as (rel, options, money, (_, fetch_frame)):
        metrics = MetricsQuery(rel.handle, columns, rel.kinds, options, rules, money)
        flagged = metrics.flagged_sql(None)
        frame = fetch_frame(
            f"WITH f AS ({flagged}) SELECT MIN(CAST(ts AS DATE)) AS first_day, "
            "MAX(CAST(ts AS DATE)) AS last_day FROM f WHERE reason IS NULL AND amount > 0")
    first, last = frame.iloc[0, 0], frame.iloc[0, 1]
    if pd.isna(first):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


@contextlib.contextmanager
def _runner(eng: Engine, rel: Relation, columns: ResolvedColumns, options: MetricOptions
            ) -> Iterator[tuple[Relation, MetricOptions, str, Runner]]:
    """The relation, the options with the text-date layout settled and the DECIMAL type of the
    amounts (the engines' input checks, as their ``customer_metrics`` runs them), and the
    engine's two ways of running DuckDB-dialect SQL."""
    name = getattr(eng, "name", None)
    if name == "duckdb":
        options, money = prepare_input(rel, columns, options, eng._rows, probe_format=True)
        yield rel, options, money, (eng._rows, eng._frame)
    elif name == "spark":
        with eng._session_settings():
            options, money = prepare_input(rel, columns, options, eng._rows)
            yield rel, options, money, (eng._rows, eng._frame)
    elif name == "postgres":
        from rfmkit.engines.postgres import postgres_sql

        with eng.connection.transaction():
            eng.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

            def fetch(sql: str) -> list[tuple]:
                return eng._fetch(postgres_sql(sql))

            options, money = prepare_input(rel, columns, options, fetch)
            yield rel, options, money, (fetch, lambda sql: eng._frame(postgres_sql(sql)))
    else:
        raise ParameterError(
            f"Snapshots run inside the duckdb, spark or postgres engine; {name!r} has no "
            "snapshot query.")
