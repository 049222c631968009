"""The distributions section (report/sections/distributions.py): statistics, histograms, caps."""

from __future__ import annotations

import numpy as np
import pytest

from rfmkit.report import build_report


def test_distribution_statistics(demo_summary, demo_model):
    customers = demo_model.result_.customers
    for metric, d in demo_summary["distributions"].items():
        values = customers[metric].to_numpy(dtype="float64")
        assert d["count"] == len(values)
        assert d["median"] == pytest.approx(np.median(values))
        assert d["mean"] == pytest.approx(values.mean())
        assert (d["min"], d["max"]) == (values.min(), values.max())
        assert d["p95"] == pytest.approx(np.percentile(values, 95))
        h = d["histogram"]
        assert sum(h["counts"]) == len(values)
        assert len(h["edges"]) == len(h["counts"]) + 1
        assert np.all(np.diff(h["edges"]) > 0)
        assert d["cap"] is None and d["above_cap"] is None
    # recency starts at 0 (bought on the as-of day): no log axis; spend is heavy-tailed: log
    assert demo_summary["distributions"]["recency"]["log_axis"] is False
    assert demo_summary["distributions"]["monetary"]["log_axis"] is True
    assert demo_summary["distributions"]["monetary"]["histogram"]["log"] is True


def test_caps_are_reported(plain_model):
    s = build_report(plain_model, plain_model.result_).to_dict()
    customers = plain_model.result_.customers
    freq, mon = s["distributions"]["frequency"], s["distributions"]["monetary"]
    assert freq["cap"] == 12
    assert freq["above_cap"] == int((customers["frequency"] > 12).sum()) > 0
    assert mon["cap"] == pytest.approx(np.quantile(customers["monetary"], 0.95))
    assert mon["above_cap"] == int((customers["monetary"] > mon["cap"]).sum()) > 0
    assert s["distributions"]["recency"]["cap"] is None
