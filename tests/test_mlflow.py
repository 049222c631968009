"""MLflow round trip: log, register, alias, load by alias, score pandas and Spark DataFrames.

Everything runs against a real local tracking store: a SQLite database and an artifact folder
under a temporary directory, selected through MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_ID for this
module only. Spark scoring uses the shared local SparkSession (tests/spark_session.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

mlflow = pytest.importorskip(
    "mlflow", reason="MLflow is not installed (pip install 'rfmkit[mlflow]')")

from rfmkit import RFMModel, model_to_dict  # noqa: E402
from rfmkit.errors import ParameterError  # noqa: E402
from rfmkit.export.mlflow_model import (  # noqa: E402
    load_model_by_alias,
    log_model,
    model_signature,
    predict_assignments,
)
from spark_session import get_session  # noqa: E402

pytestmark = [
    pytest.mark.mlflow,
    # MLflow 3.17's SQL tracking store configures its SQLAlchemy mappers with the "noload" loader
    # strategy, deprecated in SQLAlchemy 2.1: warned once, when MLflow imports the store. Not
    # rfmkit's code; drop this filter when MLflow stops using noload.
    pytest.mark.filterwarnings(
        "ignore:The ``noload`` loader strategy is deprecated:sqlalchemy.exc.SADeprecationWarning"),
    # MLflow compares DataFrame.columns with a range() when it saves an input example
    # (mlflow/models/utils.py), which pandas 3 deprecates (Pandas4Warning). Not rfmkit's code.
    pytest.mark.filterwarnings(
        "ignore:Operation with range is deprecated:pandas.errors.Pandas4Warning"),
    # Importing mlflow.pyfunc builds the schema of MLflow's own ResponsesAgentRequest (GenAI
    # agents) and warns about an Any type hint in it (the message starts with a color code).
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]

NAME = "rfmkit-test"
CUSTOMER_INPUT = ["customer_id", "recency", "frequency", "monetary"]
ASSIGNMENTS = ["customer_id", "r_score", "f_score", "m_score", "rfm_code", "segment", "cluster",
               "cluster_name"]


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    """A fresh SQLite tracking store and registry; artifacts under the same temporary folder."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        experiment_id = mlflow.MlflowClient(uri).create_experiment(
            "rfmkit-tests", artifact_location=(root / "artifacts").as_uri())
        mp.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
        yield SimpleNamespace(uri=uri, root=root, client=mlflow.MlflowClient(uri))


@pytest.fixture(scope="module")
def fitted(synthetic_lines):
    """A model with clusters, the transactions it was fitted on, and its customer table."""
    model = RFMModel(n_clusters=3).fit(synthetic_lines)
    customers = model.result_.customers[CUSTOMER_INPUT].copy()
    return SimpleNamespace(model=model, transactions=synthetic_lines, customers=customers,
                           expected=model.predict(synthetic_lines).reset_index(drop=True))


@pytest.fixture(scope="module")
def champion(tracking, fitted):
    """The fitted model logged, registered as NAME version 1 and aliased "champion"."""
    return log_model(fitted.model, registered_model_name=NAME, alias="champion")


# --- log, register, alias, load --------------------------------------------------------------
def test_logged_registered_and_aliased(tracking, champion):
    assert champion.registered_model_version == 1
    version = tracking.client.get_model_version_by_alias(NAME, "champion")
    assert int(version.version) == 1
    assert champion.model_uri.startswith("models:/")
    run = tracking.client.get_run(champion.run_id)  # logged in a run that log_model started
    assert run.info.status == "FINISHED"
    params = tracking.client.get_logged_model(champion.model_id).params
    assert params["n_bins"] == "5" and params["segment_map"] == "rfm-grid-11"


def test_log_model_uses_the_active_run(tracking, fitted):
    with mlflow.start_run() as run:
        info = log_model(fitted.model)
        assert mlflow.active_run().info.run_id == run.info.run_id  # still open
    assert info.run_id == run.info.run_id
    assert info.registered_model_version is None


def test_load_by_alias_scores_pandas_like_the_model(champion, fitted):
    pyfunc = load_model_by_alias(NAME, "champion")
    got = pyfunc.predict(fitted.customers)
    assert list(got.columns) == ASSIGNMENTS
    pd.testing.assert_frame_equal(got, fitted.expected)
    # segment, cluster and name are exactly RFMModel.predict_customers' on the same customers
    direct = fitted.model.predict_customers(fitted.customers)
    pd.testing.assert_frame_equal(got[list(direct.columns)], direct)


def test_models_uri_with_alias_loads_the_same(champion, fitted):
    pyfunc = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    assert pyfunc.metadata.model_id == champion.model_id
    pd.testing.assert_frame_equal(pyfunc.predict(fitted.customers.head(50)),
                                  fitted.expected.head(50))


