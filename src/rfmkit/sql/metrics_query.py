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

from rfmkit.cleaning import CleaningRules
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import (
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
from rfmkit.sql.text_numbers import number_sql

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
# Amounts are summed as DECIMAL(38, scale): 6 decimals (micro-units) unless the smallest amount
# needs more to keep 3 significant digits, and fewer when large amounts need the digits (a sum
# must fit in 38). Sums are exact for amounts of at most `scale` decimals. See money_type.
MONEY_SCALE, MONEY_DIGITS, SMALL_AMOUNT_DIGITS = 6, 38, 3


def money_type(largest: float, smallest: float, n_rows: int) -> str | None:
    """The DECIMAL type that sums ``n_rows`` amounts of magnitude ``smallest``..``largest``
    (non-zero) exactly and without overflow, or None when no scale fits 38 digits."""
    import math

    bound = largest * max(n_rows, 1)  # no customer's sum exceeds every row's amount
    integer_digits = max(1, math.floor(math.log10(bound)) + 1)
    wanted = max(MONEY_SCALE, SMALL_AMOUNT_DIGITS - math.floor(math.log10(smallest)) - 1)
    scale = min(wanted, MONEY_DIGITS - integer_digits)
    if scale < 0:
        return None
    return MONEY if scale == MONEY_SCALE else f"DECIMAL({MONEY_DIGITS}, {scale})"


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


def non_finite(value: str) -> str:
    """NaN or an infinity, written so that every dialect has it (PostgreSQL and Spark SQL have
    no isinf; NaN equals NaN in DuckDB, PostgreSQL and Spark)."""
    return (f"{value} IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), "
            "CAST('-Infinity' AS DOUBLE))")


def id_text(col: str, kind: str) -> str:
    """An identifier column as text; integral floats (12346.0, from CSV exports) lose the '.0'."""
    c = quote(col)
    if kind == FLOAT:
        # NaN/inf are missing ids (pyarrow and polars keep NaN apart from NULL); casting them
        # to BIGINT would fail.
        return (
            f"CASE WHEN {non_finite(c)} THEN NULL "
            f"WHEN {c} = FLOOR({c}) THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({c} AS VARCHAR) END"
        )
    if kind == INTEGER:
        return f"CAST({c} AS VARCHAR)"  # no spaces to trim, never empty
    # Blank is missing; surrounding spaces are not part of the id. Only ids holding a space
    # are trimmed: TRIM copies every value it is given, which on 10M rows is most of a second.
    # An integer written with a zero fraction ("12346.0", a spreadsheet's export of a float
    # id) is that integer, cut as text (a float would round 18-digit ids); "12346.5" stays.
    v = f"CAST({c} AS VARCHAR)"
    trimmed = f"CASE WHEN STRPOS({v}, ' ') > 0 OR {v} = '' THEN NULLIF(TRIM({v}), '') ELSE {v} END"
    return (f"CASE WHEN STRPOS({v}, '.') > 0 AND REGEXP_MATCHES({v}, {literal(ZERO_FRACTION_RE)})"
            f" THEN SUBSTRING(TRIM({v}), 1, STRPOS(TRIM({v}), '.') - 1) ELSE {trimmed} END")


ZERO_FRACTION_RE = "^ *[+-]?[0-9]+[.]0+ *$"


def amount_sql(columns: ResolvedColumns, kinds: dict[str, str], options: MetricOptions) -> str:
    """The amount of a transaction row as a DOUBLE (NULL when the text is not a number in the
    options' format, see :mod:`rfmkit.sql.text_numbers`)."""
    m = columns.mapping
    if columns.shape is InputShape.LINE_ITEMS:
        quantity, price = (number(c, kinds[c], options) for c in (m.quantity, m.price))
        return f"({quantity}) * ({price})"
    return number(m.amount, kinds[m.amount], options)


def _timestamp(col: str, kind: str, date_format: str | None) -> str:
    c = quote(col)
    if kind == TIMESTAMP_TZ:
        return f"CAST({c} AT TIME ZONE 'UTC' AS TIMESTAMP)"
    if kind in (TIMESTAMP, DATE):
        return f"CAST({c} AS TIMESTAMP)"
    if date_format is not None:
        return f"TRY_STRPTIME(CAST({c} AS VARCHAR), {literal(date_format)})"
    return f"TRY_CAST({c} AS TIMESTAMP)"


def number(col: str, kind: str, options: MetricOptions) -> str:
    """A value column as a DOUBLE: typed numbers cast, text parsed in the options' format."""
    c = quote(col)
    if kind in NUMERIC_KINDS:
        return f"CAST({c} AS DOUBLE)"
    if kind == TEXT:
        return number_sql(c, options)
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
    money: str = MONEY  # the DECIMAL type amounts are summed in (money_type)
    # "distinct": orders counted with COUNT(DISTINCT) per customer (fastest); "grouped": rows
    # first grouped per customer and order, then per customer: two plain GROUP BYs, which
    # DuckDB can spill to disk under a memory limit where the one-step distinct count cannot
    orders: str = "distinct"

    def __post_init__(self) -> None:
        if self.orders not in ("distinct", "grouped"):
            raise ValueError(f"orders must be 'distinct' or 'grouped', not {self.orders!r}")

    # --- building blocks ----------------------------------------------------------------------
    def _typed(self) -> str:
        m = self.columns.mapping
        k = self.kinds
        order = id_text(m.order, k.get(m.order, TEXT)) if m.order else "CAST(NULL AS VARCHAR)"
        amount = amount_sql(self.columns, k, self.options)
        base = "SELECT DISTINCT * FROM " + self.source if self.rules.drop_duplicates else (
            "SELECT * FROM " + self.source)
        return (
            f"SELECT {id_text(m.customer, k[m.customer])} AS customer_id, "
            f"{order} AS order_id, "
            f"{_timestamp(m.date, k[m.date], self.options.date_format)} AS ts, "
            f"{amount} AS amount "
            f"FROM ({base}) AS src"
        )

    def _rules(self, as_of: dt.date | None) -> list[tuple[str, str]]:
        """(reason, condition) of every cleaning rule that applies, first match wins."""
        r = self.rules
        rules = [
            ("missing_customer", "customer_id IS NULL"),
            ("unparseable_date", "ts IS NULL"),
            ("unparseable_amount", f"amount IS NULL OR {non_finite('amount')}"),
        ]
        if as_of is not None:
            rules.append(("after_as_of", f"CAST(ts AS DATE) > DATE '{as_of.isoformat()}'"))
        if r.drop_cancellations and self.columns.mapping.order:
            prefix = r.cancellation_prefix
            rules.append(("cancellation",
                          f"SUBSTRING(order_id, 1, {len(prefix)}) = {literal(prefix)}"))
        rules.append(("non_positive_amount",
                      "amount <= 0" if r.returns == "drop" else "amount = 0"))
        return rules

    def reasons(self, as_of: dt.date | None) -> list[str]:
        """The drop reasons the rollup counts (one ``dropped_<reason>`` column each)."""
        return [reason for reason, _ in self._rules(as_of)]

    def amount_reasons(self, as_of: dt.date | None) -> list[str]:
        """The drop reasons whose rows' amount the rollup sums (``dropped_amount_<reason>``):
        every reason but an unparseable amount, which has none."""
        return [r for r in self.reasons(as_of) if r != "unparseable_amount"]

    def _reason(self, as_of: dt.date | None) -> str:
        cases = " ".join(f"WHEN {cond} THEN {literal(reason)}"
                         for reason, cond in self._rules(as_of))
        return f"CASE {cases} END"

    def flagged_sql(self, as_of: dt.date | None) -> str:
        """Every input row, typed, with the first cleaning rule it breaks (NULL: kept)."""
        return (
            f"WITH typed AS ({self._typed()}) "
            f"SELECT customer_id, order_id, ts, amount, {self._reason(as_of)} AS reason "
            "FROM typed"
        )

    def _flagged(self, as_of: dt.date | None, flagged: str | None) -> str:
        if flagged is not None:  # rows already flagged and stored by the engine
            return f"flagged AS (SELECT * FROM {flagged})"
        return (
            f"typed AS ({self._typed()}), "
            f"flagged AS (SELECT customer_id, order_id, ts, amount, "
            f"{self._reason(as_of)} AS reason FROM typed)"
        )

    @property
    def reads_rows_twice(self) -> bool:
        """Whether the aggregation reads the flagged rows twice (per day, and for orders):
        an engine may then store them once instead of deduplicating twice."""
        return self.options.consolidate_days

    # --- per-customer aggregation ---------------------------------------------------------------
    def _order_count(self, purchase: str) -> str:
        # A row without an order id (or any row, with no order column) is an order by itself;
        # COUNT(DISTINCT ...) alone would skip those rows and give buyers a frequency of 0.
        rows_without_id = f"COUNT(CASE WHEN {purchase} AND order_id IS NULL THEN 1 END)"
        if self.columns.mapping.order:
            return f"COUNT(DISTINCT CASE WHEN {purchase} THEN order_id END) + {rows_without_id}"
        return rows_without_id

    def _per_customer(self, flagged: str | None, reasons: list[str]) -> list[str]:
        """CTEs ending in ``per_customer``: one row per customer id (NULL included) over every
        flagged row, in one pass: the kept rows' aggregates, and how many rows each of
        ``reasons`` removed. Kept rows are ``reason IS NULL``; purchases also have amount > 0.
        """
        o = self.options
        kept, purchase = "reason IS NULL", "reason IS NULL AND amount > 0"
        names = {r: quote(f"dropped_{r}") for r in reasons}
        dropped = "".join(f", COUNT(CASE WHEN reason = {literal(r)} THEN 1 END) AS {name}"
                          for r, name in names.items())
        summed = "".join(f", CAST(SUM({name}) AS BIGINT) AS {name}" for name in names.values())
        # The amount the dropped rows carried, per reason, summed as money like the kept rows
        # (a row dropped for its customer or date may hold NaN or no amount: not summed).
        amounts = {r: quote(f"dropped_amount_{r}") for r in reasons
                   if r != "unparseable_amount"}
        dropped += "".join(
            f", SUM(CASE WHEN reason = {literal(r)} AND NOT ({non_finite('amount')}) "
            f"THEN CAST(amount AS {self.money}) END) AS {name}" for r, name in amounts.items())
        summed += "".join(f", SUM({name}) AS {name}" for name in amounts.values())
        ctes = [self._flagged(o.as_of, flagged)]
        # distinct days cost a hash per customer-day: only when frequency needs them
        if o.consolidate_days:
            # A customer's day is one purchase: its amount is the day's total. First/last
            # purchase are times of purchase rows, not of a same-day return.
            ctes.append(
                "units AS (SELECT customer_id, CAST(ts AS DATE) AS day, "
                f"COUNT(CASE WHEN {kept} THEN 1 END) AS n_kept, "
                f"MIN(CASE WHEN {purchase} THEN ts END) AS first_ts, "
                f"MAX(CASE WHEN {purchase} THEN ts END) AS last_ts, "
                f"SUM(CASE WHEN {kept} THEN CAST(amount AS {self.money}) END) AS amount{dropped} "
                "FROM flagged GROUP BY customer_id, CAST(ts AS DATE))"
            )
            # Orders still come from the rows; counted per customer, then joined per customer
            # (joining at row level would cost a pass over every transaction).
            ctes.append(f"orders_per_customer AS (SELECT customer_id, "
                        f"{self._order_count(purchase)} AS n_orders "
                        "FROM flagged GROUP BY customer_id)")
            n_days = ("COUNT(DISTINCT CASE WHEN amount > 0 THEN day END)"
                      if o.frequency == "days" else "CAST(NULL AS BIGINT)")
            ctes.append(
                "per_customer AS (SELECT customer_id, CAST(SUM(n_kept) AS BIGINT) AS n_kept, "
                "COUNT(CASE WHEN amount > 0 THEN 1 END) AS n_units, "
                f"{n_days} AS n_days, "
                "SUM(amount) AS total, "
                "MIN(CASE WHEN amount > 0 THEN first_ts END) AS first_ts, "
                "MAX(CASE WHEN amount > 0 THEN last_ts END) AS last_ts, "
                # the latest purchase row, even on a day whose returns cancel it: the as-of
                f"MAX(last_ts) AS last_row_ts{summed} "
                "FROM units GROUP BY customer_id)"
            )
        elif self.orders == "grouped" and o.frequency != "days" and self.columns.mapping.order:
            ctes += self._per_customer_by_order(kept, purchase, dropped, summed)
        else:
            n_days = (f"COUNT(DISTINCT CASE WHEN {purchase} THEN CAST(ts AS DATE) END)"
                      if o.frequency == "days" else "CAST(NULL AS BIGINT)")
            ctes.append(
                "per_customer AS (SELECT customer_id, "
                f"COUNT(CASE WHEN {kept} THEN 1 END) AS n_kept, "
                f"COUNT(CASE WHEN {purchase} THEN 1 END) AS n_units, "
                f"{n_days} AS n_days, "
                f"{self._order_count(purchase)} AS n_orders, "
                f"SUM(CASE WHEN {kept} THEN CAST(amount AS {self.money}) END) AS total, "
                f"MIN(CASE WHEN {purchase} THEN ts END) AS first_ts, "
                f"MAX(CASE WHEN {purchase} THEN ts END) AS last_ts{dropped} "
                "FROM flagged GROUP BY customer_id)"
            )
        return ctes

    def _per_customer_by_order(self, kept: str, purchase: str, dropped: str,
                               summed: str) -> list[str]:
        """``per_customer`` in two GROUP BYs: per customer and order, then per customer.

        The same columns as the one-step aggregation (a day's distinct count cannot be split
        over orders, so frequency="days" keeps the one step). Rows without an order id form
        one group per customer, whose purchase rows are each an order."""
        return [
            "per_order AS (SELECT customer_id, order_id, "
            f"COUNT(CASE WHEN {kept} THEN 1 END) AS n_kept, "
            f"COUNT(CASE WHEN {purchase} THEN 1 END) AS n_units, "
            f"SUM(CASE WHEN {kept} THEN CAST(amount AS {self.money}) END) AS total, "
            f"MIN(CASE WHEN {purchase} THEN ts END) AS first_ts, "
            f"MAX(CASE WHEN {purchase} THEN ts END) AS last_ts{dropped} "
            "FROM flagged GROUP BY customer_id, order_id)",
            "per_customer AS (SELECT customer_id, "
            "CAST(SUM(n_kept) AS BIGINT) AS n_kept, CAST(SUM(n_units) AS BIGINT) AS n_units, "
            "CAST(NULL AS BIGINT) AS n_days, "
            "COUNT(CASE WHEN order_id IS NOT NULL AND n_units > 0 THEN 1 END) + "
            "COALESCE(SUM(CASE WHEN order_id IS NULL THEN n_units END), 0) AS n_orders, "
            "SUM(total) AS total, MIN(first_ts) AS first_ts, MAX(last_ts) AS last_ts"
            f"{summed} FROM per_order GROUP BY customer_id)",
        ]

    @property
    def _last_purchase_row(self) -> str:
        """Column of ``per_customer`` with the latest purchase row (the as-of date's source):
        a row-level time differs from ``last_ts`` only when days are consolidated."""
        return "last_row_ts" if self.options.consolidate_days else "last_ts"

    def _metric_columns(self) -> tuple[str, list[str]]:
        """FROM clause over ``per_customer`` and the frequency, monetary, first/last purchase,
        orders and revenue columns (the recency is the caller's)."""
        o = self.options
        if o.consolidate_days:
            source = ("per_customer AS p LEFT JOIN orders_per_customer AS o "
                      "ON p.customer_id = o.customer_id")
            orders = "o.n_orders"
        else:
            source, orders = "per_customer AS p", "p.n_orders"
        freq_expr = {
            "orders": "p.n_units" if o.consolidate_days else orders,
            "days": "p.n_days",
            "rows": "p.n_units",
        }[o.frequency]
        revenue = "CAST(p.total AS DOUBLE)"
        # NULLIF: never divide by zero (PostgreSQL and Spark in ANSI mode would fail).
        monetary = revenue if o.monetary == "sum" else f"{revenue} / NULLIF({freq_expr}, 0)"
        return source, [
            f"CAST({freq_expr} AS BIGINT) AS {quote(FREQUENCY)}",
            f"{monetary} AS {quote(MONETARY)}",
            f"p.first_ts AS {quote(FIRST_PURCHASE)}",
            f"p.last_ts AS {quote(LAST_PURCHASE)}",
            f"CAST({orders} AS BIGINT) AS {quote(ORDERS)}",
            f"{revenue} AS {quote(REVENUE)}",
        ]

    # --- the queries ----------------------------------------------------------------------------
    def rollup_sql(self, *, flagged: str | None = None) -> str:
        """One pass over the rows for an engine: one row per customer id, NULL and customers
        without purchases included, with ``n_kept`` (rows kept), ``n_units`` (purchases),
        ``last_day`` (of the last purchase), ``last_row_day`` (of the last purchase row, for
        the as-of date), the metric columns but recency, a ``dropped_<reason>`` count for
        each of :meth:`reasons` and a ``dropped_amount_<reason>`` sum for each of
        :meth:`amount_reasons`. See :func:`rfmkit.engines.aggregation.run_customer_metrics`.
        """
        reasons = self.reasons(self.options.as_of)
        ctes = self._per_customer(flagged, reasons)
        source, metrics = self._metric_columns()
        dropped = "".join(f", p.{quote('dropped_' + r)}" for r in reasons)
        dropped += "".join(f", CAST(p.{quote('dropped_amount_' + r)} AS DOUBLE) AS "
                           f"{quote('dropped_amount_' + r)}"
                           for r in self.amount_reasons(self.options.as_of))
        return (
            "WITH " + ", ".join(ctes) + " "
            f"SELECT p.customer_id AS {quote(CUSTOMER_ID)}, p.n_kept, p.n_units, "
            "CAST(p.last_ts AS DATE) AS last_day, "
            f"CAST(p.{self._last_purchase_row} AS DATE) AS last_row_day, "
            f"{', '.join(metrics)}{dropped} FROM {source}"
        )

    def reference_day_sql(self, as_of: dt.date | None) -> str:
        """The reference date as an SQL expression: ``as_of``, or with ``None`` the latest
        purchase day kept, read from the ``per_customer`` CTE of :meth:`customers_sql` (so
        that other CTEs of the same query, e.g. the CLV summary, use the same day)."""
        if as_of is None:
            return f"(SELECT MAX(CAST({self._last_purchase_row} AS DATE)) FROM per_customer)"
        return f"DATE '{as_of.isoformat()}'"

    def customers_sql(self, as_of: dt.date | None, *, flagged: str | None = None) -> str:
        """One row per customer who bought (unordered: callers sort, engines need not).

        Standalone SQL, e.g. for a warehouse: ``as_of=None`` computes the reference date inside
        the query (the latest purchase day kept).
        """
        ref = self.reference_day_sql(as_of)
        ctes = self._per_customer(flagged, [])
        source, metrics = self._metric_columns()
        return (
            "WITH " + ", ".join(ctes) + " "
            f"SELECT p.customer_id AS {quote(CUSTOMER_ID)}, "
            f"CAST(DATE_DIFF('day', CAST(p.last_ts AS DATE), {ref}) AS BIGINT) "
            f"AS {quote(RECENCY)}, {', '.join(metrics)} "
            f"FROM {source} WHERE p.customer_id IS NOT NULL AND p.n_units > 0"
        )
