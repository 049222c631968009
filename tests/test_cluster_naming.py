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


# --- names from the data: realised levels per axis and the clusters' medians -------------------
def test_frequency_with_three_levels_is_read_on_its_own_scale():
    # the README demo: ties left frequency with 3 levels; f=2.2 is low on 1..5, medium on 1..3.
    # With one 1..5 scale the cluster (median 3 orders, 36.6% of revenue) was "One-Time Buyers".
    demo = [[2.17, 2.15, 4.26]]
    assert name_clusters(demo, scale=(1, 5))[0].name == "One-Time Buyers"
    assert name_clusters(demo, scale=[(1, 5), (1, 3), (1, 5)])[0].name == "At Risk"


def test_one_time_buyers_have_a_median_of_one_purchase():
    centroid = [[1.5, 1.3, 3.0]]
    assert name_clusters(centroid, medians=[[400, 1, 80]])[0].name == "One-Time Buyers"
    # same scores, but the median customer bought three times: not one-time buyers
    (named,) = name_clusters(centroid, medians=[[400, 3, 80]])
    assert named.name == "At Risk"
    assert "3 orders" in named.description
    # new customers likewise
    assert name_clusters([[4.8, 1.2, 1.3]], medians=[[5, 1, 20]])[0].name == "New Customers"
    assert name_clusters([[4.8, 1.2, 1.3]], medians=[[5, 2, 20]])[0].name == "Potential Loyalists"


def test_a_median_of_one_purchase_is_never_called_frequent():
    # f=3.0 is medium on 1..5, but half the cluster bought once: low frequency
    (named,) = name_clusters([[4.5, 3.0, 3.0]], medians=[[10, 1, 50]])
    assert named.name == "Promising"
    (named,) = name_clusters([[4.5, 3.0, 3.0]])
    assert named.name == "Potential Loyalists"


def test_descriptions_quote_the_medians_in_words():
    (champ,) = name_clusters([[4.6, 4.8, 4.9]], medians=[[41, 3, 250]])
    # nothing to compare with: the medians alone, no relative words
    assert champ.description == "Median 3 orders, last purchase 41 days ago, median spend 250."
    (one,) = name_clusters([[1.2, 1.1, 1.3]], medians=[[1, 1, 1234.5]], frequency="days",
                           monetary="mean")
    assert one.description == ("Median 1 purchase day, last purchase 1 day ago, median spend "
                               "1,234 per purchase.")
    (two,) = name_clusters([[1.2, 1.1, 1.3]], medians=[[12.5, 2.5, 35.96]], frequency="rows")
    assert two.description.endswith("Median 2.5 purchases, last purchase 12.5 days ago, median "
                                    "spend 35.96.")
    frame = pd.DataFrame({"recency_median": [41.0], "frequency_median": [3.0],
                          "monetary_median": [250.0]})
    assert name_clusters([[4.6, 4.8, 4.9]], medians=frame)[0] == champ


def test_descriptions_say_what_they_compare_with():
    # the README demo's cluster 2: the old text read "Bought recently, rarely buy and spend
    # little: median 1 order, last purchase 126 days ago" next to clusters at 40 days
    (new,) = name_clusters([[3.9, 1.0, 1.6]], medians=[[126, 1, 35.96]],
                           overall=[235, 2, 81.64], scale=[(1, 5), (1, 3), (1, 5)])
    assert new.name == "New Customers"
    assert new.description == (
        "Bought more recently than the median customer, buy less often and spend less: median "
        "1 order, last purchase 126 days ago, median spend 35.96 (all customers: 2 orders, 235 "
        "days ago, 81.64).")
    assert "Bought recently" not in new.description and "rarely" not in new.description
    (same,) = name_clusters([[1.2, 1.1, 1.3]], medians=[[300, 1, 20]], overall=[300, 1, 20])
    assert same.description.startswith("Bought as recently as the median customer, buy as "
                                        "often and spend as much:")


def test_a_level_never_contradicts_the_median_customer():
    # high recency scores, but the cluster's median last purchase is older than the median
    # customer's: not "recent", so not a recent buyer's name
    centroid = [[4.2, 4.5, 4.6]]
    assert name_clusters(centroid, medians=[[60, 8, 500]])[0].name == "Champions"
    (named,) = name_clusters(centroid, medians=[[260, 8, 500]], overall=[235, 2, 80])
    assert named.name == "Need Attention"
    assert named.description.startswith("Bought less recently than the median customer")
    # low spend scores while the median spend is above the median customer's: medium spend
    (named,) = name_clusters([[1.2, 1.2, 1.4]], medians=[[500, 1, 90]], overall=[235, 2, 80])
    assert named.name == "One-Time Buyers"  # (L, L, M), not Lost (L, L, L)
    assert "spend more" in named.description


