"""What the scoring tests share: ten customers worked out by hand, tie-heavy data, a quiet fit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from rfmkit import schema
from rfmkit.errors import CollapsedBinsWarning
from rfmkit.scoring.scorer import RFMScorer

SCORES = list(schema.SCORE_COLUMNS)


def tiny_customers() -> pd.DataFrame:
    """Ten customers; expected edges and scores below are worked out by hand.

    Linear percentiles of 10 sorted values sit at positions 0, 1.8, 3.6, 5.4, 7.2, 9.
    -recency sorted: -365 -200 -90 -30 -30 -30 -10 -3 -3 0
        edges -365, -200+0.8*110=-112, -30, -30+0.4*20=-22, -3, 0     (5 bins)
    frequency sorted: 1 1 1 1 2 2 3 4 5 8
        edges 1, 1 (dropped: equal to its predecessor), 1.6, 2.4, 4.2, 8 (4 bins)
    monetary 10..100 step 10: edges 10, 28, 46, 64, 82, 100              (5 bins)
    """
    return pd.DataFrame(
        {
            schema.CUSTOMER_ID: [f"c{i}" for i in range(10)],
            schema.RECENCY: [0, 3, 3, 10, 30, 30, 30, 90, 200, 365],
            schema.FREQUENCY: [1, 1, 1, 1, 2, 2, 3, 4, 5, 8],
            schema.MONETARY: [30.0, 10.0, 100.0, 20.0, 50.0, 90.0, 40.0, 70.0, 60.0, 80.0],
        },
        index=pd.Index([10, 11, 12, 13, 14, 15, 16, 17, 18, 19], name="row"),
    )


def fit_quiet(scorer: RFMScorer, X) -> RFMScorer:
    """Fit, ignoring collapsed-bin warnings (tests of those warnings use pytest.warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedBinsWarning)
        return scorer.fit(X)


def tie_heavy(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            schema.CUSTOMER_ID: np.arange(n),
            schema.RECENCY: rng.integers(0, 40, n) ** 2 // 7,
            schema.FREQUENCY: rng.geometric(0.45, n),
            schema.MONETARY: np.round(rng.lognormal(3.5, 1.2, n), 0),
        }
    )
