"""Per-customer purchase events for the CLV models, computed inside the engine.

The transactions side of ``rfmkit clv``: like :func:`rfmkit.compute_rfm`, it reads the source
with an engine and brings back one row per customer (see :mod:`rfmkit.sql.clv_query` for what
counts as a purchase event).

Duplicates. With an order id, two identical rows are one line read twice and are removed, as
everywhere in rfmkit. Without one (CDNOW has none), identical rows cannot be told apart from two
purchases of the same amount on the same day, so they are kept: the published CDNOW spend model
counts its 21 such rows as purchases.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import pandas as pd

from rfmkit.cleaning import CleaningRules
from rfmkit.engines import Engine, get_engine
from rfmkit.engines.input_checks import prepare_input
from rfmkit.errors import InputError, ParameterError, RFMKitWarning
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import ColumnMapping, InputShape, resolve_columns
from rfmkit.sql.clv_query import (
    FIRST_DAY,
    LAST_DAY,
    purchase_events_sql,
    repeat_purchases_by_day_sql,
)
from rfmkit.sql.dialects import postgres_sql, spark_sql
from rfmkit.sql.metrics_query import MetricsQuery

#: A holdout may end this many days after the last purchase (a period end after a quiet
#: day or week) before a warning says the actual purchases are cut short.
HOLDOUT_SLACK_DAYS = 7
_TRANSLATE = {"duckdb": lambda sql: sql, "postgres": postgres_sql, "spark": spark_sql}


def purchase_events(source: Any, *, calibration_end: dt.date, holdout_end: dt.date | None = None,
                    columns: ColumnMapping | None = None, date_format: str | None = None,
                    date_order: str | None = None,
                    engine: str | Engine = "duckdb", table: str | None = None,
                    delimiter: str | None = None, encoding: str | None = None,
                    decimal: str | None = None, thousands: str | None = None,
                    tracking: bool = False
                    ) -> tuple[pd.DataFrame, str, pd.DataFrame | None]:
    """One row per customer with a purchase on or before ``calibration_end``: first and last
    event day, events, repeat spend (and holdout events and spend with ``holdout_end``).

    Returns the frame, the label of the source (for messages) and, with ``tracking``, the
    cohort's repeat purchases per day (``day``, ``repeats``) up to the holdout end.
    """
    if holdout_end is not None and holdout_end <= calibration_end:
        raise ParameterError(
            f"holdout_end={holdout_end.isoformat()} must be after "
            f"calibration_end={calibration_end.isoformat()}.")
    own = isinstance(engine, str)
    eng = get_engine(engine)
    try:
        rel = eng.read(source, table=table, delimiter=delimiter, encoding=encoding)
        resolved = resolve_columns(rel.columns, columns, source=rel.label)
        if resolved.shape is InputShape.CUSTOMERS:
            raise InputError(
                f"{rel.label} is a customer-level table; CLV needs the transactions (one row "
                "per purchase, with its date and amount).")
        has_order = resolved.mapping.order is not None
        rules = CleaningRules(drop_duplicates=has_order, drop_cancellations=has_order)
        translate = _TRANSLATE[eng.name]

        def fetch(sql: str) -> list[tuple]:
            return list(eng.query(translate(sql)).itertuples(index=False, name=None))

        # the engines' own input checks: exact float ids, the text-date layout (given or
        # detected, day/month order settled), as `segment` reads the same file
        options, _ = prepare_input(rel, resolved, MetricOptions(
            date_format=date_format, date_order=date_order, decimal=decimal,
            thousands=thousands), fetch)
        query = MetricsQuery(rel.handle, resolved, rel.kinds, options, rules)
        sql = purchase_events_sql(query, calibration_end, holdout_end)
        frame = eng.query(translate(sql))
        daily = eng.query(translate(repeat_purchases_by_day_sql(
            query, calibration_end, holdout_end or calibration_end))) if tracking else None
        span = eng.query(translate(
            f"SELECT MIN(CAST(ts AS DATE)) AS lo, MAX(CAST(ts AS DATE)) AS hi FROM "
            f"({query.flagged_sql(None)}) AS f WHERE reason IS NULL OR amount = 0"))
    finally:
        if own:
            eng.close()
    lo, hi = (None if pd.isna(v) else pd.Timestamp(v).date() for v in span.iloc[0])
    if lo is None:
        raise InputError(f"{rel.label} has no purchase rows. Nothing to model.")
    if not lo <= calibration_end <= hi:
        raise ParameterError(
            f"calibration_end={calibration_end.isoformat()} is outside the data of {rel.label} "
            f"(purchases from {lo.isoformat()} to {hi.isoformat()}): choose a day in that "
            "range, late enough that customers have had time to buy again.")
    if holdout_end is not None and (holdout_end - hi).days > HOLDOUT_SLACK_DAYS:
        warnings.warn(RFMKitWarning(
            f"holdout_end={holdout_end.isoformat()} is {(holdout_end - hi).days} days after the "
            f"last purchase of {rel.label} ({hi.isoformat()}): the holdout's actual purchases "
            "stop there, so the model will look as if it over-predicts. End the holdout at the "
            "data's end."), stacklevel=2)
    for col in (FIRST_DAY, LAST_DAY):
        frame[col] = pd.to_datetime(frame[col])
    frame["customer_id"] = frame["customer_id"].astype(str)
    if daily is not None:
        daily["day"] = pd.to_datetime(daily["day"])
        daily = daily.sort_values("day").reset_index(drop=True)
    frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return frame, rel.label, daily
