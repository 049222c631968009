"""Charts of the segments section: customers and revenue per segment, R x F grid, Pareto curve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from rfmkit.money import money_text
from rfmkit.report.charts.style import (
    BLUE,
    GREY,
    INK,
    LABEL_ARROW,
    LABEL_BOX,
    ORANGE,
    number,
    segment_colour,
    style,
    summary_of,
    text_colour,
    wrap,
)

__all__ = ["plot_pareto", "plot_rf_grid", "plot_segment_grid", "plot_segments"]


def plot_segments(summary: Any) -> Figure:
    """Customers and revenue per segment, as horizontal bars in segment-map order."""
    s = summary_of(summary)
    rows = s["segments"]["rows"]
    names = [wrap(r["segment"], 24) for r in rows]
    ypos = np.arange(len(rows))[::-1]
    with style("segments"):
        # narrower than the page's 10.5-inch charts: still legible when a phone shrinks it
        fig = Figure(figsize=(8.4, 0.9 + 0.3 * len(rows)), layout="constrained")
        left, right = fig.subplots(1, 2, sharey=True)
        for ax, key, share_key, colour, title in (
            (left, "customers", "customer_share", BLUE, "Customers per segment"),
            (right, "revenue", "revenue_share", ORANGE, "Revenue per segment"),
        ):
            values = [r[key] or 0.0 for r in rows]
            ax.barh(ypos, values, color=colour, alpha=0.85, height=0.7)
            peak = max(values) if values and max(values) > 0 else 1.0
            for y, r, v in zip(ypos, rows, values, strict=True):
                share = r[share_key]
                label = (money_text(v, s.get("currency"), compact=True) if key == "revenue"
                         else f"{int(v):,}")
                if share is not None:
                    label += f"  ({share:.1%})"
                ax.text(v + peak * 0.015, y, label, va="center", fontsize=7.5, color=INK)
            ax.set_xlim(0, peak * 1.35)
            ax.xaxis.set_major_formatter(FuncFormatter(number))
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.set_title(title)
        left.set_yticks(ypos, names)
        left.set_xlabel("customers")
        cur = s.get("currency")
        right.set_xlabel(f"revenue ({cur['symbol']})" if cur else "revenue")
    return fig


def _heatmap(ax: Any, values: np.ndarray, row_labels: list[str], col_labels: list[str],
             cmap: str, fmt: Callable[[float], str], *, xlabel: str, ylabel: str) -> None:
    masked = np.ma.masked_invalid(values.astype("float64"))
    colours = matplotlib.colormaps[cmap].with_extremes(bad="#f7fafc")
    image = ax.imshow(masked, cmap=colours, aspect="auto", origin="upper")
    ax.set_xticks(np.arange(len(col_labels)), col_labels)
    ax.set_yticks(np.arange(len(row_labels)), row_labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    size = 7.5 if max(values.shape) <= 6 else 6.5
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if np.isfinite(v):
                ax.text(j, i, fmt(v), ha="center", va="center", fontsize=size,
                        color=text_colour(image.cmap(image.norm(v))))


def plot_rf_grid(summary: Any) -> Figure:
    """The R x F grid: customers and mean monetary value per cell (R high at the top)."""
    s = summary_of(summary)
    g = s["grid"]
    r_levels, f_levels = g["r_levels"], g["f_levels"]
    count = np.asarray(g["count"], dtype="float64")[::-1]
    mean_m = np.array([[np.nan if v is None else v for v in row] for row in g["mean_monetary"]],
                      dtype="float64")[::-1]
    rows = [f"R{r}" for r in r_levels[::-1]]
    cols = [f"F{f}" for f in f_levels]
    height = 1.2 + 0.38 * len(rows)
    with style("rf-grid"):
        fig = Figure(figsize=(10.5, max(2.8, height)), layout="constrained")
        left, right = fig.subplots(1, 2)
        _heatmap(left, count, rows, cols, "Blues", lambda v: f"{int(v):,}",
                 xlabel="frequency score", ylabel="recency score")
        left.set_title("Customers per R x F cell")
        _heatmap(right, mean_m, rows, cols, "YlOrBr", number,
                 xlabel="frequency score", ylabel="recency score")
        right.set_title("Mean monetary value per cell")
    return fig


def plot_segment_grid(summary: Any) -> Figure:
    """The grid the segments are defined on (R x FM, or R x F), each cell coloured and named
    by its segment, with its customers (R high at the top, FM high on the right)."""
    s = summary_of(summary)
    g = s.get("segment_grid")
    if g is None:
        raise ValueError("This report has no segments (segment_map='none'), so no grid.")
    levels = g["levels"]
    n = len(levels)
    count = np.asarray(g["count"], dtype="int64")
    share = np.array([[0.0 if v is None else v for v in row] for row in g["share"]])
    order = g["segments"]
    with style("segment-grid"):
        fig = Figure(figsize=(7.8, 0.9 + 0.8 * n), layout="constrained")
        ax = fig.subplots()
        # the name goes in one cell of each segment: its fullest, so it is where customers are
        label_cell: dict[str, tuple[int, int]] = {}
        for i in range(n):
            for j in range(n):
                name = g["segment"][i][j]
                if name is not None and (name not in label_cell
                                         or count[i, j] > count[label_cell[name]]):
                    label_cell[name] = (i, j)
        for i in range(n):
            for j in range(n):
                name = g["segment"][i][j]
                colour = "#f1f3f5" if name is None else segment_colour(name, order)
                # a cell no customer is in: the segment's colour, faded
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor=colour, edgecolor="white",
                                       linewidth=2, alpha=1.0 if count[i, j] else 0.3))
                figure = f"{count[i, j]:,}  ({share[i, j]:.1%})" if count[i, j] else "–"
                if name is not None and label_cell.get(name) == (i, j):
                    ax.text(j + 0.5, i + 0.62, wrap(name, 14), ha="center", va="center",
                            fontsize=8.5, fontweight="bold", color=INK, linespacing=1.0)
                    ax.text(j + 0.5, i + 0.22, figure, ha="center", va="center",
                            fontsize=8, color=INK)
                else:
                    ax.text(j + 0.5, i + 0.5, figure, ha="center", va="center", fontsize=8,
                            color=INK if count[i, j] else GREY)
        ax.set_xlim(0, n)
        ax.set_ylim(0, n)
        ax.set_xticks(np.arange(n) + 0.5, [f"{g['axes'][1].upper()} {v}" for v in levels])
        ax.set_yticks(np.arange(n) + 0.5, [f"R {v}" for v in levels])
        ax.set_xlabel(g["axis_text"][1])
        ax.set_ylabel(g["axis_text"][0])
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title("Segments on the " + " x ".join(a.upper() for a in g["axes"]) + " grid:\n"
                     "customers per cell (share of all customers)")
    return fig


def plot_pareto(summary: Any) -> Figure:
    """Revenue concentration: share of revenue from the top share of customers."""
    s = summary_of(summary)
    p = s["pareto"]
    with style("pareto"):
        fig = Figure(figsize=(5.2, 3.6), layout="constrained")
        ax = fig.subplots()
        x = np.asarray(p["customer_share"]) * 100
        y = np.array([np.nan if v is None else v for v in p["revenue_share"]]) * 100
        ax.plot([0, 100], [0, 100], color=GREY, linestyle="--", linewidth=0.9,
                label="equal spend")
        ax.fill_between(x, y, x, where=np.isfinite(y), color=ORANGE, alpha=0.12, linewidth=0)
        ax.plot(x, y, color=ORANGE, linewidth=2, label="customers ranked by revenue")
        # Labels stacked in the empty lower right, each joined to its point: never crossing.
        label_x = 48.0
        if p["customers_for_80_percent"] is not None:
            share = p["customers_for_80_percent"] * 100
            ax.axhline(80, color=GREY, linewidth=0.6, linestyle=":")
            ax.plot([share], [80], "o", color=INK, markersize=4)
            ax.annotate(f"80% of revenue comes from\nthe top {share:.0f}% of customers",
                        (share, 80), xytext=(label_x, 52), fontsize=8, color=INK, va="center",
                        bbox=LABEL_BOX, arrowprops=LABEL_ARROW)
        if p["top_20_percent"] is not None:
            top = p["top_20_percent"] * 100
            ax.plot([20], [top], "o", color=INK, markersize=4)
            ax.annotate(f"the top 20% of customers\nearn {top:.0f}% of revenue", (20, top),
                        xytext=(label_x, 32), fontsize=8, color=INK, va="center",
                        bbox=LABEL_BOX, arrowprops=LABEL_ARROW)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 102)
        ax.set_xlabel("share of customers, highest revenue first (%)")
        ax.set_ylabel("share of revenue (%)")
        ax.set_title("Revenue concentration")
        ax.legend(loc="lower right")
    return fig

