"""Tests of rfmkit.export.in_engine_scoring: a fitted model scored inside DuckDB, PostgreSQL
and Spark.

Every comparison checks every customer against ``model.segment`` (what ``rfmkit score`` writes):
metrics to 1e-9, scores, rfm_code, segment, cluster and cluster name; for three models: quantile
scores with clusters, percentile scores with clusters, and a customer-level model. Writing with
``into`` is checked for replacement (run twice), quoting of odd names and refusals that leave the
old table as it was.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

import rfmkit
from rfmkit import schema
from rfmkit.cli import main
from rfmkit.errors import InputError, ParameterError, SchemaError

# Frequency has few distinct values on small data: merged bins are expected here.
pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")

FLOATS = [*schema.METRIC_COLUMNS, schema.REVENUE]
EXACT = [schema.ORDERS, *schema.SCORE_COLUMNS, schema.RFM_CODE, schema.SEGMENT, schema.CLUSTER,
         schema.CLUSTER_NAME]
CRM_COLUMNS = rfmkit.ColumnMapping(customer="Customer No", recency="Days", frequency="Orders",
                                   monetary="Spend")
EARLIER = dt.date(2025, 6, 30)  # scores fewer customers than the whole table


# --- data and models ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    """Demo line items (returns, guest orders, duplicates): about 600 customers."""
    return rfmkit.generate_transactions(6_000, seed=5).to_pandas()


@pytest.fixture(scope="module")
def crm(transactions) -> pd.DataFrame:
    """A customer-level CRM export: own column names, numeric ids."""
    customers = rfmkit.compute_rfm(transactions).customers
    out = customers[[schema.CUSTOMER_ID, *schema.METRIC_COLUMNS]].rename(columns={
        schema.CUSTOMER_ID: "Customer No", schema.RECENCY: "Days", schema.FREQUENCY: "Orders",
        schema.MONETARY: "Spend"})
    out["Customer No"] = np.arange(1000, 1000 + len(out), dtype="int64")
    return out


@pytest.fixture(scope="module")
def models(transactions, crm) -> dict[str, rfmkit.RFMModel]:
    return {
        "quantile": rfmkit.RFMModel(n_clusters=3).fit(transactions),
        "percentile": rfmkit.RFMModel(preset="percentile", n_clusters=3).fit(transactions),
        "customers": rfmkit.RFMModel(columns=CRM_COLUMNS, n_clusters=4).fit(crm),
    }


def data_for(name: str, transactions: pd.DataFrame, crm: pd.DataFrame) -> pd.DataFrame:
    return crm if name == "customers" else transactions


def assert_same_customers(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    """Every customer and column of ``got`` equals ``expected`` (floats to 1e-9)."""
    got = got.assign(**{schema.CUSTOMER_ID: got[schema.CUSTOMER_ID].astype(str)})
    got = got.sort_values(schema.CUSTOMER_ID).reset_index(drop=True)
    expected = expected.sort_values(schema.CUSTOMER_ID).reset_index(drop=True)
    assert got[schema.CUSTOMER_ID].tolist() == expected[schema.CUSTOMER_ID].tolist()
    assert set(got.columns) <= set(expected.columns)
    checked = 0
    for col in got.columns:
        if col in FLOATS:
            a = expected[col].to_numpy(dtype="float64")
            b = got[col].to_numpy(dtype="float64")
            assert np.allclose(a, b, rtol=0, atol=1e-9), col
        elif col in EXACT:
            assert expected[col].astype(str).tolist() == got[col].astype(str).tolist(), col
        else:
            continue
        checked += 1
    assert checked >= 9  # metrics, scores, rfm_code, segment, clusters at least


# --- DuckDB ---------------------------------------------------------------------------------------
@pytest.fixture
def shop_db(tmp_path, transactions, crm):
    """A DuckDB database file holding the transactions (orders) and the CRM export (crm)."""
    path = tmp_path / "shop.db"
    con = duckdb.connect(str(path))
    for name, frame in (("orders", transactions), ("crm", crm)):
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    con.close()
    return path


def read_duckdb(path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetch_df()
    finally:
        con.close()


@pytest.mark.parametrize("name", ["quantile", "percentile", "customers"])
def test_duckdb_lazy_relation_equals_segment(models, transactions, crm, name):
    data = data_for(name, transactions, crm)
    relation = rfmkit.score_in_engine(models[name], data)
    assert isinstance(relation, duckdb.DuckDBPyRelation)  # lazy: runs when used
    got = relation.df()
    expected = models[name].segment(data).customers
    assert_same_customers(expected, got)
    assert got[schema.CUSTOMER_ID].tolist() == sorted(got[schema.CUSTOMER_ID])


@pytest.mark.parametrize("name,table", [("quantile", "orders"), ("percentile", "orders"),
                                        ("customers", "crm")])
def test_duckdb_into_writes_next_to_the_input_and_replaces(models, transactions, crm, shop_db,
                                                           name, table):
    model = models[name]
    data = data_for(name, transactions, crm)
    written = rfmkit.score_in_engine(model, shop_db, table=table, into="rfm_assignments")
    assert written.rows == len(data if name == "customers" else model.result_.customers)
    assert written.table == f'"main"."rfm_assignments" in {shop_db}'
    got = read_duckdb(shop_db, "SELECT * FROM rfm_assignments")
    assert_same_customers(model.segment(data).customers, got)
    if name == "customers":
        return
    # a second run replaces the table (fewer customers as of an earlier date), never appends
    again = rfmkit.score_in_engine(model, shop_db, table=table, as_of=EARLIER,
                                   into="main.rfm_assignments")
    got = read_duckdb(shop_db, "SELECT * FROM rfm_assignments")
    assert again.rows == len(got) < written.rows
    assert_same_customers(model.segment(data, as_of=EARLIER).customers, got)
    tables = read_duckdb(shop_db, "SELECT table_name FROM duckdb_tables() ORDER BY 1")
    assert tables["table_name"].tolist() == ["crm", "orders", "rfm_assignments"]


def test_duckdb_into_quotes_odd_names(models, shop_db):
    odd = 'Weird "Name"; DROP TABLE orders; --'
    into = '"' + odd.replace('"', '""') + '"'
    written = rfmkit.score_in_engine(models["quantile"], shop_db, table="orders", into=into)
    con = duckdb.connect(str(shop_db), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert names == {"orders", "crm", odd}
        count = con.execute(f"SELECT count(*) FROM {into}").fetchone()[0]
    finally:
        con.close()
    assert count == written.rows
    # the parts may be given as a sequence too: no quoting needed
    again = rfmkit.score_in_engine(models["quantile"], shop_db, table="orders",
                                   into=("main", odd))
    assert again.table == written.table


def test_duckdb_refusals_leave_the_old_table(models, transactions, shop_db):
    model = models["quantile"]
    rfmkit.score_in_engine(model, shop_db, table="orders", into="rfm_assignments")
    before = read_duckdb(shop_db, "SELECT * FROM rfm_assignments")
    # an as-of date before every purchase: no customer, so nothing replaces the old table
    with pytest.raises(InputError, match="no rows.*left as it was"):
        rfmkit.score_in_engine(model, shop_db, table="orders", as_of="2020-01-01",
                               into="rfm_assignments")
    with pytest.raises(ParameterError, match="names the table being scored"):
        rfmkit.score_in_engine(model, shop_db, table="orders", into="main.ORDERS")
    with pytest.raises(InputError, match="Schema with name nope does not exist"):
        rfmkit.score_in_engine(model, shop_db, table="orders", into="nope.rfm_assignments")
    pd.testing.assert_frame_equal(read_duckdb(shop_db, "SELECT * FROM rfm_assignments"), before)
    assert len(read_duckdb(shop_db, "SELECT * FROM orders")) == len(transactions)


def test_duckdb_into_needs_a_database(models, transactions, tmp_path):
    """A file or DataFrame input has no database to write into; the error says what to do."""
    path = tmp_path / "tx.parquet"
    transactions.to_parquet(path)
    with pytest.raises(ParameterError, match=r"tx.parquet is not a table in a DuckDB database"
                                             r".*PATH.db with table=NAME"):
        rfmkit.score_in_engine(models["quantile"], path, into="rfm_assignments")
    # an engine on the caller's connection writes into that connection's database
    con = duckdb.connect(str(tmp_path / "mine.db"))
    engine = rfmkit.get_engine("duckdb", connection=con)
    written = rfmkit.score_in_engine(models["quantile"], path, engine=engine,
                                     into="rfm_assignments")
    assert written.table == f'"rfm_assignments" in {tmp_path / "mine.db"}'
    assert con.execute("SELECT count(*) FROM rfm_assignments").fetchone()[0] == written.rows
    con.close()


def test_missing_column_is_one_clear_error(models, transactions):
    renamed = transactions.rename(columns={"invoice_date": "InvoiceDate"})
    with pytest.raises(SchemaError) as caught:
        rfmkit.score_in_engine(models["quantile"], renamed)
    message = str(caught.value)
    assert message.startswith("DataFrame has no column 'invoice_date' (date)")
    assert "'InvoiceDate'" in message and 'AS "invoice_date"' in message
    lowered = transactions.rename(columns={"customer_id": "CUSTOMER_ID"})
    with pytest.raises(SchemaError, match="'CUSTOMER_ID' differs from 'customer_id' only in case"):
        rfmkit.score_in_engine(models["quantile"], lowered)


def test_customer_level_input_is_checked_like_score(models, crm):
    model = models["customers"]
    repeated = pd.concat([crm, crm.head(3)], ignore_index=True)
    with pytest.raises(InputError, match=r"ids in column 'Customer No' repeat \(3 extra rows\)"):
        rfmkit.score_in_engine(model, repeated)
    negative = crm.assign(Days=crm["Days"] - 10_000)
    with pytest.raises(InputError, match="'Days' \\(recency\\).*negative values"):
        rfmkit.score_in_engine(model, negative)
    missing = crm.assign(Spend=crm["Spend"].where(crm.index > 1))
    with pytest.raises(SchemaError, match="'Spend' \\(monetary\\).*2 rows are not"):
        rfmkit.score_in_engine(model, missing)


def test_only_the_three_engines_score_in_place(models, transactions):
    class Custom:
        name = "custom"

    with pytest.raises(ParameterError, match="needs the duckdb, spark or postgres engine"):
        rfmkit.score_in_engine(models["quantile"], transactions, engine=Custom())


def test_cli_score_into_a_duckdb_table(models, transactions, shop_db, tmp_path, capsys):
    """rfmkit score --into equals rfmkit score --out, customer by customer, and replaces."""
    model_path = rfmkit.save_model(models["quantile"], tmp_path / "model.json")
    base = ["score", str(shop_db), "--table", "orders", "--model", str(model_path)]
    assert main([*base, "--out", str(tmp_path / "scored"), "--quiet"]) == 0
    expected = pd.read_parquet(tmp_path / "scored" / "customers.parquet")
    for _ in range(2):
        assert main([*base, "--into", "rfm_assignments"]) == 0
        printed = " ".join(capsys.readouterr().out.split())
        assert f'Wrote {len(expected):,} customers to "main"."rfm_assignments" in' in printed
    got = read_duckdb(shop_db, "SELECT * FROM rfm_assignments")
    assert_same_customers(expected, got)
    # a file input has no database: the error points to --to duckdb:PATH.db
    path = tmp_path / "tx.parquet"
    transactions.to_parquet(path)
    assert main(["score", str(path), "--model", str(model_path), "--into", "x"]) == 2
    assert "--to duckdb:PATH.db" in " ".join(capsys.readouterr().err.split())
    # --out is optional with --into only; --into keeps the rows out of Python (no --out, --to)
    assert main(["score", str(path), "--model", str(model_path)]) == 2
    assert "Missing option --out" in capsys.readouterr().err
    assert main([*base, "--into", "x", "--out", str(tmp_path / "o")]) == 2
    assert "--into keeps the assignments in the database" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --- PostgreSQL -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_shop(transactions, crm):
    """A fresh database holding the transactions (orders) and the CRM export (crm)."""
    pytest.importorskip("psycopg", reason="pip install 'rfmkit[postgres]'")
    from pg_server import get_server
    from rfmkit.engines.postgres_tables import write_tables

    dsn = get_server().new_database()
    write_tables(dsn, {"orders": transactions, "crm": crm})
    return dsn


def read_postgres(dsn: str, sql: str) -> pd.DataFrame:
    import psycopg

    with psycopg.connect(dsn) as conn:
        cur = conn.execute(sql)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


@pytest.mark.postgres
@pytest.mark.parametrize("name,table", [("quantile", "orders"), ("percentile", "public.orders"),
                                        ("customers", "crm")])
def test_postgres_into_equals_segment_and_replaces(models, transactions, crm, pg_shop, name,
                                                   table, monkeypatch):
    from rfmkit.engines.postgres import PostgresEngine

    # Only metadata and counts may come back to Python: no result holds customer rows.
    fetched: list[int] = []
    for method in ("_fetch", "_frame"):
        original = getattr(PostgresEngine, method)

        def spy(self, *args, _original=original, **kwargs):
            result = _original(self, *args, **kwargs)
            fetched.append(len(result))
            return result

        monkeypatch.setattr(PostgresEngine, method, spy)
    model = models[name]
    data = data_for(name, transactions, crm)
    into = f"Scores {name}"
    written = rfmkit.score_in_engine(model, pg_shop, engine="postgres", table=table,
                                     into=(into,))
    assert written.table == f'"public"."{into}"' and written.engine == "postgres"
    assert max(fetched) <= len(data.columns) < 100
    got = read_postgres(pg_shop, f'SELECT * FROM "{into}"')
    assert written.rows == len(got)
    assert_same_customers(model.segment(data).customers, got)
    if name != "quantile":
        return
    again = rfmkit.score_in_engine(model, pg_shop, engine="postgres", table=table,
                                   as_of=EARLIER, into=(into,))
    got = read_postgres(pg_shop, f'SELECT * FROM "{into}"')
    assert again.rows == len(got) < written.rows
    assert_same_customers(model.segment(data, as_of=EARLIER).customers, got)


@pytest.mark.postgres
def test_postgres_query_input_odd_names_and_refusals(models, transactions, pg_shop):
    import psycopg

    model = models["quantile"]
    with psycopg.connect(pg_shop, autocommit=True) as conn:
        conn.execute('CREATE SCHEMA IF NOT EXISTS "Rfm ""Out"""')
    odd = 'Weird "Name"; DROP TABLE orders; --'
    into = '"Rfm ""Out"""."' + odd.replace('"', '""') + '"'
    engine = rfmkit.get_engine("postgres", query="SELECT * FROM orders WHERE quantity > 0")
    try:
        written = rfmkit.score_in_engine(model, pg_shop, engine=engine, into=into)
        assert written.table == '"Rfm ""Out"""."' + odd.replace('"', '""') + '"'
        got = read_postgres(pg_shop, f"SELECT * FROM {written.table}")
        kept = transactions[transactions["quantity"] > 0]
        assert_same_customers(model.segment(kept).customers, got)
        # the engine is the caller's: still open, its query view still usable
        assert engine.query("SELECT 1 AS one")["one"].tolist() == [1]
    finally:
        engine.close()
    before = read_postgres(pg_shop, f"SELECT * FROM {written.table}")
    with pytest.raises(InputError, match="no rows.*left as it was"):
        rfmkit.score_in_engine(model, pg_shop, engine="postgres", table="orders",
                               as_of="2020-01-01", into=into)
    with pytest.raises(ParameterError, match="names the table being scored"):
        rfmkit.score_in_engine(model, pg_shop, engine="postgres", table="orders",
                               into="public.orders")
    with pytest.raises(ParameterError, match="has no lazy result.*into="):
        rfmkit.score_in_engine(model, pg_shop, engine="postgres", table="orders")
    with pytest.raises(SchemaError, match="table \"crm\" in .* has no columns "
                                          "'customer_id' \\(customer\\), 'invoice' \\(order\\)"):
        rfmkit.score_in_engine(model, pg_shop, engine="postgres", table="crm", into="x")
    pd.testing.assert_frame_equal(read_postgres(pg_shop, f"SELECT * FROM {written.table}"),
                                  before)
    assert len(read_postgres(pg_shop, "SELECT * FROM orders")) == len(transactions)


