"""Fitted model + segmentation -> one plain, JSON-able dict: everything the report shows.

This is the first stage of the report pipeline (data -> SVG charts -> HTML). Every number a
chart or table of the report displays is in this dict, so the report is tested here, on data.
The dict holds only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``
(missing numbers are ``None``, never NaN), and is the same for the same input: the only random
step, the sample of customers drawn for the 2-D cluster map, is seeded with ``random_state``.

Statistics are computed on all customers; only the scatter of the cluster map is sampled.
"""

from __future__ import annotations

import numbers
from typing import Any

from sklearn.utils.validation import check_is_fitted

from rfmkit import schema
from rfmkit._version import __version__
from rfmkit.errors import InputError, ParameterError
from rfmkit.money import resolve_currency
from rfmkit.report.sections import (
    clusters,
    distributions,
    findings,
    overview,
    scores,
    segment_grid,
    segments,
    transitions,
)
from rfmkit.report.sections.cluster_map import PROJECTIONS

__all__ = ["SCHEMA_VERSION", "SECTIONS", "summarize"]

#: Version of the dict's layout; bumped when a key changes meaning or disappears.
SCHEMA_VERSION = 1

#: Every section the report can have, in page order: what to do first, how it was computed
#: after. ``summary["sections"]`` lists those present.
SECTIONS = ("overview", "segments", "clusters", "distributions", "scores", "transitions")


def check_report_params(*, title: Any = None, projection: Any = "pca") -> None:
    """The report's parameters that need no data (:func:`~rfmkit.run_report` checks them
    before it reads any)."""
    if title is not None and not isinstance(title, str):
        raise ParameterError(
            f"The 'title' parameter of build_report must be a str or None. Got "
            f"{type(title).__name__} instead.")
    if projection not in PROJECTIONS:
        raise ParameterError(
            f"The 'projection' parameter of build_report must be one of "
            f"{', '.join(map(repr, PROJECTIONS))}. Got {projection!r} instead."
        )


def _check_inputs(model: Any, result: Any, scatter_sample: Any, projection: Any,
                  random_state: Any) -> None:
    check_is_fitted(model, "scorer_")
    for attr in ("customers", "segments", "clusters", "quality"):
        if not hasattr(result, attr):
            raise InputError(
                "build_report needs a Segmentation as `result` (model.result_ after fit, or the "
                f"output of model.segment(X)); got {type(result).__name__}, without {attr!r}."
            )
    if (isinstance(scatter_sample, bool) or not isinstance(scatter_sample, numbers.Integral)
            or scatter_sample < 2):
        raise ParameterError(
            f"The 'scatter_sample' parameter of build_report must be an int >= 2. "
            f"Got {scatter_sample!r} instead."
        )
    check_report_params(projection=projection)
    if (isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral)
            or not 0 <= random_state < 2**32):
        raise ParameterError(
            f"The 'random_state' parameter of build_report must be an int in [0, 2**32). "
            f"Got {random_state!r} instead."
        )
    missing = [c for c in (schema.CUSTOMER_ID, *schema.METRIC_COLUMNS, *schema.SCORE_COLUMNS,
                           schema.SEGMENT) if c not in result.customers.columns]
    if missing:
        raise InputError(
            f"The segmentation's customer table lacks {', '.join(map(repr, missing))}; build the "
            "report from model.result_ or model.segment(X)."
        )
    if len(result.customers) == 0:
        raise InputError("The segmentation has no customers; there is nothing to report.")


def _warnings(result: Any, score_section: dict[str, Any],
              cluster_section: dict[str, Any] | None) -> list[dict[str, str]]:
    """What the overview warns of: data problems, collapsed bins, tiny clusters, empty segments."""
    out = [{"kind": "data", "message": str(w)} for w in result.quality.warnings]
    for entry in score_section["metrics"].values():
        if entry["collapsed"]:
            out.append({
                "kind": "collapsed_bins",
                "message": f"{entry['label']}: ties left {entry['n_bins']} score levels instead "
                           f"of the {score_section['requested_bins']} requested ({entry['letter']} "
                           f"scores run 1..{entry['n_bins']}).",
            })
    if cluster_section is not None and result.clusters is not None:
        out.extend(clusters.cluster_warnings(result.clusters))
    empty = [str(s) for s, c in zip(result.segments[schema.SEGMENT], result.segments["customers"],
                                    strict=True) if c == 0]
    if empty:
        out.append({"kind": "empty_segments",
                    "message": f"No customers in {len(empty)} segment(s): {', '.join(empty)}."})
    return out


def summarize(model: Any, result: Any, *, title: str | None = None, scatter_sample: int = 5000,
              projection: str = "pca", random_state: int = 0,
              currency: str | None = None) -> dict[str, Any]:
    """Everything the report shows, as a plain JSON-able dict.

    Parameters
    ----------
    model : RFMModel
        A fitted model.
    result : Segmentation
        ``model.result_`` (the training data) or the output of ``model.segment(X)``.
    title : str or None
        Report title; default "RFM segmentation report".
    scatter_sample : int, default=5000
        Customers drawn (seeded, every cluster represented) for the 2-D cluster map.
    projection : {"pca", "tsne"}, default="pca"
        Map projection of the clustering features: PCA fitted on all customers, or t-SNE on the
        sample.
    random_state : int, default=0
        Seed of the map sample, jitter and t-SNE.
    currency : str or None, default=None
        ISO 4217 code (``"EUR"``) or symbol (``"€"``) money is written with
        (:func:`~rfmkit.money.resolve_currency`); None: the model's ``currency`` (plain
        numbers when it has none).

    Returns
    -------
    dict
        Keys ``schema_version``, ``rfmkit_version``, ``title``, ``currency``, ``sections``,
        ``findings``, ``headline``, ``method``, ``quality``, ``warnings``, ``distributions``,
        ``scores``, ``segments``, ``segment_grid`` (None without segments), ``grid`` (R x F),
        ``pareto``, ``clusters`` (None without clustering) and ``transitions`` (None without
        previous assignments).
    """
    _check_inputs(model, result, scatter_sample, projection, random_state)
    if currency is None:  # models saved before the parameter existed have none
        currency = getattr(model, "params_", {}).get("currency")
    money = resolve_currency(currency)
    quality = overview.data_quality(result)
    score_section = scores.scores(model, result)
    cluster_section = clusters.clusters(model, result, scatter_sample=int(scatter_sample),
                                        projection=projection, random_state=int(random_state))
    transition_section = transitions.transitions(model, result)
    sections = [s for s in SECTIONS
                if (s != "clusters" or cluster_section is not None)
                and (s != "transitions" or transition_section is not None)]
    return {
        "schema_version": SCHEMA_VERSION,
        "rfmkit_version": __version__,
        "title": title if title is not None else "RFM segmentation report",
        "currency": money,
        "sections": sections,
        "findings": findings.findings(model, result, quality=quality, currency=money),
        "headline": overview.headline(model, result),
        "method": overview.method(model),
        "quality": quality,
        "warnings": _warnings(result, score_section, cluster_section),
        "distributions": distributions.distributions(model, result),
        "scores": score_section,
        "segments": segments.segments(model, result, currency=currency),
        "segment_grid": segment_grid.segment_grid(model, result),
        "grid": segments.rf_grid(model, result),
        "pareto": segments.pareto(result),
        "clusters": cluster_section,
        "transitions": transition_section,
    }
