"""MLflow: log a fitted RFMModel as a pyfunc model, register it, set aliases, load it by alias.

Needs ``pip install 'rfmkit[mlflow]'``. MLflow is imported only when a function here is called,
so ``import rfmkit`` never imports it.

Nothing is pickled. A logged model holds two rfmkit files:

* ``artifacts/model.json``: the fitted model as rfmkit's versioned JSON (:func:`rfmkit.save_model`);
* ``mlflow_pyfunc.py``: MLflow's "models from code" file, a copy of
  ``rfmkit/mlflow_pyfunc.py``. Loading the model runs this short, readable file, which reads
  ``model.json`` with :func:`rfmkit.load_model`. The scoring environment needs rfmkit installed.

The pyfunc's ``predict`` scores **customer-level** rows: ``customer_id`` (text), ``recency`` and
``frequency`` (integers), ``monetary`` (float), e.g. the customer table of
:func:`rfmkit.compute_rfm` or of the Spark engine. Every row is scored on its own with the frozen
bin edges (or ranks), segment map and cluster centres, so the result does not depend on how rows
are split into batches: this is the input for ``mlflow.pyfunc.spark_udf``. Output rows are in
input order: ``customer_id, r_score, f_score, m_score, rfm_code, segment`` and, when the model
has clusters, ``cluster, cluster_name``.

The model's signature declares exactly these four input columns (typed, required), which Unity
Catalog requires and which lets ``spark_udf`` pick the columns by name. A model logged with
``accept_transactions=True`` has no input schema and also scores **transactions** (pandas only),
exactly like :meth:`RFMModel.predict`: with an input schema MLflow would drop every column it
does not declare, and exact-duplicate detection compares all columns of the input.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from rfmkit._version import __version__
from rfmkit.errors import EngineUnavailableError, InputError, ParameterError, install_hint
from rfmkit.export.persistence import FORMAT_VERSION, save_model
from rfmkit.model import RFMModel
from rfmkit.schema import (
    CLUSTER,
    CLUSTER_NAME,
    CUSTOMER_ID,
    FREQUENCY,
    METRIC_COLUMNS,
    MONETARY,
    RECENCY,
    RFM_CODE,
    SCORE_COLUMNS,
    SEGMENT,
)
from rfmkit.scoring.codes import rfm_code

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.models import ModelSignature
    from mlflow.models.model import ModelInfo
    from mlflow.pyfunc import PyFuncModel

__all__ = ["load_model_by_alias", "log_model", "model_signature", "predict_assignments"]

#: The models-from-code file logged with every model (MLflow copies it into the model).
CODE_FILE = Path(__file__).with_name("mlflow_pyfunc.py")
#: Name of the model.json artifact, as the code file reads it.
MODEL_JSON_ARTIFACT = "model_json"
_TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"


def _import_mlflow():
    try:
        return importlib.import_module("mlflow")
    except ImportError:
        raise EngineUnavailableError(
            f"MLflow support needs the mlflow package: {install_hint('mlflow')}"
        ) from None


def require_mlflow() -> None:
    """Fail now, with the install hint, if MLflow is not installed (before a job's work)."""
    _import_mlflow()


# --- what the pyfunc model returns ---------------------------------------------------------------
def predict_assignments(model: RFMModel, frame: pd.DataFrame) -> pd.DataFrame:
    """What the logged MLflow model's ``predict`` returns for ``frame``.

    Parameters
    ----------
    model : RFMModel
        A fitted model.
    frame : pandas.DataFrame
        Customer-level rows (``customer_id``, ``recency``, ``frequency``, ``monetary``; each row
        scored on its own, output in input order) or transactions with the columns the model
        was fitted on (aggregated per customer; one output row per customer, sorted by id).

    Returns
    -------
    assignments : pandas.DataFrame
        ``customer_id, r_score, f_score, m_score, rfm_code, segment`` and, when the model has
        clusters, ``cluster, cluster_name``. For customer-level rows the segment, cluster and
        cluster name are those of :meth:`RFMModel.predict_customers`; for transactions, the
        output of :meth:`RFMModel.predict`.
    """
    check_is_fitted(model)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"The rfmkit MLflow model scores a pandas DataFrame; got {type(frame).__name__}.")
    if not _is_customer_level(frame):
        return model.predict(frame).reset_index(drop=True)
    customers = frame.loc[:, [CUSTOMER_ID, *METRIC_COLUMNS]].reset_index(drop=True)
    if customers.empty:
        return _empty_assignments(model)
    ids = customers[CUSTOMER_ID]
    if ids.isna().any():
        raise InputError(
            f"{int(ids.isna().sum()):,} row(s) have no {CUSTOMER_ID}. Remove them before scoring.")
    customers[CUSTOMER_ID] = ids.astype(str)
    scores = model.scorer_.transform(customers)
    assigned = model.predict_customers(customers)
    out = pd.DataFrame({CUSTOMER_ID: customers[CUSTOMER_ID]})
    for column in SCORE_COLUMNS:
        out[column] = scores[column].to_numpy()
    # The same code RFMModel.predict writes (rfmkit.model.RFMModel._attach_scores).
    out[RFM_CODE] = rfm_code(scores, n_bins=model.params_["n_bins"]).to_numpy()
    out[SEGMENT] = assigned[SEGMENT].to_numpy()
    if model.clusterer_ is not None:
        out[CLUSTER] = assigned[CLUSTER].to_numpy()
        out[CLUSTER_NAME] = assigned[CLUSTER_NAME].to_numpy()
    return out


