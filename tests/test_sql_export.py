"""Tests of rfmkit.export.sql_export: a fitted model as one SQL query gives what
``model.segment`` gives.

Every comparison runs the query in DuckDB over a table holding the same rows the model scores in
Python, and compares every customer: metrics (to 1e-9), scores, rfm_code, segment, cluster and
cluster name. PostgreSQL and Spark run the same comparison when their servers are available.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot

import rfmkit
from pg_server import get_server
from rfmkit import schema
from rfmkit.errors import ParameterError
from rfmkit.sql.metrics_query import quote
from spark_session import get_session

METRICS = list(schema.METRIC_COLUMNS)
EXACT = [*schema.SCORE_COLUMNS, schema.RFM_CODE, schema.SEGMENT]
CLUSTERS = [schema.CLUSTER, schema.CLUSTER_NAME]
OTHER_DIALECTS = ("postgres", "spark", "snowflake", "bigquery")

# Frequency has few distinct values on small data: merged bins are expected here (and tested in
# test_scoring_bins.py).
pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")


# --- helpers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    """Demo line items (returns, guest orders, duplicates): about 1,300 customers."""
    return rfmkit.generate_transactions(12_000, seed=5).to_pandas()


def run_duckdb(sql: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Run ``sql`` in a fresh DuckDB database holding ``tables`` (name -> rows)."""
    con = duckdb.connect()
    try:
        for i, (name, frame) in enumerate(tables.items()):
            parts = name.split(".")
            if len(parts) == 2:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(parts[0])}")
            con.register(f"frame_{i}", frame)
            con.execute(f"CREATE TABLE {'.'.join(map(quote, parts))} AS "
                        f"SELECT * FROM frame_{i}")
        return con.execute(sql).fetch_df()
    finally:
        con.close()


def by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out[schema.CUSTOMER_ID] = out[schema.CUSTOMER_ID].astype(str)
    return out.sort_values(schema.CUSTOMER_ID).reset_index(drop=True)


def compare(expected: pd.DataFrame, got: pd.DataFrame) -> pd.DataFrame:
    """Per customer and column: True where the SQL result equals the Python result."""
    expected, got = by_customer(expected), by_customer(got)
    assert got[schema.CUSTOMER_ID].tolist() == expected[schema.CUSTOMER_ID].tolist()
    same = pd.DataFrame(index=expected.index)
    for col in METRICS:
        a = expected[col].to_numpy(dtype="float64")
        b = got[col].to_numpy(dtype="float64")
        same[col] = np.abs(a - b) <= 1e-9
    for col in EXACT + CLUSTERS:
        if col in expected.columns:
            assert col in got.columns, col
            if col in schema.SCORE_COLUMNS:
                same[col] = expected[col].to_numpy(dtype="float64") == got[col].to_numpy(
                    dtype="float64")
            else:
                same[col] = (expected[col].astype(str).to_numpy()
                             == got[col].astype(str).to_numpy())
    return same


