"""Checks on the input columns before the metric query: float ids, text dates, money scale.

Each takes ``fetch`` (run DuckDB-dialect SQL in the engine, return rows), like
:mod:`rfmkit.engines.aggregation`, so every engine reads its input the same way.
"""

from __future__ import annotations

import dataclasses
import re
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
from rfmkit.sql.text_numbers import (
    DOT_DECIMAL_RE,
    DOT_GROUPED_RE,
    format_advice,
    given_format,
    number_sql,
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
_SAMPLE = 20_000
# day/month/year with one separator, then an optional clock: the layouts that need a format
_LAYOUT = re.compile(
    r"^\s*(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})"
    r"(?:([ T]+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})([.]\d{1,6})?)?( *)([AaPp][Mm])?)?\s*$")


def _layout(value: str) -> tuple[str, str] | None:
    """(order, strptime format with %a/%b for the two day-or-month fields) of one value, or
    None: ``order`` is "yearfirst", "iso" (read without a format) or "ambiguous"."""
    m = _LAYOUT.match(value)
    if m is None:
        return None
    first, sep, _, last, gap, hour, _, second, fraction, space, ampm = m.groups()
    clock = ""
    if hour is not None:
        clock = ("T" if "T" in gap else " ") + ("%I" if ampm else "%H") + ":%M"
        clock += (":%S" if second else "") + (".%f" if fraction else "")
        clock += (space and " ") + "%p" if ampm else ""
    if len(first) == 4 and len(last) <= 2:
        if sep == "-" and not ampm:
            return "iso", ""
        return "yearfirst", f"%Y{sep}%m{sep}%d{clock}"
    if len(first) <= 2 and len(last) in (2, 4):
        year = "%Y" if len(last) == 4 else "%y"
        return "ambiguous", f"%a{sep}%b{sep}{year}{clock}"
    return None


def _both_ways(layout: str) -> tuple[str, str]:
    """The day-first and month-first formats of an ambiguous layout."""
    return (layout.replace("%a", "%d").replace("%b", "%m"),
            layout.replace("%a", "%m").replace("%b", "%d"))


def _fields(values: list[str]) -> tuple[int, int]:
    """The largest first and second field of day/month values."""
    firsts, seconds = [0], [0]
    for v in values:
        m = _LAYOUT.match(v)
        firsts.append(int(m.group(1)))
        seconds.append(int(m.group(3)))
    return max(firsts), max(seconds)


def detect_date_format(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
                       fetch: Fetch) -> str | None:
    """The strptime format of a text date column, or None (ISO dates, read without one).

    The layout (order of the fields, separator, two- or four-digit year, clock) is the most
    common one among up to 20,000 distinct values. Day-first against month-first: a field
    above 12 decides; when none does in the sample, every distinct value is read both ways and
    the format reading more of them wins; when both read the same values, the dates are
    ambiguous and an error asks for ``date_order`` or ``date_format``.
    """
    col = columns.mapping.date
    if options.date_format is not None or rel.kinds.get(col) != TEXT:
        return options.date_format
    c = quote(col)
    distinct = f"SELECT DISTINCT CAST({c} AS VARCHAR) AS v FROM {rel.handle} WHERE {c} IS NOT NULL"
    sample = [r[0] for r in fetch(f"SELECT v FROM ({distinct}) AS a ORDER BY v LIMIT {_SAMPLE}")]
    layouts: dict[tuple[str, str], list[str]] = {}
    for value in sample:
        layout = _layout(value)
        if layout is not None:
            layouts.setdefault(layout, []).append(value)
    if not layouts:
        return None  # not a layout rfmkit knows: ISO or nothing (the value check tells)
    (order, layout), values = max(layouts.items(), key=lambda item: len(item[1]))
    if order != "ambiguous":
        return layout or None
    dayfirst, monthfirst = _both_ways(layout)
    if options.date_order is not None:
        return dayfirst if options.date_order == "dayfirst" else monthfirst
    first, second = _fields(values)
    if first > 12 >= second:
        return dayfirst
    if second > 12 >= first:
        return monthfirst
    # the sample doesn't decide: count on every distinct value (two formats, one scan)
    day_n, month_n = (int(n) for n in fetch(
        f"SELECT COUNT(TRY_STRPTIME(v, {literal(dayfirst)})), "
        f"COUNT(TRY_STRPTIME(v, {literal(monthfirst)})) FROM ({distinct}) AS d")[0])
    if day_n != month_n:
        return dayfirst if day_n > month_n else monthfirst
    raise SchemaError(
        f"Column {col!r} (date) in {rel.label}: every date reads both day-first ({dayfirst}) "
        f"and month-first ({monthfirst}), e.g. {', '.join(repr(e) for e in values[:3])}, so "
        "the dates are ambiguous. Say how to read them with date_order='dayfirst' or "
        f"date_order='monthfirst', or give the format, e.g. date_format={monthfirst!r}."
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
    """``options`` with a detected format, and the day/month order it settled (what a fitted
    model keeps: the next file may have another layout, but its dates read the same way)."""
    if fmt == options.date_format:
        return options
    order = options.date_order
    if order is None and fmt is not None and fmt[:2] in ("%d", "%m"):
        order = "dayfirst" if fmt.startswith("%d") else "monthfirst"
    return dataclasses.replace(options, date_format=fmt, date_order=order)


# --- money -----------------------------------------------------------------------------------
def money_for(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
              fetch: Fetch) -> str:
    """The DECIMAL type amounts are summed in, fitted to the data (see :func:`money_type`).

    The same scan checks how text amounts are written (see :func:`check_number_format`).
    """
    if columns.shape is InputShape.CUSTOMERS:
        return MONEY
    a = amount_sql(columns, rel.kinds, options)
    ok = f"a IS NOT NULL AND NOT ({non_finite('a')}) AND a <> 0"
    texts = [] if given_format(options) else _text_values(rel, columns)
    raw = "".join(f", {quote(col)} AS v{i}" for i, (_, col) in enumerate(texts))
    counts = "".join(f", {', '.join(_format_counts(quote(f'v{i}'), options))}"
                     for i in range(len(texts)))
    row = fetch(f"SELECT MAX(CASE WHEN {ok} THEN ABS(a) END), MIN(CASE WHEN {ok} THEN ABS(a) "
                f"END), COUNT(CASE WHEN {ok} THEN 1 END){counts} FROM (SELECT {a} AS a{raw} "
                f"FROM {rel.handle}) AS t")[0]
    for i, (role, col) in enumerate(texts):
        check_number_format(rel, role, col, options, [int(n) for n in row[3 + 3 * i:6 + 3 * i]],
                            fetch)
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


def _text_values(rel: Relation, columns: ResolvedColumns) -> list[tuple[str, str]]:
    """(role, column) of the text amount, quantity and price columns."""
    m = columns.mapping
    return [(role, getattr(m, role)) for role in ("amount", "quantity", "price")
            if getattr(m, role) and rel.kinds.get(getattr(m, role)) == TEXT]


def _format_counts(v: str, options: MetricOptions) -> list[str]:
    """Counts over the text values ``v``: not read; with a dot that can only be a decimal
    point; with one dot that may group thousands (1.234). A group of thousands has three
    digits after its dot, so a dot one or two characters from the end is a decimal point,
    found without a pattern: the patterns run only on the few values the reading refuses
    or whose dot is elsewhere (a pattern on every row would double the scan's time)."""
    after = f"LENGTH({v}) - STRPOS({v}, '.')"
    dotted = f"{v} IS NOT NULL AND STRPOS({v}, '.') > 0"
    return [f"COUNT(CASE WHEN {v} IS NOT NULL AND {number_sql(v, options)} IS NULL THEN 1 END)",
            f"COUNT(CASE WHEN {dotted} AND ({after} IN (1, 2) OR ({after} <> 3 AND "
            f"REGEXP_MATCHES({v}, {literal(DOT_DECIMAL_RE)}))) THEN 1 END)",
            f"COUNT(CASE WHEN {dotted} AND {after} NOT IN (1, 2) AND "
            f"REGEXP_MATCHES({v}, {literal(DOT_GROUPED_RE)}) THEN 1 END)"]


def check_number_format(rel: Relation, role: str, col: str, options: MetricOptions,
                        counts: list[int], fetch: Fetch) -> None:
    """Text amounts read without a number format must be plain numbers, or errors name the
    format: values that another format reads (12,50 1.234,50 1,234.50) while no value shows a
    decimal point, and values whose one dot may group thousands (1.234 and no 12.50). Values
    read the plain way would be wrong if the other format was meant: nothing is guessed.
    With a decimal point shown, values that don't read are counted (and their format named)
    by the value check."""
    failed, decimal_points, dot_groups = counts
    c = quote(col)
    where = None
    if failed and not decimal_points:
        where = f"{c} IS NOT NULL AND {number_sql(c, options)} IS NULL"
    elif dot_groups and not decimal_points:
        where = f"STRPOS({c}, '.') > 0 AND REGEXP_MATCHES({c}, {literal(DOT_GROUPED_RE)})"
    if where is None:
        return
    values = [r[0] for r in fetch(f"SELECT DISTINCT CAST({c} AS VARCHAR) FROM {rel.handle} "
                                  f"WHERE {where} ORDER BY 1 LIMIT 200")]
    shown = ", ".join(repr(v) for v in values[:5])
    if failed:
        advice = format_advice(values)
        if not advice:
            return  # not numbers in any format: the value check counts them or fails
        raise SchemaError(
            f"Column {col!r} ({role}) in {rel.label} has amounts that are not plain numbers, "
            f"e.g. {shown}. {advice} Say how the amounts are written with decimal= and "
            "thousands= (as in pandas' read_csv): rfmkit does not guess, because '1.234' is "
            "1.234 or 1234 depending on it."
        )
    raise SchemaError(
        f"Column {col!r} ({role}) in {rel.label}: every amount with a dot has three digits "
        f"after it, e.g. {shown}, so the dot may be a decimal point (1.234) or group "
        "thousands (1234). Say which with decimal='.' or thousands='.'."
    )


def prepare_input(rel: Relation, columns: ResolvedColumns, options: MetricOptions,
                  fetch: Fetch, *, probe_format: bool = False) -> tuple[MetricOptions, str]:
    """Every check above, in order: the options with the text-date format used (given or
    detected) and the DECIMAL type for the amounts. ``probe_format``: try the given date
    format on the engine first (DuckDB; the other engines' translation checks it)."""
    if probe_format:
        check_date_format(options.date_format, fetch)
    check_float_ids(rel, columns, fetch)
    options = with_date_format(options, detect_date_format(rel, columns, options, fetch))
    return options, money_for(rel, columns, options, fetch)
