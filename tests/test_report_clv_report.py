"""The CLV report: its sections, escaping, and a real headless Chromium."""

from __future__ import annotations

import pytest

from rfmkit.clv.segments import group_values
from rfmkit.report.clv_report import clv_report_html
from test_clv_model import CDNOW, needs_cdnow, no_dropout_transactions
from test_report_browser import CHROMIUM_FLAGS, playwright_driver  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def page(cdnow_model):
    model = cdnow_model
    customers = model.customers_.assign(
        segment=["<b>Champions</b>" if i % 3 else "At Risk" for i in range(model.n_customers_)])
    return clv_report_html(model, customers, group_values(customers), title="CLV <test>")


@pytest.fixture(scope="module")
def cdnow_model():
    from rfmkit.clv_model import CLVModel

    if not CDNOW.exists():
        pytest.skip(f"{CDNOW} is not there")
    return CLVModel("1997-09-30", holdout_end="1998-06-30").fit(str(CDNOW))


@needs_cdnow
def test_sections_and_escaping(page):
    for text in ("Value per segment", "P(alive) per segment", "Tracking",
                 "Holdout by frequency", "at stake in At Risk"):
        assert text in page
    assert "<b>Champions</b>" not in page and "&lt;b&gt;Champions&lt;/b&gt;" in page
    assert "<title>CLV &lt;test&gt;</title>" in page
    assert page.count("<svg") == 4
    assert "http://" not in page and "https://" not in page


@needs_cdnow
@pytest.mark.chromium
def test_renders_in_chromium_without_console_messages(page, playwright_driver, tmp_path):  # noqa: F811
    driver, binary = playwright_driver
    path = tmp_path / "clv.html"
    path.write_text(page, encoding="utf-8")
    context = driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=binary, headless=True, args=CHROMIUM_FLAGS,
        viewport={"width": 1366, "height": 900})
    try:
        messages: list[str] = []
        requests: list[str] = []
        tab = context.new_page()
        tab.on("console", lambda m: messages.append(m.text))
        tab.on("pageerror", lambda e: messages.append(str(e)))
        tab.on("request", lambda r: requests.append(r.url))
        tab.goto(path.as_uri(), wait_until="load")
        charts = tab.locator("figure.chart-box svg")
        assert charts.count() == 4
        for i in range(4):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
        assert tab.evaluate("document.documentElement.scrollWidth") <= 1366
        tab.screenshot(path=str(tmp_path / "clv.png"), full_page=True)
    finally:
        context.close()
    assert messages == []
    assert requests == [path.as_uri()]
    assert (tmp_path / "clv.png").stat().st_size > 50_000


def _no_dropout_model():
    from rfmkit.clv_model import CLVBoundaryWarning, CLVModel

    with pytest.warns(CLVBoundaryWarning):
        return CLVModel("2024-06-30").fit(no_dropout_transactions())


def test_a_fit_without_dropout_is_said_on_the_page_with_its_parameters_and_currency():
    model = _no_dropout_model()
    customers = model.customers_.assign(segment="Champions")
    page = clv_report_html(model, customers, group_values(customers), currency="GBP")
    assert "Warnings" in page and "no sign of customers dropping out" in page
    assert f"a = {model.bg_nbd_.params['a']:.3g}," in page  # not "a = 0.00"
    assert "£" in page  # the totals and the chart axes in the model's currency
    plain = clv_report_html(model, customers, group_values(customers))
    assert "£" not in plain


@needs_cdnow
def test_the_published_fit_has_no_warning(page):
    assert "Warnings" not in page
    assert "a = 0.7929, b = 2.426 (log-likelihood" in page
