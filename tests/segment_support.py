"""What the segment tests share: the METHODS.md grid, a score table and a small map."""

from __future__ import annotations

import pandas as pd

from rfmkit import schema
from rfmkit.segments.map import SegmentMap
from rfmkit.segments.rules import SegmentRule

# METHODS.md section 5, transcribed: segment -> its R,FM cells.
GRID_11 = {
    "Champions": "5,5 5,4 4,5",
    "Loyal Customers": "5,3 4,4 3,5 3,4",
    "Potential Loyalists": "5,2 4,2 3,3 4,3",
    "New Customers": "5,1",
    "Promising": "4,1 3,1",
    "Need Attention": "3,2 2,3 2,2",
    "About To Sleep": "2,1",
    "At Risk": "2,5 2,4 1,3",
    "Can't Lose Them": "1,5 1,4",
    "Hibernating": "1,2",
    "Lost": "1,1",
}


def scores_frame(rows, index=None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(schema.SCORE_COLUMNS), index=index)


def small_map(**kwargs) -> SegmentMap:
    rules = [
        SegmentRule("A", r=(4, 5)),
        SegmentRule("B", r=(1, 3), f=(1, 2)),
        SegmentRule("C", r=3, f=(3, 5)),
    ]
    return SegmentMap(**{"name": "small", "levels": 5, "rules": rules, "fallback": "Others",
                         **kwargs})
