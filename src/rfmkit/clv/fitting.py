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


def fit_max_likelihood(log_likelihood: Callable[[np.ndarray], float], names: Sequence[str],
                       starts: Sequence[Sequence[float]]) -> Fit:
    """Maximise ``log_likelihood(params)`` (a total over customers) over positive parameters.

    Each start (positive values, one per name) is tried; the best optimum wins, so a start that
    runs into a poor local optimum does not decide the fit.
    """
    def objective(theta: np.ndarray) -> float:
        value = log_likelihood(np.exp(theta))
        return -value if np.isfinite(value) else np.inf

    best = None
    for start in starts:
        result = minimize(objective, np.log(np.asarray(start, dtype=float)), method="L-BFGS-B",
                          bounds=[_LOG_BOUNDS] * len(names))
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise FloatingPointError("the log-likelihood is not finite at any starting point")
    # polish: L-BFGS-B stops on a relative tolerance; Nelder-Mead from its optimum sharpens the
    # last digits the published values are compared to
    polished = minimize(objective, best.x, method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20_000})
    if polished.fun <= best.fun:
        best_x, best_fun, converged = polished.x, polished.fun, bool(polished.success)
    else:
        best_x, best_fun, converged = best.x, best.fun, bool(best.success)
    params = np.exp(best_x)
    errors = _standard_errors(log_likelihood, params)
    return Fit(dict(zip(names, map(float, params), strict=True)),
               dict(zip(names, map(float, errors), strict=True)), float(-best_fun), converged)


def _standard_errors(log_likelihood: Callable[[np.ndarray], float], params: np.ndarray
                     ) -> np.ndarray:
    """Square roots of the diagonal of the inverse observed information (the negative Hessian
    of the log-likelihood, by central differences); NaN where it is not positive definite."""
    n = len(params)
    steps = 1e-4 * np.maximum(np.abs(params), 1e-3)
    hessian = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            def at(di: int, dj: int, i: int = i, j: int = j) -> float:
                p = params.copy()
                p[i] += di * steps[i]
                p[j] += dj * steps[j]
                return log_likelihood(p)

            value = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * steps[i] * steps[j])
            hessian[i, j] = hessian[j, i] = value
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(n, np.nan)
    variances = np.diag(covariance)
    return np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