def assert_identical(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    same = compare(expected, got)
    bad = same.columns[~same.all()].tolist()
    assert not bad, {c: int((~same[c]).sum()) for c in bad}


# --- DuckDB: every customer identical ---------------------------------------------------------
CASES = {
    "default": {},
    "quintile": {"preset": "quintile", "n_init": 50},
    "percentile": {"preset": "percentile"},
    "10 bins": {"n_bins": 10},
    "3 bins": {"n_bins": 3, "n_clusters": "none"},
    "7 bins": {"n_bins": 7, "n_clusters": "none"},
    "net returns": {"returns": "net"},
    "days, mean, caps": {"frequency": "days", "monetary": "mean", "consolidate_days": True,
                         "caps": {"frequency": 6, "monetary": "q0.95"}},
    "r-rfm map": {"segment_map": "r-rfm-0.3.0", "n_clusters": 3},
    "no clusters": {"n_clusters": "none"},
}


@pytest.mark.parametrize("params", CASES.values(), ids=CASES.keys())
def test_sql_equals_segment_for_every_customer(transactions, params):
    model = rfmkit.RFMModel(**params).fit(transactions)
    expected = model.segment(transactions).customers
    got = run_duckdb(rfmkit.model_sql(model, source="tx"), {"tx": transactions})
    assert_identical(expected, got)
    assert (schema.CLUSTER in got.columns) == (params.get("n_clusters") != "none")
    # the rows come out sorted by customer id, as the query says
    assert got[schema.CUSTOMER_ID].tolist() == sorted(got[schema.CUSTOMER_ID])


@pytest.mark.parametrize("preset", [None, "percentile"])
def test_a_constant_metric_scores_the_middle_in_sql_too(transactions, preset):
    """Every purchase on one day: recency is constant, every R score the middle one (3 of 5, or
    50), in the query as in Python, for the training data and for new data."""
    one_day = transactions.assign(invoice_date=pd.Timestamp("2023-05-05"))
    model = rfmkit.RFMModel(preset=preset, n_clusters=3).fit(one_day)
    expected = model.segment(one_day).customers
    assert set(expected[schema.R_SCORE]) == {50.0 if preset else 3}
    assert_identical(expected, run_duckdb(rfmkit.model_sql(model, source="tx"), {"tx": one_day}))
    new = rfmkit.generate_transactions(3_000, seed=12).to_pandas()
    assert_identical(model.segment(new).customers,
                     run_duckdb(rfmkit.model_sql(model, source="tx"), {"tx": new}))


def test_sql_on_new_data_uses_the_frozen_model(transactions):
    """Scoring other transactions: SQL and Python agree, with the training edges and centres."""
    model = rfmkit.RFMModel(preset="percentile", n_clusters=4).fit(transactions)
    new = rfmkit.generate_transactions(6_000, seed=11).to_pandas()
    got = run_duckdb(rfmkit.model_sql(model, source="tx"), {"tx": new})
    assert_identical(model.segment(new).customers, got)
    # percentile scores of unseen values fall between the training ranks: not all 0 or 100
    assert got[schema.M_SCORE].between(0, 100).all() and got[schema.M_SCORE].nunique() > 100


def test_log_metric_clusters_match_but_for_rounding(transactions):
    """Clusters on standardised log metrics: ``LN(1 + x)`` in SQL and numpy's ``log1p`` may
    differ in the last bit, which can move a customer lying exactly on the boundary between two
    clusters (about 1e-16 from it) to the other one. Everything else is exact, and at least
    99.9% of customers get the same cluster."""
    model = rfmkit.RFMModel(cluster_features="log-metrics", n_clusters=5).fit(transactions)
    expected = model.segment(transactions).customers
    got = run_duckdb(rfmkit.model_sql(model, source="tx"), {"tx": transactions})
    same = compare(expected, got)
    assert same[METRICS + EXACT].all().all()
    assert same[CLUSTERS].all(axis=1).mean() >= 0.999


def test_customer_level_input():
    """A CRM export (one row per customer, own column names) scored by SQL."""
    tx = rfmkit.generate_transactions(8_000, seed=2)
    customers = rfmkit.compute_rfm(tx).customers[[schema.CUSTOMER_ID, *METRICS]]
    crm = customers.rename(columns={schema.CUSTOMER_ID: "Customer No", schema.RECENCY: "Days",
                                    schema.FREQUENCY: "Orders", schema.MONETARY: "Spend"})
    crm["Customer No"] = crm["Customer No"].astype("int64")  # numeric ids, as CRMs export them
    columns = rfmkit.ColumnMapping(customer="Customer No", recency="Days", frequency="Orders",
                                   monetary="Spend")
    for params in ({"n_clusters": 4}, {"preset": "percentile", "n_clusters": 5}):
        model = rfmkit.RFMModel(columns=columns, **params).fit(crm)
        assert model.columns_.shape is rfmkit.InputShape.CUSTOMERS
        got = run_duckdb(rfmkit.model_sql(model, source="crm"), {"crm": crm})
        assert_identical(model.segment(crm).customers, got)


def test_messy_text_columns(synthetic_orders):
    """Text amounts and dates (some unparseable), float ids with NaN: parsed as the engine does."""
    model = rfmkit.RFMModel(n_clusters=3).fit(synthetic_orders)
    got = run_duckdb(rfmkit.model_sql(model, source="orders"), {"orders": synthetic_orders})
    assert_identical(model.segment(synthetic_orders).customers, got)


def test_identifiers_with_spaces_quotes_and_a_schema(transactions):
    odd = transactions.rename(columns={"customer_id": 'Customer "ID"', "invoice": "Invoice No",
                                       "invoice_date": "Date; DROP TABLE x", "quantity": "Qty",
                                       "unit_price": "Unit Price"})
    columns = rfmkit.ColumnMapping(customer='Customer "ID"', order="Invoice No",
                                   date="Date; DROP TABLE x", quantity="Qty", price="Unit Price")
    model = rfmkit.RFMModel(columns=columns, n_clusters=3).fit(odd)
    source = 'sales "eu".my "odd" table'
    got = run_duckdb(rfmkit.model_sql(model, source=source), {source: odd})
    assert_identical(model.segment(odd).customers, got)
    for dialect in OTHER_DIALECTS:
        text = rfmkit.model_sql(model, dialect=dialect, source=source)
        q = "`" if dialect in ("spark", "bigquery") else '"'
        if q == '"':
            assert '"sales ""eu"""."my ""odd"" table"' in text
            assert '"Customer ""ID"""' in text
        else:
            assert '`sales "eu"`.`my "odd" table`' in text
            assert '`Customer "ID"`' in text


def test_fixed_as_of_is_honoured(transactions):
    """A model fitted with a fixed as-of date, and an as-of given to model_sql, both count."""
    model = rfmkit.RFMModel(as_of="2025-06-30", n_clusters=3).fit(transactions)
    assert model.as_of_ == dt.date(2025, 6, 30)
    got = run_duckdb(rfmkit.model_sql(model, source="tx"), {"tx": transactions})
    expected = model.segment(transactions).customers
    assert_identical(expected, got)
    # transactions after the as-of date are excluded: nobody bought after it
    assert got[schema.LAST_PURCHASE].max() < pd.Timestamp("2025-07-01")
    assert got[schema.RECENCY].min() == 0

    earlier = dt.date(2025, 3, 31)
    got_early = run_duckdb(rfmkit.model_sql(model, source="tx", as_of=earlier),
                           {"tx": transactions})
    assert_identical(model.segment(transactions, as_of=earlier).customers, got_early)
    assert len(got_early) < len(got)
    assert got_early[schema.LAST_PURCHASE].max() < pd.Timestamp("2025-04-01")
    # the as-of date may be given as text or as a datetime too
    for as_of in ("2025-03-31", dt.datetime(2025, 3, 31, 15, 0)):
        assert rfmkit.model_sql(model, source="tx", as_of=as_of) == rfmkit.model_sql(
            model, source="tx", as_of=earlier)


def test_latest_date_policy_is_computed_inside_the_query(transactions):
    """Without a fixed as-of date the query takes the latest purchase day of the table it reads,
    as ``segment`` does, so the same query scores next month's table correctly."""
    model = rfmkit.RFMModel(n_clusters="none").fit(transactions)
    sql = rfmkit.model_sql(model, source="tx")
    assert "2025-12-31" not in sql
    cut = transactions[transactions["invoice_date"] < pd.Timestamp("2025-09-01")]
    got = run_duckdb(sql, {"tx": cut})
    assert_identical(model.segment(cut).customers, got)
    assert got[schema.RECENCY].min() == 0


def test_unknown_dialect_and_unfitted_model(transactions):
    model = rfmkit.RFMModel(n_clusters="none").fit(transactions)
    with pytest.raises(ParameterError, match="Unknown SQL dialect 'oracle'"):
        rfmkit.model_sql(model, dialect="oracle")
    with pytest.raises(ParameterError, match="is not a date"):
        rfmkit.model_sql(model, as_of="last tuesday")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        rfmkit.model_sql(rfmkit.RFMModel())


# --- other dialects: valid SQL without SQLGlot warnings -----------------------------------------
@pytest.fixture(scope="module")
def dialect_models():
    # small data: SQLGlot parses BigQuery's UNNEST of STRUCTs (the percentile ranks) slowly
    small = rfmkit.generate_transactions(3_000, seed=8).to_pandas()
    return {
        "quantile, log-metrics": rfmkit.RFMModel(cluster_features="log-metrics",
                                                 n_clusters=3).fit(small),
        "percentile": rfmkit.RFMModel(preset="percentile", n_clusters=3).fit(small),
        "quintile": rfmkit.RFMModel(preset="quintile", n_clusters=4).fit(small),
    }


@pytest.mark.parametrize("dialect", OTHER_DIALECTS)
def test_transpiles_and_parses_back(dialect_models, dialect, caplog):
    for name, model in dialect_models.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="sqlglot"):
            text = rfmkit.model_sql(model, dialect=dialect, source="shop.tx")
        # SQLGlot warns when it cannot translate something faithfully (e.g. CTE column names
        # for BigQuery, which used to lose the rank table's columns, or NULLS LAST in a
        # window of an aggregate)
        assert not caplog.records, (name, [r.getMessage() for r in caplog.records])
        tree = sqlglot.parse_one(text, read=dialect)
        # the round trip is stable: written again, the query reads back to the same tree
        assert sqlglot.parse_one(tree.sql(dialect), read=dialect) == tree
        names = {c.alias_or_name for c in tree.selects}
        assert {schema.CUSTOMER_ID, *METRICS, *EXACT, *CLUSTERS} <= names, name


