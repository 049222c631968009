"""Apache Spark as an engine: cleaning and per-customer aggregation run as Spark jobs.

Needs ``pip install 'rfmkit[spark]'`` and a Java runtime. The metric SQL of
:mod:`rfmkit.sql.metrics_query` is translated to Spark SQL with SQLGlot (:func:`spark_sql`)
and run on
a temporary view, so the transactions stay in Spark; only the per-customer table comes back (as
Arrow).

Time zones: while the engine works, the session time zone is UTC (the previous setting is put
back afterwards on a session the engine did not create). Naive timestamps are wall-clock times
and stay as they are; instants (Spark's TIMESTAMP, i.e. TIMESTAMP_LTZ) are read as UTC wall-clock
time, as the DuckDB engine reads TIMESTAMPTZ.

Text columns that need parsing are matched against a pattern first, because Spark's casts accept
more than DuckDB's ("2022" as a timestamp, "5d" as a number); within the pattern Spark's TRY_CAST
decides (so 30 February is NULL). Numbers and ISO timestamps take the forms listed in
:mod:`rfmkit.engines.postgres` (with any number of exponent digits, and ``YYYY-MM-DD`` then a
time after blanks or ``T``); ``date_format`` takes the same strftime directives, the fields
being reassembled as ``YYYY-MM-DD HH:MM:SS.ffffff`` for TRY_CAST.

Small data is not Spark's strength: each compute_rfm is a handful of jobs, about a second in
local mode however small the input; on one machine DuckDB is 10-15 times faster (see
bench/engines.py). Spark is for data that lives in Spark or does not fit one machine.
"""

from __future__ import annotations

import csv
import glob
import gzip
import itertools
import os
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlglot

from rfmkit.cleaning import CleaningRules, QualityReport
from rfmkit.engines import csv_encoding, resources
from rfmkit.engines.aggregation import run_customer_metrics, run_customer_table
from rfmkit.engines.base import Relation
from rfmkit.engines.input_checks import prepare_input
from rfmkit.errors import EngineUnavailableError, InputError, ParameterError, install_hint
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import CUSTOMER_ID, ResolvedColumns
from rfmkit.sql.dialects import spark_sql
from rfmkit.sql.metrics_query import (
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    OTHER,
    TEXT,
    TIMESTAMP,
    TIMESTAMP_TZ,
    quote,
)

_CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
# What Spark cannot read natively (or reads differently) goes through DuckDB: small files only.
_VIA_DUCKDB_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".json", ".jsonl", ".ndjson",
                        ".duckdb", ".db", ".ddb")
# Cheap settings for a session the engine creates (local mode, tests, one machine).
DEFAULT_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "1g",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
_SESSION_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


# --- types ------------------------------------------------------------------------------------

