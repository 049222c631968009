"""rfmkit: RFM customer segmentation from raw transactions.

The public API is exactly ``__all__`` (pinned by tests/test_public_api.py). Importing rfmkit
imports no optional engine: Spark and PostgreSQL load only when asked for.
"""

from ._version import __version__
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
