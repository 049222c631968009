"""Tests of rfmkit.export.clv_sql: the scoring query of a model with CLV parameters gives the
P(alive), expected purchases, expected spend and CLV that ``rfmkit score`` (and
``CLVModel.predict``) give, in DuckDB, PostgreSQL and Spark.

Agreement is relative, 1e-9 (or 1e-300 absolute, for values that underflow). Expected purchases
come from a truncated series in SQL and from scipy's hyp2f1 in Python; the truncation bound is
tested on its own against mpmath (:func:`test_truncation_error_is_within_its_bound`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot

import rfmkit
from pg_server import get_server
from rfmkit.clv_model import CLVBoundaryWarning
from rfmkit.errors import ParameterError
from rfmkit.export import clv_sql
from spark_session import get_session

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow_sample.parquet"
needs_cdnow = pytest.mark.skipif(not CDNOW.exists(), reason=f"{CDNOW} is not there")
COLUMNS = list(clv_sql.CLV_COLUMNS)
TOLERANCE = 1e-9

pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")


# --- helpers -------------------------------------------------------------------------------------
def save_with_clv(path: Path, out: Path, *, params: dict | None = None,
                  bg_nbd: dict | None = None) -> Path:
    """model.json at ``path`` with its CLV block's settings or BG/NBD parameters replaced."""
    data = json.loads(path.read_text())
    data["clv"]["params"].update(params or {})
    data["clv"]["bg_nbd"].update(bg_nbd or {})
    out.write_text(json.dumps(data))
    return out


def expected_values(model_path: Path, source, tmp_path: Path, as_of=None) -> pd.DataFrame:
    """What `rfmkit score` gives (P(alive), expected purchases, CLV), plus the expected spend
    of CLVModel.predict at the same date."""
    job = rfmkit.run_score(source, model_path, tmp_path / "score", as_of=as_of)
    customers = job.result.customers.set_index("customer_id")
    spend = job.model.clv_.predict(source, as_of=job.result.as_of).set_index("customer_id")
    customers["expected_spend"] = spend["expected_spend"]
    return customers


def errors(expected: pd.DataFrame, got: pd.DataFrame) -> dict[str, float]:
    """Largest relative difference per CLV column, over the same customers."""
    got = got.assign(customer_id=got["customer_id"].astype(str)).set_index("customer_id")
    assert sorted(got.index) == sorted(expected.index)
    out = {}
    for col in COLUMNS:
        a = expected[col].to_numpy(float)
        b = got.loc[expected.index, col].to_numpy(float)
        assert (np.isnan(a) == np.isnan(b)).all(), col
        keep = ~np.isnan(a)
        out[col] = float(np.max(np.abs(a[keep] - b[keep]) / np.maximum(np.abs(a[keep]), 1e-300)))
    return out


