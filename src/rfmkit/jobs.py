"""Whole jobs, one call each: what ``rfmkit segment``, ``score`` and ``report`` do, as Python.

Each job checks every parameter before any data is read, opens the engine it is asked for (and
closes it), runs the model, and writes its outputs all or nothing. The command line is a thin
layer over these functions; a scheduler or a notebook can call them the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from rfmkit.atomic_files import check_out_dir, write_files
from rfmkit.engines import Engine, get_engine
from rfmkit.errors import ParameterError
from rfmkit.export.outputs import (
    FORMATS,
    OUTPUT_NAMES,
    SCORE_NAMES,
    resolver,
    segmentation_files,
    write_outputs,
)
from rfmkit.export.persistence import load_model
from rfmkit.metric_options import MetricOptions
from rfmkit.model import RFMModel
from rfmkit.progress import Progress, reporting, stage
from rfmkit.segmentation import Segmentation


class _EngineOption(NamedTuple):
    """An option only some engines take (``threads=``, ``master=``, ...)."""

    engines: tuple[str, ...]  # the engines that take it
    purpose: str  # what it does, for the error given to another engine


_ENGINE_OPTIONS = {
    "master": _EngineOption(("spark",), "sets the Spark session's master"),
    "query": _EngineOption(
        ("postgres",),
        "runs a SELECT inside PostgreSQL, for a postgresql:// input; for other inputs use table="),
    "threads": _EngineOption(
        ("duckdb", "spark"),
        "sets the worker threads of DuckDB or of a new Spark session; PostgreSQL's are the "
        "server's setting (max_parallel_workers_per_gather)"),
    "memory_limit": _EngineOption(
        ("duckdb", "spark"),
        "sets the memory of DuckDB or of a new Spark session; PostgreSQL's are the server's "
        "settings (work_mem, shared_buffers)"),
}


def _reports(job: Any) -> Any:
    """A job's ``progress=`` callback receives the stages reported while it runs
    (:mod:`rfmkit.progress`)."""

    @functools.wraps(job)
    def run(*args: Any, **kwargs: Any) -> Any:
        with reporting(kwargs.get("progress")):
            stage("Checking parameters and outputs")
            return job(*args, **kwargs)

    return run


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
    out_dir: Path | None = None

    def summary(self) -> dict[str, Any]:
        """The run in JSON types, for a scheduler: what ``rfmkit ... --json`` prints (the
        schema is in docs/cli.md)."""
        q, clusters = self.result.quality, self.result.clusters
        summary = {
            **_quality_summary(q), "out": None if self.out_dir is None else str(self.out_dir),
            "segments": {str(r.segment): int(r.customers)
                         for r in self.result.segments.itertuples(index=False)},
            "clusters": None if clusters is None else len(clusters),
            "cluster_customers": None if clusters is None else [
                {"cluster": int(r.cluster), "name": str(r.cluster_name),
                 "customers": int(r.customers)} for r in clusters.itertuples(index=False)],
            "files": [str(p) for p in self.written], "tables": self.destination,
            "seconds": round(self.seconds, 3),
        }
        if self.registered is not None:
            summary["mlflow"] = {"model_uri": str(self.registered.model_uri), "version": _plain(
                getattr(self.registered, "registered_model_version", None))}
        return summary


def _quality_summary(q: Any) -> dict[str, Any]:
    """What was read and kept (from quality.json): input, rows, drops by reason, as-of date."""
    quality = q.to_dict()
    return {"input": quality["source"], "as_of": quality["as_of"],
            "as_of_policy": quality["as_of_policy"], "customers": int(quality["customers"]),
            "rows_read": int(quality["rows_read"]), "rows_used": int(quality["rows_used"]),
            "rows_dropped": {k: int(n) for k, n in quality["dropped"].items()},
            "warnings": list(quality["warnings"])}


def _plain(value: Any) -> Any:
    """A number or text as itself; anything else as text (JSON has no other types)."""
    return value if value is None or isinstance(value, (int, float, str)) else str(value)


@_reports
def run_segment(source: Any, out_dir: str | os.PathLike, *, preset: str | None = None,
                params: Mapping[str, Any] | None = None, engine: str = "duckdb",
                engine_options: Mapping[str, Any] | None = None, table: str | None = None,
                delimiter: str | None = None, encoding: str | None = None, fmt: str = "parquet",
                target: str | None = None, decimal: str | None = None,
                thousands: str | None = None,
                previous_model: str | os.PathLike | RFMModel | None = None,
                registered_model_name: str | None = None, alias: str | None = None,
                tracking_uri: str | None = None, currency: str | None = None,
                progress: Progress | None = None) -> JobResult:
    """Fit an :class:`~rfmkit.RFMModel` on ``source`` and write every output to ``out_dir``.

    ``params`` are :class:`~rfmkit.RFMModel`'s parameters (``n_bins``, ``segment_map``, ...);
    ``preset`` fills those left out. ``target`` (``duckdb:PATH`` or ``postgresql://...``) also
    receives the result tables. ``decimal``/``thousands`` say how text amounts are written
    (as in pandas' ``read_csv``; the model keeps them). With ``registered_model_name`` the
    model is logged to MLflow and registered (``alias`` and ``tracking_uri`` as in
    :func:`~rfmkit.log_model`). ``currency`` (an ISO 4217 code such as ``"EUR"`` or a symbol
    such as ``"€"``) is the model's ``currency``: descriptions and the report write money in it,
    and the saved model keeps it for later reports. ``progress`` receives
    each stage as it starts (:class:`~rfmkit.ProgressEvent`).
    """
    started = time.perf_counter()
    _check_currency(currency)
    if (alias or tracking_uri) and not registered_model_name:
        given = "alias" if alias else "tracking_uri"
        raise ParameterError(
            f"{given}= applies to the model that registered_model_name= logs and registers; "
            "give registered_model_name=NAME too.")
    _check_outputs(fmt, target, out_dir)
    if registered_model_name:
        from rfmkit.export.mlflow_model import require_mlflow

        require_mlflow()  # not installed: said now, not after the work
    if isinstance(previous_model, (str, os.PathLike)):
        previous_model = load_model(previous_model)
    params = {**(params or {}), **({"currency": currency} if currency is not None else {})}
    model = RFMModel(preset, **params, engine=engine, previous_model=previous_model)
    model.resolved_params()  # every parameter checked before any data is read
    with _open_engine(engine, engine_options) as eng:
        model.fit(source, table=table, delimiter=delimiter, encoding=encoding, decimal=decimal,
                  thousands=thousands, engine=eng)
    result = model.result_
    stage("Writing outputs")
    written, destination = write_outputs(
        out_dir, segmentation_files(result, fmt=fmt, model=model, currency=currency), result,
        target=target,
        replaces=OUTPUT_NAMES)
    registered = None
    if registered_model_name:
        from rfmkit.export.mlflow_model import log_model

        stage("Logging the model to MLflow")
        registered = log_model(model, registered_model_name=registered_model_name,
                               alias=alias, tracking_uri=tracking_uri)
    return JobResult(result, written, model, destination, registered,
                     time.perf_counter() - started, out_dir=Path(out_dir))


@_reports
def run_score(source: Any, model: str | os.PathLike | RFMModel, out_dir: str | os.PathLike, *,
              engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
              table: str | None = None, delimiter: str | None = None, encoding: str | None = None,
              as_of: dt.date | str | None = None, fmt: str = "parquet",
              target: str | None = None, decimal: str | None = None,
              thousands: str | None = None, progress: Progress | None = None) -> JobResult:
    """Apply a saved model to ``source`` (frozen bin edges, map and clusters) and write the
    assignments to ``out_dir`` (and ``target``). ``decimal``/``thousands``: how this input
    writes text amounts, when not as the model's training data did."""
    started = time.perf_counter()
    _check_outputs(fmt, target, out_dir)
    numbers = {"decimal": decimal, "thousands": thousands}
    model, result = _apply(model, source, engine=engine, engine_options=engine_options,
                           table=table, delimiter=delimiter, encoding=encoding, as_of=as_of,
                           **numbers)
    if getattr(model, "clv_", None) is not None:
        _add_clv(model, result, source, engine=engine, engine_options=engine_options,
                 table=table, delimiter=delimiter, encoding=encoding, **numbers)
    stage("Writing outputs")
    written, destination = write_outputs(out_dir, segmentation_files(result, fmt=fmt), result,
                                         target=target, replaces=SCORE_NAMES)
    return JobResult(result, written, model, destination, seconds=time.perf_counter() - started,
                     out_dir=Path(out_dir))


@_reports
def run_report(source: Any, model: str | os.PathLike | RFMModel, out_dir: str | os.PathLike, *,
               engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
               table: str | None = None, delimiter: str | None = None, encoding: str | None = None,
               as_of: dt.date | str | None = None, title: str | None = None,
               projection: str = "pca", currency: str | None = None,
               decimal: str | None = None, thousands: str | None = None,
               progress: Progress | None = None) -> JobResult:
    """Apply a saved model to ``source`` and write ``out_dir/report.html`` (money in
    ``currency``: an ISO 4217 code or a symbol, default the model's; see
    :func:`~rfmkit.build_report`;
    ``decimal``, ``thousands`` as in :func:`run_score`)."""
    from rfmkit.report import build_report
    from rfmkit.report.summary import check_report_params

    started = time.perf_counter()
    _check_currency(currency)
    _check_outputs("parquet", None, out_dir)
    check_report_params(title=title, projection=projection)  # before the data, too
    model, result = _apply(model, source, engine=engine, engine_options=engine_options,
                           table=table, delimiter=delimiter, encoding=encoding, as_of=as_of,
                           decimal=decimal, thousands=thousands)
    stage("Writing the report")
    page = build_report(model, result, title=title, projection=projection,
                        currency=currency).html()
    written = write_files(out_dir, {"report.html": lambda p: p.write_text(page, encoding="utf-8")},
                          resolve=resolver())
    return JobResult(result, written, model, seconds=time.perf_counter() - started,
                     out_dir=Path(out_dir))


@_reports
def run_score_in_engine(source: Any, model: str | os.PathLike | RFMModel, into: str, *,
                        engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
                        table: str | None = None, delimiter: str | None = None,
                        encoding: str | None = None, as_of: dt.date | str | None = None,
                        decimal: str | None = None, thousands: str | None = None,
                        progress: Progress | None = None) -> Any:
    """Score ``source`` inside the engine into the table ``into``; returns the
    :class:`~rfmkit.export.in_engine_scoring.WrittenTable` (name, engine, row count)."""
    from rfmkit.export.in_engine_scoring import score_in_engine

    model = _as_model(model)
    as_of = _as_of(as_of)
    with _open_engine(engine, engine_options) as eng:
        stage(f"Scoring inside {engine} into {into}")
        return score_in_engine(model, source, engine=eng, table=table, delimiter=delimiter,
                               encoding=encoding, as_of=as_of, into=into, decimal=decimal,
                               thousands=thousands)


def _check_currency(currency: str | None) -> None:
    """The report's currency, checked before any data is read."""
    from rfmkit.money import resolve_currency

    resolve_currency(currency)


def _check_outputs(fmt: str, target: str | None, out_dir: str | os.PathLike) -> None:
    """Outputs are checked before the work, so that a typo or a locked database costs
    nothing: the format, the output folder (not an existing file), and the destination
    (openable and writable now; it is opened again to write)."""
    if fmt not in FORMATS:
        raise ParameterError(f"Unknown output format fmt={fmt!r}. Choose parquet or csv.")
    check_out_dir(out_dir)
    if target is not None:
        from rfmkit.engines.tables import probe_destination

        probe_destination(target)


def _apply(model: str | os.PathLike | RFMModel, source: Any, *, engine: str,
           engine_options: Mapping[str, Any] | None, table: str | None, delimiter: str | None,
           encoding: str | None, as_of: dt.date | str | None, decimal: str | None,
           thousands: str | None) -> tuple[RFMModel, Segmentation]:
    model = _as_model(model)
    as_of = _as_of(as_of)
    with _open_engine(engine, engine_options) as eng:
        return model, model.segment(source, table=table, delimiter=delimiter, encoding=encoding,
                                    as_of=as_of, decimal=decimal, thousands=thousands,
                                    engine=eng)


#: What `score` adds with a model that carries CLV parameters (see `rfmkit clv --model`).
CLV_SCORE_COLUMNS = ("p_alive", "expected_purchases", "clv")


def _add_clv(model: RFMModel, result: Segmentation, source: Any, *, engine: str,
             engine_options: Mapping[str, Any] | None, table: str | None,
             delimiter: str | None, encoding: str | None = None, decimal: str | None = None,
             thousands: str | None = None) -> None:
    """P(alive), expected purchases and CLV at the scoring date, from the saved parameters."""
    stage("Predicting P(alive) and CLV")
    # the text amounts read as the RFM model reads them (its format, or the one given)
    numbers = model.metric_options_.reading_numbers(decimal, thousands)
    with _open_engine(engine, engine_options) as eng:
        values = model.clv_.predict(source, as_of=result.as_of, engine=eng, table=table,
                                    delimiter=delimiter, encoding=encoding,
                                    decimal=numbers.decimal, thousands=numbers.thousands)
    columns = values.set_index("customer_id")[list(CLV_SCORE_COLUMNS)]
    result.customers = result.customers.join(columns, on="customer_id")


def _as_model(model: str | os.PathLike | RFMModel) -> RFMModel:
    return model if isinstance(model, RFMModel) else load_model(model)


def _as_of(as_of: dt.date | str | None) -> dt.date | None:
    return None if as_of is None else MetricOptions(as_of=as_of).as_of


@contextlib.contextmanager
def _open_engine(name: str, options: Mapping[str, Any] | None) -> Iterator[Engine]:
    """The engine asked for, closed afterwards (its temporary tables and views dropped)."""
    options = {k: v for k, v in (options or {}).items() if v is not None}
    for option in options:
        spec = _ENGINE_OPTIONS.get(option)
        if spec is None:
            known = (f"{o}= (engine={' or '.join(e.engines)})"
                     for o, e in _ENGINE_OPTIONS.items())
            raise ParameterError(f"Unknown engine option {option}=. Known: {', '.join(known)}.")
        if name not in spec.engines:
            raise ParameterError(
                f"{option}= {spec.purpose}; it needs engine="
                f"{' or engine='.join(repr(e) for e in spec.engines)} (the engine is {name}).")
    eng = get_engine(name, **options)
    try:
        yield eng
    finally:
        eng.close()


@dataclass
class CLVJobResult:
    """What :func:`run_clv` produced: the fitted model, the per-customer and per-group values,
    and the files written."""

    model: Any
    customers: Any
    groups: Any
    written: list[Path]
    seconds: float = 0.0
    out_dir: Path | None = None

    def summary(self) -> dict[str, Any]:
        """The run in JSON types, for a scheduler (``rfmkit clv --json``; docs/cli.md)."""
        m = self.model
        return {
            "customers": int(m.n_customers_), "repeat_buyers": int(m.n_repeat_buyers_),
            "calibration_end": m.calibration_end_.isoformat(),
            "holdout_end": None if m.holdout_end_ is None else m.holdout_end_.isoformat(),
            "horizon": float(m.horizon_), "time_unit": m.time_unit,
            "total_clv": float(self.customers["clv"].sum()),
            "out": None if self.out_dir is None else str(self.out_dir),
            "files": [str(p) for p in self.written], "seconds": round(self.seconds, 3),
        }


@_reports
def run_clv(source: Any, out_dir: str | os.PathLike, *, calibration_end: dt.date | str,
            holdout_end: dt.date | str | None = None, time_unit: str = "week",
            horizon: float | None = None, discount_rate: float = 0.0,
            model: str | os.PathLike | RFMModel | None = None, columns: Any = None,
            date_format: str | None = None, date_order: str | None = None,
            engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None,
            table: str | None = None, delimiter: str | None = None,
            encoding: str | None = None, decimal: str | None = None,
            thousands: str | None = None, report: bool = True,
            title: str | None = None, progress: Progress | None = None) -> CLVJobResult:
    """Fit a :class:`~rfmkit.CLVModel` on ``source`` and write clv.json, customers_clv.parquet,
    segments_clv.csv and report.html to ``out_dir``. With ``model`` (an RFM model), each
    customer also gets the segment (and cluster) that model gives them at the calibration end.
    """
    from rfmkit.clv.segments import group_values
    from rfmkit.clv_model import CLVModel
    from rfmkit.export.clv_outputs import CLV_NAMES, clv_files

    started = time.perf_counter()
    check_out_dir(out_dir)
    clv = CLVModel(calibration_end, holdout_end=holdout_end, time_unit=time_unit,
                   horizon=horizon, discount_rate=discount_rate, columns=columns,
                   date_format=date_format, date_order=date_order)
    rfm = _as_model(model) if model is not None else None
    with _open_engine(engine, engine_options) as eng:
        clv.fit(source, engine=eng, table=table, delimiter=delimiter, encoding=encoding,
                decimal=decimal, thousands=thousands)
        customers = clv.customers_
        if rfm is not None:
            stage("Segmenting with the RFM model")
            segmented = rfm.segment(source, table=table, delimiter=delimiter, encoding=encoding,
                                    as_of=clv.calibration_end_, decimal=decimal,
                                    thousands=thousands, engine=eng).customers
            keep = [c for c in ("customer_id", "segment", "cluster", "cluster_name")
                    if c in segmented]
            customers = customers.merge(segmented[keep], on="customer_id", how="left")
            # customers the RFM cleaning leaves out (only $0.00 purchases): named, not dropped
            customers["segment"] = customers["segment"].fillna("(not segmented)")
    groups = group_values(customers)
    files_model = None
    if rfm is not None:
        rfm.clv_ = clv  # saved with the RFM model: `score` adds P(alive) and CLV
        from rfmkit.export.persistence import model_json

        files_model = model_json(rfm)
    page = None
    if report:
        from rfmkit.report.clv_report import clv_report_html

        def page() -> str:
            return clv_report_html(clv, customers, groups, title=title,
                                   currency=rfm.params_["currency"] if rfm is not None else None)
    stage("Writing outputs")
    files = clv_files(clv, customers, groups, report_html=page)
    if files_model is not None:
        files["model.json"] = lambda p: p.write_text(files_model, encoding="utf-8")
    written = write_files(out_dir, files, replaces=CLV_NAMES)
    return CLVJobResult(clv, customers, groups, written, time.perf_counter() - started,
                        out_dir=Path(out_dir))
