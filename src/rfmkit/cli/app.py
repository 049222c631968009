"""The rfmkit command line: a thin translation layer over the public Python API."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import gc
import importlib
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import rfmkit
from rfmkit.presets import metric_settings, resolve_params

app = typer.Typer(
    name="rfmkit",
    help="RFM customer segmentation: metrics, scores, named segments and clusters.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
segments_app = typer.Typer(help="Inspect segment maps.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")

out = Console()
err = Console(stderr=True)
_state = {"debug": False}


class Fmt(str, Enum):
    parquet = "parquet"
    csv = "csv"


def handle_errors(fn):
    """Turn rfmkit's errors into one red paragraph and exit code 1 (traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", rfmkit.RFMKitWarning)
                try:
                    return fn(*args, **kwargs)
                finally:
                    for w in caught:
                        if issubclass(w.category, rfmkit.RFMKitWarning):
                            err.print(f"[yellow]Warning:[/] {w.message}", highlight=False)
                        else:
                            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        except rfmkit.RFMKitError as exc:
            if _state["debug"]:
                raise
            err.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except (OSError, MemoryError) as exc:
            if _state["debug"]:
                raise
            err.print(f"[bold red]Error:[/] {type(exc).__name__}: {exc}", highlight=False)
            raise typer.Exit(1) from None
        except Exception as exc:
            # MLflow's errors (unreachable tracking server, registry refusals) are the user's to
            # fix, not bugs: one paragraph, like rfmkit's own.
            if _state["debug"] or not type(exc).__module__.startswith("mlflow"):
                raise
            err.print(f"[bold red]Error:[/] MLflow: {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _print_version(value: bool) -> None:
    if value:
        out.print(f"rfmkit {rfmkit.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_print_version,
        is_eager=True)] = False,
) -> None:
    _state["debug"] = debug


# --- shared options --------------------------------------------------------------------------
Customer = Annotated[str | None, typer.Option("--customer", help="Customer id column.",
                                              rich_help_panel="Columns")]
Order = Annotated[str | None, typer.Option("--order", help="Order / invoice id column.",
                                           rich_help_panel="Columns")]
DateCol = Annotated[str | None, typer.Option("--date", help="Order date column.",
                                             rich_help_panel="Columns")]
Amount = Annotated[str | None, typer.Option("--amount", help="Order amount column.",
                                            rich_help_panel="Columns")]
Quantity = Annotated[str | None, typer.Option("--quantity", help="Quantity (line items).",
                                              rich_help_panel="Columns")]
Price = Annotated[str | None, typer.Option("--price", help="Unit price (line items).",
                                           rich_help_panel="Columns")]
RecencyCol = Annotated[str | None, typer.Option(
    "--recency", help="Recency column (customer-level input).", rich_help_panel="Columns")]
FrequencyCol = Annotated[str | None, typer.Option(
    "--frequency-column", help="Frequency column (customer-level input).",
    rich_help_panel="Columns")]
MonetaryCol = Annotated[str | None, typer.Option(
    "--monetary-column", help="Monetary column (customer-level input).",
    rich_help_panel="Columns")]
TableOpt = Annotated[str | None, typer.Option(
    "--table", help="Table in a DuckDB database, or sheet of a workbook.",
    rich_help_panel="Input")]
Delimiter = Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter.",
                                               rich_help_panel="Input")]
DateFormat = Annotated[str | None, typer.Option(
    "--date-format", help="strptime format of text dates, e.g. '%d/%m/%Y %H:%M'.",
    rich_help_panel="Input")]
Engine = Annotated[str, typer.Option("--engine", help="duckdb (default), spark or postgres.",
                                     rich_help_panel="Input")]
SparkMaster = Annotated[str | None, typer.Option(
    "--spark-master", help="Master URL of the Spark session (--engine spark): local[*], "
    "spark://HOST:7077, yarn, ... Default: the active session, else local[2].",
    rich_help_panel="Input")]
Query = Annotated[str | None, typer.Option(
    "--query", help="SELECT returning the transactions, instead of --table (--engine postgres; "
    "runs inside the database).", rich_help_panel="Input")]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder.",
                                      rich_help_panel="Output")]
FormatOpt = Annotated[Fmt, typer.Option("--format", help="Customer table format.",
                                        rich_help_panel="Output")]
