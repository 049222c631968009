"""Tests of rfmkit.scoring.bins: Method Q bin edges and bin scores, by hand and against
scikit-learn's KBinsDiscretizer."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import KBinsDiscretizer

from rfmkit import schema
from rfmkit.errors import CollapsedBinsWarning, ConstantMetricWarning
from rfmkit.scoring.scorer import RFMScorer
from scoring_support import SCORES, fit_quiet, tie_heavy, tiny_customers

DATA = Path(__file__).parents[2] / "shared" / "data"


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores: see scoring_support.tiny_customers."""
    return tiny_customers()


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


def test_constant_metric_gets_one_bin_and_the_middle_score(tiny):
    """A constant metric cannot rank anyone: every customer gets the middle score (3 of 5), not
    the lowest, at fit and for new data; a ConstantMetricWarning (a CollapsedBinsWarning)."""
    X = tiny.assign(**{schema.FREQUENCY: 3})
    with pytest.warns(ConstantMetricWarning, match=r"same frequency \(3\).*middle score 3 of 1..5"):
        scorer = RFMScorer().fit(X)
    assert issubclass(ConstantMetricWarning, CollapsedBinsWarning)
    assert scorer.n_bins_[schema.FREQUENCY] == 1
    assert scorer.bin_edges_[schema.FREQUENCY].tolist() == [3.0, 3.0]
    assert set(scorer.transform(X)[schema.F_SCORE]) == {3}
    new = X.assign(**{schema.FREQUENCY: [0, 3, 99, 3, 3, 3, 3, 3, 3, 3]})
    assert set(scorer.transform(new)[schema.F_SCORE]) == {3}
    assert scorer.transform(X)[schema.R_SCORE].min() == 1  # the other metrics still rank


@pytest.mark.parametrize(("n_bins", "middle"), [(2, 2), (3, 2), (4, 3), (5, 3), (10, 6)])
def test_every_purchase_on_one_day_gives_the_middle_recency_score(tiny, n_bins, middle):
    """Everyone bought on the as-of day (recency 0): not the lowest score ("Lost")."""
    X = tiny.assign(**{schema.RECENCY: 0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scorer = RFMScorer(n_bins).fit(X)
    constant = [w for w in caught if issubclass(w.category, ConstantMetricWarning)]
    assert len(constant) == 1 and "same recency (0)" in str(constant[0].message)
    assert set(scorer.transform(X)[schema.R_SCORE]) == {middle}


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