def _is_customer_level(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for c in (CUSTOMER_ID, *METRIC_COLUMNS))


def _output_types(model: RFMModel) -> dict[str, str]:
    """Output column -> MLflow type name, in output order."""
    score = "long" if model.params_["score_method"] == "quantile" else "double"
    types = {CUSTOMER_ID: "string", **dict.fromkeys(SCORE_COLUMNS, score),
             RFM_CODE: "string", SEGMENT: "string"}
    if model.clusterer_ is not None:
        types.update({CLUSTER: "long", CLUSTER_NAME: "string"})
    return types


def _empty_assignments(model: RFMModel) -> pd.DataFrame:
    dtypes = {"string": object, "long": "int64", "double": "float64"}
    return pd.DataFrame({c: pd.Series([], dtype=dtypes[t])
                         for c, t in _output_types(model).items()})


# --- signature and input example ---------------------------------------------------------------
#: MLflow types of the customer-level input, the types rfmkit's engines return.
_CUSTOMER_TYPES = {CUSTOMER_ID: "string", RECENCY: "long", FREQUENCY: "long", MONETARY: "double"}


def model_signature(model: RFMModel) -> ModelSignature:
    """The MLflow signature of ``model``'s pyfunc: customer-level columns in, assignments out.

    Inputs (all required): ``customer_id`` string, ``recency`` and ``frequency`` long,
    ``monetary`` double, the types rfmkit's engines return. MLflow casts int32 to long and
    float32 to double; other types (float recency, integer ids) are refused: cast them first.
    Outputs: the columns of :func:`predict_assignments`, with long scores for quantile scoring
    and double scores for percentile scoring.
    """
    check_is_fitted(model)
    _import_mlflow()
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = Schema([ColSpec(t, name) for name, t in _CUSTOMER_TYPES.items()])
    outputs = Schema([ColSpec(t, name) for name, t in _output_types(model).items()])
    return ModelSignature(inputs=inputs, outputs=outputs)


def _example_customers(model: RFMModel, n: int = 3) -> pd.DataFrame:
    """Made-up customer-level rows spread over the model's scale (no training customer is logged).

    One value per metric is taken low, in the middle and high on the frozen scale: bin centres for
    quantile scores, learned distinct values for percentile scores.
    """
    state = model.scorer_.to_state()
    columns: dict[str, Any] = {CUSTOMER_ID: [f"example-{i + 1}" for i in range(n)]}
    for metric in METRIC_COLUMNS:
        if "bin_edges_" in state:
            edges = np.asarray(state["bin_edges_"][metric], dtype="float64")
            points = (edges[:-1] + edges[1:]) / 2
        else:
            points = np.asarray(state["rank_values_"][metric], dtype="float64")
        values = points[np.linspace(0, len(points) - 1, n).round().astype(int)]
        if metric in state["negated"]:  # stored on the "higher is better" scale
            values = -values
        if _CUSTOMER_TYPES[metric] == "long":
            columns[metric] = np.maximum(np.round(values), 0).astype("int64")
        else:
            columns[metric] = np.round(values, 2).astype("float64")
    return pd.DataFrame(columns)


