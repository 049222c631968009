"""Marketer-style names for clusters, read from where their centroids sit on R, F and M.

Each centroid coordinate is put on the score scale (``scale=(1, 5)`` for quintile scores,
``(0, 100)`` for percentile scores; higher is better for all three, recency already inverted) and
read as a level: **low** below the first third of the scale, **high** from two thirds on,
**medium** in between (on 1..5: low < 2.33 <= medium < 3.67 <= high). The (R, F, M) levels give
the name through :data:`NAME_RULES`, a complete table of the 27 combinations. It reproduces the
names Method P gave by hand (METHODS.md section 4 step 5), mapped to rfmkit's vocabulary:

============================  ===========  =======================
Method P name                 R, F, M      rfmkit name
============================  ===========  =======================
Loyal                         H, H, H      Champions
Potential Loyal               H, M, M      Potential Loyalists
Need Attention                M, H, H      Need Attention
At Risk                       L, M, M      At Risk
One-Time Buy                  L, L, M      One-Time Buyers
Dormant                       M, L, L      About To Sleep
Lost                          L, L, L      Lost
============================  ===========  =======================

The other cells follow the same reading: recent buyers are Champions / Loyal Customers /
Potential Loyalists by how often and how much they buy, or New Customers, Promising and Big
Spenders when they have bought rarely; middling recency is Need Attention when F and M together
are at least medium, else About To Sleep; lapsed customers are Can't Lose Them (high F and M), At
Risk, Hibernating, One-Time Buyers (bought rarely, spent something) or Lost.

Each axis has its own scale: ties can leave frequency with 3 levels while R and M have 5, and
f=2.2 is low on 1..5 but medium on 1..3 (``scale=[(1, 5), (1, 3), (1, 5)]``).

Given the clusters' medians of the metrics themselves (``medians=``) and those of all customers
(``overall=``), a name never contradicts them. Scores are relative to the data, so the levels
are too, and they must agree with the medians: "high" recency needs a median last purchase more
recent than the median customer's, "low" one that is not (else the level is medium); a cluster
whose median customer bought once "rarely buys" whatever its score mean, and "One-Time Buyers" /
"New Customers" (one purchase) need a median frequency of 1, else frequency is read one level up
(At Risk, Potential Loyalists). The description says what it compares with
(:mod:`rfmkit.clustering.descriptions`): "Bought more recently than the median customer, buy as
often and spend less: median 1 order, last purchase 126 days ago, median spend 35.96 (all
customers: 1 order, 300 days ago, 120)."

Names are unique: clusters that land on the same name are told apart by the axis on which they
differ most (spend, then frequency, then recency on ties): two get "(higher spend)" / "(lower
spend)", three get "(highest spend)" / "(mid spend)" / "(lowest spend)", more get the value,
e.g. "Lost (m=1.8)", or with medians the median itself, e.g. "Lost (spend 35)". Never "Lost 2".
The order follows the medians when they differ, so "(higher spend)" has the higher median spend.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.clustering.descriptions import (
    compare_medians,
    comparison_words,
    describe_medians,
    median_texts,
)
from rfmkit.errors import InputError, ParameterError
from rfmkit.money import resolve_currency

__all__ = ["NAME_RULES", "VOCABULARY", "ClusterName", "centroid_levels", "name_clusters"]

LOW, MEDIUM, HIGH = "low", "medium", "high"
#: A coordinate is low below this fraction of the scale, high from HIGH_FROM on.
LOW_BELOW = 1.0 / 3.0
HIGH_FROM = 2.0 / 3.0

CHAMPIONS = "Champions"
LOYAL = "Loyal Customers"
POTENTIAL = "Potential Loyalists"
NEW = "New Customers"
PROMISING = "Promising"
NEED_ATTENTION = "Need Attention"
ABOUT_TO_SLEEP = "About To Sleep"
AT_RISK = "At Risk"
CANT_LOSE = "Can't Lose Them"
HIBERNATING = "Hibernating"
LOST = "Lost"
ONE_TIME = "One-Time Buyers"
BIG_SPENDERS = "Big Spenders"

VOCABULARY = (
    CHAMPIONS, LOYAL, POTENTIAL, NEW, PROMISING, NEED_ATTENTION, ABOUT_TO_SLEEP, AT_RISK,
    CANT_LOSE, HIBERNATING, LOST, ONE_TIME, BIG_SPENDERS,
)

_H, _M, _L = HIGH, MEDIUM, LOW
#: (R level, F level, M level) -> name. Complete over the 27 combinations.
NAME_RULES: dict[tuple[str, str, str], str] = {
    # bought recently
    (_H, _H, _H): CHAMPIONS,
    (_H, _H, _M): LOYAL,
    (_H, _H, _L): LOYAL,
    (_H, _M, _H): LOYAL,
    (_H, _M, _M): POTENTIAL,
    (_H, _M, _L): POTENTIAL,
    (_H, _L, _H): BIG_SPENDERS,
    (_H, _L, _M): PROMISING,
    (_H, _L, _L): NEW,
    # last bought a while ago
    (_M, _H, _H): NEED_ATTENTION,
    (_M, _H, _M): NEED_ATTENTION,
    (_M, _H, _L): NEED_ATTENTION,
    (_M, _M, _H): NEED_ATTENTION,
    (_M, _M, _M): NEED_ATTENTION,
    (_M, _L, _H): NEED_ATTENTION,
    (_M, _M, _L): ABOUT_TO_SLEEP,
    (_M, _L, _M): ABOUT_TO_SLEEP,
    (_M, _L, _L): ABOUT_TO_SLEEP,
    # have not bought for a long time
    (_L, _H, _H): CANT_LOSE,
    (_L, _H, _M): AT_RISK,
    (_L, _M, _H): AT_RISK,
    (_L, _M, _M): AT_RISK,
    (_L, _H, _L): AT_RISK,
    (_L, _M, _L): HIBERNATING,
    (_L, _L, _H): ONE_TIME,
    (_L, _L, _M): ONE_TIME,
    (_L, _L, _L): LOST,
}

_PHRASES = {
    "r": {HIGH: "Bought recently", MEDIUM: "Last bought a while ago",
          LOW: "Have not bought for a long time"},
    "f": {HIGH: "buy often", MEDIUM: "buy now and then", LOW: "rarely buy"},
    "m": {HIGH: "spend a lot", MEDIUM: "spend a moderate amount", LOW: "spend little"},
}
# qualifier words per axis: (two clusters: high, low), (three: high, mid, low), value letter
_QUALIFIERS = {
    "m": (("higher spend", "lower spend"), ("highest spend", "mid spend", "lowest spend")),
    "f": (("more frequent", "less frequent"),
          ("most frequent", "mid frequency", "least frequent")),
    "r": (("more recent", "less recent"), ("most recent", "mid recency", "least recent")),
}
_AXES = ("r", "f", "m")
_AXIS_PREFERENCE = ("m", "f", "r")  # spend first on ties


class ClusterName(NamedTuple):
    """A cluster's name and its one-line plain-language description."""

    name: str
    description: str


