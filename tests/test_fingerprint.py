"""Tests of rfmkit.fingerprint: the training data's SHA-256 over ids and metrics."""

from __future__ import annotations

import pandas as pd

from rfmkit.fingerprint import fingerprint


def test_fingerprint_of_ids_held_in_several_arrow_chunks():
    """A concatenated Arrow-backed id column is a chunked array (found by the property tests:
    the fingerprint failed on it)."""
    part = pd.DataFrame({"customer_id": pd.array(["a", "b"], dtype="string[pyarrow]"),
                         "recency": [1.0, 2.0], "frequency": [1.0, 3.0], "monetary": [5.0, 6.0]})
    chunked = pd.concat([part, part.assign(customer_id=pd.array(["c", "d"],
                                                                 dtype="string[pyarrow]"))],
                        ignore_index=True)
    plain = chunked.assign(customer_id=chunked["customer_id"].astype(object))
    assert fingerprint(chunked) == fingerprint(plain)


def test_a_changed_metric_changes_the_fingerprint():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "recency": [1.0, 2.0],
                          "frequency": [1.0, 3.0], "monetary": [5.0, 6.0]})
    assert fingerprint(frame) != fingerprint(frame.assign(monetary=[5.0, 6.5]))
    assert fingerprint(frame) == fingerprint(frame.copy())
