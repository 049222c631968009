"""Engines: DuckDB (default, embedded) and optional ones, imported only when asked for."""

from __future__ import annotations

import importlib
from typing import Any

from rfmkit.engines.base import Engine, Relation
from rfmkit.errors import EngineUnavailableError, ParameterError, install_hint

# name -> (module, class, pip extra, what the extra installs)
_ENGINES = {
    "duckdb": ("rfmkit.engines.duckdb", "DuckDBEngine", None),
    "spark": ("rfmkit.engines.spark", "SparkEngine", "spark"),
    "postgres": ("rfmkit.engines.postgres", "PostgresEngine", "postgres"),
}

ENGINE_NAMES = tuple(_ENGINES)


def get_engine(engine: str | Engine = "duckdb", **options: Any) -> Engine:
    """Return an engine instance; optional engines are imported only here, on request."""
    if not isinstance(engine, str):
        return engine
    if engine not in _ENGINES:
        raise ParameterError(
            f"Unknown engine {engine!r}. Choose one of: {', '.join(ENGINE_NAMES)}."
        )
    module_name, class_name, extra = _ENGINES[engine]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = install_hint(extra) if extra else "pip install rfmkit"
        raise EngineUnavailableError(
            f"The {engine} engine needs a package that is not installed ({exc.name or exc}). "
            f"Install it with: {hint}"
        ) from exc
    return getattr(module, class_name)(**options)


__all__ = ["ENGINE_NAMES", "Engine", "Relation", "get_engine"]
