"""rfmkit: RFM customer segmentation from raw transactions.

The public API is exactly ``__all__`` (pinned by tests/test_public_api.py). Names load on first
use (PEP 562): ``import rfmkit`` is quick and loads neither scikit-learn nor matplotlib until a
name needs them, so the command line can start its engine while those load. Importing rfmkit
never loads an optional engine: Spark and PostgreSQL load only when asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module defining it
_EXPORTS: dict[str, str] = {
    "CleaningRules": "cleaning",
    "ClusterMatch": "cluster_matching",
    "CollapsedBinsWarning": "errors",
    "ColumnMapping": "schema",
    "DIALECTS": "sql_export",
    "ENGINE_NAMES": "engines",
    "EngineUnavailableError": "errors",
    "InputError": "errors",
    "InputShape": "schema",
    "MetricOptions": "metric_options",
    "ModelFormatError": "errors",
    "ModelVersionWarning": "errors",
    "PRESETS": "presets",
    "ParameterError": "errors",
    "QualityReport": "cleaning",
    "RFMClusterer": "clustering",
    "RFMKitError": "errors",
    "RFMKitWarning": "errors",
    "RFMModel": "model",
    "RFMResult": "metrics",
    "RFMScorer": "scoring",
    "Report": "report",
    "SchemaError": "errors",
    "SegmentAudit": "segments",
    "SegmentMap": "segments",
    "SegmentMapError": "errors",
    "SegmentRule": "segments",
    "Segmentation": "model",
    "assign_segments": "segments",
    "build_report": "report",
    "builtin_segment_maps": "segments",
    "compute_rfm": "metrics",
    "generate_transactions": "demo",
    "get_engine": "engines",
    "load_model": "persistence",
    "load_model_by_alias": "mlflow_model",
    "load_segment_map": "segments",
    "log_model": "mlflow_model",
    "match_clusters": "cluster_matching",
    "model_from_dict": "persistence",
    "model_sql": "sql_export",
    "model_to_dict": "persistence",
    "name_clusters": "cluster_naming",
    "profile_clusters": "clustering",
    "rfm_code": "scoring",
    "save_model": "persistence",
    "score_in_engine": "in_engine_scoring",
    "score_levels": "scoring",
    "segment_summary": "segments",
    "segmentation_files": "outputs",
    "select_k": "clustering",
    "write_destination": "outputs",
    "write_files": "outputs",
    "write_transactions": "demo",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load in __getattr__
    from .cleaning import CleaningRules, QualityReport
    from .cluster_matching import ClusterMatch, match_clusters
    from .cluster_naming import name_clusters
    from .clustering import RFMClusterer, profile_clusters, select_k
    from .demo import generate_transactions, write_transactions
    from .engines import ENGINE_NAMES, get_engine
    from .errors import (
        CollapsedBinsWarning,
        EngineUnavailableError,
        InputError,
        ModelFormatError,
        ModelVersionWarning,
        ParameterError,
        RFMKitError,
        RFMKitWarning,
        SchemaError,
        SegmentMapError,
    )
    from .in_engine_scoring import score_in_engine
    from .metric_options import MetricOptions
    from .metrics import RFMResult, compute_rfm
    from .mlflow_model import load_model_by_alias, log_model
    from .model import RFMModel, Segmentation
    from .outputs import segmentation_files, write_destination, write_files
    from .persistence import load_model, model_from_dict, model_to_dict, save_model
    from .presets import PRESETS
    from .report import Report, build_report
    from .schema import ColumnMapping, InputShape
    from .scoring import RFMScorer, rfm_code, score_levels
    from .segments import (
        SegmentAudit,
        SegmentMap,
        SegmentRule,
        assign_segments,
        builtin_segment_maps,
        load_segment_map,
        segment_summary,
    )
    from .sql_export import DIALECTS, model_sql


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rfmkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    # the public names (loaded or not) and the module's dunders; no helper imports
    return sorted(set(__all__) | {name for name in globals() if name.startswith("__")})


__all__ = [
    "CleaningRules",
    "ClusterMatch",
    "CollapsedBinsWarning",
    "ColumnMapping",
    "DIALECTS",
    "ENGINE_NAMES",
    "EngineUnavailableError",
    "InputError",
    "InputShape",
    "MetricOptions",
    "ModelFormatError",
    "ModelVersionWarning",
    "PRESETS",
    "ParameterError",
    "QualityReport",
    "RFMClusterer",
    "RFMKitError",
    "RFMKitWarning",
    "RFMModel",
    "RFMResult",
    "RFMScorer",
    "Report",
    "SchemaError",
    "SegmentAudit",
    "SegmentMap",
    "SegmentMapError",
    "SegmentRule",
    "Segmentation",
    "__version__",
    "assign_segments",
    "build_report",
    "builtin_segment_maps",
    "compute_rfm",
    "generate_transactions",
    "get_engine",
    "load_model",
    "load_model_by_alias",
    "load_segment_map",
    "log_model",
    "match_clusters",
    "model_from_dict",
    "model_sql",
    "model_to_dict",
    "name_clusters",
    "profile_clusters",
    "rfm_code",
    "save_model",
    "score_in_engine",
    "score_levels",
    "segment_summary",
    "segmentation_files",
    "select_k",
    "write_destination",
    "write_files",
    "write_transactions",
]
