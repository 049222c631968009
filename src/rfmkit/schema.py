"""Canonical output column names and the input column mapping.

Every output column name used anywhere in rfmkit is one of the constants below; no other module
writes these names as string literals.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace

from rfmkit.errors import SchemaError

# --- per-customer table (what engines return) -------------------------------------------------
CUSTOMER_ID = "customer_id"
RECENCY = "recency"
FREQUENCY = "frequency"
MONETARY = "monetary"
FIRST_PURCHASE = "first_purchase"
LAST_PURCHASE = "last_purchase"
ORDERS = "orders"
REVENUE = "revenue"

METRIC_COLUMNS = (RECENCY, FREQUENCY, MONETARY)
CUSTOMER_COLUMNS = (
    CUSTOMER_ID,
    RECENCY,
    FREQUENCY,
    MONETARY,
    FIRST_PURCHASE,
    LAST_PURCHASE,
    ORDERS,
    REVENUE,
)

# --- scoring, segments, clusters ---------------------------------------------------------------
R_SCORE = "r_score"
F_SCORE = "f_score"
M_SCORE = "m_score"
SCORE_COLUMNS = (R_SCORE, F_SCORE, M_SCORE)
RFM_CODE = "rfm_code"
SEGMENT = "segment"
CLUSTER = "cluster"
CLUSTER_NAME = "cluster_name"


class InputShape(str, enum.Enum):
    """The three input shapes of METHODS.md section 1."""

    ORDERS = "orders"
    LINE_ITEMS = "line_items"
    CUSTOMERS = "customers"


# Common spellings, compared after lower-casing and removing everything but letters and digits,
# so "Customer ID", "customer_id" and "CustomerID" all read as "customerid".
_CANDIDATES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customerid", "customer", "custid", "clientid", "client", "userid", "memberid",
        "customerno", "customernumber", "customerkey", "buyerid",
    ),
    "order": (
        "orderid", "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderno",
        "ordernumber", "transactionid", "receiptid", "receiptno", "basketid",
    ),
    "date": (
        "orderdate", "invoicedate", "date", "transactiondate", "purchasedate", "datetime",
        "timestamp", "orderdatetime", "createdat", "saledate",
    ),
    "amount": (
        "orderamount", "amount", "revenue", "sales", "total", "totalamount", "ordervalue",
        "ordertotal", "value", "spend", "monetaryvalue", "salesamount", "netamount",
    ),
    "quantity": ("quantity", "qty", "units", "quantityordered"),
    "price": ("unitprice", "price", "priceeach", "unitcost", "itemprice"),
    "recency": ("recency", "recencydays", "daysincelastorder", "dayssincelastpurchase"),
    "frequency": ("frequency", "numorders", "ordercount", "norders"),
    "monetary": ("monetary", "monetaryvalue", "monetaryamount"),
}

# Metric columns of a customer-level table under other names (compared normalised, as parts of
# the name): a transactions table rarely has a column counting days since something, so a
# recency-like name and one more metric suggest one row per customer, metrics computed.
_CUSTOMER_LEVEL_NAMES = {
    "recency": re.compile(r"recen|dayssince|daysago|sincelast|lastseen|inactive"),
    "frequency": re.compile(r"frequen|orders|purchases|visits|transactions|count"),
    "monetary": re.compile(r"monetar|spent|spend|revenue|total|value|ltv|sales|amount"),
}


def customer_level_advice(available: Sequence[str], taken: Iterable[str | None] = ()) -> str:
    """A sentence naming the customer-level columns when ``available`` looks like one row per
    customer with its metrics ('' otherwise): the advice for a table without a date column."""
    guess: dict[str, str] = {}
    taken = {t for t in taken if t}
    for role, pattern in _CUSTOMER_LEVEL_NAMES.items():
        free = [c for c in available if c not in taken and c not in guess.values()]
        found = _find(role, free) or [
            c for c in free if pattern.search(_normalise(c))]
        if found:
            guess[role] = found[0]
    if "recency" not in guess or len(guess) < 2:
        return ""
    names = ", ".join(f"{role}={guess[role]!r}" if role in guess else f"{role}=NAME"
                      for role in ("recency", "frequency", "monetary"))
    return (f"This looks like customer-level data (one row per customer, its metrics "
            f"computed, as {', '.join(repr(c) for c in guess.values())} suggest): if so, name "
            f"the metric columns with ColumnMapping({names}). For transactions, name the ")


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays which role. ``None`` means: detect it from common names.

    Parameters
    ----------
    customer, order, date, amount, quantity, price : str or None
        Transaction columns. ``amount`` is used when given or found; otherwise the amount is
        ``quantity * price`` (line items).
    recency, frequency, monetary : str or None
        Columns of customer-level input (one row per customer, metrics already computed).
    """

    customer: str | None = None
    order: str | None = None
    date: str | None = None
    amount: str | None = None
    quantity: str | None = None
    price: str | None = None
    recency: str | None = None
    frequency: str | None = None
    monetary: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> ColumnMapping:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise SchemaError(f"Unknown column roles {sorted(unknown)} in column mapping.")
        return cls(**data)


