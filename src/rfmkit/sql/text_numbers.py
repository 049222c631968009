"""Text amounts as numbers: decimal marks, thousands separators and currency signs, in SQL.

A text amount is read as DuckDB's ``TRY_CAST(... AS DOUBLE)`` reads it, unless the options give
a number format (``decimal=``, ``thousands=``, as pandas' ``read_csv``): then a value must have
that exact shape (groups of three digits between separators), or it is unparseable and counted.
Either way a currency sign or code before or after the number (``$1,234.50``, ``12,50 €``,
``12.50 USD``, ``-$5``) and spaces around it are ignored; the rows that carried one are counted.

Every pattern here uses only what DuckDB (RE2), PostgreSQL and Spark (Java) regular expressions
share, and the SQL only REPLACE, REGEXP_REPLACE, REGEXP_MATCHES and TRY_CAST, which
:mod:`rfmkit.sql.dialects` translates: the same values parse the same way on every engine. The
same patterns, in Python, tell which number format would read values that don't parse.
"""

from __future__ import annotations

import re

from rfmkit.metric_options import DECIMAL_MARKS, THOUSANDS_SEPARATORS, MetricOptions

# Spaces around a number and its currency: a no-break space is what spreadsheets write.
SPACES = (" ", "\u00a0", "\u202f")
_SP = "[ \u00a0\u202f]"
# Symbols, the dollars that carry a country prefix, and the most traded ISO 4217 codes (in
# capitals: a lowercase word next to a number is more likely a typo than a currency).
CURRENCY_SYMBOLS = "$€£¥₹₩₽₺₪₱฿₫₴₦"
CURRENCY_CODES = ("USD", "EUR", "GBP", "JPY", "CNY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK",
                  "DKK", "PLN", "CZK", "HUF", "INR", "BRL", "MXN", "ZAR", "RUB", "TRY", "KRW",
                  "SGD", "HKD", "ILS", "THB")
CURRENCY_RE = ("((US|A|C|NZ|HK|S|R)[$]|[" + CURRENCY_SYMBOLS + "]|"
               + "|".join(CURRENCY_CODES) + ")")

# What each sign or code may stand for: a bare "$" is any dollar (or the peso), "US$" only the
# US one. Amounts whose marks share no currency are in different currencies: summing them
# would be a silent wrong answer, so they are an error (see mixed_currencies).
_DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"})
CURRENCY_MEANINGS: dict[str, frozenset[str]] = {
    "$": _DOLLARS, "US$": frozenset({"USD"}), "A$": frozenset({"AUD"}),
    "C$": frozenset({"CAD"}), "NZ$": frozenset({"NZD"}), "HK$": frozenset({"HKD"}),
    "S$": frozenset({"SGD"}), "R$": frozenset({"BRL"}), "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}), "¥": frozenset({"JPY", "CNY"}), "₹": frozenset({"INR"}),
    "₩": frozenset({"KRW"}), "₽": frozenset({"RUB"}), "₺": frozenset({"TRY"}),
    "₪": frozenset({"ILS"}), "₱": frozenset({"PHP"}), "฿": frozenset({"THB"}),
    "₫": frozenset({"VND"}), "₴": frozenset({"UAH"}), "₦": frozenset({"NGN"}),
    **{code: frozenset({code}) for code in CURRENCY_CODES},
}


def _char(mark: str) -> str:
    """One decimal mark or thousands separator as a regular expression."""
    return _SP if mark in SPACES else "[.]" if mark == "." else mark


def _number_re(decimal: str, thousands: str | None) -> str:
    """An unsigned number in this format: groups of three digits between separators."""
    d = _char(decimal)
    whole = "[0-9]+" if thousands is None else (
        f"([0-9]{{1,3}}({_char(thousands)}[0-9]{{3}})+|[0-9]+)")
    return f"({whole}({d}[0-9]*)?|{d}[0-9]+)"


def _with_currency(number: str) -> str:
    """A whole value: a sign, the number, one currency sign or code before or after it."""
    return (f"^{_SP}*[+-]?{_SP}*({CURRENCY_RE}{_SP}*[+-]?{_SP}*{number}|{number}"
            f"({_SP}*{CURRENCY_RE})?){_SP}*$")


def shape_re(decimal: str, thousands: str | None) -> str:
    """The values a number format reads (with or without a currency)."""
    return _with_currency(_number_re(decimal, thousands))


# A number DuckDB's cast reads, with a currency sign or code next to it ("$12.50", "12.50 €")
_CURRENCY_SHAPE_RE = ("^" + _SP + "*[+-]?" + _SP + "*(" + CURRENCY_RE + _SP + "*[+-]?" + _SP
                      + "*([0-9]+[.]?[0-9]*|[.][0-9]+)|([0-9]+[.]?[0-9]*|[.][0-9]+)" + _SP + "*"
                      + CURRENCY_RE + ")" + _SP + "*$")
