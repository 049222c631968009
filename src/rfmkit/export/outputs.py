"""A segmentation as output files and result tables, written all or nothing.

:func:`segmentation_files` names every file of one run and how to write it; the atomic writing
itself is :func:`rfmkit.atomic_files.write_files`, and tables go through
:func:`rfmkit.engines.tables.write_tables`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from rfmkit.atomic_files import InBackground
from rfmkit.errors import ParameterError
from rfmkit.model import RFMModel
from rfmkit.segmentation import Segmentation

FORMATS = ("parquet", "csv")


def segmentation_files(result: Segmentation, *, fmt: str = "parquet",
                       model: RFMModel | None = None, report: bool = True
                       ) -> dict[str, Callable[[Path], None]]:
    """File name -> writer, for every output of one run (for :func:`rfmkit.write_files`).

    With ``model``, also ``model.json`` and (unless ``report=False``) ``report.html``. The
    report is built by its writer, last, while customers.parquet is written in the background
    (:class:`~rfmkit.atomic_files.InBackground`).
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
                p.write_text(build_report(model, result).html(), encoding="utf-8")

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