def test_artifacts_are_json_and_code_never_pickle(champion, fitted, tmp_path):
    local = mlflow.artifacts.download_artifacts(champion.model_uri, dst_path=str(tmp_path))
    files = sorted(p.relative_to(local).as_posix()
                   for p in Path(local).rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib", ".cloudpickle"))]
    assert "python_model.pkl" not in files
    assert {"MLmodel", "mlflow_pyfunc.py", "artifacts/model.json"} <= set(files)
    stored = json.loads((tmp_path / "artifacts" / "model.json").read_text())
    assert stored == json.loads(json.dumps(model_to_dict(fitted.model)))
    mlmodel = mlflow.models.Model.load(local)
    assert mlmodel.flavors["python_function"]["loader_module"] == (
        "mlflow.pyfunc.loaders.code_model")
    assert mlmodel.metadata["training_fingerprint"] == fitted.model.training_fingerprint_


def test_signature_and_made_up_input_example(champion, fitted, tmp_path):
    signature = champion.signature
    assert signature.inputs.input_names() == CUSTOMER_INPUT
    assert [c.type.name for c in signature.inputs.inputs] == ["string", "long", "long", "double"]
    assert signature.outputs.input_names() == ASSIGNMENTS
    assert [c.type.name for c in signature.outputs.inputs] == [
        "string", "long", "long", "long", "string", "string", "long", "string"]
    example = mlflow.models.Model.load(champion.model_uri).load_input_example(
        mlflow.artifacts.download_artifacts(champion.model_uri, dst_path=str(tmp_path)))
    assert list(example.columns) == CUSTOMER_INPUT
    assert example["customer_id"].str.startswith("example-").all()  # no real customer logged
    assert not set(example["customer_id"]) & set(fitted.customers["customer_id"])
    # low, middle and high on the frozen scale
    scores = predict_assignments(fitted.model, example)
    assert scores["r_score"].is_monotonic_increasing and scores["r_score"].nunique() == 3


def test_new_version_and_alias_leave_champion_alone(tracking, champion, synthetic_lines):
    challenger = RFMModel(preset="percentile", n_clusters="none").fit(synthetic_lines)
    info = log_model(challenger, registered_model_name=NAME, alias="challenger")
    assert info.registered_model_version == 2
    assert int(tracking.client.get_model_version_by_alias(NAME, "champion").version) == 1
    assert int(tracking.client.get_model_version_by_alias(NAME, "challenger").version) == 2
    # percentile scores are doubles and a model without clusters has no cluster columns
    assert [c.type.name for c in info.signature.outputs.inputs][1:4] == ["double"] * 3
    customers = challenger.result_.customers[CUSTOMER_INPUT]
    got = load_model_by_alias(NAME, "challenger").predict(customers)
    pd.testing.assert_frame_equal(got, challenger.predict(synthetic_lines).reset_index(drop=True))


def test_transactions_need_accept_transactions(tracking, champion, fitted):
    strict = load_model_by_alias(NAME, "champion")
    with pytest.raises(mlflow.exceptions.MlflowException, match="missing inputs"):
        strict.predict(fitted.transactions)
    info = log_model(fitted.model, accept_transactions=True)
    assert info.signature.inputs is None
    got = mlflow.pyfunc.load_model(info.model_uri).predict(fitted.transactions)
    # exact, near-duplicate rows (differing in a column the model does not read) included
    pd.testing.assert_frame_equal(got, fitted.expected)


def test_tracking_uri_for_one_call(tracking, fitted, monkeypatch):
    # the configured URI points nowhere: only the URI passed for the call is used, then put back
    nowhere = "sqlite:////nonexistent/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", nowhere)
    info = log_model(fitted.model, registered_model_name="other", alias="champion",
                     tracking_uri=tracking.uri)
    assert mlflow.get_tracking_uri() == nowhere
    assert int(tracking.client.get_model_version_by_alias("other", "champion").version) == 1
    pyfunc = load_model_by_alias("other", "champion", tracking_uri=tracking.uri)
    assert pyfunc.metadata.model_id == info.model_id
    assert mlflow.get_tracking_uri() == nowhere


def test_alias_without_registered_name_is_refused(fitted):
    with pytest.raises(ParameterError, match="registered_model_name"):
        log_model(fitted.model, alias="champion")


def test_unfitted_model_is_refused():
    with pytest.raises(NotFittedError):
        log_model(RFMModel())
    with pytest.raises(NotFittedError):
        model_signature(RFMModel())


