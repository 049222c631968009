"""Checks on the input columns before the metric query: float ids, text dates, money scale.

Each takes ``fetch`` (run DuckDB-dialect SQL in the engine, return rows), like
:mod:`rfmkit.engines.aggregation`, so every engine reads its input the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rfmkit.engines.base import Relation
from rfmkit.errors import SchemaError
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import InputShape, ResolvedColumns
from rfmkit.sql.metrics_query import (
    FLOAT,
    MONEY,
    TEXT,
    amount_sql,
    literal,
    money_type,
    non_finite,
    quote,
)

Fetch = Callable[[str], list[tuple]]

# Above 2**53 a double no longer holds every integer: 18-digit ids would be invented.
EXACT_INTEGER = 2**53


def check_float_ids(rel: Relation, columns: ResolvedColumns, fetch: Fetch) -> None:
    """A float id column is read as integers only when every value is one, exactly (a double
    holds every integer below 2**53); otherwise the ids are not what the file holds."""
    m = columns.mapping
    for role in ("customer", "order"):
        col = getattr(m, role)
        if not col or rel.kinds.get(col) != FLOAT:
            continue
        c = quote(col)
        # NaN is a missing id (pandas writes missing values as NaN); infinities are not ids
        inf = "(CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))"
        bad = (f"{c} IS NOT NULL AND {c} <> CAST('NaN' AS DOUBLE) AND ({c} IN {inf} "
               f"OR {c} <> FLOOR({c}) OR ABS({c}) >= {float(EXACT_INTEGER)!r})")
        rows = fetch(f"SELECT DISTINCT {c} FROM {rel.handle} WHERE {bad} ORDER BY 1 LIMIT 5")
        if rows:
            shown = ", ".join(repr(float(r[0])) for r in rows)
            raise SchemaError(
                f"Column {col!r} ({role} id) in {rel.label} holds floating-point numbers that "
                f"are not exact integers, e.g. {shown}: ids read through a float are rounded "
                "(above 2**53 = 9,007,199,254,740,992) or are not ids at all. Store the ids as "
                "text or integers in the file, or pick another column with "
                f"ColumnMapping({role}=NAME)."
            )


# --- text dates ------------------------------------------------------------------------------
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p", " %H:%M:%S.%f")
_SAMPLE = 20_000


def _candidates(order: str | None) -> list[tuple[str, str]]:
    """(order, strptime format) of every day/month layout tried on text dates."""
    out = []
    for sep in ("/", "-", "."):
        for year in ("%Y", "%y"):
            for time in _TIMES:
                if order in (None, "dayfirst"):
                    out.append(("dayfirst", f"%d{sep}%m{sep}{year}{time}"))
                if order in (None, "monthfirst"):
                    out.append(("monthfirst", f"%m{sep}%d{sep}{year}{time}"))
        if sep != "-":  # YYYY-MM-DD is ISO, read without a format
            for time in _TIMES:
                out.append(("yearfirst", f"%Y{sep}%m{sep}%d{time}"))
    return out


def _counts(values: str, formats: list[str], fetch: Fetch) -> list[int]:
    parses = ", ".join(f"COUNT(TRY_STRPTIME(v, {literal(f)}))" for f in formats)
    return [int(n) for n in fetch(
        f"SELECT COUNT(TRY_CAST(v AS TIMESTAMP)), {parses} FROM ({values}) AS d")[0]]


def detect_date_format(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
                       fetch: Fetch) -> str | None:
    """The strptime format of a text date column, or None (ISO dates, read without one).

    The layout (separator, year, time) is chosen on up to 20,000 distinct values; day-first
    against month-first is then decided on every distinct value: whichever reads more values
    wins, and when both read the same values the dates are ambiguous and an error asks for
    ``date_order`` or ``date_format``.
    """
    col = columns.mapping.date
    if options.date_format is not None or rel.kinds.get(col) != TEXT:
        return options.date_format
    c = quote(col)
    distinct = f"SELECT DISTINCT CAST({c} AS VARCHAR) AS v FROM {rel.handle} WHERE {c} IS NOT NULL"
    sample = f"SELECT v FROM ({distinct}) AS a ORDER BY v LIMIT {_SAMPLE}"
    candidates = _candidates(options.date_order)
    iso, *counts = _counts(sample, [f for _, f in candidates], fetch)
    best = max(counts, default=0)
    if best == 0 or iso >= best:
        return None  # ISO, or nothing parses (the value check reports it)
    winners = [candidates[i] for i, n in enumerate(counts) if n == best]
    order, fmt = winners[0]
    rivals = [f for o, f in winners if o != order and o != "yearfirst" and order != "yearfirst"]
    if not rivals:
        return fmt
    # The sample reads both ways: decide on every value.
    every = _counts(distinct, [fmt, rivals[0]], fetch)
    if every[1] != every[2]:
        return fmt if every[1] > every[2] else rivals[0]
    examples = [r[0] for r in fetch(f"SELECT v FROM ({distinct}) AS a ORDER BY v LIMIT 3")]
    raise SchemaError(
        f"Column {col!r} (date) in {rel.label}: every date reads both day-first ({fmt}) and "
        f"month-first ({rivals[0]}), e.g. {', '.join(repr(e) for e in examples)}, so the "
        "dates are ambiguous. Say how to read them with date_order='dayfirst' or "
        f"date_order='monthfirst', or give the format, e.g. date_format={rivals[0]!r}."
    )


def has_utc_offsets(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
                    fetch: Fetch) -> bool:
    """Whether ISO text dates carry UTC offsets (``2024-01-01 23:30:00+02``): they are instants,
    to be read as UTC like typed timestamps with a time zone, not as wall-clock times."""
    col = columns.mapping.date
    if options.date_format is not None or rel.kinds.get(col) != TEXT:
        return False
    c = f"CAST({quote(col)} AS VARCHAR)"
    offset = literal("[0-9]:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)? ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$")
    return bool(fetch(f"SELECT COUNT(*) FROM (SELECT {c} AS v FROM {rel.handle} WHERE {c} IS "
                      f"NOT NULL LIMIT {_SAMPLE}) AS d WHERE REGEXP_MATCHES(v, {offset})")[0][0])


def check_date_format(fmt: str | None, fetch: Fetch) -> None:
    """A format the engine's strptime rejects is a parameter error, before the data is read."""
    if fmt is None:
        return
    from rfmkit.errors import ParameterError

    try:
        fetch(f"SELECT TRY_STRPTIME('2000-01-01', {literal(fmt)})")
    except Exception as exc:  # the driver's own error type
        detail = str(exc).strip().splitlines()[0]
        raise ParameterError(
            f"date_format={fmt!r} is not a strptime format the engine can use ({detail}). "
            "Use directives such as %d %m %Y %H %M %S, e.g. date_format='%d/%m/%Y %H:%M'."
        ) from None


