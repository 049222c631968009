"""The console script: the root of the command tree, and the exit code of a run.

Exit codes: 0 done; 1 an unexpected error (a bug: one line says how to report it, the traceback
only with ``--debug`` or ``RFMKIT_DEBUG=1``); 2 bad input, options or outputs (rfmkit's errors,
usage errors, a file that cannot be written); 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

import rfmkit
from rfmkit.cli import clv_command  # noqa: F401  (registers `rfmkit clv`)
from rfmkit.cli.commands import app
from rfmkit.cli.display import err, out, print_error
from rfmkit.cli.errors import state
from rfmkit.cli.feedback import error_json
from rfmkit.cli.history_command import history as _history  # noqa: F401 (registers it)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"rfmkit {rfmkit.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the full traceback of an error (also RFMKIT_DEBUG=1).")] = False,
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_print_version,
        is_eager=True)] = False,
) -> None:
    state["debug"] = debug or state["debug"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's arguments); return the exit code."""
    state["debug"] = os.environ.get("RFMKIT_DEBUG", "").strip().lower() not in ("", "0", "false",
                                                                                "no")
    state["interrupted"] = False
    state["json"] = None
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        with rfmkit.terminate_as_interrupt():
            result = app(args=argv, prog_name="rfmkit", standalone_mode=False)
    except typer.Exit as exc:
        result = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        result = 130
    except Exception as exc:
        # Usage errors (unknown option, bad value) from Typer's bundled click: print, exit 2.
        code = getattr(exc, "exit_code", None)
        if callable(getattr(exc, "show", None)) and isinstance(code, int):
            exc.show()
            if "--json" in args:  # a scheduler reads stdout: the usage error is JSON too
                command = next((a for a in args if not a.startswith("-")), None)
                typer.echo(error_json(command, code, exc.format_message()))
            return code
        if state["debug"]:
            raise
        message = (
            f"rfmkit {rfmkit.__version__} failed unexpectedly: "
            f"{type(exc).__name__}: {_one_line(exc)}. This is a bug in rfmkit; please report "
            "it with the command you ran and the traceback that the same command prints "
            "with --debug after rfmkit (or with RFMKIT_DEBUG=1).")
        print_error(message)
        if state["json"]:
            typer.echo(error_json(state["json"], 1, message))
        return 1
    if result == 130 and not state["interrupted"]:
        # Typer turns a Ctrl-C outside a command (while parsing) into a silent exit code 130
        err.print("Interrupted", highlight=False)
    return result if isinstance(result, int) else 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:300] + "…" if len(text) > 300 else text).rstrip(".") or "no message"


def run() -> None:
    """The console script and ``python -m rfmkit``."""
    sys.exit(main())
