"""What the clustering tests share: synthetic feature matrices and customer tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfmkit import schema

SCORES = list(schema.SCORE_COLUMNS)
METRICS = list(schema.METRIC_COLUMNS)


def quantile_scores(n: int, seed: int = 0) -> np.ndarray:
    """Correlated integer scores 1..5 (few distinct rows, many duplicates)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1))
    return np.clip(np.round(3 + 1.2 * (0.7 * z + 0.7 * rng.normal(size=(n, 3)))), 1, 5)


def score_frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=SCORES)


def blobs(n_per: int, centers, spread: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=float)
    return np.vstack([c + rng.normal(0, spread, size=(n_per, 3)) for c in centers])


def expand(P: np.ndarray, w: np.ndarray, labels: np.ndarray):
    reps = w.astype(int)
    return np.repeat(P, reps, axis=0), np.repeat(labels, reps)


def customers(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    freq = 1 + rng.poisson(3, n)
    return pd.DataFrame({
        schema.CUSTOMER_ID: np.arange(n),
        schema.RECENCY: rng.integers(0, 400, n),
        schema.FREQUENCY: freq,
        schema.MONETARY: np.round(rng.lognormal(4, 1, n) * freq, 2),
    })
