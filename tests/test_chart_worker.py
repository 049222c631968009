"""The chart worker: a second process sharing the drawing of the report's charts, same output."""

from __future__ import annotations

import pytest

import rfmkit
from rfmkit.chart_worker import start_chart_worker
from rfmkit.report.charts import PendingCharts, render_charts


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


def test_charts_the_worker_has_not_started_are_drawn_here(report):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    summary = report.to_dict()
    release = threading.Event()
    busy = ThreadPoolExecutor(1)  # a worker that is busy with something else throughout
    try:
        blocker = busy.submit(release.wait)
        pending = PendingCharts(summary, busy)
        charts = pending.result()  # must not wait for the busy worker
        assert not blocker.done()
    finally:
        release.set()
        busy.shutdown()
    assert charts == render_charts(summary)


def test_the_worker_draws_before_the_charts_are_asked_for(report):
    import time

    summary = report.to_dict()
    worker = start_chart_worker()
    try:
        pending = PendingCharts(summary, worker)
        first = next(iter(pending._futures.values()))
        deadline = time.monotonic() + 120
        while not first.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.done()  # drawn while this process did something else
        assert pending.result() == render_charts(summary)
    finally:
        worker.shutdown()


def test_report_html_with_a_worker_is_the_same_document(report):
    from rfmkit.report import Report

    worker = start_chart_worker()
    try:
        fresh = Report(report.to_dict())
        html = fresh.html(worker)
    finally:
        worker.shutdown()
    assert html == Report(report.to_dict()).html()
    assert fresh.html() is html  # drawn once


def test_the_worker_ends_when_shut_down(report):
    import multiprocessing

    summary = report.to_dict()
    before = set(multiprocessing.active_children())
    worker = start_chart_worker()
    charts = render_charts(summary, worker)
    started = set(multiprocessing.active_children()) - before
    worker.shutdown(wait=True)
    # it sent every chart, then ended (without tearing its interpreter down) and was joined
    assert charts == render_charts(summary)
    assert started and all(p.exitcode == 0 for p in started)
    assert not started & set(multiprocessing.active_children())
