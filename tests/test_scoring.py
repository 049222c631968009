"""Tests of rfmkit.scoring: Method Q bins, Method P ranks, caps, levels, codes and state."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import KBinsDiscretizer

from rfmkit import schema
from rfmkit.errors import (
    CollapsedBinsWarning,
    InputError,
    ModelFormatError,
    ParameterError,
    SchemaError,
)
from rfmkit.scoring import RFMScorer, rfm_code, score_levels

DATA = Path(__file__).parents[2] / "shared" / "data"
SCORES = list(schema.SCORE_COLUMNS)


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores below are worked out by hand.

    Linear percentiles of 10 sorted values sit at positions 0, 1.8, 3.6, 5.4, 7.2, 9.
    -recency sorted: -365 -200 -90 -30 -30 -30 -10 -3 -3 0
        edges -365, -200+0.8*110=-112, -30, -30+0.4*20=-22, -3, 0     (5 bins)
    frequency sorted: 1 1 1 1 2 2 3 4 5 8
        edges 1, 1 (dropped: equal to its predecessor), 1.6, 2.4, 4.2, 8 (4 bins)
    monetary 10..100 step 10: edges 10, 28, 46, 64, 82, 100              (5 bins)
    """
    return pd.DataFrame(
        {
            schema.CUSTOMER_ID: [f"c{i}" for i in range(10)],
            schema.RECENCY: [0, 3, 3, 10, 30, 30, 30, 90, 200, 365],
            schema.FREQUENCY: [1, 1, 1, 1, 2, 2, 3, 4, 5, 8],
            schema.MONETARY: [30.0, 10.0, 100.0, 20.0, 50.0, 90.0, 40.0, 70.0, 60.0, 80.0],
        },
        index=pd.Index([10, 11, 12, 13, 14, 15, 16, 17, 18, 19], name="row"),
    )


