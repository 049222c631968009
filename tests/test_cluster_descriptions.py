"""Tests of rfmkit.clustering.descriptions: medians in words, compared with the median
customer's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rfmkit.clustering.descriptions import compare_medians, comparison_words, describe_medians
from rfmkit.errors import ParameterError


def test_comparison_is_better_same_or_worse_with_fewer_days_better():
    assert compare_medians([40, 6, 279], [235, 2, 81.64]).tolist() == [1, 1, 1]
    assert compare_medians([571, 1, 30.8], [235, 2, 81.64]).tolist() == [-1, -1, -1]
    assert compare_medians([235, 2, 81.64], [235, 2, 81.64]).tolist() == [0, 0, 0]
    # one row per group
    assert compare_medians([[40, 1, 90], [400, 3, 10]], [235, 2, 80]).tolist() == [
        [1, -1, 1], [-1, 1, -1]]


def test_comparison_words():
    assert comparison_words([1, 0, -1]) == ("Bought more recently than the median customer, "
                                            "buy as often and spend less")
    assert comparison_words([-1, 1, 0]) == ("Bought less recently than the median customer, "
                                            "buy more often and spend as much")


def test_describe_medians_with_and_without_the_median_customer():
    assert describe_medians(41, 3, 250) == ("median 3 orders, last purchase 41 days ago, median "
                                            "spend 250")
    assert describe_medians(126, 1, 35.96, overall=[235, 2, 81.64], currency="GBP") == (
        "median 1 order, last purchase 126 days ago, median spend £35.96 (all customers: "
        "2 orders, 235 days ago, £81.64)")
    assert describe_medians(1, 1, 12.5, frequency_unit="days", monetary_kind="mean",
                            overall=[1, 1, 10], currency="CHF") == (
        "median 1 purchase day, last purchase 1 day ago, median spend CHF 12.5 per purchase "
        "(all customers: 1 purchase day, 1 day ago, CHF 10)")
    assert describe_medians(math.nan, math.nan, math.nan) == "no customers"
    assert describe_medians(10, 2, -8.5).endswith("median spend −8.5")


def test_a_bad_currency_names_the_parameter():
    with pytest.raises(ParameterError, match="'currency' parameter of describe_medians"):
        describe_medians(1, 1, 1, currency="12")
    assert np.isfinite(compare_medians([1, 1, 1], [1, 1, 1])).all()
