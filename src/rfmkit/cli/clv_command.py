"""``rfmkit clv``: customer lifetime value and P(alive) per customer, segment and cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

import rfmkit
from rfmkit.cli.commands import _columns, app
from rfmkit.cli.display import out
from rfmkit.cli.errors import handle_errors
from rfmkit.cli.feedback import Progress
from rfmkit.cli.options import (
    Amount,
    Customer,
    DateCol,
    DateFormat,
    DayFirst,
    Decimal,
    Delimiter,
    Encoding,
    Engine,
    JsonSummary,
    MemoryLimit,
    Order,
    OutDir,
    Price,
    Quantity,
    Query,
    Quiet,
    SparkMaster,
    TableOpt,
    Thousands,
    Threads,
    date_order,
    engine_options,
)


@app.command(epilog="""Examples:

  rfmkit clv cdnow.parquet --calibration-end 1997-09-30 --holdout-end 1998-06-30 --out clv/

  rfmkit clv orders.csv --calibration-end 2011-09-30 --model model.json --out clv/
""")
@handle_errors
def clv(
    input: Annotated[str, typer.Argument(help="Transactions (CSV, Parquet, ...).")],
    calibration_end: Annotated[str, typer.Option(
        "--calibration-end", help="Last day the models see (YYYY-MM-DD).")],
    out_dir: OutDir,
    holdout_end: Annotated[str | None, typer.Option(
        "--holdout-end", help="Also compare predictions with purchases up to this day.")
    ] = None,
    time_unit: Annotated[str, typer.Option(
        "--time-unit", help="day, week (default) or month.")] = "week",
    horizon: Annotated[float | None, typer.Option(
        "--horizon", help="Prediction length in time units (default: the holdout, else "
        "52 weeks).")] = None,
    discount_rate: Annotated[float, typer.Option(
        "--discount-rate", help="Annual discount rate of CLV, e.g. 0.1.")] = 0.0,
    model_path: Annotated[Path | None, typer.Option(
        "--model", "-m", help="RFM model.json: add each customer's segment and cluster.")
    ] = None,
    customer: Customer = None, order: Order = None, date: DateCol = None,
    amount: Amount = None, quantity: Quantity = None, price: Price = None,
    table: TableOpt = None, delimiter: Delimiter = None, date_format: DateFormat = None,
    dayfirst: DayFirst = None, encoding: Encoding = None, decimal: Decimal = None,
    thousands: Thousands = None, engine: Engine = "duckdb",
    spark_master: SparkMaster = None, query: Query = None,
    threads: Threads = None, memory_limit: MemoryLimit = None,
    quiet: Quiet = False, json_summary: JsonSummary = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma: P(alive), expected purchases and CLV per customer and
    segment."""
    columns = _columns(customer=customer, order=order, date=date, amount=amount,
                       quantity=quantity, price=price)
    with Progress(quiet, f"Fitting CLV models on {input}") as progress:
        job = rfmkit.run_clv(
            input, out_dir, calibration_end=calibration_end, holdout_end=holdout_end,
            time_unit=time_unit, horizon=horizon, discount_rate=discount_rate,
            model=model_path, columns=columns, date_format=date_format,
            date_order=date_order(dayfirst), engine=engine,
            engine_options=engine_options(spark_master, query, threads, memory_limit), table=table,
            delimiter=delimiter, encoding=encoding, decimal=decimal, thousands=thousands,
            progress=progress)
    if json_summary:
        return job.summary()
    if quiet:
        return
    m = job.model
    bg, gg = m.bg_nbd_.params, m.gamma_gamma_.params
    out.print(f"{m.n_customers_:,} customers ({m.n_repeat_buyers_:,} repeat buyers) · "
              f"calibration to {m.calibration_end_} · {job.seconds:.1f} s", highlight=False)
    out.print(f"BG/NBD r={bg['r']:.4g} alpha={bg['alpha']:.4g} a={bg['a']:.4g} "
              f"b={bg['b']:.4g} (LL {m.bg_nbd_.log_likelihood:,.1f}) · Gamma-Gamma "
              f"p={gg['p']:.4g} q={gg['q']:.4g} gamma={gg['v']:.4g}", highlight=False)
    total = float(job.customers["clv"].sum())
    out.print(f"Total CLV over {m.horizon_:g} {m.time_unit}s: {total:,.2f}", highlight=False)
    out.print("Wrote " + ", ".join(escape(str(p)) for p in job.written), highlight=False)
