"""A fitted model as one SQL query: transactions table in, one scored row per customer out.

The query is assembled in DuckDB's dialect from the same metric SQL the engines run
(:mod:`rfmkit.sql.metrics_query`), extended with the frozen scoring (caps and bin edges, or the
training ranks for percentile scores), the segment map as a first-match CASE, and the nearest
cluster centre; SQLGlot then translates it for PostgreSQL, Spark, Snowflake or BigQuery.

Arithmetic follows the Python code operation by operation (same order, no POWER shortcuts),
so the query gives the same metrics, scores, segments and clusters as ``rfmkit score``
(tests/test_sql_export.py compares every customer). One exception: clusters on log metrics
use ``LN(1 + x)`` for numpy's ``log1p(x)``; the two may differ in the last bit, which moves a
customer only if it lies within about 1e-16 of the boundary between two clusters.

For PostgreSQL and Spark the query is translated as their engines translate the metric SQL
(guarded parsing of text numbers and dates); for BigQuery the exact money type becomes
``ROUND(CAST(x AS BIGNUMERIC), 6)`` (see :func:`translate`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlglot
from sklearn.utils.validation import check_is_fitted
from sqlglot import exp

from rfmkit.errors import ParameterError
from rfmkit.export.clv_sql import CLV_COLUMNS, clv_ctes
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import (
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
from rfmkit.scoring.bins import _constant_score
from rfmkit.scoring.ranks import CONSTANT_PERCENTILE
from rfmkit.sql.clv_query import WITH_ARG
from rfmkit.sql.metrics_query import MONEY, TEXT, MetricsQuery, id_text, quote, to_dialect

if TYPE_CHECKING:
    from rfmkit.model import RFMModel
from rfmkit.sql.dialects import postgres_sql, spark_sql

DIALECTS = ("duckdb", "postgres", "spark", "snowflake", "bigquery")
_METRIC_SCORE = {RECENCY: R_SCORE, FREQUENCY: F_SCORE, MONETARY: M_SCORE}
_AXIS_COLUMN = {"r": "lvl_r", "f": "lvl_f", "m": "lvl_m", "fm": "lvl_fm"}


def _num(value: float) -> str:
    """A float literal that reads back as exactly the same double."""
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ParameterError(f"Cannot write the non-finite number {text} into SQL.")
    return f"CAST({text} AS DOUBLE)"


def _float_literal(value: float) -> str:
    """A bare floating-point literal (exponent form, so it is read as a double, not a decimal,
    and reads back as exactly the same double); cheaper to parse than a CAST in long lists."""
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ParameterError(f"Cannot write the non-finite number {text} into SQL.")
    return text if "e" in text else f"{text}e0"


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def model_sql(model: RFMModel | str | os.PathLike, *, dialect: str = "duckdb",
              source: str | Sequence[str] = "transactions",
              column_kinds: dict[str, str] | None = None,
              as_of: dt.date | str | None = None) -> str:
    """One SQL query computing each customer's metrics, scores, segment and cluster.

    Parameters
    ----------
    model : RFMModel or path
        A fitted (or loaded) model, or the path of its model.json.
    dialect : {"duckdb", "postgres", "spark", "snowflake", "bigquery"}
        Target SQL dialect.
    source : str or sequence of str
        The transactions (or customer-level) table; ``schema.table`` names are split on dots and
        every part is quoted. A sequence gives the parts as they are (a part may hold a dot).
    column_kinds : dict, optional
        Kinds of the source columns (``text``, ``integer``, ``float``, ``timestamp``, ...);
        default: the kinds seen when the model was fitted.
    as_of : datetime.date or str, optional
        Reference date (a date, or ISO text such as ``"2011-12-09"``): rows after it are left
        out and recency counts from it. Default: the model's policy (its fixed date, or the
        latest purchase date in the table, computed inside the query).
    """
    if isinstance(model, (str, os.PathLike)):
        from rfmkit.export.persistence import load_model

        model = load_model(model)
    check_is_fitted(model)
    if as_of is not None:
        as_of = MetricOptions(as_of=as_of).as_of  # a date, datetime or ISO text; checked
    if dialect not in DIALECTS:
        raise ParameterError(f"Unknown SQL dialect {dialect!r}. Choose one of: "
                             f"{', '.join(DIALECTS)}.")
    parts = source.split(".") if isinstance(source, str) else list(source)
    table = ".".join(quote(part) for part in parts)
    kinds = dict(getattr(model, "column_kinds_", None) or {})
    kinds.update(column_kinds or {})
    mapping = model.columns_.mapping
    if model.columns_.shape is InputShape.CUSTOMERS:
        ctes = [
            # the id as the engines read it: trimmed text, integral float ids without ".0"
            "customers AS (SELECT "
            f"{id_text(mapping.customer, kinds.get(mapping.customer, TEXT))} "
            f"AS {quote(CUSTOMER_ID)}, "
            f"CAST({quote(mapping.recency)} AS DOUBLE) AS {quote(RECENCY)}, "
            f"CAST({quote(mapping.frequency)} AS DOUBLE) AS {quote(FREQUENCY)}, "
            f"CAST({quote(mapping.monetary)} AS DOUBLE) AS {quote(MONETARY)} FROM {table})"
        ]
        extra_columns: list[str] = []
        if getattr(model, "clv_", None) is not None:
            raise ParameterError(
                "This model scores a customer-level table, but its CLV parameters need the "
                "transactions (purchase days); save the CLV model with a model fitted on them.")
    else:
        for col in (mapping.customer, mapping.order, mapping.date, mapping.amount,
                    mapping.quantity, mapping.price):
            if col is not None:
                kinds.setdefault(col, TEXT)
        options = model.metric_options_
        if as_of is not None:  # the given date both filters rows and is the reference date
            options = MetricOptions(**{**options.to_dict(), "as_of": as_of})
        query = MetricsQuery(table, model.columns_, kinds, options, model.cleaning_rules_)
        ctes = _split_ctes(query.customers_sql(options.as_of))
        extra_columns = [FIRST_PURCHASE, LAST_PURCHASE, ORDERS, REVENUE]
        if getattr(model, "clv_", None) is not None:
            # written as SQLGlot writes the metric CTEs' date, which --as-of-param replaces
            day = sqlglot.parse_one(query.reference_day_sql(options.as_of), read="duckdb")
            ctes += clv_ctes(model, table, kinds, day.sql("duckdb"))
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
    if getattr(model, "clv_", None) is not None:  # as `rfmkit score`: the RFM customers
        ctes.append(f"valued AS (SELECT f.*, {', '.join(f'v.{c}' for c in CLV_COLUMNS)} "
                    f"FROM {final_from} AS f LEFT JOIN clv_values AS v "
                    f"ON f.{quote(CUSTOMER_ID)} = v.clv_customer)")
        select += list(CLV_COLUMNS)
        final_from = "valued"
    sql = ("WITH " + ",\n".join(ctes) + f"\nSELECT {', '.join(select)} FROM {final_from} "
           f"ORDER BY {quote(CUSTOMER_ID)}")
    return translate(sql, dialect)


def translate(sql: str, dialect: str) -> str:
    """Translate the DuckDB query into ``dialect`` with the engines' own translations.

    PostgreSQL and Spark use the translations their engines run (lenient parsing of text
    numbers and dates, which SQLGlot alone maps to failing casts: :mod:`rfmkit.sql.dialects`).
    For BigQuery, DuckDB's ``DECIMAL(38, 6)``
    (used to sum amounts exactly) has no equivalent NUMERIC (at most 29 integer digits) and
    SQLGlot writes a bare BIGNUMERIC, whose 38-digit scale would round amounts differently;
    it becomes ``ROUND(CAST(x AS BIGNUMERIC), 6)``, which rounds half away from zero to six
    decimals, as DuckDB's cast does.
    """
    if dialect == "postgres":
        return postgres_sql(sql)
    if dialect == "spark":
        return spark_sql(sql)
    if dialect == "bigquery":
        money = exp.DataType.build(MONEY, dialect="duckdb")
        tree = sqlglot.parse_one(sql, read="duckdb")

        def round_money(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Cast) and node.to == money:
                scale = int(money.expressions[1].this.this)
                return exp.Round(
                    this=exp.Cast(this=node.this,
                                  to=exp.DataType.build("BIGNUMERIC", dialect="bigquery")),
                    decimals=exp.Literal.number(scale))
            return node

        return tree.transform(round_money).sql("bigquery", pretty=True)
    return to_dialect(sql, dialect)


def _split_ctes(sql: str) -> list[str]:
    """The metric query's CTEs plus its final SELECT as a CTE named ``customers``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = [c.sql("duckdb") for c in tree.ctes]
    body = tree.copy()
    body.set(WITH_ARG, None)
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
    if scorer.method == "quantile":
        exprs = []
        for metric, score in _METRIC_SCORE.items():
            inner = scorer.bin_edges_[metric][1:-1]
            n = scorer.n_bins_[metric]
            count = " + ".join(
                f"CASE WHEN {values[metric]} >= {_num(e)} THEN 1 ELSE 0 END" for e in inner)
            expr = f"1 + {count}" if count else "1"
            if n == 1:  # constant at fit: the middle score, as RFMScorer gives it
                expr = n = _constant_score(scorer.n_bins)
            exprs.append(f"CAST(LEAST(GREATEST({expr}, 1), {n}) AS BIGINT) AS {quote(score)}")
        return [f"scored AS (SELECT c.*, {', '.join(exprs)} FROM customers AS c)"]
    return _rank_ctes(scorer, values)


