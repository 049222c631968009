"""What the command line prints: a status line, the run's summary tables, errors, warnings."""

from __future__ import annotations

import math
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


class Col:
    """A column of a summary table: numbers never wrap or shrink; text wraps. Columns with a
    higher ``drop`` rank leave first when the terminal is too narrow (0: always shown)."""

    def __init__(self, header: str, *, number: bool = True, drop: int = 0, min_width: int = 8):
        self.header, self.number, self.drop, self.min_width = header, number, drop, min_width


def _cell(value: float, spec: str) -> str:
    """A number as text; "–" where there is none (an empty segment has no mean)."""
    try:
        return "–" if not math.isfinite(value) else format(value, spec)
    except TypeError:
        return "–"


def _fitted_table(title: str, columns: list[Col], rows: list[list[str]]) -> Table:
    """A table that fits the console without cutting a number: text columns wrap, and columns
    that still do not fit are left out (named under the table)."""
    def need(col: Col, cells: list[str]) -> int:
        longest = max([len(col.header), *map(len, cells)])
        if col.number:
            return longest
        words = max([1, *(len(w) for c in [col.header, *cells] for w in c.split())])
        return min(longest, max(col.min_width, words))

    keep = list(range(len(columns)))
    # each column costs 3 more characters (padding and a border), plus the closing border
    def width(ids: list[int]) -> int:
        return sum(need(columns[i], [r[i] for r in rows]) + 3 for i in ids) + 1

    while width(keep) > out.width:
        droppable = [i for i in keep if columns[i].drop]
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    left_out = [c.header for i, c in enumerate(columns) if i not in keep]
    caption = (f"Not shown at {out.width} columns: {', '.join(left_out)} (see the files; a "
               "wider terminal or COLUMNS=120 shows them)." if left_out else None)
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for i in keep:
        col = columns[i]
        if col.number:
            cells = [r[i] for r in rows]
            # fold, never "…": even narrower than the columns that cannot leave, every digit
            table.add_column(col.header, justify="right", no_wrap=True, overflow="fold",
                             min_width=need(col, cells))
        else:
            table.add_column(col.header, justify="left", overflow="fold")
    for r in rows:
        table.add_row(*(r[i] for i in keep))
    return table


def print_summary(result: rfmkit.Segmentation, written: list[Path], seconds: float,
                  destination: str | None, currency: str | None = None) -> None:
    """The run's summary; ``currency`` (the model's code or symbol) heads the money column."""
    q = result.quality
    as_of = f" · as of {q.as_of}" if q.as_of is not None else ""
    out.print(
        f"[bold]{q.customers:,}[/] customers from {q.rows_used:,} of {q.rows_read:,} rows "
        f"({q.rows_dropped:,} dropped){as_of} · {seconds:.1f} s", highlight=False)
    dropped = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in q.dropped.items() if n)
    if dropped:
        out.print(f"Dropped: {dropped}", highlight=False)
    signs = q.cleaned.get("currency_sign", 0)
    if signs:
        out.print(f"Read {signs:,} amount{'s' if signs > 1 else ''} without a currency sign "
                  "or code", highlight=False)
    for note in q.warnings:
        out.print(f"[yellow]Warning:[/] {escape(to_flags(note))}", highlight=False)
    columns = [Col("segment", number=False, min_width=15), Col("customers"), Col("share"),
               Col("rev. share", drop=3), Col("mean R", drop=2), Col("mean F", drop=4),
               Col(f"mean M ({currency})" if currency else "mean M", drop=1)]
    rows = [[escape(str(row.segment)), f"{row.customers:,}", _cell(row.customer_share, ".1%"),
             _cell(row.revenue_share, ".1%"), _cell(row.recency_mean, ",.0f"),
             _cell(row.frequency_mean, ",.1f"), _cell(row.monetary_mean, ",.2f")]
            for row in result.segments.itertuples(index=False)]
    out.print(_fitted_table("Segments", columns, rows))
    if result.clusters is not None:
        columns = [Col("cluster", drop=2), Col("name", number=False, min_width=12),
                   Col("customers"), Col("rev. share", drop=1),
                   Col("description", number=False, drop=3, min_width=24)]
        rows = [[str(row.cluster), escape(str(row.cluster_name)), f"{row.customers:,}",
                 _cell(row.revenue_share, ".1%"), escape(str(row.description))]
                for row in result.clusters.itertuples(index=False)]
        out.print(_fitted_table("Clusters", columns, rows))
    out.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)
    if destination:
        out.print(f"Wrote tables to {destination}", highlight=False)
