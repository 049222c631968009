"""DuckDB SQL (as :mod:`rfmkit.sql.metrics_query` writes it) translated into other dialects.

SQLGlot translates the query; the lenient parses it cannot map (``TRY_CAST`` of text to a number
or timestamp, ``TRY_STRPTIME``) are replaced by guarded ones of the target dialect that accept
what DuckDB accepts (see :mod:`rfmkit.sql.date_patterns`). No database driver is imported here.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

from rfmkit.errors import ParameterError
from rfmkit.sql.date_patterns import (
    INFINITY_RE,
    ISO_SHAPE_RE,
    ISO_VALID_RE,
    MONTHS,
    NAN_RE,
    NUMBER_RE,
    compile_strptime,
    pg_strptime_variants,
)


def rewrite_parsing(sql: str, dialect: str,
                    number: Callable[[str], str], timestamp: Callable[[str], str],
                    strptime: Callable[[str, str], str], *, pretty: bool = True) -> str:
    """Translate DuckDB SQL into ``dialect``, replacing the lenient parses SQLGlot cannot map.

    ``TRY_CAST(x AS DOUBLE)``, ``TRY_CAST(x AS TIMESTAMP)`` and ``TRY_STRPTIME(x, format)`` are
    replaced by what ``number(x)``, ``timestamp(x)`` and ``strptime(x, format)`` return (SQL of
    the target dialect, given the argument already translated).
    """
    tree = sqlglot.parse_one(sql, read="duckdb")
    pieces: dict[str, str] = {}

    def swap(node: exp.Expression) -> exp.Expression:
        text = None
        if isinstance(node, exp.TryCast):
            arg = node.this.sql(dialect)
            if node.to.is_type("double"):
                text = number(arg)
            elif node.to.is_type("timestamp", "timestampntz"):
                text = timestamp(arg)
        elif isinstance(node, exp.Anonymous) and node.name.upper() == "TRY_STRPTIME":
            arg, fmt = node.expressions
            text = strptime(arg.sql(dialect), _format_literal(fmt))
        elif isinstance(node, exp.StrToTime) and node.args.get("safe"):
            text = strptime(node.this.sql(dialect), _format_literal(node.args["format"]))
        if text is None:
            return node
        key = f"rfmkit_parsed_{len(pieces)}_"
        pieces[key] = f"({text})"
        return exp.column(key)

    out = tree.transform(swap).sql(dialect, pretty=pretty)
    for key, text in pieces.items():
        out = out.replace(key, text)
    return out


def _format_literal(node: exp.Expression) -> str:
    if not (isinstance(node, exp.Literal) and node.is_string):
        raise ParameterError("A date format must be a string literal.")
    return node.this


# One number as DuckDB's TRY_CAST(... AS DOUBLE) reads it (the common forms).


# --- PostgreSQL ---------------------------------------------------------------------------------

def _pg_text(arg: str) -> str:
    return f"CAST({arg} AS TEXT)"


def _pg_number(arg: str) -> str:
    s = _pg_text(arg)
    n = f"CAST({s} AS NUMERIC)"
    return (
        f"CASE WHEN {s} ~ '{NUMBER_RE}' THEN CASE "
        # beyond the largest double: an infinity, as DuckDB reads it (then dropped as such)
        f"WHEN {n} > 1.7976931348623157e308 THEN CAST('Infinity' AS DOUBLE PRECISION) "
        f"WHEN {n} < -1.7976931348623157e308 THEN CAST('-Infinity' AS DOUBLE PRECISION) "
        f"WHEN ABS({n}) < 1e-320 THEN CAST(0 AS DOUBLE PRECISION) "
        f"ELSE CAST({n} AS DOUBLE PRECISION) END "
        f"WHEN {s} ~ '{INFINITY_RE}' OR {s} ~ '{NAN_RE}' THEN CAST(TRIM({s}) AS DOUBLE PRECISION) "
        "END"
    )


def _pg_timestamp(arg: str) -> str:
    s = _pg_text(arg)
    return f"CASE WHEN {s} ~ '{ISO_VALID_RE}' THEN CAST({s} AS TIMESTAMP) END"


def _pg_strptime(arg: str, fmt: str) -> str:
    s = _pg_text(arg)
    cases = " ".join(
        f"WHEN {s} ~ '{pattern}' THEN CAST(REGEXP_REPLACE({s}, '{pattern}', "
        f"E'{text.replace(chr(92), chr(92) * 2)}') AS TIMESTAMP)"
        for pattern, text in pg_strptime_variants(fmt)
    )
    return f"CASE {cases} END"


def postgres_sql(sql: str, *, pretty: bool = True) -> str:
    """Translate DuckDB SQL (as :mod:`rfmkit.sql.metrics_query` writes it) into PostgreSQL.

    Like ``to_dialect(sql, "postgres")``, plus a guarded parse for ``TRY_CAST`` and
    ``TRY_STRPTIME``, which PostgreSQL lacks (see the module notes for what is accepted).
    """
    return rewrite_parsing(sql, "postgres", _pg_number, _pg_timestamp, _pg_strptime,
                           pretty=pretty)


# --- Spark SQL ----------------------------------------------------------------------------------

SPARK_NUMBER_RE = "^ *[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? *$"

def _text(arg: str) -> str:
    return f"CAST({arg} AS STRING)"


def _spark_number(arg: str) -> str:
    s = _text(arg)
    return (f"CASE WHEN {s} RLIKE '{SPARK_NUMBER_RE}' OR {s} RLIKE '{INFINITY_RE}' "
            f"OR {s} RLIKE '{NAN_RE}' THEN TRY_CAST({s} AS DOUBLE) END")


def _spark_timestamp(arg: str) -> str:
    s = _text(arg)
    return (f"CASE WHEN {s} RLIKE '{ISO_SHAPE_RE}' "
            f"THEN TRY_CAST(REGEXP_REPLACE(TRIM({s}), ' +', ' ') AS TIMESTAMP_NTZ) END")


def _spark_strptime(arg: str, fmt: str) -> str:
    """Parse with a strftime-style format: the fields, found with the format's pattern, are put
    together as ``YYYY-MM-DD HH:MM:SS.ffffff`` and TRY_CAST checks that the date exists."""
    regex, groups = compile_strptime(fmt)
    s = _text(arg)

    def field(code: str, default: str) -> str:
        if code not in groups:
            return f"'{default}'"
        return f"REGEXP_EXTRACT({s}, '{regex}', {groups[code]})"

    if "y" in groups:  # 69-99: 19xx, 00-68: 20xx (as DuckDB and Python read %y)
        yy = field("y", "")
        year = f"CONCAT(CASE WHEN {yy} >= '69' THEN '19' ELSE '20' END, {yy})"
    else:
        year = field("Y", "1900")
    name = "b" if "b" in groups else "B" if "B" in groups else None
    if name is not None:
        whens = " ".join(f"WHEN '{m[:3]}' THEN '{i}'" for i, m in enumerate(MONTHS, start=1))
        month = f"CASE LOWER(SUBSTR({field(name, '')}, 1, 3)) {whens} END"
    else:
        month = field("m", "1")
    hour = field("H", "0")
    if "I" in groups and "p" in groups:  # 12 AM is 0 h, 12 PM is 12 h (as in DuckDB)
        pm = f"UPPER({field('p', '')}) = 'PM'"
        hour = (f"CAST(MOD(CAST({field('I', '12')} AS INT), 12) "
                f"+ CASE WHEN {pm} THEN 12 ELSE 0 END AS STRING)")
    elif "I" in groups:  # without %p, DuckDB takes the hour as written
        hour = field("I", "0")
    micro = f"RPAD({field('f', '')}, 6, '0')" if "f" in groups else "'000000'"

    def pad(value: str, width: int) -> str:
        return f"LPAD({value}, {width}, '0')"

    text = (f"CONCAT({pad(year, 4)}, '-', {pad(month, 2)}, '-', {pad(field('d', '1'), 2)}, ' ', "
            f"{pad(hour, 2)}, ':', {pad(field('M', '0'), 2)}, ':', {pad(field('S', '0'), 2)}, "
            f"'.', {micro})")
    return f"CASE WHEN {s} RLIKE '{regex}' THEN TRY_CAST({text} AS TIMESTAMP_NTZ) END"


def spark_sql(sql: str, *, pretty: bool = True) -> str:
    """Translate DuckDB SQL (as :mod:`rfmkit.sql.metrics_query` writes it) into Spark SQL.

    Like ``to_dialect(sql, "spark")``, with ``TRY_STRPTIME`` (which SQLGlot leaves as is) and the
    lenient ``TRY_CAST`` parses of text replaced by guarded ones that accept what DuckDB accepts.
    """
    return rewrite_parsing(sql, "spark", _spark_number, _spark_timestamp, _spark_strptime,
                           pretty=pretty)
