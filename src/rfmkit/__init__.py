"""rfmkit: RFM customer segmentation from raw transactions.

The public API is exactly ``__all__``, made from the one table below (public name -> module that
defines it); tests/test_public_api.py pins it. Names load on first use (PEP 562): ``import
rfmkit`` loads neither scikit-learn nor matplotlib until a name needs them, and never an optional
engine (Spark, PostgreSQL) until one is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from rfmkit._version import __version__ as __version__

_EXPORTS: dict[str, str] = {
    "AsOfWarning": "errors",
    "CleaningRules": "cleaning",
    "ClusterMatch": "clustering.matching",
    "CollapsedBinsWarning": "errors",
    "ColumnMapping": "schema",
    "ConstantMetricWarning": "errors",
    "DIALECTS": "export.sql_export",
    "ENGINE_NAMES": "engines",
    "EngineUnavailableError": "errors",
    "InputError": "errors",
    "InputShape": "schema",
    "MetricOptions": "metric_options",
    "ModelFormatError": "errors",
    "ModelVersionWarning": "errors",
    "PRESETS": "presets",
    "ProgressEvent": "progress",
    "ParameterError": "errors",
    "QualityReport": "cleaning",
    "RFMClusterer": "clustering.estimator",
    "RFMKitError": "errors",
    "RFMKitWarning": "errors",
    "RFMModel": "model",
    "RFMResult": "metrics",
    "RFMScorer": "scoring.scorer",
    "Report": "report",
    "SchemaError": "errors",
    "SegmentAudit": "segments.audit",
    "SegmentMap": "segments.map",
    "SegmentMapError": "errors",
    "SegmentRule": "segments.rules",
    "SmallDataWarning": "errors",
    "Segmentation": "segmentation",
    "assign_segments": "segments.assignment",
    "build_report": "report",
    "builtin_segment_maps": "segments.loading",
    "compute_rfm": "metrics",
    "generate_transactions": "demo",
    "get_engine": "engines",
    "load_model": "export.persistence",
    "load_model_by_alias": "export.mlflow_model",
    "load_segment_map": "segments.loading",
    "log_model": "export.mlflow_model",
    "match_clusters": "clustering.matching",
    "model_from_dict": "export.persistence",
    "model_sql": "export.sql_export",
    "model_to_dict": "export.persistence",
    "name_clusters": "clustering.naming",
    "profile_clusters": "clustering.profiles",
    "rfm_code": "scoring.codes",
    "save_model": "export.persistence",
    "score_in_engine": "export.in_engine_scoring",
    "score_levels": "scoring.levels",
    "segment_summary": "segments.summary",
    "segmentation_files": "export.outputs",
    "terminate_as_interrupt": "interrupts",
    "select_k": "clustering.estimator",
    "write_destination": "export.outputs",
    "write_files": "atomic_files",
    "write_transactions": "demo",
    "run_report": "jobs",
    "run_score": "jobs",
    "run_score_in_engine": "jobs",
    "run_segment": "jobs",
    "JobResult": "jobs",
    "run_clv": "jobs",
    "CLVJobResult": "jobs",
    "CLVModel": "clv_model",
    "HistoryResult": "timeline.job",
    "SegmentOrderWarning": "errors",
    "history": "timeline.job",
    "model_sql_as_of_param": "export.sql_params",
    "movers": "timeline.transitions",
    "run_history": "timeline.job",
    "transitions": "timeline.transitions",
}

__all__ = sorted(["__version__", *_EXPORTS])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rfmkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rfmkit.{module}"), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    # the public names (loaded or not) and the module's dunders; no helper imports
    return sorted(set(__all__) | {name for name in globals() if name.startswith("__")})
