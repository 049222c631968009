"""A Spark standalone cluster on localhost for the tests: Spark's own Master and Worker
processes (``spark-class org.apache.spark.deploy.master.Master`` / ``...worker.Worker``), started
from the PySpark installation and stopped (with their whole process groups) afterwards.

Applications connect to :attr:`StandaloneCluster.url`; their executors run in the Worker's JVM,
not in the driver, so a test passing there does not rest on the driver's state.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

START_TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


class StandaloneCluster:
    """One master and one worker (``cores`` cores, ``memory`` of executor memory)."""

    def __init__(self, folder: Path, *, cores: int = 2, memory: str = "1g") -> None:
        self.folder = Path(folder)
        self.cores, self.memory = cores, memory
        self.port = _free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.work_dir = self.folder / "work"
        self._procs: list[tuple[subprocess.Popen, Path]] = []

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP="127.0.0.1",
                   SPARK_LOG_DIR=str(self.folder / "logs"))
        # no REST submission server (a fixed port, 6066) and no web UIs: nothing to collide
        env["SPARK_MASTER_OPTS"] = "-Dspark.master.rest.enabled=false -Dspark.ui.enabled=false"
        env["SPARK_WORKER_OPTS"] = "-Dspark.ui.enabled=false"
        return env

    def _launch(self, name: str, args: list[str], ready: str) -> None:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args],
                                    stdout=out, stderr=subprocess.STDOUT, env=self._env(),
                                    start_new_session=True)
        self._procs.append((proc, log))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if ready in text:
                return
            if proc.poll() is not None:
                break
            time.sleep(0.25)
        tail = log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"Spark {name} did not start ({ready!r} not logged):\n{tail}")

    def start(self) -> StandaloneCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.work_dir.mkdir(exist_ok=True)
        self._launch("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                "--port", str(self.port), "--webui-port", str(_free_port())],
                     "I have been elected leader")
        self._launch("worker", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                "--cores", str(self.cores), "--memory", self.memory,
                                "--work-dir", str(self.work_dir),
                                "--webui-port", str(_free_port()), self.url],
                     "Successfully registered with master")
        return self

    def applications(self) -> list[str]:
        """The applications whose executors ran on the worker (their work folders)."""
        if not self.work_dir.exists():
            return []
        return sorted(p.name for p in self.work_dir.iterdir() if p.name.startswith("app-"))

    def stop(self) -> None:
        for proc, _ in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc, _ in reversed(self._procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._procs.clear()

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cluster_available() -> str | None:
    """Why no cluster can start here (None: it can)."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install 'rfmkit[spark]')"
    from rfmkit.engines.resources import java_available

    if not java_available():
        return "no Java runtime for Spark (java not on PATH, JAVA_HOME not set)"
    if not (spark_home() / "bin" / "spark-class").exists() or shutil.which("bash") is None:
        return "this PySpark installation has no bin/spark-class to start a cluster with"
    return None