def assert_close(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    found = errors(expected, got)
    assert max(found.values()) <= TOLERANCE, found


def run_duckdb(sql: str, source, **params) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        if isinstance(source, pd.DataFrame):
            con.register("frame", source)
            con.execute("CREATE TABLE tx AS SELECT * FROM frame")
        else:
            con.execute(f"CREATE VIEW tx AS SELECT * FROM read_parquet('{source}')")
        return con.execute(sql, params or None).fetch_df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def cdnow_model(tmp_path_factory) -> Path:
    """An RFM model of CDNOW with the published CLV fit (calibration to 1997-09-30, weeks, the
    39-week holdout as horizon), saved by `rfmkit clv --model`."""
    if not CDNOW.exists():
        pytest.skip(f"{CDNOW} is not there")
    out = tmp_path_factory.mktemp("cdnow")
    rfm = rfmkit.RFMModel(n_clusters=3).fit(CDNOW)
    rfmkit.run_clv(CDNOW, out / "clv", calibration_end="1997-09-30", holdout_end="1998-06-30",
                   model=rfm, report=False)
    return out / "clv" / "model.json"


# --- DuckDB: every CDNOW customer --------------------------------------------------------------
@needs_cdnow
@pytest.mark.parametrize("as_of", [None, "1997-09-30"], ids=["latest day", "calibration end"])
@pytest.mark.parametrize("rate", [0.0, 0.1], ids=["undiscounted", "10% a year"])
def test_cdnow_every_customer_as_rfmkit_score(cdnow_model, tmp_path, as_of, rate):
    model = save_with_clv(cdnow_model, tmp_path / "model.json", params={"discount_rate": rate})
    expected = expected_values(model, CDNOW, tmp_path, as_of=as_of)
    got = run_duckdb(rfmkit.model_sql(model, source="tx", as_of=as_of), CDNOW)
    assert_close(expected, got)
    # the RFM columns are untouched, and the CLV ones come last
    assert got.columns[-4:].tolist() == COLUMNS
    assert (got["p_alive"].between(0, 1)).all() and (got["clv"] > 0).all()


@needs_cdnow
def test_in_engine_scoring_and_the_as_of_parameter(cdnow_model, tmp_path):
    """score_in_engine runs the same query; the as-of bind parameter moves the CLV date too."""
    expected = expected_values(cdnow_model, CDNOW, tmp_path, as_of="1997-09-30")
    model = rfmkit.load_model(cdnow_model)
    lazy = rfmkit.score_in_engine(model, str(CDNOW), as_of="1997-09-30")
    assert_close(expected, lazy.df())
    sql = rfmkit.model_sql_as_of_param(model, source="tx")
    assert "2999" not in sql
    import datetime as dt

    assert_close(expected, run_duckdb(sql, CDNOW, as_of=dt.date(1997, 9, 30)))


# --- extreme parameters --------------------------------------------------------------------------
def synthetic_transactions() -> pd.DataFrame:
    """Histories from none to 300 repeat days, some starting on the last day, some long
    silent: every kind of (x, t_x, T) the series meets."""
    rng = np.random.default_rng(3)
    end = pd.Timestamp("2024-12-31")
    rows = []
    for i in range(400):
        events = int(rng.choice([1, 1, 2, 3, 5, 10, 30, 100, 300]))
        span = int(rng.integers(0, 1500)) if i % 10 else 0  # some first bought on the last day
        first = end - pd.Timedelta(days=span)
        days = sorted(set([0, *rng.integers(0, span + 1, events - 1).tolist()]))
        for d in days:
            rows.append((f"c{i:03d}", first + pd.Timedelta(days=d),
                         round(float(rng.lognormal(3, 1)), 2)))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


@pytest.fixture(scope="module")
def synthetic_model(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    tx = synthetic_transactions()
    out = tmp_path_factory.mktemp("synthetic")
    rfm = rfmkit.RFMModel(n_clusters="none", as_of="2024-12-31").fit(tx)
    # nobody drops out of these transactions: the warned limit case, which the SQL must carry
    with pytest.warns(CLVBoundaryWarning, match="no sign of customers dropping out"):
        rfmkit.run_clv(tx, out / "clv", calibration_end="2024-12-31", model=rfm, report=False)
    return tx, out / "clv" / "model.json"


# (r, alpha, a, b), horizon, time unit: z = t / (alpha + T + t) up to 0.99 (2,000 terms), a near
# 0 with b huge (Online Retail's kind of fit), large a and r, a just below 1, days and months.
EXTREME = {
    "z up to 0.99": ((0.05, 0.5, 0.05, 50.0), 52.0, "week"),
    "large r and a": ((8.0, 200.0, 5.0, 0.3), 52.0, "week"),
    "a near 0, b huge": ((0.5, 10.0, 1e-4, 1e5), 26.0, "week"),
    "a just below 1": ((1.5, 3.0, 0.999, 20.0), 12.0, "month"),
    "days": ((0.3, 40.0, 0.2, 3.0), 365.0, "day"),
}


@pytest.mark.parametrize("case", EXTREME.values(), ids=EXTREME.keys())
@pytest.mark.parametrize("rate", [0.0, 0.15], ids=["undiscounted", "15% a year"])
def test_extreme_parameters_as_rfmkit_score(synthetic_model, tmp_path, case, rate):
    tx, path = synthetic_model
    (r, alpha, a, b), horizon, unit = case
    model = save_with_clv(path, tmp_path / "model.json",
                          params={"horizon": horizon, "time_unit": unit, "discount_rate": rate},
                          bg_nbd={"r": r, "alpha": alpha, "a": a, "b": b})
    expected = expected_values(model, tx, tmp_path)
    assert_close(expected, run_duckdb(rfmkit.model_sql(model, source="tx"), tx))


def test_too_many_terms_is_a_clear_error(synthetic_model, tmp_path):
    _, path = synthetic_model
    model = save_with_clv(path, tmp_path / "model.json", params={"horizon": 520.0},
                          bg_nbd={"alpha": 0.01})
    with pytest.raises(ParameterError, match=r"horizon=520 .* alpha=0\.01"):
        rfmkit.model_sql(model, source="tx")


# --- the truncation bound, against mpmath ---------------------------------------------------------
def truncated(params, t, x, T, terms, mp):
    """1 - (1 - z)^(a-1) F(z) summed to ``terms`` terms as the SQL sums it, and exactly."""
    r, alpha, a, b = (mp.mpf(v) for v in params)
    x, T, t = mp.mpf(x), mp.mpf(T), mp.mpf(t)
    z = t / (alpha + T + t)
    ap, bp, c = a + b - 1 - r, a - 1, a + b - 1 + x
    term, total = mp.mpf(1), mp.mpf(0)
    for n in range(terms):
        total += term
        term *= (ap + n) * (bp + n) / (n + 1) * z / (c + n)
    exact = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, c, z)
    return 1 - (1 - z) ** (a - 1) * total, exact


@pytest.mark.parametrize("case", [((0.2426, 4.4136, 0.7929, 2.4259), 39.0), *(
    (params, horizon) for params, horizon, _ in EXTREME.values())],
    ids=["cdnow", *EXTREME])
def test_truncation_error_is_within_its_bound(case):
    """The truncation alone (in 40-digit arithmetic) stays within clv_sql.TRUNCATION for the
    customers the bound says are the worst (x = 0 and 1, T = 0) and for others."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    params, horizon = case
    terms = clv_sql.series_terms(params, horizon)
    for x, T in [(0, 0.0), (1, 0.0), (1, 5.0), (10, 2.0), (100, 30.0)]:
        approx, exact = truncated(params, horizon, x, T, terms, mp)
        assert abs(approx - exact) <= clv_sql.TRUNCATION * abs(exact), (x, T)
        # one term fewer than the bound asks for would not always do: the bound is not lax
    approx, exact = truncated(params, horizon, 0, 0.0, terms // 2, mp)
    assert abs(approx - exact) > clv_sql.TRUNCATION * abs(exact)


def test_undefined_parameters_are_named():
    with pytest.raises(ParameterError, match=r"a=1\.0"):
        clv_sql.series_terms((0.5, 2.0, 1.0, 3.0), 10.0)


# --- other dialects ------------------------------------------------------------------------------
@needs_cdnow
@pytest.mark.parametrize("dialect", ["postgres", "spark", "snowflake", "bigquery"])
def test_transpiles_and_parses_back(cdnow_model, dialect, caplog):
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        text = rfmkit.model_sql(cdnow_model, dialect=dialect, source="shop.tx")
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    tree = sqlglot.parse_one(text, read=dialect)
    assert [c.alias_or_name for c in tree.selects][-4:] == COLUMNS
    assert "LGAMMA" not in text.upper() and "HYP" not in text.upper()


@needs_cdnow
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("rate", [0.0, 0.1], ids=["undiscounted", "10% a year"])
def test_postgres_gives_the_same_values(cdnow_model, tmp_path, rate):
    psycopg = pytest.importorskip("psycopg")
    from rfmkit.engines.postgres_tables import write_tables

    model = save_with_clv(cdnow_model, tmp_path / "model.json", params={"discount_rate": rate})
    dsn = get_server().new_database()
    write_tables(dsn, {"tx": pd.read_parquet(CDNOW)})
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(rfmkit.model_sql(model, dialect="postgres", source="tx"))
        got = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    assert_close(expected_values(model, CDNOW, tmp_path), got)


@needs_cdnow
@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("rate", [0.0, 0.1], ids=["undiscounted", "10% a year"])
def test_spark_gives_the_same_values(cdnow_model, tmp_path, rate):
    spark = get_session()
    model = save_with_clv(cdnow_model, tmp_path / "model.json", params={"discount_rate": rate})
    spark.read.parquet(str(CDNOW)).createOrReplaceTempView("clv_sql_tx")
    rows = spark.sql(rfmkit.model_sql(model, dialect="spark", source="clv_sql_tx")).collect()
    got = pd.DataFrame([r.asDict() for r in rows])
    assert_close(expected_values(model, CDNOW, tmp_path), got)
