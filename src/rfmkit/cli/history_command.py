"""``rfmkit history``: snapshots at many as-of dates, transitions, movers and their report."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

import rfmkit
from rfmkit.cli.commands import app
from rfmkit.cli.display import out
from rfmkit.cli.errors import handle_errors
from rfmkit.cli.feedback import Progress
from rfmkit.cli.options import (
    Decimal,
    Delimiter,
    Engine,
    JsonSummary,
    MemoryLimit,
    ModelPath,
    OutDir,
    Query,
    Quiet,
    SparkMaster,
    TableOpt,
    Thousands,
    Threads,
    To,
    engine_options,
)


class Every(str, Enum):
    month = "month"
    quarter = "quarter"
    week = "week"


_DATES = "Dates"


@app.command(epilog="""
[bold]Examples[/]

  rfmkit history orders.parquet --model results/model.json --every month --out history/

  rfmkit history orders.parquet -m model.json --as-of 2011-09-30 --as-of 2011-12-09 -o h/

  rfmkit history orders.parquet -m model.json --every month --out history/ --append
""")
@handle_errors
def history(
    input: Annotated[str, typer.Argument(help="Transactions (the model's columns).")],
    model_path: ModelPath,
    out_dir: OutDir,
    every: Annotated[Every | None, typer.Option(
        "--every", help="A snapshot at every month, quarter or week (Sunday) end.",
        rich_help_panel=_DATES)] = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First date for --every (default: the first period end after the "
        "model's as-of date).", rich_help_panel=_DATES)] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last date for --every (default: the latest purchase; the last "
        "snapshot falls on it).", rich_help_panel=_DATES)] = None,
    as_of: Annotated[list[str] | None, typer.Option(
        "--as-of", help="An as-of date (repeat for several), instead of --every.",
        rich_help_panel=_DATES)] = None,
    refit: Annotated[bool, typer.Option(
        "--refit", help="Re-learn bin edges and clusters at each date. Mixes population drift "
        "with behaviour: customers change segment because the edges move. Default: the "
        "model's frozen edges.", rich_help_panel=_DATES)] = False,
    append: Annotated[bool, typer.Option(
        "--append", help="Keep the snapshots in --out (and --to) and compute only new dates; "
        "idempotent per date.", rich_help_panel="Output")] = False,
    table: TableOpt = None, delimiter: Delimiter = None, decimal: Decimal = None,
    thousands: Thousands = None, engine: Engine = "duckdb",
    spark_master: SparkMaster = None, query: Query = None,
    threads: Threads = None, memory_limit: MemoryLimit = None,
    to: To = None, quiet: Quiet = False, json_summary: JsonSummary = False,
) -> None:
    """Score customers at many as-of dates with a frozen model: who moved between segments."""
    with Progress(quiet, f"Scoring {input} over time") as progress:
        job = rfmkit.run_history(
            input, model_path, out_dir, every=None if every is None else every.value,
            as_of=as_of or None, start=start, end=end, refit=refit, append=append, target=to,
            engine=engine, table=table,
            engine_options=engine_options(spark_master, query, threads, memory_limit),
            delimiter=delimiter, decimal=decimal, thousands=thousands, progress=progress)
    if json_summary:
        return job.summary()
    if quiet:
        return
    sizes = job.snapshots.groupby("as_of").size()
    grid = Table(title="Snapshots", title_justify="left")
    for col in ("as of", "customers", "moved down"):
        grid.add_column(col, justify="left" if col == "as of" else "right")
    last = sizes.index.max() if len(sizes) else None
    for day, n in sizes.items():
        down = f"{len(job.movers):,}" if day == last else ""
        grid.add_row(str(day.date()), f"{n:,}", down)
    out.print(grid)
    new = ", ".join(str(d) for d in job.computed) or "none (all stored already)"
    out.print(f"Computed {escape(new)} · {job.seconds:.1f} s", highlight=False)
    out.print("Wrote " + ", ".join(str(p) for p in job.written), highlight=False)
    if job.destination:
        out.print(f"Wrote rfm_snapshots to {escape(job.destination)}", highlight=False)
