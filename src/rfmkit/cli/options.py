"""The options several commands share, declared once (Typer's Annotated style)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Fmt(str, Enum):
    parquet = "parquet"
    csv = "csv"


class Projection(str, Enum):
    pca = "pca"
    tsne = "tsne"


class Dialect(str, Enum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"
    snowflake = "snowflake"
    bigquery = "bigquery"


def _column(flag: str, text: str) -> object:
    return typer.Option(flag, help=text, rich_help_panel="Columns")


Customer = Annotated[str | None, _column("--customer", "Customer id column.")]
Order = Annotated[str | None, _column("--order", "Order / invoice id column.")]
DateCol = Annotated[str | None, _column("--date", "Order date column.")]
Amount = Annotated[str | None, _column("--amount", "Order amount column.")]
Quantity = Annotated[str | None, _column("--quantity", "Quantity (line items).")]
Price = Annotated[str | None, _column("--price", "Unit price (line items).")]
RecencyCol = Annotated[str | None, _column("--recency", "Recency column (customer-level input).")]
FrequencyCol = Annotated[str | None, _column(
    "--frequency-column", "Frequency column (customer-level input).")]
MonetaryCol = Annotated[str | None, _column(
    "--monetary-column", "Monetary column (customer-level input).")]
TableOpt = Annotated[str | None, typer.Option(
    "--table", help="Table in a DuckDB database, or sheet of a workbook.",
    rich_help_panel="Input")]
Delimiter = Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter.",
                                               rich_help_panel="Input")]
DateFormat = Annotated[str | None, typer.Option(
    "--date-format", help="strptime format of text dates, e.g. '%d/%m/%Y %H:%M'.",
    rich_help_panel="Input")]
DayFirst = Annotated[bool | None, typer.Option(
    "--dayfirst/--monthfirst", help="Read text dates such as 01/02/2023 day-first or "
    "month-first (default: the values decide; ambiguous dates are an error).",
    show_default=False, rich_help_panel="Input")]
Encoding = Annotated[str | None, typer.Option(
    "--encoding", help="Text encoding of a CSV, e.g. latin-1 or utf-16 (default: UTF-8; a "
    "byte-order mark is detected).", rich_help_panel="Input")]
Decimal = Annotated[str | None, typer.Option(
    "--decimal", help="Decimal mark of text amounts: . or , as in pandas' read_csv (default: "
    "the model's when applying one, else . and values written otherwise are an error).",
    rich_help_panel="Input")]
Thousands = Annotated[str | None, typer.Option(
    "--thousands", help="Thousands separator of text amounts: , . ' or a space, e.g. "
    "--decimal , --thousands . for 1.234,50. Currency signs and codes ($ € £ ¥ USD ...) "
    "are always ignored, and counted.", rich_help_panel="Input")]
Engine = Annotated[str, typer.Option("--engine", help="duckdb (default), spark or postgres.",
                                     rich_help_panel="Input")]
SparkMaster = Annotated[str | None, typer.Option(
    "--spark-master", help="Master URL of the Spark session (--engine spark): local[*], "
    "spark://HOST:7077, yarn, ... Default: the active session, else local[2].",
    rich_help_panel="Input")]
Query = Annotated[str | None, typer.Option(
    "--query", help="SELECT returning the transactions, instead of --table (--engine postgres; "
    "runs inside the database).", rich_help_panel="Input")]
Threads = Annotated[int | None, typer.Option(
    "--threads", min=1, help="Worker threads of DuckDB, or cores of a new Spark session "
    "(default: all cores). Results never depend on it.", show_default=False,
    rich_help_panel="Input")]
MemoryLimit = Annotated[str | None, typer.Option(
    "--memory-limit", help="Memory for the engine, e.g. 2GB: DuckDB spills to a private "
    "temporary folder beyond it; for Spark, the driver's memory (local) or each executor's.",
    show_default=False, rich_help_panel="Input")]
AsOfApplied = Annotated[str | None, typer.Option(
    "--as-of", help="Reference date (default: the model's policy).")]
ModelPath = Annotated[Path, typer.Option("--model", "-m", help="model.json to apply.")]
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
JsonSummary = Annotated[bool, typer.Option(
    "--json", help="Print the run's summary as one JSON object on stdout, for schedulers "
    "(docs/cli.md); an error is one too. Progress and warnings stay on stderr.",
    rich_help_panel="Output")]


def date_order(dayfirst: bool | None) -> str | None:
    """--dayfirst/--monthfirst as the library's date_order."""
    return None if dayfirst is None else ("dayfirst" if dayfirst else "monthfirst")


def engine_options(spark_master: str | None, query: str | None, threads: int | None = None,
                   memory_limit: str | None = None) -> dict[str, object]:
    """--spark-master, --query, --threads and --memory-limit as the library's engine options."""
    options = {"master": spark_master, "query": query, "threads": threads,
               "memory_limit": memory_limit}
    return {name: value for name, value in options.items() if value is not None}
Currency = Annotated[str | None, typer.Option(
    "--currency", help="Currency of the amounts: an ISO code (EUR, USD, GBP, ...) or a symbol "
    "(€), for descriptions, tables and the report; a model keeps it (report: default the "
    "model's).", rich_help_panel="Report")]