def test_bigquery_money_is_rounded_to_six_decimals(dialect_models):
    """DECIMAL(38, 6) is not a valid BigQuery NUMERIC (at most 29 integer digits): amounts are
    rounded to 6 decimals in BIGNUMERIC, as DuckDB's DECIMAL(38, 6) cast rounds them."""
    text = rfmkit.model_sql(dialect_models["quintile"], dialect="bigquery", source="tx")
    tree = sqlglot.parse_one(text, read="bigquery")
    casts = [c for c in tree.find_all(sqlglot.exp.Cast) if c.to.is_type("bignumeric")]
    assert casts
    for cast in casts:
        assert isinstance(cast.parent, sqlglot.exp.Round)
        assert cast.parent.args["decimals"].this == "6"
    assert not [c for c in tree.find_all(sqlglot.exp.DataType)
                if c.is_type("decimal") or c.is_type("bigdecimal") and c.expressions]
    # DuckDB rounds half away from zero when casting, as BigQuery's ROUND does
    con = duckdb.connect()
    try:
        rounded = con.execute("SELECT CAST(0.0078125 AS DECIMAL(38, 6))").fetchone()[0]
    finally:
        con.close()
    assert float(rounded) == 0.007813


@pytest.mark.slow
def test_percentile_query_stays_short_and_fast():
    """Percentile scores need the training ranks in the query: one short row per distinct
    value (warehouses cap query text at about 1 MB), looked up with a window scan: fast.
    """
    rng = np.random.default_rng(0)
    n = 20_000
    customers = pd.DataFrame({
        schema.CUSTOMER_ID: [f"c{i}" for i in range(n)],
        schema.RECENCY: rng.integers(0, 1000, n),
        schema.FREQUENCY: 1 + rng.poisson(12, n),
        schema.MONETARY: np.round(rng.lognormal(6, 1, n), 2),  # ~20,000 distinct values
    })
    model = rfmkit.RFMModel(preset="percentile", n_clusters=3, n_init=1, max_iter=20,
                            random_state=0).fit(customers)
    sql = rfmkit.model_sql(model, source="c")
    assert len(sql) < 40 * n
    start = time.perf_counter()
    got = run_duckdb(sql, {"c": customers})
    elapsed = time.perf_counter() - start
    assert_identical(model.result_.customers, got)
    assert elapsed < 20, elapsed  # ~2 s; the former join with an OR took ~20 s


