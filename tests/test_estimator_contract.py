"""The scikit-learn estimator contract for RFMScorer, RFMClusterer and RFMModel.

scikit-learn's own checks run on the two numeric estimators; the checks that feed them data
with another number of columns than R, F and M are expected to fail (reasons below) and are
replaced by targeted tests of the same property on three-column data. RFMModel reads
transactions, not numeric arrays, so it gets the targeted tests only.
"""

from __future__ import annotations

import functools
import inspect
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import rfmkit
from rfmkit import RFMClusterer, RFMModel, RFMScorer, schema
from rfmkit.export.persistence import model_to_dict

pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")

# --- scikit-learn's checks -----------------------------------------------------------------------
_THREE = ("fits on data with another number of columns than the three R, F, M features it "
          "requires; tested on three columns in this file")
_MESSAGE = ("expects sklearn's wording for bad input; rfmkit names the three required columns "
            "instead (the input also has another number of columns than three)")
EXPECTED_FAILURES = {
    "check_estimators_overwrite_params": _THREE,
    "check_estimators_fit_returns_self": _THREE,
    "check_readonly_memmap_input": _THREE,
    "check_n_features_in_after_fitting": _THREE,
    "check_n_features_in": _THREE,
    "check_positive_only_tag_during_fit": _THREE,
    "check_estimators_dtypes": _THREE,
    "check_dtype_object": _THREE,
    "check_fit_idempotent": _THREE,
    "check_fit_check_is_fitted": _THREE,
    "check_complex_data": _MESSAGE,
    "check_estimators_empty_data_messages": _MESSAGE,
    "check_fit2d_1sample": _MESSAGE,
    "check_fit2d_1feature": _MESSAGE,
    "check_fit2d_predict1d": _MESSAGE,
}
SCORER_FAILURES = {
    **EXPECTED_FAILURES,
    "check_estimator_sparse_tag": "the error for sparse input does not say 'sparse' (it names "
                                  "the required columns); RFMClusterer's does",
    "check_estimator_sparse_array": "same as check_estimator_sparse_tag",
    "check_estimator_sparse_matrix": "same as check_estimator_sparse_tag",
    "check_transformer_preserve_dtypes": "transform returns a DataFrame (named score columns, "
                                         "int or float by method), not an array",
}
CLUSTERER_FAILURES = {
    **EXPECTED_FAILURES,
    "check_clustering": _THREE,
    "check_non_transformer_estimators_n_iter": _THREE,
}


def _expected_failures(estimator) -> dict[str, str]:
    return SCORER_FAILURES if isinstance(estimator, RFMScorer) else CLUSTERER_FAILURES


def _check_name(check) -> str:
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


@parametrize_with_checks(
    [RFMScorer(), RFMClusterer(n_clusters=3, n_init=2, stability_resamples=0)])
def test_sklearn_checks(estimator, check):
    """Expected failures are marked xfail here rather than through ``expected_failed_checks``:
    pytest would format each failure's long traceback through scikit-learn's sources (about 30 s
    for these 37 checks). A check that starts to pass fails the test, so the list stays true."""
    reason = _expected_failures(estimator).get(_check_name(check))
    if reason is None:
        check(estimator)
        return
    try:
        check(estimator)
    except Exception as exc:  # noqa: BLE001 - any failure of an expected-to-fail check
        failure = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:100]}"
    else:
        failure = None
    if failure is None:
        pytest.fail(f"{_check_name(check)} passes now; remove it from the expected failures")
    pytest.xfail(f"{reason} ({failure})")  # outside the except block: no chained traceback


# --- data ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return rfmkit.generate_transactions(4_000, seed=3).to_pandas()


@pytest.fixture(scope="module")
def metrics(transactions) -> pd.DataFrame:
    return rfmkit.compute_rfm(transactions).customers


@pytest.fixture(scope="module")
def scores(metrics) -> pd.DataFrame:
    return RFMScorer().fit_transform(metrics)


def fit_data(estimator, transactions, metrics, scores):
    if isinstance(estimator, RFMModel):
        return transactions
    if isinstance(estimator, RFMClusterer) and estimator.features == "scores":
        return scores
    return metrics


ESTIMATORS = {
    "scorer": RFMScorer(),
    "scorer-percentile": RFMScorer(method="percentile", caps={"monetary": "q0.9"}),
    "clusterer": RFMClusterer(n_clusters=3, stability_resamples=1),
    "clusterer-auto-log": RFMClusterer(features="log-metrics", k_max=4, stability_resamples=1),
    "model": RFMModel(n_clusters=3),
    "model-percentile": RFMModel(preset="percentile", n_clusters="none"),
}


@pytest.fixture(params=ESTIMATORS.values(), ids=ESTIMATORS.keys())
def estimator(request):
    return clone(request.param)


def fitted_state(est) -> object:
    if isinstance(est, RFMModel):
        return model_to_dict(est)
    return est.to_state()