# --- logging and loading -----------------------------------------------------------------------
def log_model(
    model: RFMModel,
    *,
    artifact_path: str = "rfm_model",
    registered_model_name: str | None = None,
    alias: str | None = None,
    input_example: pd.DataFrame | None = None,
    accept_transactions: bool = False,
    tracking_uri: str | None = None,
) -> ModelInfo:
    """Log a fitted model to MLflow as a pyfunc model; optionally register it and set an alias.

    The model is logged into the active run, or into a new run (ended afterwards) of the active
    experiment when none is active. Its parameters are logged as the logged model's params.

    Parameters
    ----------
    model : RFMModel
        A fitted model. It is stored as its ``model.json`` artifact (JSON, never pickle).
    artifact_path : str, default="rfm_model"
        Name of the logged model (MLflow's ``name``).
    registered_model_name : str or None
        Register the logged model as a new version of this registered model (created if needed).
    alias : str or None
        Point this alias of the registered model (e.g. ``"champion"``) at the new version;
        needs ``registered_model_name``. An alias held by an older version moves.
    input_example : pandas.DataFrame or None
        Example input stored with the model. Default: three made-up customer-level rows spread
        over the model's scale (no real customer is written to the tracking server).
    accept_transactions : bool, default=False
        Log the signature's output schema only, so that ``predict`` also takes transactions
        (pandas, all of a customer's rows in one call) and aggregates them exactly like
        :meth:`RFMModel.predict`. Without an input schema MLflow checks no input types, and
        Databricks Unity Catalog, which requires one, refuses to register the model.
    tracking_uri : str or None
        Tracking server (and, unless one is set, registry) for this call only, e.g.
        ``sqlite:///mlflow.db``; default: MLflow's configured URI (``MLFLOW_TRACKING_URI``).

    Returns
    -------
    mlflow.models.model.ModelInfo
        ``model_uri`` (``models:/<model_id>``), and ``registered_model_version`` when registered.
    """
    mlflow = _import_mlflow()
    if not isinstance(model, RFMModel):
        raise ParameterError(
            f"log_model logs a fitted RFMModel. Got {type(model).__name__} instead.")
    check_is_fitted(model)
    if alias is not None and registered_model_name is None:
        raise ParameterError(
            f"An alias ({alias!r}) points at a registered model version: pass "
            "registered_model_name=NAME too.")
    signature = model_signature(model)
    if accept_transactions:
        signature = type(signature)(outputs=signature.outputs)
    example = _example_customers(model) if input_example is None else input_example
    params = {k: str(v) for k, v in sorted(model.params_.items())}
    params["segment_map"] = model.segment_map_.name  # the name, also for a SegmentMap object
    with _tracking(mlflow, tracking_uri), tempfile.TemporaryDirectory() as tmp, _hushed():
        json_path = save_model(model, Path(tmp) / "model.json")
        with _run(mlflow):
            info = mlflow.pyfunc.log_model(
                name=artifact_path,
                python_model=str(CODE_FILE),
                artifacts={MODEL_JSON_ARTIFACT: str(json_path)},
                signature=signature,
                input_example=example,
                pip_requirements=[f"rfmkit=={__version__}", f"mlflow=={mlflow.__version__}"],
                metadata=_metadata(model),
                params=params,
                registered_model_name=registered_model_name,
            )
        if alias is not None:
            mlflow.MlflowClient().set_registered_model_alias(
                registered_model_name, alias, str(info.registered_model_version))
    return info


@contextlib.contextmanager
def _hushed() -> Iterator[None]:
    """MLflow's progress chatter (INFO log lines, "Successfully registered model" on stderr)
    held back while logging: the caller reports the result (``ModelInfo``); MLflow's errors
    are raised, and its warnings go through ``warnings`` as usual."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def load_model_by_alias(name: str, alias: str, *, tracking_uri: str | None = None
                        ) -> PyFuncModel:
    """Load the version of registered model ``name`` that ``alias`` points at (pyfunc model).

    Same as ``mlflow.pyfunc.load_model(f"models:/{name}@{alias}")``; ``tracking_uri`` as in
    :func:`log_model`.
    """
    mlflow = _import_mlflow()
    with _tracking(mlflow, tracking_uri):
        return mlflow.pyfunc.load_model(f"models:/{name}@{alias}")


def _metadata(model: RFMModel) -> dict[str, Any]:
    return {
        "rfmkit_version": __version__,
        "rfmkit_model_format_version": FORMAT_VERSION,
        "training_fingerprint": model.training_fingerprint_,
        "as_of": None if model.as_of_ is None else model.as_of_.isoformat(),
        "score_method": model.params_["score_method"],
        "segment_map": model.segment_map_.name,
        "n_clusters": None if model.clusterer_ is None else int(model.clusterer_.n_clusters_),
        # how customer-level input must be computed to be scored on this model's scale
        "metric_options": model.metric_options_.to_dict(),
        "cleaning_rules": model.cleaning_rules_.to_dict(),
    }


@contextlib.contextmanager
def _tracking(mlflow: Any, uri: str | None) -> Iterator[None]:
    """Use tracking URI ``uri`` (when given) inside the block; the previous one is put back."""
    if uri is None:
        yield
        return
    # MLflow keeps the URI set by set_tracking_uri in a global and mirrors it into the
    # MLFLOW_TRACKING_URI variable; put back the variable, and leave the global unset.
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)  # also removes the variable
        if previous is not None:
            os.environ[_TRACKING_URI_VARIABLE] = previous


@contextlib.contextmanager
def _run(mlflow: Any) -> Iterator[None]:
    """The active run, or a new run that ends with the block (marked failed on an error)."""
    if mlflow.active_run() is not None:
        yield
        return
    with mlflow.start_run(run_name="rfmkit"):
        yield
