"""The public API is exactly ``rfmkit.__all__``, and importing rfmkit loads no optional engine."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import rfmkit

OPTIONAL = ("pyspark", "py4j", "psycopg", "mlflow")


def test_all_is_sorted():
    assert rfmkit.__all__ == sorted(rfmkit.__all__)


def test_all_is_exactly_the_public_names():
    for name in rfmkit.__all__:  # every name loads (names load lazily, on first use)
        assert getattr(rfmkit, name) is not None, name
    public = {name for name in dir(rfmkit)
              if not name.startswith("_")
              and not isinstance(getattr(rfmkit, name), types.ModuleType)}
    assert set(rfmkit.__all__) == public | {"__version__"}
    assert len(rfmkit.__all__) == len(set(rfmkit.__all__))


def test_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no_such_name"):
        rfmkit.no_such_name  # noqa: B018


def test_import_is_light_and_the_cli_starts_before_the_modelling_libraries():
    """``import rfmkit`` (and the CLI module) load neither scikit-learn nor matplotlib: the
    command line starts its engine while those load in the background."""
    script = (
        "import json, sys\n"
        "import rfmkit, rfmkit.cli\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    top = {name.split(".")[0] for name in json.loads(out.stdout.strip().splitlines()[-1])}
    assert not top & {"sklearn", "matplotlib", "scipy", "mlflow", "pyspark"}, top


def test_version_is_a_version_string():
    assert rfmkit.__version__.count(".") >= 2
    assert all(part.isdigit() for part in rfmkit.__version__.split(".")[:2])


def test_importing_rfmkit_and_exporting_sql_load_no_optional_engine():
    """In a fresh interpreter: ``import rfmkit`` loads no optional engine, and neither does
    ``model_sql`` for PostgreSQL or Spark (it borrows the engines' SQL translations, which
    import no driver and no Spark), nor ``score_in_engine`` with DuckDB. One subprocess for
    all: starting one takes seconds."""
    script = (
        "import json, sys, warnings\n"
        "import rfmkit\n"
        "after_import = sorted(sys.modules)\n"
        "warnings.simplefilter('ignore')\n"
        "tx = rfmkit.generate_transactions(500)\n"
        "m = rfmkit.RFMModel(n_clusters='none').fit(tx)\n"
        "for d in ('postgres', 'spark'):\n"
        "    assert 'SELECT' in rfmkit.model_sql(m, dialect=d)\n"
        "assert len(rfmkit.score_in_engine(m, tx).df()) == len(m.result_.customers)\n"
        "print(json.dumps([after_import, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300)
    after_import, after_sql = json.loads(out.stdout.strip().splitlines()[-1])
    for loaded in (after_import, after_sql):
        top = {name.split(".")[0] for name in loaded}
        assert "rfmkit" in top
        assert not top & set(OPTIONAL), sorted(top & set(OPTIONAL))
    assert "rfmkit.engines.postgres" not in after_import  # loaded on request only
    assert "rfmkit.engines.postgres" in after_sql
