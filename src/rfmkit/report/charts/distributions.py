"""Charts of the distributions and scores sections: metric histograms, customers per score."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from rfmkit.report.charts.style import (
    BLUE,
    INK,
    LABEL_BOX,
    ORANGE,
    RED,
    number,
    style,
    summary_of,
)

__all__ = ["plot_distributions", "plot_scores"]


def plot_distributions(summary: Any) -> Figure:
    """Histograms of recency, frequency and monetary; caps and realised score edges marked."""
    s = summary_of(summary)
    scores = s["scores"]
    with style("distributions"):
        fig = Figure(figsize=(10.5, 3.0), layout="constrained")
        axes = fig.subplots(1, 3)
        for ax, (metric, d) in zip(axes, s["distributions"].items(), strict=True):
            h = d["histogram"]
            edges = np.asarray(h["edges"])
            ax.bar(edges[:-1], h["counts"], width=np.diff(edges), align="edge", color=BLUE,
                   alpha=0.85, linewidth=0)
            if h["log"]:
                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(FuncFormatter(number))
                # minor ticks at 2 and 5 of each decade: enough to read the scale, and a
                # third of this chart's drawing time less than all eight
                ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
                ax.xaxis.set_minor_formatter(NullFormatter())
            else:
                ax.xaxis.set_major_formatter(FuncFormatter(number))
            ax.yaxis.set_major_formatter(FuncFormatter(number))
            top = max(h["counts"]) if h["counts"] else 1
            ax.set_ylim(0, top * 1.18)
            entry = scores["metrics"][metric]
            inner = entry.get("inner_edges") or []
            for e in inner:
                if not h["log"] or e > 0:
                    ax.axvline(e, color=INK, linestyle=":", linewidth=0.9, alpha=0.7)
            if d["cap"] is not None:
                ax.axvline(d["cap"], color=RED, linestyle="--", linewidth=1.2)
                right_half = d["cap"] > (np.sqrt(edges[0] * edges[-1]) if h["log"]
                                         else (edges[0] + edges[-1]) / 2)
                ax.text(d["cap"], top * 1.16, f"cap {number(d['cap'])}\n"
                        f"{d['above_cap']:,} above", color=RED, fontsize=7.5, va="top",
                        ha="right" if right_half else "left", bbox=LABEL_BOX)
            scale = " (log scale)" if h["log"] else ""
            ax.set_title(d["label"])
            ax.set_xlabel(d["unit"] + scale)
        axes[0].set_ylabel("customers")
    return fig


def plot_scores(summary: Any) -> Figure:
    """Customers per score with the metric range of each score (quantile), or score histograms."""
    s = summary_of(summary)
    scores = s["scores"]
    entries = list(scores["metrics"].values())
    with style("scores"):
        if scores["method"] == "quantile":
            rows = max(e["n_bins"] for e in entries)
            fig = Figure(figsize=(10.5, 1.0 + 0.32 * rows), layout="constrained")
            axes = fig.subplots(1, 3)
            for ax, e in zip(axes, entries, strict=True):
                bins = e["bins"]
                counts = [b["customers"] for b in bins]
                ypos = np.arange(len(bins))
                colour = ORANGE if e["collapsed"] else BLUE
                ax.barh(ypos, counts, color=colour, alpha=0.85, height=0.7)
                ax.set_yticks(ypos, [f"{e['letter']}{b['score']}  {b['text']}" for b in bins])
                ax.set_ylim(-0.6, rows - 0.4)
                peak = max(counts) if counts else 1
                for y, c in zip(ypos, counts, strict=True):
                    ax.text(c + peak * 0.02, y, f"{c:,}", va="center", fontsize=7.5, color=INK)
                ax.set_xlim(0, peak * 1.25)
                ax.xaxis.set_major_formatter(FuncFormatter(number))
                ax.xaxis.set_major_locator(MaxNLocator(4))
                unit = s["distributions"][e["metric"]]["unit"]
                note = f" — {e['n_bins']} of {scores['requested_bins']} bins" if e["collapsed"] \
                    else ""
                ax.set_title(f"{e['label']} score{note}", color=RED if e["collapsed"] else INK)
                ax.set_xlabel(f"customers\n(score ranges in {unit})")
        else:
            fig = Figure(figsize=(10.5, 2.8), layout="constrained")
            axes = fig.subplots(1, 3, sharey=True)
            for ax, e in zip(axes, entries, strict=True):
                h = e["histogram"]
                edges = np.asarray(h["edges"])
                ax.bar(edges[:-1], h["counts"], width=np.diff(edges), align="edge", color=BLUE,
                       alpha=0.85, linewidth=0.4, edgecolor="white")
                for lvl in e["level_edges"]:
                    ax.axvline(lvl, color=INK, linestyle=":", linewidth=0.9, alpha=0.7)
                ax.set_xlim(0, 100)
                ax.set_title(f"{e['label']} score (0-100)")
                ax.set_xlabel("percentile score; dotted: segment levels")
                ax.yaxis.set_major_formatter(FuncFormatter(number))
            axes[0].set_ylabel("customers")
    return fig

