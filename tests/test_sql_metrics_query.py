"""rfmkit.sql.metrics_query: the plans an engine can ask for (their answers are checked against
the pandas reference by tests/test_engines.py, on the ``duckdb_limited`` engine too)."""

from __future__ import annotations

import pytest

from rfmkit.cleaning import CleaningRules
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import ColumnMapping, resolve_columns
from rfmkit.sql.metrics_query import MetricsQuery

KINDS = {"customer": "text", "order": "text", "date": "timestamp", "amount": "float"}


def _query(options: MetricOptions, orders: str, with_order: bool = True) -> MetricsQuery:
    names = list(KINDS) if with_order else ["customer", "date", "amount"]
    mapping = ColumnMapping(customer="customer", order="order" if with_order else None,
                            date="date", amount="amount")
    return MetricsQuery('"t"', resolve_columns(names, mapping, source="t"),
                        {n: KINDS[n] for n in names}, options, CleaningRules(), orders=orders)


def test_grouped_orders_count_without_a_distinct_aggregate():
    sql = _query(MetricOptions(), "grouped").rollup_sql()
    assert "per_order AS" in sql and "GROUP BY customer_id, order_id" in sql
    assert "COUNT(DISTINCT" not in sql
    assert "COUNT(DISTINCT" in _query(MetricOptions(), "distinct").rollup_sql()


@pytest.mark.parametrize("options, with_order", [
    (MetricOptions(frequency="days"), True),  # a day's distinct count spans orders
    (MetricOptions(consolidate_days=True), True),  # counted per day instead
    (MetricOptions(), False),  # no order column: every row is an order
])
def test_grouped_orders_fall_back_where_orders_do_not_split_the_work(options, with_order):
    sql = _query(options, "grouped", with_order).rollup_sql()
    assert "per_order AS" not in sql
    assert sql == _query(options, "distinct", with_order).rollup_sql()


def test_an_unknown_plan_is_refused():
    with pytest.raises(ValueError, match="orders must be 'distinct' or 'grouped'"):
        _query(MetricOptions(), "sorted")
