"""A fitted model as one SQL query: transactions table in, one scored row per customer out.

The query is assembled in DuckDB's dialect from the same metric SQL the engines run
(:mod:`rfmkit.metrics_query`), extended with the frozen scoring (caps and bin edges, or the
training ranks for percentile scores), the segment map as a first-match CASE, and the nearest
cluster centre; SQLGlot then translates it for PostgreSQL, Spark, Snowflake or BigQuery.

Arithmetic follows the Python code operation by operation (same order, no POWER or LN
shortcuts), so the query gives the same scores, segments and clusters as ``rfmkit score``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlglot
from sklearn.utils.validation import check_is_fitted

from .errors import ParameterError
from .metrics_query import TEXT, MetricsQuery, quote, to_dialect
from .schema import (
    CLUSTER,
    CLUSTER_NAME,
    CUSTOMER_ID,
    F_SCORE,
    FIRST_PURCHASE,
    FREQUENCY,
    LAST_PURCHASE,
    M_SCORE,
    MONETARY,
    ORDERS,
    R_SCORE,
    RECENCY,
    REVENUE,
    RFM_CODE,
    SEGMENT,
    InputShape,
)

if TYPE_CHECKING:
    from .model import RFMModel

DIALECTS = ("duckdb", "postgres", "spark", "snowflake", "bigquery")
_METRIC_SCORE = {RECENCY: R_SCORE, FREQUENCY: F_SCORE, MONETARY: M_SCORE}
_AXIS_COLUMN = {"r": "lvl_r", "f": "lvl_f", "m": "lvl_m", "fm": "lvl_fm"}


def _num(value: float) -> str:
    """A float literal that reads back as exactly the same double."""
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ParameterError(f"Cannot write the non-finite number {text} into SQL.")
    return f"CAST({text} AS DOUBLE)"


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def model_sql(model: RFMModel, *, dialect: str = "duckdb", source: str = "transactions",
              column_kinds: dict[str, str] | None = None, as_of: dt.date | None = None) -> str:
    """One SQL query computing each customer's metrics, scores, segment and cluster.

    Parameters
    ----------
    model : RFMModel
        A fitted (or loaded) model.
    dialect : {"duckdb", "postgres", "spark", "snowflake", "bigquery"}
        Target SQL dialect.
    source : str
        The transactions (or customer-level) table; ``schema.table`` names are split on dots and
        every part is quoted.
    column_kinds : dict, optional
        Kinds of the source columns (``text``, ``integer``, ``float``, ``timestamp``, ...);
        default: the kinds seen when the model was fitted.
    as_of : datetime.date, optional
        Reference date; default the model's policy (its fixed date, or the latest purchase date
        in the table, computed inside the query).
    """
    check_is_fitted(model)
    if dialect not in DIALECTS:
        raise ParameterError(f"Unknown SQL dialect {dialect!r}. Choose one of: "
                             f"{', '.join(DIALECTS)}.")
    table = ".".join(quote(part) for part in source.split("."))
    kinds = dict(getattr(model, "column_kinds_", None) or {})
    kinds.update(column_kinds or {})
    mapping = model.columns_.mapping
    if model.columns_.shape is InputShape.CUSTOMERS:
        ctes = [
            "customers AS (SELECT "
            f"CAST({quote(mapping.customer)} AS VARCHAR) AS {quote(CUSTOMER_ID)}, "
            f"CAST({quote(mapping.recency)} AS DOUBLE) AS {quote(RECENCY)}, "
            f"CAST({quote(mapping.frequency)} AS DOUBLE) AS {quote(FREQUENCY)}, "
            f"CAST({quote(mapping.monetary)} AS DOUBLE) AS {quote(MONETARY)} FROM {table})"
        ]
        extra_columns: list[str] = []
    else:
        for col in (mapping.customer, mapping.order, mapping.date, mapping.amount,
                    mapping.quantity, mapping.price):
            if col is not None:
                kinds.setdefault(col, TEXT)
        query = MetricsQuery(table, model.columns_, kinds, model.metric_options_,
                             model.cleaning_rules_)
        fixed = as_of or model.metric_options_.as_of
        ctes = _split_ctes(query.customers_sql(fixed))
        extra_columns = [FIRST_PURCHASE, LAST_PURCHASE, ORDERS, REVENUE]
    ctes += _score_ctes(model)
    ctes.append(_segment_cte(model))
    select = [quote(CUSTOMER_ID), quote(RECENCY), quote(FREQUENCY), quote(MONETARY),
              *map(quote, extra_columns), quote(R_SCORE), quote(F_SCORE), quote(M_SCORE),
              quote(RFM_CODE), quote(SEGMENT)]
    final_from = "segmented"
    if model.clusterer_ is not None:
        ctes.append(_cluster_cte(model))
        select += [quote(CLUSTER), quote(CLUSTER_NAME)]
        final_from = "clustered"
    sql = ("WITH " + ",\n".join(ctes) + f"\nSELECT {', '.join(select)} FROM {final_from} "
           f"ORDER BY {quote(CUSTOMER_ID)}")
    return to_dialect(sql, dialect)


def _split_ctes(sql: str) -> list[str]:
    """The metric query's CTEs plus its final SELECT as a CTE named ``customers``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    with_ = tree.args.get("with")
    ctes = [] if with_ is None else [c.sql("duckdb") for c in with_.expressions]
    body = tree.copy()
    body.set("with", None)
    body.set("order", None)
    ctes.append(f"customers AS ({body.sql('duckdb')})")
    return ctes


