"""PostgreSQL as an engine: cleaning and per-customer aggregation run inside the database.

The input is a ``postgresql://`` URL plus a table (``table="schema.orders"``) or a query
(``query="SELECT ..."``). The metric SQL of :mod:`rfmkit.sql.metrics_query` is translated with SQLGlot
(:func:`postgres_sql`), so only one row per customer leaves the database. Every identifier is
quoted; a table name is split on dots (quote a part that holds a dot: ``'"my.schema".orders'``)
and matched exactly, or, like PostgreSQL does for unquoted names, in lower case. A query is the
user's own SQL: it is run as given, as a temporary view.

Local files and DataFrames are accepted too (what the DuckDB engine reads is uploaded into a
temporary table with COPY), which lets the conformance tests run every case here.

Text columns that need parsing. PostgreSQL has no TRY_CAST, and a failed CAST aborts the query,
so every parse is guarded by a pattern (a plain ``~`` match, which is cheap) that accepts only
values the CAST after it can read; anything else is NULL, i.e. counted as unparseable:

* numbers: optional sign, digits with an optional decimal point, optional exponent (up to three
  digits), blanks around; ``inf``/``infinity``/``nan`` in any case (then dropped as non-finite,
  as are numbers beyond the double range). Thousands separators and decimal commas are not
  numbers, as in DuckDB.
* timestamps without a format: ``YYYY-MM-DD`` (year 0001-9999), optionally followed by
  ``HH:MM[:SS[.fraction]]`` after blanks or ``T``, blanks after; the date must exist (month
  lengths and leap years are part of the pattern). Unlike DuckDB, ``/`` as date separator,
  time-zone suffixes and hour 24 are not accepted, and a seventh fraction digit rounds (DuckDB
  truncates).
* timestamps with ``date_format``: the strftime directives ``%Y`` (four digits here) ``%y %m %d %b
  %B %H %I %p %M %S %f %%``; literal letters, digits, blanks and ``- / : . , _``. Any other
  directive is refused with a :class:`~rfmkit.errors.ParameterError`. A matching value is
  rewritten (one ``regexp_replace``) into text PostgreSQL's timestamp input reads.

This module does not import psycopg until a connection is needed, so :func:`postgres_sql` works
without it; :mod:`rfmkit.engines.spark` reuses the engine-neutral metric flow defined here
(:func:`run_customer_metrics`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import sqlglot
from sqlglot import exp

from rfmkit.cleaning import CleaningRules, QualityReport
from rfmkit.errors import InputError, ParameterError
from rfmkit.metric_options import MetricOptions
from rfmkit.sql.metrics_query import (
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    OTHER,
    TEXT,
    TIMESTAMP,
    TIMESTAMP_TZ,
    quote,
)
from rfmkit.schema import ResolvedColumns
from rfmkit.engines.aggregation import run_customer_metrics, run_customer_table
from rfmkit.engines.base import Relation

# --- SQL translation ----------------------------------------------------------------------------


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
NUMBER_RE = "^ *[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?0*[0-9]{1,3})? *$"
INFINITY_RE = "^ *[+-]?[Ii][Nn][Ff]([Ii][Nn][Ii][Tt][Yy])? *$"
NAN_RE = "^ *[Nn][Aa][Nn] *$"
# The shape of an ISO timestamp, YYYY-MM-DD [HH:MM[:SS[.fraction]]] (values not checked)
ISO_SHAPE_RE = ("^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(( +|T)[0-9]{1,2}:[0-9]{1,2}"
                "(:[0-9]{1,2}([.][0-9]+)?)?)? *$")

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)


_DIRECTIVES = {
    "Y": "([0-9]{1,4})", "y": "([0-9]{2})", "m": "([0-9]{1,2})", "d": "([0-9]{1,2})",
    "H": "([0-9]{1,2})", "I": "(0?[1-9]|1[0-2])", "M": "([0-9]{1,2})", "S": "([0-9]{1,2})",
    "f": "([0-9]{1,6})", "p": "([AaPp][Mm])",
    "b": "(" + "|".join(_any_case(m[:3]) for m in MONTHS) + ")",
    "B": "(" + "|".join(_any_case(m) for m in MONTHS) + ")",
}
_LITERAL_PUNCTUATION = "-/:.,_"
SUPPORTED_DIRECTIVES = " ".join(f"%{d}" for d in "YymdbBHIpMSf") + " %%"


def _tokens(fmt: str) -> list[tuple[str, str]]:
    """A strftime-style format as ("field", code) and ("text", regex) tokens."""
    tokens, seen, i = [], set(), 0
    clashes = ({"Y", "y"}, {"m", "b", "B"}, {"H", "I"})
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            code = fmt[i + 1] if i + 1 < len(fmt) else ""
            i += 2
            if code == "%":
                tokens.append(("text", "%"))
                continue
            if code not in _DIRECTIVES:
                raise ParameterError(
                    f"The date format {fmt!r} uses %{code}, which this engine cannot parse. "
                    f"Supported: {SUPPORTED_DIRECTIVES}."
                )
            if code in seen or any(code in c and seen & c for c in clashes):
                raise ParameterError(f"The date format {fmt!r} gives the same field twice.")
            seen.add(code)
            tokens.append(("field", code))
        elif ch == " ":
            while i < len(fmt) and fmt[i] == " ":
                i += 1
            tokens.append(("text", " +"))
        elif ch.isascii() and ch.isalnum():
            tokens.append(("text", ch))
            i += 1
        elif ch in _LITERAL_PUNCTUATION:
            tokens.append(("text", f"[{ch}]"))
            i += 1
        else:
            raise ParameterError(
                f"The date format {fmt!r} contains {ch!r}, which this engine cannot match. "
                f"Use letters, digits, blanks and {' '.join(_LITERAL_PUNCTUATION)} between the "
                "directives."
            )
    return tokens


def compile_strptime(fmt: str) -> tuple[str, dict[str, int]]:
    """A strftime-style format as an anchored regular expression and the group of each field.

    The expression uses no backslash (the same text works in PostgreSQL and Java regexes).
    Blanks in the format match one or more blanks; blanks around the value are ignored.
    """
    parts, groups = ["^ *"], {}
    for kind, value in _tokens(fmt):
        if kind == "field":
            groups[value] = len(groups) + 1
            parts.append(_DIRECTIVES[value])
        else:
            parts.append(value)
    parts.append(" *$")
    return "".join(parts), groups


# --- PostgreSQL: patterns that match valid values only ---------------------------------------
# PostgreSQL has no TRY_CAST, and extracting regex groups costs tens of microseconds per call,
# while a plain match (~) is cheap. So the patterns below accept only real dates and times
# (month lengths and leap years included): after a match, a CAST cannot fail.

_YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"  # 0001-9999
_LEAP = "([0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_YY = {  # two-digit years: 69-99 are 19xx, 00-68 are 20xx (as in DuckDB and Python)
    "19": ("(69|[7-9][0-9])", "(7[26]|8[048]|9[26])"),
    "20": ("([0-5][0-9]|6[0-8])", "([0246][048]|[135][26])"),
}
_MONTH_NUMBERS = {"any": "(0?[1-9]|1[0-2])", "not_feb": "(0?[13-9]|1[0-2])",
                  "31": "(0?[13578]|1[02])", "feb": "(0?2)"}
_MONTH_SETS = {"any": range(1, 13), "not_feb": [1, *range(3, 13)], "31": [1, 3, 5, 7, 8, 10, 12],
               "feb": [2]}
_DAYS = {"any": "(0?[1-9]|[12][0-9]|3[01])", "28": "(0?[1-9]|1[0-9]|2[0-8])",
         "29_30": "(29|30)", "31": "(31)", "29": "(29)"}
_TIME_FIELDS = {"H": "([01]?[0-9]|2[0-3])", "I": "(0?[1-9]|1[0-2])", "M": "([0-5]?[0-9])",
                "S": "([0-5]?[0-9])", "f": "([0-9]{1,6})", "p": "([AaPp][Mm])"}


def _month_pattern(code: str, which: str) -> str:
    if code == "m":
        return _MONTH_NUMBERS[which]
    names = [MONTHS[i - 1] for i in _MONTH_SETS[which]]
    return "(" + "|".join(_any_case(n[:3] if code == "b" else n) for n in names) + ")"


def _calendar_cases(codes: set[str]) -> list[tuple[str, str, bool]]:
    """(day set, month set, leap year only) combinations covering exactly the real dates."""
    has_month = bool(codes & {"m", "b", "B"})
    if "d" not in codes:
        return [("any", "any", False)]
    if not has_month:  # January
        return [("any", "any", False)]
    cases = [("28", "any", False), ("29_30", "not_feb", False), ("31", "31", False)]
    if codes & {"Y", "y"}:  # without a year, the year is 1900: no 29 February
        cases.append(("29", "feb", True))
    return cases


def pg_strptime_variants(fmt: str) -> list[tuple[str, str]]:
    """(pattern, replacement) pairs: the first pattern a value matches turns it into text that
    PostgreSQL's timestamp input reads (``YYYY-MM-DD HH:MM:SS`` or ``DD Mon YYYY HH:MM:SS``)."""
    tokens = _tokens(fmt)
    codes = {value for kind, value in tokens if kind == "field"}
    centuries = ["19", "20"] if "y" in codes else [None]
    variants = []
    for day_set, month_set, leap in _calendar_cases(codes):
        for century in centuries:
            parts, refs = ["^ *"], {}
            for kind, value in tokens:
                if kind == "text":
                    parts.append(value)
                    continue
                refs[value] = f"\\{len(refs) + 1}"
                if value == "Y":
                    parts.append(_LEAP if leap else _YEAR)
                elif value == "y":
                    parts.append(_YY[century][1 if leap else 0])
                elif value in ("m", "b", "B"):
                    parts.append(_month_pattern(value, month_set))
                elif value == "d":
                    parts.append(_DAYS[day_set])
                else:
                    parts.append(_TIME_FIELDS[value])
            parts.append(" *$")
            year = refs.get("Y") or (f"{century}{refs['y']}" if "y" in refs else "1900")
            month = refs.get("m") or refs.get("b") or refs.get("B") or "1"
            day = refs.get("d", "1")
            clock = (f"{refs.get('H') or refs.get('I') or '0'}:{refs.get('M', '0')}:"
                     f"{refs.get('S', '0')}" + (f".{refs['f']}" if "f" in refs else "")
                     + (f" {refs['p']}" if "p" in refs else ""))
            text = (f"{day} {month} {year} {clock}" if codes & {"b", "B"}
                    else f"{year}-{month}-{day} {clock}")
            variants.append(("".join(parts), text))
    return variants


