"""Tests of rfmkit.model: RFMModel (fit once, apply frozen state) and Segmentation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

import rfmkit
from rfmkit import schema
from rfmkit.errors import CollapsedBinsWarning, ParameterError, SegmentMapError

SCORES = list(schema.SCORE_COLUMNS)
METRICS = list(schema.METRIC_COLUMNS)
ASSIGNMENTS = [*SCORES, schema.RFM_CODE, schema.SEGMENT, schema.CLUSTER, schema.CLUSTER_NAME]

# Frequency has few distinct values on small data: merged bins are expected in most tests here
# (they are tested where they matter, and in test_scoring_bins.py).
pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")


@pytest.fixture(autouse=True)
def _one_thread():
    # KMeans's OpenMP threads crawl when other processes hold the cores
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return rfmkit.generate_transactions(12_000, seed=4).to_pandas()


@pytest.fixture(scope="module")
def fitted(transactions) -> rfmkit.RFMModel:
    return rfmkit.RFMModel().fit(transactions)


@pytest.fixture(scope="module")
def customers(transactions) -> pd.DataFrame:
    """The demo's customer table under CRM-style column names (customer-level input)."""
    table = rfmkit.compute_rfm(transactions).customers[[schema.CUSTOMER_ID, *METRICS]]
    return table.rename(columns={schema.CUSTOMER_ID: "Customer", schema.RECENCY: "Recency",
                                 schema.FREQUENCY: "Frequency", schema.MONETARY: "Monetary"})


CRM = rfmkit.ColumnMapping(customer="Customer", recency="Recency", frequency="Frequency",
                           monetary="Monetary")


def assignments(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in [schema.CUSTOMER_ID, *ASSIGNMENTS] if c in frame.columns]
    out = frame[cols].copy()
    for col in (schema.RFM_CODE, schema.SEGMENT, schema.CLUSTER_NAME):
        if col in out.columns:
            out[col] = out[col].astype(str)
    return out.reset_index(drop=True)


# --- fit / predict / segment -------------------------------------------------------------------
def test_fit_predict_segment_on_demo_data(fitted, transactions):
    result = fitted.result_
    c = result.customers
    assert len(c) == fitted.quality_.customers > 900
    assert c[schema.CUSTOMER_ID].is_unique
    assert c[schema.CUSTOMER_ID].astype(int).is_monotonic_increasing  # sorted by id
    for col in SCORES:
        assert c[col].between(1, 5).all() and c[col].dtype == "int64"
    assert set(c[schema.SEGMENT]) <= set(fitted.segment_map_.segment_names)
    # k was chosen by the default rule and recorded
    assert fitted.clusterer_.n_clusters_ == len(fitted.cluster_names_) == len(result.clusters)
    assert result.k_selection is not None and result.k_selection["chosen"].sum() == 1
    assert result.clusters["customers"].sum() == len(c)
    assert len(set(fitted.cluster_names_)) == len(fitted.cluster_names_)
    # predict: the assignment columns; segment: everything
    predicted = fitted.predict(transactions)
    assert list(predicted.columns) == [schema.CUSTOMER_ID, *ASSIGNMENTS]
    assert_frame_equal(assignments(predicted), assignments(c))
    seg = fitted.segment(transactions)
    assert isinstance(seg, rfmkit.Segmentation)
    assert seg.as_of == fitted.as_of_ == pd.Timestamp("2025-12-31").date()
    assert seg.segments["customers"].sum() == len(c)
    assert_frame_equal(fitted.transform(transactions).reset_index(), c[[schema.CUSTOMER_ID,
                                                                         *SCORES]])
    assert_frame_equal(assignments(rfmkit.RFMModel().fit_predict(transactions)),
                       assignments(c))


def assert_frame_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_dtype=False, check_categorical=False)


def test_no_clusters(transactions):
    model = rfmkit.RFMModel(n_clusters="none").fit(transactions)
    assert model.clusterer_ is None and model.cluster_names_ is None
    assert model.result_.clusters is None and model.result_.k_selection is None
    predicted = model.predict(transactions)
    assert schema.CLUSTER not in predicted.columns
    assert schema.CLUSTER_NAME not in predicted.columns
    assert list(predicted.columns) == [schema.CUSTOMER_ID, *SCORES, schema.RFM_CODE,
                                       schema.SEGMENT]


