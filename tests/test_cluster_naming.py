"""Tests of rfmkit.clustering.naming."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from rfmkit import schema
from rfmkit.clustering.naming import (
    HIGH,
    LOW,
    MEDIUM,
    NAME_RULES,
    VOCABULARY,
    ClusterName,
    centroid_levels,
    name_clusters,
)
from rfmkit.errors import InputError, ParameterError

# Method P's hand-made names (METHODS.md section 4 step 5) -> rfmkit's vocabulary, with a
# hand-made centroid for each on both score scales.
METHOD_P = [
    # (Method P name, rfmkit name, centroid on 1..5, centroid on 0..100)
    ("Loyal", "Champions", (4.6, 4.8, 4.9), (85, 88, 86)),
    ("Potential Loyal", "Potential Loyalists", (4.4, 3.0, 2.9), (81, 57, 49)),
    ("Need Attention", "Need Attention", (3.1, 4.2, 4.3), (53, 78, 79)),
    ("At Risk", "At Risk", (1.6, 3.0, 3.1), (27, 55, 50)),
    ("One-Time Buy", "One-Time Buyers", (1.5, 1.3, 3.0), (21, 19, 53)),
    ("Dormant", "About To Sleep", (3.0, 1.4, 1.5), (57, 24, 16)),
    ("Lost", "Lost", (1.2, 1.1, 1.3), (14, 15, 16)),
]


@pytest.mark.parametrize("p_name, expected, quintile, _", METHOD_P, ids=[m[0] for m in METHOD_P])
def test_method_p_concepts_on_quintile_scores(p_name, expected, quintile, _):
    assert name_clusters([quintile], scale=(1, 5))[0].name == expected


@pytest.mark.parametrize("p_name, expected, _, percentile", METHOD_P, ids=[m[0] for m in METHOD_P])
def test_method_p_concepts_on_percentile_scores(p_name, expected, _, percentile):
    assert name_clusters([percentile], scale=(0, 100))[0].name == expected


def test_method_p_seven_clusters_together_are_unique_and_ordered():
    centroids = np.array([m[3] for m in METHOD_P], dtype=float)
    names = name_clusters(centroids, scale=(0, 100))
    assert [n.name for n in names] == [m[1] for m in METHOD_P]


def test_other_vocabulary_cells():
    cases = {
        (4.8, 1.2, 1.3): "New Customers",
        (4.5, 1.5, 3.0): "Promising",
        (4.7, 1.4, 4.6): "Big Spenders",
        (4.5, 4.5, 3.0): "Loyal Customers",
        (1.3, 4.6, 4.7): "Can't Lose Them",
        (1.5, 3.0, 1.5): "Hibernating",
        (3.0, 3.0, 3.0): "Need Attention",
    }
    got = name_clusters(list(cases), scale=(1, 5))
    assert [g.name for g in got] == list(cases.values())


def test_rule_table_is_complete_and_uses_the_vocabulary():
    levels = (LOW, MEDIUM, HIGH)
    assert set(NAME_RULES) == set(itertools.product(levels, repeat=3))
    assert set(NAME_RULES.values()) <= set(VOCABULARY)


def test_level_thresholds_are_thirds_of_the_scale():
    # on 1..5: low < 2.33 <= medium < 3.67 <= high
    assert centroid_levels([[2.3, 2.4, 3.6]], scale=(1, 5)) == [(LOW, MEDIUM, MEDIUM)]
    assert centroid_levels([[3.7, 1.0, 5.0]], scale=(1, 5)) == [(HIGH, LOW, HIGH)]
    assert centroid_levels([[33.0, 34.0, 67.0]], scale=(0, 100)) == [(LOW, MEDIUM, HIGH)]


def test_descriptions_are_plain_language_with_numbers():
    (champ,) = name_clusters([[4.6, 4.8, 4.9]])
    assert champ == ClusterName(
        "Champions", "Bought recently (r=4.6), buy often (f=4.8) and spend a lot (m=4.9).")
    (lost,) = name_clusters([[14.2, 15.0, 16.4]], scale=(0, 100))
    assert lost.description == ("Have not bought for a long time (r=14), rarely buy (f=15) and "
                                "spend little (m=16).")


def test_shared_names_are_qualified_by_the_most_different_axis():
    names = name_clusters([[1.2, 1.3, 2.2], [1.3, 1.2, 1.1], [4.8, 4.8, 4.8]])
    assert [n.name for n in names] == ["Lost (higher spend)", "Lost (lower spend)", "Champions"]
    # differing mostly in recency
    names = name_clusters([[4.0, 4.5, 4.5], [5.0, 4.6, 4.5]])
    assert [n.name for n in names] == ["Champions (less recent)", "Champions (more recent)"]


def test_three_and_more_shared_names():
    three = name_clusters([[1.2, 1.2, 1.1], [1.2, 1.5, 2.2], [1.2, 1.1, 1.6]])
    assert [n.name for n in three] == ["Lost (lowest spend)", "Lost (highest spend)",
                                       "Lost (mid spend)"]
    four = name_clusters([[1.2, 1.2, 1.1], [1.2, 1.2, 2.2], [1.2, 1.2, 1.6], [1.2, 1.2, 1.9]])
    assert [n.name for n in four] == ["Lost (m=1.1)", "Lost (m=2.2)", "Lost (m=1.6)",
                                      "Lost (m=1.9)"]
    # equal on the most different axis: the value is not enough, all three are given
    tied = name_clusters([[1.2, 1.1, 1.1], [1.2, 1.1, 1.9], [1.9, 1.1, 1.9]])
    assert len({n.name for n in tied}) == 3


def test_names_never_numbered():
    rng = np.random.default_rng(0)
    for _ in range(20):
        names = [n.name for n in name_clusters(rng.uniform(1, 5, size=(12, 3)))]
        assert len(set(names)) == 12
        assert not any(re.search(r"\s\d+$", n) for n in names)


def test_identical_centroids_are_rejected():
    with pytest.raises(InputError, match="identical centroids"):
        name_clusters([[1.2, 1.2, 1.2], [1.2, 1.2, 1.2]])


def test_dataframe_input_from_profile_or_scores():
    values = ([4.6, 1.2], [4.8, 1.1], [4.9, 1.3])
    df = pd.DataFrame({f"{c}_mean": v for c, v in zip(schema.SCORE_COLUMNS, values, strict=True)})
    assert [n.name for n in name_clusters(df)] == ["Champions", "Lost"]
    df = pd.DataFrame([[1.2, 1.1, 1.3]], columns=list(schema.SCORE_COLUMNS))
    assert name_clusters(df)[0].name == "Lost"
    with pytest.raises(InputError, match="needs the columns"):
        name_clusters(pd.DataFrame({"a": [1.0]}))


def test_one_scale_per_axis():
    # frequency with only 4 bins (ties): f=3.7 is high on 1..4 but medium on 1..5
    assert name_clusters([[4.6, 3.6, 4.5]], scale=(1, 5))[0].name == "Loyal Customers"
    assert name_clusters([[4.6, 3.6, 4.5]], scale=[(1, 5), (1, 4), (1, 5)])[0].name == "Champions"
    assert centroid_levels([[50, 2.5, 3.0]], scale=[(0, 100), (1, 4), (1, 5)]) == [
        (MEDIUM, MEDIUM, MEDIUM)]


@pytest.mark.parametrize("scale", [(5, 1), (1, 1), ("a", 5), (1,), None, [(1, 5), (1, 4)],
                                   [(1, 5), (4, 1), (1, 5)]])
def test_bad_scale(scale):
    with pytest.raises(ParameterError, match="'scale' parameter"):
        name_clusters([[1.0, 1.0, 1.0]], scale=scale)


def test_bad_centroids():
    with pytest.raises(InputError, match="shape"):
        name_clusters([[1.0, 2.0]])
    with pytest.raises(InputError, match="missing or infinite"):
        name_clusters([[1.0, np.nan, 2.0]])
