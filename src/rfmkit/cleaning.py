"""Cleaning rules applied to transactions, and the report of what each rule removed."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Literal

from rfmkit._validation import Options, validate_params

# Order matters: a row is counted once, under the first rule it breaks.
DROP_REASONS: tuple[str, ...] = (
    "duplicate_row",
    "missing_customer",
    "unparseable_date",
    "unparseable_amount",
    "after_as_of",
    "cancellation",
    "non_positive_amount",
)

REASON_TEXT = {
    "duplicate_row": "exact duplicate rows",
    "missing_customer": "rows without a customer id",
    "unparseable_date": "rows without a parseable date",
    "unparseable_amount": "rows without a numeric amount",
    "after_as_of": "rows after the as-of date",
    "cancellation": "cancellation invoices",
    "non_positive_amount": "rows with amount <= 0 (returns policy 'drop') or = 0 ('net')",
}


# Values read after a clean-up, counted like the drops (quality.json's "cleaned"): they are
# kept, but a reader of the counts should know the input needed it.
CLEANED_TEXT = {
    "currency_sign": "text amounts written with a currency sign or code, read without it",
}


# The allowed values of each rule, declared once: RFMModel reuses them for its parameters.
CLEANING_CONSTRAINTS: dict[str, list] = {
    "returns": [Options("drop", "net")],
    "drop_cancellations": [bool],
    "cancellation_prefix": [str],
    "drop_duplicates": [bool],
}


@dataclass(frozen=True)
class CleaningRules:
    """Which rows are removed before metrics are computed.

    Parameters
    ----------
    returns : {"drop", "net"}
        ``drop`` removes every row whose amount is <= 0. ``net`` keeps negative amounts and
        subtracts them from the customer's spend; they never count as purchases.
    drop_cancellations : bool or None
        Remove rows whose order id starts with ``cancellation_prefix`` (UCI's "C" invoices).
        ``None`` (default): remove them under ``returns="drop"``, keep them under ``"net"`` so
        that cancelled amounts are netted against the customer's spend.
    cancellation_prefix : str
        Prefix marking cancellation invoices.
    drop_duplicates : bool
        Remove exact duplicate rows (identical in every column of the input).
    """

    returns: Literal["drop", "net"] = "drop"
    drop_cancellations: bool | None = None
    cancellation_prefix: str = "C"
    drop_duplicates: bool = True

    def __post_init__(self) -> None:
        if self.drop_cancellations is None:
            object.__setattr__(self, "drop_cancellations", self.returns == "drop")
        validate_params(
            "CleaningRules",
            asdict(self),
            CLEANING_CONSTRAINTS,
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class QualityReport:
    """Counts of rows read, removed by each rule (with the amount they carried), and used;
    written to ``quality.json``."""

    source: str
    rows_read: int
    dropped: dict[str, int] = field(default_factory=dict)
    rows_used: int = 0
    # The sum of the amount of the rows each rule removed (a row without a numeric amount
    # carries none; exact duplicates are copies of kept rows, not money lost).
    dropped_revenue: dict[str, float] = field(default_factory=dict)
    customers: int = 0
    customers_without_purchases: int = 0
    as_of: dt.date | None = None
    as_of_policy: str = "latest"
    warnings: list[str] = field(default_factory=list)
    cleaned: dict[str, int] = field(default_factory=dict)  # CLEANED_TEXT's counts
    # How text dates were read: the strptime format (given or detected; None: ISO or typed
    # dates) and the day/month order it settled. A fitted model keeps the order, so that
    # scoring reads dates the same way. Not part of quality.json.
    date_format: str | None = None
    date_order: str | None = None

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def revenue_dropped(self, reason: str) -> float | None:
        """The amount the rows dropped for ``reason`` carried: 0.0 when none was dropped,
        None when it was not measured (duplicates, unparseable amounts, older reports)."""
        if reason in self.dropped_revenue:
            return float(self.dropped_revenue[reason])
        return 0.0 if self.dropped.get(reason, 0) == 0 else None

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_dropped": self.rows_dropped,
            "dropped": {k: self.dropped.get(k, 0) for k in DROP_REASONS},
            "dropped_revenue": {k: self.revenue_dropped(k) for k in DROP_REASONS},
            "rows_used": self.rows_used,
            "cleaned": {k: self.cleaned.get(k, 0) for k in CLEANED_TEXT},
            "customers": self.customers,
            "customers_without_purchases": self.customers_without_purchases,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "as_of_policy": self.as_of_policy,
            "warnings": list(self.warnings),
        }
