"""The report as a whole: Report and build_report, the HTML document and notebook views.

The summary dict is tested per section in test_report_<section>.py, the charts in
test_report_charts.py; real browser checks (Chromium) are in test_report_browser.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from report_support import customers, fit
from rfmkit.html_repr import (
    clusterer_html,
    model_html,
    report_html,
    scorer_html,
    segmentation_html,
)
from rfmkit.model import RFMModel
from rfmkit.report import build_report
from rfmkit.report import charts as report_charts
from rfmkit.segments.map import SegmentMap


@pytest.fixture(scope="module")
def demo_report(demo_model):
    return build_report(demo_model, demo_model.result_, title="Demo <shop> & co")


@pytest.fixture(scope="module")
def demo_html(demo_report):
    return demo_report.html()


def test_report_without_clusters(plain_model):
    report = build_report(plain_model, plain_model.result_)
    s = report.to_dict()
    assert s["clusters"] is None
    assert s["headline"]["clusters"] is None
    assert s["sections"] == ["overview", "segments", "distributions", "scores"]
    html = report.html()
    assert 'id="clusters"' not in html and 'id="chart-cluster-map"' not in html
    assert 'id="chart-rf-grid"' in html
    with pytest.raises(ValueError, match="no clusters"):
        report_charts.plot_cluster_map(report)
    with pytest.raises(ValueError, match="no 'cluster-map' chart"):
        report.figure("cluster-map")


def test_html_has_every_section_and_chart(demo_html, demo_summary):
    assert demo_html.startswith("<!DOCTYPE html>")
    assert "<h1>Demo &lt;shop&gt; &amp; co</h1>" in demo_html
    for section in demo_summary["sections"]:
        assert len(re.findall(rf'<section id="{section}"', demo_html)) == 1, section
    for chart in ("distributions", "scores", "segments", "segment-grid", "rf-grid", "pareto",
                  "k-selection", "cluster-profile", "cluster-sizes", "cluster-map"):
        assert f'<figure id="chart-{chart}"' in demo_html
    assert demo_html.count("<svg") == 10
    for row in demo_summary["segments"]["rows"]:
        assert f"<strong>{row['segment']}</strong>".replace("'", "&#39;") in demo_html
        assert row["action"].replace("'", "&#39;") in demo_html
    for name in demo_summary["clusters"]["names"]:
        assert name in demo_html
    assert f"{demo_summary['headline']['customers']:,}" in demo_html


def test_html_loads_nothing(demo_html):
    assert "http://" not in demo_html and "https://" not in demo_html
    assert "<?xml" not in demo_html and "<!DOCTYPE svg" not in demo_html
    for tag in ("<link", "<img", "<iframe", "<object", "<embed", "@import", "<base"):
        assert tag not in demo_html.lower(), tag
    assert not re.search(r"\ssrc\s*=", demo_html)
    assert not re.findall(r"url\((?!#)", demo_html)  # only references inside the page
    assert not re.search(r"<script[^>]*\ssrc", demo_html)


def test_svg_ids_are_unique(demo_html):
    ids = re.findall(r'\sid="([^"]+)"', demo_html)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'href="#([^"]+)"', demo_html) + re.findall(r"url\(#([^)]+)\)",
                                                                     demo_html):
        assert ref in ids, ref


def test_html_escapes_user_text(demo_tx):
    evil = SegmentMap.from_dict({
        "name": "evil <map>", "levels": 5, "fallback": "Rest & <i>others</i>",
        "rules": [{"name": "<script>alert(1)</script>", "r": [4, 5],
                   "action": "Say \"hi\" <b>now</b>"}],
    })
    model = fit(demo_tx, segment_map=evil, n_clusters="none")
    html = build_report(model, model.result_, title="Q3 <report> & \"more\"").html()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>now</b>" not in html and "<i>others</i>" not in html
    assert "<title>Q3 &lt;report&gt; &amp; &#34;more&#34;</title>" in html
    assert html.count("<script>") == 1  # only the report's own sorting script


def test_report_is_deterministic(demo_tx, demo_report):
    """An independent fit of the same data gives the same dict and byte-identical HTML."""
    model = fit(demo_tx, k_max=6)
    again = build_report(model, model.result_, title="Demo <shop> & co")
    assert again.to_dict() == demo_report.to_dict()
    assert json.dumps(again.to_dict()) == json.dumps(demo_report.to_dict())
    assert again.html().encode() == demo_report.html().encode()


def test_write_html_is_atomic(demo_report, tmp_path):
    report = demo_report
    target = tmp_path / "report.html"
    target.write_text("old")
    assert report.write_html(target) == target
    assert target.read_text(encoding="utf-8") == report.html()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    # like save_model and every rfmkit writer (one helper: atomic_files), it creates the folder
    nested = report.write_html(tmp_path / "new" / "report.html")
    assert nested.read_bytes() == target.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "report.html"]
    assert sorted(p.name for p in nested.parent.iterdir()) == ["report.html"]


@pytest.mark.slow
def test_size_for_100k_customers():
    model = fit(customers(100_000, seed=2), k_max=6)
    report = build_report(model, model.result_)
    s = report.to_dict()
    assert s["headline"]["customers"] == 100_000
    assert s["clusters"]["map"]["sample_size"] == 5000
    assert sum(s["grid"]["count"][0]) + sum(map(sum, s["grid"]["count"][1:])) == 100_000
    size = len(report.html().encode("utf-8"))
    assert size < 5_000_000, size


def test_notebook_views(demo_model):
    report = build_report(demo_model, demo_model.result_)
    html = report._repr_html_()
    assert html == report_html(report.to_dict())
    assert len(html) < 20_000 and "<script" not in html and "<style" not in html
    for row in report.to_dict()["segments"]["rows"]:
        assert row["segment"].replace("'", "&#x27;") in html
    assert "Report" in repr(report) and f"{len(demo_model.result_.customers):,}" in repr(report)

    text = model_html(demo_model)
    assert "RFMModel" in text and demo_model.segment_map_.name in text
    assert all(name in text for name in demo_model.cluster_names_)
    assert "not fitted" in model_html(RFMModel(n_bins=4)) and "n_bins=4" in model_html(
        RFMModel(n_bins=4))

    scorer = scorer_html(demo_model.scorer_)
    assert "RFMScorer" in scorer and "quantile" in scorer
    edges = demo_model.scorer_.bin_edges_["recency"]
    assert f"{int(-edges[1]):,}" in scorer  # recency edges are shown in days, not negated

    clusterer = clusterer_html(demo_model.clusterer_)
    assert f"k={demo_model.clusterer_.n_clusters_}" in clusterer

    seg = segmentation_html(demo_model.result_)
    assert f"{len(demo_model.result_.customers):,}" in seg and "Segmentation" in seg
    assert "<script" not in seg


def test_importing_the_report_does_not_import_matplotlib_or_jinja2():
    # `import rfmkit` (CLI start-up) pays for matplotlib and Jinja2 only when a report is drawn
    code = ("import sys, rfmkit.report; "
            "print(sorted(m for m in ('matplotlib', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
