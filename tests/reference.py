"""An independent pandas implementation of the metric definitions (METHODS.md section 2).

This is the oracle every engine is compared with. It is written from the definitions, one step per
sentence of the spec, with plain pandas operations; it deliberately shares no code with
``rfmkit.sql.metrics_query`` (no SQL, no rfmkit helpers), so a mistake in the engine's SQL cannot be
repeated here by construction.

Definitions used (one line each, in the order they are applied):

* Exact duplicate rows (identical in every input column, missing values equal) are removed first;
  the first occurrence stays.
* Each remaining row is checked against the rules below in order; the first rule it breaks is its
  drop reason: missing customer id, unparseable date, unparseable (or non-finite) amount, date after
  the given as-of date, cancellation (order id starts with the prefix), non-positive amount
  (``returns="drop"``: amount <= 0; ``returns="net"``: amount == 0, negatives are kept to net).
* A customer id is text: surrounding blanks removed, an empty id is missing, an integral float
  (12346.0 from a CSV export) reads as "12346". Order ids are read the same way.
* A *purchase unit* is a row, or with day consolidation the customer's total for a calendar day.
  A unit is a purchase when its amount is > 0; negative amounts only reduce spend.
* Customers without any purchase are dropped (and counted).
* as-of: the given date, else the calendar date of the latest purchase row (amount > 0) left
  after cleaning.
* recency: whole calendar days from the last purchase's date to the as-of date.
* frequency: ``orders``: distinct order ids among purchase rows (a row without an order id, or any
  row when there is no order column, is an order by itself); with day consolidation a purchase day
  is one order. ``days``: distinct purchase days. ``rows``: purchase units.
* revenue: sum of all kept amounts (net of returns under ``returns="net"``).
* monetary: ``sum`` = revenue, ``mean`` = revenue / frequency.
* orders: distinct orders among the customer's purchase rows (counted as for frequency ``orders``
  without consolidation); first/last purchase: earliest/latest time of a purchase row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

REASONS = (
    "duplicate_row",
    "missing_customer",
    "unparseable_date",
    "unparseable_amount",
    "after_as_of",
    "cancellation",
    "non_positive_amount",
)

OUTPUT_COLUMNS = [
    "customer_id", "recency", "frequency", "monetary",
    "first_purchase", "last_purchase", "orders", "revenue",
]


@dataclass
class Reference:
    customers: pd.DataFrame
    dropped: dict[str, int]
    dropped_revenue: dict[str, float]  # every reason but duplicates and unparseable amounts
    rows_read: int
    rows_used: int
    customers_without_purchases: int
    as_of: dt.date | None


def id_text(values: pd.Series) -> pd.Series:
    """Ids as text (None when missing): trimmed, blank = missing, 12346.0 reads "12346"."""
    if pd.api.types.is_float_dtype(values.dtype):
        v = values.to_numpy(dtype="float64")
        ok = np.isfinite(v)
        whole = ok & (v == np.floor(v))
        text = [
            (str(int(x)) if w else repr(float(x))) if o else None
            for x, o, w in zip(v.tolist(), ok.tolist(), whole.tolist(), strict=True)
        ]
        return pd.Series(text, index=values.index, dtype=object)
    if pd.api.types.is_integer_dtype(values.dtype):
        text = [None if _missing(x) else str(x) for x in values.tolist()]
        return pd.Series(text, index=values.index, dtype=object)
    text = [None if _missing(x) else str(x).strip() for x in values.tolist()]
    return pd.Series([t or None for t in text], index=values.index, dtype=object)


def _missing(x: object) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and np.isnan(x))


def _timestamps(values: pd.Series, date_format: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.to_datetime(values).astype("datetime64[us]")
    if len(values) and all(
        isinstance(v, (dt.date, pd.Timestamp)) or v is None for v in values.tolist()
    ):
        return pd.to_datetime(pd.Series(values.tolist(), index=values.index)).astype(
            "datetime64[us]")
    text = pd.Series([None if _missing(v) else str(v).strip() for v in values.tolist()],
                     index=values.index, dtype=object)
    parsed = pd.to_datetime(
        text, format=date_format or "ISO8601", errors="coerce"
    )
    return parsed.astype("datetime64[us]")


def _numbers(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(values.astype(object), errors="coerce").astype("float64")


def reference_rfm(
    df: pd.DataFrame,
    *,
    customer: str,
    date: str,
    amount: str | None = None,
    quantity: str | None = None,
    price: str | None = None,
    order: str | None = None,
    as_of: dt.date | None = None,
    frequency: str = "orders",
    monetary: str = "sum",
    consolidate_days: bool = False,
    returns: str = "drop",
    drop_cancellations: bool = True,
    cancellation_prefix: str = "C",
    drop_duplicates: bool = True,
    date_format: str | None = None,
) -> Reference:
    """Compute the per-customer table and the drop counts for ``df``."""
    rows_read = len(df)
    dropped = dict.fromkeys(REASONS, 0)

    # 1. exact duplicates, over every input column
    if drop_duplicates:
        dupes = df.duplicated(keep="first")
        dropped["duplicate_row"] = int(dupes.sum())
        df = df.loc[~dupes]

    # 2. typed values
    cust = id_text(df[customer])
    ords = id_text(df[order]) if order is not None else pd.Series(None, index=df.index,
                                                                    dtype=object)
    ts = _timestamps(df[date], date_format)
    if amount is not None:
        amt = _numbers(df[amount])
    else:
        amt = _numbers(df[quantity]) * _numbers(df[price])
    amt = amt.where(np.isfinite(amt))

    # 3. the first rule each row breaks
    day = ts.dt.normalize()
    rules: list[tuple[str, pd.Series]] = [
        ("missing_customer", cust.isna()),
        ("unparseable_date", ts.isna()),
        ("unparseable_amount", amt.isna()),
    ]
    if as_of is not None:
        rules.append(("after_as_of", day > pd.Timestamp(as_of)))
    if drop_cancellations and order is not None:
        rules.append(("cancellation", ords.map(
            lambda o: o is not None and o.startswith(cancellation_prefix)).astype(bool)))
    if returns == "drop":
        rules.append(("non_positive_amount", amt <= 0))
    else:
        rules.append(("non_positive_amount", amt == 0))
    remaining = pd.Series(True, index=df.index)
    dropped_revenue = {r: 0.0 for r in REASONS if r not in ("duplicate_row", "unparseable_amount")}
    for reason, broken in rules:
        hit = remaining & broken.fillna(False).astype(bool)
        dropped[reason] += int(hit.sum())
        if reason in dropped_revenue:
            dropped_revenue[reason] = float(amt[hit].sum())
        remaining &= ~hit

    kept = pd.DataFrame({
        "customer_id": cust[remaining],
        "order_id": ords[remaining],
        "ts": ts[remaining],
        "day": day[remaining],
        "amount": amt[remaining],
    })
    kept["row"] = np.arange(len(kept))
    rows_used = len(kept)

    # 4. purchase units: rows, or a customer's total per calendar day
    if consolidate_days:
        units = kept.groupby(["customer_id", "day"], as_index=False).agg(amount=("amount", "sum"))
    else:
        units = kept[["customer_id", "day", "amount"]]
    units = units[units["amount"] > 0]
    # purchase rows: rows with amount > 0 that belong to a purchase unit
    positive = kept[kept["amount"] > 0].copy()
    if consolidate_days:
        purchase_rows = positive.merge(units[["customer_id", "day"]], on=["customer_id", "day"])
    else:
        purchase_rows = positive
    # an order is an order id, or a single row when the row has none
    for frame in (positive, purchase_rows):
        frame["order_key"] = frame["order_id"].where(
            frame["order_id"].notna(), "\0row" + frame["row"].astype(str))

    if as_of is None and len(positive):
        as_of = positive["day"].max().date()

    # 5. per customer (customers with no purchase unit drop out of every groupby below)
    by_unit = units.groupby("customer_id")
    by_row = purchase_rows.groupby("customer_id")
    out = pd.DataFrame({
        "first_purchase": by_row["ts"].min(),
        "last_purchase": by_row["ts"].max(),
        "n_units": by_unit.size(),
        "n_days": by_unit["day"].nunique(),
        "n_orders_in_units": by_row["order_key"].nunique(),
        "orders": positive.groupby("customer_id")["order_key"].nunique(),
        "revenue": kept.groupby("customer_id")["amount"].sum(),
    })
    out = out[out["n_units"].notna()]
    if frequency == "orders":
        freq = out["n_units"] if consolidate_days else out["n_orders_in_units"]
    elif frequency == "days":
        freq = out["n_days"]
    else:
        freq = out["n_units"]
    out["frequency"] = freq.astype("int64")
    out["monetary"] = out["revenue"] if monetary == "sum" else out["revenue"] / out["frequency"]
    last_day = out["last_purchase"].dt.normalize()
    out["recency"] = (pd.Timestamp(as_of) - last_day).dt.days if len(out) else 0
    out = out.rename_axis("customer_id").reset_index()
    out = out[OUTPUT_COLUMNS].astype({
        "customer_id": "str", "recency": "int64", "frequency": "int64", "monetary": "float64",
        "first_purchase": "datetime64[us]", "last_purchase": "datetime64[us]",
        "orders": "int64", "revenue": "float64",
    })
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return Reference(
        customers=out,
        dropped=dropped,
        dropped_revenue=dropped_revenue,
        rows_read=rows_read,
        rows_used=rows_used,
        customers_without_purchases=int(kept["customer_id"].nunique()) - len(out),
        as_of=as_of,
    )


def assert_same_customers(actual: pd.DataFrame, expected: pd.DataFrame, *,
                          rtol: float = 1e-9, atol: float = 1e-9) -> None:
    """Sort both by customer id; integers and timestamps exactly, floats to ``rtol``.

    ``atol`` only matters for values within 1e-9 of zero (a net revenue that is exactly 0.00 in
    decimal arithmetic can come out as 1e-15 from a float sum).
    """
    a = actual.sort_values("customer_id", kind="stable").reset_index(drop=True)
    e = expected.sort_values("customer_id", kind="stable").reset_index(drop=True)
    assert list(a.columns) == OUTPUT_COLUMNS, list(a.columns)
    assert len(a) == len(e), (len(a), len(e))
    assert a["customer_id"].tolist() == e["customer_id"].tolist()
    for col in ("recency", "frequency", "orders"):
        assert a[col].dtype == np.int64, (col, a[col].dtype)
        bad = a[col].to_numpy() != e[col].to_numpy()
        assert not bad.any(), (col, _diff(a, e, col, bad))
    for col in ("first_purchase", "last_purchase"):
        bad = a[col].to_numpy() != e[col].to_numpy()
        assert not bad.any(), (col, _diff(a, e, col, bad))
    for col in ("monetary", "revenue"):
        assert a[col].dtype == np.float64, (col, a[col].dtype)
        bad = ~np.isclose(a[col].to_numpy(), e[col].to_numpy(), rtol=rtol, atol=atol)
        assert not bad.any(), (col, _diff(a, e, col, bad))


def _diff(a: pd.DataFrame, e: pd.DataFrame, col: str, bad: np.ndarray) -> str:
    idx = np.flatnonzero(bad)[:5]
    return "; ".join(
        f"{a['customer_id'].iloc[i]}: got {a[col].iloc[i]!r}, expected {e[col].iloc[i]!r}"
        for i in idx
    ) + f" ({int(bad.sum())} differ)"