# --- construction ---------------------------------------------------------------------------------
def init_params(cls) -> list[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


@pytest.mark.parametrize("cls", [RFMScorer, RFMClusterer, RFMModel])
def test_init_stores_its_arguments_and_nothing_else(cls):
    """As sklearn's check_no_attributes_set_in_init: one attribute per parameter, as given."""
    names = init_params(cls)
    est = cls()
    assert sorted(vars(est)) == sorted(names)
    # non-default values are stored as they are (the same objects, not copies or conversions)
    values = {"caps": {"monetary": "q0.99"}, "init": np.zeros((3, 3)), "n_clusters": 3,
              "columns": rfmkit.ColumnMapping(customer="id"), "as_of": "2024-01-31"}
    given = {k: v for k, v in values.items() if k in names}
    est = cls(**given)
    for name, value in given.items():
        assert getattr(est, name) is value
    # at most one positional parameter, the rest keyword-only
    kinds = [p.kind for p in inspect.signature(cls.__init__).parameters.values()][1:]
    assert kinds[1:] == [inspect.Parameter.KEYWORD_ONLY] * (len(kinds) - 1)


def test_get_params_set_params_and_clone(estimator):
    params = estimator.get_params(deep=False)
    assert sorted(params) == sorted(init_params(type(estimator)))
    copy = clone(estimator)
    assert copy is not estimator and type(copy) is type(estimator)
    assert repr(copy.get_params(deep=False)) == repr(params)
    name = {"RFMScorer": "n_bins", "RFMClusterer": "max_iter", "RFMModel": "max_iter"}[
        type(estimator).__name__]
    assert estimator.set_params(**{name: 7}) is estimator
    assert estimator.get_params()[name] == 7 and copy.get_params()[name] == params[name]
    with pytest.raises(ValueError, match="Invalid parameter"):
        estimator.set_params(no_such_parameter=1)


def test_clone_of_a_fitted_estimator_is_unfitted(estimator, transactions, metrics, scores):
    estimator.fit(fit_data(estimator, transactions, metrics, scores))
    copy = clone(estimator)
    assert not [k for k in vars(copy) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        fitted_state(copy)


def test_clone_keeps_an_engine_instance_and_the_previous_model(transactions):
    """Both are things to use, not parameters to copy: a fitted previous model would be
    cloned unfitted, an engine's connection cannot be copied."""
    previous = RFMModel(n_clusters=3).fit(transactions)
    engine = rfmkit.get_engine("duckdb")
    try:
        model = RFMModel(n_clusters=3, engine=engine, previous_model=previous,
                         columns=rfmkit.ColumnMapping(customer="customer_id"))
        copy = clone(model)
        assert copy.engine is engine and copy.previous_model is previous
        assert copy.columns == model.columns and copy.columns is not model.columns
        copy.fit(transactions)
        assert copy.cluster_changes_ is not None
    finally:
        engine.close()


# --- fitting ------------------------------------------------------------------------------------
POST_FIT = {
    RFMScorer: [("transform", 1), ("get_feature_names_out", 0), ("to_state", 0)],
    RFMClusterer: [("predict", 1), ("feature_matrix", 1), ("to_state", 0)],
    RFMModel: [("predict", 1), ("segment", 1), ("transform", 1), ("predict_customers", 1)],
}


def test_post_fit_methods_need_fit(estimator, metrics):
    for method, n_args in POST_FIT[type(estimator)]:
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(*([metrics] * n_args))
    if isinstance(estimator, RFMModel):
        with pytest.raises(NotFittedError):
            rfmkit.model_sql(estimator)
        with pytest.raises(NotFittedError):
            model_to_dict(estimator)


def test_fit_returns_self_leaves_params_and_is_idempotent(estimator, transactions, metrics,
                                                         scores):
    data = fit_data(estimator, transactions, metrics, scores)
    before = repr(estimator.get_params(deep=False))
    assert estimator.fit(data) is estimator
    assert repr(estimator.get_params(deep=False)) == before  # fit overwrites no parameter
    first = fitted_state(estimator)
    assert estimator.fit(data) is estimator
    assert fitted_state(estimator) == first
    # a clone fitted on the same data learns the same state
    assert fitted_state(clone(estimator).fit(data)) == first


def test_fit_on_read_only_arrays(metrics, scores):
    for est, frame in ((RFMScorer(), metrics[list(schema.METRIC_COLUMNS)]),
                       (RFMClusterer(n_clusters=3, stability_resamples=0),
                        scores[list(schema.SCORE_COLUMNS)])):
        array = frame.to_numpy(dtype="float64")
        array.flags.writeable = False
        from_array = est.fit(array).to_state()
        assert from_array == clone(est).fit(frame).to_state()
        assert est.n_features_in_ == 3


# --- docstrings ---------------------------------------------------------------------------------
def documented_names(cls, section: str) -> list[str]:
    """Names listed in a numpydoc section (``name : type`` lines; ``a, b : type`` lists both)."""
    lines = inspect.getdoc(cls).splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line == section and re.fullmatch("-{3,}", lines[i + 1]))
    names = []
    for i in range(start + 2, len(lines)):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch("-{3,}", lines[i + 1]):
            break  # the next section
        if line and not line.startswith(" "):
            names += [n.strip() for n in line.split(" : ")[0].split(",")]
    return names


@pytest.mark.parametrize("cls", [RFMScorer, RFMClusterer, RFMModel])
def test_docstring_parameters_are_the_init_parameters(cls):
    assert sorted(documented_names(cls, "Parameters")) == sorted(init_params(cls))


def test_docstring_attributes_are_exactly_the_fitted_attributes(estimator, transactions,
                                                               metrics, scores):
    estimator.fit(fit_data(estimator, transactions, metrics, scores))
    fitted = sorted(k for k in vars(estimator) if k.endswith("_") and not k.startswith("_"))
    documented = documented_names(type(estimator), "Attributes")
    assert len(documented) == len(set(documented))
    assert sorted(documented) == fitted
