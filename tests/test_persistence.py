"""Tests of rfmkit.export.persistence: models saved as versioned JSON, loaded with checks."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import rfmkit
from rfmkit import schema
from rfmkit.errors import ModelFormatError, ModelVersionWarning
from rfmkit.export import persistence

pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return rfmkit.generate_transactions(6_000, seed=7).to_pandas()


@pytest.fixture(scope="module", params=["quantile", "percentile"])
def model(request, transactions) -> rfmkit.RFMModel:
    if request.param == "quantile":
        return rfmkit.RFMModel(n_clusters=4, caps={"monetary": "q0.99"}).fit(transactions)
    return rfmkit.RFMModel(preset="percentile", n_clusters=3).fit(transactions)


@pytest.fixture
def saved(model, tmp_path):
    return rfmkit.save_model(model, tmp_path / "model.json")


def load_json(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path, data) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


# --- the file ----------------------------------------------------------------------------------
def test_the_file_is_plain_versioned_json(saved, model):
    raw = saved.read_bytes()
    data = json.loads(raw.decode("utf-8"))  # JSON, nothing else
    assert data["format"] == "rfmkit-model"
    assert data["format_version"] == persistence.FORMAT_VERSION == 1
    assert data["rfmkit_version"] == rfmkit.__version__
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(raw)
    # what is needed to score, in readable form
    assert data["metric_options"]["frequency"] == model.metric_options_.frequency
    assert data["cleaning_rules"]["returns"] == "drop"
    assert data["segment_map"]["name"] == "rfm-grid-11"
    assert data["cluster_names"] == model.cluster_names_
    assert np.asarray(data["clusterer"]["cluster_centers"]).shape == (len(model.cluster_ids_), 3)
    assert data["training"]["fingerprint"] == model.training_fingerprint_
    assert len(model.training_fingerprint_) == 64


def test_round_trip_gives_identical_predictions(saved, model, transactions):
    loaded = rfmkit.load_model(saved)
    new = rfmkit.generate_transactions(3_000, seed=99).to_pandas()
    for data in (transactions, new):
        pd.testing.assert_frame_equal(loaded.predict(data), model.predict(data))
    # the fitted state survives exactly
    assert loaded.params_ == {**model.params_, "segment_map": "rfm-grid-11", "as_of": None}
    assert loaded.metric_options_ == model.metric_options_
    assert loaded.cleaning_rules_ == model.cleaning_rules_
    assert loaded.scorer_.caps_ == model.scorer_.caps_
    np.testing.assert_array_equal(loaded.clusterer_.cluster_centers_,
                                  model.clusterer_.cluster_centers_)
    assert loaded.quality_.to_dict() == model.quality_.to_dict()
    # saving the loaded model writes the same file
    assert persistence.model_to_dict(loaded) == persistence.model_to_dict(model)


def test_saving_an_unfitted_model_fails(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        rfmkit.save_model(rfmkit.RFMModel(), tmp_path / "model.json")
    assert not list(tmp_path.iterdir())


# --- refusing bad files --------------------------------------------------------------------------
def test_newer_format_version_fails_naming_the_file_and_the_fix(saved):
    data = load_json(saved)
    for version in (2, 99, 0, "1", None, True):
        data["format_version"] = version
        write_json(saved, data)
        with pytest.raises(ModelFormatError) as info:
            rfmkit.load_model(saved)
        message = str(info.value)
        assert str(saved) in message
        assert f"version {version!r}" in message
        assert "pip install -U rfmkit" in message and "refit" in message


@pytest.mark.parametrize("damage, expected", [
    (lambda text: text[: len(text) // 2], "is not valid JSON"),
    (lambda text: "", "is not valid JSON"),
    (lambda text: "[1, 2, 3]", "is not an rfmkit model file"),
    (lambda text: json.dumps({"format": "something-else"}), "is not an rfmkit model file"),
], ids=["truncated", "empty", "a list", "another format"])
def test_damaged_json_is_a_clear_error(saved, damage, expected):
    saved.write_text(damage(saved.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ModelFormatError, match=expected) as info:
        rfmkit.load_model(saved)
    assert str(saved) in str(info.value)


def _drop(key):
    def damage(data):
        del data[key]
    return damage


def _set(path, value):
    def damage(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return damage


@pytest.mark.parametrize("damage, expected", [
    (_drop("scorer"), "missing field 'scorer'"),
    (_drop("params"), "missing field 'params'"),
    (_drop("training"), "missing field 'training'"),
    (_set(["columns", "shape"], "spreadsheet"), "spreadsheet"),
    (_set(["scorer", "negated"], []), "negated"),
    (_set(["segment_map"], "rfm-grid-11"), "damaged or incomplete"),
    (_set(["segment_map", "rules"], []), "damaged or incomplete"),
    (_set(["clusterer", "kind"], "x"), "Not an RFMClusterer state"),
    (_set(["clusterer", "cluster_centers"], [[1, 2]]), "cluster_centers"),
    (_set(["cluster_ids"], [0]), "cluster_ids must list"),
    (_set(["cluster_names"], None), "cluster_names must list"),
    (_set(["metric_options", "frequency"], "weekly"), "frequency"),
    (_set(["cleaning_rules", "surprise"], 1), "surprise"),
    (_set(["as_of"], "yesterday"), "yesterday"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_incomplete_or_inconsistent_model_is_a_clear_error(saved, damage, expected):
    data = load_json(saved)
    damage(data)
    write_json(saved, data)
    with pytest.raises(ModelFormatError, match=expected) as info:
        rfmkit.load_model(saved)
    message = str(info.value)
    assert str(saved) in message and "Refit and save the model again" in message


def test_scoring_state_out_of_order_is_refused(saved, model):
    """Bin edges (quantile) or training values (percentile) must increase."""
    data = load_json(saved)
    if model.scorer_.method == "quantile":
        key, expected = "bin_edges_", "bin edges of 'monetary'"
    else:
        key, expected = "rank_values_", "ranks of 'monetary' are inconsistent"
    data["scorer"][key]["monetary"] = data["scorer"][key]["monetary"][::-1]
    write_json(saved, data)
    with pytest.raises(ModelFormatError, match=expected):
        rfmkit.load_model(saved)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFormatError, match="does not exist"):
        rfmkit.load_model(tmp_path / "nope.json")


def test_other_rfmkit_version_warns_but_loads(saved, model, transactions):
    data = load_json(saved)
    data["rfmkit_version"] = "0.0.1"
    write_json(saved, data)
    with pytest.warns(ModelVersionWarning, match=r"saved by rfmkit 0\.0\.1") as record:
        loaded = rfmkit.load_model(saved)
    assert str(saved) in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller of load_model
    pd.testing.assert_frame_equal(loaded.predict(transactions), model.predict(transactions))


def test_same_version_does_not_warn(saved):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rfmkit.load_model(saved)


# --- writing -------------------------------------------------------------------------------------
def test_failed_serialisation_leaves_the_old_file_untouched(model, tmp_path):
    path = rfmkit.save_model(model, tmp_path / "model.json")
    before = path.read_bytes()
    broken = rfmkit.load_model(path)
    broken.training_fingerprint_ = float("nan")  # not JSON (allow_nan=False)
    with pytest.raises(ModelFormatError, match="not plain JSON"):
        rfmkit.save_model(broken, path)
    broken.training_fingerprint_ = object()
    with pytest.raises(ModelFormatError, match="Nothing was written"):
        rfmkit.save_model(broken, tmp_path / "new.json")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_failed_write_leaves_no_temporary_file(model, tmp_path):
    """The temporary file is written, then the rename fails (the target is a folder): the
    temporary file is removed and the folder is untouched."""
    target = tmp_path / "model.json"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(OSError):
        rfmkit.save_model(model, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_save_creates_folders_and_replaces_atomically(model, tmp_path):
    path = rfmkit.save_model(model, tmp_path / "a" / "b" / "model.json")
    first = path.stat().st_ino
    rfmkit.save_model(model, path)
    assert path.stat().st_ino != first  # a new file renamed into place, not rewritten
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json"]
    assert load_json(path)["format"] == "rfmkit-model"


def test_customer_level_and_no_cluster_models_round_trip(tmp_path, transactions):
    customers = rfmkit.compute_rfm(transactions).customers[[schema.CUSTOMER_ID,
                                                            *schema.METRIC_COLUMNS]]
    model = rfmkit.RFMModel(n_clusters="none", as_of="2025-10-01").fit(customers)
    loaded = rfmkit.load_model(rfmkit.save_model(model, tmp_path / "m.json"))
    assert loaded.clusterer_ is None and loaded.cluster_ids_ is None
    assert loaded.columns_ == model.columns_
    pd.testing.assert_frame_equal(loaded.predict(customers), model.predict(customers))


# --- hostile files (issue 12) -------------------------------------------------------------------
def test_a_model_file_that_is_not_utf8_names_the_file_and_the_encoding(saved):
    saved.write_bytes(saved.read_text(encoding="utf-8").replace(
        '"format"', '"caf\u00e9", "format"', 1).encode("latin-1"))
    with pytest.raises(ModelFormatError, match=r"is not UTF-8 text \(byte 0xe9") as info:
        rfmkit.load_model(saved)
    assert str(saved) in str(info.value) and "save the file as UTF-8" in str(info.value)


def test_a_byte_order_mark_is_accepted(saved, model, transactions):
    saved.write_bytes(b"\xef\xbb\xbf" + saved.read_bytes())
    loaded = rfmkit.load_model(saved)
    assert loaded.training_fingerprint_ == model.training_fingerprint_


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_is_a_clear_error_not_a_recursion_error(saved, opening):
    closing = "]" if opening == "[" else "}"
    saved.write_text(opening * 100_000 + "1" + closing * 100_000, encoding="utf-8")
    with pytest.raises(ModelFormatError, match="nested too deeply") as info:
        rfmkit.load_model(saved)
    assert str(saved) in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_loading_a_model_never_unpickles(tmp_path):
    """A pickle whose loading would create a folder is refused as not JSON; nothing ran."""
    import os

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFormatError, match="not"):
        rfmkit.load_model(path)
    assert not marker.exists()
