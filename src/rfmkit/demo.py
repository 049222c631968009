"""Realistic synthetic transactions for the demo, tests and benchmarks.

Line items shaped like UCI Online Retail: heavy-tailed purchase rates and spend, customers who
arrive and churn over two years, returns booked as "C" invoices, guest checkouts without a customer
id, and a few exact duplicate rows. Everything is drawn from one seeded generator, so the same
arguments always give the same table.
"""

from __future__ import annotations

import datetime as dt
import numbers
from pathlib import Path

import numpy as np
import pyarrow as pa

from rfmkit._validation import Interval, validate_params
from rfmkit.atomic_files import write_file

DEMO_END = dt.datetime(2025, 12, 31, 18, 0)
DEMO_DAYS = 730
ROWS_PER_CUSTOMER = 12  # roughly what the draws below produce; sizes the population

INVOICE, STOCK_CODE, CUSTOMER, DATE, QUANTITY, PRICE, COUNTRY = (
    "invoice", "stock_code", "customer_id", "invoice_date", "quantity", "unit_price", "country")
N_PRODUCTS = 3947  # a prime: the lines of one order always get distinct stock codes

_COUNTRIES = np.array(["United Kingdom", "Germany", "France", "Netherlands", "Spain", "Ireland"])
_COUNTRY_P = np.array([0.8, 0.06, 0.05, 0.04, 0.03, 0.02])


