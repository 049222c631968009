"""Figure -> inline SVG for the HTML report, deterministically.

Fixed ``svg.hashsalt`` (see :func:`~rfmkit.report.charts.style.style`), no date or creator
metadata, no XML prolog or DOCTYPE, no namespace URLs, and ids prefixed per chart so several
charts can live in one page.
"""

from __future__ import annotations

import io
import re

from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from rfmkit.report.charts.style import style

__all__ = ["RASTER_DPI", "figure_svg"]

#: Resolution of the parts of a chart drawn as an image (dense scatter plots): sharp on
#: high-density screens at the charts' natural size.
RASTER_DPI = 150

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
    # A layout engine moves the axes from where they are, and tick labels follow the axes'
    # size, so a second layout can land elsewhere: start each drawing from the same positions.
    placed = [(ax, ax.get_position(original=True).frozen(), ax.get_in_layout())
              for ax in fig.axes]
    if any(artist.get_rasterized() for ax in fig.axes for artist in ax.get_children()):
        fig.dpi = RASTER_DPI  # the resolution of the rasterized parts; the rest is vector
    try:
        with style(chart_id):
            FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})
    finally:
        fig.set_canvas(canvas)
        fig.dpi = dpi
        for ax, position, in_layout in placed:
            ax.set_position(position)
            ax.set_in_layout(in_layout)  # set_position takes the axes out of the layout
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

