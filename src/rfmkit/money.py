"""The currency of the amounts: an ISO 4217 code or a symbol, and money written with it.

``currency="EUR"`` (any case) writes ``€1,234.50``; a code without a well-known symbol is
written before the number (``CHF 1,234.50``); a symbol is used as given (``currency="€"``,
``"kr"``). ``None`` writes plain numbers. The summary stores the resolved form
(:func:`resolve_currency`), and every money value of the page goes through :func:`money_text`;
cluster and segment descriptions write their medians with :func:`amount_text`. A foundation
module: the model's descriptions, the report and the command line write money the same way.
"""

from __future__ import annotations

import math
import re
from typing import Any

from rfmkit.errors import ParameterError

__all__ = ["CURRENCY_SYMBOLS", "amount_text", "currency_label", "money_text",
           "resolve_currency"]

#: Symbols of common ISO 4217 codes; other codes are written as the code and a space.
CURRENCY_SYMBOLS = {
    "EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩",
    "BRL": "R$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "MXN": "MX$", "HKD": "HK$",
    "ILS": "₪", "NGN": "₦", "PHP": "₱", "THB": "฿", "TRY": "₺", "UAH": "₴", "VND": "₫",
    "PLN": "zł", "RUB": "₽",
}
_CODE = re.compile(r"[A-Za-z]{3}")
_SYMBOL = re.compile(r"[^\s\d.,+-]{1,4}")
_MINUS = "−"
_DASH = "–"


def resolve_currency(currency: Any, *, owner: str = "build_report"
                     ) -> dict[str, str] | None:
    """``{"code": "EUR" or "", "symbol": "€", "prefix": "€"}`` for a code or symbol; None.
    ``owner`` is the function or class whose parameter the error message names.

    Raises
    ------
    rfmkit.errors.ParameterError
        Not an ISO 4217 code (three letters) nor a symbol of at most four characters without
        digits, spaces or signs.
    """
    if currency is None:
        return None
    text = currency.strip() if isinstance(currency, str) else None
    if text and _CODE.fullmatch(text):
        code = text.upper()
        symbol = CURRENCY_SYMBOLS.get(code, code)
        return {"code": code, "symbol": symbol,
                "prefix": symbol if code in CURRENCY_SYMBOLS else f"{code} "}
    if text and _SYMBOL.fullmatch(text):
        return {"code": "", "symbol": text, "prefix": text}
    raise ParameterError(
        f"The 'currency' parameter of {owner} must be an ISO 4217 code such as 'EUR' or a "
        "symbol such as '€' (at most 4 characters; no digits, spaces or signs). "
        f"Got {currency!r} instead."
    )


def _compact(value: float) -> str:
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return (f"{value / limit:.3g}{suffix}" if value < 100 * limit
                    else f"{value / limit:,.0f}{suffix}")
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def money_text(value: Any, currency: dict[str, str] | None, *, compact: bool = False,
               whole: bool = False) -> str:
    """``value`` as money: ``€1,234.50`` (``compact``: ``€1.23k``; ``whole``: ``€1,235``),
    ``−€8.90``; – if missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return _DASH
    value = float(value)
    if round(value, 2) == 0:
        value = 0.0  # no "−0.00"
    amount = (_compact(abs(value)) if compact else f"{abs(value):,.0f}" if whole
              else f"{abs(value):,.2f}")
    prefix = currency["prefix"] if currency else ""
    return f"{_MINUS if value < 0 else ''}{prefix}{amount}"


def currency_label(currency: Any) -> str | None:
    """The one spelling a model records: the upper-case code (``"eur"`` -> ``"EUR"``) or the
    symbol as given (``"€"``); None for None. Raises as :func:`resolve_currency`."""
    resolved = resolve_currency(currency, owner="RFMModel")
    return None if resolved is None else (resolved["code"] or resolved["symbol"])


def amount_text(value: float, currency: dict[str, str] | None) -> str:
    """A median amount as people write it, with the currency: ``£279``, ``€35.96``,
    ``CHF 1,250``; ``279`` without a currency (a whole amount, or at most two decimals)."""
    if not math.isfinite(value):
        return _DASH
    number = (f"{abs(value):,.0f}" if abs(value) >= 100 or float(value).is_integer()
              else f"{abs(value):,.2f}".rstrip("0").rstrip("."))
    prefix = currency["prefix"] if currency else ""
    return f"{_MINUS if value < 0 else ''}{prefix}{number}"
