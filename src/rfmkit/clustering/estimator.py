"""The RFMClusterer estimator: k-means of customers on their R, F, M features.

:class:`RFMClusterer` fits k-means on the three R, F, M features of the per-customer table,
chooses the number of clusters (or takes it as given), numbers the clusters best first, and can
be saved to and rebuilt from plain JSON (:meth:`RFMClusterer.to_state`,
:meth:`RFMClusterer.from_state`). :func:`select_k` returns the table used to choose k. The parts
it fits with are beside it: parameter constraints in ``params``, features in ``features``, the
points fitted on in ``points``, k-means in ``kmeans``, the search over k in ``k_selection``
(scored with ``quality``); cluster summaries are in ``profiles``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from rfmkit._validation import validate_params
from rfmkit.clustering.features import _FEATURE_COLUMNS, _ORIENTATION, _log_metrics, _raw_matrix
from rfmkit.clustering.k_selection import (
    CALINSKI_HARABASZ,
    CHOSEN,
    DAVIES_BOULDIN,
    INERTIA,
    K_SELECTION_COLUMNS,
    SILHOUETTE,
    SILHOUETTE_SAMPLE_SIZE,
    SILHOUETTE_SEED,
    STABILITY,
    K,
    _choose_k,
    _inertia_knee,
    _search,
    _table,
)
from rfmkit.clustering.kmeans import _nearest
from rfmkit.clustering.params import _PARAMETER_CONSTRAINTS
from rfmkit.clustering.points import _prepare
from rfmkit.errors import ModelFormatError, ParameterError, SmallDataWarning
from rfmkit.progress import stage

__all__ = ["RFMClusterer", "select_k"]

_STATE_KIND = "rfmkit.RFMClusterer"
_STATE_VERSION = 1


class RFMClusterer(ClusterMixin, BaseEstimator):
    """K-means clustering of customers on R, F, M features, with the number of clusters chosen.

    Parameters
    ----------
    n_clusters : "auto" or int >= 1, default="auto"
        Number of clusters, or "auto" to choose it over ``k_min..k_max`` with ``criterion``.
        (Method P uses 7, Method Q chose 8.)
    features : {"scores", "log-metrics"}, default="scores"
        ``"scores"``: the columns r_score, f_score, m_score as they are (they share one scale,
        higher is better). ``"log-metrics"``: log1p of recency, frequency and monetary (monetary
        clipped at 0), standardised with the mean and standard deviation learned in ``fit``.
    k_min, k_max : int >= 1, default=2, 10
        Range of k searched when ``n_clusters="auto"``. k=1 is allowed (for the elbow; Method P
        searches 1..14).
    criterion : {"auto", "silhouette", "elbow"}, default="auto"
        How k is chosen (ignored when ``n_clusters`` is an int):

        * ``"silhouette"`` (Method Q): the k with the highest mean silhouette (ties: more stable,
          then smaller k).
        * ``"elbow"`` (Method P): the knee of the inertia curve. The curve is read on a log scale
          (relative gains: the k after which each further cluster removes a clearly smaller share
          of the remaining inertia) and the knee is the k farthest below the chord from the first
          to the last point, both axes scaled to [0, 1] (Kneedle's difference curve, unsmoothed).
          Without a knee (fewer than 3 k, or no bend): the highest silhouette.
        * ``"auto"``: the elbow proposes, silhouette and stability decide. The candidates are the
          k within ``AUTO_KNEE_WINDOW`` (1) of the knee; if any of them has a stability (mean
          adjusted Rand index of bootstrap refits) >= ``AUTO_MIN_STABILITY`` (0.8), the less
          stable ones are dropped; of the rest, the k with the highest silhouette wins (ties: more
          stable, then smaller k). Without a knee, all k are candidates. The silhouette alone
          favours k=2 on most RFM data, the elbow alone ignores how well clusters separate and
          reproduce; ``selection_reason_`` spells out each step with its numbers.
    init : {"k-means++", "random"} or array of shape (n_clusters, 3), default="k-means++"
        Initialisation, as in :class:`~sklearn.cluster.KMeans`; an array gives the initial
        centres in feature space (then one run, and ``n_clusters`` must be its number of rows).
    n_init : int >= 1, default=10
        Number of k-means runs per k; the one with the lowest inertia is kept.
    max_iter : int >= 1, default=300
        Maximum Lloyd iterations per run.
    random_state : int or None, default=0
        Seed of every random choice (initialisation, subsamples, resamples). The KMeans runs use
        it directly, so results match ``KMeans(random_state=random_state)`` on the same rows.
    silhouette_sample_size : int >= 2, default=20000
        With more than ``MAX_DISTINCT_POINTS`` (5000) distinct feature rows, the silhouette is
        computed on this many rows drawn with ``random_state`` (as
        ``silhouette_score(sample_size=..., random_state=...)``). With fewer it is exact.
    stability_resamples : int >= 0, default=5
        Number of bootstrap refits per k for the stability column (0 skips it: NaN).

    Attributes
    ----------
    n_clusters_ : int
        Number of clusters fitted.
    cluster_centers_ : ndarray of shape (n_clusters_, 3)
        Centres in feature space, ordered best first (see Notes).
    labels_ : ndarray of shape (n_customers,)
        Cluster of each customer of the fitted data (not part of the saved state).
    inertia_ : float
        Sum of squared distances of all customers to their centre.
    k_selection_ : DataFrame or None
        One row per k searched: k, inertia, silhouette, calinski_harabasz, davies_bouldin,
        stability, silhouette_sample_size, silhouette_seed (NA when exact), chosen. None when
        ``n_clusters`` is an int.
    metrics_ : dict
        The same quantities for the fitted k (computed also when ``n_clusters`` is an int).
    selection_reason_ : str
        Why ``n_clusters_`` was chosen, in one sentence with the numbers.
    knee_ : int or None
        Knee of the log-inertia curve over the k searched (None without a search or a knee).
    feature_mean_ : ndarray of shape (3,) or None
        Mean of the log metrics (``features="log-metrics"``), else None.
    feature_scale_ : ndarray of shape (3,) or None
        Standard deviation of the log metrics (1 where it is 0), else None.
    feature_names_ : list of str
        The customer-table columns the features come from.
    n_features_in_ : int
        Number of features (3).

    Notes
    -----
    **Cluster ids** are 0..k-1, best first: ordered by the sum of the centre's coordinates with
    each oriented so that higher is better (scores as they are; for log-metrics, minus
    standardised log recency plus standardised log frequency and log monetary), ties broken by R,
    then F, then M (higher first). Cluster 0 is the best-valued cluster.

    **Fitting.** With at most ``MAX_DISTINCT_POINTS`` distinct feature rows, k-means runs on the
    distinct rows weighted by their counts, with all ``n_init`` runs vectorised in numpy; this is
    the same k-means problem as on all rows (same initial centres give the same result). Otherwise
    scikit-learn's KMeans is fitted on all rows, or on a seeded subsample of ``MAX_FIT_ROWS``
    (100,000) rows when there are more, and every row is assigned to its nearest centre; inertia,
    Calinski-Harabasz and Davies-Bouldin are then computed on all rows.

    **Stability** of k: ``stability_resamples`` bootstrap resamples (seeded, the same for every
    k) are clustered again and the mean adjusted Rand index between each refit's assignment and
    the reference labels is reported (NaN for k=1). The refits use k-means++ with at most
    ``STABILITY_MAX_N_INIT`` (3) runs (an explicit ``init`` array is reused), so stability costs
    a fraction of the reference fit even with ``n_init=10000``. On weighted distinct points a
    bootstrap resample is a multinomial draw of the counts and the index is weighted by the counts
    (exact); otherwise resamples of ``STABILITY_MAX_ROWS`` (20,000) rows are drawn from a seeded
    subsample of that size, on which the index is measured.

    **Threads.** The vectorised k-means on weighted distinct points and the silhouette's distance
    blocks run their matrix products on one BLAS thread (as scikit-learn's KMeans does around its
    Lloyd iterations), so they sum in the same order on any machine. Nothing else is limited:
    scikit-learn's KMeans (many distinct points) uses its own defaults.

    ``predict`` assigns the nearest stored centre in numpy after the stored feature transform;
    nothing is unpickled, and :meth:`to_state` / :meth:`from_state` round-trip through JSON.
    """

    _parameter_constraints: dict = _PARAMETER_CONSTRAINTS

    def __init__(self, n_clusters="auto", *, features="scores", k_min=2, k_max=10,
                 criterion="auto", init="k-means++", n_init=10, max_iter=300, random_state=0,
                 silhouette_sample_size=20000, stability_resamples=5):
        self.n_clusters = n_clusters
        self.features = features
        self.k_min = k_min
        self.k_max = k_max
        self.criterion = criterion
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.silhouette_sample_size = silhouette_sample_size
        self.stability_resamples = stability_resamples

    # --- fitting --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False),
                        self._parameter_constraints)
        if self.n_clusters == "auto" and self.k_min > self.k_max:
            raise ParameterError(
                f"The 'k_min' parameter of {type(self).__name__} must be <= k_max. Got "
                f"k_min={self.k_min}, k_max={self.k_max} instead."
            )
        if not isinstance(self.init, str):
            rows = np.asarray(self.init).shape[0]
            if self.n_clusters != rows:
                raise ParameterError(
                    f"The 'init' parameter of {type(self).__name__} is an array of {rows} "
                    f"centres, so n_clusters must be {rows}. Got n_clusters={self.n_clusters!r} "
                    f"instead."
                )

    def _ks(self, n_points: int) -> list[int]:
        """The k to fit: k_min..k_max, or n_clusters; more clusters than distinct points are
        impossible, so k is reduced to the number of points, with a SmallDataWarning."""
        if self.n_clusters == "auto":
            k_min, k_max = self.k_min, self.k_max
            if k_max > n_points:
                k_min = min(k_min, n_points)
                warnings.warn(
                    f"The data have only {n_points} distinct feature row(s); k is searched over "
                    f"{k_min}..{n_points} instead of k_min..k_max = {self.k_min}..{self.k_max}.",
                    SmallDataWarning, stacklevel=3)
            return list(range(k_min, min(k_max, n_points) + 1))
        if self.n_clusters > n_points:
            warnings.warn(
                f"n_clusters={self.n_clusters} but the data have only {n_points} distinct "
                f"feature row(s); {n_points} cluster(s) are fitted (n_clusters_).",
                SmallDataWarning, stacklevel=3)
            return [n_points]
        return [int(self.n_clusters)]

    def _features(self, X: Any, *, fit: bool) -> np.ndarray:
        raw = _raw_matrix(X, self.features)
        if self.features == "scores":
            if fit:
                self.feature_mean_ = None
                self.feature_scale_ = None
            return raw
        logged = _log_metrics(raw)
        if fit:
            mean = logged.mean(axis=0)
            scale = logged.std(axis=0)
            scale[scale == 0] = 1.0
            self.feature_mean_, self.feature_scale_ = mean, scale
        return (logged - self.feature_mean_) / self.feature_scale_

    def fit(self, X, y=None):
        """Choose k (unless given), fit k-means and number the clusters best first.

        Parameters
        ----------
        X : DataFrame or array of shape (n_customers, 3)
            The per-customer table (columns r_score, f_score, m_score for ``features="scores"``;
            recency, frequency, monetary for ``"log-metrics"``), or those three columns as an
            array in that order.
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        Xf = self._features(X, fit=True)
        seed = (int(self.random_state) if self.random_state is not None
                else int(np.random.SeedSequence().generate_state(1)[0]))
        data = _prepare(Xf, seed)
        n_distinct = data.points.shape[0] if data.weighted else None
        ks = self._ks(n_distinct if n_distinct is not None else Xf.shape[0])
        init = self.init if isinstance(self.init, str) else np.asarray(self.init, dtype=np.float64)
        stage(f"Choosing k (k={ks[0]}..{ks[-1]})" if len(ks) > 1 else f"Clustering (k={ks[0]})")
        results, sample_size, sample_seed = _search(
            data, ks, init=init, n_init=self.n_init, max_iter=self.max_iter, seed=seed,
            orientation=_ORIENTATION[self.features],
            silhouette_sample_size=self.silhouette_sample_size,
            stability_resamples=self.stability_resamples)
        if self.n_clusters == "auto":
            provisional = _table(results, sample_size, sample_seed, chosen=-1)
            k, reason = _choose_k(provisional, self.criterion)
            self.k_selection_ = _table(results, sample_size, sample_seed, chosen=k)
            self.knee_ = _inertia_knee(provisional[K].to_numpy(),
                                       provisional[INERTIA].to_numpy(dtype=np.float64))
        else:
            k = ks[0]
            reason = (f"k={k}: n_clusters={k} was given; no search over k." if k == self.n_clusters
                      else f"k={k}: n_clusters={self.n_clusters} was given, but the data have "
                      f"only {k} distinct feature row(s).")
            self.k_selection_ = None
            self.knee_ = None
        result = next(r for r in results if r.k == k)
        row = _table([result], sample_size, sample_seed, chosen=k).iloc[0]
        self.metrics_ = {c: _py(row[c]) for c in K_SELECTION_COLUMNS if c != CHOSEN}
        self.n_clusters_ = k
        self.cluster_centers_ = result.centers.copy()
        self.labels_ = (result.labels[data.inverse] if data.weighted
                        else _nearest(data.X, result.centers)[0])
        self.inertia_ = result.inertia
        self.selection_reason_ = reason
        self.feature_names_ = list(_FEATURE_COLUMNS[self.features])
        self.n_features_in_ = 3
        return self

    def _html_repr(self) -> str:
        # Notebook view (scikit-learn's _repr_html_/_repr_mimebundle_ call this). The report
        # package is imported only when a notebook asks for the view.
        from rfmkit.html_repr import clusterer_html

        return clusterer_html(self)

    def predict(self, X):
        """Cluster of each customer: the nearest centre after the stored feature transform.

        Parameters
        ----------
        X : DataFrame or array of shape (n_customers, 3)
            As in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_customers,)
        """
        check_is_fitted(self, "cluster_centers_")
        labels, _ = _nearest(self._features(X, fit=False), self.cluster_centers_)
        return labels

    def feature_matrix(self, X) -> np.ndarray:
        """The features of ``X`` as clustered: shape (n_customers, 3), in the space of
        ``cluster_centers_`` (the stored log and standardisation for log-metrics)."""
        check_is_fitted(self, "cluster_centers_")
        return self._features(X, fit=False)

    # --- JSON state -----------------------------------------------------------------------------
    def to_state(self) -> dict:
        """Fitted state as plain JSON types (dict/list/str/int/float/None; NaN stored as None).

        ``labels_`` (one entry per training customer) is not included.
        """
        check_is_fitted(self, "cluster_centers_")
        params = self.get_params(deep=False)
        if not isinstance(params["init"], str):
            params["init"] = np.asarray(params["init"], dtype=np.float64).tolist()
        table = None
        if self.k_selection_ is not None:
            table = [{c: _py(v) for c, v in rec.items()}
                     for rec in self.k_selection_.to_dict(orient="records")]
        return {
            "kind": _STATE_KIND,
            "state_version": _STATE_VERSION,
            "params": {k: _py(v) for k, v in params.items()},
            "n_clusters": int(self.n_clusters_),
            "cluster_centers": self.cluster_centers_.tolist(),
            "inertia": _py(self.inertia_),
            "feature_names": list(self.feature_names_),
            "feature_mean": None if self.feature_mean_ is None else self.feature_mean_.tolist(),
            "feature_scale": None if self.feature_scale_ is None else self.feature_scale_.tolist(),
            "selection_reason": self.selection_reason_,
            "knee": self.knee_,
            "metrics": dict(self.metrics_),
            "k_selection": table,
        }

    @classmethod
    def from_state(cls, state: Mapping) -> RFMClusterer:
        """Rebuild a fitted clusterer from :meth:`to_state` output (``labels_`` is not restored)."""
        if not isinstance(state, Mapping) or state.get("kind") != _STATE_KIND:
            raise ModelFormatError(
                f"Not an RFMClusterer state: expected 'kind': {_STATE_KIND!r}. Pass the dict "
                f"written by RFMClusterer.to_state()."
            )
        if state.get("state_version") != _STATE_VERSION:
            raise ModelFormatError(
                f"Unknown RFMClusterer state version {state.get('state_version')!r}; this rfmkit "
                f"reads version {_STATE_VERSION}. Refit the model with this rfmkit version."
            )
        try:
            est = cls(**state["params"])
            est._check_params()
            centers = np.asarray(state["cluster_centers"], dtype=np.float64)
            k = int(state["n_clusters"])
            if centers.shape != (k, 3) or not np.isfinite(centers).all():
                raise ValueError(f"cluster_centers has shape {centers.shape}, expected ({k}, 3)")
            mean, scale = state["feature_mean"], state["feature_scale"]
            if est.features == "log-metrics":
                mean = np.asarray(mean, dtype=np.float64)
                scale = np.asarray(scale, dtype=np.float64)
                if mean.shape != (3,) or scale.shape != (3,) or (scale <= 0).any():
                    raise ValueError("feature_mean/feature_scale must be 3 numbers (scale > 0)")
            elif mean is not None or scale is not None:
                raise ValueError("feature_mean/feature_scale must be null for features='scores'")
            table = state["k_selection"]
            if table is not None:
                frame = pd.DataFrame.from_records(table, columns=list(K_SELECTION_COLUMNS))
                table = frame.astype({K: np.int64, SILHOUETTE_SAMPLE_SIZE: np.int64,
                                      SILHOUETTE_SEED: "Int64", CHOSEN: bool})
                for c in (INERTIA, SILHOUETTE, CALINSKI_HARABASZ, DAVIES_BOULDIN, STABILITY):
                    table[c] = table[c].astype(np.float64)
            est.n_clusters_ = k
            est.cluster_centers_ = centers
            est.inertia_ = float(state["inertia"])
            est.feature_mean_, est.feature_scale_ = mean, scale
            est.feature_names_ = [str(c) for c in state["feature_names"]]
            est.selection_reason_ = str(state["selection_reason"])
            knee = state.get("knee")
            est.knee_ = None if knee is None else int(knee)
            est.metrics_ = dict(state["metrics"])
            est.k_selection_ = table
            est.n_features_in_ = 3
        except ParameterError as exc:
            raise ModelFormatError(f"Invalid parameters in the RFMClusterer state: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"Invalid RFMClusterer state ({type(exc).__name__}: {exc}). Pass the dict written "
                f"by RFMClusterer.to_state()."
            ) from None
        return est


def _py(value: Any) -> Any:
    """A plain-Python JSON value: numpy scalars unwrapped, NaN and NA as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def select_k(X, *, k_min=2, k_max=10, criterion="auto", features="scores", init="k-means++",
             n_init=10, max_iter=300, random_state=0, silhouette_sample_size=20000,
             stability_resamples=5) -> pd.DataFrame:
    """The k-selection table: fit k-means for every k in ``k_min..k_max`` and score each.

    Parameters are those of :class:`RFMClusterer` (with ``n_clusters="auto"``).

    Returns
    -------
    DataFrame
        Columns k, inertia, silhouette, calinski_harabasz, davies_bouldin, stability (NaN for
        k=1), silhouette_sample_size and silhouette_seed (how the silhouette was computed; the
        seed is NA when it is exact), and chosen (True for the k the criterion picks).
    """
    est = RFMClusterer("auto", features=features, k_min=k_min, k_max=k_max, criterion=criterion,
                       init=init, n_init=n_init, max_iter=max_iter, random_state=random_state,
                       silhouette_sample_size=silhouette_sample_size,
                       stability_resamples=stability_resamples)
    return est.fit(X).k_selection_
