"""Engine conformance: every engine equals the pandas reference (tests/reference.py).

Adding an engine: append its name to ``ENGINES`` and define a module-scoped fixture named
``<name>_engine`` that builds it (skipping when its dependency or server is missing), e.g.::

    @pytest.fixture(scope="module")
    def spark_engine():
        pytest.importorskip("pyspark")
        engine = get_engine("spark")
        yield engine
        engine.close()

Every test taking ``engine`` then runs once per engine. Results are compared sorted by
customer_id: integers and timestamps exactly, floats to 1e-9 relative.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pandas as pd
import pytest

from reference import assert_same_customers, reference_rfm
from rfmkit.cleaning import DROP_REASONS, CleaningRules
from rfmkit.engines import ENGINE_NAMES, Engine, get_engine
from rfmkit.engines.duckdb import DuckDBEngine
from rfmkit.errors import EngineUnavailableError, ParameterError
from rfmkit.metric_options import MetricOptions
from rfmkit.metrics import compute_rfm
from rfmkit.schema import ColumnMapping, InputShape

ENGINES = [
    "duckdb",
    # under a memory limit DuckDB counts orders in two GROUP BYs (they can spill): same answers
    "duckdb_limited",
    pytest.param("spark", marks=pytest.mark.spark),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module", params=ENGINES)
def engine_name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def duckdb_engine():
    engine = DuckDBEngine()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def duckdb_limited_engine():
    engine = DuckDBEngine(memory_limit="1GB", threads=1)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def spark_engine():
    """Spark in local mode on the shared test session (skips without PySpark or Java)."""
    from rfmkit.engines.spark import SparkEngine
    from spark_session import get_session

    engine = SparkEngine(get_session())
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def postgres_engine():
    """A fresh database on the throwaway test server (skips without initdb/pg_ctl); local
    files are uploaded into temporary tables and processed there."""
    from pg_server import get_server
    from rfmkit.engines.postgres import PostgresEngine

    engine = PostgresEngine(get_server().new_database())
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def engine(engine_name, request) -> Engine:
    """The engine under test, built by the ``<engine_name>_engine`` fixture."""
    return request.getfixturevalue(f"{engine_name}_engine")


# --- the synthetic data sets, as files every engine can read -------------------------------------

DATASETS = {
    # text customer ids (padded, blank, missing), text order ids with "C" cancellations and a few
    # missing, typed timestamps with times of day (a few missing), quantity x unit price
    "text_ids": dict(customer="CustomerID", order="InvoiceNo", date="InvoiceDate",
                  quantity="Quantity", price="UnitPrice"),
    # float customer ids with NaN (12346.0), integer order ids, text dates and text amounts with
    # unparseable and non-finite values
    "float_ids": dict(customer="CustomerId", order="OrderId", date="OrderDate",
                   amount="OrderAmount"),
}


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory, synthetic_lines, synthetic_orders):
    """Each synthetic table as Parquet, and the table as read back (what the reference sees)."""
    folder = tmp_path_factory.mktemp("synthetic")
    files = {}
    for name, df in (("text_ids", synthetic_lines), ("float_ids", synthetic_orders)):
        path = folder / f"{name}.parquet"
        df.to_parquet(path, index=False)
        files[name] = (path, pd.read_parquet(path))
    return files


def _options_grid(dataset: str):
    """Every combination for "text_ids"; for "float_ids" the metric definitions x returns
    policy, with duplicates and as-of alternating (the full product adds time, not coverage)."""
    grid = itertools.product(
        ["orders", "days", "rows"], ["sum", "mean"], [False, True], ["drop", "net"],
        [True, False], [None, dt.date(2022, 9, 30)],
    )
    for frequency, monetary, consolidate, returns, dupes, as_of in grid:
        if dataset == "float_ids" and dupes != (as_of is None):
            continue
        if dataset == "float_ids" and (consolidate == (returns == "net")) != dupes:
            continue
        yield pytest.param(
            dataset,
            MetricOptions(as_of=as_of, frequency=frequency, monetary=monetary,
                          consolidate_days=consolidate),
            CleaningRules(returns=returns, drop_duplicates=dupes),
            id=f"{dataset}-{frequency}-{monetary}-{'days' if consolidate else 'rows'}-{returns}-"
               f"{'dedup' if dupes else 'dupes'}-{'asof' if as_of else 'latest'}",
        )


def _reference(df, columns, options, rules):
    return reference_rfm(
        df, **columns, as_of=options.as_of, frequency=options.frequency,
        monetary=options.monetary, consolidate_days=options.consolidate_days,
        returns=rules.returns, drop_cancellations=rules.drop_cancellations,
        cancellation_prefix=rules.cancellation_prefix, drop_duplicates=rules.drop_duplicates,
        date_format=options.date_format,
    )


def assert_matches_reference(result, ref):
    assert_same_customers(result.customers, ref.customers)
    quality = result.quality.to_dict()
    assert quality["dropped"] == ref.dropped
    # the amount the dropped rows carried, per reason (not measured: duplicates, bad amounts)
    assert {r: quality["dropped_revenue"][r] for r in ref.dropped_revenue} == pytest.approx(
        ref.dropped_revenue, rel=1e-9, abs=1e-6)
    assert quality["rows_read"] == ref.rows_read
    assert quality["rows_used"] == ref.rows_used
    assert quality["customers"] == len(ref.customers)
    assert quality["customers_without_purchases"] == ref.customers_without_purchases
    assert result.as_of == ref.as_of


@pytest.mark.parametrize("dataset, options, rules",
                         [*_options_grid("text_ids"), *_options_grid("float_ids")])
def test_every_option_combination_matches_the_reference(engine, synthetic_files, dataset,
                                                       options, rules):
    path, df = synthetic_files[dataset]
    result = compute_rfm(path, options=options, cleaning=rules, engine=engine)
    assert_matches_reference(result, _reference(df, DATASETS[dataset], options, rules))


def test_synthetic_data_exercises_every_rule(synthetic_files):
    # guards the conformance grid against a generator that stops producing messy rows
    for name, (_, df) in synthetic_files.items():
        ref = _reference(df, DATASETS[name], MetricOptions(as_of=dt.date(2022, 9, 30)),
                         CleaningRules())
        expected_reasons = set(DROP_REASONS)
        if name == "float_ids":  # integer order ids: never a "C" invoice
            expected_reasons.discard("cancellation")
        else:  # typed numbers
            expected_reasons.discard("unparseable_amount")
        assert {r for r, n in ref.dropped.items() if n > 0} == expected_reasons, ref.dropped
        net = _reference(df, DATASETS[name], MetricOptions(consolidate_days=True),
                         CleaningRules(returns="net"))
        assert net.customers_without_purchases > 0


def test_cancellation_prefix_and_kept_cancellations_match_the_reference(engine, synthetic_files):
    path, df = synthetic_files["text_ids"]
    for rules in (CleaningRules(drop_cancellations=False, returns="net"),
                  CleaningRules(cancellation_prefix="5001")):
        result = compute_rfm(path, cleaning=rules, engine=engine)
        assert_matches_reference(result, _reference(df, DATASETS["text_ids"], MetricOptions(),
                                                     rules))


def test_shuffled_rows_give_identical_results(engine, synthetic_lines, tmp_path):
    options = MetricOptions(frequency="days", monetary="mean", consolidate_days=True)
    rules = CleaningRules(returns="net")
    results = []
    for seed in (0, 1, 2):
        path = tmp_path / f"shuffled_{seed}.parquet"
        synthetic_lines.sample(frac=1.0, random_state=seed).to_parquet(path, index=False)
        results.append(compute_rfm(path, options=options, cleaning=rules, engine=engine))
    for other in results[1:]:
        pd.testing.assert_frame_equal(other.customers, results[0].customers, check_exact=True)
        assert other.quality.to_dict() | {"source": ""} == (
            results[0].quality.to_dict() | {"source": ""})


# --- real data (skipped when ../shared/data is absent) -------------------------------------------

def _real(shared_data, name):
    path = shared_data / name
    if not path.is_file():
        pytest.skip(f"real data set {path} is not available")
    return path


@pytest.mark.slow
def test_online_retail_method_q_matches_the_reference(engine, shared_data):
    path = _real(shared_data, "online_retail.parquet")
    options = MetricOptions(frequency="days", monetary="mean", consolidate_days=True)
    rules = CleaningRules(drop_duplicates=False)
    result = compute_rfm(path, options=options, cleaning=rules, engine=engine)
    ref = _reference(pd.read_parquet(path), dict(
        customer="CustomerID", order="InvoiceNo", date="InvoiceDate", quantity="Quantity",
        price="UnitPrice"), options, rules)
    assert len(ref.customers) == 4338
    assert_matches_reference(result, ref)


@pytest.mark.slow
def test_cdnow_with_default_options_matches_the_reference(engine, shared_data):
    path = _real(shared_data, "cdnow.parquet")
    result = compute_rfm(path, engine=engine)
    assert result.columns.mapping.order is None  # orders shape, no order column
    ref = _reference(pd.read_parquet(path), dict(customer="customer_id", date="date",
                                                 amount="amount"),
                     MetricOptions(), CleaningRules())
    assert len(ref.customers) > 23_000
    assert result.customers["customer_id"].iloc[0] == "00001"  # leading zeros kept
    assert_matches_reference(result, ref)


@pytest.mark.slow
def test_online_retail_ii_is_detected_and_matches_the_reference(engine, shared_data):
    path = _real(shared_data, "online_retail_ii_2009_2010.parquet")
    result = compute_rfm(path, engine=engine)
    columns = dict(customer="Customer ID", order="Invoice", date="InvoiceDate",
                   quantity="Quantity", price="Price")
    assert result.columns.mapping == ColumnMapping(**columns)
    assert result.columns.shape is InputShape.LINE_ITEMS
    ref = _reference(pd.read_parquet(path), columns, MetricOptions(), CleaningRules())
    assert_matches_reference(result, ref)


# --- DuckDB specifics ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def large_lines(tmp_path_factory, synthetic_lines):
    """~300k rows (several DuckDB row groups, so scans really run in parallel)."""
    parts = [
        synthetic_lines.assign(CustomerID=synthetic_lines["CustomerID"].map(
            lambda c, i=i: None if c is None else f"{c}-{i}"))
        for i in range(60)
    ]
    path = tmp_path_factory.mktemp("large") / "large.parquet"
    pd.concat(parts, ignore_index=True).to_parquet(path, index=False, row_group_size=20_000)
    return path


@pytest.mark.parametrize(
    "options, rules",
    [(MetricOptions(), CleaningRules()),
     (MetricOptions(frequency="days", monetary="mean", consolidate_days=True),
      CleaningRules(returns="net", drop_duplicates=False))],
    ids=["defaults", "method_q_net"],
)
def test_duckdb_thread_count_never_changes_results(large_lines, options, rules):
    results = []
    for threads in (1, 2):
        engine = DuckDBEngine(threads=threads)
        try:
            assert engine.con.execute("SELECT current_setting('threads')").fetchone()[0] == (
                threads)
            results.append(compute_rfm(large_lines, options=options, cleaning=rules,
                                       engine=engine))
        finally:
            engine.close()
    one, two = results
    assert len(one.customers) > 10_000
    pd.testing.assert_frame_equal(one.customers, two.customers, check_exact=True)
    assert one.quality.to_dict() == two.quality.to_dict()


def test_get_engine():
    assert get_engine("duckdb").name == "duckdb"
    own = DuckDBEngine()
    assert get_engine(own) is own
    own.close()
    assert set(ENGINE_NAMES) >= {"duckdb", "spark", "postgres"}
    with pytest.raises(ParameterError, match=r"Unknown engine 'oracle'.*duckdb"):
        get_engine("oracle")


def test_missing_optional_engine_names_the_install_command(monkeypatch):
    import rfmkit.engines as engines

    # a registered engine whose module cannot be imported (as when an extra is not installed)
    monkeypatch.setitem(engines._ENGINES, "teradata",
                        ("rfmkit.engines.no_such_module", "TeradataEngine", "teradata"))
    from rfmkit.errors import install_hint

    with pytest.raises(EngineUnavailableError, match=re.escape(install_hint("teradata"))):
        get_engine("teradata")


class _CountingStores:
    """A DuckDB engine that records the queries it is asked to keep (stores) and the ones it
    runs for frames: how many passes over the rows the metric flow makes."""

    def __init__(self):
        from rfmkit.engines.duckdb import DuckDBEngine

        engine = DuckDBEngine()
        self.stores: list[str] = []
        self.frames: list[str] = []
        store, frame = engine._store, engine._frame
        engine._store = lambda sql: (self.stores.append(sql), store(sql))[1]
        engine._frame = lambda sql: (self.frames.append(sql), frame(sql))[1]
        self.engine = engine


@pytest.mark.parametrize("consolidate_days", [False, True])
def test_duckdb_reads_the_rows_in_one_pass_unless_consolidating(synthetic_files,
                                                                consolidate_days):
    path, df = synthetic_files["text_ids"]
    options = MetricOptions(consolidate_days=consolidate_days)
    counting = _CountingStores()
    try:
        result = compute_rfm(path, options=options, engine=counting.engine)
    finally:
        counting.engine.close()
    assert len(counting.frames) == 1  # the per-customer rollup, cleaning counts included
    # per-day consolidation reads the rows twice (days, orders): typed and deduplicated once
    assert len(counting.stores) == (1 if consolidate_days else 0)
    assert_matches_reference(result, _reference(df, DATASETS["text_ids"], options,
                                                 CleaningRules()))