def _as_array(centroids) -> np.ndarray:
    if isinstance(centroids, pd.DataFrame):
        for columns in (schema.SCORE_COLUMNS, tuple(f"{c}_mean" for c in schema.SCORE_COLUMNS)):
            if all(c in centroids.columns for c in columns):
                centroids = centroids.loc[:, list(columns)]
                break
        else:
            raise InputError(
                f"Centroid table needs the columns {', '.join(schema.SCORE_COLUMNS)} (or their "
                f"_mean versions from profile_clusters); found "
                f"{', '.join(map(str, centroids.columns))}."
            )
    try:
        arr = np.asarray(centroids, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Cannot read the centroids as numbers ({exc}).") from None
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise InputError(
            f"Centroids must have shape (n_clusters, 3) for R, F, M; got {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise InputError("Centroids contain missing or infinite values.")
    return arr


def _check_scale(scale) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) arrays of shape (3,) from one (low, high) pair or one pair per axis."""
    message = ("The 'scale' parameter of name_clusters must be a (low, high) pair such as (1, 5) "
               "or (0, 100), or one such pair per axis R, F, M, with low < high. Got {!r} "
               "instead.")
    try:
        arr = np.asarray(scale, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(message.format(scale)) from None
    if arr.shape == (2,):
        arr = np.tile(arr, (3, 1))
    if arr.shape != (3, 2) or not np.isfinite(arr).all() or not (arr[:, 0] < arr[:, 1]).all():
        raise ParameterError(message.format(scale))
    return arr[:, 0], arr[:, 1]


def _level(fraction: float) -> str:
    if fraction < LOW_BELOW:
        return LOW
    if fraction >= HIGH_FROM:
        return HIGH
    return MEDIUM


def centroid_levels(centroids, *, scale=(1, 5)) -> list[tuple[str, str, str]]:
    """The (R, F, M) levels ("low", "medium", "high") of each centroid on ``scale``."""
    arr = _as_array(centroids)
    lo, hi = _check_scale(scale)
    frac = (arr - lo) / (hi - lo)
    return [tuple(_level(v) for v in row) for row in frac]  # type: ignore[misc]


def _decimals(lo: float, hi: float) -> int:
    return 0 if hi - lo > 10 else 1


def _as_medians(medians, k: int) -> np.ndarray | None:
    """(k, 3) medians of recency (days), frequency and monetary, or None."""
    if medians is None:
        return None
    if isinstance(medians, pd.DataFrame):
        for columns in (schema.METRIC_COLUMNS,
                        tuple(f"{c}_median" for c in schema.METRIC_COLUMNS)):
            if all(c in medians.columns for c in columns):
                medians = medians.loc[:, list(columns)]
                break
        else:
            raise InputError(
                f"The medians table needs the columns {', '.join(schema.METRIC_COLUMNS)} (or "
                f"their _median versions from profile_clusters); found "
                f"{', '.join(map(str, medians.columns))}.")
    try:
        arr = np.asarray(medians, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Cannot read the medians as numbers ({exc}).") from None
    if arr.shape != (k, 3):
        raise InputError(
            f"medians must have shape ({k}, 3), recency, frequency and monetary per cluster; "
            f"got {arr.shape}.")
    return arr


def _describe(row: np.ndarray, levels: tuple[str, str, str], lo: np.ndarray,
              hi: np.ndarray, median: np.ndarray | None = None,
              overall: np.ndarray | None = None, frequency: str = "orders",
              monetary: str = "sum", currency: str | None = None) -> str:
    if median is not None:
        medians = describe_medians(*median, frequency_unit=frequency, monetary_kind=monetary,
                                   overall=overall, currency=currency)
        if overall is None:  # nothing to compare with: the medians alone
            return f"{medians[0].upper()}{medians[1:]}."
        return f"{comparison_words(compare_medians(median, overall))}: {medians}."
    r, f, m = (f"{axis}={v:.{_decimals(a, b)}f}"
               for axis, v, a, b in zip(_AXES, row, lo, hi, strict=True))
    return (f"{_PHRASES['r'][levels[0]]} ({r}), {_PHRASES['f'][levels[1]]} ({f}) and "
            f"{_PHRASES['m'][levels[2]]} ({m}).")


def _consistent_levels(levels: tuple[str, str, str], median: np.ndarray,
                       overall: np.ndarray | None) -> tuple[str, str, str]:
    """Levels the medians do not contradict: "high" needs a median better than the median
    customer's, "low" one that is not better; a median customer with one purchase rarely buys;
    the one-purchase names need a median of one purchase."""
    if overall is not None:
        levels = tuple(MEDIUM if (lv == HIGH and c <= 0) or (lv == LOW and c > 0) else lv
                       for lv, c in zip(levels, compare_medians(median, overall), strict=True))
    r, f, m = levels
    freq = median[1]
    if freq <= 1:
        return (r, LOW, m)
    if f == LOW and NAME_RULES[(r, f, m)] in (ONE_TIME, NEW):
        return (r, MEDIUM, m)
    return levels  # type: ignore[return-value]


def _qualify(rows: np.ndarray, frac: np.ndarray, lo: np.ndarray, hi: np.ndarray,
             medians: np.ndarray | None = None, frequency: str = "orders",
             monetary: str = "sum", currency: dict[str, str] | None = None) -> list[str]:
    """Distinguishing qualifiers for clusters that share a name (rows of one group)."""
    spread = {axis: float(np.ptp(frac[:, _AXES.index(axis)])) for axis in _AXES}
    axis = max(_AXIS_PREFERENCE, key=lambda a: spread[a])  # first preferred axis on ties
    j = _AXES.index(axis)
    values = rows[:, j]
    g = len(rows)
    if medians is not None:
        # rank by the medians when they tell the clusters apart, so "higher spend" has the
        # higher median spend (recency in days: fewer is more recent)
        by_median = -medians[:, j] if axis == "r" else medians[:, j]
        if len(np.unique(by_median)) == g:
            values = by_median
    if g <= 3 and len(np.unique(values)) == g:
        words = _QUALIFIERS[axis][g - 2]
        rank = np.argsort(np.argsort(-values, kind="stable"), kind="stable")
        return [words[i] for i in rank]
    if medians is not None:
        texts = [median_texts(row, frequency, monetary, currency)[axis] for row in medians]
        if len(set(texts)) == g:
            return texts
    # Many clusters or ties on the axis: the values, with just enough decimals to differ.
    for decimals in range(_decimals(lo[j], hi[j]), 7):
        texts = [f"{axis}={v:.{decimals}f}" for v in rows[:, j]]
        if len(set(texts)) == g:
            return texts
        texts = [", ".join(f"{a}={v:.{decimals}f}" for a, v in zip(_AXES, row, strict=True))
                 for row in rows]
        if len(set(texts)) == g:
            return texts
    raise InputError(
        "Two clusters have identical centroids, so they cannot be given different names; "
        "refit with fewer clusters."
    )


def name_clusters(centroids, *, scale=(1, 5), medians=None, overall=None, frequency="orders",
                  monetary="sum", currency=None) -> list[ClusterName]:
    """Name each cluster from its centroid's R, F, M levels; names are unique.

    Parameters
    ----------
    centroids : DataFrame or array of shape (n_clusters, 3)
        Centroid R, F, M on a common "higher is better" scale: an array (columns R, F, M) or a
        DataFrame with r_score, f_score, m_score (or r_score_mean, ... as in
        :func:`rfmkit.clustering.profile_clusters`).
    scale : (low, high) or three (low, high) pairs, default=(1, 5)
        The score range: (1, n_bins) for quantile scores, (0, 100) for percentile scores; one
        pair per axis when the axes differ (e.g. ties left frequency with 4 bins:
        ``[(1, 5), (1, 4), (1, 5)]``).
    medians : DataFrame, array of shape (n_clusters, 3) or None, default=None
        Each cluster's median recency (days), frequency and monetary (columns recency,
        frequency, monetary or their ``_median`` versions from ``profile_clusters``). With
        them names never contradict the medians and descriptions quote them.
    overall : sequence of 3 floats or None, default=None
        The median recency, frequency and monetary of all customers. With ``medians``, each
        level must agree with the comparison (a "high" recency needs a median more recent than
        the median customer's) and the description says "more recently than the median
        customer", quoting both; without it the description gives the medians only.
    frequency : {"orders", "days", "rows"}, default="orders"
        What frequency counts (``MetricOptions.frequency``), for the words of descriptions.
    monetary : {"sum", "mean"}, default="sum"
        Total spend or spend per purchase (``MetricOptions.monetary``), likewise.
    currency : str or None, default=None
        The amounts' currency (an ISO 4217 code or a symbol) for the spend in descriptions and
        qualifiers: "median spend £250", "Lost (spend £35)".

    Returns
    -------
    list of ClusterName
        (name, description) per cluster, in the order of ``centroids``; for example
        ``ClusterName("Champions", "Bought recently (r=4.6), buy often (f=4.8) and spend a lot
        (m=4.9).")``, or with medians ``"Bought recently, buy often and spend a lot: median 12
        orders, last purchase 9 days ago, median spend 1,250."``.
    """
    arr = _as_array(centroids)
    lo, hi = _check_scale(scale)
    med = _as_medians(medians, len(arr))
    money = resolve_currency(currency, owner="name_clusters")
    if overall is not None:
        overall = np.asarray(overall, dtype=np.float64).reshape(3)
    frac = np.clip((arr - lo) / (hi - lo), 0.0, 1.0)
    levels = [tuple(_level(v) for v in row) for row in frac]
    if med is not None:
        levels = [_consistent_levels(lv, m, overall) for lv, m in zip(levels, med, strict=True)]
    base = [NAME_RULES[lv] for lv in levels]
    names = list(base)
    for name in dict.fromkeys(base):
        members = [i for i, b in enumerate(base) if b == name]
        if len(members) > 1:
            qualifiers = _qualify(arr[members], frac[members], lo, hi,
                                  None if med is None else med[members], frequency, monetary,
                                  money)
            for i, q in zip(members, qualifiers, strict=True):
                names[i] = f"{name} ({q})"
    return [ClusterName(n, _describe(row, lv, lo, hi, None if med is None else med[i], overall,
                                     frequency, monetary, currency))
            for i, (n, row, lv) in enumerate(zip(names, arr, levels, strict=True))]