# --- from the command line --------------------------------------------------------------------
def test_cli_segment_registers_and_sets_alias(tracking, synthetic_lines, tmp_path, capsys):
    from rfmkit.cli import main

    data = tmp_path / "tx.parquet"
    synthetic_lines.to_parquet(data)
    out = tmp_path / "out"
    assert main(["segment", str(data), "--out", str(out), "--clusters", "3",
                 "--mlflow-register", "cli-model", "--mlflow-alias", "champion",
                 "--mlflow-tracking-uri", tracking.uri]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Registered cli-model version 1" in printed and "'champion'" in printed
    version = tracking.client.get_model_version_by_alias("cli-model", "champion")
    assert int(version.version) == 1
    # the registered model is the one written to --out: same JSON, same assignments
    pyfunc = load_model_by_alias("cli-model", "champion")
    logged = json.loads(Path(mlflow.artifacts.download_artifacts(
        "models:/cli-model@champion/artifacts/model.json", dst_path=str(tmp_path / "dl"))
    ).read_text())
    assert logged == json.loads((out / "model.json").read_text())
    customers = pd.read_parquet(out / "customers.parquet")
    got = pyfunc.predict(customers[CUSTOMER_INPUT])
    pd.testing.assert_frame_equal(got, customers[ASSIGNMENTS], check_dtype=False)


def test_cli_alias_needs_register(synthetic_lines, tmp_path, capsys):
    from rfmkit.cli import main

    data = tmp_path / "tx.parquet"
    synthetic_lines.to_parquet(data)
    out = tmp_path / "out"
    assert main(["segment", str(data), "--out", str(out), "--mlflow-alias", "champion"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--mlflow-register NAME" in err and "Traceback" not in err
    assert not out.exists()  # refused before any work


def test_cli_unreachable_registry_is_one_clear_error(synthetic_lines, tmp_path, capsys):
    from rfmkit.cli import main

    data = tmp_path / "tx.parquet"
    synthetic_lines.to_parquet(data)
    bad = tmp_path / "file-store"  # a file-based store has no model registry
    assert main(["segment", str(data), "--out", str(tmp_path / "out"), "--quiet",
                 "--clusters", "none", "--mlflow-register", "m",
                 "--mlflow-tracking-uri", bad.as_uri()]) == 2
    err = capsys.readouterr().err
    assert "Error:" in err and "MLflow" in err and "Traceback" not in err


# --- the pyfunc's scoring, without MLflow in between ---------------------------------------------
def test_rows_are_scored_independently_of_batches(fitted):
    """Any split of the rows into batches (what spark_udf does) gives the same assignments."""
    rows = fitted.customers.sample(frac=1.0, random_state=0).reset_index(drop=True)
    whole = predict_assignments(fitted.model, rows)
    parts = np.array_split(rows.index.to_numpy(), 7)
    batches = [predict_assignments(fitted.model, rows.loc[part]) for part in parts]
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)
    expected = fitted.expected.set_index("customer_id").loc[rows["customer_id"]].reset_index()
    pd.testing.assert_frame_equal(whole, expected)  # input order kept
    twice = predict_assignments(fitted.model, pd.concat([rows.head(3), rows.head(3)]))
    assert len(twice) == 6  # repeated ids: each row scored on its own


def test_empty_input_gives_empty_assignments(fitted):
    empty = predict_assignments(fitted.model, fitted.customers.head(0))
    assert list(empty.columns) == ASSIGNMENTS and empty.empty
    assert empty["r_score"].dtype == "int64" and empty["cluster"].dtype == "int64"


# --- Spark ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark():
    """The shared local SparkSession (skips without PySpark or Java)."""
    return get_session()


@pytest.mark.spark
# PySpark 4.3 warns, when it builds the pandas UDF, that it does not fully support pandas 3; the
# rfmkit Spark engine silences the same warning. (Rows go in and out of Spark as plain rows here,
# so no other pandas conversion runs on the driver.)
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_udf_scores_customer_level_dataframe(spark, champion, fitted):
    batch = "spark.sql.execution.arrow.maxRecordsPerBatch"
    previous = spark.conf.get(batch, None)
    spark.conf.set(batch, "40")  # several Arrow batches in the one partition
    try:
        customers = spark.createDataFrame(
            list(fitted.customers.itertuples(index=False, name=None)),
            "customer_id string, recency long, frequency long, monetary double",
        ).repartition(1)
        score = mlflow.pyfunc.spark_udf(spark, f"models:/{NAME}@champion", env_manager="local")
        # no arguments: the columns named in the signature; score(F.struct(...)) works too
        rows = customers.select(score().alias("a")).select("a.*").collect()
    finally:
        if previous is None:
            spark.conf.unset(batch)
        else:
            spark.conf.set(batch, previous)
    got = pd.DataFrame([r.asDict() for r in rows])
    assert list(got.columns) == ASSIGNMENTS
    got = got.sort_values("customer_id", ignore_index=True)
    expected = fitted.expected.sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
