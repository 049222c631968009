"""Output files and destinations of a segmentation (rfmkit.export.outputs)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rfmkit.errors import InputError, ParameterError
from rfmkit.export.outputs import (
    SCORE_NAMES,
    segmentation_files,
    write_destination,
    write_outputs,
)


def test_unknown_destination():
    with pytest.raises(ParameterError, match="duckdb:PATH"):
        write_destination("s3://bucket", None)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Two real segmentations of different data: one with clusters, one without."""
    import warnings

    from rfmkit import RFMKitWarning, RFMModel
    from rfmkit.demo import generate_transactions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMKitWarning)  # few distinct frequencies: not tested here
        with_clusters = RFMModel(n_clusters=3).fit(generate_transactions(3000, seed=1)).result_
        without = RFMModel(n_clusters="none").fit(generate_transactions(3000, seed=2)).result_
    return with_clusters, without


def _tables(db):
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for (t,) in
                con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()}
    finally:
        con.close()


def test_files_and_tables_are_replaced_together(results, tmp_path):
    old, new = results
    out, db = tmp_path / "out", tmp_path / "rfm.db"
    write_outputs(out, segmentation_files(old, fmt="parquet"), old, target=f"duckdb:{db}")
    assert "clusters.csv" in {p.name for p in out.iterdir()}
    assert set(_tables(db)) == {"rfm_clusters", "rfm_customers", "rfm_segments"}
    (out / "report.html").write_text("an earlier run's report\n")
    written, where = write_outputs(out, segmentation_files(new, fmt="csv"), new,
                                   target=f"duckdb:{db}")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written) == [
        "customers.csv", "quality.json", "segments.csv"]
    assert where == str(db)
    assert _tables(db) == {"rfm_customers": len(new.customers),
                           "rfm_segments": len(new.segments)}


def test_a_score_run_keeps_the_model_it_applies(results, tmp_path):
    old, new = results
    (tmp_path / "model.json").write_text("{}\n")
    (tmp_path / "report.html").write_text("stale\n")
    write_outputs(tmp_path, segmentation_files(new), new, replaces=SCORE_NAMES)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "customers.parquet", "model.json", "quality.json", "segments.csv"]


def test_when_the_tables_cannot_be_written_the_folder_is_unchanged(results, tmp_path):
    old, new = results
    out, db = tmp_path / "out", tmp_path / "rfm.db"
    write_outputs(out, segmentation_files(old), old, target=f"duckdb:{db}")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1])\n"
         "print('locked', flush=True)\ntime.sleep(60)\n", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match="another program"):
            write_outputs(out, segmentation_files(new, fmt="csv"), new, target=f"duckdb:{db}")
    finally:
        holder.kill()
        holder.communicate()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert "rfm_clusters" in _tables(db)