@dataclass(frozen=True)
class ResolvedColumns:
    """A :class:`ColumnMapping` with every role either bound to an existing column or absent."""

    shape: InputShape
    mapping: ColumnMapping

    def __getattr__(self, name: str) -> str | None:
        # Only called for names not found normally. Guard "mapping" and dunders: copy and pickle
        # look them up on an instance whose fields are not set yet, which would recurse forever.
        if name == "mapping" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.mapping, name)


def _find(role: str, available: Sequence[str]) -> list[str]:
    by_norm: dict[str, list[str]] = {}
    for col in available:
        by_norm.setdefault(_normalise(col), []).append(col)
    for candidate in _CANDIDATES[role]:
        if candidate in by_norm:
            return by_norm[candidate]
    return []


def resolve_columns(
    available: Iterable[str],
    given: ColumnMapping | None = None,
    *,
    source: str = "the input",
    shape: InputShape | str | None = None,
) -> ResolvedColumns:
    """Bind each column role to a column of the input, detecting common names case-insensitively.

    Explicitly given names must exist (matched exactly, then case-insensitively). Detection fails
    with a :class:`~rfmkit.errors.SchemaError` that lists the columns found and the flag to set.
    """
    available = list(available)
    given = given or ColumnMapping()
    lower = {}
    for col in available:
        lower.setdefault(col.lower(), []).append(col)

    def explicit(role: str, name: str) -> str:
        if name in available:
            return name
        matches = lower.get(name.lower(), [])
        if len(matches) == 1:
            return matches[0]
        raise SchemaError(
            f"Column {name!r} given for {role} (ColumnMapping({role}=...)) is not in {source}. "
            f"Columns found: {', '.join(repr(c) for c in available)}. "
            f"Pass one of these names as ColumnMapping({role}=NAME)."
        )

    bound: dict[str, str | None] = {}
    for role in _CANDIDATES:
        name = getattr(given, role)
        bound[role] = explicit(role, name) if name is not None else None

    def detect(role: str, *, required: bool, advice: str = "") -> None:
        if bound[role] is not None:
            return
        found = [c for c in _find(role, available) if c not in bound.values()]
        if len(found) > 1:
            raise SchemaError(
                f"Column for {role} is ambiguous in {source}: {', '.join(map(repr, found))} all "
                f"match. Choose one with ColumnMapping({role}=NAME)."
            )
        if found:
            bound[role] = found[0]
        elif required:
            raise SchemaError(
                f"Could not find the {role} column in {source}. "
                f"Columns found: {', '.join(repr(c) for c in available)}. "
                + (f"{advice}{role} column with ColumnMapping({role}=NAME)." if advice else
                   f"Name it with ColumnMapping({role}=NAME).")
            )

    if shape is not None:
        shape = InputShape(shape)
    elif any(bound[r] for r in ("recency", "frequency", "monetary")):
        shape = InputShape.CUSTOMERS
    elif any(bound[r] for r in ("order", "date", "amount", "quantity", "price")):
        shape = None  # transaction input: decided below
    else:
        metric_cols = [bool(_find(r, available)) for r in ("recency", "frequency", "monetary")]
        shape = InputShape.CUSTOMERS if all(metric_cols) else None

    if shape is InputShape.CUSTOMERS:
        detect("customer", required=True)
        for role in ("recency", "frequency", "monetary"):
            detect(role, required=True)
        for role in ("order", "date", "amount", "quantity", "price"):
            bound[role] = None if getattr(given, role) is None else bound[role]
        return ResolvedColumns(InputShape.CUSTOMERS, ColumnMapping(**bound))

    detect("customer", required=True)
    detect("date", required=True, advice=customer_level_advice(available, [bound["customer"]]))
    detect("order", required=False)
    if shape is None:
        if bound["amount"] is None and bound["quantity"] is None and bound["price"] is None:
            detect("amount", required=False)
        if bound["amount"] is None:
            detect("quantity", required=False)
            detect("price", required=False)
        if bound["amount"] is not None:
            shape = InputShape.ORDERS
        elif bound["quantity"] is not None and bound["price"] is not None:
            shape = InputShape.LINE_ITEMS
        else:
            line_items = "ColumnMapping(quantity=..., price=...)"
            missing = line_items if (bound["quantity"] or bound["price"]) else (
                f"ColumnMapping(amount=NAME) (or {line_items} for line items)"
            )
            advice = customer_level_advice(available, bound.values())
            raise SchemaError(
                f"Could not find the amount column in {source}. "
                f"Columns found: {', '.join(repr(c) for c in available)}. "
                + (f"{advice}amount column with {missing}." if advice else
                   f"Name it with {missing}.")
            )
    elif shape is InputShape.ORDERS:
        detect("amount", required=True)
    else:
        detect("quantity", required=True)
        detect("price", required=True)
    if shape is InputShape.ORDERS:
        bound["quantity"] = bound["price"] = None
    else:
        bound["amount"] = None
    for role in ("recency", "frequency", "monetary"):
        bound[role] = None
    return ResolvedColumns(shape, ColumnMapping(**bound))


def with_overrides(mapping: ColumnMapping, **overrides: str | None) -> ColumnMapping:
    """Return ``mapping`` with the given (non-None) roles replaced."""
    return replace(mapping, **{k: v for k, v in overrides.items() if v is not None})
