"""What the report tests share: the demo data and models (each fitted once per test session).

The models are shared, read-only: a test that needs a changed segmentation builds a new one
(``dataclasses.replace``) and leaves these as they are.
"""

from __future__ import annotations

import math
import warnings
from functools import cache

import numpy as np
import pandas as pd

from rfmkit.demo import generate_transactions
from rfmkit.errors import RFMKitWarning
from rfmkit.model import RFMModel
from rfmkit.report import build_report


def fit(X, *args, **kwargs) -> RFMModel:
    # Demo data has tie-heavy frequencies (collapsed bins) and few distinct score points; those
    # warnings are tested where they are raised, not here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMKitWarning)
        return RFMModel(*args, **kwargs).fit(X)


def customers(n: int, seed: int = 0) -> pd.DataFrame:
    """A customer-level table (one row per customer, metrics given)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)],
        "recency": rng.integers(0, 700, n),
        "frequency": 1 + rng.poisson(rng.gamma(0.6, 4.0, n)),
        "monetary": np.round(rng.lognormal(4.0, 1.2, n), 2),
    })


@cache
def demo_tx() -> pd.DataFrame:
    return generate_transactions(n_rows=12_000, seed=3)


@cache
def demo_model() -> RFMModel:
    return fit(demo_tx(), k_max=6)


def demo_summary() -> dict:
    """The summary of the demo model's report (a fresh copy)."""
    return demo_report().to_dict()


@cache
def demo_report():
    return build_report(demo_model(), demo_model().result_)


@cache
def plain_model() -> RFMModel:
    """No clustering; fixed caps (one quantile cap); customer-level input."""
    return fit(customers(3000, seed=5), n_clusters="none",
               caps={"frequency": 12, "monetary": "q0.95"})


@cache
def percentile_model() -> RFMModel:
    return fit(demo_tx(), "percentile", k_max=6)


def same(a, b) -> bool:
    """Summary value (None for missing) equals a table value (NaN for missing)."""
    if a is None:
        return b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b
