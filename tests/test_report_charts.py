"""The charts (report/charts/): figures, their SVG, and the charts of the page drawn in order."""

from __future__ import annotations

import io
import re

import pytest
from matplotlib.figure import Figure

from rfmkit import schema
from rfmkit.report import Report, build_report
from rfmkit.report import charts as report_charts


@pytest.mark.parametrize(("sample", "raster"), [(200, False), (5000, True)])
def test_cluster_map_dots_are_an_image_when_dense(demo_model, sample, raster):
    report = build_report(demo_model, demo_model.result_, scatter_sample=sample)
    dots = report.to_dict()["clusters"]["map"]["sample_size"]
    assert (dots > 1000) is raster  # the demo has 1,226 customers
    fig = report.figure("cluster-map")
    svg = report_charts.figure_svg(fig, "cluster-map")
    # many dots: one embedded picture; few: one vector mark each
    assert ("<image" in svg) is raster
    assert (svg.count("<use ") < 50) if raster else (svg.count("<use ") >= dots)
    assert fig.dpi == Figure().dpi  # the raster resolution is set for the SVG only
    if raster:
        width = float(re.search(r'<image[^>]*\swidth="([0-9.]+)', svg).group(1))
        assert width > 300  # the plot area, not a thumbnail


def test_every_chart_function_returns_a_figure(demo_summary):
    for name in report_charts.__all__:
        if not name.startswith("plot_"):
            continue
        fig = getattr(report_charts, name)(demo_summary) if name != "plot_transitions" else None
        if fig is None:
            with pytest.raises(ValueError, match="no segments transitions"):
                report_charts.plot_transitions(demo_summary)
            continue
        assert isinstance(fig, Figure), name
        assert fig.axes, name


def test_report_figure_and_svg(demo_model):
    report = build_report(demo_model, demo_model.result_)
    fig = report.figure("segments")
    assert isinstance(fig, Figure)
    svg = report_charts.figure_svg(fig, "x-1", title='Seg "A"')
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "http" not in svg and "<metadata" not in svg and "xmlns" not in svg
    assert 'aria-label="Seg &quot;A&quot;"' in svg
    assert all(i.startswith("x-1-") for i in re.findall(r'\sid="([^"]+)"', svg))
    assert report_charts.figure_svg(report.figure("segments"), "x-1", title='Seg "A"') == svg
    # the figure is left as it was: still drawable by the caller, same size in pixels
    canvas, dpi = fig.canvas, fig.dpi
    assert report_charts.figure_svg(fig, "x-1", title='Seg "A"') == svg
    assert fig.canvas is canvas and fig.dpi == dpi
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="Unknown chart"):
        report.figure("treemap")
    with pytest.raises(TypeError):
        report_charts.plot_segments({"no": "summary"})


# --- the charts of the page (moved from test_chart_worker.py when the worker was removed) --------
def test_charts_drawn_again_are_the_same(demo_summary):
    charts = report_charts.render_charts(demo_summary)
    assert charts == report_charts.render_charts(demo_summary)
    assert sum(len(v) for v in charts.values()) >= 8  # distributions ... cluster map
    # grouped by section, each group in CHARTS order
    order = [spec.chart_id for spec in report_charts.CHARTS if spec.applies(demo_summary)]
    assert [c["id"] for items in charts.values() for c in items] == order
    assert list(charts) == [s for s in demo_summary["sections"] if s in charts]


def test_chart_errors_reach_the_caller(demo_summary):
    summary = dict(demo_summary)
    del summary["distributions"]  # every chart after the first fails
    with pytest.raises(KeyError):
        report_charts.render_charts(summary)


def test_report_html_is_drawn_once_and_the_same(demo_summary):
    fresh = Report(demo_summary)
    html = fresh.html()
    assert html == Report(demo_summary).html()
    assert fresh.html() is html  # drawn once


def test_silhouette_axis_starts_at_zero(demo_summary):
    fig = report_charts.plot_k_selection(demo_summary)
    silhouette, stability = fig.axes[1], fig.axes[2]
    assert silhouette.get_ylim()[0] <= 0 and silhouette.get_ylim()[1] >= 1
    assert stability.get_ylim()[0] <= 0


def test_long_names_are_wrapped_never_cut(demo_model):
    import dataclasses

    long = "Big spenders who have not come back since the spring sale"
    result = demo_model.result_
    clusters = result.clusters.copy()
    clusters[schema.CLUSTER_NAME] = clusters[schema.CLUSTER_NAME].astype(object)
    clusters.loc[clusters.index[0], schema.CLUSTER_NAME] = long
    first = int(clusters.loc[clusters.index[0], schema.CLUSTER])
    s = build_report(demo_model, dataclasses.replace(result, clusters=clusters)).to_dict()
    for plot in (report_charts.plot_cluster_profile, report_charts.plot_cluster_sizes):
        fig = plot(s)
        ax = fig.axes[0]
        texts = [t.get_text() for t in ax.get_yticklabels()]
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
        joined = [" ".join(t.split("\n")) for t in texts]
        assert f"{first}: {long}" in joined, plot.__name__
        assert not any("…" in t for t in texts)
