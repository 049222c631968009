"""Snapshots: every customer scored at each as-of date with a model's frozen definition.

The customers of all dates come from one engine pass
(:func:`rfmkit.engines.snapshots.snapshot_metrics`); they are then scored in one vectorised
call: frozen bin edges, segment rules and cluster centres score each row on its own, so the
snapshot of a date equals ``RFMModel.segment(source, as_of=date)`` customer for customer.
``refit=True`` instead learns new bin edges (and clusters) at each date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from rfmkit.cleaning import QualityReport
from rfmkit.engines import Engine
from rfmkit.engines.snapshots import date_range, snapshot_periods
from rfmkit.errors import InputError
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import RFMResult
from rfmkit.model import RFMModel
from rfmkit.schema import (
    CLUSTER,
    CLUSTER_NAME,
    CUSTOMER_ID,
    FREQUENCY,
    MONETARY,
    RECENCY,
    SCORE_COLUMNS,
    SEGMENT,
    InputShape,
    ResolvedColumns,
    resolve_columns,
)
from rfmkit.sql.snapshots_query import AS_OF
from rfmkit.timeline.expansion import expand_periods

SNAPSHOT_COLUMNS = (CUSTOMER_ID, AS_OF, RECENCY, FREQUENCY, MONETARY, *SCORE_COLUMNS, SEGMENT)
CLUSTER_COLUMNS = (CLUSTER, CLUSTER_NAME)


def open_transactions(model: RFMModel, source: Any, eng: Engine, *, table: str | None,
                      delimiter: str | None) -> tuple[Any, ResolvedColumns]:
    """``source`` read by ``eng`` with the model's column roles; transactions only (a history
    needs purchase dates)."""
    rel = eng.read(source, table=table, delimiter=delimiter)
    resolved = resolve_columns(rel.columns, model.columns_.mapping, source=rel.label)
    if resolved.shape is InputShape.CUSTOMERS:
        raise InputError(
            f"{rel.label} is a customer-level table (recency, frequency, monetary): a history "
            "needs the transactions, to measure every customer at each as-of date. Give the "
            "transactions the model was fitted on, or newer ones.")
    return rel, resolved


def data_days(model: RFMModel, eng: Engine, rel: Any, resolved: ResolvedColumns
              ) -> tuple[dt.date, dt.date] | None:
    """First and last purchase day kept by the model's cleaning rules."""
    return date_range(eng, rel, resolved, model.metric_options_, model.cleaning_rules_)


def compute_snapshots(model: RFMModel, eng: Engine, rel: Any, resolved: ResolvedColumns,
                      dates: Sequence[dt.date] | Callable[[Any, Any], Sequence[dt.date]], *,
                      refit: bool = False) -> pd.DataFrame:
    """The snapshots of ``dates`` (columns :data:`SNAPSHOT_COLUMNS`, plus cluster columns when
    the model has clusters), sorted by as-of date then customer id as ``score`` sorts them.

    ``dates`` may be a function of the first and last purchase day returning the dates (the
    engine finds those days in the same pass)."""
    columns = _columns(model)
    choose = dates if callable(dates) else (lambda first, last, fixed=list(dates): fixed)
    per, chosen = snapshot_periods(eng, rel, resolved, model.metric_options_,
                                   model.cleaning_rules_, choose)
    if not chosen:
        return _empty(columns)
    customers = expand_periods(per, chosen, model.metric_options_)
    if customers.empty:
        return _empty(columns)
    if refit:
        return _refit(model, customers, resolved, columns)
    scored = _score(model, customers)
    return _finish(scored, columns)


def _refit(model: RFMModel, customers: pd.DataFrame, resolved: ResolvedColumns,
           columns: list[str]) -> pd.DataFrame:
    """Each date's customers with a model fitted on them (same parameters, new edges and
    clusters; cluster ids carried over from ``model``)."""
    parts = []
    for day, group in customers.groupby(AS_OF, sort=True):
        date = pd.Timestamp(day).date()
        fitted = clone(model).set_params(
            as_of=date, previous_model=model if model.clusterer_ is not None else None)
        options = MetricOptions(**{**model.metric_options_.to_dict(), "as_of": date})
        quality = QualityReport(source="snapshot", rows_read=len(group), rows_used=len(group),
                                customers=len(group), as_of_policy="fixed")
        quality.as_of = date
        rfm = RFMResult(group.drop(columns=AS_OF).reset_index(drop=True), quality, resolved,
                        options=options, cleaning=model.cleaning_rules_)
        scored = fitted.fit(rfm).result_.customers
        scored.insert(1, AS_OF, group[AS_OF].to_numpy())
        parts.append(scored)
    return _finish(pd.concat(parts, ignore_index=True), columns)


def _score(model: RFMModel, customers: pd.DataFrame) -> pd.DataFrame:
    """Scores, segments and clusters of every row. A segment (and a cluster of score
    features) depends on the three scores alone, so the model names each distinct score triple
    once (at most n_bins^3 of them, against millions of rows) and the rows take their triple's:
    the same as scoring each row."""
    scores = model.scorer_.transform(customers)
    clusters = model.clusterer_
    if any(scores[col].dtype.kind != "i" for col in SCORE_COLUMNS):
        scored = model._attach_scores(customers, scores)  # percentile scores: few repeats
        if clusters is not None:
            model._attach_clusters(scored, clusters.predict(scored))
        return scored
    out = customers  # built for this call (expand_periods): extended in place, not copied
    for col in SCORE_COLUMNS:
        out[col] = scores[col].to_numpy()
    values = scores[list(SCORE_COLUMNS)].to_numpy(dtype="int64")
    base = int(values.max()) + 1
    key = (values[:, 0] * base + values[:, 1]) * base + values[:, 2]
    present = np.flatnonzero(np.bincount(key, minlength=base ** 3))
    inverse = np.searchsorted(present, key)
    triples = np.stack([present // (base * base), present // base % base, present % base],
                       axis=1)
    distinct = pd.DataFrame(triples, columns=list(SCORE_COLUMNS)).astype(
        scores.dtypes.to_dict())
    named = model._attach_scores(distinct, distinct)
    out[SEGMENT] = named[SEGMENT].take(inverse).array
    if clusters is not None:
        # clusters of score features depend on the scores alone too; of log-metrics, not
        on_triples = clusters.features == "scores"
        index = clusters.predict(named if on_triples else out)
        model._attach_clusters(out, index[inverse] if on_triples else index)
    return out


def _columns(model: RFMModel) -> list[str]:
    return [*SNAPSHOT_COLUMNS, *(CLUSTER_COLUMNS if model.clusterer_ is not None else ())]


def _finish(scored: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = scored.loc[:, columns].reset_index(drop=True)
    if out[AS_OF].dtype != "datetime64[s]":
        out[AS_OF] = pd.to_datetime(out[AS_OF]).astype("datetime64[s]")
    return out


def _empty(columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    out[AS_OF] = out[AS_OF].astype("datetime64[s]")
    return out


def empty_snapshots(model: RFMModel) -> pd.DataFrame:
    """No snapshot, in the columns ``model`` gives."""
    return _empty(_columns(model))
