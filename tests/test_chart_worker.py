"""The chart worker: a second process drawing half of the report's charts, same output."""

from __future__ import annotations

import pytest

import rfmkit
from rfmkit.chart_worker import start_chart_worker
from rfmkit.report.charts import render_charts


@pytest.fixture(scope="module")
def report(synthetic_lines):
    model = rfmkit.RFMModel(n_clusters=3).fit(synthetic_lines)
    return rfmkit.build_report(model, model.result_)


def test_charts_drawn_with_a_worker_are_the_same(report):
    summary = report.to_dict()
    worker = start_chart_worker()
    try:
        parallel = render_charts(summary, worker)
    finally:
        worker.shutdown()
    assert parallel == render_charts(summary)
    assert sum(len(v) for v in parallel.values()) >= 8  # distributions ... cluster map


def test_worker_errors_reach_the_caller(report):
    summary = report.to_dict()
    del summary["distributions"]  # every chart after the first fails, in either process
    worker = start_chart_worker()
    try:
        with pytest.raises(KeyError):
            render_charts(summary, worker)
    finally:
        worker.shutdown()


def test_starting_the_worker_loads_no_plotting_library_here():
    import subprocess
    import sys

    script = ("import sys\nfrom rfmkit.chart_worker import start_chart_worker\n"
              "w = start_chart_worker()\nprint('matplotlib' in sys.modules)\nw.shutdown()\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"
