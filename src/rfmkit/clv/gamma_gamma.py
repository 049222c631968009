"""The Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, "The Gamma-Gamma model of
monetary value", after Colombo & Jiang 1999).

A customer's purchases have spends z ~ Gamma(p, ν), with ν ~ Gamma(q, γ) across customers. The
mean spend m_x of a customer's x repeat purchases then has a closed-form density, and the
expected spend per purchase given (x, m_x) is a weighted mean of the population mean and m_x.
Only repeat buyers (x > 0) carry information about spend.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from rfmkit.clv.fitting import Fit, fit_max_likelihood, sample_rows

PARAMETERS = ("p", "q", "v")
_STARTS = [(1.0, 1.0, 1.0), (5.0, 3.0, 15.0), (2.0, 10.0, 50.0)]


#: |Spearman ρ| between frequency and mean spend from which Gamma-Gamma's independence
#: assumption is taken to fail (Fader & Hardie 2013 check it the same way).
DEPENDENCE_LIMIT = 0.3


def dependence_note(rho: float) -> str | None:
    """What a failed independence check means for a reader, or None when it holds."""
    if abs(rho) < DEPENDENCE_LIMIT:
        return None
    return (f"Frequency and spend per purchase are correlated among the repeat buyers "
            f"(Spearman rho = {rho:.2f}); Gamma-Gamma assumes they are independent, so expected "
            "spend and CLV are biased. Read them as a ranking, not as money.")


def log_likelihood_each(params, x, m_x) -> np.ndarray:
    """Each repeat buyer's log density of its mean spend m_x (equation 3 of the note)."""
    p, q, v = params
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
            + (px - 1) * np.log(m_x) + px * np.log(x) - (px + q) * np.log(v + m_x * x))


def gradient_each(params, x, m_x) -> np.ndarray:
    """d log-likelihood / d (p, q, γ) of each repeat buyer, shape (3, n)."""
    p, q, v = params
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    px = p * x
    log_total = np.log(v + m_x * x)
    psi = digamma(px + q)
    return np.vstack([x * (psi - digamma(px) + np.log(m_x) + np.log(x) - log_total),
                      psi - digamma(q) + np.log(v) - log_total,
                      q / v - (px + q) / (v + m_x * x)])


def log_likelihood(params, x, m_x) -> float:
    """The total log-likelihood over repeat buyers."""
    return float(np.sum(log_likelihood_each(params, x, m_x)))


def fit(x, m_x) -> Fit:
    """Fit (p, q, γ) on repeat buyers (x > 0, m_x > 0)."""
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    scale = float(np.mean(m_x))
    starts = [(p, q, v * scale / 35.0) for p, q, v in _STARTS]  # γ scales with the currency
    sample = sample_rows(len(x))
    if sample is not None:
        starts = [list(_fit(x[sample], m_x[sample], starts).params.values())]
    return _fit(x, m_x, starts)


def _fit(x: np.ndarray, m_x: np.ndarray, starts) -> Fit:
    def value_and_gradient(prm):
        return log_likelihood(prm, x, m_x), gradient_each(prm, x, m_x).sum(axis=1)

    return fit_max_likelihood(value_and_gradient, PARAMETERS, starts, n=float(len(x)))


def population_mean_spend(params) -> float:
    """E(Z) = pγ / (q - 1): the mean spend per purchase across customers (infinite if q <= 1)."""
    p, q, v = params
    return p * v / (q - 1) if q > 1 else float("inf")


def conditional_expected_spend(params, x, m_x) -> np.ndarray:
    """E(Z | x, m_x): expected spend per purchase (equation 5 of the note); for a customer
    without repeat purchases (x = 0), the population mean."""
    p, q, v = params
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    m_x = np.where(x > 0, np.nan_to_num(m_x), 0.0)
    return p * (v + m_x * x) / (p * x + q - 1)
