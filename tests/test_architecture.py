"""The layer rules of ARCHITECTURE.md, checked on every module of the source with ``ast``.

The rules are written per folder (a layer), never as hand-kept module lists: a module added to a
folder is checked the moment it exists. Every import counts, including those inside functions
and under ``TYPE_CHECKING`` (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import rfmkit

PACKAGE = Path(rfmkit.__file__).resolve().parent
MAX_LINES = 500

DRIVERS = ("duckdb", "pyspark", "py4j", "psycopg")
# Modules every layer may use: errors, parameter checks and the plain definitions of columns,
# cleaning, metric options and presets.
FOUNDATIONS = ("rfmkit.errors", "rfmkit._validation", "rfmkit._version", "rfmkit.schema",
               "rfmkit.cleaning", "rfmkit.metric_options", "rfmkit.presets",
               "rfmkit.atomic_files", "rfmkit.interrupts", "rfmkit.html_repr", "rfmkit.progress",
               "rfmkit.money", "rfmkit.fingerprint")
TRANSACTIONS_SIDE = ("rfmkit.sql", "rfmkit.engines", "rfmkit.metrics",
                     "rfmkit.purchase_events")
CUSTOMER_SIDE = ("rfmkit.scoring", "rfmkit.segments", "rfmkit.clustering", "rfmkit.clv")
LEAVING = ("rfmkit.export", "rfmkit.report")
ORCHESTRATION = ("rfmkit.model", "rfmkit.segmentation", "rfmkit.jobs", "rfmkit.demo",
                 "rfmkit.clv_model")
FACE = ("rfmkit.cli", "rfmkit.__main__")

# folder -> what it must never import
FORBIDDEN = {
    "rfmkit.sql": (*DRIVERS, "rfmkit.engines", "rfmkit.metrics", *CUSTOMER_SIDE, *LEAVING,
                   *ORCHESTRATION, *FACE),
    "rfmkit.engines": ("rfmkit.metrics", *CUSTOMER_SIDE, *LEAVING, *ORCHESTRATION, *FACE),
    "rfmkit.metrics": (*CUSTOMER_SIDE, *LEAVING, *ORCHESTRATION, *FACE),
    "rfmkit.purchase_events": (*CUSTOMER_SIDE, *LEAVING, *ORCHESTRATION, *FACE),
    "rfmkit.scoring": (*DRIVERS, *TRANSACTIONS_SIDE, *LEAVING, *ORCHESTRATION, *FACE),
    "rfmkit.segments": (*DRIVERS, *TRANSACTIONS_SIDE, "rfmkit.scoring", "rfmkit.clustering",
                        *LEAVING, *ORCHESTRATION, *FACE),
    "rfmkit.clustering": (*DRIVERS, *TRANSACTIONS_SIDE, "rfmkit.segments", *LEAVING,
                          *ORCHESTRATION, *FACE),
    "rfmkit.clv": (*DRIVERS, *TRANSACTIONS_SIDE, "rfmkit.scoring", "rfmkit.segments",
                   "rfmkit.clustering", *LEAVING, *ORCHESTRATION, *FACE),
    "rfmkit.report": (*DRIVERS, *TRANSACTIONS_SIDE, "rfmkit.export", *ORCHESTRATION, *FACE),
    "rfmkit.export": (*DRIVERS, "rfmkit.jobs", "rfmkit.demo", *FACE),
    "rfmkit.model": (*DRIVERS, "rfmkit.sql", *LEAVING, "rfmkit.jobs", *FACE),
    "rfmkit.clv_model": (*DRIVERS, "rfmkit.sql", "rfmkit.engines", *LEAVING, "rfmkit.jobs",
                         *FACE),
    "rfmkit.segmentation": (*DRIVERS, *TRANSACTIONS_SIDE, *LEAVING, "rfmkit.model",
                            "rfmkit.jobs", *FACE),
    "rfmkit.jobs": (*DRIVERS, *FACE),
    "rfmkit.timeline": (*DRIVERS, *FACE),
    "rfmkit.demo": (*DRIVERS, *TRANSACTIONS_SIDE, *CUSTOMER_SIDE, *LEAVING, *FACE),
}
for _foundation in FOUNDATIONS:
    FORBIDDEN[_foundation] = (*DRIVERS, *TRANSACTIONS_SIDE, *CUSTOMER_SIDE, *LEAVING,
                              *ORCHESTRATION, *FACE)

TRICKS = {
    "os._exit": re.compile(r"\bos\._exit\b"),
    "atexit._run_exitfuncs": re.compile(r"_run_exitfuncs"),
    "gc.set_threshold": re.compile(r"\bset_threshold\b"),
    "a process pool": re.compile(r"ProcessPool|multiprocessing|\bProcess\("),
    "a global thread limit": re.compile(r"FIT_THREADS|OMP_NUM_THREADS|threadpool_limits\(\s*\d"),
}


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


def layer_of(module: str) -> str | None:
    """The most specific FORBIDDEN key that contains ``module``."""
    owners = [key for key in FORBIDDEN if matches(module, (key,))]
    return max(owners, key=len) if owners else None


SOURCES = sorted(PACKAGE.rglob("*.py"))
TEXT = {module_name(path): path.read_text(encoding="utf-8") for path in SOURCES}
IMPORTS = {
    module_name(path): imports_of(TEXT[module_name(path)], module_name(path),
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
    assert imports_of("from rfmkit import schema", "rfmkit.scoring.bins") == {
        "rfmkit", "rfmkit.schema"}
    assert matches("rfmkit.engines.base", ("rfmkit.engines",))
    assert not matches("rfmkit.engines_extra", ("rfmkit.engines",))
    assert layer_of("rfmkit.engines.duckdb") == "rfmkit.engines"
    assert layer_of("rfmkit.schema") == "rfmkit.schema"
    assert len(IMPORTS) > 40 and "rfmkit.engines.spark" in IMPORTS


def test_every_module_belongs_to_a_layer():
    """A new top-level module must be placed in ARCHITECTURE.md's layers (and here) first."""
    unplaced = sorted(m for m in IMPORTS
                      if m != "rfmkit" and layer_of(m) is None and not matches(m, FACE))
    assert not unplaced, f"modules outside every layer: {unplaced}"


