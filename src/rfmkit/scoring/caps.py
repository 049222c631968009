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

__all__ = ["check_caps"]  # the rest: private helpers of the scoring package

_QUANTILE_CAP = re.compile(r"^q(\d+(?:\.\d*)?|\.\d+)$")


#: The smallest sensible fixed cap per metric. A cap replaces every value above it, so a cap at
#: or below the smallest value a metric can take (0 days, 1 purchase, a positive spend) would
#: make every customer equal on that metric and its scores meaningless.
_CAP_FLOOR = {"recency": (0.0, False), "frequency": (1.0, True), "monetary": (0.0, False)}


def check_caps(caps: Any, *, owner: str = "RFMScorer") -> None:
    """Check the content of the ``caps`` dict (its type is checked by validate_params).

    ``owner`` names the estimator in the message (RFMModel checks its caps before any data is
    read, RFMScorer again at fit).
    """
    if caps is None:
        return
    for metric, cap in caps.items():
        if metric not in _METRICS:
            raise ParameterError(
                f"The 'caps' parameter of {owner} has an unknown metric {metric!r}. "
                f"Use {', '.join(map(repr, _METRICS))}."
            )
        if isinstance(cap, str):
            match = _QUANTILE_CAP.match(cap)
            if match is None or not 0 < float(match.group(1)) <= 1:
                raise ParameterError(
                    f"The 'caps' parameter of {owner} has an invalid quantile cap {cap!r} for "
                    f"{metric!r}. Write a quantile as 'q' followed by a number in (0, 1], e.g. "
                    "'q0.99', or give a fixed number."
                )
        elif (
            isinstance(cap, bool)
            or not isinstance(cap, numbers.Real)
            or not math.isfinite(float(cap))
        ):
            raise ParameterError(
                f"The 'caps' parameter of {owner} must map a metric to a finite number or a "
                f"quantile string like 'q0.99'. Got {cap!r} for {metric!r} instead."
            )
        else:
            floor, floor_allowed = _CAP_FLOOR[metric]
            allowed = f"{'>=' if floor_allowed else '>'} {floor:g}"
            if cap < floor or (cap == floor and not floor_allowed):
                raise ParameterError(
                    f"The 'caps' parameter of {owner} must give {metric!r} a cap {allowed}. "
                    f"Got {cap!r} instead: a cap replaces every larger value, so every "
                    f"customer's {metric} would be {cap!r}. Give a cap {allowed}, a quantile "
                    "cap like 'q0.99', or no cap."
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
