"""Library messages in the command line's words: Python parameters become flags.

The library names its parameters (``n_bins=3``, ``ColumnMapping(customer=NAME)``, ``The
'n_bins' parameter of RFMModel``), never flags. Before printing, the command line rewrites those
names into the flags that set them, so a CLI user reads ``--bins 3`` and a Python user
``n_bins=3``.
"""

from __future__ import annotations

import re

# parameter -> flag, for every parameter a command sets from a flag
PARAMETER_FLAGS = {
    "as_of": "--as-of", "frequency": "--frequency", "monetary": "--monetary",
    "consolidate_days": "--consolidate-days", "date_format": "--date-format",
    "date_order": "--dayfirst/--monthfirst", "encoding": "--encoding",
    "decimal": "--decimal", "thousands": "--thousands",
    "returns": "--returns", "drop_duplicates": "--drop-duplicates",
    "drop_cancellations": "--drop-cancellations", "score_method": "--scores",
    "n_bins": "--bins", "caps": "--cap-frequency/--cap-monetary/--cap-quantile",
    "segment_map": "--segment-map", "n_clusters": "--clusters",
    "cluster_features": "--cluster-features", "criterion": "--criterion", "k_min": "--k-min",
    "k_max": "--k-max", "random_state": "--random-state", "previous_model": "--previous-model",
    "preset": "--preset", "engine": "--engine", "master": "--spark-master", "query": "--query",
    "table": "--table", "delimiter": "--delimiter", "fmt": "--format", "target": "--to",
    "into": "--into", "registered_model_name": "--mlflow-register", "alias": "--mlflow-alias",
    "tracking_uri": "--mlflow-tracking-uri", "title": "--title", "projection": "--projection",
    "dialect": "--dialect", "source": "--source", "n_rows": "--rows", "seed": "--seed",
    "out_dir": "--out",
}
PARAMETER_FLAGS["currency"] = "--currency"
PARAMETER_FLAGS.update({"threads": "--threads", "memory_limit": "--memory-limit"})
# rfmkit history (issue 14)
PARAMETER_FLAGS.update({"every": "--every", "start": "--start", "end": "--end",
                        "refit": "--refit", "append": "--append"})
# ColumnMapping role -> flag
COLUMN_FLAGS = {
    "customer": "--customer", "order": "--order", "date": "--date", "amount": "--amount",
    "quantity": "--quantity", "price": "--price", "recency": "--recency",
    "frequency": "--frequency-column", "monetary": "--monetary-column",
}

_NAMES = "|".join(sorted(PARAMETER_FLAGS, key=len, reverse=True))
_KEYWORD = re.compile(rf"(?<![\w.\-'\"])({_NAMES})=('[^']*'|\"[^\"]*\"|[^\s,;)]+(?<!\.))?")
_PARAMETER_OF = re.compile(rf"[Tt]he '({_NAMES})' parameter of \w+")
_COLUMNS = re.compile(r"ColumnMapping\(([^()]*)\)")
_NONE_OR = re.compile(r"(--[\w/-]+) must be None or ")
_CAP_WORDS = (
    ("Write a quantile as 'q' followed by a number in (0, 1], e.g. 'q0.99'",
     "Give --cap-quantile a number in (0, 1], e.g. --cap-quantile 0.99"),
    ("like 'q0.99'", "like --cap-quantile 0.99"),
)
_QUANTILE_CAP = re.compile(r"'q(\d*\.?\d+(?:[eE][-+]?\d+)?)'")


def _columns(match: re.Match[str]) -> str:
    parts = []
    for item in match.group(1).split(","):
        role, _, value = item.strip().partition("=")
        flag = COLUMN_FLAGS.get(role)
        if flag is None:
            return match.group(0)
        parts.append(flag if value in ("", "...") else f"{flag} {value}")
    return " and ".join(parts)


def to_flags(message: str) -> str:
    """``message`` with every library parameter it names replaced by its flag."""
    message = _COLUMNS.sub(_columns, message)
    message = _PARAMETER_OF.sub(lambda m: PARAMETER_FLAGS[m.group(1)], message)

    def keyword(m: re.Match[str]) -> str:
        flag, value = PARAMETER_FLAGS[m.group(1)], m.group(2)
        if m.group(1) == "date_order" and value in ("'dayfirst'", "'monthfirst'"):
            return f"--{value.strip(chr(39))}"  # a flag of its own, not a value
        if value is None:  # a bare "name=": the flag alone
            return flag
        # a quoted word needs no quotes on a command line: n_bins=3 -> --bins 3,
        # engine='spark' -> --engine spark; anything else keeps its quotes
        simple = re.fullmatch(r"'([\w.:/\[\]*-]+)'", value)
        if simple and not re.fullmatch(r"\W", simple.group(1)):
            return f"{flag} {simple.group(1)}"
        return f"{flag} {value}"  # quoted, also a lone mark: --thousands '.' reads as one

    message = _KEYWORD.sub(keyword, message)
    # "None" is Python's "not given"; on a command line a flag is simply left out
    message = _NONE_OR.sub(r"\1 must be ", message)
    # caps: Python's quantile strings ('q0.99') are --cap-quantile 0.99 on a command line
    for python, flag in _CAP_WORDS:
        message = message.replace(python, flag)
    return _QUANTILE_CAP.sub(r"\1", message)
