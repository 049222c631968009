"""Ctrl-C and SIGTERM as one clean stop: a KeyboardInterrupt where the work can unwind.

The command line runs inside :func:`terminate_as_interrupt`; :func:`stop_if_interrupted` is the
check the file writer makes before it replaces anything. Light on purpose (the standard library
only): the command line installs this first, so the moment after start-up in which a Ctrl-C can
still end the process with a traceback is as short as it can be.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


class Interrupted(KeyboardInterrupt):
    """The KeyboardInterrupt that Ctrl-C and SIGTERM raise inside :func:`terminate_as_interrupt`.

    A subclass, because CPython 3.11 records an exact KeyboardInterrupt that leaves any
    ``exec()`` of source text (dataclasses and namedtuples run one as they are made, so any
    import can be inside one) as unhandled, even when it is caught later, and then ends a
    ``python -m`` process by SIGINT (status -2) in place of its exit code."""


@contextlib.contextmanager
def terminate_as_interrupt(*, exiting: bool = False) -> Iterator[None]:
    """While inside, Ctrl-C and SIGTERM stop the work as a KeyboardInterrupt (an
    :class:`Interrupted`) in the main thread, so that every job's clean-up runs (no partial
    output, the database rolled back). A SIGINT that the process inherited as ignored (a job
    started with ``nohup`` or in the background) stays ignored.

    An interrupt that lands in a finalizer or a garbage-collection callback cannot propagate:
    Python would print it as 'Exception ignored' and carry on. Inside this block it is kept
    instead, and raised where it can be: before :func:`rfmkit.write_files` replaces anything, or on
    leaving the block. Such a run keeps its old outputs, as if it had stopped at once.

    For entry points (the command line uses it): no rfmkit function installs a signal handler
    by itself. The previous handlers are restored on leaving; with ``exiting=True`` (the process
    exits right after the block) SIGINT and SIGTERM are ignored from then on instead, so that a
    signal while the interpreter shuts down cannot turn a finished run's exit code into a
    kill. Outside the main thread, or where SIGTERM does not exist, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "SIGTERM"):
        yield
        return
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _interrupt)}
    if signal.getsignal(signal.SIGINT) in (signal.default_int_handler, _interrupt):
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _interrupt)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_keep_lost_interrupt, previous_hook)
    _lost_interrupts.clear()
    try:
        yield
        stop_if_interrupted()
    finally:
        sys.unraisablehook = previous_hook
        _lost_interrupts.clear()
        if exiting:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted


# interrupts that finalizers swallowed, kept for the next point that can raise them
_lost_interrupts: list[KeyboardInterrupt] = []


def _keep_lost_interrupt(previous: Callable[[Any], None], unraisable: Any) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _lost_interrupts.append(unraisable.exc_value)
        return
    previous(unraisable)


def stop_if_interrupted() -> None:
    """Raise the interrupt a finalizer swallowed inside :func:`terminate_as_interrupt`, if any
    (in the main thread; elsewhere it waits for the main thread's next check)."""
    if _lost_interrupts and threading.current_thread() is threading.main_thread():
        _lost_interrupts.clear()
        raise Interrupted
