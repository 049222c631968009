"""The commands: each parses its flags, makes one call to the public API, and prints."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

import rfmkit
from rfmkit.cli.display import Status, out, print_summary
from rfmkit.cli.errors import handle_errors
from rfmkit.cli.feedback import Progress
from rfmkit.cli.options import (
    Amount,
    AsOfApplied,
    Currency,
    Customer,
    DateCol,
    DateFormat,
    DayFirst,
    Decimal,
    Delimiter,
    Dialect,
    Encoding,
    Engine,
    Fmt,
    FormatOpt,
    FrequencyCol,
    JsonSummary,
    MemoryLimit,
    ModelPath,
    MonetaryCol,
    Order,
    OutDir,
    Price,
    Projection,
    Quantity,
    Query,
    Quiet,
    RecencyCol,
    SparkMaster,
    TableOpt,
    Thousands,
    Threads,
    To,
    date_order,
    engine_options,
)

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


def _columns(**roles: str | None) -> rfmkit.ColumnMapping | None:
    given = {k: v for k, v in roles.items() if v is not None}
    return rfmkit.ColumnMapping(**given) if given else None


def _parse_clusters(text: str | None) -> str | int | None:
    if text is None or text in ("auto", "none"):
        return text
    try:
        return int(text)
    except ValueError:
        raise rfmkit.ParameterError(
            f"--clusters takes auto, none or a number of clusters; got {text!r}.") from None


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
    table: TableOpt = None, delimiter: Delimiter = None, encoding: Encoding = None,
    date_format: DateFormat = None, dayfirst: DayFirst = None, decimal: Decimal = None,
    thousands: Thousands = None, engine: Engine = "duckdb",
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
        "--segment-map", help="rfm-grid-11 (default), rf-10, r-rfm-0.3.0, none (no segments), "
        "or a JSON/YAML file (docs/segment-maps.md).",
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
    json_summary: JsonSummary = False, spark_master: SparkMaster = None, query: Query = None,
    threads: Threads = None, memory_limit: MemoryLimit = None,
    mlflow_register: Annotated[str | None, typer.Option(
        "--mlflow-register", help="Log the fitted model to MLflow and register it as a new "
        "version of this registered model.", rich_help_panel="MLflow")] = None,
    mlflow_alias: Annotated[str | None, typer.Option(
        "--mlflow-alias", help="Point this alias (e.g. champion) at the new version.",
        rich_help_panel="MLflow")] = None,
    mlflow_tracking_uri: Annotated[str | None, typer.Option(
        "--mlflow-tracking-uri", help="Tracking server / registry, e.g. sqlite:///mlflow.db "
        "(default: MLFLOW_TRACKING_URI).", rich_help_panel="MLflow")] = None,
    currency: Currency = None,
) -> None:
    """Compute RFM metrics, scores, segments and clusters; write them and model.json to --out."""
    params = dict(
        columns=_columns(customer=customer, order=order, date=date, amount=amount,
                         quantity=quantity, price=price, recency=recency,
                         frequency=frequency_column, monetary=monetary_column),
        as_of=as_of, frequency=frequency, monetary=monetary,
        consolidate_days=consolidate_days, date_format=date_format,
        date_order=date_order(dayfirst), returns=returns,
        drop_duplicates=drop_duplicates, drop_cancellations=drop_cancellations,
        score_method=score_method, n_bins=bins,
        caps=_caps(cap_frequency, cap_monetary, cap_quantile), segment_map=segment_map,
        n_clusters=_parse_clusters(clusters), cluster_features=cluster_features,
        criterion=criterion, k_min=k_min, k_max=k_max, random_state=random_state,
    )
    with Progress(quiet, f"Segmenting {input}") as progress:
        job = rfmkit.run_segment(
            input, out_dir, preset=preset, params=params, engine=engine,
            engine_options=engine_options(spark_master, query, threads, memory_limit), table=table,
            delimiter=delimiter, encoding=encoding, fmt=fmt.value, target=to,
            decimal=decimal, thousands=thousands, previous_model=previous_model,
            registered_model_name=mlflow_register, alias=mlflow_alias,
            tracking_uri=mlflow_tracking_uri, currency=currency, progress=progress)
    if json_summary:
        return job.summary()
    if quiet:
        return
    print_summary(job.result, job.written, job.seconds, to,
                  currency=job.model.params_.get("currency"))
    if job.registered is not None:
        alias_note = f", alias {mlflow_alias!r}" if mlflow_alias else ""
        out.print(f"Registered {mlflow_register} version {job.registered.registered_model_version}"
                  f"{alias_note} ({job.registered.model_uri})", highlight=False)


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
    model_path: ModelPath,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder (not with --into).", rich_help_panel="Output")
    ] = None,
    table: TableOpt = None, delimiter: Delimiter = None, encoding: Encoding = None,
    decimal: Decimal = None, thousands: Thousands = None, engine: Engine = "duckdb",
    spark_master: SparkMaster = None, query: Query = None,
    threads: Threads = None, memory_limit: MemoryLimit = None,
    as_of: AsOfApplied = None,
    fmt: FormatOpt = Fmt.parquet, to: To = None, quiet: Quiet = False,
    json_summary: JsonSummary = False,
    into: Annotated[str | None, typer.Option(
        "--into", help="Score inside the engine and write the assignments to TABLE in the same "
        "database: nothing leaves the database. DuckDB: a database file input (PATH.db "
        "--table T); PostgreSQL: the input database; Spark: the session's catalog.",
        rich_help_panel="Output")] = None,
) -> None:
    """Apply a saved model to new data: frozen bin edges, segment map and clusters."""
    options = engine_options(spark_master, query, threads, memory_limit)
    if into is not None:
        given = [flag for flag, value in (("--out", out_dir), ("--to", to)) if value is not None]
        if given:
            raise rfmkit.ParameterError(
                f"--into keeps the assignments in the database; {' and '.join(given)} would "
                "bring them into Python to write elsewhere. Run a separate `rfmkit score` for "
                "that.")
        started = time.perf_counter()
        with Progress(quiet, f"Scoring {input} inside {engine}") as progress:
            written = rfmkit.run_score_in_engine(
                input, model_path, into, engine=engine, engine_options=options, table=table,
                delimiter=delimiter, encoding=encoding, as_of=as_of, decimal=decimal,
                thousands=thousands, progress=progress)
        if json_summary:
            return {"input": input, "table": written.table, "engine": written.engine,
                    "customers": written.rows,
                    "seconds": round(time.perf_counter() - started, 3)}
        if not quiet:
            out.print(f"Wrote [bold]{written.rows:,}[/] customers to {escape(written.table)} "
                      f"({written.engine}) · {time.perf_counter() - started:.1f} s",
                      highlight=False)
        return
    if out_dir is None:
        raise rfmkit.ParameterError(
            "Missing option --out: give an output folder, or --into TABLE to score inside the "
            "engine and write the assignments to a table of the input's database.")
    with Progress(quiet, f"Scoring {input}") as progress:
        job = rfmkit.run_score(input, model_path, out_dir, engine=engine, engine_options=options,
                               table=table, delimiter=delimiter, encoding=encoding,
                               as_of=as_of, fmt=fmt.value, target=to, decimal=decimal,
                               thousands=thousands, progress=progress)
    if json_summary:
        return job.summary()
    if not quiet:
        print_summary(job.result, job.written, job.seconds, to,
                  currency=job.model.params_.get("currency"))


# --- report ----------------------------------------------------------------------------------
@app.command(epilog="""
[bold]Examples[/]

  rfmkit report this_week.parquet --model results/model.json --out report/

  rfmkit report orders.csv -m model.json -o report/ --title "Q3 customers" --projection tsne