# --- Online Retail (Method Q) ---------------------------------------------------------------------
@pytest.mark.slow
def test_online_retail_quintile_every_customer_identical(shared_data, tmp_path):
    """The CLI route: fit, save, load, export SQL; run it in DuckDB over the parquet file."""
    path = shared_data / "online_retail.parquet"
    model = rfmkit.RFMModel(preset="quintile", n_init=100).fit(path)
    loaded = rfmkit.load_model(rfmkit.save_model(model, tmp_path / "model.json"))
    expected = model.segment(path).customers
    assert len(expected) == 4338
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW online_retail AS SELECT * FROM read_parquet('{path}')")
        got = con.execute(rfmkit.model_sql(loaded, source="online_retail")).fetch_df()
    finally:
        con.close()
    assert_identical(expected, got)
    row = got.set_index(schema.CUSTOMER_ID).loc["12346"]
    assert (row[schema.RECENCY], row[schema.FREQUENCY]) == (325, 1)
    assert row[schema.MONETARY] == pytest.approx(77183.60)
    assert (row[schema.R_SCORE], row[schema.F_SCORE], row[schema.M_SCORE]) == (1, 1, 5)


# --- PostgreSQL and Spark ------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_runs_the_query_with_the_same_results(transactions):
    """Also a regression test for speed: the percentile ranks as a range join made PostgreSQL
    JIT-compile the query for over a minute (estimated at thousands of rows per customer)."""
    psycopg = pytest.importorskip("psycopg")
    from rfmkit.engines.postgres_tables import write_tables

    dsn = get_server().new_database()
    write_tables(dsn, {"tx": transactions})
    for params in ({"n_clusters": 3}, {"preset": "percentile", "n_clusters": 3},
                   {"preset": "quintile", "n_clusters": 4, "returns": "net"}):
        model = rfmkit.RFMModel(**params).fit(transactions)
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.execute(rfmkit.model_sql(model, dialect="postgres", source="tx"))
            got = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
        assert_identical(model.segment(transactions).customers, got)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_runs_the_query_with_the_same_results(tmp_path):
    spark = get_session()
    transactions = rfmkit.generate_transactions(3_000, seed=8).to_pandas()
    # through Parquet: PySpark's pandas conversion warns under pandas 3
    path = tmp_path / "tx.parquet"
    transactions.to_parquet(path)
    spark.read.parquet(str(path)).createOrReplaceTempView("rfm_sql_tx")
    model = rfmkit.RFMModel(preset="percentile", n_clusters=3).fit(transactions)
    rows = spark.sql(rfmkit.model_sql(model, dialect="spark", source="rfm_sql_tx")).collect()
    got = pd.DataFrame([r.asDict() for r in rows])
    assert_identical(model.segment(transactions).customers, got)
