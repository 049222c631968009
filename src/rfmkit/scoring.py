"""RFM scores: learn bin edges (or ranks) once, then score any customer table on the same scale.

Two scoring methods, both reproduced exactly (METHODS.md sections 3 and 4):

* ``"quantile"`` (Method Q): each metric is cut into ``n_bins`` bins at its linearly interpolated
  percentiles; ties can merge bins (warned, recorded in ``n_bins_``). Integer scores ``1..n``.
* ``"percentile"`` (Method P): score = average rank / largest average rank x 100. Float scores
  ``0..100``.

For both methods recency is negated before anything is learned, so that a higher score is always
better. That negation happens in exactly one place, :func:`_oriented`.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from rfmkit import schema
from rfmkit._validation import Interval, Options, validate_params
from rfmkit.errors import (
    CollapsedBinsWarning,
    InputError,
    ModelFormatError,
    ParameterError,
    SchemaError,
)

__all__ = ["RFMScorer", "rfm_code", "score_levels"]

_METRICS = schema.METRIC_COLUMNS
_SCORE_OF = dict(zip(_METRICS, schema.SCORE_COLUMNS, strict=True))
#: Metrics where fewer is better; they are negated before binning or ranking.
_NEGATED = (schema.RECENCY,)
#: Edges closer than this to their predecessor are removed (scikit-learn's KBinsDiscretizer rule).
_MIN_BIN_WIDTH = 1e-8
_QUANTILE_CAP = re.compile(r"^q(\d+(?:\.\d*)?|\.\d+)$")


def _oriented(metric: str, values: np.ndarray) -> np.ndarray:
    """Return ``values`` on the "higher is better" scale: recency is negated, others unchanged."""
    return -values if metric in _NEGATED else values


def _few_ids(X: pd.DataFrame, bad: np.ndarray, limit: int = 5) -> str:
    positions = np.flatnonzero(bad)[:limit]
    if schema.CUSTOMER_ID in X.columns:
        labels = X[schema.CUSTOMER_ID].iloc[positions].tolist()
        what = "customers"
    else:
        labels = X.index[positions].tolist()
        what = "rows"
    more = ", ..." if bad.sum() > limit else ""
    return f"{what} {', '.join(repr(v) for v in labels)}{more}"


def _metric_arrays(X: Any) -> dict[str, np.ndarray]:
    """Read the three metric columns of ``X`` as float64 arrays, refusing missing or bad values.

    ``X`` is a DataFrame with the canonical metric columns (other columns are ignored), or a 2-D
    array-like with exactly three columns in the order recency, frequency, monetary.
    """
    if not isinstance(X, pd.DataFrame):
        array = np.asarray(X)
        if array.ndim != 2 or array.shape[1] != len(_METRICS):
            raise InputError(
                "RFMScorer needs a DataFrame with columns "
                f"{', '.join(map(repr, _METRICS))} (or a 2-D array with exactly these three "
                f"columns, in this order). Got an array of shape {array.shape}."
            )
        X = pd.DataFrame(array, columns=list(_METRICS))
    missing = [c for c in _METRICS if c not in X.columns]
    if missing:
        raise SchemaError(
            f"Missing column(s) {', '.join(map(repr, missing))} for RFM scoring. "
            f"Columns found: {', '.join(map(repr, map(str, X.columns)))}. "
            "Compute the customer table first (rfmkit.compute_rfm) or rename the columns."
        )
    arrays = {}
    for metric in _METRICS:
        column = X[metric]
        if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
            column.dtype
        ):
            raise SchemaError(
                f"Column {metric!r} must be numeric; got dtype {column.dtype}. "
                "Convert it to numbers before scoring."
            )
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(
                f"Column {metric!r} has {int(bad.sum())} missing or infinite value(s), for "
                f"{_few_ids(X, bad)}. Remove these customers or fill the values before scoring."
            )
        arrays[metric] = values
    return arrays


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


class RFMScorer(TransformerMixin, BaseEstimator):
    """Score recency, frequency and monetary value on a scale learned once and then frozen.

    ``fit`` learns the caps and, per metric, either quantile bin edges (``method="quantile"``) or
    the training ranks (``method="percentile"``). ``transform`` applies them to any customers, so
    scores of new customers are comparable with those of the training data. Higher is better for
    all three scores: recency is negated first (recent customers score high).

    Parameters
    ----------
    n_bins : int, default=5
        Number of quantile bins (scores ``1..n_bins``). Used by ``method="quantile"`` only.
    method : {"quantile", "percentile"}, default="quantile"
        ``"quantile"`` (Method Q, scikit-learn's ``KBinsDiscretizer(strategy="quantile",
        quantile_method="linear")`` plus one): edges are the linearly interpolated percentiles
        ``0, 100/n, ..., 100`` of each metric; an edge within 1e-8 of its predecessor is dropped
        (ties, warned with :class:`~rfmkit.errors.CollapsedBinsWarning`); a value's score is
        1 + the number of inner edges ``<=`` the value. Integer scores.
        ``"percentile"`` (Method P): score = average rank (ties share it) / largest average rank
        of the training data x 100, a float in ``[0, 100]``.
    caps : dict or None, default=None
        Upper caps applied with ``min(value, cap)`` before binning or ranking, at fit and at
        transform: maps ``"recency"``, ``"frequency"`` or ``"monetary"`` to a number (fixed cap)
        or to a string ``"q0.99"`` (cap learned at fit as that linear quantile). Method Q uses
        ``{"frequency": 30, "monetary": 2500}``.

    Attributes
    ----------
    caps_ : dict of str to float
        The cap of each capped metric (quantile caps resolved to numbers); empty when uncapped.
    bin_edges_ : dict of str to ndarray or None
        ``method="quantile"``: per metric, the increasing bin edges, of length ``n_bins_[m] + 1``.
        Edges are on the "higher is better" scale: **recency edges are edges of -recency**
        (capped first). Score of a value ``v`` (``-recency`` for recency) =
        ``1 + #{inner edges e : e <= v}``, inner edges being ``edges[1:-1]``. A constant metric has
        edges ``[c, c]`` and a single bin. ``None`` for ``method="percentile"``.
    n_bins_ : dict of str to int or None
        ``method="quantile"``: the realised number of bins per metric (``<= n_bins`` when ties
        merged bins). ``None`` for ``method="percentile"``.
    rank_values_ : dict of str to ndarray or None
        ``method="percentile"``: per metric, the sorted distinct training values on the "higher is
        better" scale (-recency for recency, capped). ``None`` for ``method="quantile"``.
    rank_counts_ : dict of str to ndarray or None
        ``method="percentile"``: how many training customers have each of ``rank_values_``.
        ``None`` for ``method="quantile"``.
    max_rank_ : dict of str to float or None
        ``method="percentile"``: the largest average rank in the training data (the rank of the
        best value; ``n - (c - 1) / 2`` when ``c`` customers share it). ``None`` for
        ``method="quantile"``.
    n_features_in_ : int
        Number of metric columns used (3).
    feature_names_in_ : ndarray of str
        The metric columns used: recency, frequency, monetary.

    See Also
    --------
    score_levels : Map scores of either method to integer levels ``1..n``.
    rfm_code : Display codes such as ``"545"``.

    Notes
    -----
    Percentile scores of new data: a value ``v`` gets rank ``L + (E + 1) / 2``, where ``L`` is
    the number of training customers with a worse value and ``E`` the number with exactly ``v``.
    For a training value this is its average rank, so re-scoring the training data reproduces the
    fit-time scores exactly; an unseen value gets ``L + 0.5``, half-way between its neighbours.
    The score ``rank / max_rank_ * 100`` is clipped to ``[0, 100]``.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfmkit import schema
    >>> X = pd.DataFrame({schema.RECENCY: [1, 5, 30, 90, 365],
    ...                   schema.FREQUENCY: [9, 4, 3, 2, 1],
    ...                   schema.MONETARY: [500.0, 80.0, 120.0, 40.0, 10.0]})
    >>> RFMScorer(n_bins=5).fit_transform(X)[schema.R_SCORE].tolist()
    [5, 4, 3, 2, 1]
    """

    _parameter_constraints: dict[str, list] = {
        "n_bins": [Interval(numbers.Integral, 2, None, closed="left")],
        "method": [Options("quantile", "percentile")],
        "caps": [None, dict],
    }

    def __init__(self, n_bins=5, *, method="quantile", caps=None):
        self.n_bins = n_bins
        self.method = method
        self.caps = caps

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Learn caps and the bin edges (or ranks) of each metric.

        Parameters
        ----------
        X : pandas.DataFrame
            One row per customer with the columns ``recency``, ``frequency`` and ``monetary``
            (other columns, such as ``customer_id``, are ignored). A 2-D array with exactly
            these three columns, in this order, is accepted too.
        y : None
            Ignored.

        Returns
        -------
        self : RFMScorer
        """
        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)
        _check_caps(self.caps)
        arrays = _metric_arrays(X)
        n = len(next(iter(arrays.values())))
        if n == 0:
            raise InputError("No customers to score: the customer table is empty.")
        if self.method == "quantile" and n < self.n_bins:
            raise InputError(
                f"Only {n} customer{'s' if n != 1 else ''} but n_bins={self.n_bins}: quantile "
                "scores need at least one customer per bin. Use fewer bins (--bins) or more data."
            )

        caps = {}
        for metric, cap in (self.caps or {}).items():
            if isinstance(cap, str):
                caps[metric] = float(np.quantile(arrays[metric], float(cap[1:])))
            else:
                caps[metric] = float(cap)
        self.caps_ = caps

        values = {m: _oriented(m, self._capped(m, arrays[m])) for m in _METRICS}
        if self.method == "quantile":
            self.bin_edges_, self.n_bins_ = {}, {}
            for metric in _METRICS:
                edges = np.percentile(values[metric], np.linspace(0, 100, self.n_bins + 1))
                edges = edges[np.ediff1d(edges, to_begin=np.inf) > _MIN_BIN_WIDTH]
                if len(edges) == 1:  # constant metric: one bin
                    edges = np.repeat(edges, 2)
                realised = len(edges) - 1
                if realised < self.n_bins:
                    warnings.warn(
                        f"Ties in {metric!r} left {realised} distinct bin(s) instead of the "
                        f"{self.n_bins} requested; {metric} scores run 1..{realised}. The realised "
                        f"number is recorded in n_bins_[{metric!r}].",
                        CollapsedBinsWarning,
                        stacklevel=2,
                    )
                self.bin_edges_[metric] = edges.astype("float64")
                self.n_bins_[metric] = realised
            self.rank_values_ = self.rank_counts_ = self.max_rank_ = None
        else:
            self.bin_edges_ = self.n_bins_ = None
            self.rank_values_, self.rank_counts_, self.max_rank_ = {}, {}, {}
            for metric in _METRICS:
                distinct, counts = np.unique(values[metric], return_counts=True)
                self.rank_values_[metric] = distinct.astype("float64")
                self.rank_counts_[metric] = counts.astype("int64")
                self.max_rank_[metric] = float((n - counts[-1]) + (counts[-1] + 1) / 2)
        self.n_features_in_ = len(_METRICS)
        self.feature_names_in_ = np.asarray(_METRICS, dtype=object)
        return self

    def _capped(self, metric: str, values: np.ndarray) -> np.ndarray:
        cap = self.caps_.get(metric)
        return values if cap is None else np.minimum(values, cap)

    # --- scoring -------------------------------------------------------------------------------
    def transform(self, X):
        """Score customers with the frozen caps and edges (or ranks) learned by ``fit``.

        Parameters
        ----------
        X : pandas.DataFrame
            One row per customer with the columns ``recency``, ``frequency`` and ``monetary``.

        Returns
        -------
        scores : pandas.DataFrame
            Indexed like ``X``, columns ``r_score``, ``f_score``, ``m_score``: int64 scores
            ``1..n_bins_[metric]`` for ``method="quantile"``, float64 scores in ``[0, 100]`` for
            ``method="percentile"``.
        """
        check_is_fitted(self)
        arrays = _metric_arrays(X)
        columns = {}
        for metric in _METRICS:
            values = _oriented(metric, self._capped(metric, arrays[metric]))
            if self.bin_edges_ is not None:
                columns[_SCORE_OF[metric]] = self._bin_scores(metric, values)
            else:
                columns[_SCORE_OF[metric]] = self._rank_scores(metric, values)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(columns, index=index)

    def _bin_scores(self, metric: str, values: np.ndarray) -> np.ndarray:
        inner = self.bin_edges_[metric][1:-1]
        scores = 1 + np.searchsorted(inner, values, side="right")
        return np.clip(scores, 1, self.n_bins_[metric]).astype("int64")

    def _rank_scores(self, metric: str, values: np.ndarray) -> np.ndarray:
        distinct, counts = self.rank_values_[metric], self.rank_counts_[metric]
        below = np.concatenate(([0], np.cumsum(counts)))  # training customers < distinct[i]
        pos = np.searchsorted(distinct, values, side="left")
        safe = np.minimum(pos, len(distinct) - 1)
        equal = (pos < len(distinct)) & (distinct[safe] == values)
        ties = np.where(equal, counts[safe], 0)
        rank = below[pos] + (ties + 1) / 2
        return np.clip(rank / self.max_rank_[metric] * 100, 0.0, 100.0)

    def _html_repr(self) -> str:
        # Notebook view (scikit-learn's _repr_html_/_repr_mimebundle_ call this). The report
        # package is imported only when a notebook asks for the view.
        from rfmkit.html_repr import scorer_html

        return scorer_html(self)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``r_score``, ``f_score``, ``m_score``.

        Parameters
        ----------
        input_features : None
            Ignored; the input columns are always the three metric columns.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        return np.asarray(schema.SCORE_COLUMNS, dtype=object)

    # --- state ---------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """The parameters and fitted state as a JSON-serialisable dict (lists, numbers, str).

        Returns
        -------
        state : dict
            ``{"params": {...}, "negated": ["recency"], "caps_": {...}}`` plus, for
            ``method="quantile"``, ``"n_bins_"`` and ``"bin_edges_"`` (lists of floats), or, for
            ``method="percentile"``, ``"rank_values_"``, ``"rank_counts_"`` and ``"max_rank_"``.
            Metric keys are ``"recency"``, ``"frequency"``, ``"monetary"``; all values are on
            the scale described under Attributes (recency negated).
        """
        check_is_fitted(self)
        caps = None if self.caps is None else {m: _plain_cap(c) for m, c in self.caps.items()}
        state: dict[str, Any] = {
            "params": {"n_bins": int(self.n_bins), "method": self.method, "caps": caps},
            "negated": list(_NEGATED),
            "caps_": {m: float(c) for m, c in self.caps_.items()},
        }
        if self.bin_edges_ is not None:
            state["n_bins_"] = {m: int(self.n_bins_[m]) for m in _METRICS}
            state["bin_edges_"] = {m: [float(e) for e in self.bin_edges_[m]] for m in _METRICS}
        else:
            state["rank_values_"] = {m: [float(v) for v in self.rank_values_[m]] for m in _METRICS}
            state["rank_counts_"] = {m: [int(c) for c in self.rank_counts_[m]] for m in _METRICS}
            state["max_rank_"] = {m: float(self.max_rank_[m]) for m in _METRICS}
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RFMScorer:
        """Rebuild a fitted scorer from :meth:`to_state` output; its ``transform`` is identical.

        Parameters
        ----------
        state : dict
            As returned by :meth:`to_state` (possibly after a JSON round trip).

        Returns
        -------
        scorer : RFMScorer
            A fitted scorer.

        Raises
        ------
        rfmkit.errors.ModelFormatError
            If the state is malformed.
        """
        try:
            return _scorer_from_state(cls, state)
        except ModelFormatError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFormatError(
                f"Invalid RFMScorer state ({type(exc).__name__}: {exc}). The model file is "
                "damaged or was not written by rfmkit; fit the model again."
            ) from exc


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
    if list(state.get("negated", [])) != list(_NEGATED):
        raise _bad_state(f"'negated' must be {list(_NEGATED)}")
    params = dict(state["params"])
    scorer = cls(**params)
    try:
        validate_params(cls.__name__, scorer.get_params(), cls._parameter_constraints)
        _check_caps(scorer.caps)
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


# --- levels and codes --------------------------------------------------------------------------
def _score_frame(scores: pd.DataFrame, *, need_all: bool) -> list[str]:
    if not isinstance(scores, pd.DataFrame):
        raise InputError(f"Expected a DataFrame of scores; got {type(scores).__name__}.")
    present = [c for c in schema.SCORE_COLUMNS if c in scores.columns]
    if (need_all and len(present) < len(schema.SCORE_COLUMNS)) or not present:
        missing = [c for c in schema.SCORE_COLUMNS if c not in scores.columns]
        raise SchemaError(
            f"Missing score column(s) {', '.join(map(repr, missing))}. "
            f"Columns found: {', '.join(map(repr, map(str, scores.columns)))}. "
            "Score the customers with RFMScorer first."
        )
    for column in present:
        if scores[column].isna().any():
            raise InputError(f"Score column {column!r} has missing values.")
    return present


def score_levels(scores: pd.DataFrame, n_levels: int = 5, *, n_bins: int | None = None):
    """Map scores of either method to integer levels ``1..n_levels``.

    The scale is read from the dtype, which :class:`RFMScorer` fixes per method:

    * float columns are percentile scores in ``[0, 100]``: level ``k`` holds scores in
      ``[100 (k-1) / n, 100 k / n)``, i.e. ``min(n, floor(score * n / 100) + 1)``; 100 is in
      the top level.
    * integer columns are bin scores ``1..n_bins`` (``n_bins`` defaults to ``n_levels``): the
      identity when ``n_bins == n_levels``; when ``n_bins`` is a multiple of ``n_levels`` each
      level groups ``n_bins / n_levels`` consecutive bins: ``ceil(score * n_levels / n_bins)``.
      Other combinations raise, since some levels would get more bins than others.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :meth:`RFMScorer.transform`; every present score column is converted.
    n_levels : int, default=5
        Number of levels.
    n_bins : int or None, default=None
        Scale of integer scores; ``None`` means ``n_levels``.

    Returns
    -------
    levels : pandas.DataFrame
        Same index and score columns, int64 levels ``1..n_levels``.
    """
    if isinstance(n_levels, bool) or not isinstance(n_levels, numbers.Integral) or n_levels < 1:
        raise ParameterError(f"n_levels must be an int >= 1. Got {n_levels!r} instead.")
    present = _score_frame(scores, need_all=False)
    n_bins = n_levels if n_bins is None else n_bins
    out = {}
    for column in present:
        series = scores[column]
        values = series.to_numpy(dtype="float64")
        if pd.api.types.is_float_dtype(series.dtype):
            if values.min() < 0 or values.max() > 100:
                raise InputError(
                    f"Percentile scores in {column!r} must lie in [0, 100]; found values from "
                    f"{values.min()} to {values.max()}."
                )
            levels = np.minimum(np.floor(values * n_levels / 100) + 1, n_levels)
        elif pd.api.types.is_integer_dtype(series.dtype):
            if values.min() < 1 or values.max() > n_bins:
                raise InputError(
                    f"Bin scores in {column!r} must lie in 1..{n_bins}; found values from "
                    f"{int(values.min())} to {int(values.max())}. Pass the scorer's n_bins."
                )
            if n_bins % n_levels:
                raise ParameterError(
                    f"Cannot map bin scores 1..{n_bins} to {n_levels} levels evenly: n_bins must "
                    f"be a multiple of n_levels. Score with n_bins={n_levels} (or a multiple)."
                )
            levels = np.ceil(values * n_levels / n_bins)
        else:
            raise InputError(
                f"Score column {column!r} has dtype {series.dtype}; expected integer bin scores "
                "or float percentile scores."
            )
        out[column] = levels.astype("int64")
    return pd.DataFrame(out, index=scores.index)


def rfm_code(scores: pd.DataFrame, *, n_bins: int | None = None, n_levels: int = 5) -> pd.Series:
    """Display codes such as ``"545"``: the r, f and m scores written one after the other.

    Integer bin scores are written as they are: digits concatenated when the scale has at most 9
    bins, else joined with ``"-"`` (``"10-3-7"``). The scale is ``n_bins`` when given, else the
    largest score present. Float percentile scores are first converted to ``n_levels`` levels with
    :func:`score_levels`.

    Parameters
    ----------
    scores : pandas.DataFrame
        Columns ``r_score``, ``f_score``, ``m_score``.
    n_bins : int or None, default=None
        Number of bins of integer scores (decides the separator).
    n_levels : int, default=5
        Levels used for percentile scores.

    Returns
    -------
    codes : pandas.Series of str
        Named ``rfm_code``, indexed like ``scores``.
    """
    _score_frame(scores, need_all=True)
    if all(pd.api.types.is_float_dtype(scores[c].dtype) for c in schema.SCORE_COLUMNS):
        scores = score_levels(scores, n_levels)
        scale = n_levels
    else:
        scale = n_bins
    ints = np.column_stack(
        [scores[c].to_numpy(dtype="float64") for c in schema.SCORE_COLUMNS]
    )
    if np.any(ints != np.round(ints)) or np.any(ints < 0):
        raise InputError(
            "rfm_code needs integer scores (or float percentile scores for all three columns)."
        )
    ints = ints.astype("int64")
    if scale is None:
        scale = int(ints.max()) if len(ints) else 0
    sep = "" if scale <= 9 else "-"
    base = int(ints.max()) + 1 if len(ints) else 1
    keys = (ints[:, 0] * base + ints[:, 1]) * base + ints[:, 2]
    # hashing, not sorting, finds the few distinct codes (a million rows: 10 ms, not 100)
    inverse, unique_keys = pd.factorize(keys)
    labels = pd.Index(
        [sep.join(str(v) for v in (k // base // base, k // base % base, k % base))
         for k in unique_keys.tolist()],
        dtype="str",
    )
    # a take of the few distinct codes: building a million strings one by one costs ~20x more
    return pd.Series(labels.take(inverse), index=scores.index, name=schema.RFM_CODE)

