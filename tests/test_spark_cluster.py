"""Spark on a real standalone cluster (a Master and a Worker on localhost, tests/spark_cluster.py),
not only local mode: the engine conformance suite and in-engine scoring run again with their
session on the cluster, and `rfmkit segment` / `rfmkit score --into` run end to end through it.

Executors run in the Worker's JVM, so whatever passes here does not rest on the driver's
process state. Each check also asserts that the cluster ran the application (its executors'
work folders), so a silent fallback to local mode would fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rfmkit.demo import write_transactions
from spark_cluster import StandaloneCluster, cluster_available
from spark_session import CLUSTER_ENV

pytestmark = [pytest.mark.spark, pytest.mark.slow]
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# the Spark tests run again on the cluster: conformance against the pandas reference, the
# Spark engine's own tests, and scoring inside the engine (lazy DataFrames, --into tables)
SUITES = ["test_engines.py", "test_engine_spark.py", "test_in_engine_scoring.py"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = cluster_available()
    if reason:
        pytest.skip(reason)
    with StandaloneCluster(tmp_path_factory.mktemp("spark-cluster"), cores=2) as running:
        yield running


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    return env


def test_the_spark_suites_pass_on_the_cluster(cluster, tmp_path):
    before = cluster.applications()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "spark", "-p", "no:cacheprovider",
         *(str(TESTS / s) for s in SUITES)],
        cwd=tmp_path, env=_env(**{CLUSTER_ENV: cluster.url}), capture_output=True, text=True,
        timeout=1500)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 150, summary  # all of them ran (125 conformance + 30), none skipped
    assert "skipped" not in summary, summary
    assert len(cluster.applications()) == len(before) + 1, "the tests' session ran elsewhere"


def _rfmkit(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "rfmkit", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_id").reset_index(drop=True)


def test_segment_and_score_into_round_trip_through_the_cluster(cluster, tmp_path):
    data = write_transactions(tmp_path / "tx.parquet", 30_000, seed=11)
    on_cluster = ["--engine", "spark", "--spark-master", cluster.url]
    before = cluster.applications()

    _rfmkit(["segment", str(data), "--out", str(tmp_path / "local"), "--clusters", "none",
             "--quiet"], tmp_path)
    _rfmkit(["segment", str(data), "--out", str(tmp_path / "spark"), "--clusters", "none",
             "--quiet", *on_cluster], tmp_path)
    local = _by_customer(pd.read_parquet(tmp_path / "local" / "customers.parquet"))
    spark = _by_customer(pd.read_parquet(tmp_path / "spark" / "customers.parquet"))
    pd.testing.assert_frame_equal(spark, local, check_exact=False, rtol=1e-12)

    # the model the cluster fitted scores the data inside Spark, into a catalog table
    model = tmp_path / "spark" / "model.json"
    _rfmkit(["score", str(data), "--model", str(model), "--into", "rfm_assignments",
             "--quiet", *on_cluster], tmp_path)
    table = tmp_path / "spark-warehouse" / "rfm_assignments"
    assert table.is_dir(), sorted(p.name for p in tmp_path.iterdir())
    scored = _by_customer(pd.read_parquet(table))
    _rfmkit(["score", str(data), "--model", str(model), "--out", str(tmp_path / "scored"),
             "--quiet"], tmp_path)
    expected = _by_customer(pd.read_parquet(tmp_path / "scored" / "customers.parquet"))
    assert len(scored) == len(expected) > 1000
    assert scored["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in ("recency", "frequency", "r_score", "f_score", "m_score", "segment"):
        assert scored[column].astype(str).tolist() == expected[column].astype(str).tolist(), column
    pd.testing.assert_series_equal(scored["monetary"], expected["monetary"],
                                   check_exact=False, rtol=1e-12, check_dtype=False)
    # both Spark runs had executors on the worker
    assert len(cluster.applications()) == len(before) + 2
