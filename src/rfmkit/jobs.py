"""Whole jobs, one call each: what ``rfmkit segment``, ``score`` and ``report`` do, as Python.

Each job checks every parameter before any data is read, opens the engine it is asked for (and
closes it), runs the model, and writes its outputs all or nothing. The command line is a thin
layer over these functions; a scheduler or a notebook can call them the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rfmkit.atomic_files import write_files
from rfmkit.engines import Engine, get_engine
from rfmkit.errors import ParameterError
from rfmkit.export.outputs import FORMATS, segmentation_files, write_destination
from rfmkit.export.persistence import load_model
from rfmkit.metric_options import MetricOptions
from rfmkit.model import RFMModel
from rfmkit.segmentation import Segmentation

# Options an engine takes, and the engine each belongs to.
_ENGINE_OPTIONS = {"master": "spark", "query": "postgres"}


@dataclass
class JobResult:
    """What a job produced: the segmentation, the files written, where tables went."""

    result: Segmentation
    written: list[Path]
    model: RFMModel
    destination: str | None = None
    registered: Any = None  # MLflow's ModelVersion-like info, when the model was registered
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def run_segment(source: Any, out_dir: str | os.PathLike, *, preset: str | None = None,
                params: Mapping[str, Any] | None = None, engine: str = "duckdb",
                engine_options: Mapping[str, Any] | None = None, table: str | None = None,
                delimiter: str | None = None, encoding: str | None = None, fmt: str = "parquet",
                target: str | None = None,
                previous_model: str | os.PathLike | RFMModel | None = None,
                registered_model_name: str | None = None, alias: str | None = None,
                tracking_uri: str | None = None) -> JobResult:
    """Fit an :class:`~rfmkit.RFMModel` on ``source`` and write every output to ``out_dir``.

    ``params`` are :class:`~rfmkit.RFMModel`'s parameters (``n_bins``, ``segment_map``, ...);
    ``preset`` fills those left out. ``target`` (``duckdb:PATH`` or ``postgresql://...``) also
    receives the result tables. With ``registered_model_name`` the model is logged to MLflow
    and registered (``alias`` and ``tracking_uri`` as in :func:`~rfmkit.log_model`).
    """
    started = time.perf_counter()
    if (alias or tracking_uri) and not registered_model_name:
        given = "alias" if alias else "tracking_uri"
        raise ParameterError(
            f"{given}= applies to the model that registered_model_name= logs and registers; "
            "give registered_model_name=NAME too.")
    _check_outputs(fmt, target)
    if isinstance(previous_model, (str, os.PathLike)):
        previous_model = load_model(previous_model)
    model = RFMModel(preset, **dict(params or {}), engine=engine, previous_model=previous_model)
    model.resolved_params()  # every parameter checked before any data is read
    with _open_engine(engine, engine_options) as eng:
        model.fit(source, table=table, delimiter=delimiter, encoding=encoding, engine=eng)
    result = model.result_
    written = write_files(out_dir, segmentation_files(result, fmt=fmt, model=model))
    destination = write_destination(target, result) if target else None
    registered = None
    if registered_model_name:
        from rfmkit.export.mlflow_model import log_model

        registered = log_model(model, registered_model_name=registered_model_name,
                               alias=alias, tracking_uri=tracking_uri)
    return JobResult(result, written, model, destination, registered,
                     time.perf_counter() - started)


def run_score(source: Any, model: str | os.PathLike | RFMModel, out_dir: str | os.PathLike, *,
              engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
              table: str | None = None, delimiter: str | None = None, encoding: str | None = None,
              as_of: dt.date | str | None = None, fmt: str = "parquet",
              target: str | None = None) -> JobResult:
    """Apply a saved model to ``source`` (frozen bin edges, map and clusters) and write the
    assignments to ``out_dir`` (and ``target``)."""
    started = time.perf_counter()
    _check_outputs(fmt, target)
    model, result = _apply(model, source, engine=engine, engine_options=engine_options,
                           table=table, delimiter=delimiter, encoding=encoding, as_of=as_of)
    written = write_files(out_dir, segmentation_files(result, fmt=fmt))
    destination = write_destination(target, result) if target else None
    return JobResult(result, written, model, destination, seconds=time.perf_counter() - started)


def run_report(source: Any, model: str | os.PathLike | RFMModel, out_dir: str | os.PathLike, *,
               engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
               table: str | None = None, delimiter: str | None = None, encoding: str | None = None,
               as_of: dt.date | str | None = None, title: str | None = None,
               projection: str = "pca") -> JobResult:
    """Apply a saved model to ``source`` and write ``out_dir/report.html``."""
    from rfmkit.report import build_report

    started = time.perf_counter()
    model, result = _apply(model, source, engine=engine, engine_options=engine_options,
                           table=table, delimiter=delimiter, encoding=encoding, as_of=as_of)
    page = build_report(model, result, title=title, projection=projection).html()
    written = write_files(out_dir, {"report.html": lambda p: p.write_text(page, encoding="utf-8")})
    return JobResult(result, written, model, seconds=time.perf_counter() - started)


def run_score_in_engine(source: Any, model: str | os.PathLike | RFMModel, into: str, *,
                        engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
                        table: str | None = None, delimiter: str | None = None,
                        encoding: str | None = None, as_of: dt.date | str | None = None) -> Any:
    """Score ``source`` inside the engine into the table ``into``; returns the
    :class:`~rfmkit.export.in_engine_scoring.WrittenTable` (name, engine, row count)."""
    from rfmkit.export.in_engine_scoring import score_in_engine

    model = _as_model(model)
    as_of = _as_of(as_of)
    with _open_engine(engine, engine_options) as eng:
        return score_in_engine(model, source, engine=eng, table=table, delimiter=delimiter,
                               encoding=encoding, as_of=as_of, into=into)


def _check_outputs(fmt: str, target: str | None) -> None:
    """Output options are checked before the work, so that a typo costs nothing."""
    if fmt not in FORMATS:
        raise ParameterError(f"Unknown output format fmt={fmt!r}. Choose parquet or csv.")
    if target is not None:
        from rfmkit.engines.tables import check_destination

        check_destination(target)


def _apply(model: str | os.PathLike | RFMModel, source: Any, *, engine: str,
           engine_options: Mapping[str, Any] | None, table: str | None, delimiter: str | None,
           encoding: str | None, as_of: dt.date | str | None) -> tuple[RFMModel, Segmentation]:
    model = _as_model(model)
    as_of = _as_of(as_of)
    with _open_engine(engine, engine_options) as eng:
        return model, model.segment(source, table=table, delimiter=delimiter, encoding=encoding,
                                    as_of=as_of, engine=eng)


def _as_model(model: str | os.PathLike | RFMModel) -> RFMModel:
    return model if isinstance(model, RFMModel) else load_model(model)


def _as_of(as_of: dt.date | str | None) -> dt.date | None:
    return None if as_of is None else MetricOptions(as_of=as_of).as_of


@contextlib.contextmanager
def _open_engine(name: str, options: Mapping[str, Any] | None) -> Iterator[Engine]:
    """The engine asked for, closed afterwards (its temporary tables and views dropped)."""
    options = dict(options or {})
    for option in options:
        owner = _ENGINE_OPTIONS.get(option)
        if owner is None:
            raise ParameterError(
                f"Unknown engine option {option}=. Known: "
                f"{', '.join(f'{o}= (engine={e!r})' for o, e in _ENGINE_OPTIONS.items())}.")
        if owner != name:
            what = ("sets the Spark session's master" if option == "master" else
                    "runs a SELECT inside PostgreSQL, for a postgresql:// input; for other "
                    "inputs use table=")
            raise ParameterError(
                f"{option}= {what}; it needs engine={owner!r} (the engine is {name}).")
    eng = get_engine(name, **options)
    try:
        yield eng
    finally:
        eng.close()
