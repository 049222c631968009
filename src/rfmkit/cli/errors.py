"""How a command ends: rfmkit's errors as one paragraph in the CLI's words, warnings once."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer

import rfmkit
from rfmkit.cli.display import print_error, print_warnings

F = TypeVar("F", bound=Callable[..., Any])
state = {"debug": False}  # set by the root callback (--debug)


def handle_errors(fn: F) -> F:
    """Run a command: rfmkit's errors become one red paragraph and exit code 1 (a traceback
    with --debug); the warnings it raised are printed once each, after it ends."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", rfmkit.RFMKitWarning)
                return fn(*args, **kwargs)
        finally:
            # printed once the recording has ended: a warning re-emitted while still recording
            # would be recorded again, and printing the list would never end
            print_warnings(caught)

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        try:
            return wrapper(*args, **kwargs)
        except rfmkit.RFMKitError as exc:
            if state["debug"]:
                raise
            print_error(str(exc))
            raise typer.Exit(1) from None
        except (OSError, MemoryError) as exc:
            if state["debug"]:
                raise
            print_error(f"{type(exc).__name__}: {exc}")
            raise typer.Exit(1) from None
        except Exception as exc:
            # MLflow's errors (unreachable tracking server, registry refusals) are the user's to
            # fix, not bugs: one paragraph, like rfmkit's own.
            if state["debug"] or not type(exc).__module__.startswith("mlflow"):
                raise
            print_error(f"MLflow: {exc}")
            raise typer.Exit(1) from None

    return command  # type: ignore[return-value]
