"""CLVModel: the published CDNOW fit, reproduced; parameters, errors and warnings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from rfmkit.clv_model import CLVBoundaryWarning, CLVDependenceWarning, CLVModel
from rfmkit.errors import InputError, ParameterError, SchemaError

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow_sample.parquet"
needs_cdnow = pytest.mark.skipif(not CDNOW.exists(), reason=f"{CDNOW} is not there")


def _sig(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


@pytest.fixture(scope="module")
def cdnow_fit():
    return CLVModel("1997-09-30", holdout_end="1998-06-30").fit(str(CDNOW))


@needs_cdnow
def test_bg_nbd_reproduces_the_paper(cdnow_fit):
    """Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4."""
    fit = cdnow_fit.bg_nbd_
    assert [_sig(fit.params[k]) for k in ("r", "alpha", "a", "b")] == [0.243, 4.41, 0.793, 2.43]
    assert [round(fit.params[k], 4) for k in ("r", "alpha", "a", "b")] == [
        0.2426, 4.4136, 0.7929, 2.4259]
    assert round(fit.log_likelihood, 1) == -9582.4
    assert cdnow_fit.n_customers_ == 2357
    assert int(cdnow_fit.customers_["frequency"].sum()) == 2457  # the paper's repeat purchases


@needs_cdnow
def test_gamma_gamma_reproduces_the_published_fit(cdnow_fit):
    """Fader & Hardie (2013): 946 repeat buyers, mean spend $35.08, p = 6.25, q = 3.74,
    γ = 15.44."""
    fit = cdnow_fit.gamma_gamma_
    repeat = cdnow_fit.customers_.query("frequency > 0")
    assert cdnow_fit.n_repeat_buyers_ == len(repeat) == 946
    assert round(repeat["monetary_value"].mean(), 2) == 35.08
    assert [_sig(fit.params[k]) for k in ("p", "q", "v")] == [6.25, 3.74, 15.4]
    assert [round(fit.params[k], 4) for k in ("p", "q", "v")] == [6.2496, 3.7442, 15.4435]


@needs_cdnow
def test_holdout_weeks_40_to_78(cdnow_fit):
    """Predicted against actual repeat purchases in the 39-week holdout."""
    customers = cdnow_fit.customers_
    assert cdnow_fit.horizon_ == 39.0
    actual = int(customers["actual_purchases"].sum())
    predicted = float(customers["expected_purchases"].sum())
    assert actual == 1882
    assert predicted == pytest.approx(1653.4, abs=0.5)
    tracking = cdnow_fit.expected_repeat_purchases([39.0, 78.0])
    assert tracking[0] == pytest.approx(2457, rel=0.03)  # the fit tracks the calibration
    assert tracking[1] - tracking[0] == pytest.approx(1664.1, abs=0.5)


# Cumulative repeat purchases of the CDNOW sample in weeks 1..78, as the paper's authors
# published them with the data (cdnowSummary$cu.tracking in the R package BTYD).
PUBLISHED_TRACKING = [
    0, 19, 42, 81, 119, 192, 261, 351, 428, 504, 610, 733, 828, 914, 1005, 1078, 1149, 1222,
    1286, 1359, 1414, 1484, 1517, 1573, 1672, 1746, 1800, 1840, 1885, 1973, 2032, 2069, 2132,
    2192, 2239, 2290, 2342, 2395, 2457, 2507, 2563, 2612, 2671, 2718, 2803, 2864, 2923, 2968,
    3038, 3104, 3153, 3183, 3234, 3276, 3329, 3357, 3404, 3444, 3490, 3533, 3598, 3677, 3727,
    3786, 3844, 3879, 3915, 3962, 3991, 4035, 4077, 4112, 4141, 4183, 4231, 4279, 4311, 4339]


def _published_expected_purchases(t):
    """E[X(t)] of Fader, Hardie & Lee (2005), eq. 7, with their published parameters: written
    here from the paper, apart from rfmkit's implementation."""
    from scipy.special import hyp2f1

    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    t = np.clip(t, 0, None)
    return (a + b - 1) / (a - 1) * (
        1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


@needs_cdnow
def test_the_tracking_series_is_the_papers(cdnow_fit):
    """The paper's holdout comparison: weekly cumulative repeat purchases, actual against the
    cohort's expected, weeks 1-39 calibration and 40-78 holdout."""
    tracking = cdnow_fit.tracking()
    assert tracking["time"].tolist() == list(range(1, 79))
    assert tracking["actual"].tolist() == PUBLISHED_TRACKING
    assert tracking["holdout"].tolist() == [False] * 39 + [True] * 39
    # each customer's first purchase, in weeks after the cohort's first (T at most 272 days)
    birth = 272 / 7 - cdnow_fit.customers_["T"].to_numpy(float)
    published = (_published_expected_purchases(78 - birth).sum()
                 - _published_expected_purchases(39 - birth).sum())
    assert published == pytest.approx(1666.3, abs=0.1)
    expected = tracking["expected"].to_numpy()
    assert expected[77] - expected[38] == pytest.approx(published, rel=0.005)
    assert PUBLISHED_TRACKING[77] - PUBLISHED_TRACKING[38] == 1882


@needs_cdnow
def test_predict_on_the_training_data_gives_the_fitted_values(cdnow_fit):
    again = cdnow_fit.predict(str(CDNOW))
    columns = ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
               "expected_purchases", "expected_spend", "clv"]
    pd.testing.assert_frame_equal(again[columns], cdnow_fit.customers_[columns])


