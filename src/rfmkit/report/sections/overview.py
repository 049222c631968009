"""The overview section: headline figures, the method (options applied) and data quality."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rfmkit.cleaning import DROP_REASONS, REASON_TEXT
from rfmkit.report.sections.common import customer_revenue, number_text, plain

__all__ = ["CLUSTER_OPTIONS", "OPTION_GROUPS", "data_quality", "headline", "method"]

#: The model's options as the report groups them.
OPTION_GROUPS = (
    ("Metrics", ("as_of", "frequency", "monetary", "consolidate_days")),
    ("Cleaning", ("returns", "drop_cancellations", "drop_duplicates")),
    ("Scores", ("score_method", "n_bins", "caps")),
    ("Segments", ("segment_map",)),
    ("Clusters", ("n_clusters", "cluster_features", "criterion", "k_min", "k_max", "init",
                  "n_init", "max_iter", "random_state")),
)
CLUSTER_OPTIONS = OPTION_GROUPS[-1][1]


def _option_text(name: str, value: Any) -> str:
    if value is None:
        return "latest purchase date" if name == "as_of" else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_option_text(k, v)}" for k, v in value.items()) or "none"
    if hasattr(value, "name") and name == "segment_map":
        return str(value.name)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def method(model: Any) -> dict[str, Any]:
    """The preset, segment map, input columns and every option, as applied."""
    from rfmkit.presets import get_preset

    params = dict(model.params_)
    # The resolved option objects hold what was applied (e.g. drop_cancellations=None in the
    # parameters means "drop under returns='drop'"); show those values.
    for resolved in (getattr(model, "metric_options_", None),
                     getattr(model, "cleaning_rules_", None)):
        if resolved is not None:
            params.update({k: v for k, v in resolved.to_dict().items() if k in params})
    params["segment_map"] = model.segment_map_.name
    preset = model.preset or "default"
    groups = []
    for group, names in OPTION_GROUPS:
        if group == "Clusters" and params.get("n_clusters") == "none":
            names = ("n_clusters",)
        groups.append({
            "group": group,
            "options": [{"name": n, "value": plain(params.get(n)),
                         "text": _option_text(n, params.get(n))} for n in names if n in params],
        })
    shape = getattr(getattr(model, "columns_", None), "shape", None)
    mapping = getattr(getattr(model, "columns_", None), "mapping", None)
    columns = {} if mapping is None else {k: v for k, v in mapping.to_dict().items() if v}
    return {
        "preset": preset,
        "preset_description": get_preset(preset).description,
        "score_method": params["score_method"],
        "n_bins": int(params["n_bins"]),
        "segment_map": model.segment_map_.name,
        "segment_map_description": model.segment_map_.description,
        "input_shape": None if shape is None else str(getattr(shape, "value", shape)),
        "columns": columns,
        "options": groups,
    }


def data_quality(result: Any) -> dict[str, Any]:
    """Rows read, used and dropped (per reason, with the amount they carried)."""
    q = result.quality.to_dict()
    dropped = q.get("dropped", {})
    revenue = q.get("dropped_revenue", {})
    read = q.get("rows_read") or 0
    return {
        "source": q.get("source"),
        "rows_read": q.get("rows_read"),
        "rows_used": q.get("rows_used"),
        "rows_dropped": q.get("rows_dropped"),
        "customers_without_purchases": q.get("customers_without_purchases", 0),
        "as_of_policy": q.get("as_of_policy"),
        "dropped": [{"reason": r, "text": REASON_TEXT.get(r, r.replace("_", " ")),
                     "rows": int(dropped.get(r, 0)),
                     "row_share": int(dropped.get(r, 0)) / read if read else None,
                     # the amount those rows carried; None: not measured (duplicates, rows
                     # without a numeric amount)
                     "revenue": plain(revenue.get(r, 0.0 if not dropped.get(r) else None))}
                    for r in (*DROP_REASONS, *sorted(set(dropped) - set(DROP_REASONS)))],
    }


def headline(model: Any, result: Any) -> dict[str, Any]:
    """The headline figures: customers, revenue, as-of date, segments and clusters."""
    customers = result.customers
    as_of = getattr(result, "as_of", None)
    return {
        "customers": int(len(customers)),
        "revenue": plain(float(np.nansum(customer_revenue(customers)))),
        "as_of": None if as_of is None else as_of.isoformat(),
        # model.segment(X) reads X afresh (a new QualityReport); the fit's result shares the
        # model's, also after dataclasses.replace(model.result_, ...)
        "training_data": result.quality is getattr(model, "quality_", None),
        "segments": int((result.segments["customers"] > 0).sum()),
        "clusters": None if getattr(model, "clusterer_", None) is None
        else int(model.clusterer_.n_clusters_),
    }
