"""The HTML report in a real headless Chromium: it loads, stays offline, shows every section.

Needs the system Chromium (Debian package ``chromium``; ``scripts/test`` installs it) and the
``playwright`` Python package, used only as a driver: its own browser downloads are never used
(``executable_path`` points at the system binary). Screenshots are saved under the test's
tmp_path and, when ``RFMKIT_SCREENSHOT_DIR`` is set, copied there for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

from rfmkit.demo import generate_transactions
from rfmkit.errors import RFMKitWarning
from rfmkit.model import RFMModel
from rfmkit.report import build_report

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@pytest.fixture(scope="module")
def playwright_driver():
    binary = _chromium_binary()
    if binary is None:
        pytest.skip("No chromium binary found (install the Debian package 'chromium'; "
                    "scripts/test does this).")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the 'playwright' package (dev extra) drives Chromium")
    with sync_api.sync_playwright() as driver:
        yield driver, binary


def _fit(source, *args, **kwargs) -> RFMModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMKitWarning)
        return RFMModel(*args, **kwargs).fit(source)


def _check_in_browser(playwright_driver, tmp_path: Path, name: str, model: RFMModel) -> None:
    driver, binary = playwright_driver
    report = build_report(model, model.result_, title=f"rfmkit report: {name}")
    summary = report.to_dict()
    page_path = report.write_html(tmp_path / f"report-{name}.html").resolve()
    url = page_path.as_uri()

    context = driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"), executable_path=binary, headless=True,
        args=CHROMIUM_FLAGS, viewport={"width": 1366, "height": 900})
    try:
        requests: list[str] = []
        problems: list[str] = []
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                if msg.type in ("error", "assert") else None)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        response = page.goto(url, wait_until="load")
        assert response is None or response.ok
        page.wait_for_load_state("networkidle")

        assert page.title() == f"rfmkit report: {name}"
        for section in summary["sections"]:
            locator = page.locator(f"section#{section}")
            assert locator.count() == 1, section
            assert locator.is_visible(), section
            box = locator.bounding_box()
            assert box is not None and box["height"] > 100, section
        # the page opens with the findings, in plain words, before any technical detail
        first = page.locator("section#overview ol.findings li.finding")
        assert 3 <= first.count() <= 5
        assert first.first.bounding_box()["y"] < 900  # on the first screen
        folded = page.locator("details.tech")
        assert folded.count() >= 3
        assert all(folded.nth(i).get_attribute("open") is None for i in range(folded.count()))
        for jargon in ("k-means with", "ARI", "PC1", "Gini"):  # only in folded details
            for i in range(page.locator(f"text={jargon}").count()):
                assert not page.locator(f"text={jargon}").nth(i).is_visible(), jargon
        charts = page.locator("figure.chart-box svg")
        assert charts.count() >= 8
        visible = [i for i in range(charts.count()) if charts.nth(i).is_visible()]
        assert len(visible) >= 7  # the folded ones: k-selection, R x F grid
        page.eval_on_selector_all("details", "ds => ds.forEach(d => { d.open = true; })")
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, i
        # nothing wider than the window, no table scrolling sideways, on a laptop screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        assert overflowing_tables(page) == []

        shot = tmp_path / f"report-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        # a narrow window (760 px, a laptop's half screen): the page reflows and no table
        # scrolls sideways either (a cut-off column looked like a whole table, issue 13)
        page.set_viewport_size({"width": 760, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= 760
        assert overflowing_tables(page) == []
        # ... by moving, not hiding: each row's description and suggested action still show
        for table in ("#table-segments", "#table-clusters"):
            about = page.locator(f"{table} tbody tr.about")
            assert about.count() == page.locator(f"{table} tbody tr.main").count() > 0
            assert all(about.nth(i).is_visible() for i in range(about.count())), table
        assert page.locator("#table-segments tr.about .action").first.is_visible()
        page.screenshot(path=str(tmp_path / f"report-{name}-760.png"), full_page=True)
        page.set_viewport_size({"width": 1366, "height": 900})

        # the sortable tables really sort (inline script, no library)
        header = page.locator("#table-segments thead th").nth(1)
        header.click()
        ascending = [float(v) for v in page.eval_on_selector_all(
            "#table-segments tbody tr td:nth-child(2)", "cells => cells.map(c => c.dataset.sort)")]
        assert ascending == sorted(ascending)
        header.click()
        descending = [float(v) for v in page.eval_on_selector_all(
            "#table-segments tbody tr td:nth-child(2)", "cells => cells.map(c => c.dataset.sort)")]
        assert descending == sorted(ascending, reverse=True)
        assert header.get_attribute("aria-sort") == "descending"

        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    finally:
        context.close()

    assert problems == []
    assert requests == [url], f"the report made network requests: {requests}"
    assert shot.read_bytes()[:8] == PNG_SIGNATURE and shot.stat().st_size > 50_000
    target = os.environ.get("RFMKIT_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(target) / shot.name)
        narrow = tmp_path / f"report-{name}-760.png"
        shutil.copy2(narrow, Path(target) / narrow.name)


def overflowing_tables(page) -> list[str]:
    """The ids of the tables wider than their scrolling wrapper: a sideways scroll bar."""
    return page.eval_on_selector_all(
        ".table-wrap", "ws => ws.filter(w => w.scrollWidth > w.clientWidth)"
                       ".map(w => w.querySelector('table').id)")


def test_demo_report_in_chromium(playwright_driver, tmp_path):
    model = _fit(generate_transactions(n_rows=20_000, seed=0))
    _check_in_browser(playwright_driver, tmp_path, "demo", model)


def test_online_retail_report_in_chromium(playwright_driver, tmp_path):
    path = SHARED_DATA / "online_retail.parquet"
    if not path.exists():
        pytest.skip(f"Online Retail data not found at {path} (shared/data is not part of the "
                    "repository).")
    model = _fit(str(path), "quintile")
    _check_in_browser(playwright_driver, tmp_path, "online-retail", model)
