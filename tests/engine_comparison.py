"""An engine's compute_rfm against DuckDB's on the same data: the conformance check shared by
the Spark and PostgreSQL engine tests (DuckDB itself is checked against tests/reference.py)."""

from __future__ import annotations

import pandas as pd

from reference import assert_same_customers
from rfmkit.metrics import compute_rfm


def same_as_duckdb(source, *, engine, engine_source=None, **kwargs):
    """compute_rfm on ``engine`` (reading ``engine_source`` if given, else ``source``) equals
    compute_rfm on DuckDB: customers (integers exactly, floats to 1e-9) and quality report."""
    expected = compute_rfm(source, **kwargs)
    actual = compute_rfm(source if engine_source is None else engine_source, engine=engine,
                         **kwargs)
    if expected.customers["first_purchase"].notna().any():  # not customer-level input
        assert_same_customers(actual.customers, expected.customers)
    pd.testing.assert_frame_equal(actual.customers, expected.customers, check_exact=False,
                                  rtol=1e-9, atol=1e-9)
    got, want = actual.quality.to_dict(), expected.quality.to_dict()
    for report in (got, want):
        report.pop("source")
        report["warnings"] = [_without_examples(w) for w in report["warnings"]]
    assert got == want
    return actual


def _without_examples(warning: str) -> str:
    # the examples in a warning are some of the bad values; which ones may differ by engine
    head, sep, rest = warning.partition("(e.g. ")
    return head + sep + rest.partition(")")[2] if sep else warning
