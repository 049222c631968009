"""Column detection (schema.resolve_columns) and the column mapping."""

from __future__ import annotations

import copy
import pickle
import re

import pytest

from rfmkit.errors import SchemaError
from rfmkit.schema import (
    CUSTOMER_COLUMNS,
    ColumnMapping,
    InputShape,
    ResolvedColumns,
    resolve_columns,
    with_overrides,
)

UCI = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
       "CustomerID", "Country"]
UCI_II = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
          "Customer ID", "Country"]
METHOD_P = ["CustomerId", "OrderId", "OrderDate", "OrderAmount"]
CDNOW = ["customer_id", "date", "quantity", "amount"]


@pytest.mark.parametrize(
    "columns, shape, expected",
    [
        (UCI, InputShape.LINE_ITEMS, dict(customer="CustomerID", order="InvoiceNo",
                                          date="InvoiceDate", quantity="Quantity",
                                          price="UnitPrice")),
        (UCI_II, InputShape.LINE_ITEMS, dict(customer="Customer ID", order="Invoice",
                                             date="InvoiceDate", quantity="Quantity",
                                             price="Price")),
        (METHOD_P, InputShape.ORDERS, dict(customer="CustomerId", order="OrderId",
                                           date="OrderDate", amount="OrderAmount")),
        (CDNOW, InputShape.ORDERS, dict(customer="customer_id", date="date", amount="amount")),
    ],
    ids=["online_retail", "online_retail_ii", "method_p", "cdnow"],
)
def test_detects_the_columns_of_known_data_sets(columns, shape, expected):
    resolved = resolve_columns(columns)
    assert resolved.shape is shape
    assert resolved.mapping == ColumnMapping(**expected)


@pytest.mark.parametrize("name", ["CustomerID", "Customer ID", "customer_id", "CustomerId",
                                  "CUSTOMER-ID", "customer"])
def test_customer_id_spellings(name):
    resolved = resolve_columns([name, "date", "amount"])
    assert resolved.mapping.customer == name


@pytest.mark.parametrize("name", ["InvoiceNo", "Invoice", "OrderId", "order_id", "Order ID"])
def test_order_id_spellings(name):
    assert resolve_columns(["customer", "date", "amount", name]).mapping.order == name


@pytest.mark.parametrize("name", ["InvoiceDate", "OrderDate", "order_date", "Date", "timestamp"])
def test_date_spellings(name):
    assert resolve_columns(["customer", name, "amount"]).mapping.date == name


@pytest.mark.parametrize("name", ["UnitPrice", "Price", "unit_price"])
def test_price_spellings(name):
    resolved = resolve_columns(["customer", "date", "Quantity", name])
    assert resolved.shape is InputShape.LINE_ITEMS
    assert (resolved.mapping.quantity, resolved.mapping.price) == ("Quantity", name)
    assert resolved.mapping.amount is None


@pytest.mark.parametrize("name", ["OrderAmount", "amount", "Amount", "order_amount", "Revenue"])
def test_amount_spellings(name):
    resolved = resolve_columns(["customer", "date", name])
    assert resolved.shape is InputShape.ORDERS
    assert resolved.mapping.amount == name


def test_an_amount_column_wins_over_quantity_and_price():
    resolved = resolve_columns(["customer", "date", "quantity", "price", "amount"])
    assert resolved.shape is InputShape.ORDERS
    assert resolved.mapping.amount == "amount"
    assert resolved.mapping.quantity is None and resolved.mapping.price is None


@pytest.mark.parametrize(
    "columns",
    [["customer", "recency", "frequency", "monetary"],
     ["CUSTOMER_ID", "Recency", "FREQUENCY", "Monetary"],
     ["Customer ID", "recency_days", "frequency", "monetary_value"]],
)
def test_customer_level_detection_in_any_case(columns):
    resolved = resolve_columns(columns)
    assert resolved.shape is InputShape.CUSTOMERS
    m = resolved.mapping
    assert (m.customer, m.recency, m.frequency, m.monetary) == tuple(columns)
    assert m.date is None and m.amount is None and m.order is None


def test_only_some_metric_columns_is_not_customer_level():
    # a transactions table that happens to have a "frequency" column stays transactions
    resolved = resolve_columns(["customer", "date", "amount", "frequency"])
    assert resolved.shape is InputShape.ORDERS
    assert resolved.mapping.frequency is None


def test_explicit_names_are_matched_case_insensitively():
    resolved = resolve_columns(
        ["Kunde", "Datum", "Betrag", "Beleg"],
        ColumnMapping(customer="kunde", date="DATUM", amount="betrag", order="Beleg"),
    )
    assert resolved.mapping == ColumnMapping(customer="Kunde", order="Beleg", date="Datum",
                                             amount="Betrag")


def test_explicit_name_overrides_detection():
    resolved = resolve_columns(["CustomerID", "AccountID", "date", "amount"],
                               ColumnMapping(customer="AccountID"))
    assert resolved.mapping.customer == "AccountID"


def test_explicit_metric_column_makes_customer_level_input():
    resolved = resolve_columns(["id", "days", "n", "spend"], ColumnMapping(
        customer="id", recency="days", frequency="n", monetary="spend"))
    assert resolved.shape is InputShape.CUSTOMERS