""")
@handle_errors
def report(
    input: Annotated[str, typer.Argument(help="Transactions or a customer-level table.")],
    model_path: ModelPath,
    out_dir: OutDir,
    table: TableOpt = None, delimiter: Delimiter = None, encoding: Encoding = None,
    decimal: Decimal = None, thousands: Thousands = None, engine: Engine = "duckdb",
    spark_master: SparkMaster = None, query: Query = None,
    threads: Threads = None, memory_limit: MemoryLimit = None,
    as_of: AsOfApplied = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the report.")] = None,
    projection: Annotated[Projection, typer.Option(
        "--projection", help="Cluster map: pca (default; fast at any size) or tsne (a seeded "
        "sample of at most 2,000 customers; a few seconds more).")
    ] = Projection.pca,
    currency: Currency = None,
    quiet: Quiet = False, json_summary: JsonSummary = False,
) -> None:
    """Apply a saved model to INPUT and write report.html: one self-contained HTML file."""
    with Progress(quiet, f"Reporting on {input}") as progress:
        job = rfmkit.run_report(input, model_path, out_dir, engine=engine,
                                engine_options=engine_options(spark_master, query, threads,
                                                              memory_limit), table=table,
                                delimiter=delimiter, encoding=encoding, as_of=as_of, title=title,
                                projection=projection.value, currency=currency,
                                decimal=decimal, thousands=thousands, progress=progress)
    if json_summary:
        return job.summary()
    if not quiet:
        out.print(f"Wrote {job.written[0]}", highlight=False)


# --- sql -------------------------------------------------------------------------------------
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
    as_of_param: Annotated[bool, typer.Option(
        "--as-of-param", help="The as-of date as a bind parameter (duckdb $as_of, postgres "
        "%(as_of)s, spark :as_of, snowflake %(as_of)s, bigquery @as_of): one query for every "
        "scheduled snapshot.")] = False,
) -> None:
    """Print one SQL query that scores customers inside a database exactly like `score`."""
    if as_of_param:
        if as_of is not None:
            raise rfmkit.ParameterError("--as-of-param leaves the date to the query's caller; "
                                        "leave --as-of out.")
        typer.echo(rfmkit.model_sql_as_of_param(model_path, dialect=dialect.value,
                                                source=source))
        return
    typer.echo(rfmkit.model_sql(model_path, dialect=dialect.value, source=source, as_of=as_of))


# --- demo ------------------------------------------------------------------------------------
@app.command(epilog="""
[bold]Examples[/]

  rfmkit demo --out rfmkit-demo

  rfmkit demo --out big --rows 10000000 --no-segment

  rfmkit demo --out rfmkit-demo --currency EUR
""")
@handle_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")
                       ] = Path("rfmkit-demo"),
    rows: Annotated[int, typer.Option("--rows", help="Transactions to generate.")] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    run_segment: Annotated[bool, typer.Option(
        "--segment/--no-segment", help="Also segment the generated data.")] = True,
    currency: Currency = None,
    quiet: Quiet = False,
) -> None:
    """Generate realistic synthetic transactions and segment them (the quick tour)."""
    with Status(quiet, f"Generating {rows:,} transactions"):
        data = rfmkit.write_transactions(out_dir / "transactions.parquet", rows, seed=seed)
    if not quiet:
        out.print(f"Wrote {data} ({rows:,} line items, seed {seed}).")
    if run_segment:
        segment(str(data), out_dir, currency=currency, quiet=quiet)


# --- segment maps ----------------------------------------------------------------------------
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
