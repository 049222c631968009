"""The charts of the HTML report, in page order (that of ``summary.SECTIONS``), and the drawing
of them all as inline SVG."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from rfmkit.report.charts.clusters import (
    plot_cluster_map,
    plot_cluster_profile,
    plot_cluster_sizes,
    plot_k_selection,
)
from rfmkit.report.charts.distributions import plot_distributions, plot_scores
from rfmkit.report.charts.segments import (
    plot_pareto,
    plot_rf_grid,
    plot_segment_grid,
    plot_segments,
)
from rfmkit.report.charts.svg import figure_svg
from rfmkit.report.charts.transitions import plot_transitions

__all__ = ["CHARTS", "ChartSpec", "render_charts"]


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


def _segment_grid_caption(s: Mapping[str, Any]) -> str:
    g = s["segment_grid"]
    axes = " x ".join(a.upper() for a in g["axes"])
    text = (f"Each cell: the customers with that {axes} score, coloured by the segment the map "
            "gives the cell (the name is written in its fullest cell). Empty cells: no "
            "customer has those scores.")
    if not g["exact"]:
        text += (" This map uses all three scores, so a cell may hold several segments; it is "
                 "coloured by the segment most of its customers are in.")
    return text


def _cluster_map_caption(s: Mapping[str, Any]) -> str:
    m = s["clusters"]["map"]
    if m["projection"] == "tsne":
        return ("Customers placed by t-SNE so that similar customers sit close together; the "
                "axes have no units and distances between groups mean little. Large dots: "
                "the middle of each cluster.")
    return ("Customers spread along the two directions in which they differ most (a "
            "principal-component view of the features the clusters were built on); customers "
            "close together behave alike. Large dots: cluster centres.")


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("segment-grid", "segments", "The segment grid", _segment_grid_caption,
              plot_segment_grid, lambda s: s.get("segment_grid") is not None),
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
    ChartSpec("cluster-map", "clusters", "Cluster map", _cluster_map_caption,
              plot_cluster_map, _has_clusters),
    ChartSpec("distributions", "distributions", "Distributions of R, F and M",
              _distributions_caption, plot_distributions, lambda s: True),
    ChartSpec("scores", "scores", "Score distributions", _scores_caption, plot_scores,
              lambda s: True),
    ChartSpec("transitions-segments", "transitions", "Segments: previous model -> this model",
              "Rows: the segment the previous model gives; columns: the one this model gives, "
              "both on the same current data. Colour: share of the row.",
              lambda s: plot_transitions(s, "segments"), _has_transitions("segments")),
    ChartSpec("transitions-clusters", "transitions", "Clusters: previous model -> this model",
              "Rows: the cluster the previous model gives; columns: the one this model gives, "
              "both on the same current data. Colour: share of the row.",
              lambda s: plot_transitions(s, "clusters"), _has_transitions("clusters")),
)


def render_charts(summary: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Every applicable chart as inline SVG, grouped by section (in :data:`CHARTS` order)."""
    out: dict[str, list[dict[str, str]]] = {}
    for spec in CHARTS:
        if spec.applies(summary):
            out.setdefault(spec.section, []).append({
                "id": spec.chart_id, "title": spec.title, "caption": spec.caption_for(summary),
                "svg": figure_svg(spec.plot(summary), spec.chart_id, title=spec.title),
            })
    return out