def with_date_format(options: MetricOptions, fmt: str | None) -> MetricOptions:
    return options if fmt == options.date_format else dataclasses.replace(options, date_format=fmt)


# --- money -----------------------------------------------------------------------------------
def money_for(rel: Relation, columns: ResolvedColumns, fetch: Fetch) -> str:
    """The DECIMAL type amounts are summed in, fitted to the data (see :func:`money_type`)."""
    if columns.shape is InputShape.CUSTOMERS:
        return MONEY
    a = amount_sql(columns, rel.kinds)
    ok = f"a IS NOT NULL AND NOT ({non_finite('a')}) AND a <> 0"
    row = fetch(f"SELECT MAX(ABS(a)), MIN(ABS(a)), COUNT(*) FROM (SELECT {a} AS a FROM "
                f"{rel.handle}) AS t WHERE {ok}")[0]
    if row[0] is None:
        return MONEY
    largest, smallest, n = float(row[0]), float(row[1]), int(row[2])
    money = money_type(largest, smallest, n)
    if money is None:
        col = columns.mapping.amount or columns.mapping.price
        raise SchemaError(
            f"Amounts in {rel.label} (column {col!r}) reach {largest:.6g}: summing {n:,} of "
            f"them can exceed 38 digits, the widest exact decimal. Amounts up to "
            f"{10 ** 37 / max(n, 1):.3g} in magnitude are summed exactly; check the column "
            f"(ColumnMapping(amount=NAME)) or rescale the amounts (e.g. to thousands)."
        )
    return money


def prepare_input(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
                  fetch: Fetch) -> tuple[MetricOptions, str]:
    """Every check above, in order: the options with the text-date format used (given or
    detected) and the DECIMAL type for the amounts."""
    check_date_format(options.date_format, fetch)
    check_float_ids(rel, columns, fetch)
    options = with_date_format(options, detect_date_format(rel, columns, options, fetch))
    return options, money_for(rel, columns, fetch)
