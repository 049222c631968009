"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the
easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2)).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase
they drop out with probability p ~ Beta(a, b). A customer is summarised by x (repeat purchases),
t_x (time of the last purchase, from the first) and T (time from the first purchase to the end
of the calibration period). Equation numbers refer to the paper.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

from rfmkit.clv.fitting import Fit, fit_max_likelihood

PARAMETERS = ("r", "alpha", "a", "b")
# several starts: the likelihood surface of (a, b) is flat for some data
_STARTS = [(1.0, 1.0, 1.0, 1.0), (0.5, 5.0, 0.5, 2.0), (0.2, 10.0, 2.0, 5.0)]


def log_likelihood_each(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood (equation 6), in log space."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    survived = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        # dropped out right after the last purchase: only possible after a repeat purchase
        dropped = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300))
                           - (r + x) * np.log(alpha + t_x), -np.inf)
    return common + np.logaddexp(survived, dropped)


def log_likelihood(params, x, t_x, T) -> float:
    """The total log-likelihood over customers."""
    return float(np.sum(log_likelihood_each(params, x, t_x, T)))


def fit(x, t_x, T) -> Fit:
    """Fit (r, α, a, b) by maximum likelihood.

    The likelihood depends on a customer only through (x, t_x, T), so each distinct history is
    evaluated once and weighted by how many customers share it: on a day grid, a million
    customers have far fewer distinct histories.
    """
    histories = np.column_stack([np.asarray(v, dtype=float) for v in (x, t_x, T)])
    unique, counts = np.unique(histories, axis=0, return_counts=True)
    ux, ut, uT = unique.T
    weights = counts.astype(float)
    return fit_max_likelihood(
        lambda p: float(np.dot(weights, log_likelihood_each(p, ux, ut, uT))), PARAMETERS, _STARTS)


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T): the probability that the customer has not dropped out."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                    + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)


def expected_purchases(params, t) -> np.ndarray:
    """E[X(t)]: expected purchases of a new customer in a period of length t (equation 7)."""
    r, alpha, a, b = params
    t = np.asarray(t, dtype=float)
    term = (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - term)


def conditional_expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] of a customer with that history
    (equation 10)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * tail * p_alive(params, x, t_x, T)
