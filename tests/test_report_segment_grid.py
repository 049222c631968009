"""The segment grid (report/sections/segment_grid.py): the map's own R x FM grid, named."""

from __future__ import annotations

import numpy as np

from report_support import fit
from rfmkit import schema
from rfmkit.report import build_report
from rfmkit.report.charts import plot_segment_grid
from rfmkit.report.sections.segment_grid import segment_order


def _spread(scores: np.ndarray, realised: int, n_bins: int = 5) -> np.ndarray:
    """Scores 1..realised (ties merged bins) on 1..n_bins, both ends kept, rounded half up."""
    if realised == n_bins:
        return scores
    return np.floor(1 + (scores - 1) * (n_bins - 1) / (realised - 1) + 0.5).astype("int64")


def _cells(model, grid):
    """Each customer's grid cell, recomputed by hand from the scores (FM as in METHODS.md),
    a score whose ties left fewer levels spread over 1..5 first."""
    c = model.result_.customers
    bins = model.scorer_.n_bins_
    r, f, m = (_spread(c[col].to_numpy(dtype="int64"), bins[metric])
               for col, metric in zip(schema.SCORE_COLUMNS, schema.METRIC_COLUMNS, strict=True))
    x = np.floor((f + m) / 2 + 0.5).astype("int64") if grid["axes"][1] == "fm" else f
    return r, x


def test_the_r_x_fm_grid_names_every_customer_s_segment(demo_model, demo_summary):
    g = demo_summary["segment_grid"]
    assert g["axes"] == ["r", "fm"] and g["exact"] is True and g["levels"] == [1, 2, 3, 4, 5]
    r, x = _cells(demo_model, g)
    segments = demo_model.result_.customers[schema.SEGMENT].to_numpy()
    for i, j, name in zip(r, x, segments, strict=True):
        assert g["segment"][i - 1][j - 1] == name
    counts = np.zeros((5, 5), dtype="int64")
    np.add.at(counts, (r - 1, x - 1), 1)
    assert g["count"] == counts.tolist()
    assert sum(map(sum, g["count"])) == len(segments)
    # METHODS.md's grid: Champions at R5 FM4-5 and R4 FM5, Lost at R1 FM1
    assert g["segment"][4][3] == g["segment"][4][4] == g["segment"][3][4] == "Champions"
    assert g["segment"][0][0] == "Lost"
    assert g["segments"][0] == "Champions" and g["segments"] == segment_order(
        demo_model.segment_map_)


def test_an_r_x_f_map_gets_its_own_grid(demo_tx):
    model = fit(demo_tx, segment_map="rf-10", n_clusters="none")
    g = build_report(model, model.result_).to_dict()["segment_grid"]
    assert g["axes"] == ["r", "f"] and g["exact"]
    r, x = _cells(model, g)
    for i, j, name in zip(r, x, model.result_.customers[schema.SEGMENT], strict=True):
        assert g["segment"][i - 1][j - 1] == name


def test_a_map_over_three_scores_is_drawn_by_majority(demo_tx):
    model = fit(demo_tx, segment_map="r-rfm-0.3.0", n_clusters="none")
    s = build_report(model, model.result_).to_dict()
    g = s["segment_grid"]
    assert g["axes"] == ["r", "fm"] and g["exact"] is False
    r, x = _cells(model, g)
    c = model.result_.customers.assign(cell=(r - 1) * 5 + (x - 1))
    for cell, group in c.groupby("cell"):
        counts = group[schema.SEGMENT].value_counts()
        assert g["segment"][cell // 5][cell % 5] in counts[counts == counts.max()].index


def test_the_grid_chart_names_the_segments(demo_summary):
    fig = plot_segment_grid(demo_summary)
    texts = [t.get_text().replace("\n", " ") for t in fig.axes[0].texts]
    present = {n for row in demo_summary["segment_grid"]["segment"] for n in row}
    for name in present:
        assert name in texts, name  # written whole, never cut