def test_customer_level_input(customers):
    model = rfmkit.RFMModel(columns=CRM, n_clusters=4).fit(customers)
    assert model.columns_.shape is rfmkit.InputShape.CUSTOMERS
    c = model.result_.customers
    assert_frame_equal(c[[schema.CUSTOMER_ID, *METRICS]],
                       customers.set_axis([schema.CUSTOMER_ID, *METRICS], axis=1))
    assert_frame_equal(assignments(model.predict(customers)), assignments(c))


# --- the model is frozen -------------------------------------------------------------------------
def frozen_bin_scores(model: rfmkit.RFMModel, values: pd.Series, metric: str) -> np.ndarray:
    """Scores from the stored edges, computed here from their documented meaning."""
    v = values.to_numpy(dtype="float64")
    cap = model.scorer_.caps_.get(metric)
    if cap is not None:
        v = np.minimum(v, cap)
    if metric == schema.RECENCY:
        v = -v
    inner = model.scorer_.bin_edges_[metric][1:-1]
    return np.array([1 + sum(e <= x for e in inner) for x in v])


def test_scoring_new_data_uses_the_frozen_edges(customers):
    """Score the 150 biggest spenders alone: a refit would spread them over 1..5; the model
    keeps the training edges, so they all keep the scores they had among everyone."""
    model = rfmkit.RFMModel(columns=CRM, n_clusters=3).fit(customers)
    edges = {m: e.copy() for m, e in model.scorer_.bin_edges_.items()}
    top = customers.nlargest(150, "Monetary")
    scored = model.segment(top).customers
    by_id = model.result_.customers.set_index(schema.CUSTOMER_ID)
    expected = by_id.loc[scored[schema.CUSTOMER_ID], SCORES].to_numpy()
    np.testing.assert_array_equal(scored[SCORES].to_numpy(), expected)
    for metric, score in zip(METRICS, SCORES, strict=True):
        np.testing.assert_array_equal(scored[score],
                                      frozen_bin_scores(model, scored[metric], metric))
    assert (scored[schema.M_SCORE] == 5).all()
    refit = rfmkit.RFMModel(columns=CRM, n_clusters=3).fit(top).result_.customers
    assert set(refit[schema.M_SCORE]) == {1, 2, 3, 4, 5}
    # nothing learned changed
    for metric in METRICS:
        np.testing.assert_array_equal(model.scorer_.bin_edges_[metric], edges[metric])


def test_shifted_data_moves_scores_not_edges(customers):
    """Everyone spends three times as much: with frozen edges monetary scores rise (a refit
    would give exactly the same scores as before, quantiles being scale-free)."""
    model = rfmkit.RFMModel(columns=CRM, n_clusters="none").fit(customers)
    before = model.result_.customers
    richer = customers.assign(Monetary=customers["Monetary"] * 3)
    after = model.segment(richer).customers
    assert (after[schema.M_SCORE] >= before[schema.M_SCORE]).all()
    assert (after[schema.M_SCORE] > before[schema.M_SCORE]).mean() > 0.5
    np.testing.assert_array_equal(after[schema.M_SCORE],
                                  frozen_bin_scores(model, after[schema.MONETARY], "monetary"))
    refit = rfmkit.RFMModel(columns=CRM, n_clusters="none").fit(richer).result_.customers
    np.testing.assert_array_equal(refit[schema.M_SCORE], before[schema.M_SCORE])
    # recency and frequency did not change: neither did their scores
    np.testing.assert_array_equal(after[[schema.R_SCORE, schema.F_SCORE]],
                                  before[[schema.R_SCORE, schema.F_SCORE]])


def test_percentile_scores_of_new_data_use_the_training_ranks(customers):
    model = rfmkit.RFMModel(columns=CRM, preset="percentile", n_clusters="none").fit(customers)
    half = customers.iloc[::2]
    scored = model.segment(half).customers
    by_id = model.result_.customers.set_index(schema.CUSTOMER_ID)
    np.testing.assert_array_equal(scored[SCORES].to_numpy(),
                                  by_id.loc[scored[schema.CUSTOMER_ID], SCORES].to_numpy())