def _rank_ctes(scorer, values: dict[str, str]) -> list[str]:
    """Percentile scores: each customer's rank among the training customers, as
    :meth:`RFMScorer._rank_scores` computes it, found with one window scan instead of a join.

    The training values (per metric: value, customers below it, customers up to and including
    it) and the customers' values are put in one list, sorted by value with training rows first
    on ties; for a customer row, the running maximum of ``below`` and ``upto`` over the training
    rows so far are those of the largest training value <= the customer's value (both grow with
    the value). A customer equal to that value gets ``below + (ties + 1) / 2``, one between two
    values ``upto + 0.5``, one below every training value 0.5: sums of integers and halves,
    exact in double precision, as in numpy.

    A range join (``lo <= v < hi``) would be shorter, but PostgreSQL estimates it at thousands
    of rows per customer and compiles the query with JIT for over a minute; the window scan
    costs one sort in every engine. Training values are bare double literals (quick to parse;
    warehouses limit query text to about 1 MB), in ``(VALUES ...) AS t(...)``, whose column
    names SQLGlot carries into every dialect (BigQuery: UNNEST of named STRUCTs).
    """
    rows = []
    for index, metric in enumerate(_METRIC_SCORE):
        below = 0
        for u, c in zip(scorer.rank_values_[metric], scorer.rank_counts_[metric], strict=True):
            rows.append(f"({index}, {_float_literal(u)}, {below}, {below + int(c)})")
            below += int(c)
    cid = quote(CUSTOMER_ID)
    points = [
        f"SELECT c.{cid} AS cid, {index} AS metric, {values[metric]} AS x, 1 AS kind, "
        "CAST(NULL AS BIGINT) AS below, CAST(NULL AS BIGINT) AS upto FROM customers AS c"
        for index, metric in enumerate(_METRIC_SCORE)
    ]
    points.append(
        "SELECT CAST(NULL AS VARCHAR) AS cid, t.metric AS metric, CAST(t.x AS DOUBLE) AS x, "
        "0 AS kind, CAST(t.below AS BIGINT) AS below, CAST(t.upto AS BIGINT) AS upto "
        f"FROM (VALUES {', '.join(rows)}) AS t(metric, x, below, upto)")
    # The default window frame (RANGE ... CURRENT ROW) includes the peers with the same (x,
    # kind): other customers (who add nothing) but never another training value. x and kind
    # are never NULL; NULLS FIRST is BigQuery's and Spark's default, so SQLGlot need not add
    # a NULLS clause that BigQuery does not accept in a window of an aggregate.
    window = "OVER (PARTITION BY metric ORDER BY x NULLS FIRST, kind NULLS FIRST)"
    scan = (
        "rank_scan AS (SELECT cid, metric, x, kind, "
        f"MAX(CASE WHEN kind = 0 THEN x END) {window} AS lo, "
        f"MAX(below) {window} AS below, MAX(upto) {window} AS upto FROM rank_points)"
    )
    rank = ("CASE WHEN lo IS NULL THEN CAST(0.5 AS DOUBLE) "
            "WHEN x = lo THEN CAST(below AS DOUBLE) + CAST(upto - below + 1 AS DOUBLE) / 2 "
            "ELSE CAST(upto AS DOUBLE) + CAST(0.5 AS DOUBLE) END")
    ranks = ("ranks AS (SELECT cid, " + ", ".join(
        f"MAX(CASE WHEN metric = {index} THEN {rank} END) AS rank_{index}"
        for index in range(len(_METRIC_SCORE))) + " FROM rank_scan WHERE kind = 1 GROUP BY cid)")
    exprs = [
        # constant at fit: the middle score, as RFMScorer gives it
        f"{_num(CONSTANT_PERCENTILE)} AS {quote(score)}"
        if len(scorer.rank_values_[metric]) == 1 else
        f"LEAST(GREATEST(k.rank_{index} / {_num(scorer.max_rank_[metric])} * 100, "
        f"CAST(0 AS DOUBLE)), CAST(100 AS DOUBLE)) AS {quote(score)}"
        for index, (metric, score) in enumerate(_METRIC_SCORE.items())
    ]
    return [
        "rank_points AS (" + " UNION ALL ".join(points) + ")",
        scan,
        ranks,
        f"scored AS (SELECT c.*, {', '.join(exprs)} FROM customers AS c "
        f"JOIN ranks AS k ON c.{cid} = k.cid)",
    ]


