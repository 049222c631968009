"""The ``caps`` parameter of RFMScorer: its check, the caps learned at fit and its saved form."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from rfmkit.errors import ParameterError
from rfmkit.scoring.inputs import _METRICS

__all__: list[str] = []  # private helpers of the scoring package

_QUANTILE_CAP = re.compile(r"^q(\d+(?:\.\d*)?|\.\d+)$")


def _check_caps(caps: Any) -> None:
    """Check the content of the ``caps`` dict (its type is checked by validate_params)."""
    if caps is None:
        return
    for metric, cap in caps.items():
        if metric not in _METRICS:
            raise ParameterError(
                f"The 'caps' parameter of RFMScorer has an unknown metric {metric!r}. "
                f"Use {', '.join(map(repr, _METRICS))}."
            )
        if isinstance(cap, str):
            match = _QUANTILE_CAP.match(cap)
            if match is None or not 0 < float(match.group(1)) <= 1:
                raise ParameterError(
                    f"The 'caps' parameter of RFMScorer has an invalid quantile cap {cap!r} for "
                    f"{metric!r}. Write a quantile as 'q' followed by a number in (0, 1], e.g. "
                    "'q0.99', or give a fixed number."
                )
        elif (
            isinstance(cap, bool)
            or not isinstance(cap, numbers.Real)
            or not math.isfinite(float(cap))
        ):
            raise ParameterError(
                f"The 'caps' parameter of RFMScorer must map a metric to a finite number or a "
                f"quantile string like 'q0.99'. Got {cap!r} for {metric!r} instead."
            )


def _plain_cap(cap: Any) -> int | float | str:
    if isinstance(cap, str):
        return cap
    if isinstance(cap, numbers.Integral):
        return int(cap)
    return float(cap)


def _resolved_caps(caps: Any, arrays: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The cap of each capped metric: fixed caps as floats, quantile caps learned on ``arrays``."""
    resolved = {}
    for metric, cap in (caps or {}).items():
        if isinstance(cap, str):
            resolved[metric] = float(np.quantile(arrays[metric], float(cap[1:])))
        else:
            resolved[metric] = float(cap)
    return resolved
