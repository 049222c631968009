"""Segmentation: what applying a fitted model to one input gives (customers, segment and cluster
tables, quality counts); what export/ writes and report/ shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from rfmkit.cleaning import QualityReport
from rfmkit.clustering.matching import ClusterMatch


@dataclass
class Segmentation:
    """The result of applying a model to one input.

    Attributes
    ----------
    customers : pandas.DataFrame
        One row per customer, sorted by id: metrics, scores, rfm_code, segment, and cluster and
        cluster_name when the model has clusters.
    segments : pandas.DataFrame
        Per segment: customers, shares, revenue, mean and median R/F/M (``segments.csv``).
    clusters : pandas.DataFrame or None
        Per cluster profile with names and descriptions (``clusters.csv``).
    k_selection : pandas.DataFrame or None
        Criteria per k when k was searched (``k_selection.csv``).
    quality : QualityReport
        Rows read, dropped by reason, used (``quality.json``).
    cluster_changes : ClusterMatch or None
        How this fit's clusters map to a previous model's (new, gone, moved).
    previous : pandas.DataFrame or None
        The previous model's assignments of the same customers (customer_id, segment and,
        when it has clusters, cluster and cluster_name), for transition matrices.
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    clusters: pd.DataFrame | None
    k_selection: pd.DataFrame | None
    quality: QualityReport
    cluster_changes: ClusterMatch | None = None
    previous: pd.DataFrame | None = None

    @property
    def as_of(self) -> dt.date | None:
        return self.quality.as_of

    def _repr_html_(self) -> str:
        from rfmkit.html_repr import segmentation_html

        return segmentation_html(self)
