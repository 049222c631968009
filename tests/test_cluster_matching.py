"""Tests of rfmkit.clustering.matching."""

from __future__ import annotations

import numpy as np
import pytest

from rfmkit.clustering.matching import ClusterMatch, match_clusters
from rfmkit.errors import InputError, ParameterError

OLD = np.array([[4.6, 4.7, 4.8], [4.4, 3.0, 3.0], [3.0, 4.2, 4.3], [1.5, 3.0, 3.0],
                [1.2, 1.1, 1.2]])
OLD_NAMES = ["Champions", "Potential Loyalists", "Need Attention", "At Risk", "Lost"]


def test_permuted_and_slightly_moved_clusters_keep_ids_and_names():
    perm = [3, 0, 4, 1, 2]
    shift = np.array([[0.05, -0.1, 0.0], [0.1, 0.0, 0.1], [0.0, 0.0, -0.2], [0.1, 0.1, 0.1],
                      [-0.1, 0.0, 0.0]])
    new = OLD[perm] + shift
    m = match_clusters(new, OLD, old_names=OLD_NAMES)
    assert m.mapping == dict(enumerate(perm))
    assert m.ids == perm
    assert m.names == [OLD_NAMES[i] for i in perm]
    assert m.new == [] and m.gone == []
    expected = {perm[i]: float(np.linalg.norm(shift[i])) for i in range(5)}
    assert [i for i, _ in m.moved] == [0, 1, 2, 3, 4]
    assert dict(m.moved) == pytest.approx(expected)
    labels = np.array([0, 1, 2, 3, 4, 0])
    np.testing.assert_array_equal(m.relabel(labels), [3, 0, 4, 1, 2, 3])
    np.testing.assert_array_equal(m.reorder(new), new[[1, 3, 4, 0, 2]])


def test_more_clusters_after_refit():
    new = np.vstack([OLD, [[2.5, 1.5, 4.0]]])  # a new group of customers appears
    m = match_clusters(new, OLD, old_names=OLD_NAMES,
                       new_names=["x", "x", "x", "x", "x", "One-Time Buyers"])
    assert m.new == [5] and m.mapping[5] is None
    assert m.ids == [0, 1, 2, 3, 4, 5]
    assert m.names[5] == "One-Time Buyers" and m.names[:5] == OLD_NAMES
    assert m.distances[5] is None and m.gone == []


def test_fewer_clusters_after_refit():
    new = OLD[[0, 1, 3, 4]]
    m = match_clusters(new, OLD, old_names=OLD_NAMES)
    assert m.ids == [0, 1, 3, 4] and m.gone == [2] and m.new == []


def test_a_cluster_that_moved_too_far_is_new_and_its_old_id_gone():
    new = OLD.copy()
    new[3] = [2.3, 2.2, 2.2]  # "At Risk" moved more than half way to its nearest neighbour
    m = match_clusters(new, OLD, old_names=OLD_NAMES, new_names=["a", "b", "c", "At Risk", "e"])
    assert m.mapping[3] is None and m.new == [3] and m.gone == [3]
    assert m.ids == [0, 1, 2, 5, 4]  # a fresh id, never the retired 3
    assert m.names[3] == "At Risk (new)"  # the old name is not silently reused
    assert m.distances[3] == pytest.approx(float(np.linalg.norm(new[3] - OLD[3])))
    nearest = min(np.linalg.norm(OLD[3] - OLD[j]) for j in range(5) if j != 3)
    assert m.thresholds[3] == pytest.approx(nearest / 2)


def test_explicit_max_distance():
    new = OLD + 0.3  # every centroid moved 0.3 * sqrt(3) = 0.52
    assert match_clusters(new, OLD, old_names=None, max_distance=0.53).new == []
    m = match_clusters(new, OLD, old_names=None, max_distance=0.51)
    assert m.new == [0, 1, 2, 3, 4] and m.gone == [0, 1, 2, 3, 4]
    assert m.names == [None] * 5


def test_single_old_cluster_always_matches():
    m = match_clusters([[9.0, 9.0, 9.0], [1.0, 1.0, 1.0]], [[1.5, 1.0, 1.0]], old_names=["All"])
    assert m.mapping == {0: None, 1: 0} and m.names == [None, "All"]


def test_chained_refits_with_gaps_in_ids():
    old_ids = [0, 2, 7]
    old = OLD[:3]
    m = match_clusters(np.vstack([old[[2, 0]], [[1.0, 1.0, 1.0]]]), old,
                       old_names=OLD_NAMES[:3], old_ids=old_ids)
    assert m.ids == [7, 0, 8] and m.gone == [2]
    np.testing.assert_array_equal(m.relabel([2, 1, 0]), [8, 0, 7])


def test_optimal_not_greedy_assignment():
    # greedy nearest-first would pair new 0 with old 0 (distance 0.9) and leave new 1 far away
    old = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    new = np.array([[1.1, 0.0, 0.0], [-0.5, 0.0, 0.0]])
    m = match_clusters(new, old, old_names=None, max_distance=5.0)
    assert m.mapping == {0: 1, 1: 0}


def test_errors():
    with pytest.raises(InputError, match="same feature space"):
        match_clusters(np.zeros((2, 2)), np.zeros((2, 3)), old_names=None)
    with pytest.raises(InputError, match="old_names has 1"):
        match_clusters(OLD, OLD, old_names=["a"])
    with pytest.raises(ParameterError, match="'max_distance' parameter"):
        match_clusters(OLD, OLD, old_names=None, max_distance=0)
    with pytest.raises(InputError, match="distinct"):
        match_clusters(OLD, OLD, old_names=None, old_ids=[0, 0, 1, 2, 3])
    m = match_clusters(OLD, OLD, old_names=None)
    assert isinstance(m, ClusterMatch)
    with pytest.raises(InputError, match="indices 0..4"):
        m.relabel([5])
    with pytest.raises(InputError, match="Expected 5 rows"):
        m.reorder(OLD[:2])
