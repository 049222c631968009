"""The public API is exactly ``rfmkit.__all__``, and importing rfmkit loads no optional engine."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

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


def test_the_export_table_is_the_one_list_of_public_names():
    """``__all__`` is made from ``_EXPORTS`` and nothing else; each name is defined (not merely
    re-imported) in the module the table names, so the table cannot drift from the code."""
    assert rfmkit.__all__ == sorted(["__version__", *rfmkit._EXPORTS])
    for name, module_path in rfmkit._EXPORTS.items():
        module = importlib.import_module(f"rfmkit.{module_path}")
        obj = getattr(module, name)
        if isinstance(obj, (type, types.FunctionType)):
            assert obj.__module__ == module.__name__, (name, obj.__module__, module.__name__)
        assert getattr(rfmkit, name) is obj, name


def test_init_holds_no_second_list_of_names():
    """No other literal list, tuple or set of strings, and no TYPE_CHECKING import block, in
    rfmkit/__init__.py: a name added there only would bypass the table."""
    tree = ast.parse(Path(rfmkit.__file__).read_text(encoding="utf-8"))
    dicts = [n for n in ast.walk(tree) if isinstance(n, ast.Dict)]
    assert len(dicts) == 1
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            strings = [e for e in node.elts if isinstance(e, ast.Constant)
                       and isinstance(e.value, str)]
            assert not strings or strings[0].value == "__version__", (
                ast.unparse(node)[:80])
        assert not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
    imported = [n for n in tree.body if isinstance(n, ast.ImportFrom)
                and (n.module or "").startswith("rfmkit")]
    assert [n.module for n in imported] == ["rfmkit._version"]


def test_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no_such_name"):
        rfmkit.no_such_name  # noqa: B018


def test_import_is_light_and_the_cli_starts_before_the_modelling_libraries():
    """``import rfmkit`` (and the CLI module) load neither scikit-learn nor matplotlib: ``rfmkit
    --help`` and a bad flag answer at once, and a library user pays only for what they use."""
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
    ``model_sql`` for PostgreSQL or Spark (the translations live in rfmkit.sql, which imports
    no driver and no Spark), nor ``score_in_engine`` with DuckDB. One subprocess for
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
    # SQL export translates with rfmkit.sql and needs no engine module at all
    assert not {"rfmkit.engines.postgres", "rfmkit.engines.spark"} & set(after_sql)