def fit_quiet(scorer: RFMScorer, X) -> RFMScorer:
    """Fit, ignoring collapsed-bin warnings (tests of those warnings use pytest.warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedBinsWarning)
        return scorer.fit(X)


def tie_heavy(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            schema.CUSTOMER_ID: np.arange(n),
            schema.RECENCY: rng.integers(0, 40, n) ** 2 // 7,
            schema.FREQUENCY: rng.geometric(0.45, n),
            schema.MONETARY: np.round(rng.lognormal(3.5, 1.2, n), 0),
        }
    )


# --- Method Q ----------------------------------------------------------------------------------
def test_quantile_scores_match_hand_computation(tiny):
    with pytest.warns(CollapsedBinsWarning, match=r"'frequency'.* 4 distinct bin.*5 requested"):
        scorer = RFMScorer().fit(tiny)
    assert scorer.n_bins_ == {schema.RECENCY: 5, schema.FREQUENCY: 4, schema.MONETARY: 5}
    np.testing.assert_allclose(scorer.bin_edges_[schema.RECENCY], [-365, -112, -30, -22, -3, 0])
    np.testing.assert_allclose(scorer.bin_edges_[schema.FREQUENCY], [1, 1.6, 2.4, 4.2, 8])
    np.testing.assert_allclose(scorer.bin_edges_[schema.MONETARY], [10, 28, 46, 64, 82, 100])
    scores = scorer.transform(tiny)
    assert list(scores.columns) == SCORES
    assert scores.index.equals(tiny.index)
    assert all(dtype == np.int64 for dtype in scores.dtypes)
    assert scores[schema.R_SCORE].tolist() == [5, 5, 5, 4, 3, 3, 3, 2, 1, 1]
    assert scores[schema.F_SCORE].tolist() == [1, 1, 1, 1, 2, 2, 3, 3, 4, 4]
    assert scores[schema.M_SCORE].tolist() == [2, 1, 5, 1, 3, 5, 2, 4, 3, 4]


def test_collapsed_bins_warning_points_at_the_caller(tiny):
    with pytest.warns(CollapsedBinsWarning) as record:
        RFMScorer().fit(tiny)
    assert record[0].filename == __file__


def test_constant_metric_gets_one_bin(tiny):
    X = tiny.assign(**{schema.FREQUENCY: 3})
    with pytest.warns(CollapsedBinsWarning, match="'frequency' left 1 distinct bin"):
        scorer = RFMScorer().fit(X)
    assert scorer.n_bins_[schema.FREQUENCY] == 1
    assert scorer.bin_edges_[schema.FREQUENCY].tolist() == [3.0, 3.0]
    new = X.assign(**{schema.FREQUENCY: [0, 3, 99, 3, 3, 3, 3, 3, 3, 3]})
    assert set(scorer.transform(new)[schema.F_SCORE]) == {1}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_bins", [3, 5, 10])
def test_quantile_equals_kbinsdiscretizer_linear(seed, n_bins):
    X = tie_heavy(seed)
    oriented = np.column_stack(
        [-X[schema.RECENCY], X[schema.FREQUENCY], X[schema.MONETARY]]
    ).astype(float)
    kbd = KBinsDiscretizer(
        n_bins=n_bins, encode="ordinal", strategy="quantile", quantile_method="linear"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = kbd.fit_transform(oriented) + 1
        scorer = RFMScorer(n_bins=n_bins).fit(X)
    scores = scorer.transform(X)
    np.testing.assert_array_equal(scores[SCORES].to_numpy(), expected.astype(int))
    for j, metric in enumerate(schema.METRIC_COLUMNS):
        np.testing.assert_array_equal(scorer.bin_edges_[metric], kbd.bin_edges_[j])
        assert scorer.n_bins_[metric] == kbd.n_bins_[j]

    # New data, including values far outside the training range, uses the frozen edges.
    new = tie_heavy(seed + 100, n=200).astype({schema.RECENCY: float, schema.FREQUENCY: float})
    new.loc[:4, schema.RECENCY] = [0, -3, 10_000, 5, 1e6]
    new.loc[:4, schema.FREQUENCY] = [0, 1, 500, 2, 1e6]
    new.loc[:4, schema.MONETARY] = [-50.0, 0.0, 1e9, 3.0, 7.5]
    new_oriented = np.column_stack(
        [-new[schema.RECENCY], new[schema.FREQUENCY], new[schema.MONETARY]]
    ).astype(float)
    np.testing.assert_array_equal(
        scorer.transform(new)[SCORES].to_numpy(), kbd.transform(new_oriented).astype(int) + 1
    )


def test_transform_uses_frozen_edges_out_of_range(tiny):
    scorer = fit_quiet(RFMScorer(), tiny)
    new = pd.DataFrame(
        {
            schema.RECENCY: [-10, 100_000, 25],
            schema.FREQUENCY: [1000, 0, 2],
            schema.MONETARY: [-5.0, 1e9, 46.0],
        }
    )
    scores = scorer.transform(new)
    assert scores[schema.R_SCORE].tolist() == [5, 1, 3]  # -25 is in [-30, -22)
    assert scores[schema.F_SCORE].tolist() == [4, 1, 2]
    assert scores[schema.M_SCORE].tolist() == [1, 5, 3]  # 46 is an edge: bin from it upwards
    # Re-fitting on the new data would give different edges; transform did not re-learn them.
    np.testing.assert_allclose(scorer.bin_edges_[schema.MONETARY], [10, 28, 46, 64, 82, 100])


def test_fixed_and_quantile_caps(tiny):
    scorer = fit_quiet(RFMScorer(caps={schema.FREQUENCY: 3, schema.MONETARY: "q0.5"}), tiny)
    assert scorer.caps_ == {schema.FREQUENCY: 3.0, schema.MONETARY: 55.0}
    # monetary capped at 55: sorted 10 20 30 40 50 55 55 55 55 55 -> edges 10 28 46 55 55 55
    np.testing.assert_allclose(scorer.bin_edges_[schema.MONETARY], [10, 28, 46, 55])
    assert scorer.n_bins_[schema.MONETARY] == 3
    # frequency capped at 3: 1 1 1 1 2 2 3 3 3 3 -> edges 1, (1), 1.6, 2.4, 3, (3)
    np.testing.assert_allclose(scorer.bin_edges_[schema.FREQUENCY], [1, 1.6, 2.4, 3])
    new = pd.DataFrame(
        {schema.RECENCY: [0, 0], schema.FREQUENCY: [3, 300], schema.MONETARY: [55.0, 1e6]}
    )
    scores = scorer.transform(new)
    assert scores[schema.F_SCORE].tolist() == [3, 3]
    assert scores[schema.M_SCORE].tolist() == [3, 3]


def test_quantile_cap_uses_numpy_linear_quantile():
    X = tie_heavy(5)
    scorer = fit_quiet(RFMScorer(caps={schema.MONETARY: "q0.99", schema.RECENCY: "q.9"}), X)
    assert scorer.caps_[schema.MONETARY] == np.quantile(X[schema.MONETARY], 0.99)
    assert scorer.caps_[schema.RECENCY] == np.quantile(X[schema.RECENCY], 0.9)


@pytest.mark.skipif(not (DATA / "online_retail.parquet").exists(),
                    reason="../shared/data/online_retail.parquet is not available")
def test_method_q_on_online_retail():
    raw = pd.read_parquet(
        DATA / "online_retail.parquet", columns=["CustomerID", "InvoiceDate", "Quantity",
                                                 "UnitPrice"]
    )
    raw = raw[raw["CustomerID"].notna()]
    raw = raw.assign(amount=raw["Quantity"] * raw["UnitPrice"],
                     day=raw["InvoiceDate"].dt.normalize())
    raw = raw[raw["amount"] > 0]
    daily = raw.groupby(["CustomerID", "day"], as_index=False)["amount"].sum()
    last_day = daily["day"].max()
    per = daily.groupby("CustomerID").agg(last=("day", "max"), frequency=("day", "size"),
                                          monetary=("amount", "mean"))
    customers = pd.DataFrame(
        {
            schema.CUSTOMER_ID: per.index,
            schema.RECENCY: (last_day - per["last"]).dt.days.to_numpy(),
            schema.FREQUENCY: per["frequency"].to_numpy(),
            schema.MONETARY: per["monetary"].to_numpy(),
        }
    )
    assert len(customers) == 4338
    with pytest.warns(CollapsedBinsWarning, match="'frequency' left 4 distinct"):
        scorer = RFMScorer(caps={schema.FREQUENCY: 30, schema.MONETARY: 2500}).fit(customers)
    scores = scorer.transform(customers).set_index(customers[schema.CUSTOMER_ID])
    assert scores[schema.F_SCORE].nunique() == 4
    assert (scores[schema.F_SCORE] == 1).sum() == 1548
    assert scores.loc["12346"].tolist() == [1, 1, 5]


# --- Method P ----------------------------------------------------------------------------------
def test_percentile_scores_match_hand_computation(tiny):
    scorer = RFMScorer(method="percentile").fit(tiny)
    scores = scorer.transform(tiny)
    assert all(dtype == np.float64 for dtype in scores.dtypes)
    # recency ranked descending: 365->1, 200->2, 90->3, 30x3->5, 10->7, 3x2->8.5, 0->10
    # (rank / 10 * 100 is not always exact in floating point, hence approx)
    assert scores[schema.R_SCORE].tolist() == pytest.approx(
        [100, 85, 85, 70, 50, 50, 50, 30, 20, 10], abs=1e-12)
    # frequency: 1x4->2.5, 2x2->5.5, 3->7, 4->8, 5->9, 8->10
    assert scores[schema.F_SCORE].tolist() == pytest.approx(
        [25, 25, 25, 25, 55, 55, 70, 80, 90, 100], abs=1e-12)
    assert scores[schema.M_SCORE].tolist() == pytest.approx(
        [30, 10, 100, 20, 50, 90, 40, 70, 60, 80], abs=1e-12)
    assert scorer.max_rank_ == {schema.RECENCY: 10.0, schema.FREQUENCY: 10.0,
                                schema.MONETARY: 10.0}
    assert scorer.rank_values_[schema.RECENCY].tolist() == [-365, -200, -90, -30, -10, -3, 0]
    assert scorer.rank_counts_[schema.FREQUENCY].tolist() == [4, 2, 1, 1, 1, 1]


def test_percentile_max_rank_with_ties_at_the_top():
    X = pd.DataFrame({schema.RECENCY: [0, 0, 9], schema.FREQUENCY: [5, 5, 1],
                      schema.MONETARY: [1.0, 2.0, 3.0]})
    scores = RFMScorer(method="percentile").fit_transform(X)
    # ranks 2.5, 2.5, 1 over max rank 2.5
    assert scores[schema.R_SCORE].tolist() == [100, 100, 40]
    assert scores[schema.F_SCORE].tolist() == [100, 100, 40]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_percentile_equals_pandas_average_rank(seed):
    X = tie_heavy(seed)
    scorer = RFMScorer(method="percentile").fit(X)
    scores = scorer.transform(X)
    for metric, column in zip(schema.METRIC_COLUMNS, SCORES, strict=True):
        rank = X[metric].rank(method="average", ascending=metric != schema.RECENCY)
        expected = rank / rank.max() * 100
        np.testing.assert_array_equal(scores[column].to_numpy(), expected.to_numpy())


def test_percentile_unseen_values_get_a_mid_rank():
    X = pd.DataFrame({schema.RECENCY: [1, 2, 3, 4], schema.FREQUENCY: [1, 2, 3, 4],
                      schema.MONETARY: [1.0, 2.0, 2.0, 4.0]})
    scorer = RFMScorer(method="percentile").fit(X)
    new = pd.DataFrame({schema.RECENCY: [2.5, 0, 10], schema.FREQUENCY: [2.5, 0, 10],
                        schema.MONETARY: [2.0, 3.0, 5.0]})
    scores = scorer.transform(new)
    # frequency: 2.5 -> rank 2 + 0.5; 0 -> rank 0.5; 10 -> rank 4.5, clipped to 100
    assert scores[schema.F_SCORE].tolist() == [62.5, 12.5, 100.0]
    # recency is ranked descending: 2.5 has 2 worse values (3, 4) -> 2.5; 0 beats all -> 4.5
    assert scores[schema.R_SCORE].tolist() == [62.5, 100.0, 12.5]
    # monetary 2.0 was seen twice: average rank 2.5; 3.0 unseen: 3 below + 0.5
    assert scores[schema.M_SCORE].tolist() == [62.5, 87.5, 100.0]


def test_percentile_with_fewer_customers_than_bins_is_fine():
    X = pd.DataFrame({schema.RECENCY: [3], schema.FREQUENCY: [1], schema.MONETARY: [9.0]})
    assert RFMScorer(method="percentile").fit_transform(X).iloc[0].tolist() == [100, 100, 100]


# --- input and parameter checks ----------------------------------------------------------------
def test_fewer_customers_than_bins(tiny):
    with pytest.raises(InputError, match=r"Only 3 customers but n_bins=5.*--bins"):
        RFMScorer().fit(tiny.head(3))


def test_empty_table():
    X = pd.DataFrame({c: pd.Series([], dtype=float) for c in schema.METRIC_COLUMNS})
    with pytest.raises(InputError, match="empty"):
        RFMScorer(method="percentile").fit(X)


def test_missing_values_name_column_and_customers(tiny):
    X = tiny.copy()
    X.loc[[12, 15], schema.MONETARY] = np.nan
    with pytest.raises(InputError, match=r"'monetary' has 2 missing.*'c2', 'c5'"):
        RFMScorer().fit(X)
    scorer = fit_quiet(RFMScorer(), tiny)
    with pytest.raises(InputError, match=r"'monetary'.*rows 12, 15"):
        scorer.transform(X.drop(columns=schema.CUSTOMER_ID))


def test_missing_and_non_numeric_columns(tiny):
    with pytest.raises(SchemaError, match=r"Missing column\(s\) 'frequency'.*'customer_id'"):
        RFMScorer().fit(tiny.drop(columns=schema.FREQUENCY))
    with pytest.raises(SchemaError, match="'recency' must be numeric"):
        RFMScorer().fit(tiny.assign(**{schema.RECENCY: "x"}))


def test_array_input_in_metric_order(tiny):
    scorer = fit_quiet(RFMScorer(), tiny)
    from_array = fit_quiet(RFMScorer(), tiny[list(schema.METRIC_COLUMNS)].to_numpy())
    np.testing.assert_array_equal(
        from_array.transform(tiny[list(schema.METRIC_COLUMNS)].to_numpy()).to_numpy(),
        scorer.transform(tiny)[SCORES].to_numpy(),
    )
    with pytest.raises(InputError, match="shape"):
        RFMScorer().fit(np.zeros((10, 2)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_bins": 1}, r"'n_bins' parameter of RFMScorer must be an int >= 2. Got 1"),
        ({"n_bins": 2.5}, "'n_bins'"),
        ({"n_bins": True}, "'n_bins'"),
        ({"method": "ntile"}, r"'method' parameter of RFMScorer must be one of"),
        ({"caps": [30]}, "'caps' parameter"),
        ({"caps": {"freq": 30}}, "unknown metric 'freq'"),
        ({"caps": {schema.MONETARY: "p99"}}, "invalid quantile cap 'p99'"),
        ({"caps": {schema.MONETARY: "q1.5"}}, "invalid quantile cap"),
        ({"caps": {schema.MONETARY: "q0"}}, "invalid quantile cap"),
        ({"caps": {schema.MONETARY: float("inf")}}, "finite number"),
        ({"caps": {schema.MONETARY: None}}, "finite number"),
    ],
)
def test_parameters_are_checked_at_fit(tiny, params, match):
    scorer = RFMScorer(**params)  # __init__ only stores
    with pytest.raises(ParameterError, match=match):
        scorer.fit(tiny)


def test_sklearn_contract(tiny):
    scorer = RFMScorer(3, method="quantile", caps={schema.MONETARY: 50})
    assert scorer.get_params() == {"n_bins": 3, "method": "quantile",
                                   "caps": {schema.MONETARY: 50}}
    assert not [k for k in vars(scorer) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        scorer.transform(tiny)
    assert fit_quiet(scorer, tiny) is scorer
    assert scorer.get_feature_names_out().tolist() == SCORES
    assert scorer.n_features_in_ == 3
    assert scorer.feature_names_in_.tolist() == list(schema.METRIC_COLUMNS)
    fresh = clone(scorer)
    assert fresh.get_params() == scorer.get_params() and not hasattr(fresh, "bin_edges_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapsedBinsWarning)
        assert scorer.fit_transform(tiny).equals(scorer.transform(tiny))


def test_documented_attributes_are_exactly_the_fitted_ones(tiny):
    doc = RFMScorer.__doc__
    section = doc[doc.index("Attributes\n    ----------"):doc.index("See Also")]
    documented = {line.split(" : ")[0].strip() for line in section.splitlines()
                  if " : " in line and line.startswith("    ") and not line.startswith("     ")}
    for method in ("quantile", "percentile"):
        scorer = fit_quiet(RFMScorer(method=method), tiny)
        fitted = {k for k in vars(scorer) if k.endswith("_") and not k.startswith("_")}
        assert fitted == documented


# --- state -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["quantile", "percentile"])
def test_state_round_trip_through_json(method):
    X = tie_heavy(3)
    scorer = fit_quiet(RFMScorer(method=method, caps={schema.MONETARY: "q0.95",
                                                      schema.FREQUENCY: 6}), X)
    text = json.dumps(scorer.to_state(), allow_nan=False)
    restored = RFMScorer.from_state(json.loads(text))
    assert restored.get_params() == scorer.get_params()
    new = tie_heavy(4)
    for data in (X, new):
        pd.testing.assert_frame_equal(restored.transform(data), scorer.transform(data))
    assert json.loads(text)["negated"] == [schema.RECENCY]


def test_state_format_quantile(tiny):
    state = fit_quiet(RFMScorer(caps={schema.FREQUENCY: 30}), tiny).to_state()
    assert state["params"] == {"n_bins": 5, "method": "quantile",
                               "caps": {schema.FREQUENCY: 30}}
    assert state["caps_"] == {schema.FREQUENCY: 30.0}
    assert state["n_bins_"] == {schema.RECENCY: 5, schema.FREQUENCY: 4, schema.MONETARY: 5}
    assert state["bin_edges_"][schema.MONETARY] == pytest.approx([10, 28, 46, 64, 82, 100])
    assert "rank_values_" not in state


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s.pop("params"),
        lambda s: s.pop("bin_edges_"),
        lambda s: s["bin_edges_"].pop(schema.RECENCY),
        lambda s: s["bin_edges_"].__setitem__(schema.MONETARY, [3.0, 2.0, 1.0, 0.0, -1.0, -2.0]),
        lambda s: s["n_bins_"].__setitem__(schema.MONETARY, 2),
        lambda s: s["params"].__setitem__("n_bins", 0),
        lambda s: s["params"].__setitem__("colour", "red"),
        lambda s: s.__setitem__("negated", []),
    ],
)
def test_from_state_rejects_damaged_state(tiny, damage):
    state = json.loads(json.dumps(fit_quiet(RFMScorer(), tiny).to_state()))
    damage(state)
    with pytest.raises(ModelFormatError, match="Invalid RFMScorer state"):
        RFMScorer.from_state(state)


# --- levels and codes --------------------------------------------------------------------------
def test_score_levels_of_percentile_scores():
    scores = pd.DataFrame({schema.R_SCORE: [0.0, 19.99, 20.0, 39.9, 40.0, 79.9, 80.0, 100.0]},
                          index=list("abcdefgh"))
    levels = score_levels(scores, 5)
    assert levels[schema.R_SCORE].tolist() == [1, 1, 2, 2, 3, 4, 5, 5]
    assert levels.index.tolist() == list("abcdefgh")
    assert score_levels(scores, 4)[schema.R_SCORE].tolist() == [1, 1, 1, 2, 2, 4, 4, 4]
    with pytest.raises(InputError, match=r"\[0, 100\]"):
        score_levels(pd.DataFrame({schema.R_SCORE: [101.0]}))


def test_score_levels_of_bin_scores():
    scores = pd.DataFrame({schema.F_SCORE: np.arange(1, 11)})
    assert score_levels(scores, 10)[schema.F_SCORE].tolist() == list(range(1, 11))
    assert score_levels(scores, 5, n_bins=10)[schema.F_SCORE].tolist() == [
        1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    with pytest.raises(ParameterError, match="multiple of n_levels"):
        score_levels(scores, 4, n_bins=10)
    with pytest.raises(InputError, match=r"1\.\.5"):
        score_levels(scores, 5)


def test_rfm_code():
    scores = pd.DataFrame({schema.R_SCORE: [5, 1], schema.F_SCORE: [4, 1],
                           schema.M_SCORE: [5, 3]}, index=["x", "y"])
    codes = rfm_code(scores)
    assert codes.tolist() == ["545", "113"]
    assert codes.name == schema.RFM_CODE and codes.index.tolist() == ["x", "y"]
    wide = pd.DataFrame({schema.R_SCORE: [10, 1], schema.F_SCORE: [3, 1], schema.M_SCORE: [7, 1]})
    assert rfm_code(wide).tolist() == ["10-3-7", "1-1-1"]
    assert rfm_code(scores, n_bins=12).tolist() == ["5-4-5", "1-1-3"]
    percent = pd.DataFrame({schema.R_SCORE: [100.0, 0.0], schema.F_SCORE: [55.0, 39.0],
                            schema.M_SCORE: [80.0, 20.0]})
    assert rfm_code(percent).tolist() == ["535", "122"]


def test_rfm_code_of_many_customers_matches_string_concatenation():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.integers(1, 6, size=(5000, 3)), columns=SCORES)
    expected = (scores[schema.R_SCORE].astype(str) + scores[schema.F_SCORE].astype(str)
                + scores[schema.M_SCORE].astype(str))
    assert rfm_code(scores).tolist() == expected.tolist()
