"""Maximum likelihood for the CLV models: a bounded optimiser from several starting points, and
standard errors from the Hessian of the negative log-likelihood.

The parameters are fitted on the log scale (all are positive), so the bounds keep them away from
0 and from overflow without the optimiser seeing a boundary in ordinary use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

#: Above this many rows, the starting points are first tried on a seeded sample of this size,
#: and only the best one is refined on all rows: the same optimum, reached in a few iterations
#: on the full data instead of many from each start.
SAMPLE_ROWS = 50_000

# log-parameter bounds: 1e-6 .. 1e6 covers every published fit by orders of magnitude
_LOG_BOUNDS = (np.log(1e-6), np.log(1e6))


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit: the parameters, their standard errors, the total
    log-likelihood, and whether the optimiser reported convergence."""

    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    converged: bool


def fit_max_likelihood(value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
                       names: Sequence[str], starts: Sequence[Sequence[float]], *,
                       n: float) -> Fit:
    """Maximise a total log-likelihood over positive parameters.

    ``value_and_gradient(params)`` returns the total over ``n`` customers and its analytic
    gradient. The optimiser sees the mean per customer, so its tolerances mean the same for a
    thousand customers as for a million. Each start (positive values, one per name) is tried;
    the best optimum wins, so a start that runs into a poor local optimum does not decide.
    """
    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, gradient = value_and_gradient(params)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return -value / n, -gradient * params / n  # chain rule for the log scale

    best = None
    for start in starts:
        # tight tolerances: the published fits are compared to four decimals
        result = minimize(objective, np.log(np.asarray(start, dtype=float)), jac=True,
                          method="L-BFGS-B", bounds=[_LOG_BOUNDS] * len(names),
                          options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 2000})
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise FloatingPointError("the log-likelihood is not finite at any starting point")
    params = np.exp(best.x)
    errors = _standard_errors(lambda p: value_and_gradient(p)[1], params)
    return Fit(dict(zip(names, map(float, params), strict=True)),
               dict(zip(names, map(float, errors), strict=True)), float(-best.fun * n),
               bool(best.success))


def sample_rows(n: int) -> np.ndarray | None:
    """Indices of a seeded sample of :data:`SAMPLE_ROWS` rows out of ``n``, or None if ``n``
    is small enough to start on all rows."""
    if n <= SAMPLE_ROWS:
        return None
    return np.sort(np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False))


def _standard_errors(gradient: Callable[[np.ndarray], np.ndarray], params: np.ndarray
                     ) -> np.ndarray:
    """Square roots of the diagonal of the inverse observed information (the negative Hessian
    of the log-likelihood, by central differences of the analytic gradient); NaN where it is
    not positive definite."""
    n = len(params)
    hessian = np.empty((n, n))
    for i in range(n):
        step = 1e-5 * max(abs(params[i]), 1e-8)
        up, down = params.copy(), params.copy()
        up[i] += step
        down[i] -= step
        hessian[:, i] = (gradient(up) - gradient(down)) / (2 * step)
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(n, np.nan)
    variances = np.diag(covariance)
    return np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
