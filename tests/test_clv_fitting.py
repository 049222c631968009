"""The maximum-likelihood driver: the best of several starts, standard errors."""

from __future__ import annotations

import numpy as np
import pytest

from rfmkit.clv.fitting import SAMPLE_ROWS, fit_max_likelihood, sample_rows


def test_normal_mean_and_scale_with_their_standard_errors():
    rng = np.random.default_rng(0)
    data = rng.normal(5.0, 2.0, 4000)

    def value_and_gradient(params):
        mu, sigma = params
        z = (data - mu) / sigma
        value = float(np.sum(-np.log(sigma) - z**2 / 2))
        return value, np.array([np.sum(z) / sigma, np.sum(z**2 - 1) / sigma])

    fit = fit_max_likelihood(value_and_gradient, ("mu", "sigma"), [(1.0, 1.0), (9.0, 5.0)],
                             n=len(data))
    assert fit.converged
    assert fit.params["mu"] == pytest.approx(data.mean(), rel=1e-7)
    assert fit.params["sigma"] == pytest.approx(data.std(), rel=1e-7)
    assert fit.standard_errors["mu"] == pytest.approx(data.std() / np.sqrt(len(data)), rel=1e-3)
    assert fit.standard_errors["sigma"] == pytest.approx(
        data.std() / np.sqrt(2 * len(data)), rel=1e-3)


def test_no_finite_start_is_an_error():
    with pytest.raises(FloatingPointError):
        fit_max_likelihood(lambda p: (float("nan"), np.zeros(1)), ("a",), [(1.0,)], n=1)


def test_sample_rows_is_seeded_and_only_for_large_data():
    assert sample_rows(SAMPLE_ROWS) is None
    first, second = sample_rows(SAMPLE_ROWS * 3), sample_rows(SAMPLE_ROWS * 3)
    assert np.array_equal(first, second) and len(first) == SAMPLE_ROWS
