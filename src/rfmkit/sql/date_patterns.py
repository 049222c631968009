"""Regular expressions that accept exactly the numbers and dates DuckDB's lenient parses accept.

PostgreSQL has no TRY_CAST and Spark's differs, so the translated SQL guards every parse with one
of these patterns: a value that doesn't match is NULL (counted as unparseable), never an error.
``compile_strptime`` turns a strftime-style ``date_format`` into such a pattern.
"""

from __future__ import annotations

from rfmkit.errors import ParameterError

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