To = Annotated[str | None, typer.Option(
    "--to", help="Also write tables to duckdb:PATH.db or postgresql://USER@HOST/DB "
    "(replaced atomically).",
    rich_help_panel="Output")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.",
                                     rich_help_panel="Output")]


def _preload_report() -> None:
    """Import the report's plotting and templating libraries in a background thread.

    The engines run their queries without holding the GIL, so this ~1 s of imports overlaps the
    aggregation instead of following it. Import locks make the main thread's later import wait
    for (or reuse) this one.
    """
    def preload() -> None:
        try:
            importlib.import_module("rfmkit.report.render")
        except Exception:  # noqa: BLE001 - the main thread's own import reports any problem
            pass

    threading.Thread(target=preload, name="rfmkit-preload-report", daemon=True).start()


@contextlib.contextmanager
def _chart_worker() -> Iterator[Any]:
    """A second process for the report's charts, started before they are needed so that it
    has loaded matplotlib when they are drawn (it and this process share the drawing)."""
    if (os.cpu_count() or 1) < 2:
        yield None
        return
    from rfmkit.chart_worker import start_chart_worker

    worker = start_chart_worker()
    try:
        yield worker
    finally:
        # waited for: it ends at once (see chart_worker), and then no thread is left running
        worker.shutdown(wait=True, cancel_futures=True)


class _ModelPreparation(threading.Thread):
    """Build and check the model in the background while the engine aggregates.

    A parameter error found here stops the engine's query (where the engine can be
    interrupted) so that it is reported at once, not after the aggregation.
    """

    def __init__(self, build: Any, engine: Any):
        super().__init__(name="rfmkit-prepare-model", daemon=True)
        self._build, self._engine = build, engine
        self.model: Any = None
        self.error: BaseException | None = None
        self.interrupted_engine = False

    def run(self) -> None:
        try:
            model = self._build()
            model.resolved_params()  # validates every parameter
            self.model = model
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            interrupt = getattr(self._engine, "interrupt", None)
            if interrupt is not None:
                self.interrupted_engine = True
                interrupt()

    def result(self) -> Any:
        self.join()
        if self.error is not None:
            raise self.error
        return self.model


@contextlib.contextmanager
def _engine(name: str, spark_master: str | None, query: str | None) -> Iterator[Any]:
    """The engine the options ask for, closed (temporary tables/views dropped) afterwards."""
    if spark_master is not None and name != "spark":
        raise rfmkit.ParameterError(
            f"--spark-master sets the Spark session's master; it needs --engine spark "
            f"(the engine is {name}).")
    if query is not None and name != "postgres":
        raise rfmkit.ParameterError(
            f"--query runs a SELECT inside PostgreSQL; it needs --engine postgres and a "
            f"postgresql:// input (the engine is {name}). For other inputs use --table.")
    options: dict[str, Any] = {}
    if spark_master is not None:
        options["master"] = spark_master
    if query is not None:
        options["query"] = query
    engine = rfmkit.get_engine(name, **options)
    try:
        yield engine
    finally:
        engine.close()


def _apply_model(model_path: Path, input: str, *, table: str | None, delimiter: str | None,
                 engine: str, spark_master: str | None, query: str | None,
                 as_of: str | None) -> tuple[rfmkit.RFMModel, rfmkit.Segmentation]:
    """Load a saved model and segment INPUT with it (what score and report share)."""
    model = rfmkit.load_model(model_path)
    with _engine(engine, spark_master, query) as eng:
        result = model.segment(input, table=table, delimiter=delimiter,
                               as_of=_parse_as_of(as_of), engine=eng)
    return model, result


def _columns(**roles: str | None) -> rfmkit.ColumnMapping | None:
    given = {k: v for k, v in roles.items() if v is not None}
    return rfmkit.ColumnMapping(**given) if given else None


def _parse_as_of(text: str | None) -> dt.date | None:
    return None if text is None else rfmkit.MetricOptions(as_of=text).as_of