@needs_cdnow
def test_discounting_lowers_value(cdnow_fit):
    discounted = clone(cdnow_fit).set_params(discount_rate=0.15).fit(str(CDNOW))
    plain = cdnow_fit.customers_["clv"].to_numpy()
    lower = discounted.customers_["clv"].to_numpy()
    assert np.all(lower <= plain + 1e-12) and lower.sum() < plain.sum()
    ratio = cdnow_fit.customers_["clv"] / (cdnow_fit.customers_["expected_purchases"]
                                           * cdnow_fit.customers_["expected_spend"])
    assert np.allclose(ratio[cdnow_fit.customers_["expected_purchases"] > 0], 1.0)


def test_init_only_stores_and_parameters_are_checked():
    model = CLVModel("1997-09-30", time_unit="fortnight")
    assert model.get_params()["time_unit"] == "fortnight"
    with pytest.raises(ParameterError, match="time_unit"):
        model.fit("unused.csv")
    with pytest.raises(ParameterError, match="calibration_end"):
        CLVModel().fit("unused.csv")
    with pytest.raises(ParameterError, match="holdout_end"):
        CLVModel("1997-09-30", holdout_end="1997-01-01").fit("unused.csv")
    with pytest.raises(ParameterError, match="discount_rate"):
        CLVModel("1997-09-30", discount_rate=-0.1).fit("unused.csv")


def _orders(n_customers: int, repeaters: int, *, spend_follows_frequency: bool = False):
    rows = []
    start = dt.date(2023, 1, 1)
    for c in range(n_customers):
        n = 1 + (1 + c % 5 if c < repeaters else 0)
        for k in range(n):
            amount = 10.0 * n if spend_follows_frequency else 10.0 + (c * 7 + k * 3) % 40
            rows.append((f"c{c}", start + dt.timedelta(days=(c % 30) + 9 * k), amount))
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


def test_too_few_repeat_buyers_is_a_clear_error():
    with pytest.raises(InputError, match="repeat buyers"):
        CLVModel("2023-02-19").fit(_orders(100, 5))


def test_calibration_end_outside_the_data_is_a_clear_error():
    with pytest.raises(ParameterError, match="outside the data"):
        CLVModel("2030-01-01").fit(_orders(100, 60))
    with pytest.raises(ParameterError, match="outside the data"):
        CLVModel("2020-01-01").fit(_orders(100, 60))


def test_dependence_between_frequency_and_spend_warns():
    with pytest.warns(CLVDependenceWarning, match="Spearman"):
        CLVModel("2023-03-01").fit(_orders(200, 150, spend_follows_frequency=True))


# the synthetic orders keep buying to the end: nobody drops out, which is warned elsewhere
@pytest.mark.filterwarnings("ignore::rfmkit.clv_model.CLVBoundaryWarning")
def test_text_amounts_in_another_number_format_fit_the_same(tmp_path):
    orders = _orders(200, 120)
    written = orders.assign(amount=orders["amount"].map(lambda a: f"{a * 100:,.2f} €".replace(
        ",", "_").replace(".", ",").replace("_", ".")))  # 1.234,00 €
    path = tmp_path / "eu.csv"
    written.to_csv(path, index=False, sep=";")
    with pytest.raises(SchemaError, match="decimal=',' and thousands='.'"):
        CLVModel("2023-02-19").fit(str(path))
    fitted = CLVModel("2023-02-19").fit(str(path), decimal=",", thousands=".")
    plain = CLVModel("2023-02-19").fit(orders.assign(amount=orders["amount"] * 100))
    assert fitted.gamma_gamma_.params == pytest.approx(plain.gamma_gamma_.params, rel=1e-9)
    values = fitted.predict(str(path), decimal=",", thousands=".")
    assert values["clv"].to_numpy() == pytest.approx(plain.predict(
        orders.assign(amount=orders["amount"] * 100))["clv"].to_numpy(), rel=1e-9)


def no_dropout_transactions() -> pd.DataFrame:
    """300 customers who each buy at their own steady pace from January to September 2024:
    fitted to 2024-06-30, nobody drops out (also used by test_report_clv_report.py)."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(300):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        gap = pd.Timedelta(days=int(rng.integers(5, 30)))
        while day <= pd.Timestamp("2024-09-30"):
            rows.append((f"c{i}", day, float(rng.gamma(2, 20))))
            day += gap
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


def test_a_fit_where_nobody_drops_out_is_warned():
    """Customers who all keep buying through the calibration: BG/NBD's dropout parameter goes
    to its bound, P(alive) is 1 for everyone, and the user is told why."""
    with pytest.warns(CLVBoundaryWarning, match="no sign of customers dropping out"):
        model = CLVModel("2024-06-30").fit(no_dropout_transactions())
    a, b = model.bg_nbd_.params["a"], model.bg_nbd_.params["b"]
    assert a / (a + b) < 1e-6
    assert model.customers_["p_alive"].min() > 0.99
