"""The history report (rfmkit.report.history): self-contained HTML with every section, and the
page in a real headless Chromium (no console messages, no network)."""

from __future__ import annotations

import os
import re
import shutil
import warnings
from pathlib import Path

import pytest

import rfmkit
from rfmkit.report.history import build_history_report
from rfmkit.timeline.facts import history_facts

SECTIONS = ("headline", "sizes", "moves", "downgrades", "drift", "tenure")


@pytest.fixture(scope="module")
def online_retail_job(tmp_path_factory, shared_data):
    source = shared_data / "online_retail.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rfmkit.CollapsedBinsWarning)
        model = rfmkit.RFMModel(as_of="2011-06-30").fit(source)
    out = tmp_path_factory.mktemp("history-report")
    return rfmkit.run_history(source, model, out, every="month"), out


def test_the_report_is_self_contained_with_every_section(online_retail_job):
    job, out = online_retail_job
    page = (out / "report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}"' in page
    assert page.count("<svg") == 3  # sizes, heatmap, flow
    assert not re.search(r"(src|href)=\"https?://", page)
    assert "(new)" in page and "revenue at stake" in page and "PSI" in page
    assert "2011-12-09" in page


def test_one_snapshot_renders_without_moves():
    import pandas as pd

    snaps = pd.DataFrame({"customer_id": ["A"], "as_of": pd.to_datetime(["2024-01-31"]),
                          "segment": ["Best"], "recency": [1], "frequency": [1],
                          "monetary": [5.0], "r_score": [1], "f_score": [1], "m_score": [1]})
    empty = rfmkit.transitions(snaps)
    page = build_history_report(history_facts(snaps, empty, rfmkit.movers(snaps, ["Best"]),
                                              ["Best"]))
    assert "One snapshot only" in page and page.count("<svg") == 1


def test_money_is_in_the_model_s_currency_and_labels_are_whole(tmp_path, shared_data):
    # issue 13: the history report showed no currency, and the heatmap cut "Potential Loyalis…"
    source = shared_data / "online_retail.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rfmkit.CollapsedBinsWarning)
        model = rfmkit.RFMModel(as_of="2011-09-30", currency="GBP", n_clusters="none").fit(
            source)
    rfmkit.run_history(source, model, tmp_path, every="month")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    headline = page[page.index('id="headline"'):page.index('id="sizes"')]
    assert headline.count("£") >= 2  # the spend of those who fell, and of new customers
    heatmap = page[page.index("history-matrix"):page.index("history-flow")]
    assert "…" not in heatmap and "Loyalists" in heatmap
    # without a currency: plain numbers
    plain = build_history_report(history_facts(*_tiny_history()), currency=None)
    assert "£" not in plain and "€" in build_history_report(history_facts(*_tiny_history()),
                                                           currency="EUR")


def _tiny_history():
    import pandas as pd

    snaps = pd.DataFrame({"customer_id": ["A", "A"], "as_of": pd.to_datetime(["2024-01-31",
                                                                               "2024-02-29"]),
                          "segment": ["Best", "Rest"], "recency": [1, 30], "frequency": [1, 1],
                          "monetary": [5.0, 5.0], "r_score": [1, 1], "f_score": [1, 1],
                          "m_score": [1, 1]})
    order = ["Best", "Rest"]
    return snaps, rfmkit.transitions(snaps), rfmkit.movers(snaps, order), order


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.chromium
@pytest.mark.slow
def test_the_report_in_headless_chromium(online_retail_job, tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("No chromium binary found (install the Debian package 'chromium').")
    sync_api = pytest.importorskip("playwright.sync_api")
    _, out = online_retail_job
    url = (out / "report.html").resolve().as_uri()
    messages: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=binary, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
            page.on("pageerror", lambda exc: messages.append(f"page error: {exc}"))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url, wait_until="load")
            page.wait_for_load_state("networkidle")
            for section in SECTIONS:
                box = page.locator(f"section#{section}").bounding_box()
                assert box is not None and box["height"] > 80, section
            charts = page.locator("figure.chart-box svg")
            assert charts.count() == 3
            for i in range(3):
                box = charts.nth(i).bounding_box()
                assert box["width"] > 300 and box["height"] > 150, i
            assert page.evaluate("document.documentElement.scrollWidth") <= 1366
            hint = page.locator("#chart-history-matrix .scroll-hint")
            assert hint.count() == 1 and not hint.is_visible()  # it fits: nothing to scroll
            shot = tmp_path / "history-report.png"
            page.screenshot(path=str(shot), full_page=True)
            # 760 px (a laptop's half screen): no table scrolls sideways
            page.set_viewport_size({"width": 760, "height": 900})
            assert page.evaluate("document.documentElement.scrollWidth") <= 760
            assert page.eval_on_selector_all(
                ".table-wrap", "ws => ws.filter(w => w.scrollWidth > w.clientWidth)"
                               ".map(w => w.querySelector('table').id)") == []
            # the heatmap's counts stay readable: it shrinks to 85% of its natural size at most
            # and scrolls sideways beyond that, saying so (it had shrunk to 72%, issue 13)
            natural = page.evaluate("document.querySelector('#chart-history-matrix svg')"
                                    ".viewBox.baseVal.width * 4 / 3")
            shown = page.locator("#chart-history-matrix svg").bounding_box()["width"]
            assert shown >= 0.85 * natural - 1 and shown > 674
            assert hint.is_visible()
            page.screenshot(path=str(tmp_path / "history-report-760.png"), full_page=True)
        finally:
            browser.close()
    assert messages == []  # no console message of any kind
    assert requests == [url]
    target = os.environ.get("RFMKIT_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(target) / shot.name)
