"""What of the machine an engine may use: worker threads, a memory limit, the folder where
DuckDB spills what does not fit in it, and (for Spark) a Java runtime.

The values are checked here, once, for every engine, so that ``threads=0`` or
``memory_limit="2 gigs"`` fail before any data is read, with the parameter named.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from rfmkit.errors import ParameterError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_FACTORS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
            "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
# below this DuckDB cannot run even a small aggregation; a typo such as "2MB" for "2GB"
SMALLEST_LIMIT = 64 * 10**6


def check_threads(threads: int | None) -> int | None:
    """``threads`` as an int of at least 1 (None: the engine's default, all cores)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ParameterError(f"threads={threads!r} must be a whole number of at least 1.")
    return threads


def memory_bytes(memory_limit: str | None) -> int | None:
    """``memory_limit`` ("2GB", "500MB", "1.5GiB") in bytes (None: the engine's default)."""
    if memory_limit is None:
        return None
    match = _SIZE.match(str(memory_limit))
    if not match:
        raise ParameterError(
            f"memory_limit={memory_limit!r} is not a size: give one such as '2GB', '500MB' or "
            "'1.5GiB'.")
    size = int(float(match.group(1)) * _FACTORS[match.group(2).upper()])
    if size < SMALLEST_LIMIT:
        raise ParameterError(
            f"memory_limit={memory_limit!r} is below 64MB, too little to aggregate in; "
            "give at least '64MB' (a limit such as '2GB' is typical).")
    return size


def spark_settings(master: str, threads: int | None,
                   memory: int | None) -> tuple[str, dict[str, str]]:
    """The master URL and settings that give a new Spark session ``threads`` cores and
    ``memory`` bytes: a local master runs everything in the driver, a cluster in executors."""
    local = master.startswith("local")
    config = {}
    if threads is not None:
        if local:
            master = f"local[{threads}]"
        else:
            config["spark.cores.max"] = str(threads)
    if memory is not None:
        key = "spark.driver.memory" if local else "spark.executor.memory"
        config[key] = f"{max(memory // 2**20, 1)}m"  # Spark's notation: whole mebibytes
    return master, config


def java_available() -> bool:
    """Whether a Java runtime is there for Spark: JAVA_HOME's, or ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return True
    return shutil.which("java") is not None


def spill_folder(parent: str | None = None) -> tempfile.TemporaryDirectory:
    """A private folder for DuckDB's spill files, removed on ``cleanup()`` (or when the engine
    is garbage-collected unclosed).

    DuckDB's own default is ``.tmp`` in the current directory: a scheduled job would leave it
    in whatever folder it ran from, and two runs would share it.
    """
    return tempfile.TemporaryDirectory(prefix="rfmkit-spill-", dir=parent,
                                       ignore_cleanup_errors=True)
