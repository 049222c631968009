"""The history report: one self-contained HTML page over snapshots, like the main report.

:func:`build_history_report` takes the plain figures of
:func:`rfmkit.timeline.facts.history_facts` (it computes nothing itself), draws the charts as
inline SVG and fills ``templates/history.html`` with the main report's stylesheet and script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from rfmkit._version import __version__
from rfmkit.money import resolve_currency
from rfmkit.report.charts.svg import figure_svg
from rfmkit.report.history.charts import plot_flow, plot_matrix, plot_sizes
from rfmkit.report.render import _asset, _environment

__all__ = ["build_history_report"]


# A chart with small text (the heatmap's counts) shrinks to no less than this share of its
# natural width; a narrower window scrolls it sideways instead, with a visible hint.
MIN_SCALE = 0.85


def _svg(fig: Any, chart_id: str, title: str, caption: str,
         min_scale: float | None = None) -> dict[str, Any]:
    chart = {"id": chart_id, "title": title, "caption": caption,
             "svg": Markup(figure_svg(fig, chart_id, title=title))}
    if min_scale is not None:  # inches -> CSS px (96 per inch)
        chart["min_width"] = round(fig.get_size_inches()[0] * 96 * min_scale)
    return chart


def _drift_text(row: Mapping[str, Any]) -> str:
    flagged = [(k[0].upper(), row[f"{k}_flag"]) for k in ("r_score", "f_score", "m_score")
               if not row[f"{k}_flag"].startswith("stable")]
    if not flagged:
        return "stable"
    return "; ".join(f"{score}: {flag}" for score, flag in flagged)


def build_history_report(facts: Mapping[str, Any], *, title: str = "Who moved: RFM history",
                         segment_map: str = "", refit: bool = False,
                         currency: str | None = None) -> str:
    """The history report as one HTML document (a string); money in ``currency`` (an ISO
    4217 code or a symbol, usually the model's; None: plain numbers)."""
    money = resolve_currency(currency)
    charts: dict[str, list[dict[str, Any]]] = {"sizes": [], "moves": []}
    charts["sizes"].append(_svg(
        plot_sizes(facts), "history-sizes", "Segment sizes over time",
        "Customers per segment at each as-of date; the best segment at the bottom."))
    matrix = facts.get("matrix")
    if matrix is not None:
        charts["moves"].append(_svg(
            plot_matrix(matrix), "history-matrix", "Transition heatmap",
            "Counts and share of the row; (new) is customers with no purchase before.",
            min_scale=MIN_SCALE))
        charts["moves"].append(_svg(
            plot_flow(matrix, facts["order"]), "history-flow", "Flow",
            "Band width: customers going from a segment (left) to a segment (right)."))
    summary = {**facts, "title": title, "map": segment_map, "refit": refit,
               "mode": "bin edges re-learned at each date" if refit else
               "frozen model (bin edges of the fit)",
               "rfmkit_version": __version__, "currency": money,
               "drift_text": [_drift_text(row) for row in facts["drift"]]}
    return _environment().get_template("history.html").render(
        s=summary, charts=charts, css=_asset("report.css"), js=_asset("report.js"))
