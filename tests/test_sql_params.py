"""The scoring query with the as-of date as a bind parameter (rfmkit.export.sql_params) and
``rfmkit sql --as-of-param``."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import duckdb
import pytest
from pandas.testing import assert_frame_equal

import rfmkit
from rfmkit.export.sql_params import PLACEHOLDERS, model_sql_as_of_param


@pytest.fixture(scope="module")
def model(synthetic_lines):
    return rfmkit.RFMModel(n_clusters=3, random_state=0).fit(synthetic_lines)


def test_the_parameter_query_equals_the_fixed_date_query(model, synthetic_lines):
    con = duckdb.connect()
    con.register("transactions", synthetic_lines)
    day = dt.date(2022, 11, 30)
    with_param = con.execute(model_sql_as_of_param(model), {"as_of": day}).df()
    fixed = con.sql(rfmkit.model_sql(model, as_of=day)).df()
    assert len(with_param) > 0
    assert_frame_equal(with_param, fixed)


@pytest.mark.parametrize("dialect", sorted(PLACEHOLDERS))
def test_every_dialect_gets_its_placeholder_in_both_places(model, dialect):
    sql = model_sql_as_of_param(model, dialect=dialect)
    assert sql.count(PLACEHOLDERS[dialect]) == 2 and "2999-12-31" not in sql


def test_the_command_prints_it_and_refuses_a_fixed_date_too(model, tmp_path):
    rfmkit.save_model(model, tmp_path / "model.json")
    code = "import sys\nfrom rfmkit.cli import run\nsys.argv = ['rfmkit', *sys.argv[1:]]\nrun()\n"
    done = subprocess.run([sys.executable, "-c", code, "sql", "-m", str(tmp_path / "model.json"),
                           "--dialect", "postgres", "--as-of-param"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("%(as_of)s") == 2
    done = subprocess.run([sys.executable, "-c", code, "sql", "-m", str(tmp_path / "model.json"),
                           "--as-of-param", "--as-of", "2022-01-01"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "--as-of-param" in done.stderr
