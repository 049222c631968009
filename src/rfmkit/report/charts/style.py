"""What every chart of the report shares: the matplotlib style, colours and small helpers.

Figures are built without pyplot (no global figure registry, no GUI backend), inside
:func:`style`: a fixed set of rc parameters, with an ``svg.hashsalt`` per chart so that the ids
matplotlib writes into the SVG are the same on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.colors import to_rgb

__all__ = ["BLUE", "GREY", "INK", "LABEL_ARROW", "LABEL_BOX", "ORANGE", "RED", "cluster_colour",
           "empty_note", "number", "segment_colour", "short", "style", "summary_of", "text_colour",
           "wrap"]

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

# Segments, most valuable first: greens (the best), blues (promising), yellow (undecided), reds
# (valuable but leaving), greys (gone). Pale enough for dark text on every one.
_SEGMENT_COLOURS = (
    "#2f9e44", "#69db7c", "#b2f2bb", "#74c0fc", "#a5d8ff", "#ffe066", "#ff8787", "#ffa94d",
    "#ffd8a8", "#ced4da", "#adb5bd",
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
#: Text boxes and leader lines of chart annotations.
LABEL_BOX = {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "none",
             "alpha": 0.9}
LABEL_ARROW = {"arrowstyle": "-", "color": GREY, "linewidth": 0.8, "relpos": (0.0, 0.5)}


@contextmanager
def style(salt: str = "rfmkit"):
    """The report's rc parameters, with ``svg.hashsalt`` fixed per chart (stable SVG ids)."""
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"rfmkit-{salt}"}):
        yield


def summary_of(obj: Any) -> Mapping[str, Any]:
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


def segment_colour(name: str, order: list[str]) -> str:
    """Colour of a segment by its rank in ``order`` (most valuable first), spread over the
    palette so the best segment is always green and the last grey, whatever the map."""
    n = len(order)
    rank = order.index(name) if name in order else n - 1
    last = len(_SEGMENT_COLOURS) - 1
    return _SEGMENT_COLOURS[0 if n <= 1 else int(round(rank * last / (n - 1)))]


def number(x: float, _pos: Any = None) -> str:
    """Compact tick label: 1.2k, 3.4M, plain below 1000."""
    ax = abs(x)
    if ax >= 1e6:
        return f"{x / 1e6:.3g}M"
    if ax >= 1e3:
        return f"{x / 1e3:.3g}k"
    if ax >= 1 or ax == 0:
        return f"{x:.4g}"
    return f"{x:.2g}"


def short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wrap(text: str, width: int = 22) -> str:
    """``text`` on lines of at most ``width`` characters (words kept whole): never cut."""
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width, break_long_words=False)) or str(text)


def text_colour(rgba: Any) -> str:
    r, g, b = to_rgb(rgba)
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.55 else INK


def empty_note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])
