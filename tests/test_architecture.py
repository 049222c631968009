"""The dependency direction of STYLE.md section 6, checked on the source with ``ast``.

* Scoring, segments, clustering, cluster naming and matching, and the report work on the
  per-customer table: they never import an engine, the metrics entry point, DuckDB or Spark.
* Engines only turn transactions into customers: they never import what comes after that.
* Only ``engines/spark.py`` imports PySpark.
* Scoring inside an engine (``in_engine_scoring``) imports no database driver and no Spark.

Every import counts, including those inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rfmkit

PACKAGE = Path(rfmkit.__file__).resolve().parent

CUSTOMER_LEVEL = ("rfmkit.scoring", "rfmkit.segments", "rfmkit.clustering",
                  "rfmkit.clustering.naming", "rfmkit.clustering.matching", "rfmkit.report")
NOT_FOR_CUSTOMER_LEVEL = ("rfmkit.engines", "rfmkit.metrics", "duckdb", "pyspark")
AFTER_ENGINES = ("rfmkit.scoring", "rfmkit.segments", "rfmkit.clustering", "rfmkit.model",
                 "rfmkit.report", "rfmkit.clustering.naming", "rfmkit.clustering.matching",
                 "rfmkit.export.persistence", "rfmkit.export.sql_export", "rfmkit.metrics", "rfmkit.cli",
                 "rfmkit.export.outputs", "rfmkit.export.in_engine_scoring")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Absolute names of everything ``module`` imports (``from a import b`` gives a and a.b)."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
    return names


def matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


SOURCES = sorted(PACKAGE.rglob("*.py"))
IMPORTS = {
    module_name(path): imports_of(path.read_text(encoding="utf-8"), module_name(path),
                                  is_package=path.name == "__init__.py")
    for path in SOURCES
}


def test_the_checker_resolves_imports():
    found = imports_of(
        "import duckdb\nfrom ..metrics import compute_rfm\nfrom . import base\n"
        "def f():\n    from pyspark.sql import functions\n",
        "rfmkit.engines.duckdb")
    assert found == {"duckdb", "rfmkit.metrics", "rfmkit.metrics.compute_rfm",
                     "rfmkit.engines", "rfmkit.engines.base", "pyspark.sql",
                     "pyspark.sql.functions"}
    assert imports_of("from .scoring import RFMScorer", "rfmkit", is_package=True) == {
        "rfmkit.scoring", "rfmkit.scoring.RFMScorer"}
    assert matches("rfmkit.engines.base", ("rfmkit.engines",))
    assert not matches("rfmkit.engines_extra", ("rfmkit.engines",))
    assert len(IMPORTS) > 20 and "rfmkit.engines.spark" in IMPORTS


@pytest.mark.parametrize("module", [m for m in IMPORTS if matches(m, CUSTOMER_LEVEL)])
def test_customer_level_modules_never_import_engines_or_metrics(module):
    bad = sorted(n for n in IMPORTS[module] if matches(n, NOT_FOR_CUSTOMER_LEVEL))
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", [m for m in IMPORTS if matches(m, ("rfmkit.engines",))])
def test_engines_never_import_later_steps(module):
    bad = sorted(n for n in IMPORTS[module] if matches(n, AFTER_ENGINES))
    assert not bad, f"{module} imports {bad}"


def test_in_engine_scoring_is_engine_agnostic():
    """It drives the engines through their methods and never imports a driver or Spark."""
    drivers = ("duckdb", "pyspark", "psycopg", "py4j")
    bad = sorted(n for n in IMPORTS["rfmkit.export.in_engine_scoring"] if matches(n, drivers))
    assert not bad, bad


def test_only_the_spark_engine_imports_pyspark():
    users = sorted(m for m, names in IMPORTS.items() if matches_any(names, ("pyspark",)))
    assert users == ["rfmkit.engines.spark"]


def matches_any(names: set[str], prefixes: tuple[str, ...]) -> bool:
    return any(matches(n, prefixes) for n in names)
