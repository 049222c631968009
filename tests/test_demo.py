"""Tests of rfmkit.demo: realistic synthetic line items, deterministic per seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import rfmkit
from rfmkit import demo
from rfmkit.errors import ParameterError

COLUMNS = ["invoice", "stock_code", "customer_id", "invoice_date", "quantity", "unit_price",
           "country"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rfmkit.generate_transactions(20_000, seed=1).to_pandas()


def test_same_seed_same_table_other_seed_other_table():
    a = rfmkit.generate_transactions(3_000, seed=5)
    assert a.equals(rfmkit.generate_transactions(3_000, seed=5))
    assert not a.equals(rfmkit.generate_transactions(3_000, seed=6))


@pytest.mark.parametrize("n_rows", [1, 7, 999, 12_345])
def test_exact_row_count(n_rows):
    assert rfmkit.generate_transactions(n_rows, seed=2).num_rows == n_rows


def test_columns_and_types(table):
    arrow = rfmkit.generate_transactions(100, seed=0)
    assert arrow.column_names == COLUMNS
    assert arrow.schema.field("invoice_date").type == pa.timestamp("us")
    assert arrow.schema.field("quantity").type == pa.int64()
    assert arrow.schema.field("unit_price").type == pa.float64()
    start = demo.DEMO_END - pd.Timedelta(days=demo.DEMO_DAYS)
    assert table["invoice_date"].between(start, demo.DEMO_END).all()
    assert (table["unit_price"] > 0).all() and (table["quantity"] != 0).all()
    # the engine reads it as line items with the usual column names
    rfm = rfmkit.compute_rfm(arrow)
    assert rfm.columns.shape is rfmkit.InputShape.LINE_ITEMS


def test_returns_are_c_invoices_in_the_documented_share(table):
    is_return = table["invoice"].str.startswith("C")
    assert ((table["quantity"] < 0) == is_return).all()
    # return_rate is the share of purchase lines returned later
    assert is_return.sum() / (~is_return).sum() == pytest.approx(0.03, abs=0.005)
    # a return comes after the purchase it returns
    purchases = table[~is_return].drop_duplicates(["invoice", "stock_code"]).set_index(
        ["invoice", "stock_code"])["invoice_date"]
    returns = table[is_return].assign(invoice=table["invoice"].str[1:])
    bought = returns.join(purchases.rename("bought"), on=["invoice", "stock_code"],
                          how="inner")
    assert len(bought) > 0.8 * len(returns)
    assert (bought["invoice_date"] > bought["bought"]).all()
    none = rfmkit.generate_transactions(5_000, seed=1, return_rate=0).to_pandas()
    assert not none["invoice"].str.startswith("C").any() and (none["quantity"] > 0).all()


def test_guest_orders_in_the_documented_share(table):
    lines = table[~table["invoice"].str.startswith("C")]
    guest = lines["customer_id"].isna().groupby(lines["invoice"])
    assert guest.all().mean() == pytest.approx(0.02, abs=0.006)
    # an order is a guest order or not as a whole
    assert (guest.all() == guest.any()).all()
    none = rfmkit.generate_transactions(5_000, seed=1, guest_rate=0).to_pandas()
    assert none["customer_id"].notna().all()


@pytest.mark.parametrize("rate", [0, 0.005, 0.1])
def test_exact_duplicates_in_the_documented_share(rate):
    frame = rfmkit.generate_transactions(8_000, seed=3, duplicate_rate=rate).to_pandas()
    assert frame.duplicated().sum() == round(rate * 8_000)


def test_spend_is_heavy_tailed(table):
    buyers = table[table["customer_id"].notna() & (table["quantity"] > 0)]
    spend = (buyers["quantity"] * buyers["unit_price"]).groupby(buyers["customer_id"]).sum()
    spend = spend.sort_values(ascending=False)
    top_decile = spend.iloc[: len(spend) // 10].sum() / spend.sum()
    assert top_decile > 0.4  # a tenth of the customers bring at least 40% of revenue
    assert spend.mean() > 2 * spend.median()
    assert spend.skew() > 3
    orders = buyers.groupby("customer_id")["invoice"].nunique()
    assert (orders == 1).mean() > 0.2 and orders.max() > 20  # one-off buyers and regulars


@pytest.mark.parametrize("bad", [
    {"n_rows": 0}, {"n_rows": 2.5}, {"seed": -1}, {"return_rate": 0.9}, {"guest_rate": -0.1},
    {"duplicate_rate": "a few"},
])
def test_bad_arguments(bad):
    kwargs = {"n_rows": 100, **bad}
    with pytest.raises(ParameterError, match=f"'{next(iter(bad))}' parameter of "
                                             "generate_transactions"):
        rfmkit.generate_transactions(**kwargs)


def test_numpy_integers_and_integral_rates_are_accepted():
    table = rfmkit.generate_transactions(np.int64(500), seed=np.int64(4), return_rate=0,
                                         guest_rate=0, duplicate_rate=0)
    assert table.num_rows == 500


@pytest.mark.parametrize("name", ["tx.parquet", "tx.csv"])
def test_write_transactions(tmp_path, name):
    path = rfmkit.write_transactions(tmp_path / "out" / name, 2_000, seed=9)
    assert path.exists() and sorted(p.name for p in path.parent.iterdir()) == [name]
    expected = rfmkit.generate_transactions(2_000, seed=9)
    a = rfmkit.compute_rfm(path).customers
    b = rfmkit.compute_rfm(expected).customers
    pd.testing.assert_frame_equal(a, b)
