"""Saved models: versioned JSON, never pickle, so loading a model file never runs code."""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from pathlib import Path
from typing import Any

from rfmkit._version import __version__
from rfmkit.atomic_files import write_text
from rfmkit.cleaning import CleaningRules, QualityReport
from rfmkit.clustering.estimator import RFMClusterer
from rfmkit.errors import ModelFormatError, ModelVersionWarning, RFMKitError
from rfmkit.metric_options import MetricOptions
from rfmkit.model import RFMModel
from rfmkit.schema import ColumnMapping, InputShape, ResolvedColumns
from rfmkit.scoring.scorer import RFMScorer
from rfmkit.segments.map import SegmentMap

FORMAT = "rfmkit-model"
FORMAT_VERSION = 1


def model_to_dict(model: RFMModel) -> dict[str, Any]:
    """The fitted state of ``model`` as plain JSON-able data."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    params = {k: v for k, v in model.params_.items() if k not in ("segment_map", "as_of")}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rfmkit_version": __version__,
        "params": params,
        "preset": model.preset,
        "columns": {"shape": model.columns_.shape.value,
                    "mapping": model.columns_.mapping.to_dict(),
                    "kinds": model.column_kinds_},
        "metric_options": model.metric_options_.to_dict(),
        "cleaning_rules": model.cleaning_rules_.to_dict(),
        "as_of": None if model.as_of_ is None else model.as_of_.isoformat(),
        "scorer": model.scorer_.to_state(),
        "segment_map": model.segment_map_.to_dict(),
        "clusterer": None if model.clusterer_ is None else model.clusterer_.to_state(),
        "cluster_ids": model.cluster_ids_,
        "cluster_names": model.cluster_names_,
        "cluster_descriptions": model.cluster_descriptions_,
        "training": {
            "fingerprint": model.training_fingerprint_,
            "quality": model.quality_.to_dict(),
        },
        # fitted by `rfmkit clv --model`: `score` then adds P(alive) and CLV without refitting
        "clv": None if getattr(model, "clv_", None) is None else model.clv_.to_state(),
    }


def model_from_dict(data: Any, *, source: str = "the model") -> RFMModel:
    """Rebuild a fitted :class:`RFMModel` from :func:`model_to_dict` output, validating it."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFormatError(
            f"{source} is not an rfmkit model file (no \"format\": \"{FORMAT}\" field). "
            "Pass a model.json written by `rfmkit segment` or rfmkit.save_model."
        )
    version = data.get("format_version")
    if type(version) is not int or version > FORMAT_VERSION or version < 1:
        raise ModelFormatError(
            f"{source} has model format version {version!r}; this rfmkit ({__version__}) reads "
            f"version {FORMAT_VERSION}. Upgrade rfmkit (pip install -U rfmkit) or refit the model."
        )
    if data.get("rfmkit_version") != __version__:
        warnings.warn(
            f"{source} was saved by rfmkit {data.get('rfmkit_version')}; this is {__version__}. "
            "Scores should match; refit if in doubt.", ModelVersionWarning, stacklevel=3)
    try:
        model = _model_from_valid_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # ModelFormatError, SegmentMapError and ParameterError are ValueErrors too: every
        # problem is reported with the file it comes from.
        detail = str(exc) if isinstance(exc, RFMKitError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, KeyError):
            detail = f"missing field {exc}"
        raise ModelFormatError(
            f"{source} is damaged or incomplete ({detail}). Refit and save the model again."
        ) from None
    return model


