"""Descriptions of a group of customers (a cluster, a segment) from its medians, in words.

Words like "recently" or "a lot" read as absolute, but scores are relative to the data: a
cluster named for its high recency score may have bought 126 days ago. So every comparison
says what it is relative to, the median customer of the whole data, and quotes both numbers:

    "Bought more recently than the median customer, buy as often and spend less: median
    1 order, last purchase 126 days ago, median spend £35.96 (all customers: 1 order, 300
    days ago, £120)."

:func:`compare_medians` gives the direction per axis (+1 better, 0 the same, -1 worse; fewer
days since the last purchase is better), which :mod:`rfmkit.clustering.naming` also uses so
that a name never claims a direction its description denies.
"""

from __future__ import annotations

import numpy as np

from rfmkit.money import amount_text, resolve_currency

__all__ = ["compare_medians", "comparison_words", "describe_medians"]

_FREQUENCY_UNITS = {"orders": ("order", "orders"), "days": ("purchase day", "purchase days"),
                    "rows": ("purchase", "purchases")}
# per axis, for a comparison of +1, 0, -1 with the median customer
_COMPARISONS = {
    "r": ("Bought more recently than the median customer",
          "Bought as recently as the median customer",
          "Bought less recently than the median customer"),
    "f": ("buy more often", "buy as often", "buy less often"),
    "m": ("spend more", "spend as much", "spend less"),
}


def number_text(value: float) -> str:
    """A median as people write it: 3, 2.5, 41, 1,250, 35.96."""
    return amount_text(value, None)


def _frequency_text(value: float, frequency: str) -> str:
    one, many = _FREQUENCY_UNITS.get(frequency, _FREQUENCY_UNITS["orders"])
    return f"{number_text(value)} {one if value == 1 else many}"


def median_texts(row, frequency: str = "orders", monetary: str = "sum",
                 currency: dict[str, str] | None = None) -> dict[str, str]:
    """The three medians in words: "last purchase 41 days ago", "3 orders", "spend £250"."""
    recency, freq, money = (float(v) for v in row)
    days = "day" if recency == 1 else "days"
    return {"r": f"last purchase {number_text(recency)} {days} ago",
            "f": _frequency_text(freq, frequency),
            "m": f"spend {amount_text(money, currency)}"
                 + (" per purchase" if monetary == "mean" else "")}


def compare_medians(medians, overall) -> np.ndarray:
    """+1, 0 or -1 per axis (R, F, M): the group's median better than, equal to or worse than
    the median customer's; for recency fewer days is better. ``medians`` and ``overall``
    hold recency (days), frequency and monetary, one row (or one row per group)."""
    sign = np.sign(np.asarray(medians, dtype=np.float64) - np.asarray(overall, dtype=np.float64))
    sign[..., 0] = -sign[..., 0]
    return sign.astype(np.int64)


def comparison_words(comparison) -> str:
    """"Bought more recently than the median customer, buy as often and spend less"."""
    r, f, m = (_COMPARISONS[axis][1 - int(c)]
               for axis, c in zip("rfm", comparison, strict=True))
    return f"{r}, {f} and {m}"


def describe_medians(recency: float, frequency: float, monetary: float, *,
                     frequency_unit: str = "orders", monetary_kind: str = "sum",
                     overall=None, currency: str | None = None) -> str:
    """A group's medians in words, e.g. "median 3 orders, last purchase 41 days ago, median
    spend £250", then the median customer's of all the data when ``overall`` (recency,
    frequency, monetary) is given: "... (all customers: 2 orders, 300 days ago, £120)".
    ``frequency_unit`` and ``monetary_kind`` are ``MetricOptions.frequency`` and ``.monetary``;
    ``currency`` an ISO 4217 code or a symbol. "no customers" when the medians are missing
    (an empty segment)."""
    money = resolve_currency(currency, owner="describe_medians")
    row = np.array([recency, frequency, monetary], dtype=np.float64)
    if not np.isfinite(row).all():
        return "no customers"
    t = median_texts(row, frequency_unit, monetary_kind, money)
    text = f"median {t['f']}, {t['r']}, median {t['m']}"
    if overall is not None:
        days, freq, spend = (float(v) for v in overall)
        text += (f" (all customers: {_frequency_text(freq, frequency_unit)}, "
                 f"{number_text(days)} day{'' if days == 1 else 's'} ago, "
                 f"{amount_text(spend, money)})")
    return text
