"""Shared fixtures: the hand-written tiny transactions table, the synthetic table, real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


# 16 UCI-shaped line items. Each row is there for one reason (the comment after it).
# The expected customer tables in tests/test_metrics.py are computed by hand from these rows.
TINY_ROWS = [
    # InvoiceNo, CustomerID, InvoiceDate, StockCode, Quantity, UnitPrice   # amount, why
    ("1001", "A", "2024-01-10 09:00", "X1", 2, 5.00),      # r1  10  order 1001, line 1
    ("1001", "A", "2024-01-10 09:00", "X2", 1, 3.00),      # r2   3  order 1001, line 2
    ("1002", "A", "2024-01-10 15:30", "X1", 1, 7.00),      # r3   7  second order that day
    ("1003", "A", "2024-01-20 11:00", "X3", 4, 2.50),      # r4  10
    ("1003", "A", "2024-01-20 11:00", "X3", 4, 2.50),      # r5  10  exact duplicate of r4
    ("1004", "B", "2024-01-05 10:00", "X1", 3, 4.00),      # r6  12
    ("C1005", "B", "2024-01-06 10:00", "X1", -1, 4.00),    # r7  -4  cancellation invoice
    ("1006", "B", "2024-01-25 19:00", "X2", -2, 4.00),     # r8  -8  return, after r9 that day
    ("1007", "B", "2024-01-25 18:00", "X4", 1, 20.00),     # r9  20
    ("1008", "D", "2024-01-15 08:00", "X5", 1, 9.00),      # r10  9
    ("1009", "D", "2024-01-15 17:00", "X5", -1, 9.00),     # r11 -9  D returns it the same day
    ("1010", "E", "2024-01-12 10:00", "X1", -1, 5.00),     # r12 -5  E only ever returns
    ("1011", None, "2024-01-12 10:00", "X1", 1, 100.00),   # r13 100 no customer id
    ("1012", "A", "2024-02-01 10:00", "X6", 1, 50.00),     # r14 50  latest purchase
    ("1013", "F", "2024-01-31 23:30", "X1", 2, 1.50),      # r15  3  late on the day before
    ("1014", "G", "2024-01-08 12:00", "X2", 1, 0.00),      # r16  0  free item
]
TINY_COLUMNS = ["InvoiceNo", "CustomerID", "InvoiceDate", "StockCode", "Quantity", "UnitPrice"]


def _tiny() -> pd.DataFrame:
    df = pd.DataFrame(TINY_ROWS, columns=TINY_COLUMNS)
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"]).astype("datetime64[us]")
    df["Quantity"] = df["Quantity"].astype("int64")
    df["UnitPrice"] = df["UnitPrice"].astype("float64")
    return df


@pytest.fixture
def tiny_transactions() -> pd.DataFrame:
    """The 16 hand-written line items above, with typed columns (dates as timestamps)."""
    return _tiny()


@pytest.fixture(scope="session")
def tiny_transactions_shared() -> pd.DataFrame:
    """The same table, built once for module- and session-scoped fixtures; do not modify."""
    return _tiny()


def make_synthetic(n_rows: int = 5000, *, seed: int = 0, ids: str = "str") -> pd.DataFrame:
    """A seeded messy transactions table (UCI line-item shape).

    ``ids="str"``: text customer ids, some blank or padded, a few missing; typed dates with
    times of day (a few missing); order ids as text with cancellations ("C...") and a few
    missing. ``ids="int"``: the orders shape a CSV export gives: float customer ids with NaN
    (12346.0), integer order ids, text dates (some unparseable) and text amounts (some
    unparseable, some non-finite).
    Both carry exact duplicate rows, near-duplicates that differ in one column only, and
    customers whose returns cancel their purchases (some never buy, some return a whole day).
    """
    rng = np.random.default_rng(seed)
    n_customers = max(n_rows // 25, 5)
    n_orders = n_rows // 3
    order_customer = rng.integers(0, n_customers, n_orders)
    start = np.datetime64("2022-01-01T00:00:00")
    order_time = start + (rng.integers(0, 400 * 24 * 60, n_orders) * np.timedelta64(1, "m"))
    line_order = rng.integers(0, n_orders, n_rows)
    qty = rng.integers(1, 6, n_rows)
    price = np.round(rng.choice([0.42, 1.25, 2.55, 3.39, 4.95, 7.5, 12.75, 0.0], n_rows,
                                p=[.2, .2, .2, .1, .1, .1, .08, .02]), 2)
    returns = rng.random(n_rows) < 0.06
    qty = np.where(returns, -qty, qty)
    cancelled = rng.random(n_orders) < 0.04
    order_text = np.array([("C" if c else "") + str(500000 + i) for i, c in enumerate(cancelled)],
                          dtype=object)
    df = pd.DataFrame({
        "InvoiceNo": order_text[line_order],
        "StockCode": rng.choice(["A1", "B2", "C3", "D4"], n_rows),
        "Quantity": qty.astype("int64"),
        "InvoiceDate": order_time[line_order].astype("datetime64[us]"),
        "UnitPrice": price,
        "CustomerID": (12000 + order_customer[line_order]).astype("int64"),
    })
    # a cancellation carries negative quantities
    is_c = df["InvoiceNo"].str.startswith("C")
    df.loc[is_c, "Quantity"] = -df.loc[is_c, "Quantity"].abs()
    # customers whose returns cancel their purchases: 13000-13004 only ever return; 13005-13009
    # return everything on the day they bought it; 13010-13014 do that and buy on another day
    extra = []
    for k in range(15):
        day = start + np.timedelta64(int(rng.integers(0, 390)), "D")
        cid, inv = 13000 + k, str(590000 + 10 * k)
        if k < 5:
            extra += [(inv, "R1", -2, day + np.timedelta64(9, "h"), 2.55, cid),
                      (inv + "1", "R1", -1, day + np.timedelta64(30, "h"), 4.95, cid)]
        else:
            extra += [(inv, "R2", 3, day + np.timedelta64(10, "h"), 1.25, cid),
                      (inv + "1", "R2", -3, day + np.timedelta64(15, "h"), 1.25, cid)]
        if k >= 10:
            extra.append((inv + "2", "R3", 1, day + np.timedelta64(3, "D"), 7.5, cid))
    extra_df = pd.DataFrame(extra, columns=df.columns)
    extra_df["InvoiceDate"] = extra_df["InvoiceDate"].astype("datetime64[us]")
    df = pd.concat([df, extra_df], ignore_index=True)
    # exact duplicates and near-duplicates (differ in StockCode only)
    dup_rows = rng.choice(n_rows, n_rows // 40, replace=False)
    near = df.iloc[rng.choice(n_rows, n_rows // 80, replace=False)].copy()
    near["StockCode"] = "Z9"
    df = pd.concat([df, df.iloc[dup_rows], near], ignore_index=True)
    m = len(df)
    missing_customer = rng.random(m) < 0.05

    if ids == "str":
        cust = df["CustomerID"].astype(str).astype(object)
        padded = rng.random(m) < 0.03
        cust[padded] = "  " + cust[padded] + " "
        cust[missing_customer] = None
        blank = (~missing_customer) & (rng.random(m) < 0.01)
        cust[blank] = "  "
        df["CustomerID"] = cust
        inv = df["InvoiceNo"].astype(object)
        inv[rng.random(m) < 0.01] = None
        df["InvoiceNo"] = inv
        dates = df["InvoiceDate"].copy()
        dates[rng.random(m) < 0.01] = pd.NaT
        df["InvoiceDate"] = dates
        out = df
    else:
        cust = df["CustomerID"].astype("float64")
        cust[missing_customer] = np.nan
        order_id = df["InvoiceNo"].str.lstrip("C").astype("int64")
        amount = (df["Quantity"] * df["UnitPrice"]).round(2)
        amount_text = amount.map(lambda a: f"{a:.2f}").astype(object)
        bad_amount = rng.random(m) < 0.01
        amount_text[bad_amount] = rng.choice(["n/a", "1,234.50", "", "inf", "12.3.4"],
                                             int(bad_amount.sum()))
        date_text = df["InvoiceDate"].dt.strftime("%Y-%m-%d %H:%M:%S").astype(object)
        date_only = rng.random(m) < 0.1
        date_text[date_only] = df.loc[date_only, "InvoiceDate"].dt.strftime("%Y-%m-%d")
        bad_date = rng.random(m) < 0.01
        date_text[bad_date] = rng.choice(["not a date", "2022-02-30", "31/12/2022", ""],
                                         int(bad_date.sum()))
        out = pd.DataFrame({
            "OrderId": order_id,
            "CustomerId": cust,
            "OrderDate": date_text,
            "OrderAmount": amount_text,
            "Channel": df["StockCode"],
        })
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="session")
def synthetic_lines() -> pd.DataFrame:
    """~5k messy UCI-shaped line items with text ids (see :func:`make_synthetic`)."""
    return make_synthetic(5000, seed=1, ids="str")


@pytest.fixture(scope="session")
def synthetic_orders() -> pd.DataFrame:
    """~5k messy orders with numeric ids and text dates/amounts (see :func:`make_synthetic`)."""
    return make_synthetic(5000, seed=2, ids="int")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data sets, ``<repo>/../shared/data``.

    Skips the test with a clear reason when it is absent: the files are not part of the
    repository (METHODS.md section 6), so a fresh clone has none of them.
    """
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data sets not available: {SHARED_DATA} does not exist (they are not part of "
            "the repository; see METHODS.md section 6)"
        )
    return SHARED_DATA



# The report tests' fitted models and summaries (tests/report_support.py caches the models; a
# module gets its own copy of the summary dict, which some tests edit).
@pytest.fixture(scope="module")
def demo_tx():
    import report_support
    return report_support.demo_tx()


@pytest.fixture(scope="module")
def demo_model():
    import report_support
    return report_support.demo_model()


@pytest.fixture(scope="module")
def demo_summary():
    import report_support
    return report_support.demo_summary()


@pytest.fixture(scope="module")
def demo_report():
    import report_support
    return report_support.demo_report()


@pytest.fixture(scope="module")
def plain_model():
    import report_support
    return report_support.plain_model()


@pytest.fixture(scope="module")
def percentile_model():
    import report_support
    return report_support.percentile_model()
