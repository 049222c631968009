"""The engine-neutral metric flow: checks, cleaning counts and aggregation as SQL.

Every engine runs the same steps with :class:`~rfmkit.sql.metrics_query.MetricsQuery`, giving it
three functions: run a DuckDB-dialect query and return rows (``fetch``) or a DataFrame
(``fetch_frame``), and optionally keep a query's result inside the engine (``store``). The
engines differ only in how they translate and run SQL, so reports and errors read the same.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from rfmkit.cleaning import CleaningRules, QualityReport
from rfmkit.engines.base import Relation
from rfmkit.errors import AsOfWarning, InputError, SchemaError
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import (
    CUSTOMER_COLUMNS,
    CUSTOMER_ID,
    FREQUENCY,
    MONETARY,
    RECENCY,
    InputShape,
    ResolvedColumns,
)
from rfmkit.sql.metrics_query import (
    MONEY,
    NUMERIC_KINDS,
    TEXT,
    TIME_KINDS,
    MetricsQuery,
    id_text,
    literal,
    number,
    quote,
)
from rfmkit.sql.text_numbers import (
    CURRENCY_MEANINGS,
    currency_marks_sql,
    currency_sql,
    format_advice,
    mixed_currencies,
)


def _parsed(col: str, what: str, options: MetricOptions, kind: str) -> str:
    if what == "numeric":
        return number(col, kind, options)
    if options.date_format:
        return f"TRY_STRPTIME(CAST({quote(col)} AS VARCHAR), {literal(options.date_format)})"
    return f"TRY_CAST({quote(col)} AS TIMESTAMP)"


def check_value_columns(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
                        fetch: Callable[[str], list[tuple]]
                        ) -> tuple[int, list[str], dict[str, int]]:
    """Count the rows; fail on a value column none of whose values parses, note partly
    unparseable ones. One scan for all the counts (each query is a job on Spark).

    ``fetch`` runs DuckDB-dialect SQL in the engine (translating it) and returns the rows.
    Returns the number of rows, the notes, and the values read after a clean-up
    (``currency_sign``: text amounts, quantities or prices written with a currency).
    """
    m = columns.mapping
    checks = []
    for role in ("amount", "quantity", "price"):
        col = getattr(m, role)
        if col and rel.kinds[col] not in NUMERIC_KINDS:
            checks.append((role, col, "numeric"))
    if rel.kinds[m.date] not in TIME_KINDS:
        checks.append(("date", m.date, "date"))
    counts = ["COUNT(*)"]
    for _, col, what in checks:
        counts += [f"COUNT({quote(col)})",
                   f"COUNT({quote(col)}) - COUNT({_parsed(col, what, options, rel.kinds[col])})"]
    texts = [col for _, col, what in checks if what == "numeric" and rel.kinds[col] == TEXT]
    counts += [f"COUNT(CASE WHEN {currency_sql(quote(col), options)} THEN 1 END)"
               for col in texts]
    totals = [int(v) for v in fetch(f"SELECT {', '.join(counts)} FROM {rel.handle}")[0]]
    cleaned = {"currency_sign": sum(totals[1 + 2 * len(checks):])} if texts else {}
    for col, signs in zip(texts, totals[1 + 2 * len(checks):], strict=True):
        if signs:
            _check_one_currency(rel, col, options, fetch)
    notes = []
    for i, (role, col, what) in enumerate(checks):
        total, bad = totals[1 + 2 * i], totals[2 + 2 * i]
        if not bad:
            continue
        parsed = _parsed(col, what, options, rel.kinds[col])
        examples = [r[0] for r in fetch(
            f"SELECT DISTINCT CAST({quote(col)} AS VARCHAR) FROM {rel.handle} "
            f"WHERE {quote(col)} IS NOT NULL AND {parsed} IS NULL ORDER BY 1 LIMIT 5")]
        shown = ", ".join(repr(e) for e in examples)
        # values another number format reads: name it (1,234.50 among 12.50: thousands=',')
        advice = "" if what == "date" else format_advice(examples)
        if bad == total:
            column = f"the right column with ColumnMapping({role}=NAME), or clean the values."
            fix = (
                "Give the format with date_format='%d/%m/%Y %H:%M' (for example) or pick "
                "another column with ColumnMapping(date=NAME)." if what == "date" else
                f"{advice} Otherwise pick {column}" if advice else f"Pick {column}"
            )
            raise SchemaError(
                f"Column {col!r} ({role}) in {rel.label} is not {what}: none of its "
                f"{total:,} values parses, e.g. {shown}. {fix}"
            )
        notes.append(
            f"{bad:,} of {total:,} values in column {col!r} ({role}) are not {what} "
            f"(e.g. {shown}); those rows were dropped." + (f" {advice}" if advice else "")
        )
    return totals[0], notes, cleaned


def _check_one_currency(rel: Relation, col: str, options: MetricOptions,
                        fetch: Callable[[str], list[tuple]]) -> None:
    """Fail when the currency signs and codes in text column ``col`` name different
    currencies ("$12" and "€ 3"): their sum would be in no currency at all."""
    value = f"CAST({quote(col)} AS VARCHAR)"
    row = fetch(f"SELECT {', '.join(currency_marks_sql(value))} FROM {rel.handle} "
                f"WHERE {currency_sql(value, options)}")[0]
    found = [(mark, int(row[2 * i]), row[2 * i + 1])
             for i, mark in enumerate(CURRENCY_MEANINGS) if row[2 * i]]
    if mixed_currencies([mark for mark, _, _ in found]):
        shown = ", ".join(f"{mark!r} ({n:,} value{'' if n == 1 else 's'}, e.g. {example!r})"
                          for mark, n, example in found)
        raise SchemaError(
            f"Column {col!r} in {rel.label} mixes currencies: {shown}. rfmkit adds the amounts "
            "up as one currency, so the revenue would be wrong. Convert the amounts to one "
            "currency first, or segment the rows of each currency separately."
        )


def run_customer_metrics(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
                         rules: CleaningRules, *, fetch: Callable[[str], list[tuple]],
                         fetch_frame: Callable[[str], pd.DataFrame],
                         store: Callable[[str], tuple[str, Callable[[], None]]] | None = None,
                         money: str = MONEY, orders: str = "distinct",
                         stage_rows: bool = False) -> tuple[pd.DataFrame, QualityReport]:
    """Clean and aggregate with :class:`MetricsQuery`; only per-customer rows come back.

    One pass over the rows (:meth:`MetricsQuery.rollup_sql`) gives every customer's metrics
    and the rows each cleaning rule removed; the as-of date and recency follow in pandas, on
    one row per customer. ``fetch`` / ``fetch_frame`` run DuckDB-dialect SQL in the engine
    (translating it) and return rows / a DataFrame. ``store(sql)``, if given, keeps the result
    of a query inside the engine (a temporary table) and returns its name (DuckDB-quoted) and
    a function dropping it: used when the aggregation reads the rows twice (per-day
    consolidation), so that they are typed and deduplicated once, and with ``stage_rows``
    always: deduplication and aggregation then run as two queries, each with the whole memory
    (one query holding both hash tables ran out of 2 GB on 100M rows; two spill). ``orders``:
    how orders are counted (:class:`MetricsQuery`; "grouped" spills under a memory limit).
    """
    rows_read, warnings, cleaned = check_value_columns(rel, columns, options, fetch)
    query = MetricsQuery(rel.handle, columns, rel.kinds, options, rules, money, orders)
    if rows_read == 0:
        raise InputError(f"{rel.label} has no rows (only a header?). Nothing to segment.")
    flagged, drop = (store(query.flagged_sql(options.as_of))
                     if store is not None and (query.reads_rows_twice or stage_rows)
                     else (None, None))
    try:
        rollup = fetch_frame(query.rollup_sql(flagged=flagged))
    finally:
        if drop is not None:
            drop()
    customers, report = _customers(rollup, rel, query, options, rules, rows_read, warnings)
    report.cleaned = cleaned
    return customers, report


def _customers(rollup: pd.DataFrame, rel: Relation, query: MetricsQuery, options: MetricOptions,
               rules: CleaningRules, rows_read: int, warnings: list[str]
               ) -> tuple[pd.DataFrame, QualityReport]:
    dropped = {reason: int(rollup[f"dropped_{reason}"].sum())
               for reason in query.reasons(options.as_of)}
    rows_used = int(rollup["n_kept"].sum())
    # fsum: the exact sum of the per-customer (exact decimal) sums, in any row order
    revenue = {reason: math.fsum(rollup[f"dropped_amount_{reason}"].dropna().astype("float64"))
               for reason in query.amount_reasons(options.as_of)}
    if rules.drop_duplicates:
        dropped["duplicate_row"] = rows_read - rows_used - sum(dropped.values())
    report = QualityReport(
        source=rel.label, rows_read=rows_read, dropped=dropped, rows_used=rows_used,
        dropped_revenue=revenue,
        as_of_policy="fixed" if options.as_of else "latest", warnings=warnings,
    )
    latest_day = pd.to_datetime(rollup["last_row_day"]).max()
    if rows_used == 0 or pd.isna(latest_day):
        detail = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in dropped.items() if n)
        raise InputError(
            f"No purchases left in {rel.label} after cleaning ({rows_read:,} rows read; "
            f"removed: {detail or 'none'}). Check the column mapping "
            "(ColumnMapping(customer=..., date=..., "
            "amount=...)), the as-of date, and the returns policy."
        )
    as_of = options.as_of or latest_day.date()
    report.as_of = as_of
    # the id is NULL only on rows without a customer, which are never kept
    n_customers = int((rollup["n_kept"] > 0).sum())
    # the rollup has every customer column but the recency, which needs the as-of date
    bought = rollup.loc[rollup["n_units"].to_numpy() > 0,
                        ["last_day", *(c for c in CUSTOMER_COLUMNS if c != RECENCY)]]
    if bought.empty:
        raise InputError(
            f"No purchases left in {rel.label} after cleaning: every customer's purchases "
            f"are cancelled out by returns on the same day ({rows_used:,} rows used, "
            f"{n_customers:,} customers). Use returns='drop' or turn off "
            "day consolidation."
        )
    # Columns keep their dtypes (no detour through numpy objects for the ids).
    last_day = pd.to_datetime(bought.pop("last_day")).to_numpy(dtype="datetime64[D]")
    customers = bought.reset_index(drop=True)
    customers.insert(CUSTOMER_COLUMNS.index(RECENCY), RECENCY,
                     (np.datetime64(as_of, "D") - last_day).astype("int64"))
    report.customers = len(customers)
    report.customers_without_purchases = n_customers - len(customers)
    check_as_of(last_day, as_of, derived=options.as_of is None, label=rel.label)
    return customers, report


# --- as-of sanity ---------------------------------------------------------------------------
#: A derived as-of date "rests on outliers" when the latest customers' last purchase days (at
#: most OUTLIER_SHARE of the customers, at least one) lie more than a gap after all the others'
#: (the bulk, at least OUTLIER_MIN_BULK customers): the gap is max(OUTLIER_MIN_GAP_DAYS, the
#: span of the bulk's last purchase days x max(0.5, OUTLIER_SMALL_BULK / bulk customers)), so
#: a small bulk, spread thinly, needs a larger gap. Dense real data has gaps of a day or two
#: there (Online Retail, CDNow: under 1% of the gap).
OUTLIER_SHARE = 0.01
OUTLIER_MIN_GAP_DAYS = 30
OUTLIER_MIN_BULK = 10
OUTLIER_SMALL_BULK = 50
#: A given as-of date is "far after the data" when it is more than max(FAR_AS_OF_DAYS, half
#: the span of the customers' last purchase days) after the latest purchase.
FAR_AS_OF_DAYS = 90


def _days(first: np.datetime64, last: np.datetime64) -> int:
    """Days from ``first`` to ``last``."""
    return int((last - first).astype("int64"))


def check_as_of(last_day: np.ndarray, as_of: dt.date, *, derived: bool, label: str) -> None:
    """Warn (:class:`~rfmkit.errors.AsOfWarning`) when the as-of date looks wrong.

    ``last_day`` holds each customer's last purchase day (datetime64[D]). A derived as-of that
    rests on a few outlier days (a typo row dated 2099), a given as-of far after the data
    (recency of years where the bins still call the most recent customers the best) are
    warned; the thresholds are the constants above. Data whose last purchases all fall on one
    day are warned by the scorer (a constant recency), where the scores would suffer.
    """
    days, counts = np.unique(last_day, return_counts=True)
    ref = np.datetime64(as_of, "D")
    if len(days) == 1:
        # every last purchase on one day: recency is constant, which the scorer warns about
        # where it matters (ConstantMetricWarning: everyone gets the middle score, not Lost)
        return
    if not derived:
        after = _days(days[-1], ref)
        if after > max(FAR_AS_OF_DAYS, _days(days[0], days[-1]) / 2):
            warnings.warn(
                f"as_of={as_of.isoformat()!r} is {after:,} days after the latest purchase in "
                f"{label} ({days[-1]}): every customer's recency is at least {after:,} days, "
                "yet the scores are relative, so the most recent of them still score as the "
                "best (e.g. Champions). Check as_of=, or leave it out to use the latest "
                "purchase day.", AsOfWarning, stacklevel=5)
        return
    n = int(counts.sum())
    tail = np.cumsum(counts[::-1])[::-1]  # customers on or after each day
    limit = max(1, int(n * OUTLIER_SHARE))
    best = None
    for i in range(1, len(days)):
        if tail[i] > limit or n - tail[i] < OUTLIER_MIN_BULK:
            continue
        gap, bulk = _days(days[i - 1], days[i]), n - int(tail[i])
        # few customers are spread thinly: their gaps must be larger to count as outliers
        limit_days = _days(days[0], days[i - 1]) * max(0.5, OUTLIER_SMALL_BULK / bulk)
        if gap > max(OUTLIER_MIN_GAP_DAYS, limit_days) and (
                best is None or gap > best[1]):
            best = (i, gap)
    if best is None:
        return
    i, gap = best
    shown = ", ".join(f"{d} ({c:,} customer{'s' if c != 1 else ''})"
                      for d, c in list(zip(days[i:], counts[i:], strict=True))[::-1][:5])
    more = f", and {len(days) - i - 5} more days" if len(days) - i > 5 else ""
    warnings.warn(
        f"The as-of date {as_of.isoformat()} (the latest purchase day in {label}) rests on "
        f"{int(tail[i]):,} of {n:,} customers whose last purchase is {gap:,} days after every "
        f"other customer's (latest {days[i - 1]}): {shown}{more}. Every recency is measured "
        "from it. If those dates are typos, fix or drop those rows, or give the as-of date, "
        f"e.g. as_of='{days[i - 1]}'.", AsOfWarning, stacklevel=5)


def customer_level_sql(rel: Relation, columns: ResolvedColumns) -> tuple[list[str], str]:
    """DuckDB SQL for customer-level input: queries returning bad values per metric, the table."""
    m = columns.mapping
    assert columns.shape is InputShape.CUSTOMERS
    checks = []
    for role in ("recency", "frequency", "monetary"):
        col = getattr(m, role)
        value = _metric_value(col, rel.kinds[col])
        checks.append(
            f"SELECT CAST({quote(col)} AS VARCHAR) FROM {rel.handle} WHERE {value} IS NULL "
            f"OR {value} IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), "
            f"CAST('-Infinity' AS DOUBLE)) LIMIT 5"
        )
    table = (
        f"SELECT {id_text(m.customer, rel.kinds[m.customer])} AS {quote(CUSTOMER_ID)}, "
        f"{_metric_value(m.recency, rel.kinds[m.recency])} AS {quote(RECENCY)}, "
        f"{_metric_value(m.frequency, rel.kinds[m.frequency])} AS {quote(FREQUENCY)}, "
        f"{_metric_value(m.monetary, rel.kinds[m.monetary])} AS {quote(MONETARY)} "
        f"FROM {rel.handle}"
    )
    return checks, table


def _metric_value(col: str, kind: str) -> str:
    if kind in NUMERIC_KINDS:
        return f"CAST({quote(col)} AS DOUBLE)"
    return f"TRY_CAST({quote(col)} AS DOUBLE)"


def run_customer_table(rel: Relation, columns: ResolvedColumns, *,
                       fetch: Callable[[str], list[tuple]],
                       fetch_frame: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    checks, table = customer_level_sql(rel, columns)
    for role, sql in zip(("recency", "frequency", "monetary"), checks, strict=True):
        bad = fetch(sql)
        if bad:
            col = getattr(columns.mapping, role)
            raise SchemaError(
                f"Column {col!r} ({role}) in {rel.label} must be numeric with no missing "
                f"values; found {', '.join(repr(b[0]) for b in bad)}. Fix or remove those rows."
            )
    return fetch_frame(table)
