"""Per-customer predictions of the fitted CLV models, and the value of a customer over a horizon.

Time is measured in the model's time unit throughout (a week is 7 days, a month 365.25/12 days).
The lifetime value is the expected number of purchases in each step of the horizon, times the
expected spend per purchase, discounted at an annual rate to the end of that step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfmkit.clv import bg_nbd, gamma_gamma

DAYS_PER_UNIT = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


def customer_values(summary: pd.DataFrame, bg_params, gg_params, *, horizon: float,
                    time_unit: str, discount_rate: float) -> pd.DataFrame:
    """``summary`` has ``frequency``, ``recency`` and ``T`` (in ``time_unit``) and
    ``monetary_value``; returns it with ``p_alive``, ``expected_purchases`` (over ``horizon``
    units), ``expected_spend`` (per purchase) and ``clv``."""
    histories = summary[["frequency", "recency", "T"]].to_numpy(float)
    # the purchase predictions depend only on the history: computed once per distinct one
    unique, inverse = bg_nbd.distinct_histories(*histories.T)
    x, t_x, T = unique.T
    out = summary.copy()
    out["p_alive"] = bg_nbd.p_alive(bg_params, x, t_x, T)[inverse]
    out["expected_purchases"] = bg_nbd.conditional_expected_purchases(
        bg_params, horizon, x, t_x, T)[inverse]
    spend = gamma_gamma.conditional_expected_spend(gg_params, histories[:, 0],
                                                   summary["monetary_value"].to_numpy(float))
    out["expected_spend"] = spend
    out["clv"] = spend * discounted_purchases(bg_params, x, t_x, T, horizon=horizon,
                                              time_unit=time_unit,
                                              discount_rate=discount_rate)[inverse]
    return out


def discounted_purchases(bg_params, x, t_x, T, *, horizon: float, time_unit: str,
                         discount_rate: float) -> np.ndarray:
    """Σ over steps of one time unit (the last one partial) of the expected purchases in the
    step, discounted to its end: (1 + discount_rate) ** -(years elapsed)."""
    ends = np.append(np.arange(1.0, np.ceil(horizon)), horizon) if horizon > 1 else np.array(
        [horizon])
    total = np.zeros(np.shape(x), dtype=float)
    previous = np.zeros_like(total)
    for end in ends:
        cumulative = bg_nbd.conditional_expected_purchases(bg_params, end, x, t_x, T)
        years = end * DAYS_PER_UNIT[time_unit] / 365.25
        total += (cumulative - previous) / (1.0 + discount_rate) ** years
        previous = cumulative
    return total
