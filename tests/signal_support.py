"""Child processes that a test interrupts with SIGINT.

A SIGINT that is ignored when a process starts stays ignored in every process it starts (POSIX
keeps SIG_IGN across exec), and Python then installs no Ctrl-C handler at all. That is how a
shell runs a background job (`cmd &`, nohup, some CI runners), so there a test's SIGINT would
never reach rfmkit and a test could pass without testing anything. Each command below starts
with SIGINT at its default, as in a terminal.
"""

from __future__ import annotations

import sys

_EXEC_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def with_default_sigint(command: list[str]) -> list[str]:
    """``command`` (its first item an executable path), started with SIGINT at its default."""
    return [sys.executable, "-c", _EXEC_WITH_DEFAULT_SIGINT, *command]
