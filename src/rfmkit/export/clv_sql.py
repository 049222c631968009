"""The CLV columns of the scoring query: P(alive), expected purchases, expected spend and CLV
computed inside the warehouse with a model's saved CLV parameters (``rfmkit sql`` with a
model.json that has a ``clv`` block, as ``rfmkit score`` adds them in Python).

Each customer's purchase events (x, t_x, T, mean repeat spend) are summarised up to the
scoring query's reference day (:func:`rfmkit.sql.clv_query.events_until_ctes`). P(alive) and
expected spend are closed forms (:mod:`rfmkit.clv.bg_nbd`, :mod:`rfmkit.clv.gamma_gamma`),
written operation by operation as Python computes them.

Expected purchases (BG/NBD's equation 10) needs the Gauss hypergeometric function, which no SQL
dialect has. Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C-A-B) 2F1(C-A, C-B; C; z), with
A = r + x, B = b + x, C = a + b + x - 1, gives

    ((alpha + T) / (alpha + T + t))^(r+x) 2F1(A, B; C; z) = (1 - z)^(a-1) F(z),
    F(z) = sum_n  rho_n z^n / ((c)(c+1)...(c+n-1)),   c = a + b - 1 + x,

where rho_n = (a+b-1-r)_n (a-1)_n / n! are constants of the fitted model (in the SQL as
literals, so no gamma function is needed) and only c depends on the customer. Its terms fall
the faster the more purchases a customer has (the original series' terms grow with x first).
The series is summed to a fixed number of terms, chosen here from the frozen parameters and
horizon so that the truncation error of every customer's expected purchases is below
:data:`TRUNCATION` (relative); see :func:`series_terms` for the bound. It is written as
Horner blocks of :data:`BLOCK` terms folded from the last one: no intermediate value is smaller
than the result (PostgreSQL raises an error on a floating-point underflow), and nesting stays
shallow (SQLGlot's parser recurses once per parenthesis and fails past about 50).

With a discount rate, CLV sums the expected purchases of each time unit of the horizon
discounted to its end, as :func:`rfmkit.clv.value.discounted_purchases` does. Summed by parts,
sum_k (E_k - E_(k-1)) d_k = sum_k E_k (d_k - d_(k+1)): constant weights, so one join with the
steps (a VALUES table) and one SUM give it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rfmkit.cleaning import CleaningRules
from rfmkit.clv.value import DAYS_PER_UNIT
from rfmkit.errors import ParameterError
from rfmkit.metric_options import MetricOptions
from rfmkit.schema import resolve_columns
from rfmkit.sql.clv_query import events_until_ctes
from rfmkit.sql.metrics_query import TEXT, MetricsQuery

#: The columns the query adds, after the RFM ones (``rfmkit score`` adds all but the spend).
CLV_COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "clv")
#: Bound on the relative error of each customer's expected purchases that the truncation of
#: the series adds: far below the 1e-9 to which the SQL and Python agree.
TRUNCATION = 1e-12
#: Most series terms written into the query (about 75 characters each; warehouses cap query
#: text near 1 MB). A 5-year horizon in weeks on the CDNOW fit needs about 1,400.
MAX_TERMS = 4000
#: Terms per Horner block, and blocks per folding CTE: the deepest nesting in the query.
BLOCK = 24
#: exp() beyond these underflows or overflows, which PostgreSQL reports as an error.
_EXP_LIMIT = 700.0
#: Blocks after the first are scaled by z^BLOCK; a z below this (T over a million horizons)
#: is raised to it there, so that z^BLOCK cannot underflow. Their terms are then below 1e-150.
_Z_FLOOR = 10.0 ** (-150.0 / BLOCK)


def _num(value: float) -> str:
    """A bare double literal in exponent form (a double in DuckDB, Spark, Snowflake and
    BigQuery; a numeric in PostgreSQL, turned into the same double next to a double column)."""
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ParameterError(f"Cannot write the non-finite number {text} into SQL.")
    return text if "e" in text else f"{text}e0"


def clv_ctes(model: Any, table: str, kinds: dict[str, str], reference_day: str) -> list[str]:
    """CTEs ending in ``clv_values``: the CLV columns of the customers of ``table`` at
    ``reference_day`` (an SQL DATE expression), with the fitted ``model.clv_``.

    The transactions are read as ``CLVModel.predict`` reads them for ``rfmkit score``: its own
    columns (else detected among the input's, as there), identical rows kept unless there is
    an order id, $0.00 rows counted as purchase days; the RFM model's date format when both
    read the same date column (it was settled on the data at fit).
    """
    clv = model.clv_
    columns = resolve_columns(list(kinds), clv.columns, source=table)
    kinds = dict(kinds)
    for col in columns.mapping.to_dict().values():
        if col is not None:
            kinds.setdefault(col, TEXT)
    date_format = clv.date_format
    if date_format is None and columns.mapping.date == model.columns_.mapping.date:
        date_format = model.metric_options_.date_format
    has_order = columns.mapping.order is not None
    query = MetricsQuery(table, columns, kinds,
                         MetricOptions(date_format=date_format, date_order=clv.date_order),
                         CleaningRules(drop_duplicates=has_order, drop_cancellations=has_order))
    return [*events_until_ctes(query, reference_day),
            *prediction_ctes("clv_events", reference_day=reference_day,
                             bg_params=clv.bg_nbd_params_, gg_params=clv.gamma_gamma_params_,
                             horizon=float(clv.horizon_), time_unit=clv.time_unit,
                             discount_rate=float(clv.discount_rate))]


# --- how many terms ---------------------------------------------------------------------------
def _ratio_sup(ap: float, bp: float, c: float, n: int) -> float:
    """sup over m >= n of |(ap + m)(bp + m)| / ((c + m)(m + 1)), for c + n > 0: the largest
    ratio of consecutive terms after term n, divided by z (a rational function: its value at
    n, at its stationary points beyond n, and its limit 1)."""
    def h(m: float) -> float:
        return abs((ap + m) * (bp + m)) / ((c + m) * (m + 1))

    p1, p0, q1, q0 = ap + bp, ap * bp, c + 1, c
    coefficients = [q1 - p1, 2 * (q0 - p0), p1 * q0 - p0 * q1]  # numerator of h'
    candidates = [float(n)]
    if any(coefficients):
        candidates += [root.real for root in np.roots(coefficients)
                       if abs(root.imag) < 1e-9 and root.real > n]
    return max(1.0, *(h(m) for m in candidates))


def series_terms(bg_params, horizon: float) -> int:
    """The number of terms of F that keeps the truncation error below :data:`TRUNCATION`.

    With R_n the ratio of terms n+1 and n, and q >= |R_m| for all m >= n (:func:`_ratio_sup`
    times z), the tail after n terms is at most |T_n| / (1 - q). It enters expected purchases
    through 1 - (1 - z)^(a-1) F, and that difference is at least |a-1| / |c| (1 - (1-z)^(r+x))
    (the posterior mean of (1 - (1 + p t / (alpha + T))^-(r+x)) / p, a decreasing function of
    p, is at least its value at p = 1). The ratio of the two bounds is largest for x = 0 or
    x = 1 (from x = 1 on, each further purchase multiplies it by at most (c + 1)/(c + n)), and
    grows with z = t / (alpha + T + t) <= t / (alpha + t): it is evaluated for x = 0, 1, 2 on
    64 values of z up to that largest one.
    """
    r, alpha, a, b = (float(v) for v in bg_params)
    if a == 1 or a + b == 1:
        raise ParameterError(
            f"BG/NBD's expected purchases are undefined for a={a!r}, b={b!r} (a = 1 or "
            "a + b = 1 divides by zero); refit the CLV model.")
    z_max = horizon / (alpha + horizon)
    z = z_max * np.linspace(1 / 64, 1, 64)
    ap, bp = a + b - 1 - r, a - 1
    needed = 1
    for x in (0, 1, 2):
        c, k = a + b - 1 + x, r + x
        scale = (np.exp((a - 1) * np.log1p(-z)) * abs(c)
                 / (abs(a - 1) * -np.expm1(k * np.log1p(-z))))
        log_term = np.zeros_like(z)  # log |T_n| at each z
        for n in range(MAX_TERMS + 1):
            if c + n > 0:
                q = z * _ratio_sup(ap, bp, c, n)
                if np.all(q < 1) and np.all(scale * np.exp(log_term) / (1 - q) <= TRUNCATION):
                    break
            factor = abs((ap + n) * (bp + n)) / (abs(c + n) * (n + 1))
            if factor == 0:  # a parameter makes the series a polynomial: it ends here
                n += 1
                break
            log_term = log_term + np.log(factor) + np.log(z)
        else:
            raise ParameterError(
                f"Expected purchases over horizon={horizon:g} with BG/NBD alpha={alpha:g}, "
                f"a={a:g}, b={b:g} need more than {MAX_TERMS} series terms in SQL (z up to "
                f"{z_max:.4f}); refit the CLV model with a shorter horizon=.")
        needed = max(needed, n)
    return needed


# --- the SQL ---------------------------------------------------------------------------------
def prediction_ctes(events: str, *, reference_day: str, bg_params, gg_params, horizon: float,
                    time_unit: str, discount_rate: float) -> list[str]:
    """CTEs ending in ``clv_values`` (``clv_customer``, ``p_alive``, ``expected_purchases``,
    ``expected_spend``, ``clv``), over the CTE ``events`` (``customer_id``, ``first_day``,
    ``last_day``, ``events``, ``repeat_spend``) summarised up to ``reference_day``."""
    r, alpha, a, b = (float(v) for v in bg_params)
    p, q, v = (float(v) for v in gg_params)
    terms = series_terms(bg_params, horizon)
    unit = _num(DAYS_PER_UNIT[time_unit])
    histories = (
        "clv_histories AS (SELECT customer_id AS clv_customer, "
        "CAST(events - 1 AS DOUBLE) AS x, "
        f"CAST(DATE_DIFF('day', first_day, last_day) AS DOUBLE) / {unit} AS t_x, "
        f"CAST(DATE_DIFF('day', first_day, {reference_day}) AS DOUBLE) / {unit} AS big_t, "
        "CASE WHEN events > 1 THEN CAST(repeat_spend AS DOUBLE) / CAST(events - 1 AS DOUBLE) "
        f"ELSE {_num(0)} END AS m_x FROM {events})"
    )
    log_odds = (f"{_num(np.log(a))} - LN({_num(b)} + x - 1) + ({_num(r)} + x) * "
                f"(LN({_num(alpha)} + big_t) - LN({_num(alpha)} + t_x))")
    people = (
        "clv_people AS (SELECT clv_customer, x, big_t, "
        f"CASE WHEN x > 0 THEN 1 / (1 + EXP(LEAST({log_odds}, {_num(_EXP_LIMIT)}))) "
        f"ELSE {_num(1)} END AS p_alive, "
        # gamma_gamma.conditional_expected_spend, in the same order of operations
        f"{_num(p)} * ({_num(v)} + m_x * x) / ({_num(p)} * x + {_num(q)} - 1) AS expected_spend "
        "FROM clv_histories)"
    )
    steps = _steps(horizon, time_unit, discount_rate)
    t = "s.step_t" if steps else _num(horizon)
    step_columns = "s.step_w, s.step_last, " if steps else ""
    joined = ""
    if steps:
        rows = ", ".join(f"({_num(end)}, {_num(weight)}, {int(last)})"
                         for end, weight, last in steps)
        joined = f" CROSS JOIN (VALUES {rows}) AS s(step_t, step_w, step_last)"
    points = (
        f"clv_points AS (SELECT h.clv_customer, h.p_alive, h.expected_spend, {step_columns}"
        f"{_num(a + b - 1)} + h.x AS c, {t} / ({_num(alpha)} + h.big_t + {t}) AS z, "
        f"LN(({_num(alpha)} + h.big_t) / ({_num(alpha)} + h.big_t + {t})) AS lv "
        f"FROM clv_people AS h{joined})"
    )
    ctes = [histories, people, points, *_series_ctes(terms, a + b - 1 - r, a - 1)]
    step_out = "step_w, step_last, " if steps else ""
    ctes.append(
        f"clv_expected AS (SELECT clv_customer, p_alive, expected_spend, {step_out}"
        f"c / {_num(a - 1)} * (1 - EXP(GREATEST({_num(a - 1)} * lv, {_num(-_EXP_LIMIT)})) "
        "* clv_h0) * p_alive AS e FROM clv_series)")
    if not steps:  # no discounting: the CLV is expected purchases times spend
        ctes.append("clv_values AS (SELECT clv_customer, p_alive, e AS expected_purchases, "
                    "expected_spend, expected_spend * e AS clv FROM clv_expected)")
    else:
        ctes.append(
            "clv_values AS (SELECT clv_customer, MAX(p_alive) AS p_alive, "
            "MAX(CASE WHEN step_last = 1 THEN e END) AS expected_purchases, "
            "MAX(expected_spend) AS expected_spend, "
            "MAX(expected_spend) * SUM(step_w * e) AS clv FROM clv_expected GROUP BY clv_customer)")
    return ctes


def _steps(horizon: float, time_unit: str, discount_rate: float) -> list[tuple[float, float, bool]]:
    """(end, weight, last) of each time unit of the horizon, as discounted_purchases steps
    (the last one partial); none without discounting."""
    if discount_rate == 0:
        return []
    ends = (np.append(np.arange(1.0, np.ceil(horizon)), horizon) if horizon > 1
            else np.array([horizon]))
    factors = [1 / (1.0 + discount_rate) ** (end * DAYS_PER_UNIT[time_unit] / 365.25)
               for end in ends]
    following = [*factors[1:], 0.0]
    return [(float(end), f - g, i == len(ends) - 1)
            for i, (end, f, g) in enumerate(zip(ends, factors, following, strict=True))]


def _series_ctes(terms: int, ap: float, bp: float) -> list[str]:
    """CTEs over ``clv_points`` (with ``c`` and ``z``) ending in ``clv_series``, which adds
    ``clv_h0`` = F: the sum of ``terms`` terms, Horner blocks folded from the last one."""
    def ratio(k: int) -> str:  # R_k = T_(k+1) / T_k
        rho = (ap + k) * (bp + k) / (k + 1)
        return f"{_num(rho)} * z / (c + {k})"

    starts = list(range(0, terms, BLOCK))
    columns = []
    for j, k0 in enumerate(starts):
        k1 = min(k0 + BLOCK, terms)
        horner = "1"
        for k in reversed(range(k0, k1 - 1)):
            horner = f"1 + {ratio(k)} * ({horner})"
        columns.append(f"{horner} AS clv_s{j}")
        if j < len(starts) - 1:  # the product of the block's ratios scales the blocks after it
            factors = " * ".join(f"({_num((ap + k) * (bp + k) / (k + 1))} / (c + {k}))"
                                 for k in range(k0, k1))
            columns.append(f"POWER(GREATEST(z, {_num(_Z_FLOOR)}), {k1 - k0}) * {factors} "
                           f"AS clv_p{j}")
    ctes = [f"clv_blocks AS (SELECT clv_points.*, {', '.join(columns)} FROM clv_points)"]
    inner, source = f"clv_s{len(starts) - 1}", "clv_blocks"
    last = len(starts) - 1
    while True:  # h_j = S_j + P_j * h_(j+1), BLOCK blocks per CTE
        first = max(last - BLOCK, 0)
        for j in reversed(range(first, last)):
            inner = f"clv_s{j} + clv_p{j} * ({inner})"
        name = "clv_series" if first == 0 else f"clv_fold{first}"
        ctes.append(f"{name} AS (SELECT {source}.*, {inner} AS clv_h{first} FROM {source})")
        if first == 0:
            return ctes
        inner, source, last = f"clv_h{first}", name, first
