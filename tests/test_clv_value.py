"""Per-customer CLV values: discounting, horizon steps, distinct histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfmkit.clv import bg_nbd, gamma_gamma
from rfmkit.clv.value import customer_values, discounted_purchases

BG, GG = (0.243, 4.414, 0.793, 2.426), (6.25, 3.74, 15.44)
SUMMARY = pd.DataFrame({"customer_id": list("abcd"), "frequency": [0, 2, 2, 9],
                        "recency": [0.0, 10.0, 10.0, 35.0], "T": [39.0, 39.0, 39.0, 39.0],
                        "monetary_value": [0.0, 20.0, 50.0, 30.0]})


def test_undiscounted_value_is_purchases_times_spend():
    out = customer_values(SUMMARY, BG, GG, horizon=52, time_unit="week", discount_rate=0.0)
    assert np.allclose(out["clv"], out["expected_purchases"] * out["expected_spend"])
    assert out.loc[0, "expected_spend"] == pytest.approx(gamma_gamma.population_mean_spend(GG))
    # same history, more spend: same purchases, more value
    assert out.loc[1, "expected_purchases"] == out.loc[2, "expected_purchases"]
    assert out.loc[2, "clv"] > out.loc[1, "clv"]


def test_discounting_per_step():
    x, t_x, T = (SUMMARY[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    plain = discounted_purchases(BG, x, t_x, T, horizon=52, time_unit="week", discount_rate=0)
    assert np.allclose(plain, bg_nbd.conditional_expected_purchases(BG, 52, x, t_x, T))
    yearly = discounted_purchases(BG, x, t_x, T, horizon=52, time_unit="week",
                                  discount_rate=0.2)
    assert np.all(yearly < plain) and np.all(yearly > plain / 1.2)  # within one year
    # a partial last step: 2.5 months is 2 full steps and a half one
    part = discounted_purchases(BG, x, t_x, T, horizon=2.5, time_unit="month", discount_rate=0)
    assert np.allclose(part, bg_nbd.conditional_expected_purchases(BG, 2.5, x, t_x, T))


def test_distinct_histories_round_trip():
    x = np.array([0, 2, 2, 0, 5.0])
    t_x = np.array([0, 3, 3, 0, 9.0])
    T = np.array([10, 20, 20, 10, 30.0])
    unique, codes = bg_nbd.distinct_histories(x, t_x, T)
    assert len(unique) == 3
    assert np.array_equal(unique[codes], np.column_stack([x, t_x, T]))
