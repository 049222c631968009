"""One local SparkSession shared by every Spark test (starting Spark takes seconds).

The session is created on first use with the engine's cheap local settings (no UI, 4 shuffle
partitions, UTC), on the standalone cluster named by RFMKIT_TEST_SPARK_MASTER if set, and
stopped when the interpreter exits (:func:`get_session`). Tests skip with a
clear reason when PySpark or a Java runtime is missing.
"""

from __future__ import annotations

import atexit
import importlib.util
import os

import pytest

#: the master URL of a standalone cluster to run the Spark tests on, instead of local mode
CLUSTER_ENV = "RFMKIT_TEST_SPARK_MASTER"
_SESSION = None
_FAILURE: str | None = None


def get_session():
    """The shared session, created on first call (skips the calling test when impossible)."""
    global _SESSION, _FAILURE
    if _SESSION is not None:
        return _SESSION
    if _FAILURE is None and importlib.util.find_spec("pyspark") is None:
        _FAILURE = "PySpark is not installed (pip install 'rfmkit[spark]')"
    if _FAILURE is None:
        from rfmkit.engines.resources import java_available
        from rfmkit.engines.spark import SparkEngine

        if not java_available():
            _FAILURE = "no Java runtime for Spark (java not on PATH, JAVA_HOME not set)"
        else:
            from pyspark.sql import SparkSession

            from rfmkit.errors import EngineUnavailableError

            # tests/test_spark_cluster.py runs the Spark tests again on a standalone cluster
            master = os.environ.get(CLUSTER_ENV, "local[2]")
            config = {"spark.driver.memory": "1g"}
            if not master.startswith("local"):
                config.update({"spark.driver.host": "127.0.0.1",
                               "spark.driver.bindAddress": "127.0.0.1",
                               "spark.executor.memory": "1g"})
            try:
                _SESSION = SparkEngine._new_session(SparkSession, master, "rfmkit-tests", config)
            except EngineUnavailableError as exc:
                _FAILURE = f"Spark could not start: {exc}"
            else:
                atexit.register(_SESSION.stop)
                return _SESSION
    pytest.skip(_FAILURE)