def test_forced_shape():
    resolved = resolve_columns(["customer", "date", "amount", "quantity", "price"],
                               shape="line_items")
    assert resolved.shape is InputShape.LINE_ITEMS
    assert resolved.mapping.amount is None and resolved.mapping.price == "price"


def test_missing_column_lists_the_columns_found_and_the_flag():
    with pytest.raises(SchemaError) as info:
        resolve_columns(["client_name", "date", "amount"], source="sales.csv")
    message = str(info.value)
    assert "customer" in message and "sales.csv" in message
    assert "'client_name', 'date', 'amount'" in message
    assert "ColumnMapping(customer=NAME)" in message


def test_missing_date_names_the_date_flag():
    with pytest.raises(SchemaError, match=r"date column in sales\.csv.*'customer', 'amount'.*"
                                          r"ColumnMapping\(date=NAME\)"):
        resolve_columns(["customer", "amount"], source="sales.csv")


def test_missing_amount_suggests_amount_or_quantity_and_price():
    with pytest.raises(SchemaError, match=r"amount column.*ColumnMapping\(amount=NAME\) \(or "
                       r"ColumnMapping\(quantity=\.\.\., price=\.\.\.\)"):
        resolve_columns(["customer", "date", "sku"])


def test_price_without_quantity_names_both_flags():
    with pytest.raises(SchemaError, match=r"ColumnMapping\(quantity=\.\.\., price=\.\.\.\)"):
        resolve_columns(["customer", "date", "UnitPrice"])


def test_ambiguous_columns_name_the_candidates_and_the_flag():
    with pytest.raises(SchemaError) as info:
        resolve_columns(["customer_id", "CustomerID", "date", "amount"], source="x.parquet")
    message = str(info.value)
    assert "ambiguous" in message and "x.parquet" in message
    assert "'customer_id', 'CustomerID'" in message and "ColumnMapping(customer=NAME)" in message
    # naming one resolves it
    resolved = resolve_columns(["customer_id", "CustomerID", "date", "amount"],
                               ColumnMapping(customer="CustomerID"))
    assert resolved.mapping.customer == "CustomerID"


def test_unknown_explicit_column_lists_columns_and_flag():
    with pytest.raises(SchemaError) as info:
        resolve_columns(["CustomerID", "date", "amount"], ColumnMapping(amount="total_eur"),
                        source="orders.csv")
    message = str(info.value)
    assert "'total_eur'" in message and "orders.csv" in message
    assert "'CustomerID', 'date', 'amount'" in message and "ColumnMapping(amount=NAME)" in message


def test_customer_level_missing_metric_column_names_its_flag():
    with pytest.raises(SchemaError, match=r"monetary column.*ColumnMapping\(monetary=NAME\)"):
        resolve_columns(["customer", "recency", "frequency"], shape="customers")


def test_column_mapping_round_trip_and_unknown_roles():
    mapping = ColumnMapping(customer="c", date="d", amount="a")
    assert ColumnMapping.from_dict(mapping.to_dict()) == mapping
    with pytest.raises(SchemaError, match=r"Unknown column roles \['colour'\]"):
        ColumnMapping.from_dict({"customer": "c", "colour": "red"})
    assert with_overrides(mapping, date="when", amount=None) == ColumnMapping(
        customer="c", date="when", amount="a")


def test_resolved_columns_copy_and_pickle():
    resolved = resolve_columns(UCI)
    for clone in (copy.copy(resolved), copy.deepcopy(resolved),
                  pickle.loads(pickle.dumps(resolved))):
        assert clone == resolved
        assert clone.customer == "CustomerID"  # role attributes read through to the mapping
    with pytest.raises(AttributeError):
        resolved.no_such_role  # noqa: B018


def test_canonical_output_columns():
    assert CUSTOMER_COLUMNS == ("customer_id", "recency", "frequency", "monetary",
                                "first_purchase", "last_purchase", "orders", "revenue")
    assert isinstance(resolve_columns(CDNOW), ResolvedColumns)


@pytest.mark.parametrize("columns, mapping", [
    (["client_id", "days_since_last", "n_purchases", "total_spent"],
     "ColumnMapping(recency='days_since_last', frequency='n_purchases', "
     "monetary='total_spent')"),
    (["customer_id", "recency", "frequency", "total_spent"],
     "ColumnMapping(recency='recency', frequency='frequency', monetary='total_spent')"),
    (["customer_id", "DaysInactive", "LifetimeValue"],
     "ColumnMapping(recency='DaysInactive', frequency=NAME, monetary='LifetimeValue')"),
])
def test_a_customer_level_table_without_a_date_gets_customer_level_advice(columns, mapping):
    with pytest.raises(SchemaError) as info:
        resolve_columns(columns, source="t.csv")
    message = str(info.value)
    assert "looks like customer-level data" in message and mapping in message
    assert message.endswith("For transactions, name the date column with "
                            "ColumnMapping(date=NAME).")
    # the advice, followed, reads the table as customer-level
    given = dict(re.findall(r"(\w+)='([^']+)'", mapping))
    if len(given) == 3:
        assert resolve_columns(columns, ColumnMapping(**given)).shape is InputShape.CUSTOMERS


def test_transactions_without_a_date_keep_the_date_advice():
    with pytest.raises(SchemaError) as info:
        resolve_columns(["customer_id", "amount", "total_orders"], source="t.csv")
    message = str(info.value)
    assert "customer-level" not in message
    assert message.endswith("Name it with ColumnMapping(date=NAME).")