def _parse_clusters(text: str | None) -> str | int | None:
    if text is None:
        return None
    if text in ("auto", "none"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise rfmkit.ParameterError(
            f"--clusters takes auto, none or a number of clusters; got {text!r}.") from None
    return value


def _caps(cap_frequency: float | None, cap_monetary: float | None, cap_quantile: float | None
          ) -> dict | None:
    caps: dict[str, Any] = {}
    if cap_quantile is not None:
        caps = {"frequency": f"q{cap_quantile}", "monetary": f"q{cap_quantile}"}
    if cap_frequency is not None:
        caps["frequency"] = float(cap_frequency)
    if cap_monetary is not None:
        caps["monetary"] = float(cap_monetary)
    return caps or None


# --- segment ---------------------------------------------------------------------------------
@app.command(epilog="""
[bold]Examples[/]

  rfmkit segment online_retail.xlsx --out results/

  rfmkit segment sales.csv --out results/ --customer client --date day --amount total

  rfmkit segment 'data/*.parquet' --out results/ --preset quintile --clusters auto

  rfmkit segment orders.parquet --out results/ --preset percentile --clusters 7 --to duckdb:crm.db
""")
@handle_errors
def segment(
    input: Annotated[str, typer.Argument(help="CSV/Parquet/xlsx/JSON file, glob, folder, or "
                                              "DuckDB database (with --table).")],
    out_dir: OutDir,
    preset: Annotated[str | None, typer.Option(
        "--preset", help="quintile (Method Q) or percentile (Method P); explicit flags win.",
        rich_help_panel="Method")] = None,
    customer: Customer = None, order: Order = None, date: DateCol = None, amount: Amount = None,
    quantity: Quantity = None, price: Price = None, recency: RecencyCol = None,
    frequency_column: FrequencyCol = None, monetary_column: MonetaryCol = None,
    table: TableOpt = None, delimiter: Delimiter = None, date_format: DateFormat = None,
    engine: Engine = "duckdb",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Reference date YYYY-MM-DD (default: latest purchase date).",
        rich_help_panel="Metrics")] = None,
    frequency: Annotated[str | None, typer.Option(
        "--frequency", help="orders, days or rows.", rich_help_panel="Metrics")] = None,
    monetary: Annotated[str | None, typer.Option(
        "--monetary", help="sum (total spend) or mean (per purchase).",
        rich_help_panel="Metrics")] = None,
    consolidate_days: Annotated[bool | None, typer.Option(
        "--consolidate-days/--no-consolidate-days",
        help="Sum each customer's amounts per calendar day first.",
        rich_help_panel="Metrics")] = None,
    returns: Annotated[str | None, typer.Option(
        "--returns", help="drop rows with amount <= 0, or net them against spend.",
        rich_help_panel="Cleaning")] = None,
    drop_duplicates: Annotated[bool | None, typer.Option(
        "--drop-duplicates/--keep-duplicates", help="Remove exact duplicate rows.",
        rich_help_panel="Cleaning")] = None,
    drop_cancellations: Annotated[bool | None, typer.Option(
        "--drop-cancellations/--keep-cancellations",
        help="Remove invoices starting with C.", rich_help_panel="Cleaning")] = None,
    score_method: Annotated[str | None, typer.Option(
        "--scores", help="quantile (1..n) or percentile (0-100).",
        rich_help_panel="Scores")] = None,
    bins: Annotated[int | None, typer.Option(
        "--bins", help="Number of quantile bins (default 5).", rich_help_panel="Scores")] = None,
    cap_frequency: Annotated[float | None, typer.Option(
        "--cap-frequency", help="Cap frequency at this value.", rich_help_panel="Scores")] = None,
    cap_monetary: Annotated[float | None, typer.Option(
        "--cap-monetary", help="Cap monetary at this value.", rich_help_panel="Scores")] = None,
    cap_quantile: Annotated[float | None, typer.Option(
        "--cap-quantile", help="Cap frequency and monetary at this quantile, e.g. 0.99.",
        rich_help_panel="Scores")] = None,
    segment_map: Annotated[str | None, typer.Option(
        "--segment-map", help="rfm-grid-11 (default), rf-10, r-rfm-0.3.0, or a JSON/YAML file.",
        rich_help_panel="Segments")] = None,
    clusters: Annotated[str | None, typer.Option(
        "--clusters", help="auto, a number, or none.", rich_help_panel="Clusters")] = None,
    k_min: Annotated[int | None, typer.Option("--k-min", rich_help_panel="Clusters")] = None,
    k_max: Annotated[int | None, typer.Option("--k-max", rich_help_panel="Clusters")] = None,
    criterion: Annotated[str | None, typer.Option(
        "--criterion", help="auto, silhouette or elbow.", rich_help_panel="Clusters")] = None,
    cluster_features: Annotated[str | None, typer.Option(
        "--cluster-features", help="scores or log-metrics.", rich_help_panel="Clusters")] = None,
    random_state: Annotated[int | None, typer.Option(
        "--random-state", help="Seed (default 0).", rich_help_panel="Clusters")] = None,
    previous_model: Annotated[Path | None, typer.Option(
        "--previous-model", help="Earlier model.json: carry cluster ids and names over.",
        rich_help_panel="Clusters")] = None,
    fmt: FormatOpt = Fmt.parquet, to: To = None, quiet: Quiet = False,
    spark_master: SparkMaster = None, query: Query = None,
    mlflow_register: Annotated[str | None, typer.Option(
        "--mlflow-register", help="Log the fitted model to MLflow and register it as a new "
        "version of this registered model.", rich_help_panel="MLflow")] = None,
    mlflow_alias: Annotated[str | None, typer.Option(
        "--mlflow-alias", help="Point this alias (e.g. champion) at the new version.",
        rich_help_panel="MLflow")] = None,
    mlflow_tracking_uri: Annotated[str | None, typer.Option(
        "--mlflow-tracking-uri", help="Tracking server / registry, e.g. sqlite:///mlflow.db "
        "(default: MLFLOW_TRACKING_URI).", rich_help_panel="MLflow")] = None,
) -> None:
    """Compute RFM metrics, scores, segments and clusters; write them and model.json to --out."""
    if (mlflow_alias or mlflow_tracking_uri) and not mlflow_register:
        given = "--mlflow-alias" if mlflow_alias else "--mlflow-tracking-uri"
        raise rfmkit.ParameterError(
            f"{given} applies to the model that --mlflow-register NAME logs and registers; "
            "add --mlflow-register NAME.")
    given = dict(
        columns=_columns(customer=customer, order=order, date=date, amount=amount,
                         quantity=quantity, price=price, recency=recency,
                         frequency=frequency_column, monetary=monetary_column),
        as_of=_parse_as_of(as_of), frequency=frequency, monetary=monetary,
        consolidate_days=consolidate_days, date_format=date_format, returns=returns,
        drop_duplicates=drop_duplicates, drop_cancellations=drop_cancellations,
        score_method=score_method, n_bins=bins,
        caps=_caps(cap_frequency, cap_monetary, cap_quantile), segment_map=segment_map,
        n_clusters=_parse_clusters(clusters), cluster_features=cluster_features,
        criterion=criterion, k_min=k_min, k_max=k_max, random_state=random_state,
    )
    # The metric definitions need no modelling library: the engine starts at once, and the
    # model (scikit-learn, matplotlib: ~1.5 s of imports) is prepared while it aggregates.
    options, cleaning = metric_settings(resolve_params(preset, given))
    started = time.perf_counter()
    with _status(quiet, f"Segmenting {input}"), contextlib.ExitStack() as stack, \
            _engine(engine, spark_master, query) as eng:
        # Imports hold the GIL: the engine's (pandas, DuckDB) come first, so that the
        # background imports below overlap the query instead of delaying its start.
        compute_rfm = rfmkit.compute_rfm
        _preload_report()
        preparation = _ModelPreparation(
            lambda: rfmkit.RFMModel(
                preset, **given, engine=engine,
                previous_model=rfmkit.load_model(previous_model) if previous_model else None),
            eng)
        preparation.start()
        try:
            rfm = compute_rfm(input, columns=given["columns"], options=options,
                              cleaning=cleaning, engine=eng, table=table, delimiter=delimiter)
        except Exception:
            if preparation.interrupted_engine:  # a parameter error stopped the engine
                preparation.join()
                raise preparation.error from None
            raise
        # Started now, not with the engine: on a small machine its start-up (~1 s of imports)
        # would compete with the engine for the cores; now it overlaps the model fit.
        charts = stack.enter_context(_chart_worker())
        model = preparation.result()
        model.fit(rfm)
        result = model.result_
        files = rfmkit.segmentation_files(result, fmt=fmt.value, model=model,
                                          chart_executor=charts)
        written = rfmkit.write_files(out_dir, files)
        if to:
            rfmkit.write_destination(to, result)
    if not quiet:
        _summary(result, written, time.perf_counter() - started, to)
    if mlflow_register:
        with _status(quiet, f"Registering the model as {mlflow_register} in MLflow"):
            info = rfmkit.log_model(model, registered_model_name=mlflow_register,
                                    alias=mlflow_alias, tracking_uri=mlflow_tracking_uri)
        if not quiet:
            alias_note = f", alias {mlflow_alias!r}" if mlflow_alias else ""
            out.print(f"Registered {mlflow_register} version {info.registered_model_version}"
                      f"{alias_note} ({info.model_uri})", highlight=False)