def _segment_cte(model: RFMModel) -> str:
    seg_map = model.segment_map_
    n_levels = model.segment_levels
    L = seg_map.levels
    levels = {}
    for axis, score in (("r", R_SCORE), ("f", F_SCORE), ("m", M_SCORE)):
        s = quote(score)
        realised = model.realised_levels.get(score, n_levels)
        if model.scorer_.method == "percentile":
            level = f"LEAST(FLOOR({s} * {n_levels} / 100) + 1, {n_levels})"
        elif realised >= n_levels:
            level = s
        elif realised <= 1:  # as scoring.levels.spread_levels: ties merged bins
            level = str((n_levels + 1) // 2)
        else:
            level = (f"1 + FLOOR(CAST(2 * ({s} - 1) * {n_levels - 1} + {realised - 1} AS DOUBLE)"
                     f" / {2 * (realised - 1)})")
        level = f"CAST({level} AS BIGINT)"
        if n_levels != L:  # as segments.assignment.rescale_levels: by quantile position
            level = (f"CAST(FLOOR(CAST((2 * {level} - 1) * {L} AS DOUBLE) / {2 * n_levels}) "
                     "+ 1 AS BIGINT)")
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
    if model.scorer_.method == "percentile":  # rfm_code shows percentile scores as 5 levels
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
        # LN(1 + x) may differ from numpy's log1p in the last bit; see the module notes.
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
