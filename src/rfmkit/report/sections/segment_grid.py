"""The segment grid: customers per cell of the grid the segment map is defined on, named.

RFM practitioners draw the classic map as an R x FM grid (recency score up, the rounded mean of
the frequency and monetary scores across), each cell coloured and named by its segment. The
grid here is the map's own (:attr:`SegmentMap.axes`): R x FM, or R x F for an R x F map. A map
over all three scores is drawn on R x FM too, each cell named after the segment most of its
customers are in (``exact`` is then False). The score levels are the ones the model's
segment assignment reads (levels of the scores, a score whose ties left fewer levels spread
over them first, rescaled to the map's levels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.report.sections.common import plain
from rfmkit.scoring.levels import score_levels
from rfmkit.segments.assignment import rescale_levels
from rfmkit.segments.loading import NO_SEGMENTS

__all__ = ["segment_grid", "segment_order"]

_AXIS_TEXT = {
    "r": "R: recency score (5: bought most recently)",
    "f": "F: frequency score",
    "fm": "FM: mean of the frequency and monetary scores, rounded",
}


def segment_order(seg_map: Any) -> list[str]:
    """The map's segments, most valuable first: its ``value_order``, else rule order."""
    names = list(seg_map.segment_names)
    declared = [n for n in getattr(seg_map, "value_order", ()) if n in names]
    return declared + [n for n in names if n not in declared]


def _map_levels(model: Any, customers: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each customer's r, f, m and fm level as the segment map reads them."""
    n = model.segment_levels
    levels = score_levels(customers[list(schema.SCORE_COLUMNS)], n_levels=n,
                          realised=model.realised_levels)
    L = model.segment_map_.levels
    out = {axis: rescale_levels(levels[column].to_numpy(dtype="int64"), n, L)
           for axis, column in zip("rfm", schema.SCORE_COLUMNS, strict=True)}
    out["fm"] = (out["f"] + out["m"] + 1) // 2  # floor((F + M) / 2 + 0.5), exact on integers
    return out


def segment_grid(model: Any, result: Any) -> dict[str, Any] | None:
    """Customers, revenue and segment of every (R, FM) or (R, F) cell; None without segments."""
    seg_map = model.segment_map_
    if seg_map.name == NO_SEGMENTS or len(seg_map.segment_names) < 2:
        return None
    customers = result.customers
    axes = seg_map.axes
    column = "f" if axes == ("r", "f") else "fm"
    L = seg_map.levels
    lv = _map_levels(model, customers)
    r, x = lv["r"], lv[column]
    revenue = customers[schema.REVENUE if schema.REVENUE in customers.columns
                        else schema.MONETARY].to_numpy(dtype="float64", na_value=np.nan)
    cell = (r - 1) * L + (x - 1)
    count = np.bincount(cell, minlength=L * L).reshape(L, L)
    total = np.bincount(cell, weights=np.nan_to_num(revenue), minlength=L * L).reshape(L, L)
    exact = len(axes) == 2
    names: list[list[str | None]] = [[None] * L for _ in range(L)]
    if exact:
        assignment = seg_map.audit().assignment
        for i in range(L):
            for j in range(L):
                names[i][j] = assignment.get((i + 1, j + 1))
    else:  # a map over r, f and m: the segment most of the cell's customers are in
        frame = pd.DataFrame({"cell": cell, "segment": customers[schema.SEGMENT].astype(str)})
        top = frame.groupby(["cell", "segment"]).size().reset_index(name="n").sort_values(
            ["cell", "n", "segment"], ascending=[True, False, True]).drop_duplicates("cell")
        for c, name in zip(top["cell"], top["segment"], strict=True):
            names[int(c) // L][int(c) % L] = name
    n_customers = int(len(customers))
    return {
        "axes": ["r", column],
        "axis_text": [_AXIS_TEXT["r"], _AXIS_TEXT[column]],
        "levels": list(range(1, L + 1)),
        "exact": exact,
        "segments": segment_order(seg_map),
        "count": [[int(v) for v in row] for row in count],
        "share": [[plain(v / n_customers) for v in row] for row in count],
        "revenue": [[plain(round(float(v), 2)) for v in row] for row in total],
        "segment": names,
    }