def _model_from_valid_dict(data: dict) -> RFMModel:
    params = dict(data["params"])
    model = RFMModel(preset=data.get("preset"), **{
        k: v for k, v in params.items() if k in RFMModel().get_params()})
    model.params_ = {**params, "segment_map": data["segment_map"]["name"],
                     "as_of": data["metric_options"]["as_of"]}
    model.columns_ = ResolvedColumns(InputShape(data["columns"]["shape"]),
                                     ColumnMapping.from_dict(data["columns"]["mapping"]))
    model.columns = model.columns_.mapping
    model.column_kinds_ = dict(data["columns"].get("kinds") or {})
    model.metric_options_ = MetricOptions.from_dict(data["metric_options"])
    model.cleaning_rules_ = CleaningRules(**data["cleaning_rules"])
    model.as_of_ = None if data["as_of"] is None else dt.date.fromisoformat(data["as_of"])
    model.scorer_ = RFMScorer.from_state(data["scorer"])
    model.segment_map_ = SegmentMap.from_dict(data["segment_map"])
    model.segment_map = model.segment_map_
    model.clusterer_ = (None if data["clusterer"] is None
                        else RFMClusterer.from_state(data["clusterer"]))
    ids, names, descriptions = (data["cluster_ids"], data["cluster_names"],
                                data["cluster_descriptions"])
    if model.clusterer_ is None:
        if not (ids is None and names is None and descriptions is None):
            raise ValueError("cluster ids or names without cluster centres")
    else:
        k = model.clusterer_.n_clusters_
        for what, values, kind in (("cluster_ids", ids, int), ("cluster_names", names, str),
                                   ("cluster_descriptions", descriptions, str)):
            if (not isinstance(values, list) or len(values) != k
                    or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values)):
                raise ValueError(f"{what} must list {k} values, one per cluster centre")
        if len(set(ids)) != k or len(set(names)) != k:
            raise ValueError("cluster ids and names must be unique")
    model.cluster_ids_, model.cluster_names_, model.cluster_descriptions_ = ids, names, descriptions
    model.cluster_changes_ = None
    model.training_fingerprint_ = str(data["training"]["fingerprint"])
    model.quality_ = _quality_from_dict(data["training"]["quality"])
    model.clv_ = None
    if data.get("clv") is not None:
        from rfmkit.clv_model import CLVModel

        model.clv_ = CLVModel.from_state(data["clv"])
    return model


def _quality_from_dict(d: dict) -> QualityReport:
    return QualityReport(
        source=d["source"], rows_read=d["rows_read"], dropped=dict(d["dropped"]),
        rows_used=d["rows_used"], customers=d["customers"],
        dropped_revenue={k: float(v) for k, v in (d.get("dropped_revenue") or {}).items()
                         if v is not None},
        customers_without_purchases=d["customers_without_purchases"],
        as_of=None if d["as_of"] is None else dt.date.fromisoformat(d["as_of"]),
        as_of_policy=d["as_of_policy"], warnings=list(d["warnings"]),
        cleaned=dict(d.get("cleaned") or {}))  # models saved before it have none


def model_json(model: RFMModel, *, path: str | os.PathLike = "model.json") -> str:
    """The text of ``model.json``: the one way a model is written (``path`` names it in errors)."""
    state = model_to_dict(model)
    try:
        return json.dumps(state, indent=1, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:  # a non-finite number or a non-JSON value
        raise ModelFormatError(
            f"Cannot write the model to {path}: its state is not plain JSON ({exc}). Nothing was "
            "written; refit the model."
        ) from exc


def save_model(model: RFMModel, path: str | os.PathLike) -> Path:
    """Write the fitted model as JSON, atomically (see :mod:`rfmkit.atomic_files`)."""
    return write_text(path, model_json(model, path=path))


def load_model(path: str | os.PathLike) -> RFMModel:
    """Read a model saved by :func:`save_model`. Only JSON is parsed; no code runs."""
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark an editor added is not an error
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ModelFormatError(f"Model file {path} does not exist. Check the path.") from None
    except IsADirectoryError:
        raise ModelFormatError(
            f"Model file {path} is a folder; pass the model.json inside it.") from None
    except OSError as exc:
        raise ModelFormatError(f"Cannot read model file {path}: {exc.strerror}.") from None
    except UnicodeDecodeError as exc:
        raise ModelFormatError(
            f"Model file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"position {exc.start} cannot be decoded as UTF-8); rfmkit writes model.json as "
            "UTF-8. Pass the model.json that rfmkit wrote, or save the file as UTF-8."
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFormatError(
            f"Model file {path} is not valid JSON (line {exc.lineno}: {exc.msg}). Pass a "
            "model.json written by rfmkit."
        ) from None
    except RecursionError:
        # the parser recurses once per level: a hostile file of [[[[...]]]] ends here
        raise ModelFormatError(
            f"Model file {path} is nested too deeply to be a model (thousands of levels of "
            "[ or {); a model.json written by rfmkit has a few. Pass a model.json written by "
            "rfmkit."
        ) from None
    return model_from_dict(data, source=str(path))
