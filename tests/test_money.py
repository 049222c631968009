"""The currency of the amounts (rfmkit/money.py): ISO codes or symbols, and money in them."""

from __future__ import annotations

import pytest

from rfmkit.errors import ParameterError
from rfmkit.money import money_text, resolve_currency
from rfmkit.report import build_report


def test_codes_and_symbols():
    assert resolve_currency(None) is None
    assert resolve_currency("eur") == {"code": "EUR", "symbol": "€", "prefix": "€"}
    assert resolve_currency("CHF") == {"code": "CHF", "symbol": "CHF", "prefix": "CHF "}
    assert resolve_currency(" € ") == {"code": "", "symbol": "€", "prefix": "€"}
    assert resolve_currency("kr")["prefix"] == "kr"


@pytest.mark.parametrize("bad", ["", "EURO1", "1", "€ €", "euros", 3, "-"])
def test_bad_currencies_are_refused(bad):
    with pytest.raises(ParameterError, match="The 'currency' parameter of build_report"):
        resolve_currency(bad)


def test_money_text():
    eur, chf = resolve_currency("EUR"), resolve_currency("CHF")
    assert money_text(1234.5, eur) == "€1,234.50"
    assert money_text(-8920.74, eur) == "−€8,920.74"
    assert money_text(1234.5, chf) == "CHF 1,234.50"
    assert money_text(1234.5, None) == "1,234.50"
    assert money_text(4_847_072.83, eur, compact=True) == "€4.85M"
    assert money_text(97014.7, eur, compact=True) == "€97k"
    assert money_text(1520545.4, eur, whole=True) == "€1,520,545"
    assert money_text(-0.001, eur) == "€0.00"
    assert money_text(None, eur) == money_text(float("nan"), eur) == "–"


def test_the_report_writes_money_in_its_currency(demo_model):
    report = build_report(demo_model, demo_model.result_, currency="EUR")
    s = report.to_dict()
    assert s["currency"]["symbol"] == "€"
    html = report.html()
    revenue = s["headline"]["revenue"]
    assert f"€{revenue:,.2f}" in html
    champions = next(r for r in s["segments"]["rows"] if r["segment"] == "Champions")
    assert f"€{champions['revenue']:,.0f}" in html
    assert "revenue (€)" in html  # table headings and the revenue chart
    plain = build_report(demo_model, demo_model.result_).html()
    assert "€" not in plain


def test_amount_text_writes_medians_as_people_do():
    from rfmkit.money import amount_text

    gbp = resolve_currency("GBP")
    assert amount_text(279.05, gbp) == "£279"
    assert amount_text(35.96, gbp) == "£35.96"
    assert amount_text(30.8, None) == "30.8"
    assert amount_text(1250, resolve_currency("CHF")) == "CHF 1,250"
    assert amount_text(-8.5, gbp) == "−£8.5"
    assert amount_text(float("nan"), gbp) == "–"


def test_a_model_records_one_spelling_of_its_currency():
    from rfmkit.money import currency_label

    assert currency_label("gbp") == "GBP" and currency_label(" € ") == "€"
    assert currency_label(None) is None
    with pytest.raises(ParameterError, match="The 'currency' parameter of RFMModel"):
        currency_label("pounds")
