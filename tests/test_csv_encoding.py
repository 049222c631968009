"""CSV text encodings: detected (BOM, UTF-16), given with encoding=, named when decoding fails."""

from __future__ import annotations

import codecs
import glob
import gzip
import os
import tempfile

import pandas as pd
import pytest

from input_support import TEXT
from rfmkit.engines.csv_encoding import detect_encoding
from rfmkit.engines.duckdb import DuckDBEngine
from rfmkit.errors import InputError, ParameterError
from rfmkit.metrics import compute_rfm


@pytest.fixture
def expected(tmp_path):
    path = tmp_path / "utf8.csv"
    path.write_bytes(TEXT.encode("utf-8"))
    return compute_rfm(path).customers


CASES = {
    "utf-8 BOM": codecs.BOM_UTF8 + TEXT.encode("utf-8"),
    "utf-16 LE BOM": TEXT.encode("utf-16"),  # Python writes little-endian with a BOM
    "utf-16 BE BOM": codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
    "utf-16 LE": TEXT.encode("utf-16-le"),
    "utf-16 BE": TEXT.encode("utf-16-be"),
}


@pytest.mark.parametrize("case", CASES)
def test_bom_and_utf16_are_detected(tmp_path, expected, case):
    path = tmp_path / "data.csv"
    path.write_bytes(CASES[case])
    result = compute_rfm(path)
    pd.testing.assert_frame_equal(result.customers, expected, check_exact=True)
    assert "customer_id" in result.columns.mapping.to_dict().values()  # no BOM in the name


def test_detection_reads_the_first_bytes_only(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(TEXT.encode("utf-16-be")))
    assert detect_encoding(str(path)) == "utf-16-be"
    (tmp_path / "plain.csv").write_text(TEXT)
    assert detect_encoding(str(tmp_path / "plain.csv")) == "utf-8"


def test_latin1_without_encoding_names_the_encoding_and_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(TEXT.encode("latin-1"))
    with pytest.raises(InputError) as info:
        compute_rfm(path)
    message = str(info.value)
    assert "latin.csv is not valid UTF-8 text at byte 52" in message
    assert "encoding='latin-1'" in message


@pytest.mark.parametrize("encoding", ["latin-1", "ISO-8859-1", "cp1252", "utf-16-be"])
def test_given_encodings_are_read(tmp_path, expected, encoding):
    path = tmp_path / "data.csv"
    path.write_bytes(TEXT.encode(encoding))
    result = compute_rfm(path, encoding=encoding)
    pd.testing.assert_frame_equal(result.customers, expected, check_exact=True)


def test_a_bad_byte_deep_in_the_file_is_named(tmp_path):
    rows = "".join(f"C{i % 500},2023-01-0{1 + i % 9},{i % 50 + 1},Zurich\n"
                   for i in range(200_000))
    body = ("customer_id,order_date,amount,city\n" + rows).encode()
    path = tmp_path / "late.csv"
    path.write_bytes(body + "C1,2023-01-01,5,Zürich\n".encode("latin-1"))
    with pytest.raises(InputError, match=rf"late\.csv is not valid UTF-8 text at byte "
                                         rf"{len(body) + 17:,}.*encoding='latin-1'"):
        compute_rfm(path)
    assert compute_rfm(path, encoding="latin-1").quality.rows_read == 200_001


def test_a_wrong_given_encoding_is_named(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(TEXT.encode("utf-8") + b"C9,2023-01-01,1,\x81\n")
    with pytest.raises(InputError, match=r"not valid CP1252 text at byte"):
        compute_rfm(path, encoding="cp1252")


def test_an_unknown_encoding_is_a_parameter_error(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(TEXT)
    with pytest.raises(ParameterError, match=r"encoding='klingon' is not a known"):
        compute_rfm(path, encoding="klingon")


def test_decoded_copies_are_removed_when_the_engine_closes(tmp_path, expected):
    for i in range(2):
        (tmp_path / f"part{i}.csv").write_bytes(TEXT.encode("cp1252"))
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "rfmkit-csv-*")))
    engine = DuckDBEngine()
    rel = engine.read(str(tmp_path / "part*.csv"), encoding="cp1252")
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "rfmkit-csv-*"))) - before
    assert engine.query(f"SELECT COUNT(*) AS n FROM {rel.handle}")["n"][0] == 40
    engine.close()
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "rfmkit-csv-*"))) == before


def test_copies_left_by_a_killed_run_are_removed_by_the_next(tmp_path):
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    orphan = os.path.join(tempfile.gettempdir(), f"rfmkit-csv-{gone.stdout.strip()}-x1")
    os.makedirs(os.path.join(orphan, "sub"), exist_ok=True)
    path = tmp_path / "data.csv"
    path.write_bytes(TEXT.encode("cp1252"))
    compute_rfm(path, encoding="cp1252")
    assert not os.path.exists(orphan)
