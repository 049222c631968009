"""The report's charts: one function per chart, from the summary dict to a matplotlib Figure.

Each ``plot_*`` function takes the summary (``Report`` or ``report.to_dict()``) and returns a
:class:`matplotlib.figure.Figure`, for notebooks and scripts::

    report = rfmkit.build_report(model, model.result_)
    plot_segments(report)              # displays in Jupyter
    plot_segments(report).savefig("segments.png")

The modules: :mod:`.style` (rc parameters, colours), one module per report section
(:mod:`.distributions`, :mod:`.segments`, :mod:`.clusters`, :mod:`.transitions`), :mod:`.svg`
(figure -> deterministic inline SVG) and :mod:`.registry` (the charts of the HTML page, drawn
one after the other in this process). Figures are built without pyplot (no global figure
registry, no GUI backend), so this package is safe in servers and tests.
"""

from rfmkit.report.charts.clusters import (
    plot_cluster_map,
    plot_cluster_profile,
    plot_cluster_sizes,
    plot_k_selection,
)
from rfmkit.report.charts.distributions import plot_distributions, plot_scores
from rfmkit.report.charts.registry import CHARTS, ChartSpec, render_charts
from rfmkit.report.charts.segments import (
    plot_pareto,
    plot_rf_grid,
    plot_segment_grid,
    plot_segments,
)
from rfmkit.report.charts.style import cluster_colour, segment_colour
from rfmkit.report.charts.svg import figure_svg
from rfmkit.report.charts.transitions import plot_transitions

__all__ = [
    "CHARTS",
    "ChartSpec",
    "cluster_colour",
    "figure_svg",
    "plot_cluster_map",
    "plot_cluster_profile",
    "plot_cluster_sizes",
    "plot_distributions",
    "plot_k_selection",
    "plot_pareto",
    "plot_rf_grid",
    "plot_scores",
    "plot_segment_grid",
    "plot_segments",
    "plot_transitions",
    "render_charts",
    "segment_colour",
]
