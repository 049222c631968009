"""rfmkit.sql.metrics_query: the two ways of dropping duplicate rows give the same customers.

``distinct`` (SELECT DISTINCT *, every dialect) and ``hashed`` (DuckDB: group only the rows
whose hash of every column repeats, subtract the extra copies) must agree on every metric and
every cleaning count, for every metric definition, on rows built to be hard: copies two and
three deep, near-copies that differ in one column only, copies holding NULL and NaN, copies of
returns and of cancelled or dropped rows, copies on a day whose returns cancel it.
"""

from __future__ import annotations

import itertools

import duckdb
import numpy as np
import pandas as pd
import pytest

from rfmkit.cleaning import CleaningRules
from rfmkit.engines.aggregation import run_customer_metrics
from rfmkit.engines.base import Relation
from rfmkit.engines.duckdb import duckdb_kind
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import ColumnMapping, resolve_columns
from rfmkit.sql.metrics_query import MetricsQuery


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    base = pd.DataFrame({
        "invoice": [f"{'C' if i % 37 == 0 else ''}{10000 + i // 3}" for i in range(n)],
        "stock": rng.choice(["A", "B", "C", None], n),
        "customer": rng.choice([f"c{i}" for i in range(40)] + [None], n),
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D")
                + pd.to_timedelta(rng.integers(0, 3, n), "h"),
        "quantity": rng.choice([1, 2, 3, -1, 0], n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
        "price": rng.choice([1.25, 2.5, 9.99, np.nan], n, p=[0.4, 0.3, 0.28, 0.02]),
        "note": rng.choice(["x", "y", None], n),
    })
    copies = base.sample(60, random_state=1)  # exact copies
    triples = base.sample(15, random_state=2)  # two more copies each
    near = base.sample(30, random_state=3).assign(note="z")  # differ in one column only
    return pd.concat([base, copies, triples, triples, near], ignore_index=True).sample(
        frac=1, random_state=4).reset_index(drop=True)


@pytest.fixture(scope="module")
def connection():
    con = duckdb.connect()
    con.register("raw_rows", _rows())
    con.execute("CREATE TABLE rows AS SELECT * FROM raw_rows")
    yield con
    con.close()


def _run(con, dedup: str, options: MetricOptions, rules: CleaningRules):
    described = con.execute("DESCRIBE rows").fetchall()
    rel = Relation(label="rows", columns=[r[0] for r in described],
                   kinds={r[0]: duckdb_kind(str(r[1])) for r in described}, handle='"rows"')
    mapping = ColumnMapping(customer="customer", order="invoice", date="date",
                            quantity="quantity", price="price")
    columns = resolve_columns(rel.columns, mapping, source="rows")

    def fetch(sql):
        return con.execute(sql).fetchall()

    def fetch_frame(sql):
        return con.execute(sql).df()

    def store(sql):
        con.execute(f"CREATE OR REPLACE TEMP TABLE flagged_rows AS {sql}")
        return '"flagged_rows"', lambda: con.execute("DROP TABLE flagged_rows")

    return run_customer_metrics(rel, columns, options, rules, fetch=fetch,
                                fetch_frame=fetch_frame, store=store, dedup=dedup)


GRID = [dict(frequency=f, monetary=m, consolidate_days=c, returns=r)
        for f, m, c, r in itertools.product(("orders", "days", "rows"), ("sum", "mean"),
                                            (False, True), ("drop", "net"))]


@pytest.mark.parametrize("grid", GRID, ids=lambda g: "-".join(str(v) for v in g.values()))
def test_hashed_deduplication_equals_distinct(connection, grid):
    options = MetricOptions(frequency=grid["frequency"], monetary=grid["monetary"],
                            consolidate_days=grid["consolidate_days"])
    rules = CleaningRules(returns=grid["returns"])
    want, want_report = _run(connection, "distinct", options, rules)
    got, got_report = _run(connection, "hashed", options, rules)
    key = "customer_id"
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  want.sort_values(key).reset_index(drop=True),
                                  check_exact=False, rtol=1e-12)
    assert got_report.dropped == want_report.dropped
    assert got_report.dropped["duplicate_row"] == 60 + 2 * 15  # the copies, no near-copy
    assert got_report.rows_used == want_report.rows_used
    assert got_report.dropped_revenue == want_report.dropped_revenue


def test_without_dropping_duplicates_no_weight_is_added(connection):
    options = MetricOptions()
    query = MetricsQuery('"rows"', resolve_columns(
        ["customer", "invoice", "date", "quantity", "price"],
        ColumnMapping(customer="customer", order="invoice", date="date", quantity="quantity",
                      price="price"), source="rows"),
        {"customer": "text", "invoice": "text", "date": "timestamp", "quantity": "integer",
         "price": "float"}, options, CleaningRules(drop_duplicates=False), dedup="hashed")
    sql = query.rollup_sql()
    assert "rfmkit:weight" not in sql and "DISTINCT *" not in sql


def test_the_hashed_plan_groups_only_repeated_hashes():
    query = MetricsQuery('"t"', resolve_columns(
        ["customer", "date", "amount"], None, source="t"),
        {"customer": "text", "date": "timestamp", "amount": "float"}, MetricOptions(),
        CleaningRules(), dedup="hashed")
    sql = query.rollup_sql()
    assert "DISTINCT *" not in sql
    assert 'hash("customer", "date", "amount")' in sql
    assert "HAVING COUNT(*) > 1" in sql


def test_an_unknown_dedup_method_is_refused():
    with pytest.raises(ValueError, match="dedup must be one of"):
        MetricsQuery('"t"', resolve_columns(["customer", "date", "amount"], None, source="t"),
                     {"customer": "text", "date": "timestamp", "amount": "float"},
                     MetricOptions(), CleaningRules(), dedup="sorted")
