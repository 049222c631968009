"""Charts of the history report: segment sizes over time, the last period's transition heatmap,
and the flow (Sankey) between the last two snapshots. Drawn with matplotlib, as inline SVG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path

from rfmkit.report.charts.style import GREY, INK, number, style, text_colour, wrap

__all__ = ["plot_flow", "plot_matrix", "plot_sizes", "segment_colours"]

# value order -> colour: the best segments green, the middle ones blue/grey, the bottom red
_RAMP = ("#1a9850", "#66bd63", "#a6d96a", "#d9ef8b", "#fee08b", "#fdae61", "#f46d43",
         "#d73027", "#a50026", "#762a83", "#5e4fa2")
NEW_COLOUR = "#4a90d9"


def segment_colours(order: Sequence[str]) -> dict[str, str]:
    """One colour per segment along the value order (best first), the same in every chart."""
    n = len(order)
    idx = np.linspace(0, len(_RAMP) - 1, max(n, 1)).round().astype(int)
    colours = {name: _RAMP[i] for name, i in zip(order, idx, strict=False)}
    return {**colours, "(new)": NEW_COLOUR, "(gone)": GREY}


def plot_sizes(facts: Mapping[str, Any]) -> Figure:
    """Customers per segment at each as-of date, stacked (best segment at the bottom)."""
    dates, sizes = facts["dates"], facts["sizes"]
    colours = segment_colours(facts["order"])
    with style("history-sizes"):
        fig = Figure(figsize=(8.2, 3.6), layout="constrained")
        ax = fig.subplots()
        x = np.arange(len(dates))
        bottom = np.zeros(len(dates))
        for name in facts["order"]:
            values = np.asarray(sizes.get(name, [0] * len(dates)), dtype=float)
            if not values.any():
                continue
            ax.bar(x, values, bottom=bottom, color=colours[name], width=0.72,
                   label=name, edgecolor="white", linewidth=0.4)
            bottom += values
        ax.set_xticks(x, dates, rotation=30, ha="right", rotation_mode="anchor")
        ax.yaxis.set_major_formatter(number)
        ax.set_ylabel("customers")
        ax.set_title("Segment sizes over time")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), reverse=True)
    return fig


def plot_matrix(matrix: Mapping[str, Any]) -> Figure:
    """From -> to counts of the last period, coloured by row share, the diagonal outlined."""
    counts = np.asarray(matrix["counts"], dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / totals, np.nan)
    rows, cols = matrix["from"], matrix["to"]
    with style("history-matrix"):
        fig = Figure(figsize=(max(5.8, 2.0 + 0.7 * len(cols)), 1.5 + 0.4 * len(rows)),
                     layout="constrained")
        ax = fig.subplots()
        image = ax.imshow(np.ma.masked_invalid(shares), cmap="Purples", vmin=0, vmax=1,
                          aspect="auto")
        # whole names, wrapped: a cut "Potential Loyalis…" cannot be read
        ax.set_xticks(np.arange(len(cols)), [wrap(c, 12) for c in cols], rotation=35,
                      ha="right", rotation_mode="anchor", fontsize=8.5, linespacing=1.0)
        ax.set_yticks(np.arange(len(rows)), [wrap(r, 24) for r in rows])
        ax.set_xlabel(f"segment at {matrix['to_as_of']}")
        ax.set_ylabel(f"segment at {matrix['from_as_of']}")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                if r == c:  # stayed: the diagonal
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                           edgecolor=INK, linewidth=1.2))
                if counts[i, j] > 0:
                    colour = text_colour(image.cmap(image.norm(shares[i, j])))
                    ax.text(j, i, f"{int(counts[i, j]):,}\n{shares[i, j]:.0%}", ha="center",
                            va="center", fontsize=8, color=colour)
        ax.set_title("Where each segment's customers went (count, share of the row)")
    return fig


def plot_flow(matrix: Mapping[str, Any], order: Sequence[str]) -> Figure:
    """Sankey-like flow: segments at the earlier date (left) to the later date (right)."""
    counts = np.asarray(matrix["counts"], dtype=float)
    rows, cols = matrix["from"], matrix["to"]
    colours = segment_colours(order)
    total = max(counts.sum(), 1.0)
    gap = 0.012
    with style("history-flow"):
        fig = Figure(figsize=(8.2, 5.0), layout="constrained")
        ax = fig.subplots()
        ax.set_axis_off()

        def stack(sizes: np.ndarray) -> np.ndarray:
            heights = sizes / total * (1 - gap * (len(sizes) - 1))
            tops = 1 - np.concatenate([[0], np.cumsum(heights[:-1] + gap)])
            return np.stack([tops, heights], axis=1)

        left, right = stack(counts.sum(axis=1)), stack(counts.sum(axis=0))
        left_used, right_used = np.zeros(len(rows)), np.zeros(len(cols))
        x0, x1 = 0.18, 0.82
        for i, r in enumerate(rows):
            for j, _ in enumerate(cols):
                h = counts[i, j] / counts.sum(axis=1)[i] * left[i, 1] if counts[i, j] else 0
                if not h:
                    continue
                hr = counts[i, j] / counts.sum(axis=0)[j] * right[j, 1]
                y0 = left[i, 0] - left_used[i]
                y1 = right[j, 0] - right_used[j]
                left_used[i] += h
                right_used[j] += hr
                mid = (x0 + x1) / 2
                verts = [(x0, y0), (mid, y0), (mid, y1), (x1, y1), (x1, y1 - hr),
                         (mid, y1 - hr), (mid, y0 - h), (x0, y0 - h), (x0, y0)]
                codes = [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.LINETO,
                         Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.CLOSEPOLY]
                ax.add_patch(PathPatch(Path(verts, codes), facecolor=colours.get(r, GREY),
                                       edgecolor="none", alpha=0.45))
        for names, boxes, x, ha, dx in ((rows, left, x0, "right", -0.012),
                                        (cols, right, x1, "left", 0.012)):
            sizes = counts.sum(axis=1) if names is rows else counts.sum(axis=0)
            for name, (top, height), n in zip(names, boxes, sizes, strict=True):
                ax.add_patch(Rectangle((x - 0.008 if ha == "right" else x, top - height),
                                       0.008, height, color=colours.get(name, GREY)))
                ax.text(x + dx, top - height / 2, f"{name} ({int(n):,})", ha=ha,
                        va="center", fontsize=7.5, color=INK)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.08, 1.02)
        ax.text(x0, -0.05, matrix["from_as_of"], ha="center", fontsize=8, color=GREY)
        ax.text(x1, -0.05, matrix["to_as_of"], ha="center", fontsize=8, color=GREY)
        ax.set_title("Flow between the last two snapshots")
    return fig