# Values whose dot may group thousands (1.234 is 1234 in much of Europe), and values whose dot
# can only be a decimal point (a group of thousands has exactly three digits, never a leading 0)
DOT_GROUPED_RE = _with_currency("[1-9][0-9]{0,2}[.][0-9]{3}")
DOT_DECIMAL_RE = _with_currency("[0-9]*[.]([0-9]{0,2}|[0-9]{4,})")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cleaned(value: str, options: MetricOptions) -> str:
    """``value`` (text of a known shape) without its currency and spaces, with the thousands
    separators removed and a decimal point."""
    out = f"REGEXP_REPLACE({value}, {_quoted(CURRENCY_RE)}, '')"  # one currency at most
    for space in SPACES:
        out = f"REPLACE({out}, {_quoted(space)}, '')"
    if options.thousands is not None and options.thousands not in SPACES:
        out = f"REPLACE({out}, {_quoted(options.thousands)}, '')"
    if options.decimal_mark != ".":
        out = f"REPLACE({out}, {_quoted(options.decimal_mark)}, '.')"
    return out


def given_format(options: MetricOptions) -> bool:
    """Whether the options give a number format (else amounts read as DuckDB's cast does)."""
    return options.decimal is not None or options.thousands is not None


def number_sql(value: str, options: MetricOptions) -> str:
    """SQL reading the text ``value`` (an SQL expression) as a DOUBLE, NULL when it is not a
    number in the options' format."""
    if not given_format(options):
        # The cast first, for speed: the currency pattern only runs on values it refuses.
        return (f"COALESCE(TRY_CAST({value} AS DOUBLE), CASE WHEN REGEXP_MATCHES({value}, "
                f"{_quoted(_CURRENCY_SHAPE_RE)}) THEN TRY_CAST({_cleaned(value, options)} AS "
                "DOUBLE) END)")
    shape = shape_re(options.decimal_mark, options.thousands)
    return (f"CASE WHEN REGEXP_MATCHES({value}, {_quoted(shape)}) "
            f"THEN TRY_CAST({_cleaned(value, options)} AS DOUBLE) END")


def currency_sql(value: str, options: MetricOptions) -> str:
    """SQL condition: the text ``value`` is a number read by ignoring a currency sign or code."""
    if not given_format(options):
        return (f"TRY_CAST({value} AS DOUBLE) IS NULL AND REGEXP_MATCHES({value}, "
                f"{_quoted(_CURRENCY_SHAPE_RE)})")
    return (f"REGEXP_MATCHES({value}, {_quoted(shape_re(options.decimal_mark, options.thousands))})"
            f" AND REGEXP_MATCHES({value}, {_quoted(CURRENCY_RE)})")


def currency_marks_sql(value: str) -> list[str]:
    """Two aggregates per currency mark over text ``value``: how many values carry that mark,
    and one of them. A value holds one mark at most (the currency shape), so a mark inside a
    longer one ("$" in "US$", "S$" in "US$") counts only the values without the longer one."""
    columns = []
    for mark in CURRENCY_MEANINGS:
        longer = [m for m in CURRENCY_MEANINGS if m != mark and mark in m]
        cond = " AND ".join([f"STRPOS({value}, {_quoted(mark)}) > 0"]
                            + [f"STRPOS({value}, {_quoted(m)}) = 0" for m in longer])
        columns += [f"COUNT(CASE WHEN {cond} THEN 1 END)",
                    f"MIN(CASE WHEN {cond} THEN {value} END)"]
    return columns


def mixed_currencies(marks: list[str]) -> bool:
    """Whether amounts written with ``marks`` can't all be one currency."""
    meanings = [CURRENCY_MEANINGS[m] for m in marks]
    return bool(meanings) and not frozenset.intersection(*meanings)


# --- which format would read them -------------------------------------------------------------
def _readings() -> list[tuple[str, str | None]]:
    spaces_once = [t for t in THOUSANDS_SEPARATORS if t not in SPACES[1:]]  # one for all spaces
    return [(d, t) for d in DECIMAL_MARKS for t in (None, *spaces_once) if t != d]


def formats_reading(values: list[str]) -> list[tuple[str, str | None]]:
    """The number formats (decimal, thousands) that read the most of ``values``: for each
    decimal mark, the one with the fewest separators; none when no format reads any. The
    plain reading (".", None) is left out: it is the one that failed."""
    scores: dict[tuple[str, str | None], int] = {}
    for decimal, thousands in _readings():
        if (decimal, thousands) != (".", None):
            shape = re.compile(shape_re(decimal, thousands))
            scores[decimal, thousands] = sum(bool(shape.match(v)) for v in values)
    best = max(scores.values())
    if best == 0:
        return []
    found = []
    for mark in DECIMAL_MARKS:
        readers = [f for f, n in scores.items() if n == best and f[0] == mark]
        found += readers[:1]  # thousands=None comes first: no separator if none is needed
    return found


def format_advice(values: list[str]) -> str:
    """A sentence naming the decimal= / thousands= that would read ``values`` ('' if none)."""
    formats = formats_reading(values)
    options = [f"thousands={t!r}" if d == "." else
               f"decimal={d!r}" + ("" if t is None else f" and thousands={t!r}")
               for d, t in formats]
    if not options:
        return ""
    if len(options) == 1:
        return f"They read as numbers with {options[0]}."
    return (f"They read as numbers with {' or with '.join(options)}: which one depends on "
            "what the separators mean, so look at a few values.")
