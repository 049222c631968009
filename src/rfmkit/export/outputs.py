"""A segmentation as output files and result tables, written as one unit.

:func:`segmentation_files` names every file of one run and how to write it; :func:`write_outputs`
replaces rfmkit's whole set of files in the folder (:func:`rfmkit.atomic_files.write_files`)
and, with a ``target``, the result tables in the same unit: files and tables both change, or
neither does (the tables go through :mod:`rfmkit.engines.tables`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rfmkit.atomic_files import InBackground, write_files
from rfmkit.errors import ParameterError
from rfmkit.model import RFMModel
from rfmkit.progress import stage
from rfmkit.segmentation import Segmentation

FORMATS = ("parquet", "csv")
# Every file name a run may write into its folder: the set a run replaces. A score run leaves
# model.json alone (it is the model it applies, often read from that folder), a report run
# touches report.html only.
OUTPUT_NAMES = ("customers.parquet", "customers.csv", "segments.csv", "clusters.csv",
                "k_selection.csv", "quality.json", "model.json", "report.html")
SCORE_NAMES = tuple(n for n in OUTPUT_NAMES if n != "model.json")


def segmentation_files(result: Segmentation, *, fmt: str = "parquet",
                       model: RFMModel | None = None, report: bool = True,
                       currency: str | None = None) -> dict[str, Callable[[Path], None]]:
    """File name -> writer, for every output of one run (for :func:`rfmkit.write_files`).

    With ``model``, also ``model.json`` and (unless ``report=False``) ``report.html``. The
    report is built by its writer, last, while customers.parquet is written in the background
    (:class:`~rfmkit.atomic_files.InBackground`), its money in ``currency`` (see
    :func:`~rfmkit.build_report`).
    """
    if fmt not in FORMATS:
        raise ParameterError(f"Unknown output format fmt={fmt!r}. Choose parquet or csv.")
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
        from rfmkit.export.persistence import model_json

        text = model_json(model)
        files["model.json"] = lambda p: p.write_text(text, encoding="utf-8")
        if report:
            from rfmkit.report import build_report

            def write_report(p: Path) -> None:
                # built when written: meanwhile the customer table is written in the background
                stage("Writing the report")
                page = build_report(model, result, currency=currency).html()
                p.write_text(page, encoding="utf-8")

            files["report.html"] = write_report
    return files


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
    """Write the result tables to ``target``: ``duckdb:PATH`` or ``postgresql://...``."""
    from rfmkit.engines.tables import check_destination, write_tables

    check_destination(target)
    return write_tables(target, result_tables(result), drop=stale_tables(result))


def resolver(target: str | None = None) -> Callable[[Mapping[str, Any]], bool | None]:
    """How a write into a folder asks a killed run's database whether it committed (for
    :func:`rfmkit.atomic_files.write_files`); ``target``: this run's own, with its password."""
    from rfmkit.engines.tables import run_committed

    def resolve(record: Mapping[str, Any]) -> bool | None:
        return run_committed(record, target=target)

    return resolve


def write_outputs(out_dir: str | os.PathLike, files: Mapping[str, Callable[[Path], None]],
                  result: Segmentation, *, target: str | None = None,
                  replaces: Sequence[str] = OUTPUT_NAMES) -> tuple[list[Path], str | None]:
    """Replace the set of files ``replaces`` in ``out_dir`` by ``files`` and, with ``target``,
    the result tables there, as one unit; returns the paths written and where the tables
    went."""
    from rfmkit.engines.tables import check_destination, open_transaction

    transaction = None
    if target is not None:
        check_destination(target)
        transaction = open_transaction(target, result_tables(result),
                                       drop=stale_tables(result))
    written = write_files(out_dir, files, replaces=replaces, together=transaction,
                          resolve=resolver(target))
    return written, (transaction.where if transaction is not None else None)
