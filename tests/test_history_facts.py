"""The history report's figures (rfmkit.timeline.facts), on hand-written snapshots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfmkit.timeline.facts import headline, history_facts, psi, psi_flag, time_in_segment
from rfmkit.timeline.transitions import movers, transitions

ORDER = ["Best", "Mid", "Low"]


def snaps(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "as_of", "segment", "recency", "frequency",
                                     "monetary", "r_score", "f_score", "m_score"])
    df["as_of"] = pd.to_datetime(df["as_of"])
    return df


# Three dates. A: Best, Best, Best. B: Best, Best, Low (down). C: Low, Mid, Mid. D new at the last.
HAND = snaps([
    ("A", "2024-01-31", "Best", 1, 3, 100.0, 3, 3, 3), ("B", "2024-01-31", "Best", 2, 4, 400.0,
                                                        3, 3, 3),
    ("C", "2024-01-31", "Low", 20, 1, 10.0, 1, 1, 1),
    ("A", "2024-02-29", "Best", 3, 4, 130.0, 3, 3, 3), ("B", "2024-02-29", "Best", 4, 4, 400.0,
                                                        3, 3, 3),
    ("C", "2024-02-29", "Mid", 5, 2, 25.0, 2, 2, 2),
    ("A", "2024-03-31", "Best", 3, 5, 150.0, 3, 3, 3), ("B", "2024-03-31", "Low", 35, 4, 400.0,
                                                        1, 3, 3),
    ("C", "2024-03-31", "Mid", 36, 2, 25.0, 1, 2, 2), ("D", "2024-03-31", "Mid", 9, 1, 70.0,
                                                       2, 1, 2),
])


def test_psi_is_zero_for_equal_distributions_and_grows_with_the_shift():
    same = np.array([1, 2, 3, 4, 5] * 20)
    assert psi(same, same) == pytest.approx(0.0)
    shifted = np.array([4, 5, 5, 5, 5] * 20)
    assert psi(same, shifted) > 0.25 and psi_flag(psi(same, shifted)).startswith("large")
    assert psi_flag(0.05) == "stable" and psi_flag(0.15).startswith("moderate")


def test_time_in_segment_counts_consecutive_snapshots():
    got = time_in_segment(HAND, ORDER).set_index("segment")
    assert got.loc["Best", "customers"] == 1 and got.loc["Best", "mean"] == 3  # A
    assert got.loc["Low", "mean"] == 1  # B just arrived
    assert got.loc["Mid", "customers"] == 2 and got.loc["Mid", "mean"] == 1.5  # C 2, D 1


def test_headline_figures_of_the_last_period():
    h = headline(HAND, transitions(HAND), ["Best", "Mid", "Low"])
    # best = Best and Mid (the top two); bottom = Mid and Low
    assert h["period"] == "2024-02-29 to 2024-03-31"
    assert h["net_into_best"] == 0 and h["new"] == 1 and h["new_revenue"] == 70.0
    assert h["new_landed"] == [{"segment": "Mid", "customers": 1}]
    assert h["lost_to_bottom"] == 1 and h["lost_revenue"] == 400.0  # B fell to Low


def test_history_facts_hold_every_section():
    moved = transitions(HAND)
    facts = history_facts(HAND, moved, movers(HAND, ORDER), ORDER)
    assert facts["dates"] == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert facts["sizes"] == {"Best": [2, 2, 1], "Mid": [0, 1, 2], "Low": [1, 0, 1]}
    m = facts["matrix"]
    assert m["from"] == ["Best", "Mid", "(new)"] and m["to"] == ["Best", "Mid", "Low"]
    assert m["counts"] == [[1, 0, 1], [0, 1, 0], [0, 1, 0]]
    assert facts["downgrades"] == [{"from_segment": "Best", "to_segment": "Low",
                                    "customers": 1, "revenue": 400.0}]
    assert len(facts["drift"]) == 2 and facts["drift"][0]["from"] == "2024-01-31"