def spark_kind(data_type: Any) -> str:
    """Column kind of a Spark SQL data type."""
    from pyspark.sql import types as T

    if isinstance(data_type, (T.StringType, T.VarcharType, T.CharType)):
        return TEXT
    if isinstance(data_type, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return INTEGER
    if isinstance(data_type, (T.FloatType, T.DoubleType)):
        return FLOAT
    if isinstance(data_type, T.DecimalType):
        return DECIMAL
    if isinstance(data_type, T.TimestampNTZType):
        return TIMESTAMP
    if isinstance(data_type, T.TimestampType):
        return TIMESTAMP_TZ  # an instant (TIMESTAMP_LTZ): read as UTC wall-clock time
    if isinstance(data_type, T.DateType):
        return DATE
    return OTHER


@contextmanager
def _quiet_pandas_warnings():
    # PySpark warns about pandas >= 3 (and uses pandas APIs pandas 3 deprecates) in code paths
    # it takes on its own; the engine hands over Arrow data and never relies on those paths.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        warnings.filterwarnings("ignore", message=".*copy keyword is deprecated.*")
        warnings.filterwarnings("ignore", message=".*drops timezone information.*")
        yield


def _suffix(path: str) -> str:
    name = path.lower().rstrip("/")
    for suffix in sorted(_CSV_SUFFIXES + _PARQUET_SUFFIXES + _VIA_DUCKDB_SUFFIXES, key=len,
                         reverse=True):
        if name.endswith(suffix):
            return suffix
    return os.path.splitext(name)[1]


def _is_remote(path: str) -> bool:
    return "://" in path or path.startswith("dbfs:")  # a cluster's storage, not a local file


def sniff_delimiter(path: str) -> str:
    """The delimiter of a local CSV file (first 64 KB): one of , ; tab |."""
    try:
        opener = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            sample = handle.read(65536)
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except (OSError, csv.Error):
        return ","


class SparkEngine:
    """Run cleaning and aggregation as Spark jobs.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession, optional
        An existing session (a cluster, Databricks). Default: the active session, else a new
        local one; only a session the engine creates is stopped by :meth:`close`.
    master : str
        Master URL of a new session, e.g. ``"local[2]"``, ``"local[*]"``,
        ``"spark://host:7077"``.
    app_name : str
        Application name of a new session.
    config : dict, optional
        Extra settings for a new session (e.g. ``{"spark.driver.memory": "4g"}``).
    threads, memory_limit : int, str, optional
        Cores and memory (``"2GB"``) of a new session: the driver's for a local master, the
        executors' on a cluster (:func:`rfmkit.engines.resources.spark_settings`).
    """

    name = "spark"

    def __init__(self, spark: Any = None, *, master: str = "local[2]", app_name: str = "rfmkit",
                 config: dict[str, str] | None = None, threads: int | None = None,
                 memory_limit: str | None = None):
        threads, memory = resources.check_threads(threads), resources.memory_bytes(memory_limit)
        try:
            import pyspark  # noqa: F401
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise EngineUnavailableError(
                f"The spark engine needs a package that is not installed ({exc.name or exc}). "
                f"Install it with: {install_hint('spark')}"
            ) from exc
        self._own_session = False
        if spark is None:
            spark = SparkSession.getActiveSession()
        if spark is None:
            master, limits = resources.spark_settings(master, threads, memory)
            spark = self._new_session(SparkSession, master, app_name, {**limits, **(config or {})})
            self._own_session = True
        elif threads is not None or memory is not None:
            raise ParameterError(
                "threads= and memory_limit= set up a Spark session rfmkit starts; one is already"
                " running: set spark.cores.max and spark.executor.memory in its configuration.")
        self.spark = spark
        self._counter = itertools.count()
        self._views: list[str] = []

    @staticmethod
    def _new_session(session_class: Any, master: str, app_name: str, config: dict[str, str]):
        if not resources.java_available():
            raise EngineUnavailableError(
                "The spark engine needs a Java runtime (Java 17 or 21), and none was found: "
                "`java` is not on PATH and JAVA_HOME is not set. Install one (e.g. "
                "`apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
            )
        builder = session_class.builder.master(master).appName(app_name)
        for key, value in {**DEFAULT_CONFIG, **config}.items():
            builder = builder.config(key, value)
        try:
            with _quiet_pandas_warnings():
                spark = builder.getOrCreate()
        except Exception as exc:  # Py4J / PySpark raise their own types
            raise EngineUnavailableError(
                f"Could not start Spark (master {master!r}): {str(exc).strip().splitlines()[0]}. "
                "Check the Java installation (Java 17 or 21) and JAVA_HOME."
            ) from None
        spark.sparkContext.setLogLevel("ERROR")
        return spark

    @contextmanager
    def _session_settings(self):
        """UTC session time zone and Arrow transfers while the engine works; restored after."""
        conf = self.spark.conf
        previous = {}
        for key, value in _SESSION_CONFIG.items():
            current = conf.get(key, None)
            if current != value:
                previous[key] = current
                conf.set(key, value)
        try:
            with _quiet_pandas_warnings():
                yield
        finally:
            for key, value in previous.items():
                if value is None:
                    conf.unset(key)
                else:
                    conf.set(key, value)

    # --- reading -------------------------------------------------------------------------------
    def read(self, source: Any, *, table: str | None = None, delimiter: str | None = None,
             encoding: str | None = None) -> Relation:
        with self._session_settings():
            if isinstance(source, str) and source.startswith("spark:"):
                name = source[len("spark:"):]
                label = source
                df = self._catch(lambda: self.spark.table(name), label,
                                 hint="Check the table name (spark:DATABASE.TABLE).")
            elif isinstance(source, (str, os.PathLike)):
                label = str(source)
                df, _ = self._read_path(label, table=table, delimiter=delimiter,
                                        encoding=encoding)
            elif _is_spark_dataframe(source):
                label, df = "Spark DataFrame", source
            else:
                label = type(source).__name__
                df = self.spark.createDataFrame(_arrow(source))
            view = f"rfm_source_{next(self._counter)}"
            df.createOrReplaceTempView(view)
            self._views.append(view)
            return self._describe(df, quote(view), label)

    def _describe(self, df: Any, handle: str, label: str) -> Relation:
        fields = df.schema.fields
        columns = [f.name for f in fields]
        return Relation(label=label, columns=columns,
                        kinds={f.name: spark_kind(f.dataType) for f in fields}, handle=handle)

    def _read_path(self, path: str, *, table: str | None, delimiter: str | None,
                   encoding: str | None) -> tuple[Any, dict | None]:
        suffix = _suffix(path)
        remote = _is_remote(path)
        is_dir = not remote and os.path.isdir(path)
        if not remote:
            _check_local_path(path)
        if suffix in _VIA_DUCKDB_SUFFIXES:
            return self.spark.createDataFrame(
                _read_with_duckdb(path, table, delimiter, encoding)), None
        reader = self.spark.read
        if is_dir or (remote and suffix not in _CSV_SUFFIXES) or suffix in _PARQUET_SUFFIXES:
            if is_dir:
                reader = reader.option("recursiveFileLookup", "true").option(
                    "pathGlobFilter", "*.parquet")
            df = self._catch(lambda: reader.option("mergeSchema", "true").parquet(path), path)
            return df, None
        if suffix in _CSV_SUFFIXES:
            if delimiter is None:
                if suffix.startswith(".tsv"):
                    delimiter = "\t"
                elif not remote:
                    first = sorted(glob.glob(path))[0] if _has_glob(path) else path
                    delimiter = sniff_delimiter(first)
                else:
                    delimiter = ","
            charset = csv_encoding.java_charset(path, encoding, local=not (
                remote or _has_glob(path)))
            if charset is None:  # line by line, Spark decodes UTF-8 and Latin-1 only
                if remote:
                    raise InputError(
                        f"Spark cannot read {path} as {encoding} text line by line (only UTF-8 "
                        "and Latin-1). Convert the file to UTF-8, or read it with the DuckDB "
                        "engine (engine='duckdb')."
                    )
                return self.spark.createDataFrame(
                    _read_with_duckdb(path, table, delimiter, encoding)), None
            df = self._catch(lambda: self._csv_reader(delimiter, charset).csv(path), path)
            if len(df.columns) == 1:
                _single_column(path, df.columns[0], delimiter)
            return df, {"path": path, "delimiter": delimiter}
        raise InputError(
            f"Don't know how to read {path} with Spark: use .csv/.tsv (optionally .gz), .parquet "
            "(file, glob or folder), or a Spark table as spark:NAME."
        )

    def _csv_reader(self, delimiter: str, charset: str):
        # Every column as text, as the DuckDB engine reads CSV: ids never pass through a
        # float, and values that change type deep in the file are parsed (or counted) per row.
        return (self.spark.read.option("header", "true").option("sep", delimiter)
                .option("escape", '"').option("mode", "PERMISSIVE")
                .option("inferSchema", "false").option("encoding", charset))

    def _catch(self, read, label: str, hint: str = "Check the path and the file format."):
        try:
            return read()
        except Exception as exc:  # AnalysisException and friends
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"Could not read {label}: {first}. {hint}") from None

    # --- metrics -------------------------------------------------------------------------------
    def _rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(spark_sql(sql)).collect()]

    def _frame(self, sql: str) -> pd.DataFrame:
        # The rows are sorted in pandas: a global ORDER BY costs Spark a sampling job and a sort.
        tree = sqlglot.parse_one(sql, read="duckdb")
        tree.set("order", None)
        return _to_pandas(self.spark.sql(spark_sql(tree.sql("duckdb"))))

    def customer_metrics(self, rel: Relation, columns: ResolvedColumns,
                         options: MetricOptions, rules: CleaningRules
                         ) -> tuple[pd.DataFrame, QualityReport]:
        with self._session_settings():
            options, money = prepare_input(rel, columns, options, self._rows)
            # No caching of the flagged rows when per-day consolidation reads them twice:
            # measured on 1M rows in local mode, persisting them cost more than typing and
            # deduplicating twice. Otherwise it is one pass (one Spark job) anyway.
            customers, report = run_customer_metrics(
                rel, columns, options, rules, fetch=self._rows, fetch_frame=self._frame,
                money=money)
        report.date_format = options.date_format
        report.date_order = options.date_order
        return customers, report

    def customer_table(self, rel: Relation, columns: ResolvedColumns) -> pd.DataFrame:
        with self._session_settings():
            return run_customer_table(rel, columns, fetch=self._rows, fetch_frame=self._frame)

    def query(self, sql: str) -> pd.DataFrame:
        """Run Spark SQL; return the (small) result."""
        with self._session_settings():
            return _to_pandas(self.spark.sql(sql))

    def lazy(self, sql: str) -> Any:
        """Spark SQL as a lazy Spark DataFrame: nothing runs until it is used.

        The query is analysed at once, under the engine's session settings (UTC time zone, which
        its casts keep), so the DataFrame stays valid after :meth:`close` drops the temporary
        views, as long as the session runs.
        """
        with self._session_settings():
            return self.spark.sql(sql)

    def run_sql_into(self, sql: str, table: Sequence[str], *, rel: Relation | None = None
                     ) -> tuple[str, int]:
        """Replace ``table`` (``[[catalog.]schema.]name``) with the result of Spark ``sql``, as a
        managed table of the session's catalog, in the default format (``saveAsTable`` with
        mode ``overwrite``). Returns the name written and the number of rows.

        The result is computed and kept on the executors (persisted, memory then disk) before
        the table is touched, so a failing or empty result leaves the old table as it was.
        The overwrite itself is as atomic as the table format makes it: one transaction for
        Delta Lake (readers see the old or the new version), but for plain Parquet tables the
        old table is dropped before the new files are written, so readers may briefly find no
        table, or a failure then leaves none. ``rel`` is not needed (one catalog).
        """
        from pyspark import StorageLevel

        name = ".".join(_backquote(part) for part in table)
        with self._session_settings():
            # A table has no order: dropping the ORDER BY saves Spark a global sort.
            tree = sqlglot.parse_one(sql, read="spark")
            tree.set("order", None)
            result = self.spark.sql(tree.sql("spark")).persist(StorageLevel.MEMORY_AND_DISK)
            try:
                rows = result.count()
                if rows == 0:
                    raise InputError(
                        f"The query returned no rows, so table {name} was left as it was. "
                        "Check the input, the column mapping and the as-of date."
                    )
                try:
                    result.write.mode("overwrite").saveAsTable(name)
                except Exception as exc:  # AnalysisException and friends
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else \
                        type(exc).__name__
                    raise InputError(f"Spark could not write table {name}: {first}") from None
            finally:
                result.unpersist()
        return name, rows

    def close(self) -> None:
        for view in self._views:
            try:
                self.spark.catalog.dropTempView(view)
            except Exception:  # the session may already be stopped
                pass
        self._views.clear()
        if self._own_session:
            self.spark.stop()
            self._own_session = False


