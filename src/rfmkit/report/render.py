"""Summary dict + SVG charts -> one self-contained HTML document (Jinja2, autoescaped).

The template, stylesheet and script are package data (``rfmkit/report/templates``); the CSS and
JS are inlined and the charts are inline SVG, so the file needs nothing but itself: no CDN, no
fonts, no images, no network. Every user-supplied text (segment and cluster names, descriptions,
file names, the title) goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from rfmkit.money import money_text
from rfmkit.report.charts import cluster_colour, render_charts, segment_colour

__all__ = ["render_html"]

_TEMPLATES = "rfmkit.report.templates"
_DASH = "–"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_int(value: Any) -> str:
    """``1234`` -> ``1,234``."""
    return _DASH if _missing(value) else f"{int(round(value)):,}"


def fmt_money(value: Any, currency: Mapping[str, str] | None = None, *, compact: bool = False,
              whole: bool = False) -> str:
    """Money in the report's currency: ``€1,234.50`` (two decimals, thousands separators)."""
    return money_text(value, currency, compact=compact, whole=whole)


def fmt_num(value: Any) -> str:
    """A number for a table: whole numbers as they are, others with sensible precision."""
    if _missing(value):
        return _DASH
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.2f}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.1234`` -> ``12.3%``."""
    return _DASH if _missing(value) else f"{value * 100:.{digits}f}%"


def fmt_compact(value: Any) -> str:
    """Short form for headline figures: ``8911407.9`` -> ``8.91M``, ``473201`` -> ``473.2k``."""
    if _missing(value):
        return _DASH
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}" if abs(value) < 100 * limit else \
                f"{value / limit:,.0f}{suffix}"
    return fmt_num(value)


def sort_key(value: Any) -> str:
    """The ``data-sort`` attribute of a table cell: the raw number, empty when missing."""
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rfmkit.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(int=fmt_int, money=fmt_money, num=fmt_num, pct=fmt_pct, sortkey=sort_key,
                       compact=fmt_compact,
                       colour=cluster_colour, segment_colour=segment_colour)
    return env


def _asset(name: str) -> Markup:
    text = resources.files(_TEMPLATES).joinpath(name).read_text(encoding="utf-8")
    if "</" in text:  # cannot close the <style>/<script> element it is inlined into
        raise RuntimeError(f"Report asset {name} must not contain '</'.")
    return Markup(text)


_SECTION_TITLES = {
    "overview": "Summary",
    "segments": "Segments",
    "clusters": "Clusters",
    "distributions": "Distributions",
    "scores": "Scores",
    "transitions": "Model change",
}


def render_html(summary: Mapping[str, Any]) -> str:
    """The complete report as one HTML document (a string), deterministic for the same dict."""
    charts = {
        section: [{**chart, "svg": Markup(chart["svg"])} for chart in items]
        for section, items in render_charts(summary).items()
    }
    template = _environment().get_template("report.html")
    return template.render(
        s=summary,
        charts=charts,
        nav=[(sid, _SECTION_TITLES[sid]) for sid in summary["sections"]],
        css=_asset("report.css"),
        js=_asset("report.js"),
    )
