"""Transactions (or customer-level tables) to one row per customer: the engine entry point."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rfmkit.cleaning import CleaningRules, QualityReport
from rfmkit.engines import Engine, get_engine
from rfmkit.errors import InputError
from rfmkit.metric_options import MetricOptions
from rfmkit.progress import stage
from rfmkit.schema import (
    CUSTOMER_COLUMNS,
    CUSTOMER_ID,
    FIRST_PURCHASE,
    FREQUENCY,
    LAST_PURCHASE,
    MONETARY,
    ORDERS,
    RECENCY,
    REVENUE,
    ColumnMapping,
    InputShape,
    ResolvedColumns,
    resolve_columns,
)


@dataclass
class RFMResult:
    """What :func:`compute_rfm` returns.

    Attributes
    ----------
    customers : pandas.DataFrame
        One row per customer, sorted by customer id: customer_id, recency, frequency, monetary,
        first_purchase, last_purchase, orders, revenue.
    quality : QualityReport
        Rows read, removed by each cleaning rule, used; the as-of date.
    columns : ResolvedColumns
        The input shape and the column playing each role.
    kinds : dict
        Kind of each input column used (``text``, ``integer``, ``timestamp``, ...).
    options, cleaning : MetricOptions, CleaningRules or None
        How the metrics were computed (:meth:`RFMModel.fit` checks them when fitted on this).
    """

    customers: pd.DataFrame
    quality: QualityReport
    columns: ResolvedColumns
    kinds: dict[str, str] = field(default_factory=dict)
    options: MetricOptions | None = None
    cleaning: CleaningRules | None = None

    @property
    def as_of(self) -> dt.date | None:
        return self.quality.as_of


def compute_rfm(
    source: Any,
    *,
    columns: ColumnMapping | None = None,
    options: MetricOptions | None = None,
    cleaning: CleaningRules | None = None,
    engine: str | Engine = "duckdb",
    table: str | None = None,
    delimiter: str | None = None, encoding: str | None = None,
    decimal: str | None = None, thousands: str | None = None,
    shape: InputShape | str | None = None,
) -> RFMResult:
    """Compute recency, frequency and monetary value per customer.

    Parameters
    ----------
    source : str, path, pandas/polars DataFrame or pyarrow Table
        A CSV (optionally gzipped), Parquet file/glob/folder, Excel workbook, JSON file, DuckDB
        database (with ``table``), or an in-memory table.
    columns : ColumnMapping, optional
        Which column plays which role; unspecified roles are detected from common names.
    options : MetricOptions, optional
        Metric definitions (as-of date, frequency and monetary definitions, day consolidation).
    cleaning : CleaningRules, optional
        Returns policy, cancellations, duplicates.
    engine : {"duckdb", "spark", "postgres"} or an engine instance
        Where the work happens. Transactions never enter pandas.
    table : str, optional
        Table name in a DuckDB database, or sheet name in a workbook.
    delimiter : str, optional
        CSV delimiter when detection picks the wrong one.
    encoding : str, optional
        Text encoding of CSV files (``"latin-1"``, ``"cp1252"``, ``"utf-16"``, any name Python
        knows). Default: detected from a byte-order mark or UTF-16's zero bytes, else UTF-8.
    decimal, thousands : str, optional
        How text amounts, quantities and prices write their numbers, as in pandas'
        ``read_csv`` (``decimal=","``, ``thousands="."`` for ``1.234,50``); they override
        ``options``' (see :class:`MetricOptions`). Default: plain numbers, and values that
        look written otherwise are an error naming these parameters.
    shape : {"orders", "line_items", "customers"}, optional
        Force the input shape instead of detecting it from the columns.

    Returns
    -------
    RFMResult
    """
    options = (options or MetricOptions()).reading_numbers(decimal, thousands)
    cleaning = cleaning or CleaningRules()
    own_engine = isinstance(engine, str)
    eng = get_engine(engine)
    try:
        stage("Reading the input")
        rel = eng.read(source, table=table, delimiter=delimiter, encoding=encoding)
        resolved = resolve_columns(rel.columns, columns, source=rel.label, shape=shape)
        stage("Checking the customer table" if resolved.shape is InputShape.CUSTOMERS
              else "Aggregating transactions per customer")
        if resolved.shape is InputShape.CUSTOMERS:
            customers = customer_level(eng.customer_table(rel, resolved), rel.label,
                                       columns=resolved)
            quality = QualityReport(
                source=rel.label, rows_read=len(customers), rows_used=len(customers),
                customers=len(customers), as_of_policy="given",
            )
        else:
            customers, quality = eng.customer_metrics(rel, resolved, options, cleaning)
    finally:
        if own_engine:
            eng.close()
    used = {c for c in resolved.mapping.to_dict().values() if c is not None}
    kinds = {c: k for c, k in rel.kinds.items() if c in used}
    return RFMResult(sort_customers(normalise_types(customers)), quality, resolved, kinds,
                     options=options, cleaning=cleaning)


def customer_level(df: pd.DataFrame, label: str, *,
                   columns: ResolvedColumns | None = None) -> pd.DataFrame:
    """Complete a customer-level table to the canonical columns, after checking it.

    ``columns`` (the resolved input columns) only serves to name input columns in errors.
    """
    def name(role: str, canonical: str) -> str:
        given = None if columns is None else getattr(columns.mapping, role)
        return repr(given or canonical)

    if df.empty:
        raise InputError(f"{label} has no rows (only a header?). Nothing to segment.")
    dupes = df[CUSTOMER_ID][df[CUSTOMER_ID].duplicated(keep=False)]
    if df[CUSTOMER_ID].isna().any():
        raise InputError(f"{label} has {int(df[CUSTOMER_ID].isna().sum()):,} rows without a "
                         f"customer id (column {name('customer', CUSTOMER_ID)}). Remove them "
                         "or choose the id column with ColumnMapping(customer=NAME).")
    if len(dupes):
        raise InputError(
            f"{label} is customer-level input but customer ids in column "
            f"{name('customer', CUSTOMER_ID)} repeat (e.g. "
            f"{', '.join(map(repr, dupes.unique()[:5]))}). Give one row per customer, or "
            "give transactions instead (ColumnMapping(amount=..., date=...))."
        )
    for role, col in (("recency", RECENCY), ("frequency", FREQUENCY)):
        negative = df.loc[df[col] < 0, CUSTOMER_ID]
        if len(negative):
            raise InputError(
                f"Column {name(role, col)} ({role}) in {label} has negative values for "
                f"customers {', '.join(map(repr, negative[:5]))}. Recency and frequency must "
                "be >= 0."
            )
    out = df.copy()
    for col in (RECENCY, FREQUENCY):
        if np.all(np.mod(out[col].to_numpy(), 1) == 0):
            out[col] = out[col].astype("int64")
    out[FIRST_PURCHASE] = pd.NaT
    out[LAST_PURCHASE] = pd.NaT
    out[ORDERS] = out[FREQUENCY]
    # A customer-level table carries no separate total; monetary is taken as the total spend.
    out[REVENUE] = out[MONETARY].astype("float64")
    return out


def normalise_types(df: pd.DataFrame) -> pd.DataFrame:
    """Fix dtypes so results never depend on the engine's type choices."""
    out = df.loc[:, list(CUSTOMER_COLUMNS)].copy()
    out[CUSTOMER_ID] = out[CUSTOMER_ID].astype(str)
    for col in (MONETARY, REVENUE):
        out[col] = out[col].astype("float64")
    for col in (FIRST_PURCHASE, LAST_PURCHASE):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    for col in (RECENCY, FREQUENCY, ORDERS):
        if out[col].dtype.kind in "iuf" and np.all(np.mod(out[col].to_numpy(), 1) == 0):
            out[col] = out[col].astype("int64")
    return out


