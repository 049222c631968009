"""The rfmkit command line (console script ``rfmkit``).

Light on purpose: the command tree (Typer, pandas, ...) loads inside :func:`run`, so that a
Ctrl-C while it loads ends the command the same way as later, without a traceback.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's arguments); return the exit code."""
    from rfmkit.cli.app import main as run_main

    return run_main(argv)


def run() -> None:
    """The console script and ``python -m rfmkit``."""
    try:
        from rfmkit.cli.app import run as run_app
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted\n")
        sys.exit(130)
    run_app()


__all__ = ["main", "run"]