def _iso_valid_re() -> str:
    m, d = _MONTH_NUMBERS, _DAYS
    date = (f"({_YEAR}-({m['any']}-{d['28']}|{m['not_feb']}-{d['29_30']}|{m['31']}-{d['31']})"
            f"|{_LEAP}-{m['feb']}-{d['29']})")
    t = _TIME_FIELDS
    return f"^{date}(( +|T){t['H']}:{t['M']}(:{t['S']}([.][0-9]+)?)?)? *$"


ISO_VALID_RE = _iso_valid_re()


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


# --- the engine -------------------------------------------------------------------------------

_PG_KINDS = {
    "text": TEXT, "varchar": TEXT, "bpchar": TEXT, "name": TEXT, "citext": TEXT, "uuid": TEXT,
    "int2": INTEGER, "int4": INTEGER, "int8": INTEGER,
    "float4": FLOAT, "float8": FLOAT, "numeric": DECIMAL,
    "timestamp": TIMESTAMP, "timestamptz": TIMESTAMP_TZ, "date": DATE,
}


def postgres_kind(type_name: str) -> str:
    """Column kind of a PostgreSQL base type (``pg_type.typname``)."""
    return _PG_KINDS.get(type_name, OTHER)


def table_parts(name: str | Sequence[str], *, max_parts: int = 2
                ) -> tuple[list[str], list[bool]]:
    """Split ``schema.table`` into parts; a part in double quotes may hold dots and quotes.

    ``max_parts=3`` also accepts ``catalog.schema.table``. Returns the parts and, for each,
    whether it was quoted.
    """
    if not isinstance(name, str):
        parts = [str(p) for p in name]
        return parts, [True] * len(parts)
    parts, quoted, buf, was_quoted, i = [], [], [], False, 0
    while i < len(name):
        ch = name[i]
        if ch == '"':
            j = i + 1
            while True:
                if j >= len(name):
                    raise ParameterError(f"Unbalanced double quote in table name {name!r}.")
                if name[j] == '"':
                    if name[j + 1:j + 2] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(name[j])
                j += 1
            was_quoted = True
            i = j + 1
        elif ch == ".":
            parts.append("".join(buf))
            quoted.append(was_quoted)
            buf, was_quoted = [], False
            i += 1
        else:
            buf.append(ch)
            i += 1
    parts.append("".join(buf))
    quoted.append(was_quoted)
    if not 1 <= len(parts) <= max_parts or not all(parts):
        forms = "TABLE or SCHEMA.TABLE" if max_parts == 2 else \
            "TABLE, SCHEMA.TABLE or CATALOG.SCHEMA.TABLE"
        raise ParameterError(
            f"Table name {name!r} must be {forms} (quote a part that holds a dot, "
            'e.g. \'"my.schema".orders\').'
        )
    return parts, quoted


