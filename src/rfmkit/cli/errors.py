"""How a command ends: rfmkit's errors as one paragraph in the CLI's words, warnings once."""

from __future__ import annotations

import errno
import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer

import rfmkit
from rfmkit.cli.display import err, print_error, print_warnings
from rfmkit.cli.feedback import error_json, summary_json

F = TypeVar("F", bound=Callable[..., Any])
# debug: --debug; interrupted: already said; json: the command run with --json (its errors
# are also printed as JSON on stdout)
state: dict[str, Any] = {"debug": False, "interrupted": False, "json": None}


def handle_errors(fn: F) -> F:
    """Run a command: rfmkit's errors and files that cannot be written become one red
    paragraph and exit code 2 (a traceback with --debug); the warnings it raised are printed
    once each, after it ends. Other errors reach :func:`rfmkit.cli.app.main`.

    With ``--json`` (``json_summary``), the command returns its job's summary, printed here as
    one JSON object on stdout with the warnings; an error is one too (docs/cli.md)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caught: list[warnings.WarningMessage] = []
        succeeded = False
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", rfmkit.RFMKitWarning)
                result = fn(*args, **kwargs)
            succeeded = True
        finally:
            # printed once the recording has ended: a warning re-emitted while still recording
            # would be recorded again, and printing the list would never end. --quiet: a run
            # that succeeds prints nothing (the warnings are in quality.json and the report)
            if not (succeeded and kwargs.get("quiet")):
                print_warnings(caught)
        if kwargs.get("json_summary") and isinstance(result, dict):
            warned = [str(w.message) for w in caught
                      if issubclass(w.category, rfmkit.RFMKitWarning)]
            typer.echo(summary_json(fn.__name__, result, warned))
            return None
        return result

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("json_summary"))
        if as_json:
            state["json"] = fn.__name__  # an unexpected error: app.main prints it as JSON

        def fail(code: int, message: str) -> typer.Exit:
            if as_json:
                typer.echo(error_json(fn.__name__, code, message))
                state["json"] = None  # said
            return typer.Exit(code)

        try:
            return wrapper(*args, **kwargs)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (rfmkit.terminate_as_interrupt)
            err.print("Interrupted", highlight=False)
            state["interrupted"] = True
            raise fail(130, "Interrupted") from None
        except rfmkit.RFMKitError as exc:
            if state["debug"]:
                raise
            print_error(str(exc))
            raise fail(2, str(exc)) from None
        except OSError as exc:
            # a file that cannot be read or written (disk full, permissions): the user's to fix
            if state["debug"]:
                raise
            print_error(os_error_message(exc))
            raise fail(2, os_error_message(exc)) from None
        except MemoryError as exc:
            if state["debug"]:
                raise
            message = str(exc) or ("Out of memory. Close other programs, or run on a machine "
                                   "with more memory; the earlier outputs were left as they were.")
            print_error(message)
            raise fail(1, message) from None
        except Exception as exc:
            # MLflow's errors (unreachable tracking server, registry refusals) are the user's to
            # fix, not bugs: one paragraph, like rfmkit's own.
            if state["debug"] or not type(exc).__module__.startswith("mlflow"):
                raise
            print_error(f"MLflow: {exc}")
            raise fail(2, f"MLflow: {exc}") from None

    return command  # type: ignore[return-value]


_FIXES = {
    errno.ENOSPC: "the disk is full. Free space, or write to another disk",
    errno.EFBIG: "the file is larger than this system allows. Write to another disk",
    errno.EDQUOT: "the disk quota is used up. Free space, or write elsewhere",
    errno.EACCES: "permission denied. Check the permissions, or choose another path",
    errno.EPERM: "the operation is not permitted. Check the permissions, or choose another path",
    errno.EROFS: "the file system is read-only. Choose another path",
    errno.ENOENT: "no such file or folder. Check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder. Choose another path",
    errno.EISDIR: "it is a folder. Move it away, or choose another path",
}


def os_error_message(exc: OSError) -> str:
    """An OSError as one sentence naming the path and the fix; outputs were left unchanged
    (every write is all or nothing)."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = _FIXES.get(exc.errno) if exc.errno is not None else None
    if reason is None:
        reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    where = f" {paths}" if paths else ""
    return (f"Could not use{where}: {reason}. Earlier outputs were left as they were.")