# --- score -----------------------------------------------------------------------------------
@app.command(epilog="""
[bold]Examples[/]

  rfmkit score this_week.parquet --model results/model.json --out scored/

  rfmkit score customers.csv --model model.json --out scored/ --format csv

  rfmkit score crm.db --table orders --model model.json --into rfm_assignments

  rfmkit score spark:sales.orders --engine spark --model model.json --into crm.rfm_assignments
""")
@handle_errors
def score(
    input: Annotated[str, typer.Argument(help="Transactions or a customer-level table.")],
    model_path: Annotated[Path, typer.Option("--model", "-m", help="model.json to apply.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder (not with --into).", rich_help_panel="Output")
    ] = None,
    table: TableOpt = None, delimiter: Delimiter = None, engine: Engine = "duckdb",
    spark_master: SparkMaster = None, query: Query = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Reference date (default: the model's policy).")] = None,
    fmt: FormatOpt = Fmt.parquet, to: To = None, quiet: Quiet = False,
    into: Annotated[str | None, typer.Option(
        "--into", help="Score inside the engine and write the assignments to TABLE in the same "
        "database: nothing leaves the database. DuckDB: a database file input (PATH.db "
        "--table T); PostgreSQL: the input database; Spark: the session's catalog.",
        rich_help_panel="Output")] = None,
) -> None:
    """Apply a saved model to new data: frozen bin edges, segment map and clusters."""
    if into is not None:
        _score_into(input, model_path, into, out_dir=out_dir, to=to, table=table,
                    delimiter=delimiter, engine=engine, spark_master=spark_master, query=query,
                    as_of=as_of, quiet=quiet)
        return
    if out_dir is None:
        raise rfmkit.ParameterError(
            "Missing option --out: give an output folder, or --into TABLE to score inside the "
            "engine and write the assignments to a table of the input's database.")
    started = time.perf_counter()
    with _status(quiet, f"Scoring {input}"):
        _, result = _apply_model(model_path, input, table=table, delimiter=delimiter,
                                 engine=engine, spark_master=spark_master, query=query,
                                 as_of=as_of)
        written = rfmkit.write_files(out_dir, rfmkit.segmentation_files(result, fmt=fmt.value))
        if to:
            rfmkit.write_destination(to, result)
    if not quiet:
        _summary(result, written, time.perf_counter() - started, to)


def _score_into(input: str, model_path: Path, into: str, *, out_dir: Path | None,
                to: str | None, table: str | None, delimiter: str | None, engine: str,
                spark_master: str | None, query: str | None, as_of: str | None,
                quiet: bool) -> None:
    """score --into: the model as SQL, run inside the engine; only a row count comes back."""
    given = [flag for flag, value in (("--out", out_dir), ("--to", to)) if value is not None]
    if given:
        raise rfmkit.ParameterError(
            f"--into keeps the assignments in the database; {' and '.join(given)} would bring "
            "them into Python to write elsewhere. Run a separate `rfmkit score` for that.")
    started = time.perf_counter()
    model = rfmkit.load_model(model_path)
    with _status(quiet, f"Scoring {input} inside {engine}"), \
            _engine(engine, spark_master, query) as eng:
        written = rfmkit.score_in_engine(model, input, engine=eng, table=table,
                                         delimiter=delimiter, as_of=_parse_as_of(as_of),
                                         into=into)
    if not quiet:
        out.print(f"Wrote [bold]{written.rows:,}[/] customers to {escape(written.table)} "
                  f"({written.engine}) · {time.perf_counter() - started:.1f} s", highlight=False)


# --- report ----------------------------------------------------------------------------------
class Projection(str, Enum):
    pca = "pca"
    tsne = "tsne"


@app.command(epilog="""
[bold]Examples[/]

  rfmkit report this_week.parquet --model results/model.json --out report/

  rfmkit report orders.csv -m model.json -o report/ --title "Q3 customers" --projection tsne
""")
@handle_errors
def report(
    input: Annotated[str, typer.Argument(help="Transactions or a customer-level table.")],
    model_path: Annotated[Path, typer.Option("--model", "-m", help="model.json to apply.")],
    out_dir: OutDir,
    table: TableOpt = None, delimiter: Delimiter = None, engine: Engine = "duckdb",
    spark_master: SparkMaster = None, query: Query = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Reference date (default: the model's policy).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the report.")] = None,
    projection: Annotated[Projection, typer.Option(
        "--projection", help="Cluster map: pca (all customers) or tsne (seeded sample).")
    ] = Projection.pca,
    quiet: Quiet = False,
) -> None:
    """Apply a saved model to INPUT and write report.html: one self-contained HTML file."""
    _preload_report()
    with _status(quiet, f"Reporting on {input}"), contextlib.ExitStack() as stack:
        model, result = _apply_model(model_path, input, table=table, delimiter=delimiter,
                                     engine=engine, spark_master=spark_master, query=query,
                                     as_of=as_of)
        charts = stack.enter_context(_chart_worker())  # after the engine, as in segment
        page = rfmkit.build_report(model, result, title=title,
                                   projection=projection.value).html(charts)
        written = rfmkit.write_files(
            out_dir, {"report.html": lambda p: p.write_text(page, encoding="utf-8")})
    if not quiet:
        out.print(f"Wrote {written[0]}", highlight=False)


# --- sql -------------------------------------------------------------------------------------
class Dialect(str, Enum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"
    snowflake = "snowflake"
    bigquery = "bigquery"


@app.command(epilog="""
[bold]Examples[/]

  rfmkit sql --model results/model.json --dialect postgres --source sales.transactions

  rfmkit sql --model model.json --dialect spark --source transactions > score.sql
""")
@handle_errors
def sql(
    model_path: Annotated[Path, typer.Option("--model", "-m", help="model.json to export.")],
    dialect: Annotated[Dialect, typer.Option("--dialect", help="Target SQL dialect.")
                       ] = Dialect.duckdb,
    source: Annotated[str, typer.Option(
        "--source", help="Transactions table (schema.table allowed; every part is quoted).")
    ] = "transactions",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Fixed reference date (default: the model's policy).")] = None,
) -> None:
    """Print one SQL query that scores customers inside a database exactly like `score`."""
    model = rfmkit.load_model(model_path)
    typer.echo(rfmkit.model_sql(model, dialect=dialect.value, source=source,
                                as_of=_parse_as_of(as_of)))


# --- demo ------------------------------------------------------------------------------------
@app.command(epilog="""
[bold]Examples[/]

  rfmkit demo --out rfmkit-demo

  rfmkit demo --out big --rows 10000000 --no-segment
""")
@handle_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")
                       ] = Path("rfmkit-demo"),
    rows: Annotated[int, typer.Option("--rows", help="Transactions to generate.")] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    run_segment: Annotated[bool, typer.Option(
        "--segment/--no-segment", help="Also segment the generated data.")] = True,
    quiet: Quiet = False,
) -> None:
    """Generate realistic synthetic transactions and segment them (the quick tour)."""
    if rows < 1:
        raise rfmkit.ParameterError(f"--rows must be at least 1; got {rows}.")
    with _status(quiet, f"Generating {rows:,} transactions"):
        data = rfmkit.write_transactions(out_dir / "transactions.parquet", rows, seed=seed)
    if not quiet:
        out.print(f"Wrote {data} ({rows:,} line items, seed {seed}).")
    if run_segment:
        segment(str(data), out_dir, quiet=quiet)


# --- segments maps ---------------------------------------------------------------------------
@segments_app.command("check", epilog="""
[bold]Examples[/]

  rfmkit segments check rfm-grid-11

  rfmkit segments check my_map.yaml
""")
@handle_errors
def segments_check(
    segment_map: Annotated[str, typer.Argument(help="Built-in map name or JSON/YAML file.")],
) -> None:
    """Audit a segment map: coverage, overlaps, unreachable segments. Exit 1 if incomplete."""
    audit = rfmkit.load_segment_map(segment_map).audit()
    out.print(audit.to_text(), highlight=False)
    if not audit.is_complete_partition and audit.unassigned_without_fallback:
        raise typer.Exit(1)


@segments_app.command("list")
@handle_errors
def segments_list() -> None:
    """List the built-in segment maps."""
    for name in rfmkit.builtin_segment_maps():
        seg_map = rfmkit.load_segment_map(name)
        out.print(f"[bold]{name}[/]: {seg_map.description}", highlight=False)


# --- presentation ----------------------------------------------------------------------------
class _status:
    def __init__(self, quiet: bool, text: str):
        self.ctx = None if quiet or not err.is_terminal else err.status(text + "…")

    def __enter__(self):
        if self.ctx is not None:
            self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.__exit__(*exc)
        return False


def _summary(result: rfmkit.Segmentation, written: list[Path], seconds: float,
             to: str | None) -> None:
    q = result.quality
    out.print(
        f"[bold]{q.customers:,}[/] customers from {q.rows_used:,} of {q.rows_read:,} rows "
        f"({q.rows_dropped:,} dropped) · as of {q.as_of} · {seconds:.1f} s", highlight=False)
    dropped = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in q.dropped.items() if n)
    if dropped:
        out.print(f"Dropped: {dropped}", highlight=False)
    for note in q.warnings:
        out.print(f"[yellow]Warning:[/] {note}", highlight=False)
    table = Table(title="Segments", title_justify="left")
    for col, just in (("segment", "left"), ("customers", "right"), ("share", "right"),
                      ("revenue share", "right"), ("mean R", "right"), ("mean F", "right"),
                      ("mean M", "right")):
        table.add_column(col, justify=just, no_wrap=True)
    for row in result.segments.itertuples(index=False):
        table.add_row(row.segment, f"{row.customers:,}", f"{row.customer_share:.1%}",
                      f"{row.revenue_share:.1%}", f"{row.recency_mean:,.0f}",
                      f"{row.frequency_mean:,.1f}", f"{row.monetary_mean:,.2f}")
    out.print(table)
    if result.clusters is not None:
        ct = Table(title="Clusters", title_justify="left")
        for col in ("cluster", "name", "customers", "revenue share"):
            ct.add_column(col, no_wrap=True, justify="left" if col == "name" else "right")
        ct.add_column("description")
        for row in result.clusters.itertuples(index=False):
            ct.add_row(str(row.cluster), row.cluster_name, f"{row.customers:,}",
                       f"{row.revenue_share:.1%}", row.description)
        out.print(ct)
    out.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)
    if to:
        out.print(f"Wrote tables to {to}", highlight=False)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (also the console script's entry point)."""
    try:
        result = app(args=argv, prog_name="rfmkit", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("Aborted.")
        return 130
    except Exception as exc:
        # Usage errors (unknown option, bad value) from Typer's bundled click: print, exit 2.
        code = getattr(exc, "exit_code", None)
        if callable(getattr(exc, "show", None)) and isinstance(code, int):
            exc.show()
            return code
        raise
    return result if isinstance(result, int) else 0


def run() -> None:
    """The console script and ``python -m rfmkit``: :func:`main`, then the process ends."""
    # Full collections (every object of every module) ran ~4 times while scikit-learn, pandas
    # and matplotlib loaded, ~0.35 s of CPU for nothing: only one in ten times as many now.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)
    code = main()
    if any(not thread.daemon for thread in threading.enumerate()
           if thread is not threading.current_thread()):
        sys.exit(code)  # a library's thread may need the usual exit to stop: let it have it
    # Tearing the interpreter down collects every object of every module loaded (scikit-learn,
    # SciPy, pandas, matplotlib): about a second after a segmentation, for a process that ends
    # anyway. Output files are closed and renamed by now; the exit handlers other libraries
    # register still run and the standard streams are flushed, then the process exits as is.
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # e.g. stdout piped into `head`: fail as Python's own exit would
        code = code or 120
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
