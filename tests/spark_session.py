"""One local SparkSession shared by every Spark test (starting Spark takes seconds).

The session is created on first use with the engine's cheap local settings (no UI, 4 shuffle
partitions, UTC) and stopped when the interpreter exits (:func:`get_session`). Tests skip with a
clear reason when PySpark or a Java runtime is missing.
"""

from __future__ import annotations

import atexit
import importlib.util

import pytest

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

            try:
                _SESSION = SparkEngine._new_session(
                    SparkSession, "local[2]", "rfmkit-tests", {"spark.driver.memory": "1g"})
            except EngineUnavailableError as exc:
                _FAILURE = f"Spark could not start: {exc}"
            else:
                atexit.register(_SESSION.stop)
                return _SESSION
    pytest.skip(_FAILURE)
