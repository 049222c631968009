"""The rfmkit command line (console script ``rfmkit``).

Light on purpose: the command tree (Typer, pandas, ...) loads inside :func:`run`, so that a
Ctrl-C or SIGTERM while it loads ends the command the same way as later, without a traceback.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's arguments); return the exit code."""
    from rfmkit.cli.app import main as run_main

    return run_main(argv)


def run() -> None:
    """The console script and ``python -m rfmkit``."""
    import rfmkit  # light: its names load on first use

    try:
        with rfmkit.terminate_as_interrupt(exiting=True):  # before the command tree loads
            from rfmkit.cli.app import main as run_main

            code = run_main()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted\n")
        code = 130
    sys.exit(code)


__all__ = ["main", "run"]
