"""SQL that turns a transactions relation into one row per customer.

The SQL is written once, in DuckDB's dialect, and translated with SQLGlot for the other engines
(PostgreSQL, Spark SQL, Snowflake, BigQuery), so every engine computes the same thing.

Amounts are summed as DECIMAL: a floating-point sum depends on the order rows arrive in, which
varies with threads and partitions; a decimal sum does not, so results never depend on them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from .cleaning import CleaningRules
from .metric_options import MetricOptions
from .schema import (
    CUSTOMER_ID,
    FIRST_PURCHASE,
    FREQUENCY,
    LAST_PURCHASE,
    MONETARY,
    ORDERS,
    RECENCY,
    REVENUE,
    InputShape,
    ResolvedColumns,
)

# Column kinds an engine reports for each input column (engines map their native types).
TEXT, INTEGER, FLOAT, DECIMAL, TIMESTAMP, DATE, OTHER = (
    "text", "integer", "float", "decimal", "timestamp", "date", "other"
)
# A timestamp with a time zone (an instant): read as UTC wall-clock time, so calendar days never
# depend on the session or machine time zone.
TIMESTAMP_TZ = "timestamp_tz"
NUMERIC_KINDS = (INTEGER, FLOAT, DECIMAL)
TIME_KINDS = (TIMESTAMP, TIMESTAMP_TZ, DATE)

MONEY = "DECIMAL(38, 6)"


def quote(name: str) -> str:
    """Quote an identifier for DuckDB SQL (also valid input for SQLGlot's translation)."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def literal(value: str) -> str:
    return exp.Literal.string(value).sql("duckdb")


def to_dialect(sql: str, dialect: str) -> str:
    """Translate DuckDB SQL into ``dialect`` (one statement)."""
    if dialect == "duckdb":
        return sql
    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0]


def _non_finite(value: str) -> str:
    """NaN or an infinity, written so that every dialect has it (PostgreSQL and Spark SQL have
    no isinf; NaN equals NaN in DuckDB, PostgreSQL and Spark)."""
    return (f"{value} IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), "
            "CAST('-Infinity' AS DOUBLE))")


def _id_text(col: str, kind: str) -> str:
    """An identifier column as text; integral floats (12346.0, from CSV exports) lose the '.0'."""
    c = quote(col)
    if kind == FLOAT:
        # NaN/inf are missing ids (pyarrow and polars keep NaN apart from NULL); casting them
        # to BIGINT would fail.
        return (
            f"CASE WHEN {_non_finite(c)} THEN NULL "
            f"WHEN {c} = FLOOR({c}) THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({c} AS VARCHAR) END"
        )
    return f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')"


def _timestamp(col: str, kind: str, date_format: str | None) -> str:
    c = quote(col)
    if kind == TIMESTAMP_TZ:
        return f"CAST({c} AT TIME ZONE 'UTC' AS TIMESTAMP)"
    if kind in (TIMESTAMP, DATE):
        return f"CAST({c} AS TIMESTAMP)"
    if date_format is not None:
        return f"TRY_STRPTIME(CAST({c} AS VARCHAR), {literal(date_format)})"
    return f"TRY_CAST({c} AS TIMESTAMP)"


def _number(col: str, kind: str) -> str:
    c = quote(col)
    if kind in NUMERIC_KINDS:
        return f"CAST({c} AS DOUBLE)"
    return f"TRY_CAST({c} AS DOUBLE)"


