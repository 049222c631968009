"""Charts of the clusters section: choosing k, cluster profiles and sizes, the cluster map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from rfmkit.report.charts.style import (
    BLUE,
    GREY,
    INK,
    ORANGE,
    RED,
    cluster_colour,
    empty_note,
    number,
    style,
    summary_of,
    text_colour,
    wrap,
)

__all__ = ["SNAKE_PLOT_MAX_CLUSTERS", "plot_cluster_map", "plot_cluster_profile",
           "plot_cluster_sizes", "plot_k_selection"]


def _clusters(s: Mapping[str, Any]) -> Mapping[str, Any]:
    c = s.get("clusters")
    if c is None:
        raise ValueError(
            "This report has no clusters (the model was fitted with n_clusters='none').")
    return c


def plot_k_selection(summary: Any) -> Figure:
    """Inertia (knee and chosen k marked), silhouette and stability over the k searched."""
    s = summary_of(summary)
    sel = _clusters(s)["k_selection"]
    if sel is None:
        raise ValueError("No k was searched (n_clusters was given), so there is no k-selection.")
    rows = sel["rows"]
    ks = np.array([r["k"] for r in rows])

    def column(name: str) -> np.ndarray:
        return np.array([np.nan if r[name] is None else r[name] for r in rows], dtype="float64")

    chosen, knee = sel["chosen"], sel["knee"]
    with style("k-selection"):
        fig = Figure(figsize=(10.5, 2.9), layout="constrained")
        axes = fig.subplots(1, 3)
        for ax, name, title, colour in (
            (axes[0], "inertia", "Inertia (within-cluster spread)", BLUE),
            (axes[1], "silhouette", "Silhouette (higher is better)", ORANGE),
            (axes[2], "stability", "Stability on resamples (ARI, 1 = same)", "#2f855a"),
        ):
            values = column(name)
            ax.set_title(title)
            ax.set_xlabel("k (number of clusters)")
            ax.set_xlim(ks.min() - 0.5, ks.max() + 0.5)
            if not np.isfinite(values).any():
                empty_note(ax, f"{name} not computed")
                continue
            ax.plot(ks, values, "-o", color=colour, markersize=3.5, linewidth=1.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if name == "inertia":
                ax.yaxis.set_major_formatter(FuncFormatter(number))
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
            if name in ("silhouette", "stability"):
                # from 0 (or below) to 1, the whole good range: differences of a few
                # hundredths, noise, look like the small steps they are
                ax.set_ylim(min(0.0, float(np.nanmin(values)) - 0.05), 1.05)
    return fig


#: Up to this many clusters the profile is a snake plot; beyond, lines tangle: a heatmap.
SNAKE_PLOT_MAX_CLUSTERS = 8


def plot_cluster_profile(summary: Any) -> Figure:
    """Mean R, F and M score of each cluster: a snake plot, or a heatmap for many clusters."""
    s = summary_of(summary)
    c = _clusters(s)
    profile = c["profile"]
    # a constant metric (one realised bin) scores the middle of 1..requested bins
    requested = s["scores"]["requested_bins"]
    scale = (0, 100) if s["scores"]["method"] == "percentile" else (
        1, max(e["n_bins"] if e["n_bins"] > 1 else requested
               for e in s["scores"]["metrics"].values()))
    means = np.array([[np.nan if row.get(key) is None else row[key]
                       for key in ("r_score_mean", "f_score_mean", "m_score_mean")]
                      for row in profile], dtype="float64").reshape(len(profile), 3)
    labels = [wrap(f"{row['cluster']}: {row['cluster_name']}", 26) for row in profile]
    with style("cluster-profile"):
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
                                fontsize=7.5, color=text_colour(image.cmap(image.norm(
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
    s = summary_of(summary)
    profile = _clusters(s)["profile"]
    ypos = np.arange(len(profile))[::-1]
    with style("cluster-sizes"):
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
        ax.set_yticks(ypos, [wrap(f"{r['cluster']}: {r['cluster_name']}", 24) for r in profile])
        ax.set_xlim(0, peak * 1.22)
        ax.set_xlabel("share (%): solid customers, hatched revenue")
        ax.set_title("Cluster sizes")
    return fig


def plot_cluster_map(summary: Any) -> Figure:
    """2-D map of (a seeded sample of) the customers, coloured by cluster, centres labelled."""
    s = summary_of(summary)
    m = _clusters(s)["map"]
    x, y, cl = np.asarray(m["x"]), np.asarray(m["y"]), np.asarray(m["cluster"], dtype="int64")
    n = len(x)
    size = 10.0 if n <= 1000 else 5.0 if n <= 5000 else 3.0
    with style("cluster-map"):
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
                    fontsize=7.5, color=text_colour(colour), fontweight="bold", zorder=4)
            ax.plot([], [], "o", color=colour, label=wrap(f"{centre['cluster']}: "
                                                            f"{centre['name']}", 26))
        if m["projection"] == "pca":
            ratio = m.get("explained_variance_ratio") or [None, None]
            words = m.get("axis_words") or ["", ""]
            labels = [f"{'→' if i == 0 else '↑'} {w}" + (
                f"  ({r:.0%} of the differences)" if r is not None else "")
                for i, (w, r) in enumerate(zip(words, ratio, strict=True))]
            ax.set_xlabel(labels[0])
            ax.set_ylabel(wrap(labels[1], 40))
            title = "Customers along the two directions in which they differ most"
        else:
            ax.set_xlabel("t-SNE 1 (no units)")
            ax.set_ylabel("t-SNE 2 (no units)")
            title = "Customers, t-SNE map: neighbours are alike"
        sample = f"{m['sample_size']:,} of {m['customers']:,} customers" \
            if m["sample_size"] < m["customers"] else f"all {m['customers']:,} customers"
        ax.set_title(f"{title}\n{sample}" + (", jittered" if m["jitter"] else ""),
                     fontsize=9.5)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=1.2)
    return fig

