"""A second process that draws some of the report's charts while this one draws the others.

Kept apart from :mod:`~rfmkit.report.charts` so that starting the worker does not load
matplotlib in this process: the command line starts it before the engine runs.
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor


def start_chart_worker() -> Executor:
    """Start a one-process pool that loads the plotting code now; pass it to
    :func:`~rfmkit.report.charts.render_charts` (or ``Report.html``) later.

    A fresh ("spawn") process, so it shares no threads or locks with this one (an engine's
    threads, for instance). Shut it down when done (``executor.shutdown()``).
    """
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_without_teardown)
    pool.submit(importlib.import_module, "rfmkit.report.charts")  # start loading now
    return pool


def _exit_without_teardown() -> None:
    """In the worker: end at once when the pool shuts it down. Its results are sent by then;
    tearing down its interpreter (matplotlib and all) would only keep the parent waiting."""
    atexit.register(os._exit, 0)