def violations(module: str, imports: set[str]) -> list[str]:
    own = layer_of(module)
    return sorted(n for n in imports if matches(n, FORBIDDEN[own]) and not matches(n, (own,)))


def test_the_layer_rule_can_fail():
    assert violations("rfmkit.scoring.bins", {"rfmkit.engines.duckdb", "numpy"}) == [
        "rfmkit.engines.duckdb"]
    assert violations("rfmkit.sql.dialects", {"duckdb"}) == ["duckdb"]
    assert violations("rfmkit.engines.spark", {"rfmkit.model.RFMModel"}) == [
        "rfmkit.model.RFMModel"]
    assert violations("rfmkit.clustering.naming", {"rfmkit.clustering.estimator"}) == []


@pytest.mark.parametrize("module", sorted(m for m in IMPORTS if layer_of(m)))
def test_module_respects_its_layer(module):
    bad = violations(module, IMPORTS[module])
    assert not bad, f"{module} ({layer_of(module)}) imports {bad}"


def test_only_engines_import_a_database_driver_or_spark():
    users = sorted(m for m, names in IMPORTS.items()
                   if any(matches(n, DRIVERS) for n in names))
    assert users, "the checker found no driver import at all"
    assert all(matches(m, ("rfmkit.engines",)) for m in users), users


def test_the_model_uses_the_engine_contract_only():
    """The model hands an engine to compute_rfm; it never imports a concrete engine."""
    engine_imports = {n for n in IMPORTS["rfmkit.model"] if matches(n, ("rfmkit.engines",))}
    assert engine_imports <= {"rfmkit.engines", "rfmkit.engines.Engine"}, engine_imports


@pytest.mark.parametrize("module", sorted(m for m in IMPORTS if matches(m, FACE)))
def test_the_cli_uses_only_the_public_api(module):
    """cli/ imports rfmkit (the package) and its own modules, nothing else of rfmkit."""
    bad = sorted(n for n in IMPORTS[module]
                 if matches(n, ("rfmkit",)) and n != "rfmkit" and not matches(n, FACE))
    assert not bad, f"{module} imports {bad}"
    used = set(re.findall(r"\brfmkit\.([A-Za-z_]\w*)", TEXT[module]))
    private = sorted(used - set(rfmkit.__all__) - {"cli"})
    assert not private, f"{module} uses rfmkit.{private}, which are not public names"


def test_the_cli_starts_no_thread_or_process():
    cli = {m: text for m, text in TEXT.items() if matches(m, FACE)}
    assert cli
    for module, text in cli.items():
        for pattern in (r"\bthreading\b", r"\bconcurrent\b", r"\bsubprocess\b",
                        r"\bmultiprocessing\b", r"\bsignal\.", r"\bgc\."):
            assert not re.search(pattern, text), f"{module} uses {pattern}"


@pytest.mark.parametrize("module", sorted(TEXT))
def test_no_module_is_over_the_line_limit(module):
    lines = TEXT[module].count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines (limit {MAX_LINES})"


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_no_process_level_trick(trick):
    found = sorted(m for m, text in TEXT.items() if TRICKS[trick].search(text))
    assert not found, f"{trick} in {found}"


def test_the_trick_patterns_can_fail():
    assert TRICKS["os._exit"].search("os._exit(0)")
    assert TRICKS["a global thread limit"].search("threadpool_limits(1)")
    assert not TRICKS["a global thread limit"].search(
        'threadpool_limits(limits=1, user_api="blas")')


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def string_constants(source: str) -> list[str]:
    """Every string literal (f-string parts included) except docstrings."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


@pytest.mark.parametrize("module", sorted(m for m in TEXT if not matches(m, FACE)))
def test_library_messages_name_parameters_not_cli_flags(module):
    """Only cli/ knows flags: it maps parameter names to flags when it prints an error."""
    flags = sorted({flag for text in string_constants(TEXT[module]) for flag in FLAG.findall(text)})
    assert not flags, f"{module} mentions CLI flags {flags}"


def test_the_flag_check_can_fail():
    assert FLAG.findall(" ".join(string_constants('x = f"pass --customer {y}"'))) == ["--customer"]
    assert not string_constants('"""Docstring with --flag."""')