@pytest.mark.parametrize("params", [
    {},
    {"preset": "percentile", "n_clusters": 5},
    {"cluster_features": "log-metrics", "n_clusters": 4},
    {"preset": "quintile", "n_init": 20, "returns": "net"},
], ids=["default", "percentile", "log-metrics", "quintile-net"])
def test_saved_model_reproduces_training_assignments_exactly(transactions, tmp_path, params):
    model = rfmkit.RFMModel(**params).fit(transactions)
    loaded = rfmkit.load_model(rfmkit.save_model(model, tmp_path / "model.json"))
    training = model.result_.customers
    again = loaded.segment(transactions).customers
    assert_frame_equal(assignments(again), assignments(training))
    np.testing.assert_array_equal(again[METRICS].to_numpy(), training[METRICS].to_numpy())
    # and the profile of the clusters is the training one
    pd.testing.assert_frame_equal(loaded.segment(transactions).clusters, model.result_.clusters)


# --- scikit-learn integration -----------------------------------------------------------------
def test_model_in_a_pipeline(customers):
    """A FunctionTransformer that maps a warehouse export's names, then the model."""
    export = customers.rename(columns={"Customer": "cust_no", "Recency": "days_since",
                                       "Frequency": "n_orders", "Monetary": "spend"})

    def canonical(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.rename(columns={"cust_no": schema.CUSTOMER_ID, "days_since": schema.RECENCY,
                                     "n_orders": schema.FREQUENCY, "spend": schema.MONETARY})

    pipe = Pipeline([("names", FunctionTransformer(canonical)),
                     ("rfm", rfmkit.RFMModel(n_clusters=4))])
    assert pipe.fit(export) is pipe
    predicted = pipe.predict(export)
    direct = rfmkit.RFMModel(n_clusters=4).fit(canonical(export))
    assert_frame_equal(assignments(predicted), assignments(direct.result_.customers))
    # a clone of the pipeline fits to the same result
    again = clone(pipe).fit(export).predict(export.iloc[:100])
    assert_frame_equal(assignments(again), assignments(predicted.iloc[:100]))


# --- presets -----------------------------------------------------------------------------------
def test_preset_defaults_and_explicit_parameters_win(customers):
    model = rfmkit.RFMModel(preset="quintile", columns=CRM, n_bins=4, caps={},
                            n_clusters="none", segment_map="rf-10")
    model.fit(customers)  # the 10-segment map is written for 5 levels: 4 are rescaled
    assert model.params_["n_bins"] == 4 and model.result_.customers[schema.SEGMENT].notna().all()
    model.set_params(n_bins=5).fit(customers)
    p = model.params_
    assert (p["n_bins"], p["caps"], p["n_clusters"], p["segment_map"]) == (5, {}, "none",
                                                                           "rf-10")
    # the rest comes from the preset
    assert (p["frequency"], p["monetary"], p["consolidate_days"], p["criterion"],
            p["k_max"]) == ("days", "mean", True, "auto", 20)
    assert model.scorer_.caps_ == {}
    # the parameters themselves are untouched (clone and get_params see what the user gave)
    assert model.get_params()["frequency"] is None
    assert rfmkit.RFMModel(preset="quintile", n_clusters="none").fit(customers).params_[
        "caps"] == {"frequency": 30.0, "monetary": 2500.0}


def test_unknown_preset_and_bad_k_range():
    with pytest.raises(ParameterError,
                       match="'preset' parameter of RFMModel must be None or one of"):
        rfmkit.RFMModel(preset="quartile").fit(pd.DataFrame())
    with pytest.raises(ParameterError, match="k_min"):
        rfmkit.RFMModel(k_min=8, k_max=4).fit(pd.DataFrame())


# --- parameters checked before any data is read (issue 12) --------------------------------------
MISSING = "/nonexistent/folder/transactions.csv"  # reading it would raise an InputError


@pytest.mark.parametrize(("params", "match"), [
    ({"caps": {"monetary": -5.0}}, r"'caps' parameter of RFMModel must give 'monetary' a cap "
                                   r"> 0. Got -5.0 instead"),
    ({"caps": {"frequency": 0.0}}, r"'caps' parameter of RFMModel must give 'frequency' a cap "
                                   r">= 1. Got 0.0 instead"),
    ({"caps": {"monetary": "q1.5"}}, r"'caps' parameter of RFMModel has an invalid quantile"),
    ({"n_bins": 1000}, r"'n_bins' parameter of RFMModel must be None or an int >= 2 and <= 20. "
                       r"Got 1000 instead"),
    ({"n_bins": 1}, r"'n_bins' parameter of RFMModel must be None or an int >= 2 and <= 20"),
    ({"n_clusters": 0}, r"'n_clusters' parameter of RFMModel must be .*an int >= 1 and <= 100. "
                        r"Got 0 instead"),
    ({"n_clusters": 10**6}, r"'n_clusters' parameter.*<= 100. Got 1000000"),
    ({"k_max": 10**6}, r"'k_max' parameter of RFMModel must be None or an int >= 1 and <= 100"),
    ({"k_min": 0}, r"'k_min' parameter of RFMModel must be None or an int >= 1"),
])
def test_nonsense_parameters_are_refused_before_any_data_is_read(params, match):
    with pytest.raises(ParameterError, match=match):
        rfmkit.RFMModel(**params).fit(MISSING)


def test_a_segment_map_is_loaded_and_fitted_to_the_bins_before_any_data_is_read(tmp_path):
    bad = tmp_path / "map.yaml"
    bad.write_text("levels: [5\n", encoding="utf-8")
    with pytest.raises(SegmentMapError, match=r"map\.yaml' is not valid YAML"):
        rfmkit.RFMModel(segment_map=str(bad)).fit(MISSING)
    # any number of bins fits: levels are rescaled to the map's by quantile position
    assert rfmkit.RFMModel(n_bins=10).resolved_params()["n_bins"] == 10
    assert rfmkit.RFMModel(n_bins=7).resolved_params()["n_bins"] == 7


# --- small data, one date, as-of (issue 12) ------------------------------------------------------
def _shop(n_customers: int, *, one_day: bool = False) -> pd.DataFrame:
    days = pd.to_datetime(["2023-05-05"] * 9) if one_day else pd.date_range(
        "2023-01-01", periods=9, freq="17D")
    rows = [(f"c{c}", f"o{c}-{i}", days[(c * 4 + i) % 9], 10.0 * (c + 1) + i)
            for c in range(n_customers) for i in range(1 + c % 3)]
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_any_number_of_customers_works_with_warnings(n):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = rfmkit.RFMModel().fit(_shop(n))
    kinds = {w.category for w in caught}
    assert rfmkit.SmallDataWarning in kinds
    assert kinds <= {rfmkit.SmallDataWarning, rfmkit.ConstantMetricWarning,
                     rfmkit.CollapsedBinsWarning, rfmkit.AsOfWarning}
    customers = model.result_.customers
    assert len(customers) == n and customers[schema.SEGMENT].notna().all()
    assert customers[SCORES].isin(range(1, 6)).all().all()
    assert model.clusterer_.n_clusters_ <= n
    if n == 1:
        assert customers[SCORES].iloc[0].tolist() == [3, 3, 3]
    again = model.predict(_shop(n))  # the saved scale applies to the same data
    assert again[SCORES].equals(customers[SCORES].reset_index(drop=True))


def test_every_purchase_on_one_day_is_not_lost(transactions):
    """Everyone bought on the as-of day: every R score is the middle one, nobody is Lost."""
    one_day = transactions.assign(invoice_date=pd.Timestamp("2023-05-05"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = rfmkit.RFMModel(n_clusters="none").fit(one_day)
    assert any(issubclass(w.category, rfmkit.ConstantMetricWarning)
               and "same recency (0)" in str(w.message) for w in caught)
    customers = model.result_.customers
    assert set(customers[schema.R_SCORE]) == {3}
    assert "Lost" not in set(customers[schema.SEGMENT])


def test_a_typo_date_far_in_the_future_is_warned(transactions):
    typo = transactions.copy()
    kept = (typo["quantity"] > 0) & ~typo["invoice"].str.startswith("C")
    typo.loc[typo.index[kept][0], "invoice_date"] = pd.Timestamp("2099-01-01")
    with pytest.warns(rfmkit.AsOfWarning, match=r"as-of date 2099-01-01 .* rests on 1 of "
                                                 r".*2099-01-01 \(1 customer\).*as_of='"):
        rfmkit.RFMModel(n_clusters="none").fit(typo)


def test_as_of_far_after_the_data_is_warned_also_when_scoring(fitted, transactions):
    latest = fitted.as_of_
    with pytest.warns(rfmkit.AsOfWarning, match=r"as_of='2030-01-01' is [\d,]+ days after the "
                                                 rf"latest purchase in DataFrame \({latest}\)"):
        rfmkit.RFMModel(as_of="2030-01-01", n_clusters="none").fit(transactions)
    with pytest.warns(rfmkit.AsOfWarning, match="days after the latest purchase"):
        fitted.segment(transactions, as_of=pd.Timestamp("2030-01-01").date())
    with warnings.catch_warnings():  # a month later is normal (as_of = today on an export)
        warnings.simplefilter("error", rfmkit.AsOfWarning)
        fitted.segment(transactions, as_of=latest + pd.Timedelta(days=30))


# --- carrying clusters over ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def previous(customers) -> rfmkit.RFMModel:
    return rfmkit.RFMModel(columns=CRM, n_clusters=5, n_init=20).fit(customers)


def perturbed(customers: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Next month's customers: 90% of them, with slightly different spend."""
    rng = np.random.default_rng(seed)
    sample = customers.sample(frac=0.9, random_state=seed)
    return sample.assign(Monetary=sample["Monetary"] * rng.uniform(0.9, 1.1, len(sample)))


def test_previous_model_carries_cluster_ids_and_names(previous, customers):
    new_data = perturbed(customers, 1)
    model = rfmkit.RFMModel(columns=CRM, n_clusters=5, n_init=20, previous_model=previous)
    model.fit(new_data)
    change = model.cluster_changes_
    assert change is not None and model.result_.cluster_changes is change
    old_name = dict(zip(previous.cluster_ids_, previous.cluster_names_, strict=True))
    new_name = dict(zip(model.cluster_ids_, model.cluster_names_, strict=True))
    matched = [cid for cid, _ in change.moved]
    assert len(matched) >= 4  # a small perturbation: (nearly) every cluster continues
    for cid in matched:
        assert new_name[cid] == old_name[cid]
    # ids used by the customers are the carried-over ones, names follow ids
    c = model.result_.customers
    assert set(c[schema.CLUSTER]) <= set(model.cluster_ids_)
    assert (c[schema.CLUSTER].map(new_name) == c[schema.CLUSTER_NAME]).all()
    # most customers keep their cluster id
    prev_of = model.result_.previous
    assert list(prev_of.columns) == [schema.CUSTOMER_ID, schema.SEGMENT, schema.CLUSTER,
                                     schema.CLUSTER_NAME]
    assert_frame_equal(prev_of, previous.predict_customers(c))
    assert (prev_of[schema.CLUSTER].to_numpy() == c[schema.CLUSTER].to_numpy()).mean() > 0.8


def test_new_and_gone_clusters_are_reported(previous, customers):
    new_data = perturbed(customers, 2)
    more = rfmkit.RFMModel(columns=CRM, n_clusters=7, n_init=20, previous_model=previous)
    more.fit(new_data)
    change = more.cluster_changes_
    assert len(change.new) >= 2
    fresh = [change.ids[i] for i in change.new]
    assert min(fresh) > max(previous.cluster_ids_)  # retired ids are never reused
    assert sorted(more.cluster_ids_) == more.cluster_ids_ and len(more.cluster_ids_) == 7

    fewer = rfmkit.RFMModel(columns=CRM, n_clusters=3, n_init=20, previous_model=previous)
    fewer.fit(new_data)
    assert len(fewer.cluster_changes_.gone) >= 2
    assert set(fewer.cluster_ids_) <= set(previous.cluster_ids_) | set(
        range(max(previous.cluster_ids_) + 1, 99))


def test_previous_model_survives_clone_and_save(previous, customers, tmp_path):
    model = clone(rfmkit.RFMModel(columns=CRM, n_clusters=5, n_init=20,
                                  previous_model=previous))
    assert model.previous_model is previous  # still fitted: clone keeps it
    model.fit(perturbed(customers, 3))
    assert model.cluster_changes_ is not None
    # a previous model loaded from its file works the same
    loaded = rfmkit.load_model(rfmkit.save_model(previous, tmp_path / "old.json"))
    again = rfmkit.RFMModel(columns=CRM, n_clusters=5, n_init=20,
                            previous_model=loaded).fit(perturbed(customers, 3))
    assert again.cluster_ids_ == model.cluster_ids_
    assert again.cluster_names_ == model.cluster_names_


def test_previous_model_in_another_space_is_refused(previous, customers):
    with pytest.raises(ParameterError, match="another space"):
        rfmkit.RFMModel(columns=CRM, preset="percentile", n_clusters=5,
                        previous_model=previous).fit(customers)
    with pytest.raises(ParameterError, match="must be a fitted RFMModel"):
        rfmkit.RFMModel(columns=CRM, previous_model=rfmkit.RFMScorer().fit(
            customers.set_axis([schema.CUSTOMER_ID, *METRICS], axis=1))).fit(customers)


# --- Method P shape: percentile preset, k = 7 --------------------------------------------------
def method_p_customers(n_customers: int, seed: int = 0) -> pd.DataFrame:
    """Customer-level R/F/M shaped like Method P's data: orders between 2020-06-18 and
    2023-06-14 (about 16 per customer), integer amounts, customers active for part of the
    period."""
    rng = np.random.default_rng(seed)
    days = int((np.datetime64("2023-06-14") - np.datetime64("2020-06-18")) / np.timedelta64(1,
                                                                                          "D"))
    n_orders = 1 + rng.negative_binomial(2, 2 / (2 + 14.8), n_customers)
    cust = np.repeat(np.arange(n_customers), n_orders)
    first = rng.integers(0, days, n_customers)
    span = (rng.beta(0.8, 1.2, n_customers) * (days - first)).astype(int)
    day = first[cust] + (rng.random(cust.size) * (span[cust] + 1)).astype(int)
    amount = rng.integers(10, 500, cust.size) * rng.integers(1, 4, n_customers)[cust]
    orders = pd.DataFrame({"c": cust, "day": day, "amount": amount}).groupby("c")
    return pd.DataFrame({
        "CustomerId": [f"C{i:05d}" for i in range(n_customers)],
        "Recency": day.max() - orders["day"].max().to_numpy(),
        "Frequency": orders.size().to_numpy(),
        "Monetary": orders["amount"].sum().to_numpy(),
    })


def method_p_reference(customers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Method P written out independently: average ranks / max rank x 100, then the
    notebook's KMeans."""
    cols = []
    for col, ascending in (("Recency", False), ("Frequency", True), ("Monetary", True)):
        rank = customers[col].rank(method="average", ascending=ascending)
        cols.append(rank / rank.max() * 100)
    X = np.column_stack(cols)
    km = KMeans(7, init="random", n_init=10, max_iter=500, random_state=12345).fit(X)
    return X, km.labels_


# What a marketer expects of each name, on the 0-100 scale: (R, F, M) each "high" (>= 60),
# "low" (< 40) or None (anything). Method P's hand-made names map to rfmkit's vocabulary as in
# rfmkit.clustering.naming.
EXPECTED_SHAPE = {
    "Champions": ("high", "high", "high"),
    "Loyal Customers": ("high", "high", None),
    "Potential Loyalists": ("high", None, None),
    "New Customers": ("high", "low", "low"),
    "Promising": ("high", "low", None),
    "Big Spenders": ("high", "low", "high"),
    "Need Attention": (None, None, None),
    "About To Sleep": (None, "low", None),
    "At Risk": ("low", None, None),
    "Can't Lose Them": ("low", "high", "high"),
    "Hibernating": ("low", None, "low"),
    "One-Time Buyers": ("low", "low", None),
    "Lost": ("low", "low", "low"),
}


def fits_shape(centroid: np.ndarray, shape: tuple) -> bool:
    return all(level is None or (level == "high" and v >= 60) or (level == "low" and v < 40)
               for v, level in zip(centroid, shape, strict=True))


@pytest.mark.slow
def test_percentile_preset_reproduces_method_p_and_names_clusters_sensibly():
    customers = method_p_customers(20_000)
    columns = rfmkit.ColumnMapping(customer="CustomerId", recency="Recency",
                                   frequency="Frequency", monetary="Monetary")
    model = rfmkit.RFMModel(preset="percentile", n_clusters=7, columns=columns).fit(customers)
    X, ref_labels = method_p_reference(customers)
    c = model.result_.customers
    np.testing.assert_allclose(c[SCORES].to_numpy(), X, rtol=0, atol=1e-9)
    assert adjusted_rand_score(ref_labels, c[schema.CLUSTER]) > 0.95
    profile = model.result_.clusters
    centroids = profile[[f"{s}_mean" for s in SCORES]].to_numpy()
    names = profile[schema.CLUSTER_NAME].tolist()
    assert len(set(names)) == 7
    total = centroids.sum(axis=1)
    assert names[int(np.argmax(total))] == "Champions"
    assert names[int(np.argmin(total))] == "Lost"
    for name, centroid in zip(names, centroids, strict=True):
        base = name.split(" (")[0]
        assert base in EXPECTED_SHAPE, name
        assert fits_shape(centroid, EXPECTED_SHAPE[base]), (name, centroid.round(1))
    # cluster 0 is the best-valued one, and every description quotes its medians
    assert profile[schema.CLUSTER].tolist() == list(range(7)) and names[0] == "Champions"
    assert all(f"last purchase {days(r)} day" in d
               for d, r in zip(profile["description"], profile["recency_median"], strict=True))


# --- Online Retail (Method Q) ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def online_retail_model(shared_data):
    path = shared_data / "online_retail.parquet"
    with pytest.warns(CollapsedBinsWarning, match="'frequency' left 4 distinct bin"):
        model = rfmkit.RFMModel(preset="quintile").fit(path)
    return path, model


@pytest.mark.slow
def test_online_retail_method_q_facts(online_retail_model):
    _, model = online_retail_model
    c = model.result_.customers
    assert len(c) == 4338
    assert c[schema.RECENCY].sum() == 399_354
    assert c[schema.FREQUENCY].sum() == 16_763
    assert (c[schema.FREQUENCY] > 30).sum() == 26
    assert (c[schema.MONETARY] > 2500).sum() == 36
    assert model.scorer_.n_bins_ == {"recency": 5, "frequency": 4, "monetary": 5}
    assert (c[schema.F_SCORE] == 1).sum() == 1548
    row = c.set_index(schema.CUSTOMER_ID).loc["12346"]
    assert (row[schema.RECENCY], row[schema.FREQUENCY]) == (325, 1)
    assert row[schema.MONETARY] == pytest.approx(77_183.60)
    assert (row[schema.R_SCORE], row[schema.F_SCORE], row[schema.M_SCORE]) == (1, 1, 5)
    # k searched over 2..20; the auto rule lands where the silhouette gain flattens: k=8, the
    # accelerator's choice (the plain silhouette maximum would be the range edge, 20)
    ks = model.result_.k_selection
    assert ks["k"].tolist() == list(range(2, 21))
    assert model.clusterer_.n_clusters_ == 8
    assert int(ks.loc[ks["chosen"], "k"].iloc[0]) == 8


@pytest.mark.slow
def test_online_retail_saved_model_scores_identically(online_retail_model, tmp_path):
    path, model = online_retail_model
    loaded = rfmkit.load_model(rfmkit.save_model(model, tmp_path / "model.json"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        again = loaded.predict(path)
    assert not record  # scoring never re-learns edges, so it never warns about merged bins
    assert_frame_equal(assignments(again), assignments(model.result_.customers))


def days(median: float) -> str:
    """A median recency as descriptions write it: 378.5 -> 378, 19.5 -> 19.5."""
    return f"{median:,.0f}" if median >= 100 or float(median).is_integer() else f"{median:g}"


# --- cluster names from the data -----------------------------------------------------------------
def test_cluster_names_agree_with_the_medians(fitted):
    # each metric is read on its realised levels (ties leave the demo's frequency with fewer)
    assert fitted.scorer_.n_bins_[schema.FREQUENCY] < 5
    profile = fitted.result_.clusters
    assert profile[schema.CLUSTER_NAME].is_unique
    everyone = fitted.result_.customers[list(schema.METRIC_COLUMNS)].median()
    for row in profile.itertuples():
        name, text = row.cluster_name, row.description
        if name.startswith(("One-Time Buyers", "New Customers")):
            assert row.frequency_median == 1, row
        # "recent" names are more recent than the median customer, lapsed ones are not, and
        # the description says so ("Bought recently" read as absolute next to 40 days)
        more_recent = row.recency_median < everyone[schema.RECENCY]
        if name.startswith(RECENT_NAMES):
            assert more_recent, row
            assert text.startswith("Bought more recently than the median customer"), row
        if name.startswith(LAPSED_NAMES):
            assert not more_recent, row
        assert "Bought recently" not in text
        # the description quotes the cluster's own medians and the median customer's
        assert f"last purchase {days(row.recency_median)} day" in text, row
        assert f"median {row.frequency_median:g} order" in text, row
        assert f"(all customers: {everyone[schema.FREQUENCY]:g} order" in text, row


RECENT_NAMES = ("Champions", "Loyal Customers", "Potential Loyalists", "New Customers",
                "Promising", "Big Spenders")
LAPSED_NAMES = ("At Risk", "Can't Lose Them", "Hibernating", "One-Time Buyers", "Lost")


def test_segments_read_the_realised_levels_of_a_score(fitted):
    # the demo's frequency has 3 realised levels of 5: read as 1..5 its top customers (f=3)
    # were the map's middle, so R=4 with the best F and M was Loyal (FM 4), never Champions
    assert fitted.realised_levels == {schema.R_SCORE: 5, schema.F_SCORE: 3, schema.M_SCORE: 5}
    c = fitted.result_.customers
    top = c[(c[schema.R_SCORE] == 4) & (c[schema.F_SCORE] == 3) & (c[schema.M_SCORE] == 5)]
    assert len(top) > 0 and set(top[schema.SEGMENT]) == {"Champions"}
    # one-time buyers (f=1) stay the map's lowest frequency: R=5, F=1, M=1 is New Customers
    new = c[(c[schema.R_SCORE] == 5) & (c[schema.F_SCORE] == 1) & (c[schema.M_SCORE] == 1)]
    assert len(new) > 0 and set(new[schema.SEGMENT]) == {"New Customers"}


def test_no_segments_and_any_bins(transactions, tmp_path):
    model = rfmkit.RFMModel(n_bins=7, segment_map="none", n_clusters="none").fit(transactions)
    c = model.result_.customers
    assert c[schema.R_SCORE].max() == 7
    assert set(c[schema.SEGMENT]) == {"All customers"}
    assert model.result_.segments["customers"].tolist() == [len(c)]
    again = rfmkit.load_model(rfmkit.save_model(model, tmp_path / "model.json"))
    assert_frame_equal(assignments(again.predict(transactions)),
                       assignments(model.predict(transactions)))
    # 3 bins on the default 5-level map: levels 1, 3, 5, so both ends of the map are reached,
    # also by frequency, which ties leave with 2 of the 3 levels (read as 1 and 3)
    three = rfmkit.RFMModel(n_bins=3, n_clusters="none").fit(transactions)
    assert three.realised_levels[schema.F_SCORE] == 2
    names = set(three.result_.customers[schema.SEGMENT])
    assert {"Champions", "Lost"} <= names


def test_other_spellings_are_read_with_a_note(customers):
    from rfmkit.errors import SpellingWarning

    with pytest.warns(SpellingWarning, match=r"score_method='quintile' is read as "
                                             r"score_method='quantile'"):
        p = rfmkit.RFMModel(score_method="quintile", columns=CRM).resolved_params()
    assert p["score_method"] == "quantile"
    with pytest.warns(SpellingWarning, match=r"preset='quantile' is read as preset='quintile'"):
        p = rfmkit.RFMModel(preset="quantile", columns=CRM).resolved_params()
    assert p["n_init"] == rfmkit.RFMModel(preset="quintile").resolved_params()["n_init"]
