"""Tests of rfmkit.scoring.state: saved scorer state, its JSON round trip and damaged states."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.errors import ModelFormatError
from rfmkit.scoring.scorer import RFMScorer
from scoring_support import fit_quiet, tie_heavy, tiny_customers


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Ten customers; expected edges and scores: see scoring_support.tiny_customers."""
    return tiny_customers()


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
