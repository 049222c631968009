"""What a command shows while it works (the job's stages), and its ``--json`` summary."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.markup import escape
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

import rfmkit
from rfmkit.cli.display import err
from rfmkit.cli.flags import to_flags


class Progress:
    """The stages of a job on stderr, as the job reports them (``progress=`` of the jobs).

    On a terminal: a spinner with the current stage, its step and the time so far; each stage
    that ends stays as a line with its duration. Piped or in a log: one plain line per stage
    and step, with the seconds since the command started. Nothing when ``quiet``.
    """

    def __init__(self, quiet: bool, text: str):
        self.text = text
        self.started = self.stage_started = time.perf_counter()
        self.stage: str | None = None
        self.mode = "off" if quiet else ("live" if err.is_terminal else "plain")
        self.live: RichProgress | None = None

    def __enter__(self) -> Progress:
        if self.mode == "live":
            self.live = RichProgress(SpinnerColumn(), TextColumn("{task.description}"),
                                     TimeElapsedColumn(), console=err, transient=True)
            self.live.__enter__()
            self.task = self.live.add_task(escape(self.text) + "…")
        elif self.mode == "plain":
            self._line(self.text)
        return self

    def __call__(self, event: rfmkit.ProgressEvent) -> None:
        now = time.perf_counter()
        if self.mode == "plain":
            self._line(str(event))
        elif self.live is not None:
            if event.step is None:
                self._stage_done(now)
                self.stage, self.stage_started = event.stage, now
            self.live.update(self.task, description=escape(str(event)) + "…")

    def __exit__(self, kind: Any, *exc: Any) -> bool:
        if self.live is not None:
            if kind is None:
                self._stage_done(time.perf_counter())
            self.live.__exit__(kind, *exc)
        elif self.mode == "plain" and kind is None:
            self._line("Done")
        return False

    def _stage_done(self, now: float) -> None:
        if self.stage is not None and self.live is not None:
            self.live.console.print(f"[dim]{escape(self.stage)} · {now - self.stage_started:.1f} s",
                                    highlight=False)

    def _line(self, text: str) -> None:
        err.print(f"{time.perf_counter() - self.started:7.1f} s  {text}", markup=False,
                  highlight=False, soft_wrap=True)


def summary_json(command: str, summary: dict[str, Any], warned: list[str]) -> str:
    """The ``--json`` object of a run that succeeded: ``summary`` (the job's ``summary()``)
    with the command, status and every warning (in the command line's words), once each."""
    notes = [to_flags(w) for w in [*summary.pop("warnings", []), *warned]]
    return json.dumps({"command": command, "status": "ok", "exit_code": 0,
                       "rfmkit_version": rfmkit.__version__, **summary,
                       "warnings": list(dict.fromkeys(notes))})


def error_json(command: str | None, exit_code: int, message: str) -> str:
    """The ``--json`` object of a run that failed."""
    return json.dumps({"command": command, "status": "error", "exit_code": exit_code,
                       "rfmkit_version": rfmkit.__version__, "message": to_flags(message)})
