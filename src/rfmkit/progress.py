"""Progress of a job: the stages it goes through, and the steps of its long loops.

A job (:func:`~rfmkit.run_segment`, :func:`~rfmkit.run_score`, ...) takes ``progress=``, a
callable that receives a :class:`ProgressEvent` when a stage starts ("Reading the input",
"Choosing k (k=2..10)", "Writing the report", ...) and at each step of the loops that can run
longer than a few seconds (every k of the search over k; the t-SNE map). ``progress=print``
prints them; the command line shows them as a status line, or as one line each in a log.

The code that does the work reports through :func:`stage` and :func:`step`, which do nothing
unless a job is reporting. The callback is held in a :class:`contextvars.ContextVar` while the
job runs (:func:`reporting`), the way scikit-learn's ``config_context`` holds its settings, so
that estimators and engines keep their signatures. A stage ends where the next one starts, or
where the job returns.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rfmkit.errors import ParameterError

__all__ = ["ProgressEvent", "reporting", "stage", "step"]


@dataclass(frozen=True)
class ProgressEvent:
    """One report of a job's progress.

    Attributes
    ----------
    stage : str
        What the job is doing, e.g. ``"Choosing k (k=2..10)"``.
    step : str or None
        Where it is within the stage, e.g. ``"k=4"``; None when the stage starts.
    number, total : int or None
        The number of this step (from 1) and how many there are, when counted.
    """

    stage: str
    step: str | None = None
    number: int | None = None
    total: int | None = None

    def __str__(self) -> str:
        if self.step is None:
            return self.stage
        count = f" ({self.number} of {self.total})" if self.number and self.total else ""
        return f"{self.stage}: {self.step}{count}"


Progress = Callable[[ProgressEvent], None]

_callback: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "rfmkit_progress", default=None)
_stage: contextvars.ContextVar[str] = contextvars.ContextVar("rfmkit_stage", default="")


@contextlib.contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    """Send the :func:`stage` and :func:`step` reports made inside the block to ``progress``.

    ``None`` keeps whatever is reporting already (a job called by another job reports to the
    caller's callback).
    """
    if progress is None:
        yield
        return
    if not callable(progress):
        raise ParameterError(
            "progress= must be a callable that takes a ProgressEvent (e.g. print), or None. "
            f"Got {type(progress).__name__} instead.")
    tokens = (_callback.set(progress), _stage.set(""))
    try:
        yield
    finally:
        _stage.reset(tokens[1])
        _callback.reset(tokens[0])


def stage(name: str) -> None:
    """A new stage of the job starts (the previous one has ended)."""
    callback = _callback.get()
    if callback is not None:
        _stage.set(name)
        callback(ProgressEvent(name))


def step(text: str, *, number: int | None = None, total: int | None = None) -> None:
    """A step within the current stage (step ``number`` of ``total``, when counted)."""
    callback = _callback.get()
    if callback is not None:
        callback(ProgressEvent(_stage.get(), text, number, total))