def test_currency_in_descriptions_and_qualifiers():
    (champ,) = name_clusters([[4.6, 4.8, 4.9]], medians=[[41, 3, 250]], overall=[90, 2, 80],
                             currency="gbp")
    assert "median spend £250 (all customers: 2 orders, 90 days ago, £80)" in champ.description
    four = name_clusters([[1.2, 1.2, 1.1], [1.2, 1.2, 2.2], [1.2, 1.2, 1.6], [1.2, 1.2, 1.9]],
                         medians=[[600, 1, 10], [600, 1, 40], [600, 1, 20], [600, 1, 30]],
                         currency="EUR")
    assert [n.name for n in four] == ["Lost (spend €10)", "Lost (spend €40)",
                                      "Lost (spend €20)", "Lost (spend €30)"]
    with pytest.raises(ParameterError, match="'currency' parameter of name_clusters"):
        name_clusters([[4.6, 4.8, 4.9]], currency="euros")


def test_qualifiers_follow_the_medians():
    # by score means the first spends more; by median spend the second does: the words follow
    # the medians, so "(higher spend)" never has the lower median spend
    centroids = [[1.2, 1.3, 2.2], [1.3, 1.2, 1.1]]
    by_scores = [n.name for n in name_clusters(centroids)]
    assert by_scores == ["Lost (higher spend)", "Lost (lower spend)"]
    by_medians = [n.name for n in name_clusters(centroids, medians=[[500, 1, 20], [480, 1, 30]])]
    assert by_medians == ["Lost (lower spend)", "Lost (higher spend)"]
    # more than three: the median itself
    four = name_clusters([[1.2, 1.2, 1.1], [1.2, 1.2, 2.2], [1.2, 1.2, 1.6], [1.2, 1.2, 1.9]],
                         medians=[[600, 1, 10], [600, 1, 40], [600, 1, 20], [600, 1, 30]])
    assert [n.name for n in four] == ["Lost (spend 10)", "Lost (spend 40)", "Lost (spend 20)",
                                      "Lost (spend 30)"]


# names that claim a direction on an axis: (axis, +1 "better than the median customer" needed,
# or -1 "not better" needed)
CLAIMS = {
    "Champions": ((0, 1), (1, 1), (2, 1)), "Loyal Customers": ((0, 1),),
    "Potential Loyalists": ((0, 1),), "New Customers": ((0, 1),), "Promising": ((0, 1),),
    "Big Spenders": ((0, 1), (2, 1)), "At Risk": ((0, -1),), "Can't Lose Them": ((0, -1),),
    "Hibernating": ((0, -1),), "One-Time Buyers": ((0, -1), (1, -1)), "Lost": ((0, -1),),
}


def test_names_with_medians_are_unique_and_agree_with_them():
    rng = np.random.default_rng(1)
    words = ("more", "as", "less")
    for _ in range(60):
        k = int(rng.integers(2, 12))
        centroids = rng.uniform(1, 5, size=(k, 3))
        medians = np.column_stack([rng.integers(0, 700, k), rng.integers(1, 4, k),
                                   rng.uniform(5, 900, k).round(2)])
        overall = [float(rng.integers(0, 700)), float(rng.integers(1, 4)), 300.0]
        named = name_clusters(centroids, medians=medians, overall=overall,
                              scale=[(1, 5), (1, 3), (1, 5)])
        assert len({n.name for n in named}) == k
        for n, m in zip(named, medians, strict=True):
            if n.name.startswith(("One-Time Buyers", "New Customers")):
                assert m[1] == 1, (n, m)
            better = [-np.sign(m[0] - overall[0]), np.sign(m[1] - overall[1]),
                      np.sign(m[2] - overall[2])]
            for axis, needed in CLAIMS.get(n.name.split(" (")[0], ()):
                assert better[axis] == 1 if needed == 1 else better[axis] <= 0, (n, m, overall)
            # the description's words are the comparison itself
            verbs = ("recently", "often", "spend")
            for axis, verb in enumerate(verbs):
                word = words[1 - int(better[axis])]
                assert re.search(rf"{word}\b[^,:]*{verb}|{verb}[^,:]*\b{word}",
                                 n.description.split(":")[0]), (n.description, better)


def test_bad_medians():
    with pytest.raises(InputError, match=r"shape \(1, 3\)"):
        name_clusters([[1.0, 1.0, 1.0]], medians=[[1.0, 2.0]])
    with pytest.raises(InputError, match="medians table needs the columns"):
        name_clusters([[1.0, 1.0, 1.0]], medians=pd.DataFrame({"a": [1.0]}))
