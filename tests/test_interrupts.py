"""Ctrl-C and SIGTERM as one clean stop (rfmkit.interrupts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rfmkit.atomic_files import write_files
from rfmkit.interrupts import Interrupted, terminate_as_interrupt


@pytest.fixture(autouse=True)
def python_default_sigint():
    """Each test starts from Python's own Ctrl-C handler, whatever an earlier test installed
    (PySpark installs one of its own when a SparkContext starts)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_terminate_as_interrupt_raises_keyboard_interrupt_and_restores_the_handler(sig):
    before = signal.getsignal(sig)
    with pytest.raises(Interrupted):
        with terminate_as_interrupt():
            os.kill(os.getpid(), sig)
            time.sleep(5)  # interrupted at once
    assert signal.getsignal(sig) is before



def test_an_ignored_sigint_stays_ignored_and_a_default_one_comes_back():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup
    try:
        with terminate_as_interrupt():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    with terminate_as_interrupt():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# a Ctrl-C that lands inside exec() of source text (what making a dataclass runs), caught
_EXEC_INTERRUPTED = """
import os, signal, sys
from rfmkit.interrupts import terminate_as_interrupt
guarded = sys.argv[1] == "guarded"
try:
    with (terminate_as_interrupt(exiting=True) if guarded else open(os.devnull)):
        exec("import os, signal\\nos.kill(os.getpid(), signal.SIG%s)\\nwhile True: pass")
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["INT", "TERM"])
def test_a_caught_interrupt_from_inside_exec_keeps_the_exit_code(tmp_path, sig):
    (tmp_path / "interrupted_in_exec.py").write_text(_EXEC_INTERRUPTED % sig)

    def run(mode):
        return subprocess.run([sys.executable, "-m", "interrupted_in_exec", mode], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    if sig == "INT":  # CPython's own handler: the process ends by SIGINT despite sys.exit(130)
        assert run("plain").returncode == -signal.SIGINT
    guarded = run("guarded")
    assert guarded.returncode == 130, guarded.stderr


def _lose_an_interrupt_in_a_finalizer():
    import weakref

    class Held:
        pass

    def finalizer(_ref):
        raise KeyboardInterrupt  # what a Ctrl-C inside a garbage-collection callback does

    held = Held()
    ref = weakref.ref(held, finalizer)
    del held  # the callback runs here; Python can only report its exception
    assert ref() is None


def test_an_interrupt_lost_in_a_finalizer_stops_the_block_without_a_report(capfd):
    hook_before = sys.unraisablehook
    with pytest.raises(KeyboardInterrupt):
        with terminate_as_interrupt():
            _lose_an_interrupt_in_a_finalizer()
    assert sys.unraisablehook is hook_before
    assert "Exception ignored" not in capfd.readouterr().err


def test_an_interrupt_lost_in_a_finalizer_keeps_the_old_outputs(tmp_path):
    (tmp_path / "a.csv").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with terminate_as_interrupt():
            def write(path):
                _lose_an_interrupt_in_a_finalizer()
                path.write_text("new")
            write_files(tmp_path, {"a.csv": write})
    assert (tmp_path / "a.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_other_unraisable_errors_still_reach_the_previous_hook():
    import weakref

    class Held:
        pass

    seen = []
    hook_before = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: seen.append(type(unraisable.exc_value))
    try:
        with terminate_as_interrupt():
            held = Held()
            ref = weakref.ref(held, lambda _ref: 1 / 0)
            del held
        assert ref() is None
    finally:
        sys.unraisablehook = hook_before
    assert seen == [ZeroDivisionError]


def test_terminate_as_interrupt_installs_nothing_outside_the_main_thread():
    import threading

    seen = []

    def worker():
        with terminate_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]