def _score_ctes(model: RFMModel) -> list[str]:
    scorer = model.scorer_
    state = scorer.to_state()
    negated = set(state["negated"])
    values = {}
    for metric in (RECENCY, FREQUENCY, MONETARY):
        v = f"CAST(c.{quote(metric)} AS DOUBLE)"
        if metric in scorer.caps_:
            v = f"LEAST({v}, {_num(scorer.caps_[metric])})"
        values[metric] = f"-({v})" if metric in negated else v
    ctes = []
    joins = []
    exprs = []
    if scorer.method == "quantile":
        for metric, score in _METRIC_SCORE.items():
            inner = scorer.bin_edges_[metric][1:-1]
            n = scorer.n_bins_[metric]
            count = " + ".join(
                f"CASE WHEN {values[metric]} >= {_num(e)} THEN 1 ELSE 0 END" for e in inner)
            expr = f"1 + {count}" if count else "1"
            exprs.append(f"CAST(LEAST(GREATEST({expr}, 1), {n}) AS BIGINT) AS {quote(score)}")
    else:
        for i, (metric, score) in enumerate(_METRIC_SCORE.items()):
            distinct = list(map(float, scorer.rank_values_[metric]))
            counts = list(map(int, scorer.rank_counts_[metric]))
            below, rows = 0, []
            for j, (u, c) in enumerate(zip(distinct, counts, strict=True)):
                nxt = _num(distinct[j + 1]) if j + 1 < len(distinct) else "CAST(NULL AS DOUBLE)"
                rows.append(f"({_num(u)}, {nxt}, {below}, {c})")
                below += c
            name = f"ranks_{metric}"
            ctes.append(f"{name}(lo, hi, below, ties) AS (VALUES {', '.join(rows)})")
            alias = f"k{i}"
            joins.append(
                f"LEFT JOIN {name} AS {alias} ON {values[metric]} >= {alias}.lo "
                f"AND ({alias}.hi IS NULL OR {values[metric]} < {alias}.hi)")
            rank = (f"CASE WHEN {alias}.lo IS NULL THEN CAST(0.5 AS DOUBLE) "
                    f"WHEN {values[metric]} = {alias}.lo THEN CAST({alias}.below AS DOUBLE) + "
                    f"CAST({alias}.ties + 1 AS DOUBLE) / 2 "
                    f"ELSE CAST({alias}.below + {alias}.ties AS DOUBLE) + CAST(0.5 AS DOUBLE) END")
            exprs.append(
                f"LEAST(GREATEST(({rank}) / {_num(scorer.max_rank_[metric])} * 100, "
                f"CAST(0 AS DOUBLE)), CAST(100 AS DOUBLE)) AS {quote(score)}")
    ctes.append(f"scored AS (SELECT c.*, {', '.join(exprs)} FROM customers AS c "
                + " ".join(joins) + ")")
    return ctes