# Ids of up to 15 digits: exact as int64 and as float64, the common numeric id.
_PLAIN_NUMBER = r"^[0-9]{1,15}$"
# Every character a text that pandas reads as a number can hold: digits, sign, point, exponent,
# white space and the letters of "nan", "inf" and "infinity". An id with any other character
# is text.
_MAYBE_NUMBER = r"^[0-9+\-.eE \t\n\r\f\vnNaAiIfFtTyY]+$"


def sort_customers(df: pd.DataFrame) -> pd.DataFrame:
    """Sort by customer id: numeric ids in numeric order first, then other ids as text.

    "Numeric" is what ``pandas.to_numeric`` reads as a number; ties (``"7"``, ``"07"``) and
    text ids are ordered by code point. Sorting runs in Arrow: a million ids take ~0.2 s
    (Python string comparisons in numpy took seconds).
    """
    ids = pa.array(df[CUSTOMER_ID].astype(str), type=pa.large_string())
    if len(ids) and pc.all(pc.match_substring_regex(ids, _PLAIN_NUMBER)).as_py():
        key = pc.cast(ids, pa.int64())
    else:
        # pandas decides what is numeric, but only for ids that can be numbers at all.
        candidates = pc.match_substring_regex(ids, _MAYBE_NUMBER).to_numpy(zero_copy_only=False)
        numeric = np.full(len(ids), np.inf)
        if candidates.any():
            parsed = pd.to_numeric(pd.Series(ids.filter(pa.array(candidates)).to_pylist(),
                                             dtype=object), errors="coerce")
            if candidates.all() and parsed.dtype.kind in "iu":
                numeric = parsed.to_numpy()  # all integers: exact, also beyond 2**53
            else:
                numeric[candidates] = parsed.fillna(np.inf).to_numpy(np.float64)
        key = pa.array(numeric)
    order = pc.sort_indices(pa.table({"key": key, "id": ids}),
                            sort_keys=[("key", "ascending"), ("id", "ascending")])
    return df.iloc[order.to_numpy()].reset_index(drop=True)
