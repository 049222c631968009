"""The report's charts: one function per chart, from the summary dict to a matplotlib Figure.

Each ``plot_*`` function takes the summary (``Report`` or ``report.to_dict()``) and returns a
:class:`matplotlib.figure.Figure`, for notebooks and scripts::

    report = rfmkit.build_report(model, model.result_)
    plot_segments(report)              # displays in Jupyter
    plot_segments(report).savefig("segments.png")

:func:`figure_svg` turns a figure into the inline SVG the HTML report embeds, deterministically:
fixed ``svg.hashsalt``, no date or creator metadata, no XML prolog or DOCTYPE, no namespace URLs,
and ids prefixed per chart so several charts can live in one page. Figures are built without
pyplot (no global figure registry, no GUI backend), so this module is safe in servers and tests.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

__all__ = [
    "CHARTS",
    "ChartSpec",
    "PendingCharts",
    "figure_svg",
    "plot_cluster_map",
    "plot_cluster_profile",
    "plot_cluster_sizes",
    "plot_distributions",
    "plot_k_selection",
    "plot_pareto",
    "plot_rf_grid",
    "plot_scores",
    "plot_segments",
    "plot_transitions",
]

#: Resolution of the parts of a chart drawn as an image (dense scatter plots): sharp on
#: high-density screens at the charts' natural size.
RASTER_DPI = 150

BLUE = "#2b6cb0"
ORANGE = "#dd6b20"
GREY = "#718096"
RED = "#c53030"
INK = "#1a202c"
# Colour-blind-safe qualitative palette (Okabe-Ito, then Tableau 10 for more clusters).
_CLUSTER_COLOURS = (
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#8c564b", "#17becf",
)

_RC = {
    "svg.fonttype": "none",  # text stays text: small, selectable, printed crisply
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.0,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#a0aec0",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": "#4a5568",
    "ytick.color": "#4a5568",
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "path.simplify": True,
}


@contextmanager
def _style(salt: str = "rfmkit"):
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"rfmkit-{salt}"}):
        yield


def _summary(obj: Any) -> Mapping[str, Any]:
    """Accept a Report (anything with ``to_dict``) or the summary dict itself."""
    if hasattr(obj, "to_dict") and not isinstance(obj, Mapping):
        obj = obj.to_dict()
    if not isinstance(obj, Mapping) or "sections" not in obj:
        raise TypeError(
            "Pass a Report (rfmkit.build_report(...)) or its summary dict (report.to_dict())."
        )
    return obj


def cluster_colour(cluster: int) -> str:
    """Colour of a cluster id, the same in every chart and table of the report."""
    return _CLUSTER_COLOURS[int(cluster) % len(_CLUSTER_COLOURS)]


def _number(x: float, _pos: Any = None) -> str:
    """Compact tick label: 1.2k, 3.4M, plain below 1000."""
    ax = abs(x)
    if ax >= 1e6:
        return f"{x / 1e6:.3g}M"
    if ax >= 1e3:
        return f"{x / 1e3:.3g}k"
    if ax >= 1 or ax == 0:
        return f"{x:.4g}"
    return f"{x:.2g}"


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_colour(rgba: Any) -> str:
    r, g, b = to_rgb(rgba)
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.55 else INK


def _empty_note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


_LABEL_BOX = {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "none",
              "alpha": 0.9}
_LABEL_ARROW = {"arrowstyle": "-", "color": GREY, "linewidth": 0.8, "relpos": (0.0, 0.5)}


# --- distributions --------------------------------------------------------------------------------
def plot_distributions(summary: Any) -> Figure:
    """Histograms of recency, frequency and monetary; caps and realised score edges marked."""
    s = _summary(summary)
    scores = s["scores"]
    with _style("distributions"):
        fig = Figure(figsize=(10.5, 3.0), layout="constrained")
        axes = fig.subplots(1, 3)
        for ax, (metric, d) in zip(axes, s["distributions"].items(), strict=True):
            h = d["histogram"]
            edges = np.asarray(h["edges"])
            ax.bar(edges[:-1], h["counts"], width=np.diff(edges), align="edge", color=BLUE,
                   alpha=0.85, linewidth=0)
            if h["log"]:
                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(FuncFormatter(_number))
                # minor ticks at 2 and 5 of each decade: enough to read the scale, and a
                # third of this chart's drawing time less than all eight
                ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
                ax.xaxis.set_minor_formatter(NullFormatter())
            else:
                ax.xaxis.set_major_formatter(FuncFormatter(_number))
            ax.yaxis.set_major_formatter(FuncFormatter(_number))
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
                ax.text(d["cap"], top * 1.16, f"cap {_number(d['cap'])}\n"
                        f"{d['above_cap']:,} above", color=RED, fontsize=7.5, va="top",
                        ha="right" if right_half else "left", bbox=_LABEL_BOX)
            scale = " (log scale)" if h["log"] else ""
            ax.set_title(d["label"])
            ax.set_xlabel(d["unit"] + scale)
        axes[0].set_ylabel("customers")
    return fig


def plot_scores(summary: Any) -> Figure:
    """Customers per score with the metric range of each score (quantile), or score histograms."""
    s = _summary(summary)
    scores = s["scores"]
    entries = list(scores["metrics"].values())
    with _style("scores"):
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
                ax.xaxis.set_major_formatter(FuncFormatter(_number))
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
                ax.yaxis.set_major_formatter(FuncFormatter(_number))
            axes[0].set_ylabel("customers")
    return fig


# --- segments -------------------------------------------------------------------------------------
def plot_segments(summary: Any) -> Figure:
    """Customers and revenue per segment, as horizontal bars in segment-map order."""
    s = _summary(summary)
    rows = s["segments"]["rows"]
    names = [_short(r["segment"]) for r in rows]
    ypos = np.arange(len(rows))[::-1]
    with _style("segments"):
        fig = Figure(figsize=(10.5, 0.9 + 0.3 * len(rows)), layout="constrained")
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
                label = _number(v) if key == "revenue" else f"{int(v):,}"
                if share is not None:
                    label += f"  ({share:.1%})"
                ax.text(v + peak * 0.015, y, label, va="center", fontsize=7.5, color=INK)
            ax.set_xlim(0, peak * 1.35)
            ax.xaxis.set_major_formatter(FuncFormatter(_number))
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.set_title(title)
        left.set_yticks(ypos, names)
        left.set_xlabel("customers")
        right.set_xlabel("revenue")
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
                        color=_text_colour(image.cmap(image.norm(v))))


def plot_rf_grid(summary: Any) -> Figure:
    """The R x F grid: customers and mean monetary value per cell (R high at the top)."""
    s = _summary(summary)
    g = s["grid"]
    r_levels, f_levels = g["r_levels"], g["f_levels"]
    count = np.asarray(g["count"], dtype="float64")[::-1]
    mean_m = np.array([[np.nan if v is None else v for v in row] for row in g["mean_monetary"]],
                      dtype="float64")[::-1]
    rows = [f"R{r}" for r in r_levels[::-1]]
    cols = [f"F{f}" for f in f_levels]
    height = 1.2 + 0.38 * len(rows)
    with _style("rf-grid"):
        fig = Figure(figsize=(10.5, max(2.8, height)), layout="constrained")
        left, right = fig.subplots(1, 2)
        _heatmap(left, count, rows, cols, "Blues", lambda v: f"{int(v):,}",
                 xlabel="frequency score", ylabel="recency score")
        left.set_title("Customers per R x F cell")
        _heatmap(right, mean_m, rows, cols, "YlOrBr", _number,
                 xlabel="frequency score", ylabel="recency score")
        right.set_title("Mean monetary value per cell")
    return fig


def plot_pareto(summary: Any) -> Figure:
    """Revenue concentration: share of revenue from the top share of customers."""
    s = _summary(summary)
    p = s["pareto"]
    with _style("pareto"):
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
                        bbox=_LABEL_BOX, arrowprops=_LABEL_ARROW)
        if p["top_20_percent"] is not None:
            top = p["top_20_percent"] * 100
            ax.plot([20], [top], "o", color=INK, markersize=4)
            ax.annotate(f"the top 20% of customers\nearn {top:.0f}% of revenue", (20, top),
                        xytext=(label_x, 32), fontsize=8, color=INK, va="center",
                        bbox=_LABEL_BOX, arrowprops=_LABEL_ARROW)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 102)
        ax.set_xlabel("share of customers, highest revenue first (%)")
        ax.set_ylabel("share of revenue (%)")
        title = "Revenue concentration"
        if p["gini"] is not None:
            title += f" (Gini {p['gini']:.2f})"
        ax.set_title(title)
        ax.legend(loc="lower right")
    return fig


# --- clusters -------------------------------------------------------------------------------------
def _clusters(s: Mapping[str, Any]) -> Mapping[str, Any]:
    c = s.get("clusters")
    if c is None:
        raise ValueError(
            "This report has no clusters (the model was fitted with n_clusters='none').")
    return c


def plot_k_selection(summary: Any) -> Figure:
    """Inertia (knee and chosen k marked), silhouette and stability over the k searched."""
    s = _summary(summary)
    sel = _clusters(s)["k_selection"]
    if sel is None:
        raise ValueError("No k was searched (n_clusters was given), so there is no k-selection.")
    rows = sel["rows"]
    ks = np.array([r["k"] for r in rows])

    def column(name: str) -> np.ndarray:
        return np.array([np.nan if r[name] is None else r[name] for r in rows], dtype="float64")

    chosen, knee = sel["chosen"], sel["knee"]
    with _style("k-selection"):
        fig = Figure(figsize=(10.5, 2.9), layout="constrained")
        axes = fig.subplots(1, 3)
        for ax, name, title, colour in (
            (axes[0], "inertia", "Inertia (within-cluster spread)", BLUE),
            (axes[1], "silhouette", "Silhouette (higher is better)", ORANGE),
            (axes[2], "stability", "Stability (ARI on resamples)", "#2f855a"),
        ):
            values = column(name)
            ax.set_title(title)
            ax.set_xlabel("k (number of clusters)")
            ax.set_xlim(ks.min() - 0.5, ks.max() + 0.5)
            if not np.isfinite(values).any():
                _empty_note(ax, f"{name} not computed")
                continue
            ax.plot(ks, values, "-o", color=colour, markersize=3.5, linewidth=1.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if name == "inertia":
                ax.yaxis.set_major_formatter(FuncFormatter(_number))
            if chosen is not None:
                ax.axvline(chosen, color=INK, linewidth=1, alpha=0.6)
                at = values[ks == chosen]
                if len(at) and np.isfinite(at[0]):
                    ax.plot([chosen], at, "o", markersize=8, markerfacecolor="none",
                            markeredgecolor=INK, markeredgewidth=1.5)
            if name == "inertia" and knee is not None:
                at = values[ks == knee]
                ax.plot([knee], at, "D", color=RED, markersize=5, label=f"knee k={knee}")
                ax.plot([], [], color=INK, alpha=0.6, label=f"chosen k={chosen}")
                ax.legend(loc="best")
            if name == "stability":
                ax.set_ylim(min(0.0, float(np.nanmin(values))), 1.05)
    return fig


#: Up to this many clusters the profile is a snake plot; beyond, lines tangle: a heatmap.
SNAKE_PLOT_MAX_CLUSTERS = 8


def plot_cluster_profile(summary: Any) -> Figure:
    """Mean R, F and M score of each cluster: a snake plot, or a heatmap for many clusters."""
    s = _summary(summary)
    c = _clusters(s)
    profile = c["profile"]
    scale = (0, 100) if s["scores"]["method"] == "percentile" else (
        1, max(e["n_bins"] for e in s["scores"]["metrics"].values()))
    means = np.array([[np.nan if row.get(key) is None else row[key]
                       for key in ("r_score_mean", "f_score_mean", "m_score_mean")]
                      for row in profile], dtype="float64").reshape(len(profile), 3)
    labels = [_short(f"{row['cluster']}: {row['cluster_name']}", 34) for row in profile]
    with _style("cluster-profile"):
        if len(profile) > SNAKE_PLOT_MAX_CLUSTERS:
            fig = Figure(figsize=(5.3, 1.0 + 0.3 * len(profile)), layout="constrained")
            ax = fig.subplots()
            image = ax.imshow(means, cmap="RdYlBu", vmin=scale[0], vmax=scale[1], aspect="auto")
            ax.set_xticks(np.arange(3), ["Recency", "Frequency", "Monetary"])
            ax.xaxis.tick_top()
            ax.set_yticks(np.arange(len(profile)), labels)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
            for i in range(means.shape[0]):
                for j in range(3):
                    if np.isfinite(means[i, j]):
                        ax.text(j, i, f"{means[i, j]:.1f}", ha="center", va="center",
                                fontsize=7.5, color=_text_colour(image.cmap(image.norm(
                                    means[i, j]))))
            ax.set_title("Cluster profiles: mean score", pad=22)
            return fig
        fig = Figure(figsize=(5.3, 3.4), layout="constrained")
        ax = fig.subplots()
        x = np.arange(3)
        for row, y, label in zip(profile, means, labels, strict=True):
            ax.plot(x, y, "-o", color=cluster_colour(row["cluster"]), linewidth=2, markersize=4,
                    label=label)
        ax.set_xticks(x, ["Recency", "Frequency", "Monetary"])
        pad = (scale[1] - scale[0]) * 0.05
        ax.set_ylim(scale[0] - pad, scale[1] + pad)
        ax.set_ylabel("mean score (higher is better)")
        ax.set_xlim(-0.15, 2.15)
        ax.set_title("Cluster profiles")
        ax.grid(axis="y", color="#e2e8f0", linewidth=0.6)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def plot_cluster_sizes(summary: Any) -> Figure:
    """Share of customers and of revenue per cluster."""
    s = _summary(summary)
    profile = _clusters(s)["profile"]
    ypos = np.arange(len(profile))[::-1]
    with _style("cluster-sizes"):
        row_height = 0.42 if len(profile) <= SNAKE_PLOT_MAX_CLUSTERS else 0.3
        fig = Figure(figsize=(5.3, 1.0 + row_height * len(profile)), layout="constrained")
        ax = fig.subplots()
        cust = np.array([r["customer_share"] or 0.0 for r in profile]) * 100
        rev = np.array([r["revenue_share"] or 0.0 for r in profile]) * 100
        colours = [cluster_colour(r["cluster"]) for r in profile]
        ax.barh(ypos + 0.19, cust, height=0.36, color=colours, alpha=0.9, label="customers")
        ax.barh(ypos - 0.19, rev, height=0.36, color=colours, alpha=0.45, hatch="////",
                edgecolor="white", linewidth=0, label="revenue")
        peak = max(float(cust.max(initial=0)), float(rev.max(initial=0)), 1.0)
        for y, a, b in zip(ypos, cust, rev, strict=True):
            ax.text(a + peak * 0.02, y + 0.19, f"{a:.1f}%", va="center", fontsize=7)
            ax.text(b + peak * 0.02, y - 0.19, f"{b:.1f}%", va="center", fontsize=7, color=GREY)
        ax.set_yticks(ypos, [_short(f"{r['cluster']}: {r['cluster_name']}", 34) for r in profile])
        ax.set_xlim(0, peak * 1.22)
        ax.set_xlabel("share (%): solid customers, hatched revenue")
        ax.set_title("Cluster sizes")
    return fig


def plot_cluster_map(summary: Any) -> Figure:
    """2-D map of (a seeded sample of) the customers, coloured by cluster, centres labelled."""
    s = _summary(summary)
    m = _clusters(s)["map"]
    x, y, cl = np.asarray(m["x"]), np.asarray(m["y"]), np.asarray(m["cluster"], dtype="int64")
    n = len(x)
    size = 10.0 if n <= 1000 else 5.0 if n <= 5000 else 3.0
    with _style("cluster-map"):
        fig = Figure(figsize=(8.0, 5.0), layout="constrained")
        ax = fig.subplots()
        for cluster in np.unique(cl):
            mask = cl == cluster
            # thousands of dots: one embedded image (at RASTER_DPI) instead of an SVG element
            # per dot (5,000 dots: 150 KB instead of 610 KB, drawn in two thirds of the time)
            ax.scatter(x[mask], y[mask], s=size, color=cluster_colour(cluster), alpha=0.45,
                       linewidths=0, rasterized=n > 1000)
        for centre in m["centers"]:
            if centre["x"] is None or centre["y"] is None:
                continue
            colour = cluster_colour(centre["cluster"])
            ax.scatter([centre["x"]], [centre["y"]], s=140, color=colour, edgecolors="white",
                       linewidths=1.5, zorder=3)
            ax.text(centre["x"], centre["y"], str(centre["cluster"]), ha="center", va="center",
                    fontsize=7.5, color=_text_colour(colour), fontweight="bold", zorder=4)
            ax.plot([], [], "o", color=colour, label=_short(f"{centre['cluster']}: "
                                                             f"{centre['name']}", 30))
        if m["projection"] == "pca":
            ratio = m.get("explained_variance_ratio") or [None, None]
            labels = [f"PC{i + 1}" + (f" ({r:.0%} of variance)" if r is not None else "")
                      for i, r in enumerate(ratio)]
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[1])
            title = "Customers on the first two principal components"
        else:
            ax.set_xlabel("t-SNE 1")
            ax.set_ylabel("t-SNE 2")
            title = "Customers, t-SNE map"
        sample = f"{m['sample_size']:,} of {m['customers']:,} customers" \
            if m["sample_size"] < m["customers"] else f"all {m['customers']:,} customers"
        ax.set_title(f"{title}\n{sample}" + (", jittered" if m["jitter"] else ""),
                     fontsize=9.5)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=1.2)
    return fig


# --- transitions ----------------------------------------------------------------------------------
def plot_transitions(summary: Any, kind: str = "segments") -> Figure:
    """Previous -> current assignment of the same customers (counts; colour: share of the row)."""
    s = _summary(summary)
    t = s.get("transitions")
    if t is None or t.get(kind) is None:
        raise ValueError(f"This report has no {kind} transitions (no previous assignments).")
    d = t[kind]
    counts = np.asarray(d["counts"], dtype="float64")
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / totals, np.nan)
    n_rows, n_cols = counts.shape
    with _style(f"transitions-{kind}"):
        fig = Figure(figsize=(max(5.5, 1.6 + 0.62 * n_cols), 1.4 + 0.34 * n_rows),
                     layout="constrained")
        ax = fig.subplots()
        image = ax.imshow(np.ma.masked_invalid(shares), cmap="Purples", vmin=0, vmax=1,
                          aspect="auto")
        ax.set_xticks(np.arange(n_cols), [_short(v, 18) for v in d["to"]], rotation=35,
                      ha="right", rotation_mode="anchor")
        ax.set_yticks(np.arange(n_rows), [_short(v, 24) for v in d["from"]])
        ax.set_xlabel(f"current {kind[:-1]}")
        ax.set_ylabel(f"previous {kind[:-1]}")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for i in range(n_rows):
            for j in range(n_cols):
                if counts[i, j] > 0:
                    colour = _text_colour(image.cmap(image.norm(shares[i, j])))
                    ax.text(j, i, f"{int(counts[i, j]):,}", ha="center", va="center",
                            fontsize=7, color=colour)
        ax.set_title(f"How customers moved between {kind}")
    return fig


# --- SVG ------------------------------------------------------------------------------------------
_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_DEFAULT_STYLE = re.compile(r"\s*<style type=\"text/css\">\*\{[^}]*\}</style>")
_ID = re.compile(r'\bid="([^"]+)"')
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def figure_svg(fig: Figure, chart_id: str, *, title: str | None = None) -> str:
    """The figure as an inline ``<svg>`` element for an HTML page, deterministically.

    The XML prolog, DOCTYPE, metadata and namespace declarations are removed (inline SVG in
    HTML needs none of them, and they hold the only URLs matplotlib writes); every id is
    prefixed with ``chart_id`` so charts do not clash; the fixed size becomes a responsive width
    capped at the figure's natural size; ``title`` becomes the accessible label.
    """
    if not re.fullmatch(r"[a-z][a-z0-9-]*", chart_id):
        raise ValueError(f"chart_id must be lower-case letters, digits and '-'; got {chart_id!r}.")
    buffer = io.StringIO()
    # The SVG canvas's own print method, not savefig: with a layout engine, savefig draws the
    # figure once more beforehand to lay it out; print_svg lays it out in its one draw (same
    # document, a sixth less time). Like savefig, leave the figure's canvas and dpi as found.
    canvas, dpi = fig.canvas, fig.dpi
    if any(artist.get_rasterized() for ax in fig.axes for artist in ax.get_children()):
        fig.dpi = RASTER_DPI  # the resolution of the rasterized parts; the rest is vector
    try:
        with _style(chart_id):
            FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})
    finally:
        fig.set_canvas(canvas)
        fig.dpi = dpi
    svg = buffer.getvalue()
    svg = _PROLOG.sub("", svg)
    svg = _METADATA.sub("", svg)
    svg = _XMLNS.sub("", svg)
    svg = _DEFAULT_STYLE.sub("", svg)
    ids = set(_ID.findall(svg))

    def prefix(match: re.Match) -> str:
        return f'{chart_id}-{match.group(1)}' if match.group(1) in ids else match.group(1)

    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{chart_id}-{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix(m)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix(m)})", svg)

    def size(match: re.Match) -> str:
        width = float(match.group(2)) * 4 / 3  # pt -> CSS px
        label = f' role="img" aria-label="{_attr(title)}"' if title else ""
        return (f'<svg{match.group(1)} class="chart" width="100%" '
                f'style="max-width:{width:.0f}px"{label}')

    svg = _SIZE.sub(size, svg, count=1)
    return svg.strip()


def _attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


# --- registry -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartSpec:
    """One chart of the HTML report: where it goes and how it is drawn."""

    chart_id: str
    section: str
    title: str
    caption: str | Callable[[Mapping[str, Any]], str]
    plot: Callable[[Any], Figure]
    applies: Callable[[Mapping[str, Any]], bool]

    def caption_for(self, summary: Mapping[str, Any]) -> str:
        return self.caption(summary) if callable(self.caption) else self.caption


def _has_clusters(s: Mapping[str, Any]) -> bool:
    return s.get("clusters") is not None


def _has_k_selection(s: Mapping[str, Any]) -> bool:
    return _has_clusters(s) and s["clusters"]["k_selection"] is not None


def _has_transitions(kind: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda s: s.get("transitions") is not None and s["transitions"].get(kind) is not None


def _distributions_caption(s: Mapping[str, Any]) -> str:
    parts = ["Customers per value of each metric, all customers."]
    if s["scores"]["method"] == "quantile":
        parts.append("Dotted lines: the realised score bin edges.")
    if any(d["cap"] is not None for d in s["distributions"].values()):
        parts.append("Dashed red: the cap applied before scoring.")
    if any(d["log_axis"] for d in s["distributions"].values()):
        parts.append("Skewed metrics use a log axis.")
    return " ".join(parts)


def _scores_caption(s: Mapping[str, Any]) -> str:
    if s["scores"]["method"] == "quantile":
        return ("Customers per score, with each score's range of the metric from the bin edges "
                "learned at fit (recency: a higher score is more recent). Orange: ties merged "
                "bins.")
    return ("Customers per percentile score (0-100). Dotted lines: the boundaries of the "
            f"{s['scores']['segment_levels']} levels the segment map uses.")


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("distributions", "distributions", "Distributions of R, F and M",
              _distributions_caption, plot_distributions, lambda s: True),
    ChartSpec("scores", "scores", "Score distributions", _scores_caption, plot_scores,
              lambda s: True),
    ChartSpec("segments", "segments", "Customers and revenue per segment",
              "Bars in segment-map order; shares of all customers and of all revenue.",
              plot_segments, lambda s: True),
    ChartSpec("rf-grid", "segments", "R x F grid",
              "Each cell: customers with that recency and frequency score, and their mean "
              "monetary value.", plot_rf_grid, lambda s: True),
    ChartSpec("pareto", "segments", "Revenue concentration",
              "Share of revenue earned from the top share of customers (Pareto curve).",
              plot_pareto, lambda s: True),
    ChartSpec("k-selection", "clusters", "Choosing k",
              "Criteria for every k searched; the circle marks the chosen k, the diamond the "
              "knee of the inertia curve.", plot_k_selection, _has_k_selection),
    ChartSpec("cluster-profile", "clusters", "Cluster profiles",
              "Mean R, F and M score of each cluster's customers.", plot_cluster_profile,
              _has_clusters),
    ChartSpec("cluster-sizes", "clusters", "Cluster sizes",
              "Share of customers and of revenue in each cluster.", plot_cluster_sizes,
              _has_clusters),
    ChartSpec("cluster-map", "clusters", "Cluster map",
              "Customers projected to two dimensions from the clustering features; large "
              "dots: cluster centres.", plot_cluster_map, _has_clusters),
    ChartSpec("transitions-segments", "transitions", "Segment transitions",
              "Rows: segment under the previous model; columns: segment now. Colour: share of "
              "the row.", lambda s: plot_transitions(s, "segments"), _has_transitions("segments")),
    ChartSpec("transitions-clusters", "transitions", "Cluster transitions",
              "Rows: cluster under the previous model; columns: cluster now. Colour: share of "
              "the row.", lambda s: plot_transitions(s, "clusters"), _has_transitions("clusters")),
)


def render_chart(chart_id: str, summary: Mapping[str, Any]) -> str:
    """One chart of :data:`CHARTS`, by id, as inline SVG."""
    spec = next(spec for spec in CHARTS if spec.chart_id == chart_id)
    return figure_svg(spec.plot(summary), spec.chart_id, title=spec.title)


class PendingCharts:
    """The report's charts, being drawn: :meth:`result` returns them once all are drawn.

    With ``executor`` (see :func:`~rfmkit.chart_worker.start_chart_worker`), every chart is
    queued for the worker at once, so it draws while this process does other work (writing the
    customer table, say); :meth:`result` then draws here, from the end of the queue, each
    chart the worker has not started yet, and waits for the rest. The charts are the same
    whoever draws them.
    """

    def __init__(self, summary: Mapping[str, Any], executor: Executor | None = None):
        self._summary = summary
        self._specs = [spec for spec in CHARTS if spec.applies(summary)]
        self._futures: dict[str, Future] = {}
        if executor is not None:
            plain = dict(summary)  # a plain dict pickles for the other process
            self._futures = {spec.chart_id: executor.submit(render_chart, spec.chart_id, plain)
                             for spec in self._specs}
        self._out: dict[str, list[dict[str, str]]] | None = None

    def result(self) -> dict[str, list[dict[str, str]]]:
        """Every applicable chart as inline SVG, grouped by section (in :data:`CHARTS` order)."""
        if self._out is not None:
            return self._out
        svgs: dict[str, str] = {}
        try:
            for spec in reversed(self._specs):
                future = self._futures.get(spec.chart_id)
                if future is None or future.cancel():  # not started by the worker: draw here
                    svgs[spec.chart_id] = figure_svg(spec.plot(self._summary), spec.chart_id,
                                                     title=spec.title)
            for chart_id, future in self._futures.items():
                if chart_id not in svgs:
                    svgs[chart_id] = future.result()
        finally:
            for future in self._futures.values():
                future.cancel()  # after an error: leave the worker nothing more to draw
        out: dict[str, list[dict[str, str]]] = {}
        for spec in self._specs:
            out.setdefault(spec.section, []).append({
                "id": spec.chart_id, "title": spec.title,
                "caption": spec.caption_for(self._summary), "svg": svgs[spec.chart_id],
            })
        self._out = out
        return out


def render_charts(summary: Mapping[str, Any], executor: Executor | None = None
                  ) -> dict[str, list[dict[str, str]]]:
    """Every applicable chart as inline SVG, grouped by section (in :data:`CHARTS` order).

    With ``executor`` (see :func:`~rfmkit.chart_worker.start_chart_worker`), the worker and
    this process share the drawing (:class:`PendingCharts`); the result is the same.
    """
    return PendingCharts(summary, executor).result()
