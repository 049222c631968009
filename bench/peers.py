"""The implementations the peer benchmark (bench/run.py) times, each a script run in its own
process: ``python -c SCRIPT DATA OUT`` reads the bench transactions at DATA and writes one row per
customer to OUT (Parquet).

The shared definition (what rfmkit's default computes on this data): rows with a customer id, a
positive quantity and price, not a cancelled invoice (``C`` prefix); exact duplicate rows
counted once; per customer the days from the last purchase to the latest purchase day of all
(recency), the distinct invoices (frequency) and the sum of quantity x price (monetary).

lifetimes and PyMC-Marketing compute their own, documented summary (frequency = repeat purchase
days, recency = age at the last purchase, T, monetary = mean repeat spend); they are checked
against that definition instead (see ``LIFETIMES_CHECK`` in run.py).
"""

from __future__ import annotations

RFMKIT = "rfmkit"  # run through the console command, see run.py

DUCKDB_SQL = r"""
import sys, duckdb
data, out = sys.argv[1], sys.argv[2]
duckdb.sql(f'''
COPY (
  WITH rows AS (SELECT DISTINCT * FROM read_parquet('{data}')),
  kept AS (SELECT customer_id, invoice, invoice_date, quantity * unit_price AS amount FROM rows
           WHERE customer_id IS NOT NULL AND quantity > 0 AND unit_price > 0
             AND NOT starts_with(invoice, 'C')),
  per AS (SELECT customer_id, max(invoice_date)::DATE AS last_day,
                 count(DISTINCT invoice) AS frequency, sum(amount) AS monetary
          FROM kept GROUP BY customer_id)
  SELECT customer_id, date_diff('day', last_day, (SELECT max(last_day) FROM per)) AS recency,
         frequency, monetary FROM per
) TO '{out}' (FORMAT parquet)''')
"""

PANDAS_NOTEBOOK = r"""
import sys, pandas as pd
data, out = sys.argv[1], sys.argv[2]
df = pd.read_parquet(data)
df = df.drop_duplicates()
df = df[df.customer_id.notna() & (df.quantity > 0) & (df.unit_price > 0)
        & ~df.invoice.str.startswith("C")]
df["amount"] = df.quantity * df.unit_price
df["day"] = df.invoice_date.dt.normalize()
as_of = df.day.max()
recency = df.groupby("customer_id").day.max().reset_index()
recency["recency"] = (as_of - recency.day).dt.days
frequency = df.groupby("customer_id").invoice.nunique().reset_index(name="frequency")
monetary = df.groupby("customer_id").amount.sum().reset_index(name="monetary")
rfm = recency[["customer_id", "recency"]].merge(frequency, on="customer_id").merge(
    monetary, on="customer_id")
rfm.to_parquet(out, index=False)
"""

PANDAS_GROUPBY = r"""
import sys, pandas as pd
data, out = sys.argv[1], sys.argv[2]
df = pd.read_parquet(data).drop_duplicates()
df = df[df.customer_id.notna() & (df.quantity > 0) & (df.unit_price > 0)
        & ~df.invoice.str.startswith("C")]
rfm = df.assign(amount=df.quantity * df.unit_price, day=df.invoice_date.dt.normalize()).groupby(
    "customer_id").agg(last=("day", "max"), frequency=("invoice", "nunique"),
                       monetary=("amount", "sum"))
rfm["recency"] = (rfm["last"].max() - rfm["last"]).dt.days
rfm.reset_index()[["customer_id", "recency", "frequency", "monetary"]].to_parquet(out, index=False)
"""

POLARS = r"""
import sys, polars as pl
data, out = sys.argv[1], sys.argv[2]
rows = (pl.scan_parquet(data).unique()
        .filter(pl.col("customer_id").is_not_null() & (pl.col("quantity") > 0)
                & (pl.col("unit_price") > 0) & ~pl.col("invoice").str.starts_with("C")))
per = rows.group_by("customer_id").agg(
    pl.col("invoice_date").max().dt.date().alias("last"),
    pl.col("invoice").n_unique().alias("frequency"),
    (pl.col("quantity") * pl.col("unit_price")).sum().alias("monetary"))
per = per.with_columns((pl.col("last").max() - pl.col("last")).dt.total_days().alias("recency"))
per.select("customer_id", "recency", "frequency", "monetary").sink_parquet(out)
"""

SPARK = r"""
import sys
from pyspark.sql import SparkSession, functions as F
data, out = sys.argv[1], sys.argv[2]
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC").getOrCreate())
rows = spark.read.parquet(data).dropDuplicates()
kept = rows.where(F.col("customer_id").isNotNull() & (F.col("quantity") > 0)
                  & (F.col("unit_price") > 0) & ~F.col("invoice").startswith("C"))
per = kept.groupBy("customer_id").agg(
    F.to_date(F.max("invoice_date")).alias("last"),
    F.countDistinct("invoice").alias("frequency"),
    F.sum(F.col("quantity") * F.col("unit_price")).alias("monetary"))
latest = per.agg(F.max("last")).first()[0]
per.select("customer_id", F.datediff(F.lit(latest), F.col("last")).alias("recency"),
           "frequency", "monetary").toPandas().to_parquet(out, index=False)
spark.stop()
"""

# lifetimes and PyMC-Marketing take a DataFrame of transactions (they read no files): the
# cleaning is the same, then their own summary of it.
_CLEAN = r"""
import sys, pandas as pd
data, out = sys.argv[1], sys.argv[2]
df = pd.read_parquet(data).drop_duplicates()
df = df[df.customer_id.notna() & (df.quantity > 0) & (df.unit_price > 0)
        & ~df.invoice.str.startswith("C")]
df = df.assign(amount=df.quantity * df.unit_price)
"""

LIFETIMES = _CLEAN + r"""
from lifetimes.utils import summary_data_from_transaction_data
summary = summary_data_from_transaction_data(df, "customer_id", "invoice_date",
                                             monetary_value_col="amount")
summary.reset_index().to_parquet(out, index=False)
"""

PYMC_MARKETING = _CLEAN + r"""
from pymc_marketing.clv import rfm_summary
summary = rfm_summary(df, "customer_id", "invoice_date", monetary_value_col="amount")
summary.to_parquet(out, index=False)
"""

#: name -> (script, definition it computes, module it needs)
IMPLEMENTATIONS = {
    "rfmkit (DuckDB)": (RFMKIT, "rfm", "rfmkit"),
    "rfmkit (Spark)": (RFMKIT, "rfm", "pyspark"),
    "DuckDB SQL by hand": (DUCKDB_SQL, "rfm", "duckdb"),
    "pandas, notebook style": (PANDAS_NOTEBOOK, "rfm", "pandas"),
    "pandas, one groupby": (PANDAS_GROUPBY, "rfm", "pandas"),
    "Polars lazy": (POLARS, "rfm", "polars"),
    "PySpark local": (SPARK, "rfm", "pyspark"),
    "lifetimes": (LIFETIMES, "lifetimes", "lifetimes"),
    "PyMC-Marketing": (PYMC_MARKETING, "lifetimes", "pymc_marketing"),
}
