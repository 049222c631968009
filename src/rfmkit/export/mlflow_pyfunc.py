"""MLflow "models from code" file of rfmkit models; never imported by rfmkit itself.

:func:`rfmkit.export.mlflow_model.log_model` logs this file with every model, and MLflow runs it
when the
model is loaded: it defines the pyfunc class and hands an instance to ``mlflow.models.set_model``.
The fitted model is the ``model_json`` artifact, read by :func:`rfmkit.load_model` (JSON only;
nothing is unpickled). Scoring is :func:`rfmkit.export.mlflow_model.predict_assignments`.
"""

import mlflow
import pandas as pd

from rfmkit.export.mlflow_model import MODEL_JSON_ARTIFACT, predict_assignments
from rfmkit.export.persistence import load_model


class RFMPyfuncModel(mlflow.pyfunc.PythonModel):
    """A fitted rfmkit model as an MLflow pyfunc model."""

    def load_context(self, context):
        self.model = load_model(context.artifacts[MODEL_JSON_ARTIFACT])

    # pandas type hints: MLflow checks the input against the logged signature only (no type-hint
    # validation), and does not warn that the hints are missing.
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return predict_assignments(self.model, model_input)


mlflow.models.set_model(RFMPyfuncModel())
