"""Ctrl-C inside a DuckDB query, handed back as the KeyboardInterrupt it was.

DuckDB notices the interrupt itself and stops the query, but reports it as "Query interrupted"
(an InterruptException, or a bare RuntimeError from some calls), which a caller would take for
a failure instead of the user's request to stop.
"""

from __future__ import annotations

import functools
from typing import Any


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckDB's report of an interrupted query."""
    import duckdb  # loaded by then: only DuckDB's calls raise what is asked about

    if isinstance(exc, duckdb.InterruptException):
        return True
    return (isinstance(exc, RuntimeError)
            and str(exc).strip().rstrip("!.").endswith("Query interrupted"))


def interruptible(method: Any) -> Any:
    """Decorate a function running DuckDB queries: an interrupted query raises
    KeyboardInterrupt."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            if is_interrupt(exc):
                raise KeyboardInterrupt from None
            raise

    return call
