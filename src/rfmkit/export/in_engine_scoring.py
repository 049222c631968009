"""Scoring with a fitted model inside the engine, where the data lives.

:func:`score_in_engine` reads the input with an engine, writes the model as one query in the
engine's SQL dialect (:func:`~rfmkit.model_sql`, over the engine's view of the input) and runs it
inside the engine. DuckDB and Spark hand back their lazy result (a relation, a DataFrame); every
engine can write the assignments into a table of the same database or catalog instead. Column
names and a few counts reach Python; customer rows never do.

The results are those of ``model.segment(...)`` and ``rfmkit score`` for every customer: the same
metrics, scores, rfm_code, segment and cluster (tests/test_sql_export.py and
tests/test_in_engine_scoring.py compare them). What this route leaves out is what needs the
rows in Python or extra passes over the transactions: the quality report (rows dropped by each
cleaning rule), the per-segment and per-cluster summaries, the HTML report.

This module imports no database driver and no Spark: the engines do the work through two
methods beyond the :class:`~rfmkit.engines.Engine` protocol, ``lazy(sql)`` (DuckDB, Spark) and
``run_sql_into(sql, table, rel=...)`` (all three).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sklearn.utils.validation import check_is_fitted

from rfmkit.engines import Engine, Relation, get_engine
from rfmkit.errors import InputError, ParameterError, SchemaError
from rfmkit.export.sql_export import model_sql, translate
from rfmkit.schema import InputShape
from rfmkit.sql.metrics_query import NUMERIC_KINDS, TEXT, id_text, quote

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rfmkit.model import RFMModel

# engine name -> (SQL dialect, most parts a table name may have)
_ENGINE_DIALECTS = {"duckdb": ("duckdb", 2), "postgres": ("postgres", 2), "spark": ("spark", 3)}


@dataclass(frozen=True)
class WrittenTable:
    """Where :func:`score_in_engine` wrote the assignments.

    Attributes
    ----------
    table : str
        The table as the engine names it, quoted (with the database file for DuckDB).
    rows : int
        Rows written: one per customer.
    engine : str
        ``duckdb``, ``spark`` or ``postgres``.
    """

    table: str
    rows: int
    engine: str


def score_in_engine(model: RFMModel, source: Any, *, engine: str | Engine = "duckdb",
                    table: str | None = None, delimiter: str | None = None,
                    encoding: str | None = None, as_of: dt.date | str | None = None,
                    into: str | Sequence[str] | None = None, decimal: str | None = None,
                    thousands: str | None = None) -> Any:
    """Score ``source`` with a fitted model inside the engine; no customer row enters Python.

    Parameters
    ----------
    model : RFMModel
        A fitted (or loaded) model, on transactions or on a customer-level table.
    source : str, path or DataFrame
        What :func:`~rfmkit.compute_rfm` reads with the same engine: a file, glob or folder, a
        DuckDB database (with ``table``), ``spark:TABLE``, a ``postgresql://`` URL (with
        ``table``, or an engine built with ``query=``), a DataFrame. Its columns must carry the
        names the model was fitted on.
    engine : {"duckdb", "spark", "postgres"} or an engine instance
        Where the query runs. An instance is left open; one made here from a name is closed
        when the function returns, unless it holds the lazy result.
    table : str, optional
        Table of a DuckDB or PostgreSQL database, or sheet of a workbook.
    delimiter : str, optional
        CSV delimiter when detection picks the wrong one.
    encoding : str, optional
        Text encoding of CSV files (default: detected, else UTF-8).
    as_of : datetime.date or str, optional
        Reference date; default the model's policy (its fixed date, or the latest purchase date
        in the input, found inside the query).
    into : str or sequence of str, optional
        Write the assignments into this table (``table`` or ``schema.table``; for Spark also
        ``catalog.schema.table``) of the database or catalog the input is read from, replacing
        it. Parts are used exactly as given, as quoted identifiers (case is kept); put a part
        holding a dot in double quotes (``'"my.schema".scores'``). DuckDB writes into the
        database file the input table lives in, in one transaction; PostgreSQL in one
        transaction on the engine's connection (a new table renamed into place); Spark with
        ``saveAsTable`` in mode ``overwrite``, which is atomic for Delta tables only. An empty
        result is refused and leaves the old table as it was.
    decimal, thousands : str, optional
        How this input writes text amounts (as in pandas' ``read_csv``), when not as the
        model's training data did.

    Returns
    -------
    duckdb.DuckDBPyRelation, pyspark.sql.DataFrame or WrittenTable
        Without ``into``: the engine's lazy result, one row per customer (columns as
        ``rfmkit score`` writes them to ``customers.parquet``); nothing has run yet. The
        PostgreSQL engine has no lazy result: give ``into`` (the rows stay in the database), or
        use ``model.segment(source, engine="postgres")`` for a pandas DataFrame. With
        ``into``: a :class:`WrittenTable` (table name and row count).

    Notes
    -----
    A customer-level input is checked first (ids present and unique, metrics numeric,
    recency and frequency not negative), as ``rfmkit score`` checks it: one aggregate query.
    Transactions are not checked beyond their columns; values the engine cannot parse are left
    out, as in ``rfmkit score``, but no quality report counts them.
    """
    check_is_fitted(model)
    if decimal is not None or thousands is not None:
        # a copy reading this input's numbers: the caller's model is left as it is
        model = copy.copy(model)
        model.metric_options_ = model.metric_options_.reading_numbers(decimal, thousands)
    own_engine = isinstance(engine, str)
    eng = get_engine(engine)
    keep_open = False
    try:
        dialect, max_parts = _dialect(eng)
        if into is None and not hasattr(eng, "lazy"):
            raise ParameterError(
                f"The {eng.name} engine has no lazy result to return: give into='TABLE' to write "
                "the assignments into a table of the same database (nothing leaves it), or use "
                f"model.segment(source, engine={eng.name!r}) to get them as a pandas DataFrame "
                "(one row per customer is fetched)."
            )
        target = None if into is None else _name_parts(into, max_parts)
        rel = eng.read(source, table=table, delimiter=delimiter, encoding=encoding)
        _check_columns(model, rel)
        if target is not None:
            _check_not_the_input(target, _input_table(source, table, eng), rel)
        if model.columns_.shape is InputShape.CUSTOMERS:
            _check_customer_table(eng, rel, model, dialect)
        sql = model_sql(model, dialect=dialect, source=_name_parts(rel.handle, 3),
                        column_kinds=rel.kinds, as_of=as_of)
        if target is None:
            keep_open = own_engine  # the lazy result needs the engine's connection or session
            return eng.lazy(sql)
        written, rows = eng.run_sql_into(sql, target, rel=rel)
        return WrittenTable(table=written, rows=rows, engine=eng.name)
    finally:
        if own_engine and not keep_open:
            eng.close()


def _dialect(eng: Any) -> tuple[str, int]:
    if getattr(eng, "name", None) not in _ENGINE_DIALECTS or not hasattr(eng, "run_sql_into"):
        raise ParameterError(
            f"Scoring inside the engine needs the duckdb, spark or postgres engine; got "
            f"{getattr(eng, 'name', type(eng).__name__)!r}. Use model.segment(...) with it, or "
            "rfmkit.model_sql(...) to run the query yourself."
        )
    return _ENGINE_DIALECTS[eng.name]


def _name_parts(name: str | Sequence[str], max_parts: int) -> list[str]:
    """``schema.table`` as parts; a part in double quotes may hold dots and quotes."""
    from rfmkit.sql.names import table_parts

    return table_parts(name, max_parts=max_parts)[0]


def _check_columns(model: RFMModel, rel: Relation) -> None:
    """Every column the model reads must be in the input, under exactly the same name."""
    roles = {role: col for role, col in model.columns_.mapping.to_dict().items()
             if col is not None}
    missing = {role: col for role, col in roles.items() if col not in rel.columns}
    if not missing:
        return
    named = [f"{col!r} ({role})" for role, col in missing.items()]
    listed = (f"column {named[0]}" if len(named) == 1 else
              f"columns {', '.join(named[:-1])} and {named[-1]}")
    case = [f"{c!r} differs from {col!r} only in case" for col in missing.values()
            for c in rel.columns if c.lower() == col.lower()]
    note = f" ({'; '.join(case)}: inside the engine names must match exactly)" if case else ""
    example = ", ".join(f"... AS {quote(col)}" for col in missing.values())
    raise SchemaError(
        f"{rel.label} has no {listed}, which the model reads{note}. Columns found: "
        f"{', '.join(repr(c) for c in rel.columns)}. Score a table with the model's column "
        f"names (rename columns in a view or query, e.g. SELECT {example}), or fit a model on "
        "this table's names."
    )


def _input_table(source: Any, table: str | None, eng: Any) -> list[str] | None:
    """The table the input is, when it is one (``spark:NAME``, ``table=``), as parts."""
    if isinstance(source, str) and source.startswith("spark:"):
        name = source[len("spark:"):]
    else:
        name = table if table is not None else getattr(eng, "table", None)
    if name is None:
        return None
    try:
        return _name_parts(name, 3)
    except ParameterError:
        return None


def _check_not_the_input(target: list[str], input_table: list[str] | None,
                         rel: Relation) -> None:
    """Refuse to replace the table being scored (its transactions would be lost)."""
    if input_table is None:
        return
    a = [p.lower() for p in target]
    b = [p.lower() for p in input_table]
    if a[-1] == b[-1] and (len(a) == 1 or len(b) == 1 or a[-2] == b[-2]):
        raise ParameterError(
            f"into={'.'.join(target)!r} names the table being scored ({rel.label}); replacing "
            "it would destroy the input. Choose another table, e.g. rfm_assignments."
        )


def _check_customer_table(eng: Any, rel: Relation, model: RFMModel, dialect: str) -> None:
    """The checks ``rfmkit score`` makes on customer-level input, as one aggregate query."""
    m = model.columns_.mapping
    ident = id_text(m.customer, rel.kinds.get(m.customer, TEXT))
    values = {}
    for role in ("recency", "frequency", "monetary"):
        col = quote(getattr(m, role))
        cast = "CAST" if rel.kinds.get(getattr(m, role)) in NUMERIC_KINDS else "TRY_CAST"
        values[role] = f"{cast}({col} AS DOUBLE)"
    non_finite = "IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), " \
        "CAST('-Infinity' AS DOUBLE))"
    counts = [
        "COUNT(*) AS n_rows",
        f"COUNT(*) - COUNT({ident}) AS missing_ids",
        f"COUNT({ident}) - COUNT(DISTINCT {ident}) AS repeated_ids",
        *(f"SUM(CASE WHEN {v} IS NULL OR {v} {non_finite} THEN 1 ELSE 0 END) AS bad_{role}"
          for role, v in values.items()),
        *(f"SUM(CASE WHEN {values[role]} < 0 THEN 1 ELSE 0 END) AS negative_{role}"
          for role in ("recency", "frequency")),
    ]
    found = eng.query(translate(f"SELECT {', '.join(counts)} FROM {rel.handle}", dialect))
    n = {k: 0 if v is None or v != v else int(v) for k, v in found.iloc[0].items()}
    label = rel.label
    if n["n_rows"] == 0:
        raise InputError(f"{label} has no rows (only a header?). Nothing to score.")
    if n["missing_ids"]:
        raise InputError(
            f"{label} has {n['missing_ids']:,} rows without a customer id (column "
            f"{m.customer!r}). Remove them (e.g. in a view) and score again."
        )
    if n["repeated_ids"]:
        raise InputError(
            f"{label} is customer-level input but customer ids in column {m.customer!r} repeat "
            f"({n['repeated_ids']:,} extra rows). Give one row per customer."
        )
    for role in ("recency", "frequency", "monetary"):
        if n[f"bad_{role}"]:
            raise SchemaError(
                f"Column {getattr(m, role)!r} ({role}) in {label} must be numeric with no "
                f"missing values; {n[f'bad_{role}']:,} rows are not. Fix or remove those rows."
            )
    for role in ("recency", "frequency"):
        if n[f"negative_{role}"]:
            raise InputError(
                f"Column {getattr(m, role)!r} ({role}) in {label} has {n[f'negative_{role}']:,} "
                "negative values. Recency and frequency must be >= 0."
            )