def generate_transactions(
    n_rows: int = 100_000,
    *,
    seed: int = 0,
    return_rate: float = 0.03,
    guest_rate: float = 0.02,
    duplicate_rate: float = 0.005,
) -> pa.Table:
    """Generate ``n_rows`` line items (exactly) as an Arrow table.

    Parameters
    ----------
    n_rows : int
        Number of rows to produce.
    seed : int
        Seed of the random generator.
    return_rate, guest_rate, duplicate_rate : float
        Share of lines returned later, of orders without a customer id, of rows duplicated.

    Returns
    -------
    pyarrow.Table
        Columns invoice, stock_code, customer_id, invoice_date, quantity, unit_price, country
        (UCI Online Retail's shape). Returns are "C" invoices with negative quantities; guest
        orders have no customer id; ``duplicate_rate`` of the rows are exact copies of other
        rows (and no other row is an exact duplicate).
    """
    # numbers.Integral/Real: 0 is a valid rate, numpy integers valid sizes and seeds.
    validate_params("generate_transactions", locals(), {
        "n_rows": [Interval(numbers.Integral, 1, None)],
        "seed": [Interval(numbers.Integral, 0, None)],
        "return_rate": [Interval(numbers.Real, 0, 0.5)],
        "guest_rate": [Interval(numbers.Real, 0, 0.5)],
        "duplicate_rate": [Interval(numbers.Real, 0, 0.5)],
    })
    n_rows, seed = int(n_rows), int(seed)
    rng = np.random.default_rng(seed)
    n_customers = max(20, n_rows // ROWS_PER_CUSTOMER)
    while True:
        drawn = _draw(rng, n_customers, return_rate)
        if drawn[0].size >= n_rows:
            break
        n_customers = int(n_customers * 1.2 * n_rows / max(drawn[0].size, 1)) + 1
    return _finish(rng, n_rows, drawn, guest_rate, duplicate_rate)


def _draw(rng: np.random.Generator, n_customers: int, return_rate: float) -> tuple:
    horizon = DEMO_DAYS * 86400.0

    # Customers: arrival time, lifetime (churn), purchase rate and typical basket value.
    arrival = rng.uniform(-0.15, 1.0, n_customers).clip(0, None) * horizon
    lifetime = rng.exponential(1.2 * 365 * 86400.0, n_customers)
    active_until = np.minimum(arrival + lifetime, horizon)
    rate_per_year = rng.gamma(shape=0.6, scale=7.0, size=n_customers)  # heavy tail of regulars
    active_years = (active_until - arrival) / (365 * 86400.0)
    n_orders = 1 + rng.poisson(rate_per_year * active_years)
    basket = rng.lognormal(mean=2.6, sigma=0.9, size=n_customers)
    country = rng.choice(_COUNTRIES, size=n_customers, p=_COUNTRY_P)

    # Orders: first one at arrival, the rest spread over the active period.
    order_customer = np.repeat(np.arange(n_customers), n_orders)
    first = np.r_[0, np.cumsum(n_orders)[:-1]]
    is_first = np.zeros(order_customer.size, dtype=bool)
    is_first[first] = True
    span = (active_until - arrival)[order_customer]
    order_time = arrival[order_customer] + np.where(is_first, 0.0,
                                                    rng.uniform(0, 1, span.size) * span)
    n_orders_total = order_customer.size
    lines_per_order = 1 + rng.poisson(2.0, n_orders_total)

    # Lines: quantity x unit price around the customer's basket value.
    line_order = np.repeat(np.arange(n_orders_total), lines_per_order)
    line_customer = order_customer[line_order]
    quantity = 1 + rng.poisson(2.5, line_order.size)
    unit_price = np.round(
        basket[line_customer] * rng.lognormal(-1.2, 0.6, line_order.size) + 0.05, 2)
    line_time = order_time[line_order]

    # Returns: a later "C" invoice with the negated quantity.
    returned = rng.random(line_order.size) < return_rate
    r_idx = np.flatnonzero(returned)
    r_time = np.minimum(line_time[r_idx] + rng.uniform(1, 30, r_idx.size) * 86400.0, horizon)

    invoice_no = 100000 + line_order
    # Product of each line, derived without drawing (the other columns stay as they were): the
    # k-th line of an order gets (order * 7919 + k * 104729) mod N_PRODUCTS, distinct within an
    # order, so two lines of one order are never exact duplicates by accident.
    line_pos = np.arange(line_order.size) - np.repeat(np.cumsum(lines_per_order) - lines_per_order,
                                                      lines_per_order)
    product = (line_order * 7919 + line_pos * 104729) % N_PRODUCTS
    invoices = np.r_[invoice_no, invoice_no[r_idx]]
    products = np.r_[product, product[r_idx]]
    is_return = np.r_[np.zeros(line_order.size, bool), np.ones(r_idx.size, bool)]
    customers = np.r_[line_customer, line_customer[r_idx]]
    times = np.r_[line_time, r_time]
    qty = np.r_[quantity, -quantity[r_idx]]
    price = np.r_[unit_price, unit_price[r_idx]]

    return invoices, products, is_return, customers, times, qty, price, country, n_orders_total


def _finish(rng: np.random.Generator, n_rows: int, drawn: tuple, guest_rate: float,
            duplicate_rate: float) -> pa.Table:
    invoices, products, is_return, customers, times, qty, price, country, n_orders_total = drawn
    # Trim to exactly n_rows (dropping random rows keeps the mix), then duplicate a few rows.
    keep = np.sort(rng.choice(invoices.size, n_rows, replace=False))
    n_dupes = int(round(duplicate_rate * n_rows))
    if n_dupes:
        # copies of rows that are not themselves overwritten: exactly n_dupes duplicate rows
        replaced = np.zeros(n_rows, dtype=bool)
        replaced[rng.choice(n_rows, n_dupes, replace=False)] = True
        sources = np.flatnonzero(~replaced)[rng.integers(0, n_rows - n_dupes, n_dupes)]
        keep[replaced] = keep[sources]
    keep = np.sort(keep)
    invoices, products = invoices[keep], products[keep]
    is_return, customers = is_return[keep], customers[keep]
    times, qty, price = times[keep], qty[keep], price[keep]

    guest_orders = rng.random(n_orders_total) < guest_rate
    guest = guest_orders[invoices - 100000]
    start = np.datetime64(DEMO_END - dt.timedelta(days=DEMO_DAYS), "s")
    timestamps = start + np.round(times).astype("timedelta64[s]")
    invoice_text = np.char.add(np.where(is_return, "C", ""), invoices.astype(str))
    customer_text = (12000 + customers).astype(str)
    return pa.table({
        INVOICE: pa.array(invoice_text),
        STOCK_CODE: pa.array((20000 + products).astype(str)),
        CUSTOMER: pa.array(customer_text, mask=guest),
        DATE: pa.array(timestamps.astype("datetime64[us]")),
        QUANTITY: pa.array(qty.astype(np.int64)),
        PRICE: pa.array(price),
        COUNTRY: pa.array(country[customers]),
    })


def write_transactions(path: str | Path, n_rows: int = 100_000, *, seed: int = 0) -> Path:
    """Generate transactions and write them as Parquet (or CSV when ``path`` ends in .csv)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    table = generate_transactions(n_rows, seed=seed)
    if path.suffix.lower() == ".csv":
        return write_file(path, lambda p: pacsv.write_csv(table, p))
    return write_file(path, lambda p: pq.write_table(table, p, row_group_size=1_000_000))
