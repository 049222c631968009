"""The engine contract: transactions in, one row per customer out.

An engine reads a source into a relation it owns, reports the columns and their kinds, and runs
the cleaning and per-customer aggregation inside itself. Only the per-customer table (a pandas
DataFrame with the canonical columns of :mod:`rfmkit.schema`) comes back to Python.

Scoring in place. An engine's second job is to run a fitted model, written as SQL in its
dialect by :func:`rfmkit.model_sql`, over a relation it read, so that no customer row leaves it
(:func:`rfmkit.score_in_engine`). Two methods beyond :class:`Engine` serve it; they take SQL
already written for the engine and know nothing of models:

``run_sql_into(sql, table, *, rel=None) -> (str, int)``
    Replace ``table`` (a list of unquoted name parts: ``[schema,] name``, for Spark also
    ``[catalog, schema, name]``) with the result of ``sql``, as atomically as the engine allows,
    and return the name written and the row count. An empty result is refused and leaves the old
    table as it was. ``rel`` (the relation ``sql`` reads) tells an engine with several databases
    where to write: DuckDB writes into the database file the relation was read from.
    All three engines have it.
``lazy(sql) -> native result``
    The engine's lazy handle on the result, nothing computed yet: a ``DuckDBPyRelation`` or a
    Spark ``DataFrame``. PostgreSQL has none (a result must be fetched or stored).

They are not part of the :class:`Engine` protocol, so that an engine written for aggregation
alone still satisfies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from rfmkit.cleaning import CleaningRules, QualityReport
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import ResolvedColumns


@dataclass
class Relation:
    """An input as an engine holds it.

    Attributes
    ----------
    label : str
        How error messages name the input (a file path, a table name, "DataFrame").
    columns : list of str
        Column names, in input order.
    kinds : dict
        Column kind per column: ``text``, ``integer``, ``float``, ``decimal``, ``timestamp``,
        ``date`` or ``other``.
    handle : Any
        Engine-specific (a view name, a Spark DataFrame, ...).
    """

    label: str
    columns: list[str]
    kinds: dict[str, str]
    handle: Any


@runtime_checkable
class Engine(Protocol):
    name: str

    def read(self, source: Any, *, table: str | None = None, delimiter: str | None = None,
             encoding: str | None = None) -> Relation:
        """Open ``source`` (path, glob, folder, table, DataFrame) as a relation."""

    def customer_metrics(
        self,
        rel: Relation,
        columns: ResolvedColumns,
        options: MetricOptions,
        rules: CleaningRules,
    ) -> tuple[pd.DataFrame, QualityReport]:
        """Clean and aggregate transactions into one row per customer."""

    def customer_table(self, rel: Relation, columns: ResolvedColumns) -> pd.DataFrame:
        """Read customer-level input (recency/frequency/monetary already computed)."""

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL written in this engine's dialect; return the (small) result."""

    def close(self) -> None:
        """Release connections and temporary objects."""
