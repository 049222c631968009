"""Tests of rfmkit.presets: the two reference methods as sets of defaults (METHODS.md 3 and 4)."""

from __future__ import annotations

import pandas as pd
import pytest

import rfmkit
from rfmkit import PRESETS, schema
from rfmkit.errors import ParameterError
from rfmkit.presets import DEFAULTS, get_preset

pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")


def test_the_presets():
    assert list(PRESETS) == ["default", "quintile", "percentile"]
    assert PRESETS["default"].params == {}
    for name, preset in PRESETS.items():
        assert preset.name == name and preset.description
        assert set(preset.params) <= set(DEFAULTS)  # only model parameters
        # every value is valid for RFMModel
        rfmkit.RFMModel(preset=name, **preset.params)._resolve_params()


def test_quintile_preset_is_method_q():
    p = rfmkit.RFMModel(preset="quintile")._resolve_params()
    # METHODS.md 3: per-day consolidation, frequency = distinct days, monetary = mean per day,
    # amounts <= 0 dropped, caps f <= 30 and m <= 2500, quintile scores, k by silhouette over
    # k = 2..20 with init="random"
    assert p["consolidate_days"] is True
    assert (p["frequency"], p["monetary"], p["returns"]) == ("days", "mean", "drop")
    assert p["caps"] == {"frequency": 30, "monetary": 2500}
    assert (p["score_method"], p["n_bins"]) == ("quantile", 5)
    assert (p["criterion"], p["k_min"], p["k_max"], p["init"]) == ("auto", 2, 20, "random")
    assert p["drop_duplicates"] is False  # the accelerator keeps repeated lines
    assert p["as_of"] is None  # the latest day in the data


def test_percentile_preset_is_method_p():
    p = rfmkit.RFMModel(preset="percentile")._resolve_params()
    # METHODS.md 4: orders after removing exact duplicates, total spend, percentile ranks,
    # elbow over k = 1..14, KMeans(init="random", n_init=10, max_iter=500, random_state=12345)
    assert (p["frequency"], p["monetary"], p["consolidate_days"]) == ("orders", "sum", False)
    assert p["drop_duplicates"] is True
    assert p["score_method"] == "percentile"
    assert (p["criterion"], p["k_min"], p["k_max"]) == ("elbow", 1, 14)
    assert (p["init"], p["n_init"], p["max_iter"], p["random_state"]) == ("random", 10, 500,
                                                                          12345)
    assert p["caps"] is None


def test_quintile_preset_metrics_on_the_tiny_table(tiny_transactions):
    """Method Q by hand on the 16 rows (tests/conftest.py): amounts <= 0 and the C invoice are
    dropped, the duplicate row r5 is kept (no dedupe), each customer-day is one purchase."""
    p = PRESETS["quintile"].params
    rfm = rfmkit.compute_rfm(
        tiny_transactions,
        options=rfmkit.MetricOptions(frequency=p["frequency"], monetary=p["monetary"],
                                     consolidate_days=p["consolidate_days"]),
        cleaning=rfmkit.CleaningRules(returns=p["returns"],
                                      drop_duplicates=p["drop_duplicates"]))
    got = rfm.customers.set_index(schema.CUSTOMER_ID)[list(schema.METRIC_COLUMNS)]
    expected = pd.DataFrame(
        # A: days 01-10 (10+3+7), 01-20 (10+10), 02-01 (50) -> 3 days, mean 30
        # B: 01-05 (12), 01-25 (20) -> 2 days, mean 16; last day 01-25 -> recency 7
        {schema.RECENCY: [0, 7, 17, 1], schema.FREQUENCY: [3, 2, 1, 1],
         schema.MONETARY: [30.0, 16.0, 9.0, 3.0]},
        index=pd.Index(["A", "B", "D", "F"], name=schema.CUSTOMER_ID))
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_percentile_preset_on_the_tiny_table(tiny_transactions):
    """Method P by hand: orders after dropping the duplicate r5, total spend, and scores =
    average rank / largest rank x 100 (recency ranked so that recent is high)."""
    model = rfmkit.RFMModel(preset="percentile", n_clusters="none").fit(tiny_transactions)
    got = model.result_.customers.set_index(schema.CUSTOMER_ID)
    expected = pd.DataFrame({
        schema.RECENCY: [0, 7, 17, 1],
        schema.FREQUENCY: [4, 2, 1, 1],  # A: orders 1001, 1002, 1003, 1012
        schema.MONETARY: [80.0, 32.0, 9.0, 3.0],
        schema.R_SCORE: [100.0, 50.0, 25.0, 75.0],
        schema.F_SCORE: [100.0, 75.0, 37.5, 37.5],  # D and F share rank 1.5 of 4
        schema.M_SCORE: [100.0, 75.0, 50.0, 25.0],
    }, index=pd.Index(["A", "B", "D", "F"], name=schema.CUSTOMER_ID))
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


def test_a_model_never_changes_a_preset(tiny_transactions):
    # n_bins=10: a multiple of the map's 5 levels (n_bins=2 is refused before any data now)
    model = rfmkit.RFMModel(preset="quintile", n_clusters="none", n_bins=10,
                            segment_map="rfm-grid-11")
    before = {k: (dict(v) if isinstance(v, dict) else v)
              for k, v in PRESETS["quintile"].params.items()}
    params = model._resolve_params()
    params["caps"]["monetary"] = 1.0
    assert PRESETS["quintile"].params == before


def test_unknown_preset():
    with pytest.raises(ParameterError, match="Unknown preset 'quartile'. Choose one of: "
                                             "default, quintile, percentile"):
        get_preset("quartile")


def _readme_bullet(flag: str) -> str:
    """The README's bullet on ``flag`` (one item of "The presets" list, lines joined)."""
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    start = text.index(f"* `{flag}`")
    end = text.index("\n* ", start + 1)
    return " ".join(text[start:end].split())


def test_the_readme_describes_the_quintile_preset_as_it_is():
    # issue 13, item 10: the README said 10,000 restarts and "k chosen by silhouette"; the
    # preset runs n_init=1000 and the auto rule
    bullet = _readme_bullet("--preset quintile")
    p = PRESETS["quintile"].params
    assert f"`n_init={p['n_init']}`" in bullet
    assert f"`init=\"{p['init']}\"`" in bullet
    assert f"k = {p['k_min']}..{p['k_max']}" in bullet
    assert p["criterion"] == "auto" and "the `auto` rule" in bullet
    assert "not by the best silhouette" in bullet
    assert "chosen by silhouette" not in bullet
