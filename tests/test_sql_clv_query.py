"""The purchase-event queries translate to every engine's dialect."""

from __future__ import annotations

import datetime as dt

import sqlglot

from rfmkit.cleaning import CleaningRules
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import resolve_columns
from rfmkit.sql.clv_query import purchase_events_sql, repeat_purchases_by_day_sql
from rfmkit.sql.dialects import postgres_sql, spark_sql
from rfmkit.sql.metrics_query import MetricsQuery

COLUMNS = ["customer_id", "order_date", "amount"]


def _query() -> MetricsQuery:
    columns = resolve_columns(COLUMNS)
    kinds = {"customer_id": "text", "order_date": "timestamp", "amount": "float"}
    return MetricsQuery('"tx"', columns, kinds, MetricOptions(), CleaningRules(
        drop_duplicates=False))


def test_queries_parse_in_every_dialect():
    cal, hold = dt.date(1997, 9, 30), dt.date(1998, 6, 30)
    for sql in (purchase_events_sql(_query(), cal), purchase_events_sql(_query(), cal, hold),
                repeat_purchases_by_day_sql(_query(), cal, hold)):
        assert "1997-09-30" in sql
        for dialect, translate in (("postgres", postgres_sql), ("spark", spark_sql)):
            assert sqlglot.parse_one(translate(sql), read=dialect) is not None


def test_holdout_columns_only_with_a_holdout():
    cal = dt.date(1997, 9, 30)
    assert "holdout_events" not in purchase_events_sql(_query(), cal)
    assert "holdout_events" in purchase_events_sql(_query(), cal, dt.date(1998, 6, 30))
