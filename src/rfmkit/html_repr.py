"""Compact HTML summaries of fitted objects for notebooks (``_repr_html_``).

Each function returns a small HTML fragment with inline styles only (notebook front ends and
GitHub's viewer drop ``<style>`` elements), every text escaped, nothing loaded from anywhere.
Unfitted estimators show their class and non-default parameters.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "clusterer_html",
    "model_html",
    "report_html",
    "scorer_html",
    "segmentation_html",
]

_BOX = ("font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; "
        "font-size: 13px; line-height: 1.4; border: 1px solid #cbd5e0; border-radius: 6px; "
        "padding: 8px 12px; display: inline-block; max-width: 100%; overflow-x: auto;")
_TABLE = "border-collapse: collapse; margin-top: 6px; font-size: 12px;"
_TH = ("text-align: left; padding: 2px 10px 2px 0; border-bottom: 1px solid #cbd5e0; "
       "font-weight: 600;")
_TD = "padding: 2px 10px 2px 0; border-bottom: 1px solid #edf2f7;"
_NUM = " text-align: right; font-variant-numeric: tabular-nums;"
_MUTED = "color: #5a6678;"
#: Rows shown in a notebook table before "... more".
MAX_ROWS = 12


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, kind: str = "num") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "int":
        return f"{int(round(value)):,}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "money":
        return f"{value:,.2f}"
    if isinstance(value, (int,)) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _box(title: str, subtitle: str, body: str) -> str:
    sub = f' <span style="{_MUTED}">{_e(subtitle)}</span>' if subtitle else ""
    return (f'<div class="rfmkit-repr" style="{_BOX}"><div><strong>{_e(title)}</strong>{sub}'
            f"</div>{body}</div>")


def _table(headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]],
           more: int = 0) -> str:
    head = "".join(f'<th style="{_TH}{_NUM if num else ""}">{_e(h)}</th>' for h, num in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td style="{_TD}{_NUM if num else ""}">{cell}</td>'
                        for cell, (_, num) in zip(row, headers, strict=True))
        body.append(f"<tr>{cells}</tr>")
    if more > 0:
        body.append(f'<tr><td colspan="{len(headers)}" style="{_TD}{_MUTED}">… {more} more</td>'
                    "</tr>")
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}' \
           "</tbody></table>"


def _facts(pairs: Iterable[tuple[str, str]]) -> str:
    items = "".join(f'<tr><th style="{_TH} border: none;">{_e(k)}</th>'
                    f'<td style="padding: 1px 0;">{_e(v)}</td></tr>' for k, v in pairs)
    return f'<table style="{_TABLE}"><tbody>{items}</tbody></table>'


def _unfitted(obj: Any) -> str:
    try:
        changed = {k: v for k, v in obj.get_params(deep=False).items()
                   if v != type(obj)().get_params(deep=False).get(k)}
    except Exception:  # noqa: BLE001 - a repr must never raise
        changed = {}
    params = ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "default parameters"
    return _box(type(obj).__name__, "not fitted", f'<div style="{_MUTED}">{_e(params)}</div>')


def _segment_rows(frame: Any) -> tuple[list[list[str]], int]:
    rows = []
    records = frame.to_dict(orient="records")
    for r in records[:MAX_ROWS]:
        rows.append([_e(r["segment"]), _fmt(r["customers"], "int"),
                     _fmt(r["customer_share"], "pct"), _fmt(r["revenue_share"], "pct")])
    return rows, max(0, len(records) - MAX_ROWS)


def _cluster_rows(frame: Any) -> tuple[list[list[str]], int]:
    rows = []
    records = frame.to_dict(orient="records")
    for r in records[:MAX_ROWS]:
        rows.append([_e(r["cluster"]), _e(r.get("cluster_name", "")),
                     _fmt(r["customers"], "int"), _fmt(r.get("customer_share"), "pct"),
                     _fmt(r.get("revenue_share"), "pct")])
    return rows, max(0, len(records) - MAX_ROWS)


_SEGMENT_HEADERS = (("segment", False), ("customers", True), ("% cust.", True),
                    ("% revenue", True))
_CLUSTER_HEADERS = (("#", True), ("cluster", False), ("customers", True), ("% cust.", True),
                    ("% revenue", True))


# --- public ---------------------------------------------------------------------------------------
def report_html(summary: Mapping[str, Any]) -> str:
    """Notebook view of a report: the headline, segments and clusters (not the whole page)."""
    h = summary["headline"]
    facts = [("customers", _fmt(h["customers"], "int")), ("revenue", _fmt(h["revenue"], "money")),
             ("as of", h["as_of"] or "–"), ("method", summary["method"]["preset"])]
    body = _facts(facts)
    if summary["warnings"]:
        items = "".join(f"<li>{_e(w['message'])}</li>" for w in summary["warnings"])
        body += f'<ul style="margin: 6px 0; padding-left: 18px; color: #9c4221;">{items}</ul>'
    seg_rows = [[_e(r["segment"]), _fmt(r["customers"], "int"), _fmt(r["customer_share"], "pct"),
                 _fmt(r["revenue_share"], "pct")] for r in summary["segments"]["rows"]]
    body += _table(_SEGMENT_HEADERS, seg_rows[:MAX_ROWS], len(seg_rows) - MAX_ROWS)
    clusters = summary.get("clusters")
    if clusters:
        rows = [[_e(r["cluster"]), _e(r["cluster_name"]), _fmt(r["customers"], "int"),
                 _fmt(r["customer_share"], "pct"), _fmt(r["revenue_share"], "pct")]
                for r in clusters["profile"]]
        body += _table(_CLUSTER_HEADERS, rows[:MAX_ROWS], len(rows) - MAX_ROWS)
    sections = _e(", ".join(summary["sections"]))
    body += (f'<div style="{_MUTED} margin-top: 6px;">Sections: {sections}. Save the full '
             "report with <code>report.write_html(path)</code>.</div>")
    return _box(summary["title"], "", body)


def scorer_html(scorer: Any) -> str:
    """Notebook view of an :class:`~rfmkit.RFMScorer`: method, caps and the learned scale."""
    if not hasattr(scorer, "n_features_in_"):
        return _unfitted(scorer)
    caps = getattr(scorer, "caps_", {}) or {}
    if getattr(scorer, "bin_edges_", None) is not None:
        rows = []
        for metric, edges in scorer.bin_edges_.items():
            shown = [-e + 0.0 for e in edges[::-1]] if metric == "recency" else list(edges)
            rows.append([_e(metric), _fmt(scorer.n_bins_[metric], "int"),
                         _e(", ".join(_fmt(float(e)) for e in shown)),
                         _fmt(caps.get(metric))])
        body = _table((("metric", False), ("bins", True), ("edges", False), ("cap", True)), rows)
        subtitle = f"quantile scores, {scorer.n_bins} bins requested"
    else:
        rows = [[_e(m), _fmt(len(v), "int"), _fmt(caps.get(m))]
                for m, v in scorer.rank_values_.items()]
        body = _table((("metric", False), ("distinct values", True), ("cap", True)), rows)
        subtitle = "percentile scores 0-100"
    return _box("RFMScorer", subtitle, body)


def clusterer_html(clusterer: Any) -> str:
    """Notebook view of an :class:`~rfmkit.RFMClusterer`: k, why, and the centres."""
    if not hasattr(clusterer, "cluster_centers_"):
        return _unfitted(clusterer)
    names = list(getattr(clusterer, "feature_names_", None) or ["f1", "f2", "f3"])
    rows = [[_e(i), *(_fmt(float(v)) for v in centre)]
            for i, centre in enumerate(clusterer.cluster_centers_)]
    body = _table((("cluster", True), *((n, True) for n in names)), rows[:MAX_ROWS],
                  len(rows) - MAX_ROWS)
    reason = getattr(clusterer, "selection_reason_", "")
    if reason:
        body = f'<div style="{_MUTED}">{_e(reason)}</div>' + body
    return _box("RFMClusterer", f"k={clusterer.n_clusters_}, features={clusterer.features}", body)


def segmentation_html(result: Any) -> str:
    """Notebook view of a Segmentation: customers, as-of date, segments and clusters."""
    customers = len(result.customers)
    as_of = getattr(result, "as_of", None)
    body = _facts([("customers", _fmt(customers, "int")),
                   ("as of", as_of.isoformat() if as_of is not None else "–"),
                   ("rows used", f"{_fmt(result.quality.rows_used, 'int')} of "
                                 f"{_fmt(result.quality.rows_read, 'int')}")])
    rows, more = _segment_rows(result.segments)
    body += _table(_SEGMENT_HEADERS, rows, more)
    if getattr(result, "clusters", None) is not None:
        rows, more = _cluster_rows(result.clusters)
        body += _table(_CLUSTER_HEADERS, rows, more)
    return _box("Segmentation", "", body)


def model_html(model: Any) -> str:
    """Notebook view of an :class:`~rfmkit.RFMModel`: method, training data, segments, clusters."""
    if not hasattr(model, "scorer_"):
        return _unfitted(model)
    params = model.params_
    facts = [("preset", model.preset or "default"),
             ("as of", model.as_of_.isoformat() if model.as_of_ is not None else "–"),
             ("customers", _fmt(model.quality_.customers, "int")),
             ("scores", f"{params['score_method']}" + (
                 ", bins " + ", ".join(f"{m[0].upper()} {n}"
                                       for m, n in model.scorer_.n_bins_.items())
                 + f" (of {params['n_bins']})" if model.scorer_.n_bins_ is not None else "")),
             ("segment map", model.segment_map_.name)]
    if model.clusterer_ is not None:
        facts.append(("clusters", f"k={model.clusterer_.n_clusters_}: "
                                  + ", ".join(model.cluster_names_ or [])))
    else:
        facts.append(("clusters", "off"))
    body = _facts(facts)
    result = getattr(model, "result_", None)
    if result is not None:
        rows, more = _segment_rows(result.segments)
        body += _table(_SEGMENT_HEADERS, rows, more)
        if getattr(result, "clusters", None) is not None:
            rows, more = _cluster_rows(result.clusters)
            body += _table(_CLUSTER_HEADERS, rows, more)
    return _box("RFMModel", "fitted", body)
