"""Writing a segmentation to files and databases, all or nothing.

Files are written into a hidden temporary folder beside the destination and renamed into place
only after every file succeeded, so a failed run never leaves partial output behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from rfmkit.errors import ParameterError
from rfmkit.sql.metrics_query import quote
from rfmkit.model import RFMModel, Segmentation

FORMATS = ("parquet", "csv")


def segmentation_files(result: Segmentation, *, fmt: str = "parquet",
                       model: RFMModel | None = None, report: bool = True,
                       chart_executor: Executor | None = None
                       ) -> dict[str, Callable[[Path], None]]:
    """File name -> writer, for every output of one run (for :func:`write_files`).

    With ``model``, also ``model.json`` and (unless ``report=False``) ``report.html``, whose
    charts ``chart_executor`` (:func:`rfmkit.chart_worker.start_chart_worker`) shares with this
    process. The report is built by its writer, last, while customers.parquet is written in
    the background (:class:`InBackground`).
    """
    if fmt not in FORMATS:
        raise ParameterError(f"Unknown output format {fmt!r}. Choose parquet or csv.")
    files: dict[str, Callable[[Path], None]] = {}
    customers = result.customers
    if fmt == "parquet":
        files["customers.parquet"] = InBackground(lambda p: customers.to_parquet(p, index=False))
    else:
        files["customers.csv"] = lambda p: customers.to_csv(p, index=False)
    files["segments.csv"] = lambda p: result.segments.to_csv(p, index=False)
    if result.clusters is not None:
        files["clusters.csv"] = lambda p: result.clusters.to_csv(p, index=False)
    if result.k_selection is not None:
        files["k_selection.csv"] = lambda p: result.k_selection.to_csv(p, index=False)
    quality = result.quality.to_dict()
    files["quality.json"] = lambda p: p.write_text(json.dumps(quality, indent=2) + "\n")
    if model is not None:
        from rfmkit.export.persistence import model_to_dict

        state = model_to_dict(model)
        files["model.json"] = lambda p: p.write_text(
            json.dumps(state, indent=1, allow_nan=False) + "\n")
        if report:
            from rfmkit.report import build_report

            def write_report(p: Path) -> None:
                # built when written: meanwhile the customer table is written in the background
                p.write_text(build_report(model, result).html(chart_executor), encoding="utf-8")

            files["report.html"] = write_report
    return files


class InBackground:
    """A writer that :func:`write_files` runs in a thread while it calls the others in order:
    for a large file whose writing leaves the GIL free (Parquet, through pyarrow)."""

    __slots__ = ("write",)

    def __init__(self, write: Callable[[Path], None]) -> None:
        self.write = write

    def __call__(self, path: Path) -> None:
        self.write(path)


def write_files(out_dir: str | os.PathLike, files: dict[str, Callable[[Path], None]]
                ) -> list[Path]:
    """Write all files into ``out_dir`` atomically (all appear, or none changes).

    Writers are called in order, but those wrapped in :class:`InBackground` run in a thread
    meanwhile; every writer has finished (or failed) before anything is renamed or removed.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".rfmkit-"))
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="rfmkit-write") as background:
            pending = [background.submit(write, staging / name)
                       for name, write in files.items() if isinstance(write, InBackground)]
            for name, write in files.items():
                if not isinstance(write, InBackground):
                    write(staging / name)
            for future in pending:
                future.result()  # its error, if any
        written = []
        for name in files:
            os.replace(staging / name, out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_duckdb(path: str | os.PathLike, tables: dict[str, pd.DataFrame],
                 drop: tuple[str, ...] | list[str] = ()) -> None:
    """Replace ``tables`` (and drop the tables named in ``drop``, if they exist) in a DuckDB
    database file in one transaction: on error the old tables stay as they were."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("BEGIN TRANSACTION")
        for name, frame in tables.items():
            con.register("rfmkit_frame", frame)
            con.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS SELECT * FROM rfmkit_frame")
            con.unregister("rfmkit_frame")
        for name in drop:
            con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def result_tables(result: Segmentation, *, prefix: str = "rfm_") -> dict[str, pd.DataFrame]:
    """The tables a destination receives: customers, segments and (if any) clusters."""
    tables = {f"{prefix}customers": result.customers, f"{prefix}segments": result.segments}
    if result.clusters is not None:
        tables[f"{prefix}clusters"] = result.clusters
    return tables


def stale_tables(result: Segmentation, *, prefix: str = "rfm_") -> list[str]:
    """Tables an earlier run may have left that this result does not replace: dropped, so
    that no reader takes an old run's clusters for this run's."""
    return [] if result.clusters is not None else [f"{prefix}clusters"]


def write_destination(target: str, result: Segmentation) -> str:
    """Write result tables to ``duckdb:PATH`` (``postgresql://...`` comes with that engine)."""
    if target.startswith("duckdb:"):
        path = target[len("duckdb:"):]
        if not path:
            raise ParameterError("--to duckdb: needs a file path, e.g. --to duckdb:rfm.db")
        write_duckdb(path, result_tables(result), drop=stale_tables(result))
        return path
    if target.startswith(("postgresql://", "postgres://")):
        from rfmkit.engines.postgres_tables import redact, write_tables

        written = write_tables(target, result_tables(result), drop=stale_tables(result))
        return f"{redact(target)} ({', '.join(written)})"
    raise ParameterError(
        f"Unknown destination {target!r}. Use duckdb:PATH.db or "
        "postgresql://USER@HOST:PORT/DATABASE."
    )