# --- helpers ----------------------------------------------------------------------------------

def _backquote(name: str) -> str:
    """A Spark SQL identifier, quoted (backquotes inside doubled)."""
    return "`" + name.replace("`", "``") + "`"


def _has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[{")  # Hadoop's glob syntax has {a,b} too


def _check_local_path(path: str) -> None:
    if _has_glob(path):
        if not glob.glob(path, recursive=True):
            raise InputError(f"No file matches {path}. Check the pattern and the folder.")
    elif not os.path.exists(path):
        raise InputError(f"Input file {path} does not exist. Check the path.")
    elif os.path.isdir(path):
        if not glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True):
            raise InputError(
                f"Folder {path} holds no .parquet files. Point to a file, a glob such as "
                f"'{path}/*.csv', or a folder of Parquet files."
            )
    elif os.path.getsize(path) == 0:
        raise InputError(f"Input file {path} is empty (0 bytes).")


def _single_column(path: str, header: str, delimiter: str) -> None:
    for candidate in (";", "\t", "|", ","):
        if candidate != delimiter and candidate in header:
            shown = "\\t" if candidate == "\t" else candidate
            raise InputError(
                f"{path} was read as a single column {header!r}: the delimiter looks like "
                f"{shown!r}. Pass delimiter='{shown}'."
            )


def _is_spark_dataframe(source: Any) -> bool:
    module = type(source).__module__
    return module.startswith("pyspark.") and type(source).__name__ == "DataFrame"


def _arrow(source: Any):
    """An in-memory table (pandas, polars, pyarrow) as an Arrow table."""
    import pyarrow as pa

    module = type(source).__module__.split(".")[0]
    if module == "pyarrow":
        return source if isinstance(source, pa.Table) else pa.table(source)
    if module == "polars":
        return source.to_arrow()
    if module == "pandas":
        return pa.Table.from_pandas(source.rename(columns=str), preserve_index=False)
    raise InputError(
        f"Cannot read a {type(source).__name__}: pass a file path, a Spark table (spark:NAME), "
        "a Spark, pandas or polars DataFrame, or a pyarrow Table."
    )


def _read_with_duckdb(path: str, table: str | None, delimiter: str | None,
                      encoding: str | None = None):
    from rfmkit.engines.duckdb import DuckDBEngine

    reader = DuckDBEngine(threads=1)
    try:
        rel = reader.read(path, table=table, delimiter=delimiter, encoding=encoding)
        result = reader.con.sql(f"SELECT * FROM {rel.handle}")
        return (getattr(result, "to_arrow_table", None) or result.arrow)()
    finally:
        reader.close()


def _to_pandas(df: Any) -> pd.DataFrame:
    """A (small) Spark DataFrame as pandas, through Arrow; sorted by customer id if it has one."""
    if hasattr(df, "toArrow"):
        out = df.toArrow().to_pandas()
    else:  # PySpark 3.5
        out = df.toPandas()
    if CUSTOMER_ID in out.columns:
        out = out.sort_values(CUSTOMER_ID, kind="stable").reset_index(drop=True)
    return out
