"""The RFMScorer estimator: caps and quantile edges (or ranks) learned once, then frozen."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from rfmkit import schema
from rfmkit._validation import Interval, Options, validate_params
from rfmkit.errors import InputError, ModelFormatError, SmallDataWarning
from rfmkit.scoring.bins import _quantile_edges, _scores_from_edges, _warn_constant
from rfmkit.scoring.caps import _plain_cap, _resolved_caps, check_caps
from rfmkit.scoring.inputs import _METRICS, NEGATED_METRICS, _metric_arrays, _oriented
from rfmkit.scoring.ranks import CONSTANT_PERCENTILE, _rank_table, _scores_from_ranks
from rfmkit.scoring.state import _scorer_from_state

__all__ = ["MAX_BINS", "RFMScorer"]

#: The largest ``n_bins``. Frequency has so many ties that past ~20 bins most requested bins
#: cannot exist, and a 5-level segment map reads its few realised scores as its lowest levels:
#: on the demo data 100 bins gave 0 Champions (50 bins: 79; 5 to 20 bins: 368 to 172). For
#: finer scores use ``method="percentile"``.
MAX_BINS = 20

_SCORE_OF = dict(zip(_METRICS, schema.SCORE_COLUMNS, strict=True))


class RFMScorer(TransformerMixin, BaseEstimator):
    """Score recency, frequency and monetary value on a scale learned once and then frozen.

    ``fit`` learns the caps and, per metric, either quantile bin edges (``method="quantile"``) or
    the training ranks (``method="percentile"``). ``transform`` applies them to any customers, so
    scores of new customers are comparable with those of the training data. Higher is better for
    all three scores: recency is negated first (recent customers score high).

    Parameters
    ----------
    n_bins : int, default=5
        Number of quantile bins (scores ``1..n_bins``), 2 to :data:`MAX_BINS` (20). Used by
        ``method="quantile"`` only.
    method : {"quantile", "percentile"}, default="quantile"
        ``"quantile"`` (Method Q, scikit-learn's ``KBinsDiscretizer(strategy="quantile",
        quantile_method="linear")`` plus one): edges are the linearly interpolated percentiles
        ``0, 100/n, ..., 100`` of each metric; an edge within 1e-8 of its predecessor is dropped
        (ties, warned with :class:`~rfmkit.errors.CollapsedBinsWarning`); a value's score is
        1 + the number of inner edges ``<=`` the value. Integer scores. Fewer customers than
        bins are scored too (some scores stay empty; :class:`~rfmkit.errors.SmallDataWarning`).
        ``"percentile"`` (Method P): score = average rank (ties share it) / largest average rank
        of the training data x 100, a float in ``[0, 100]``.
        For both methods, a metric constant at fit cannot rank anyone: every customer gets the
        middle score (``n_bins // 2 + 1``, or 50), with a
        :class:`~rfmkit.errors.ConstantMetricWarning`.
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
        edges ``[c, c]``, a single bin, and the middle score ``n_bins // 2 + 1`` for every
        value. ``None`` for ``method="percentile"``.
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
        "n_bins": [Interval(numbers.Integral, 2, MAX_BINS)],
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
        check_caps(self.caps)
        arrays = _metric_arrays(X)
        n = len(next(iter(arrays.values())))
        if n == 0:
            raise InputError("No customers to score: the customer table is empty.")
        if self.method == "quantile" and n < self.n_bins:
            warnings.warn(
                f"Only {n} customer{'s' if n != 1 else ''} for n_bins={self.n_bins}: some "
                "scores stay empty (scores are spread over 1..n_bins by quantile, with gaps). "
                "Use fewer bins (n_bins=) or more data for scores that rank customers finely.",
                SmallDataWarning, stacklevel=2)

        self.caps_ = _resolved_caps(self.caps, arrays)

        values = {m: _oriented(m, self._capped(m, arrays[m])) for m in _METRICS}
        if self.method == "quantile":
            self.bin_edges_, self.n_bins_ = {}, {}
            for metric in _METRICS:
                edges, realised = _quantile_edges(metric, values[metric], self.n_bins)
                self.bin_edges_[metric] = edges
                self.n_bins_[metric] = realised
            self.rank_values_ = self.rank_counts_ = self.max_rank_ = None
        else:
            self.bin_edges_ = self.n_bins_ = None
            self.rank_values_, self.rank_counts_, self.max_rank_ = {}, {}, {}
            for metric in _METRICS:
                distinct, counts, max_rank = _rank_table(values[metric], n)
                if len(distinct) == 1:
                    _warn_constant(metric, distinct[0], f"{CONSTANT_PERCENTILE:g} of 0..100",
                                   stacklevel=3)
                self.rank_values_[metric] = distinct
                self.rank_counts_[metric] = counts
                self.max_rank_[metric] = max_rank
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
        return _scores_from_edges(self.bin_edges_[metric], self.n_bins_[metric], values,
                                  requested=self.n_bins)

    def _rank_scores(self, metric: str, values: np.ndarray) -> np.ndarray:
        return _scores_from_ranks(
            self.rank_values_[metric], self.rank_counts_[metric], self.max_rank_[metric], values
        )

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
            "negated": list(NEGATED_METRICS),
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