# --- Spark ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark_db(tmp_path_factory):
    """A Spark database whose tables live in a temporary folder (not ./spark-warehouse)."""
    pytest.importorskip("pyspark", reason="pip install 'rfmkit[spark]'")
    from spark_session import get_session

    spark = get_session()
    location = tmp_path_factory.mktemp("spark-db")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS rfmkit_in_engine LOCATION '{location}'")
    yield spark
    spark.sql("DROP DATABASE IF EXISTS rfmkit_in_engine CASCADE")


def spark_rows(df) -> pd.DataFrame:
    return df.toArrow().to_pandas()


@pytest.mark.spark
@pytest.mark.parametrize("name", ["quantile", "customers"])  # percentile: written below
def test_spark_lazy_dataframe_equals_segment(models, transactions, crm, spark_db, name):
    from rfmkit.engines.spark import SparkEngine

    data = data_for(name, transactions, crm)
    engine = SparkEngine(spark_db)
    try:
        frame = rfmkit.score_in_engine(models[name], data, engine=engine)
    finally:
        engine.close()  # drops the engine's views: the DataFrame was analysed already
    assert type(frame).__module__.startswith("pyspark.sql")
    assert_same_customers(models[name].segment(data).customers, spark_rows(frame))


@pytest.mark.spark
def test_spark_into_replaces_a_catalog_table(models, transactions, spark_db):
    model = models["percentile"]
    written = rfmkit.score_in_engine(model, transactions, engine="spark",
                                     into="rfmkit_in_engine.Scores")
    assert written.table == "`rfmkit_in_engine`.`Scores`" and written.engine == "spark"
    got = spark_rows(spark_db.table("rfmkit_in_engine.scores"))
    assert written.rows == len(got)
    assert_same_customers(model.segment(transactions).customers, got)
    again = rfmkit.score_in_engine(model, transactions, engine="spark", as_of=EARLIER,
                                   into="spark_catalog.rfmkit_in_engine.scores")
    got = spark_rows(spark_db.table("rfmkit_in_engine.scores"))
    assert again.rows == len(got) < written.rows
    assert_same_customers(model.segment(transactions, as_of=EARLIER).customers, got)
    # Spark's catalog allows letters, digits and _ only: an odd name is quoted and refused
    # as one identifier (nothing injected), and the table stays as it was
    with pytest.raises(InputError, match=r"Spark could not write table "
                                         r"`rfmkit_in_engine`.`x; DROP TABLE y`"):
        rfmkit.score_in_engine(model, transactions, engine="spark",
                               into=("rfmkit_in_engine", "x; DROP TABLE y"))
    with pytest.raises(InputError, match="no rows.*left as it was"):
        rfmkit.score_in_engine(model, transactions, engine="spark", as_of="2020-01-01",
                               into="rfmkit_in_engine.scores")
    with pytest.raises(SchemaError, match="has no column 'customer_id'"):
        rfmkit.score_in_engine(model, transactions.rename(columns={"customer_id": "cid"}),
                               engine="spark", into="rfmkit_in_engine.scores")
    assert spark_db.table("rfmkit_in_engine.scores").count() == again.rows
    # (temporary views of other tests in the shared session are listed too: not tables)
    assert {t.name for t in spark_db.catalog.listTables("rfmkit_in_engine")
            if not t.isTemporary} == {"scores"}