class PostgresEngine:
    """Run cleaning and aggregation inside PostgreSQL.

    Parameters
    ----------
    dsn : str, optional
        ``postgresql://user@host:port/database``. May instead be given as the source of
        :meth:`read` (what ``compute_rfm("postgresql://...", engine="postgres")`` does).
    table : str or sequence of str, optional
        Table (or view) holding the transactions: ``"orders"``, ``"sales.orders"`` or
        ``("sales", "orders")``. Overridden by the ``table`` argument of :meth:`read`.
    query : str, optional
        A SELECT returning the transactions, instead of a table.
    """

    name = "postgres"

    def __init__(self, dsn: str | None = None, *, table: str | Sequence[str] | None = None,
                 query: str | None = None):
        self.dsn = dsn
        self.table = table
        self.query_text = query
        self._conn = None
        self._conn_dsn: str | None = None
        self._counter = itertools.count()
        self._reader = None  # a DuckDB engine reading local files to upload

    # --- connection ----------------------------------------------------------------------------
    def _connect(self, dsn: str | None):
        from rfmkit.engines.postgres_tables import connect

        dsn = dsn or self.dsn
        if dsn is None:
            raise ParameterError(
                "The postgres engine needs a database: pass a postgresql:// URL as the input "
                "(with --table or --query), or PostgresEngine(dsn)."
            )
        if self._conn is None or self._conn_dsn != dsn or self._conn.closed:
            self.close()
            self._conn = connect(dsn, autocommit=True)
            self._conn_dsn = dsn
        return self._conn

    @property
    def connection(self):
        """The open psycopg connection (connecting to ``dsn`` first if needed)."""
        return self._connect(None) if self._conn is None else self._conn

    def _fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description is not None else []

    def _frame(self, sql: str) -> pd.DataFrame:
        with self.connection.cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    # --- reading -------------------------------------------------------------------------------
    def read(self, source: Any = None, *, table: str | Sequence[str] | None = None,
             delimiter: str | None = None) -> Relation:
        from rfmkit.engines.postgres_tables import redact

        if source is None or (isinstance(source, str) and source.startswith(
                ("postgresql://", "postgres://"))):
            conn = self._connect(source)
            where = redact(self._conn_dsn)
            table = table if table is not None else self.table
            if (table is None) == (self.query_text is None):
                raise ParameterError(
                    f"Name the transactions in {where}: give a table (--table) or a query "
                    "(--query), not both." if table is not None else
                    f"Name the transactions in {where}: give a table (--table NAME) or a "
                    "query (--query 'SELECT ...')."
                )
            if table is not None:
                handle, shown = self._resolve_table(conn, table)
                label = f"table {shown} in {where}"
            else:
                handle = self._query_view(conn, self.query_text)
                label = f"query in {where}"
        else:
            handle, label = self._upload(source, table=table, delimiter=delimiter)
        return self._describe(handle, label)

    def _resolve_table(self, conn, table: str | Sequence[str]) -> tuple[str, str]:
        from psycopg import sql

        parts, quoted = table_parts(table)
        candidates = [parts]
        lowered = [p if q else p.lower() for p, q in zip(parts, quoted, strict=True)]
        if lowered != parts:
            candidates.append(lowered)
        for cand in candidates:
            ident = sql.Identifier(*cand).as_string(conn)
            if self._fetch("SELECT to_regclass(%s)", [ident])[0][0] is not None:
                return ".".join(quote(p) for p in cand), ident
        known = [f"{s}.{t}" for s, t in self._fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_schema NOT LIKE 'pg_temp%' ORDER BY 1, 2 LIMIT 31")]
        shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
        raise InputError(
            f"Table {sql.Identifier(*parts).as_string(conn)} does not exist (or is not visible "
            f"to this user). Tables: {shown or 'none'}."
        )

    def _query_view(self, conn, query: str) -> str:
        import psycopg
        from psycopg import sql

        view = f"rfm_source_{next(self._counter)}"
        body = query.strip().rstrip(";").strip()
        try:
            conn.execute(sql.SQL("CREATE TEMPORARY VIEW {} AS ").format(sql.Identifier(view))
                         + sql.SQL(body))
        except psycopg.Error as exc:
            raise InputError(f"The query failed in PostgreSQL: {_first_line(exc)}.") from None
        return quote(view)

    def _upload(self, source: Any, *, table: str | None, delimiter: str | None
                ) -> tuple[str, str]:
        """Read a local file or DataFrame with DuckDB and COPY it into a temporary table."""
        from psycopg import sql

        from rfmkit.engines.postgres_tables import copy_arrow, create_table_sql
        from rfmkit.engines.duckdb import DuckDBEngine

        if self._reader is None:
            self._reader = DuckDBEngine(threads=1)
        rel = self._reader.read(source, table=table, delimiter=delimiter)
        result = self._reader.con.sql(f"SELECT * FROM {rel.handle}")
        arrow = (getattr(result, "to_arrow_table", None) or result.arrow)()
        _forget(self._reader.con, rel.handle)
        name = f"rfm_upload_{next(self._counter)}"
        target = sql.Identifier(name)
        conn = self.connection
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(create_table_sql(target, arrow, temporary=True))
            copy_arrow(cur, target, arrow)
            cur.execute(sql.SQL("ANALYZE {}").format(target))
        label = str(source) if isinstance(source, (str, os.PathLike)) else rel.label
        return quote(name), label

    def _describe(self, handle: str, label: str) -> Relation:
        import psycopg

        try:
            with self.connection.cursor() as cur:
                cur.execute(postgres_sql(f"SELECT * FROM {handle} LIMIT 0", pretty=False))
                described = [(d.name, d.type_code) for d in cur.description]
        except psycopg.Error as exc:
            raise InputError(f"Could not read {label}: {_first_line(exc)}.") from None
        oids = sorted({oid for _, oid in described})
        names = dict(self._fetch(
            "SELECT t.oid, COALESCE(b.typname, t.typname) FROM pg_type AS t "
            "LEFT JOIN pg_type AS b ON b.oid = t.typbasetype AND t.typtype = 'd' "
            "WHERE t.oid = ANY(%s)", [oids]))
        columns = [name for name, _ in described]
        kinds = {name: postgres_kind(names.get(oid, "")) for name, oid in described}
        return Relation(label=label, columns=columns, kinds=kinds, handle=handle)

    # --- metrics -------------------------------------------------------------------------------
    def customer_metrics(self, rel: Relation, columns: ResolvedColumns,
                         options: MetricOptions, rules: CleaningRules
                         ) -> tuple[pd.DataFrame, QualityReport]:
        conn = self.connection
        # One snapshot for every query; flagged rows read twice (per-day consolidation) are
        # kept in a temporary table that the transaction's end drops.
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return run_customer_metrics(
                rel, columns, options, rules,
                fetch=lambda sql: self._fetch(postgres_sql(sql)),
                fetch_frame=lambda sql: self._frame(postgres_sql(sql)),
                store=self._store,
            )

    def _store(self, sql: str) -> tuple[str, Callable[[], None]]:
        from psycopg import sql as pgsql

        name = f"rfm_flagged_{next(self._counter)}"
        self.connection.execute(
            pgsql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS ").format(
                pgsql.Identifier(name)) + pgsql.SQL(postgres_sql(sql)))
        self.connection.execute(pgsql.SQL("ANALYZE {}").format(pgsql.Identifier(name)))
        return quote(name), lambda: None

    def customer_table(self, rel: Relation, columns: ResolvedColumns) -> pd.DataFrame:
        return run_customer_table(
            rel, columns, fetch=lambda sql: self._fetch(postgres_sql(sql)),
            fetch_frame=lambda sql: self._frame(postgres_sql(sql)))

    def query(self, sql: str) -> pd.DataFrame:
        """Run PostgreSQL SQL; return the (small) result."""
        return self._frame(sql)

    def run_sql_into(self, sql: str, table: Sequence[str], *, rel: Relation | None = None
                     ) -> tuple[str, int]:
        """Replace ``table`` (``[schema,] name``, used exactly as given) with the result of
        PostgreSQL ``sql``, in one transaction on this engine's connection (so ``sql`` may read
        the temporary views and tables :meth:`read` made); no row leaves the database.

        The new table is created under a temporary name and renamed into place, so other
        sessions see the old table or the new one, never a partial one (see
        :mod:`rfmkit.engines.postgres_tables`). An empty result is refused and leaves the old table.
        ``rel`` is not needed here (there is one database). Returns the qualified name written
        and the number of rows.
        """
        from rfmkit.engines.postgres_tables import redact, replace_with_query

        schema, name = (None, table[0]) if len(table) == 1 else table
        return replace_with_query(self.connection, sql, name, schema=schema,
                                  where=redact(self._conn_dsn or self.dsn or ""))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _forget(con, handle: str) -> None:
    """Drop a DuckDB view or registered DataFrame once uploaded (frees the DataFrame)."""
    name = handle[1:-1].replace('""', '"') if handle.startswith('"') else handle
    try:
        con.unregister(name)
    except Exception:  # not a registered object: a view over a file
        pass
    con.execute(f"DROP VIEW IF EXISTS {handle}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".")
