"""RFMModel: transactions -> metrics -> scores -> segments -> clusters, fitted once, reused.

``fit`` learns everything that gives scores and clusters their meaning (caps, bin edges, the
segment map, cluster centres and names). ``segment``/``predict`` apply that frozen state to any
input (this week's transactions, another shop's, a customer-level table) without refitting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from rfmkit._validation import Options, validate_params
from rfmkit.cleaning import CLEANING_CONSTRAINTS, QualityReport
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.clustering.matching import match_clusters
from rfmkit.clustering.naming import name_clusters
from rfmkit.clustering.profiles import profile_clusters
from rfmkit.engines import Engine
from rfmkit.errors import ParameterError
from rfmkit.fingerprint import fingerprint
from rfmkit.metric_options import METRIC_CONSTRAINTS, MetricOptions
from rfmkit.metrics import RFMResult, compute_rfm
from rfmkit.money import currency_label
from rfmkit.presets import metric_settings, resolve_params, respelled
from rfmkit.progress import stage
from rfmkit.schema import (
    CLUSTER,
    CLUSTER_NAME,
    CUSTOMER_ID,
    FREQUENCY,
    MONETARY,
    RECENCY,
    RFM_CODE,
    SCORE_COLUMNS,
    SEGMENT,
    ColumnMapping,
)
from rfmkit.scoring.caps import check_caps
from rfmkit.scoring.codes import rfm_code
from rfmkit.scoring.levels import score_levels
from rfmkit.scoring.scorer import RFMScorer
from rfmkit.segmentation import Segmentation
from rfmkit.segments.assignment import assign_segments, check_map_levels
from rfmkit.segments.loading import load_segment_map
from rfmkit.segments.map import SegmentMap
from rfmkit.segments.summary import segment_summary

SEGMENT_LEVELS = 5  # named segment maps are written for scores 1..5 unless they say otherwise


def _or_none(constraints: dict[str, list], *names: str, **renamed: str) -> dict[str, list]:
    """``constraints`` of ``names`` (and of ``renamed``: model name -> their name), None allowed."""
    pairs = [(name, name) for name in names] + list(renamed.items())
    return {ours: [None, *constraints[theirs]] for ours, theirs in pairs}


class RFMModel(BaseEstimator):
    """Fit RFM scores, named segments and clusters on transactions; apply them to new data.

    Every parameter left at ``None`` takes the preset's value, else the library default (see
    :data:`DEFAULTS`); a parameter given explicitly always wins over the preset.

    Parameters
    ----------
    preset : {"default", "quintile", "percentile"} or None
        Reference method whose defaults to use (METHODS.md sections 3 and 4).
    columns : ColumnMapping or None
        Input column roles; undetected roles are found from common names.
    as_of, frequency, monetary, consolidate_days, date_format, date_order
        Metric definitions, see :class:`~rfmkit.MetricOptions`.
    returns, drop_cancellations, drop_duplicates
        Cleaning rules, see :class:`~rfmkit.CleaningRules`.
    score_method : {"quantile", "percentile"}
        Quantile scores 1..n_bins (Method Q) or percentile ranks 0-100 (Method P).
    n_bins : int
        Number of quantile bins.
    caps : dict or None
        Upper caps per metric: a number or a quantile like ``"q0.99"``.
    segment_map : str or SegmentMap
        Built-in map name, a JSON/YAML file, or a :class:`~rfmkit.SegmentMap`.
    n_clusters : "auto", int or "none"
        Number of k-means clusters; ``"none"`` skips clustering.
    cluster_features : {"scores", "log-metrics"}
        Cluster on the scores, or on standardised log metrics.
    criterion, k_min, k_max, init, n_init, max_iter, random_state
        k-selection rule and KMeans settings, see :class:`~rfmkit.RFMClusterer`.
    engine : str or Engine
        Where transactions are aggregated (``"duckdb"``, ``"spark"``, ``"postgres"``).
    previous_model : RFMModel or None
        A fitted model whose cluster ids and names are carried over to matching new clusters.
    currency : str or None
        The amounts' currency (ISO 4217 code or symbol) in descriptions and reports; None: none.

    Attributes
    ----------
    params_ : dict
        The parameters after applying preset and defaults.
    columns_ : ResolvedColumns
        Input shape and column roles found at fit.
    column_kinds_ : dict
        Kind of each input column used (text, integer, timestamp, ...), for SQL export.
    metric_options_ : MetricOptions
        Metric definitions used.
    cleaning_rules_ : CleaningRules
        Cleaning rules used.
    as_of_ : datetime.date or None
        Reference date of the training data.
    scorer_ : RFMScorer
        Fitted scorer (caps, bin edges).
    segment_map_ : SegmentMap
        The segment map.
    clusterer_ : RFMClusterer or None
        Fitted clusterer, None when clustering is off.
    cluster_ids_ : list of int or None
        Public id of each cluster (0..k-1, unless carried over from a previous model).
    cluster_names_ : list of str or None
        Name per cluster, in the order of ``cluster_ids_``.
    cluster_descriptions_ : list of str or None
        One-line description per cluster id.
    cluster_changes_ : ClusterMatch or None
        How clusters map to the previous model's, when one was given.
    quality_ : QualityReport
        Data-quality counts of the training data.
    training_fingerprint_ : str
        SHA-256 over the training customer table (id, R, F, M).
    result_ : Segmentation
        The training data's segmentation (not saved in the model file).
    """

    # Parameters shared with MetricOptions, CleaningRules, RFMScorer and RFMClusterer take their
    # allowed values from there (declared once); None means "the preset's value".
    _parameter_constraints: dict = {
        "preset": [None, Options("default", "quintile", "percentile")],
        "columns": [None, ColumnMapping],
        "as_of": [None, dt.date, str],
        **_or_none(METRIC_CONSTRAINTS, "frequency", "monetary", "consolidate_days",
                   "date_format", "date_order"),
        **_or_none(CLEANING_CONSTRAINTS, "returns", "drop_cancellations", "drop_duplicates"),
        **_or_none(RFMScorer._parameter_constraints, "n_bins", "caps", score_method="method"),
        "segment_map": [None, str, SegmentMap],
        "n_clusters": [None, Options("none"), *RFMClusterer._parameter_constraints["n_clusters"]],
        **_or_none(RFMClusterer._parameter_constraints, "criterion", "k_min", "k_max", "n_init",
                   "max_iter", "random_state", cluster_features="features"),
        "init": [None, Options("k-means++", "random")],  # by name only: JSON has no arrays here
        "engine": [str, Engine],
        "previous_model": [None, BaseEstimator],
        "currency": [None, str],
    }

    def __init__(
        self,
        preset: str | None = None,
        *,
        columns: ColumnMapping | None = None,
        as_of: dt.date | str | None = None,
        frequency: str | None = None,
        monetary: str | None = None,
        consolidate_days: bool | None = None,
        date_format: str | None = None,
        date_order: str | None = None,
        returns: str | None = None,
        drop_cancellations: bool | None = None,
        drop_duplicates: bool | None = None,
        score_method: str | None = None,
        n_bins: int | None = None,
        caps: dict | None = None,
        segment_map: str | SegmentMap | None = None,
        n_clusters: str | int | None = None,
        cluster_features: str | None = None,
        criterion: str | None = None,
        k_min: int | None = None,
        k_max: int | None = None,
        init: str | None = None,
        n_init: int | None = None,
        max_iter: int | None = None,
        random_state: int | None = None,
        engine: str | Engine = "duckdb",
        previous_model: RFMModel | None = None,
        currency: str | None = None,
    ):
        self.preset = preset
        self.columns = columns
        self.as_of = as_of
        self.frequency = frequency
        self.monetary = monetary
        self.consolidate_days = consolidate_days
        self.date_format = date_format
        self.date_order = date_order
        self.returns = returns
        self.drop_cancellations = drop_cancellations
        self.drop_duplicates = drop_duplicates
        self.score_method = score_method
        self.n_bins = n_bins
        self.caps = caps
        self.segment_map = segment_map
        self.n_clusters = n_clusters
        self.cluster_features = cluster_features
        self.criterion = criterion
        self.k_min = k_min
        self.k_max = k_max
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.engine = engine
        self.previous_model = previous_model
        self.currency = currency

    # --- parameters --------------------------------------------------------------------------
    def __sklearn_clone__(self) -> RFMModel:
        """An unfitted copy with the same parameters (what :func:`sklearn.base.clone` returns).

        ``previous_model`` and an engine instance are kept as they are: the previous model is
        fitted state to read (an unfitted copy could not carry its clusters over), and an
        engine holds a connection, which cannot be copied.
        """
        params = self.get_params(deep=False)
        kept = {"previous_model": params.pop("previous_model")}
        if not isinstance(params["engine"], str):
            kept["engine"] = params.pop("engine")
        return type(self)(**{k: clone(v, safe=False) for k, v in params.items()}, **kept)

    def resolved_params(self) -> dict[str, Any]:
        """Every parameter after defaults and preset, validated (what :meth:`fit` will use)."""
        return self._resolve_params()

    def _resolve_params(self) -> dict[str, Any]:
        """Everything checkable without data: types and ranges, the content of caps, and
        whether the segment map loads and fits the score levels."""
        own = respelled(self.get_params(deep=False))
        validate_params(type(self).__name__, own, self._parameter_constraints)
        p = resolve_params(own["preset"], own)
        check_caps(p["caps"], owner=type(self).__name__)
        p["currency"] = currency_label(p["currency"])  # one spelling: "gbp" is "GBP"
        check_map_levels(load_segment_map(p["segment_map"]), _levels(p))
        return p

    # --- fitting -----------------------------------------------------------------------------
    def _check_precomputed(self, rfm: RFMResult) -> RFMResult:
        """An RFMResult is fitted on as it is, if it was computed the way this model would."""
        for what, theirs, ours in (("metric options", rfm.options, self.metric_options_),
                                   ("cleaning rules", rfm.cleaning, self.cleaning_rules_)):
            if theirs is not None and theirs != ours:
                raise ParameterError(
                    f"The RFMResult was computed with other {what} than this model's: "
                    f"{theirs} instead of {ours}. Pass the transactions instead, or compute "
                    "the metrics with the model's metric_options_ and cleaning_rules_.")
        given = {} if self.columns is None else {
            role: col for role, col in self.columns.to_dict().items() if col is not None}
        if any(rfm.columns.mapping.to_dict().get(role) != col for role, col in given.items()):
            raise ParameterError(
                f"The RFMResult was computed with the column mapping {rfm.columns.mapping}, "
                f"not this model's {self.columns}. Pass the transactions instead.")
        return rfm

    def fit(self, X: Any, y: Any = None, *, table: str | None = None,
            delimiter: str | None = None, encoding: str | None = None,
            decimal: str | None = None, thousands: str | None = None,
            engine: Engine | None = None) -> RFMModel:
        """Learn scores, segments and clusters from transactions or a customer-level table.

        ``X`` is anything :func:`~rfmkit.compute_rfm` reads: a path, glob, DataFrame, table;
        ``decimal``/``thousands`` say how its text amounts are written (kept by the model).
        ``engine``, an open engine instance, runs this fit instead of the ``engine`` parameter
        (e.g. one session shared by several calls; it is not closed here)."""
        p = self._resolve_params()
        self._check_previous_model(p)
        self.params_ = p
        options, self.cleaning_rules_ = metric_settings(p)
        if isinstance(X, RFMResult) and X.options is not None:  # the format it was read with
            options = options.reading_numbers(X.options.decimal, X.options.thousands)
        self.metric_options_ = options.reading_numbers(decimal, thousands)
        if isinstance(X, RFMResult):
            rfm = self._check_precomputed(X)
        else:
            rfm = compute_rfm(X, columns=self.columns, options=self.metric_options_,
                              cleaning=self.cleaning_rules_, engine=engine or self.engine,
                              table=table, delimiter=delimiter, encoding=encoding)
        options = self.metric_options_
        if options.date_format is None and options.date_order is None and rfm.quality.date_order:
            # the day/month order the training dates settled: scoring reads dates the same way
            self.metric_options_ = dataclasses.replace(options, date_order=rfm.quality.date_order)
        customers = rfm.customers
        self.columns_ = rfm.columns
        self.column_kinds_ = rfm.kinds
        self.as_of_ = rfm.quality.as_of
        self.quality_ = rfm.quality
        self.training_fingerprint_ = fingerprint(customers)
        stage("Scoring and segmenting")
        self.scorer_ = RFMScorer(p["n_bins"], method=p["score_method"], caps=p["caps"])
        scores = self.scorer_.fit(customers).transform(customers)
        segment_map = p["segment_map"]
        self.segment_map_ = (segment_map if isinstance(segment_map, SegmentMap)
                             else load_segment_map(segment_map))
        scored = self._attach_scores(customers, scores)

        self.clusterer_ = self.cluster_changes_ = None
        self.cluster_names_ = self.cluster_descriptions_ = self.cluster_ids_ = None
        k_selection = None
        if p["n_clusters"] != "none":
            self.clusterer_ = RFMClusterer(
                p["n_clusters"], features=p["cluster_features"], k_min=p["k_min"],
                k_max=p["k_max"], criterion=p["criterion"], init=p["init"],
                n_init=p["n_init"], max_iter=p["max_iter"], random_state=p["random_state"])
            self.clusterer_.fit(scored)
            labels = np.asarray(self.clusterer_.labels_)
            self._name_clusters(scored, labels)
            self.cluster_ids_ = list(range(self.clusterer_.n_clusters_))
            if self.previous_model is not None:
                self._carry_over_clusters(scored, labels)
            k_selection = self.clusterer_.k_selection_
        self.result_ = self._result(scored, rfm.quality, k_selection)
        self.result_.cluster_changes = self.cluster_changes_
        if self.previous_model is not None:
            self.result_.previous = self.previous_model.predict_customers(customers)
        return self

    def _check_previous_model(self, p: dict[str, Any]) -> None:
        """A previous model must be a fitted RFMModel whose clusters live in the same space."""
        prev = self.previous_model
        if prev is None:
            return
        if not isinstance(prev, RFMModel):
            raise ParameterError(
                f"The 'previous_model' parameter of RFMModel must be a fitted RFMModel. Got "
                f"{type(prev).__name__} instead.")
        check_is_fitted(prev)
        if prev.clusterer_ is None or p["n_clusters"] == "none":
            return
        mine = (p["cluster_features"], p["score_method"],
                p["n_bins"] if p["score_method"] == "quantile" else None)
        theirs = (prev.clusterer_.features, prev.params_["score_method"],
                  prev.params_["n_bins"] if prev.params_["score_method"] == "quantile" else None)
        if mine != theirs:
            def describe(f: tuple) -> str:
                scale = f"{f[1]} scores" + (f" with {f[2]} bins" if f[2] is not None else "")
                return f"features={f[0]!r} on {scale}"

            raise ParameterError(
                f"The previous model's clusters are in another space ({describe(theirs)}) than "
                f"this model's ({describe(mine)}), so cluster ids and names cannot be carried "
                "over. Use the same cluster_features, score_method and n_bins, or leave "
                "previous_model out.")

    def _name_clusters(self, scored: pd.DataFrame, labels: np.ndarray) -> None:
        clusters = range(self.clusterer_.n_clusters_)
        means = scored[list(SCORE_COLUMNS)].groupby(labels).mean().reindex(clusters)
        metrics = scored[[RECENCY, FREQUENCY, MONETARY]]
        # each metric on its realised levels (ties can leave frequency with 3 of 5); a
        # constant metric (one realised bin) scores the middle of 1..n_bins
        scale = (0.0, 100.0) if self.params_["score_method"] == "percentile" else [
            (1.0, float(n if n > 1 else self.params_["n_bins"]))
            for n in (self.scorer_.n_bins_[m] for m in (RECENCY, FREQUENCY, MONETARY))]
        named = name_clusters(means.to_numpy(), scale=scale, overall=metrics.median().to_numpy(),
                              medians=metrics.groupby(labels).median().reindex(clusters).to_numpy(),
                              frequency=self.metric_options_.frequency,
                              monetary=self.metric_options_.monetary,
                              currency=self.params_["currency"])
        self.cluster_names_ = [str(n[0]) for n in named]
        self.cluster_descriptions_ = [str(n[1]) for n in named]

    def _carry_over_clusters(self, scored: pd.DataFrame, labels: np.ndarray) -> None:
        """Renumber and rename clusters so those matching the previous model keep id and name."""
        prev = self.previous_model
        if prev.clusterer_ is None:
            return
        match = match_clusters(
            self.clusterer_.cluster_centers_, prev.clusterer_.cluster_centers_,
            old_names=prev.cluster_names_, old_ids=prev.cluster_ids_,
            new_names=self.cluster_names_)
        order = match.order  # internal indices sorted by carried-over id
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        self.clusterer_.cluster_centers_ = match.reorder(self.clusterer_.cluster_centers_)
        self.clusterer_.labels_ = position[np.asarray(self.clusterer_.labels_)]
        self.cluster_names_ = [match.names[i] for i in order]
        self.cluster_descriptions_ = [self.cluster_descriptions_[i] for i in order]
        self.cluster_ids_ = sorted(int(i) for i in match.ids)
        self.cluster_changes_ = match

    # --- applying ----------------------------------------------------------------------------
    def segment(self, X: Any, *, table: str | None = None, delimiter: str | None = None,
                encoding: str | None = None, as_of: dt.date | None = None,
                decimal: str | None = None, thousands: str | None = None,
                engine: str | Engine | None = None) -> Segmentation:
        """Apply the fitted model to new data: frozen edges, map and centres; nothing refitted.
        ``decimal``/``thousands``: how this input writes text amounts, if not as at fit."""
        check_is_fitted(self)
        options = self.metric_options_.reading_numbers(decimal, thousands)
        if as_of is not None:
            options = MetricOptions(**{**options.to_dict(), "as_of": as_of})
        rfm = compute_rfm(X, columns=self.columns_.mapping, options=options,
                          cleaning=self.cleaning_rules_, engine=engine or self.engine,
                          table=table, delimiter=delimiter, encoding=encoding)
        stage("Scoring and segmenting")
        scored = self._attach_scores(rfm.customers, self.scorer_.transform(rfm.customers))
        k_selection = None if self.clusterer_ is None else self.clusterer_.k_selection_
        return self._result(scored, rfm.quality, k_selection, apply_clusters=True)

    def predict_customers(self, customers: pd.DataFrame) -> pd.DataFrame:
        """Assignments for an already computed customer table (metrics columns present)."""
        check_is_fitted(self)
        scored = self._attach_scores(customers, self.scorer_.transform(customers))
        keep = [CUSTOMER_ID, SEGMENT]
        if self.clusterer_ is not None:
            self._attach_clusters(scored, self.clusterer_.predict(scored))
            keep += [CLUSTER, CLUSTER_NAME]
        return scored[keep].reset_index(drop=True)

    def predict(self, X: Any) -> pd.DataFrame:
        """Assignments per customer: customer_id, scores, rfm_code, segment, cluster, name."""
        result = self.segment(X)
        keep = [CUSTOMER_ID, *SCORE_COLUMNS, RFM_CODE, SEGMENT]
        if self.clusterer_ is not None:
            keep += [CLUSTER, CLUSTER_NAME]
        return result.customers[keep]

    def transform(self, X: Any) -> pd.DataFrame:
        """The three scores per customer (r_score, f_score, m_score), indexed by customer id."""
        customers = self.segment(X).customers
        return customers.set_index(CUSTOMER_ID)[list(SCORE_COLUMNS)]

    def _html_repr(self) -> str:
        # scikit-learn's _repr_html_ and _repr_mimebundle_ call this (display="diagram")
        from rfmkit.html_repr import model_html

        return model_html(self)

    def fit_predict(self, X: Any, y: Any = None) -> pd.DataFrame:
        return self.fit(X).predict(X)

    # --- shared steps ------------------------------------------------------------------------
    def _attach_scores(self, customers: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
        out = customers.copy()
        for col in SCORE_COLUMNS:
            out[col] = scores[col].to_numpy()
        levels = score_levels(out[list(SCORE_COLUMNS)], n_levels=self.segment_levels,
                              realised=self.realised_levels)
        out[RFM_CODE] = rfm_code(out[list(SCORE_COLUMNS)], n_bins=self.params_["n_bins"]).array
        segments = assign_segments(levels, self.segment_map_, n_levels=self.segment_levels)
        out[SEGMENT] = _text(segments.cat.categories, segments.cat.codes.to_numpy())
        return out

    def _attach_clusters(self, scored: pd.DataFrame, index: np.ndarray) -> None:
        index = np.asarray(index, dtype="int64")  # internal cluster indices, 0..k-1
        scored[CLUSTER] = np.asarray(self.cluster_ids_, dtype="int64")[index]
        scored[CLUSTER_NAME] = _text(self.cluster_names_, index)

    @property
    def segment_levels(self) -> int:
        """Score levels the segment map sees: n_bins for quantile scores, 5 for percentiles."""
        return _levels(self.params_)

    @property
    def realised_levels(self) -> dict[str, int]:
        """Realised levels per quantile score column (ties can leave fewer than n_bins); the
        segment map reads them spread over 1..n_bins (``score_levels(realised=)``)."""
        if self.params_["score_method"] != "quantile":
            return {}
        bins = self.scorer_.n_bins_
        return {s: int(bins[m]) for s, m in zip(SCORE_COLUMNS, (RECENCY, FREQUENCY, MONETARY),
                                                 strict=True)}

    def _result(self, scored: pd.DataFrame, quality: QualityReport,
                k_selection: pd.DataFrame | None, *, apply_clusters: bool = False
                ) -> Segmentation:
        clusters = None
        if self.clusterer_ is not None:
            index = (self.clusterer_.predict(scored) if apply_clusters
                     else np.asarray(self.clusterer_.labels_))
            self._attach_clusters(scored, index)
            clusters = profile_clusters(
                scored, index, names=list(zip(self.cluster_names_, self.cluster_descriptions_,
                                              strict=True)))
            clusters[CLUSTER] = np.asarray(self.cluster_ids_, dtype="int64")
        segments = segment_summary(scored, order=self.segment_map_.segment_names)
        return Segmentation(customers=scored, segments=segments, clusters=clusters,
                            k_selection=k_selection, quality=quality)


def _levels(params: dict[str, Any]) -> int:
    """Score levels the segment map sees: n_bins for quantile scores, 5 for percentiles."""
    return int(params["n_bins"]) if params["score_method"] == "quantile" else SEGMENT_LEVELS


def _text(names: Any, codes: np.ndarray) -> pd.Index:
    """Text column from a few names and an index per row (-1: missing): a take, ~20x faster."""
    names = pd.Index(list(names), dtype="str")
    codes = np.asarray(codes, dtype="int64")
    if len(codes) and codes.min() < 0:
        return names.take(np.where(codes < 0, 0, codes)).where(codes >= 0)
    return names.take(codes)