def _segment_cte(model: RFMModel) -> str:
    seg_map = model.segment_map_
    n_levels = model.segment_levels
    L = seg_map.levels
    levels = {}
    for axis, score in (("r", R_SCORE), ("f", F_SCORE), ("m", M_SCORE)):
        s = quote(score)
        if model.scorer_.method == "percentile":
            level = f"LEAST(FLOOR({s} * {n_levels} / 100) + 1, {n_levels})"
        else:
            level = s
        level = f"CAST({level} AS BIGINT)"
        if n_levels != L:
            level = f"CAST(FLOOR(({level} - 1) / {n_levels // L}) + 1 AS BIGINT)"
        levels[axis] = level
    whens = []
    for rule in seg_map.rules:
        boxes = []
        for box in rule.boxes:
            conds = [f"{_AXIS_COLUMN[axis]} BETWEEN {lo} AND {hi}"
                     for axis, (lo, hi) in box.items()]
            boxes.append("(" + (" AND ".join(conds) if conds else "TRUE") + ")")
        whens.append(f"WHEN {' OR '.join(boxes)} THEN {_string(rule.name)}")
    fallback = "NULL" if seg_map.fallback is None else _string(seg_map.fallback)
    segment = f"CASE {' '.join(whens)} ELSE {fallback} END"
    code_levels = [quote(R_SCORE), quote(F_SCORE), quote(M_SCORE)]
    if model.scorer_.method == "percentile":
        code_levels = [_AXIS_COLUMN[a] for a in ("r", "f", "m")]
        code_levels = [f"CAST(LEAST(FLOOR({quote(s)} * 5 / 100) + 1, 5) AS BIGINT)"
                       for s in (R_SCORE, F_SCORE, M_SCORE)]
    sep = "" if (model.scorer_.method == "percentile" or model.params_["n_bins"] <= 9) else "-"
    parts = [f"CAST({c} AS VARCHAR)" for c in code_levels]
    code = f" || '{sep}' || ".join(parts) if sep else " || ".join(parts)
    return (
        "leveled AS (SELECT s.*, "
        + ", ".join(f"{levels[a]} AS lvl_{a}" for a in ("r", "f", "m"))
        + " FROM scored AS s), "
        "segmented AS (SELECT l.*, "
        f"{code} AS {quote(RFM_CODE)}, {segment} AS {quote(SEGMENT)} FROM ("
        "SELECT leveled.*, CAST(FLOOR((lvl_f + lvl_m + 1) / 2) AS BIGINT) AS lvl_fm "
        "FROM leveled) AS l)"
    )


def _cluster_cte(model: RFMModel) -> str:
    clusterer = model.clusterer_
    centers = clusterer.cluster_centers_
    if clusterer.features == "scores":
        feats = [f"CAST({quote(c)} AS DOUBLE)" for c in (R_SCORE, F_SCORE, M_SCORE)]
    else:
        mean, scale = clusterer.feature_mean_, clusterer.feature_scale_
        raw = [f"CAST({quote(RECENCY)} AS DOUBLE)", f"CAST({quote(FREQUENCY)} AS DOUBLE)",
               f"GREATEST(CAST({quote(MONETARY)} AS DOUBLE), CAST(0 AS DOUBLE))"]
        # ln(1 + x) may differ from numpy's log1p in the last bit; see the module notes.
        feats = [f"(LN(1 + {r}) - {_num(mu)}) / {_num(sd)}"
                 for r, mu, sd in zip(raw, mean, scale, strict=True)]
    dists = []
    for center in centers:
        terms = [f"({f} - {_num(c)}) * ({f} - {_num(c)})" for f, c in zip(feats, center,
                                                                           strict=True)]
        dists.append("(" + " + ".join(terms) + ")")
    dist_cols = ", ".join(f"{d} AS d{j}" for j, d in enumerate(dists))
    least = "LEAST(" + ", ".join(f"d{j}" for j in range(len(dists))) + ")" if len(dists) > 1 \
        else "d0"
    # First centre at the minimum distance, as numpy's strict "<" scan picks it.
    pick = "CASE " + " ".join(f"WHEN d{j} = {least} THEN {j}" for j in range(len(dists))) + " END"
    ids = model.cluster_ids_
    pick = "CASE " + " ".join(
        f"WHEN d{j} = {least} THEN {ids[j]}" for j in range(len(dists))) + " END"
    names = "CASE " + " ".join(
        f"WHEN {quote(CLUSTER)} = {ids[j]} THEN {_string(name)}"
        for j, name in enumerate(model.cluster_names_)) + " END"
    return (
        f"distances AS (SELECT s.*, {dist_cols} FROM segmented AS s), "
        f"assigned AS (SELECT distances.*, CAST({pick} AS BIGINT) AS {quote(CLUSTER)} "
        "FROM distances), "
        f"clustered AS (SELECT assigned.*, {names} AS {quote(CLUSTER_NAME)} FROM assigned)"
    )
