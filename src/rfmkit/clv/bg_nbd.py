"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the
easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2)).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase
they drop out with probability p ~ Beta(a, b). A customer is summarised by x (repeat purchases),
t_x (time of the last purchase, from the first) and T (time from the first purchase to the end
of the calibration period). Equation numbers refer to the paper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1

from rfmkit.clv.fitting import Fit, fit_max_likelihood, sample_rows

PARAMETERS = ("r", "alpha", "a", "b")
# several starts: the likelihood surface of (a, b) is flat for some data
_STARTS = [(1.0, 1.0, 1.0, 1.0), (0.5, 5.0, 0.5, 2.0), (0.2, 10.0, 2.0, 5.0)]


#: Below this mean dropout probability per purchase, a / (a + b), nobody is expected to leave
#: within any horizon a CLV is computed for (CDNOW's published fit: 0.25): a limit case.
NO_DROPOUT = 1e-6


def finds_no_dropout(params) -> bool:
    """Whether the fit is the limit case where nobody drops out (``a`` pushed towards 0):
    P(alive) is then 1 for everyone."""
    return params["a"] / (params["a"] + params["b"]) < NO_DROPOUT


def no_dropout_note(params) -> str | None:
    """What the limit case means for a reader (the CLI's warning, the report's note), or None."""
    if not finds_no_dropout(params):
        return None
    a, b = params["a"], params["b"]
    return (f"BG/NBD finds no sign of customers dropping out (a = {a:.3g}, b = {b:.3g}: a mean "
            f"dropout probability per purchase of {a / (a + b):.1g}), so P(alive) is about 1 "
            "for everyone and expected purchases assume nobody leaves. Choose a longer "
            "calibration period before relying on P(alive) and CLV.")


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


def _terms(params, x, t_x, T):
    """log A, log B, log C of equation 6 (LL = A + log(B + C)); C is -inf without repeats."""
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    survived = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300))
                           - (r + x) * np.log(alpha + t_x), -np.inf)
    return common, survived, dropped


def gradient_each(params, x, t_x, T) -> np.ndarray:
    """d log-likelihood / d (r, α, a, b) of each customer, shape (4, n)."""
    return _value_and_gradient_each(params, x, t_x, T)[1]


def _value_and_gradient_each(params, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common, survived, dropped = _terms(params, x, t_x, T)
    total = np.logaddexp(survived, dropped)
    w_s, w_d = np.exp(survived - total), np.exp(dropped - total)  # shares of the two terms
    psi_abx = digamma(a + b + x)
    d_r = (digamma(r + x) - digamma(r) + np.log(alpha)
           - w_s * np.log(alpha + T) - w_d * np.log(alpha + t_x))
    d_alpha = r / alpha - (r + x) * (w_s / (alpha + T) + w_d / (alpha + t_x))
    psi_ab = digamma(a + b)
    b_x1 = np.maximum(b + x - 1, 1e-300)
    d_a = (-(digamma(a) - psi_ab) + w_s * (digamma(a) - psi_abx)
           + w_d * (digamma(a + 1) - psi_abx))
    d_b = (-(digamma(b) - psi_ab) + w_s * (digamma(b + x) - psi_abx)
           + w_d * np.where(x > 0, digamma(b_x1) - psi_abx, 0.0))
    return common + total, np.vstack([d_r, d_alpha, d_a, d_b])


def log_likelihood(params, x, t_x, T) -> float:
    """The total log-likelihood over customers."""
    return float(np.sum(log_likelihood_each(params, x, t_x, T)))


def fit(x, t_x, T) -> Fit:
    """Fit (r, α, a, b) by maximum likelihood.

    The likelihood depends on a customer only through (x, t_x, T), so each distinct history is
    evaluated once and weighted by how many customers share it: on a day grid, a million
    customers have far fewer distinct histories.
    """
    unique, inverse = distinct_histories(x, t_x, T)
    weights = np.bincount(inverse, minlength=len(unique)).astype(float)
    starts = _STARTS
    sample = sample_rows(len(unique))
    if sample is not None:
        starts = [list(_fit_weighted(unique[sample], weights[sample], _STARTS).params.values())]
    return _fit_weighted(unique, weights, starts)


def distinct_histories(x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (x, t_x, T) rows, shape (k, 3), and each customer's row among them
    (pandas' hash grouping: np.unique(axis=0) sorts, ten times slower on a million rows)."""
    frame = pd.DataFrame({"x": np.asarray(x, dtype=float), "t_x": np.asarray(t_x, dtype=float),
                          "T": np.asarray(T, dtype=float)})
    codes = frame.groupby(["x", "t_x", "T"], sort=False).ngroup().to_numpy()
    first = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # the first customer of each history
    return frame.to_numpy()[first], codes


def _fit_weighted(histories: np.ndarray, weights: np.ndarray, starts) -> Fit:
    ux, ut, uT = histories.T

    def value_and_gradient(p):
        values, gradients = _value_and_gradient_each(p, ux, ut, uT)
        return float(values @ weights), gradients @ weights

    return fit_max_likelihood(value_and_gradient, PARAMETERS, starts, n=float(weights.sum()))


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