@dataclass(frozen=True)
class MetricsQuery:
    """Builds the cleaning-count query and the per-customer aggregation for one input.

    Parameters
    ----------
    source : str
        A relation in SQL: a quoted table or view name.
    columns : ResolvedColumns
        Transaction columns (orders or line items).
    kinds : dict
        Column kind (``text``, ``integer``, ``float``, ...) of each input column.
    options, rules
        Metric definitions and cleaning rules.
    """

    source: str
    columns: ResolvedColumns
    kinds: dict[str, str]
    options: MetricOptions
    rules: CleaningRules

    # --- building blocks ----------------------------------------------------------------------
    def _typed(self) -> str:
        m = self.columns.mapping
        k = self.kinds
        order = _id_text(m.order, k.get(m.order, TEXT)) if m.order else "CAST(NULL AS VARCHAR)"
        if self.columns.shape is InputShape.LINE_ITEMS:
            q, p = _number(m.quantity, k[m.quantity]), _number(m.price, k[m.price])
            amount = f"({q}) * ({p})"
        else:
            amount = _number(m.amount, k[m.amount])
        base = "SELECT DISTINCT * FROM " + self.source if self.rules.drop_duplicates else (
            "SELECT * FROM " + self.source)
        return (
            f"SELECT {_id_text(m.customer, k[m.customer])} AS customer_id, "
            f"{order} AS order_id, "
            f"{_timestamp(m.date, k[m.date], self.options.date_format)} AS ts, "
            f"{amount} AS amount "
            f"FROM ({base}) AS src"
        )

    def _reason(self, as_of: dt.date | None) -> str:
        r = self.rules
        cases = [
            "WHEN customer_id IS NULL THEN 'missing_customer'",
            "WHEN ts IS NULL THEN 'unparseable_date'",
            f"WHEN amount IS NULL OR {_non_finite('amount')} THEN 'unparseable_amount'",
        ]
        if as_of is not None:
            cases.append(f"WHEN CAST(ts AS DATE) > DATE '{as_of.isoformat()}' THEN 'after_as_of'")
        if r.drop_cancellations and self.columns.mapping.order:
            prefix = r.cancellation_prefix
            cases.append(
                f"WHEN SUBSTRING(order_id, 1, {len(prefix)}) = {literal(prefix)} "
                "THEN 'cancellation'"
            )
        if r.returns == "drop":
            cases.append("WHEN amount <= 0 THEN 'non_positive_amount'")
        else:
            cases.append("WHEN amount = 0 THEN 'non_positive_amount'")
        return "CASE " + " ".join(cases) + " END"

    def flagged_sql(self, as_of: dt.date | None) -> str:
        """Every input row, typed, with the first cleaning rule it breaks (NULL: kept)."""
        return (
            f"WITH typed AS ({self._typed()}) "
            f"SELECT customer_id, order_id, ts, amount, {self._reason(as_of)} AS reason "
            "FROM typed"
        )

    def _flagged(self, as_of: dt.date | None, flagged: str | None) -> str:
        if flagged is not None:  # rows already flagged and stored (see DuckDBEngine)
            return f"flagged AS (SELECT * FROM {flagged})"
        return (
            f"typed AS ({self._typed()}), "
            f"flagged AS (SELECT customer_id, order_id, ts, amount, "
            f"{self._reason(as_of)} AS reason FROM typed)"
        )

    # --- the two queries ------------------------------------------------------------------------
    def counts_sql(self, as_of: dt.date | None, *, flagged: str | None = None) -> str:
        """Rows per drop reason (NULL = kept), customers kept, and the latest purchase day kept."""
        return (
            f"WITH {self._flagged(as_of, flagged)} "
            "SELECT reason, COUNT(*) AS n_rows, "
            "COUNT(DISTINCT CASE WHEN reason IS NULL THEN customer_id END) AS n_customers, "
            "MAX(CASE WHEN reason IS NULL AND amount > 0 THEN CAST(ts AS DATE) END) AS last_day "
            "FROM flagged GROUP BY reason"
        )

    def rows_sql(self) -> str:
        return f"SELECT COUNT(*) AS n FROM {self.source}"

    def _order_count(self) -> str:
        # A row without an order id (or any row, with no order column) is an order by itself;
        # COUNT(DISTINCT ...) alone would skip those rows and give buyers a frequency of 0.
        rows_without_id = "SUM(CASE WHEN amount > 0 AND order_id IS NULL THEN 1 ELSE 0 END)"
        if self.columns.mapping.order:
            return f"COUNT(DISTINCT CASE WHEN amount > 0 THEN order_id END) + {rows_without_id}"
        return rows_without_id

    def customers_sql(self, as_of: dt.date | None, *, flagged: str | None = None) -> str:
        """One row per customer (unordered: callers sort, engines need not).

        ``as_of=None`` computes the reference date inside the query (latest purchase day kept),
        so the same SQL also works standalone, e.g. in a warehouse.
        """
        o = self.options
        if as_of is None:
            ref = "(SELECT MAX(CAST(ts AS DATE)) FROM kept WHERE amount > 0)"
        else:
            ref = f"DATE '{as_of.isoformat()}'"
        ctes = [
            self._flagged(self.options.as_of, flagged),
            f"kept AS (SELECT customer_id, order_id, ts, CAST(amount AS {MONEY}) AS amount "
            "FROM flagged WHERE reason IS NULL)",
        ]
        if o.consolidate_days:
            # A customer's day is one purchase: its amount is the day's total. First/last
            # purchase are times of purchase rows, not of a same-day return.
            ctes.append(
                "units AS (SELECT customer_id, CAST(ts AS DATE) AS day, "
                "MIN(CASE WHEN amount > 0 THEN ts END) AS first_ts, "
                "MAX(CASE WHEN amount > 0 THEN ts END) AS last_ts, "
                f"CAST(SUM(amount) AS {MONEY}) AS amount "
                "FROM kept GROUP BY customer_id, CAST(ts AS DATE))"
            )
            # Orders still come from the rows; counted per customer, then joined per customer
            # (joining at row level would cost a pass over every transaction).
            ctes.append(f"orders_per_customer AS (SELECT customer_id, {self._order_count()} "
                        "AS n_orders FROM kept GROUP BY customer_id)")
            n_orders = "NULL"
        else:
            ctes.append("units AS (SELECT customer_id, CAST(ts AS DATE) AS day, ts AS first_ts, "
                        "ts AS last_ts, amount, order_id FROM kept)")
            n_orders = self._order_count()
        purchase_rows = "SUM(CASE WHEN amount > 0 THEN 1 ELSE 0 END)"
        n_days = ("COUNT(DISTINCT CASE WHEN amount > 0 THEN day END)"
                  if o.frequency == "days" else "CAST(NULL AS BIGINT)")
        ctes.append(
            "per_customer AS (SELECT customer_id, "
            f"{purchase_rows} AS n_rows, "
            # distinct days cost a hash per customer-day: only when frequency needs them
            f"{n_days} AS n_days, "
            f"{n_orders} AS n_orders, "
            f"SUM(amount) AS total, "
            "MIN(CASE WHEN amount > 0 THEN first_ts END) AS first_ts, "
            "MAX(CASE WHEN amount > 0 THEN last_ts END) AS last_ts "
            f"FROM units GROUP BY customer_id HAVING {purchase_rows} > 0)"
        )
        if o.consolidate_days:
            source = ("per_customer AS p JOIN orders_per_customer AS o "
                      "ON p.customer_id = o.customer_id")
            orders = "o.n_orders"
        else:
            source = "per_customer AS p"
            orders = "p.n_orders"
        freq_expr = {
            "orders": "p.n_rows" if o.consolidate_days else orders,
            "days": "p.n_days",
            "rows": "p.n_rows",
        }[o.frequency]
        revenue = "CAST(p.total AS DOUBLE)"
        # NULLIF: never divide by zero (PostgreSQL and Spark in ANSI mode would fail).
        monetary = revenue if o.monetary == "sum" else f"{revenue} / NULLIF({freq_expr}, 0)"
        return (
            "WITH " + ", ".join(ctes) + " "
            f"SELECT p.customer_id AS {quote(CUSTOMER_ID)}, "
            f"CAST(DATE_DIFF('day', CAST(p.last_ts AS DATE), {ref}) AS BIGINT) "
            f"AS {quote(RECENCY)}, "
            f"CAST({freq_expr} AS BIGINT) AS {quote(FREQUENCY)}, "
            f"{monetary} AS {quote(MONETARY)}, "
            f"p.first_ts AS {quote(FIRST_PURCHASE)}, "
            f"p.last_ts AS {quote(LAST_PURCHASE)}, "
            f"CAST({orders} AS BIGINT) AS {quote(ORDERS)}, "
            f"{revenue} AS {quote(REVENUE)} "
            f"FROM {source}"
        )
