"""What the command line prints: a status line, the run's summary tables, errors, warnings."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import rfmkit
from rfmkit.cli.flags import to_flags

out = Console()
err = Console(stderr=True)


class Status:
    """A spinner on a terminal's stderr while a command works; nothing when quiet or piped."""

    def __init__(self, quiet: bool, text: str):
        self.ctx = None if quiet or not err.is_terminal else err.status(text + "…")

    def __enter__(self) -> Status:
        if self.ctx is not None:
            self.ctx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool:
        if self.ctx is not None:
            self.ctx.__exit__(*exc)
        return False


def print_error(message: str) -> None:
    err.print(f"[bold red]Error:[/] {escape(to_flags(message))}", highlight=False,
              soft_wrap=True)


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Each distinct warning once: rfmkit's as one yellow line; others (numpy, pandas, ...)
    handed back to Python's warning machinery, outside any recording, so its filters apply."""
    seen: set[tuple[type, str]] = set()
    for w in caught:
        key = (w.category, str(w.message))
        if key in seen:
            continue
        seen.add(key)
        if issubclass(w.category, rfmkit.RFMKitWarning):
            err.print(f"[yellow]Warning:[/] {escape(to_flags(str(w.message)))}",
                      highlight=False)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def print_summary(result: rfmkit.Segmentation, written: list[Path], seconds: float,
                  destination: str | None) -> None:
    q = result.quality
    out.print(
        f"[bold]{q.customers:,}[/] customers from {q.rows_used:,} of {q.rows_read:,} rows "
        f"({q.rows_dropped:,} dropped) · as of {q.as_of} · {seconds:.1f} s", highlight=False)
    dropped = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in q.dropped.items() if n)
    if dropped:
        out.print(f"Dropped: {dropped}", highlight=False)
    for note in q.warnings:
        out.print(f"[yellow]Warning:[/] {escape(to_flags(note))}", highlight=False)
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
    if destination:
        out.print(f"Wrote tables to {destination}", highlight=False)
