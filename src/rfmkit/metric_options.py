"""How recency, frequency and monetary are defined (METHODS.md section 2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Literal

from rfmkit._validation import Options, validate_params

# How text amounts may write their numbers (pandas' read_csv decimal= and thousands=). A fixed
# set, not any character: each one is spelled safely in every dialect's regular expressions,
# and a letter or a digit would make amounts ambiguous. Spaces include the no-break spaces
# that French and Swiss exports put between thousands.
DECIMAL_MARKS = (".", ",")
THOUSANDS_SEPARATORS = (",", ".", " ", "'", "\u00a0", "\u202f")

# The allowed values of each option, declared once: RFMModel reuses them for its parameters.
METRIC_CONSTRAINTS: dict[str, list] = {
    "as_of": [None, dt.date],
    "frequency": [Options("orders", "days", "rows")],
    "monetary": [Options("sum", "mean")],
    "consolidate_days": [bool],
    "date_format": [None, str],
    "date_order": [None, Options("dayfirst", "monthfirst")],
    "decimal": [None, Options(*DECIMAL_MARKS)],
    "thousands": [None, Options(*THOUSANDS_SEPARATORS)],
}


@dataclass(frozen=True)
class MetricOptions:
    """Definitions of the three metrics. A fitted model records these.

    Parameters
    ----------
    as_of : datetime.date or None
        Reference date. ``None``: the calendar date of the latest purchase left after cleaning,
        so a customer who bought that day has recency 0. Transactions after a given date are
        removed and counted.
    frequency : {"orders", "days", "rows"}
        Distinct order ids (rows when the input has no order column), distinct purchase days, or
        purchase rows.
    monetary : {"sum", "mean"}
        Total spend, or spend per purchase (total / frequency).
    consolidate_days : bool
        Sum each customer's amounts per calendar day first (Method Q): a day is one purchase.
    date_format : str or None
        strptime-style format for text dates (e.g. ``"%d/%m/%Y %H:%M"``); ``None`` parses ISO
        dates and detects the format of other text dates (see ``date_order``).
    date_order : {"dayfirst", "monthfirst"} or None
        How to read text dates such as ``01/02/2023`` when no ``date_format`` is given.
        ``None``: the values decide (a day above 12 in one position); when every value reads
        both ways, an error asks for this option or ``date_format``.
    decimal : {".", ","} or None
        Decimal mark of text amounts, quantities and prices (as pandas' ``read_csv``).
        ``None``: ``"."`` (``","`` when ``thousands="."``), and values that look written
        otherwise (``"12,50"``, ``"1.234"`` with no other decimals) are an error naming this
        option.
    thousands : {",", ".", " ", "'", no-break space} or None
        Thousands separator of text amounts (``"1,234.50"``); ``None``: none. Currency signs
        and codes (``$ € £ ¥``, ``USD``, ...) before or after a text amount are always
        ignored, and counted.
    """

    as_of: dt.date | None = None
    frequency: Literal["orders", "days", "rows"] = "orders"
    monetary: Literal["sum", "mean"] = "sum"
    consolidate_days: bool = False
    date_format: str | None = None
    date_order: Literal["dayfirst", "monthfirst"] | None = None
    decimal: str | None = None
    thousands: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.as_of, dt.datetime):
            object.__setattr__(self, "as_of", self.as_of.date())
        elif isinstance(self.as_of, str):
            object.__setattr__(self, "as_of", _parse_date(self.as_of))
        validate_params(
            "MetricOptions",
            asdict(self),
            METRIC_CONSTRAINTS,
        )
        if self.date_format is not None and "%" not in self.date_format:
            from rfmkit.errors import ParameterError

            raise ParameterError(
                f"date_format={self.date_format!r} has no strptime directive (%d, %m, %Y, ...). "
                "Write it like date_format='%d/%m/%Y %H:%M'."
            )
        if self.decimal is not None and self.decimal == self.thousands:
            from rfmkit.errors import ParameterError

            other = "," if self.decimal == "." else "."
            raise ParameterError(
                f"decimal={self.decimal!r} and thousands={self.thousands!r} must differ: a "
                f"number has one decimal mark, e.g. decimal={other!r}, thousands="
                f"{self.decimal!r}.")

    @property
    def decimal_mark(self) -> str:
        """The decimal mark text amounts are read with."""
        if self.decimal is not None:
            return self.decimal
        return "," if self.thousands == "." else "."

    def reading_numbers(self, decimal: str | None, thousands: str | None) -> MetricOptions:
        """These options with the number format of one input (``None``: as they are)."""
        if decimal is None and thousands is None:
            return self
        return MetricOptions(**{**self.to_dict(),
                                "decimal": self.decimal if decimal is None else decimal,
                                "thousands": self.thousands if thousands is None else thousands})

    def to_dict(self) -> dict:
        data = asdict(self)
        data["as_of"] = None if self.as_of is None else self.as_of.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> MetricOptions:
        return cls(**data)


def _parse_date(text: str) -> dt.date:
    from rfmkit.errors import ParameterError

    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ParameterError(
            f"as_of={text!r} is not a date. Write it as YYYY-MM-DD, e.g. as_of='2011-12-09'."
        ) from None
