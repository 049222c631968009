"""Rebuilding a fitted RFMScorer from its saved state, with every part of the state checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from rfmkit._validation import validate_params
from rfmkit.errors import ModelFormatError, ParameterError
from rfmkit.scoring.caps import check_caps
from rfmkit.scoring.inputs import _METRICS, NEGATED_METRICS

if TYPE_CHECKING:
    from rfmkit.scoring.scorer import RFMScorer

__all__: list[str] = []  # private helpers of the scoring package


def _bad_state(problem: str) -> ModelFormatError:
    return ModelFormatError(
        f"Invalid RFMScorer state: {problem}. The model file is damaged or was not written by "
        "rfmkit; fit the model again."
    )


def _per_metric(state: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    if key not in state:
        raise _bad_state(f"missing {key!r}")
    value = state[key]
    if not isinstance(value, Mapping) or set(value) != set(_METRICS):
        raise _bad_state(f"{key!r} must map each of {', '.join(_METRICS)} to its value")
    return value


def _scorer_from_state(cls: type[RFMScorer], state: Mapping[str, Any]) -> RFMScorer:
    if not isinstance(state, Mapping) or "params" not in state:
        raise _bad_state("missing 'params'")
    if list(state.get("negated", [])) != list(NEGATED_METRICS):
        raise _bad_state(f"'negated' must be {list(NEGATED_METRICS)}")
    params = dict(state["params"])
    scorer = cls(**params)
    try:
        validate_params(cls.__name__, scorer.get_params(), cls._parameter_constraints)
        check_caps(scorer.caps)
    except ParameterError as exc:
        raise _bad_state(str(exc)) from exc
    caps_ = state.get("caps_", {})
    if not isinstance(caps_, Mapping) or not set(caps_) <= set(_METRICS):
        raise _bad_state("'caps_' must map metrics to numbers")
    scorer.caps_ = {m: float(c) for m, c in caps_.items()}
    if scorer.method == "quantile":
        n_bins_ = _per_metric(state, "n_bins_")
        edges_ = _per_metric(state, "bin_edges_")
        scorer.bin_edges_, scorer.n_bins_ = {}, {}
        for metric in _METRICS:
            edges = np.asarray(edges_[metric], dtype="float64")
            realised = int(n_bins_[metric])
            if (
                edges.ndim != 1
                or len(edges) != realised + 1
                or not 1 <= realised <= scorer.n_bins
                or np.any(np.diff(edges) < 0)
                or not np.all(np.isfinite(edges))
            ):
                raise _bad_state(
                    f"bin edges of {metric!r} must be {realised + 1} increasing finite numbers"
                )
            scorer.bin_edges_[metric], scorer.n_bins_[metric] = edges, realised
        scorer.rank_values_ = scorer.rank_counts_ = scorer.max_rank_ = None
    else:
        values_ = _per_metric(state, "rank_values_")
        counts_ = _per_metric(state, "rank_counts_")
        max_rank_ = _per_metric(state, "max_rank_")
        scorer.bin_edges_ = scorer.n_bins_ = None
        scorer.rank_values_, scorer.rank_counts_, scorer.max_rank_ = {}, {}, {}
        for metric in _METRICS:
            values = np.asarray(values_[metric], dtype="float64")
            counts = np.asarray(counts_[metric], dtype="int64")
            if (
                values.ndim != 1
                or len(values) == 0
                or values.shape != counts.shape
                or np.any(np.diff(values) <= 0)
                or np.any(counts < 1)
                or float(max_rank_[metric]) <= 0
            ):
                raise _bad_state(f"ranks of {metric!r} are inconsistent")
            scorer.rank_values_[metric], scorer.rank_counts_[metric] = values, counts
            scorer.max_rank_[metric] = float(max_rank_[metric])
    scorer.n_features_in_ = len(_METRICS)
    scorer.feature_names_in_ = np.asarray(_METRICS, dtype=object)
    return scorer
