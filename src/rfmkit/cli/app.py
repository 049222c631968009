"""The console script: the root of the command tree, and the exit code of a run."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

import rfmkit
from rfmkit.cli.commands import app
from rfmkit.cli.display import err, out
from rfmkit.cli.errors import state
from rfmkit.cli.history_command import history as _history  # noqa: F401 (registers it)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"rfmkit {rfmkit.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_print_version,
        is_eager=True)] = False,
) -> None:
    state["debug"] = debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's arguments); return the exit code."""
    try:
        result = app(args=argv, prog_name="rfmkit", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("Interrupted.")
        return 130
    except Exception as exc:
        # Usage errors (unknown option, bad value) from Typer's bundled click: print, exit 2.
        code = getattr(exc, "exit_code", None)
        if callable(getattr(exc, "show", None)) and isinstance(code, int):
            exc.show()
            return code
        raise
    return result if isinstance(result, int) else 0


def run() -> None:
    """The console script and ``python -m rfmkit``."""
    sys.exit(main())
