"""Tests of rfmkit.progress: the stages a job reports to its ``progress=`` callback."""

from __future__ import annotations

import pytest

import rfmkit
from rfmkit.demo import write_transactions
from rfmkit.errors import ParameterError
from rfmkit.progress import ProgressEvent, reporting, stage, step

pytestmark = pytest.mark.filterwarnings("ignore::rfmkit.errors.CollapsedBinsWarning")


@pytest.fixture(scope="module")
def transactions(tmp_path_factory):
    return write_transactions(tmp_path_factory.mktemp("data") / "tx.parquet", 6_000, seed=2)


def test_an_event_reads_as_its_stage_and_step():
    assert str(ProgressEvent("Reading the input")) == "Reading the input"
    assert str(ProgressEvent("Choosing k (k=2..10)", "k=4", 3, 9)) == (
        "Choosing k (k=2..10): k=4 (3 of 9)")
    assert str(ProgressEvent("Writing the report", "t-SNE map of 10 customers")) == (
        "Writing the report: t-SNE map of 10 customers")


def test_reports_reach_the_callback_only_inside_reporting():
    seen: list[ProgressEvent] = []
    stage("not reported")  # no job is reporting: nothing happens
    with reporting(seen.append):
        stage("One")
        step("a", number=1, total=2)
        with reporting(None):  # a job inside a job reports to the caller's callback
            step("b", number=2, total=2)
    step("not reported either")
    assert seen == [ProgressEvent("One"), ProgressEvent("One", "a", 1, 2),
                    ProgressEvent("One", "b", 2, 2)]


def test_a_callback_that_is_not_callable_is_refused():
    with pytest.raises(ParameterError, match="progress= must be a callable"), reporting("print"):
        pass


def test_segment_reports_its_stages_and_every_k(transactions, tmp_path):
    seen: list[ProgressEvent] = []
    rfmkit.run_segment(str(transactions), tmp_path / "out", params={"k_max": 4},
                       progress=seen.append)
    stages = [e.stage for e in seen if e.step is None]
    assert stages == ["Checking parameters and outputs", "Reading the input",
                      "Aggregating transactions per customer", "Scoring and segmenting",
                      "Choosing k (k=2..4)", "Writing outputs", "Writing the report"]
    ks = [(e.step, e.number, e.total) for e in seen if e.stage == "Choosing k (k=2..4)"
          and e.step and e.step.startswith("k=")]
    assert ks == [("k=2", 1, 3), ("k=3", 2, 3), ("k=4", 3, 3)]
    assert any(e.step == "silhouettes" for e in seen)
    assert any(e.step and e.step.startswith("PCA map of") for e in seen)


def test_a_fixed_k_is_one_clustering_stage(transactions, tmp_path):
    seen: list[ProgressEvent] = []
    rfmkit.run_segment(str(transactions), tmp_path / "out", params={"n_clusters": 3},
                       progress=seen.append)
    assert "Clustering (k=3)" in [e.stage for e in seen if e.step is None]
    assert not any(e.stage.startswith("Choosing k") for e in seen)


def test_report_and_score_report_their_stages(transactions, tmp_path):
    rfmkit.run_segment(str(transactions), tmp_path / "seg", params={"n_clusters": 3})
    model = tmp_path / "seg" / "model.json"
    seen: list[ProgressEvent] = []
    rfmkit.run_report(str(transactions), model, tmp_path / "rep", projection="tsne",
                      progress=seen.append)
    assert [e.stage for e in seen if e.step is None] == [
        "Checking parameters and outputs", "Reading the input",
        "Aggregating transactions per customer", "Scoring and segmenting",
        "Writing the report"]
    # t-SNE, the step that took 55 s behind a bare spinner (issue 13), is named
    assert any(e.step and e.step.startswith("t-SNE map of") for e in seen)
    seen.clear()
    rfmkit.run_score(str(transactions), model, tmp_path / "scored", progress=seen.append)
    assert [e.stage for e in seen if e.step is None][-2:] == ["Scoring and segmenting",
                                                               "Writing outputs"]
