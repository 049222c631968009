"""BG/NBD (Fader, Hardie & Lee 2005): the closed forms against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rfmkit.clv import bg_nbd

PAPER = (0.243, 4.414, 0.793, 2.426)


def _likelihood_by_integration(params, x, t_x, T):
    """Equation (3) averaged over λ ~ Gamma(r, α) and p ~ Beta(a, b) numerically: Gauss-Legendre
    nodes on the quantile scale of each (no closed form of the paper used)."""
    r, alpha, a, b = params
    nodes, weights = np.polynomial.legendre.leggauss(600)
    u, w = (nodes + 1) / 2, weights / 2
    lam = stats.gamma.ppf(u, r, scale=1 / alpha)[:, None]
    p = stats.beta.ppf(u, a, b)[None, :]
    alive = (1 - p) ** x * lam ** x * np.exp(-lam * T)
    dropped = p * (1 - p) ** (x - 1) * lam ** x * np.exp(-lam * t_x) if x > 0 else 0.0
    return float(w @ (alive + dropped) @ w)


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 30.0), (1, 10.0, 38.0), (4, 30.5, 39.0)])
def test_log_likelihood_is_the_integral_of_the_model(x, t_x, T):
    params = (0.9, 4.0, 1.3, 2.5)
    expected = np.log(_likelihood_by_integration(params, x, t_x, T))
    assert bg_nbd.log_likelihood_each(params, [x], [t_x], [T])[0] == pytest.approx(expected,
                                                                                  rel=1e-5)


def test_expected_purchases_agrees_with_a_simulation():
    r, alpha, a, b = PAPER
    rng = np.random.default_rng(0)
    n, t = 200_000, 52.0
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    counts = np.zeros(n)
    clock = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        clock[alive] += rng.exponential(1 / np.maximum(lam[alive], 1e-12))
        bought = alive & (clock <= t)
        counts[bought] += 1
        alive = bought & (rng.random(n) >= p)
    simulated = counts.mean()
    assert bg_nbd.expected_purchases(PAPER, t) == pytest.approx(simulated, rel=0.02)


def test_p_alive_properties():
    assert bg_nbd.p_alive(PAPER, [0], [0.0], [39.0])[0] == 1.0  # no repeat: never seen to drop
    longer = bg_nbd.p_alive(PAPER, [3, 3, 3], [20.0, 20.0, 20.0], [25.0, 30.0, 39.0])
    assert np.all(np.diff(longer) < 0)  # the longer the silence, the likelier gone
    assert np.all((longer > 0) & (longer < 1))


def test_conditional_expectation_at_zero_and_growth():
    x, t_x, T = np.array([0, 2, 7]), np.array([0.0, 15.0, 35.0]), np.array([39.0, 39.0, 39.0])
    assert np.allclose(bg_nbd.conditional_expected_purchases(PAPER, 0.0, x, t_x, T), 0.0)
    later = [bg_nbd.conditional_expected_purchases(PAPER, t, x, t_x, T) for t in (10, 20, 40)]
    assert np.all(np.diff(np.array(later), axis=0) > 0)
    # a recent, frequent buyer is worth more than a one-off
    assert later[-1][2] > later[-1][1] > later[-1][0]


def test_fit_recovers_simulated_parameters():
    truth = (0.5, 6.0, 1.2, 3.0)
    r, alpha, a, b = truth
    rng = np.random.default_rng(1)
    n = 6000
    T = rng.uniform(20, 52, n)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    clock, alive = np.zeros(n), np.ones(n, dtype=bool)
    while alive.any():
        clock[alive] += rng.exponential(1 / np.maximum(lam[alive], 1e-12))
        bought = alive & (clock <= T)
        x[bought] += 1
        t_x[bought] = clock[bought]
        alive = bought & (rng.random(n) >= p)
    fit = bg_nbd.fit(x, t_x, T)
    got = [fit.params[k] for k in bg_nbd.PARAMETERS]
    errors = [fit.standard_errors[k] for k in bg_nbd.PARAMETERS]
    for value, error, true in zip(got, errors, truth, strict=True):
        assert abs(value - true) < 4 * error, (got, errors)


def test_a_fit_where_nobody_drops_out_is_recognised():
    # CDNOW's published fit loses a quarter of its customers per purchase; Online Retail's
    # fit to 2011-09-30 (a at its lower bound) none
    assert not bg_nbd.finds_no_dropout({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    assert bg_nbd.finds_no_dropout({"r": 0.76, "alpha": 9.77, "a": 1e-6, "b": 278356.0})
