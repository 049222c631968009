"""Chart of the transitions section: previous -> current assignment of the same customers."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rfmkit.report.charts.style import style, summary_of, text_colour, wrap

__all__ = ["plot_transitions"]


def plot_transitions(summary: Any, kind: str = "segments") -> Figure:
    """Previous -> current assignment of the same customers (counts; colour: share of the row)."""
    s = summary_of(summary)
    t = s.get("transitions")
    if t is None or t.get(kind) is None:
        raise ValueError(f"This report has no {kind} transitions (no previous assignments).")
    d = t[kind]
    counts = np.asarray(d["counts"], dtype="float64")
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / totals, np.nan)
    n_rows, n_cols = counts.shape
    with style(f"transitions-{kind}"):
        fig = Figure(figsize=(max(5.5, 1.6 + 0.62 * n_cols), 1.4 + 0.34 * n_rows),
                     layout="constrained")
        ax = fig.subplots()
        image = ax.imshow(np.ma.masked_invalid(shares), cmap="Purples", vmin=0, vmax=1,
                          aspect="auto")
        ax.set_xticks(np.arange(n_cols), [wrap(v, 16) for v in d["to"]], rotation=35,
                      ha="right", rotation_mode="anchor")
        ax.set_yticks(np.arange(n_rows), [wrap(v, 24) for v in d["from"]])
        ax.set_xlabel(f"{kind[:-1]} under this model")
        ax.set_ylabel(f"{kind[:-1]} under the previous model")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for i in range(n_rows):
            for j in range(n_cols):
                if counts[i, j] > 0:
                    colour = text_colour(image.cmap(image.norm(shares[i, j])))
                    ax.text(j, i, f"{int(counts[i, j]):,}", ha="center", va="center",
                            fontsize=7, color=colour)
        ax.set_title(f"How the new model re-labels the same customers: {kind}")
    return fig

