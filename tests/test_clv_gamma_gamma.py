"""Gamma-Gamma spend model (Fader & Hardie 2013): density and conditional mean."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from rfmkit.clv import gamma_gamma

PAPER = (6.25, 3.74, 15.44)


def test_density_is_the_mixture_it_stands_for():
    """m_x is the mean of x Gamma(p, ν) spends (so Gamma(px, xν)), with ν ~ Gamma(q, γ)."""
    p, q, v = PAPER
    for x, m in [(1, 20.0), (3, 35.0), (8, 60.0)]:
        def integrand(nu, x=x, m=m):
            return (stats.gamma.pdf(m, p * x, scale=1 / (x * nu))
                    * stats.gamma.pdf(nu, q, scale=1 / v))

        value, _ = integrate.quad(integrand, 0, np.inf, epsabs=1e-14, limit=200)
        assert np.exp(gamma_gamma.log_likelihood_each(PAPER, [x], [m])[0]) == pytest.approx(
            value, rel=1e-7)


def test_conditional_spend_between_population_and_own_mean():
    population = gamma_gamma.population_mean_spend(PAPER)
    assert gamma_gamma.conditional_expected_spend(PAPER, [0], [0.0])[0] == pytest.approx(
        population)
    for m in (10.0, 80.0):
        spends = gamma_gamma.conditional_expected_spend(PAPER, [1, 5, 50, 5000], [m] * 4)
        assert np.all(np.diff(np.abs(spends - m)) < 0)  # more purchases: closer to own mean
        assert min(m, population) < spends[0] < max(m, population)


def test_fit_recovers_simulated_parameters():
    p, q, v = 4.0, 5.0, 30.0
    rng = np.random.default_rng(2)
    n = 5000
    x = rng.integers(1, 8, n)
    nu = rng.gamma(q, 1 / v, n)
    m = rng.gamma(p * x, 1 / (x * nu)) / 1.0
    fit = gamma_gamma.fit(x, m)
    for name, true in zip(gamma_gamma.PARAMETERS, (p, q, v), strict=True):
        assert abs(fit.params[name] - true) < 4 * fit.standard_errors[name], fit
