"""Files replaced as one set: a reader sees the old set or the new one, never a mix.

Every file rfmkit writes (the outputs of a run, model.json, report.html, demo data) goes through
:func:`write_files`. The guarantee, step by step:

1. The writers fill ``OUT/.rfmkit-XXXXXX/new/``; nothing in ``OUT`` changes until every one of
   them has succeeded (and its file is flushed to disk).
2. The commit runs under an exclusive lock on ``OUT`` (``flock``), so two runs into one folder
   commit one after the other. Each file of the set that exists (the new names, and the names
   in ``replaces`` that this run does not write) is hard-linked into ``.rfmkit-XXXXXX/old/``
   (copied where the file system has no hard links); then a database written ``together``
   prepares its transaction; then a journal naming the set is written and flushed.
3. Each new file is renamed over its name (one ``os.replace`` per file: atomic, so every name
   always holds a complete file, old or new, and a symlink there is replaced, not followed);
   each old name that this run does not write is removed.
4. The database commits: this is the commit point. Without a database, the last rename is.
5. The journal and the staging folder are removed.

A failure (or Ctrl-C) in steps 1-2 leaves ``OUT`` as it was. In steps 3-4 every name is put back
from ``old/`` (and the database rolls back), unless the database reports that it committed,
in which case the new set is completed. A process killed (kill -9, power cut aside) in the
few milliseconds of steps 3-5 leaves its journal: the next write into ``OUT`` (any rfmkit run,
or :func:`recover`) finishes or rolls back that set the same way, asking the database (through
``resolve``) whether it committed, before it does anything else. Only rfmkit's own names are
ever touched: the files of the set and ``.rfmkit-*`` folders.

Leftover ``.rfmkit-*`` folders of killed runs are removed by the next write into the folder. A
folder is a live run's while that run holds the ``flock`` on its ``owner.lock`` (the system
releases it when the process dies, however it dies); where ``flock`` does not exist (Windows),
a folder counts as left over a day after it was made.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from rfmkit.errors import ParameterError, RFMKitWarning
from rfmkit.interrupts import stop_if_interrupted

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

STAGING_PREFIX = ".rfmkit-"
_JOURNAL = "journal.json"
_OWNER = "owner.lock"
_STALE_SECONDS = 24 * 3600  # only where flock is missing

# Asked, for a journal's record, whether that run's database committed: True, False or None
# (cannot tell: the set is then rolled back, with a warning).
Resolve = Callable[[Mapping[str, Any]], "bool | None"]


class Together(Protocol):
    """A store written in the same unit as the files: a database transaction."""

    record: Mapping[str, Any]  # JSON, kept in the journal: what ``resolve`` needs to ask

    def prepare(self) -> None: ...  # write everything, commit nothing

    def commit(self) -> None: ...

    def rollback(self) -> None: ...  # never raises


class InBackground:
    """A writer that :func:`write_files` runs in a thread while it calls the others in order:
    for a large file whose writing leaves the GIL free (Parquet, through pyarrow)."""

    __slots__ = ("write",)

    def __init__(self, write: Callable[[Path], None]) -> None:
        self.write = write

    def __call__(self, path: Path) -> None:
        self.write(path)


def write_files(out_dir: str | os.PathLike, files: Mapping[str, Callable[[Path], None]], *,
                replaces: Sequence[str] = (), together: Together | None = None,
                resolve: Resolve | None = None) -> list[Path]:
    """Write all ``files`` (name -> writer of that path) into ``out_dir`` as one set: all
    appear, or none changes.

    ``replaces``: other names of the same set, removed when this call does not write them (an
    earlier run's file this run has no content for). ``together``: a database transaction
    that commits with the files (see the module's docstring); ``resolve`` tells, for a killed
    run's journal, whether its database committed. Writers are called in order, those wrapped
    in :class:`InBackground` in a thread meanwhile; all have finished before anything is
    renamed.
    """
    out = Path(out_dir)
    names = [*files, *(n for n in replaces if n not in files)]
    for name in names:
        if not name or Path(name).name != name or name.startswith(STAGING_PREFIX):
            raise ValueError(f"{name!r} is not a plain file name for write_files")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(out))
    out.mkdir(parents=True, exist_ok=True)
    for name in files:
        if (out / name).is_dir() and not (out / name).is_symlink():
            raise IsADirectoryError(errno.EISDIR, "is a folder where a file is to be written",
                                    str(out / name))
    with _folder_lock(out):
        _recover(out, resolve)
        staging = _Staging(out)
    try:
        _write_all(files, staging.new, out)
        stop_if_interrupted()  # last point before anything is replaced
        with _folder_lock(out):
            _recover(out, resolve, keep=staging.path)  # runs that died meanwhile
            _commit(out, staging, names, list(files), together, resolve)
        return [out / name for name in files]
    finally:
        staging.close()


def check_out_dir(out_dir: str | os.PathLike) -> None:
    """Fail now, before any work, if :func:`write_files` could not write into ``out_dir``: it
    (or its nearest existing parent) is a file, or a folder in which nothing can be created
    (permissions, a read-only file system). A folder is made and removed there to find out."""
    path = Path(out_dir)
    existing = next(p for p in (path, *path.absolute().parents) if p.exists() or p.is_symlink())
    if not existing.is_dir():
        where = "is" if existing == path else f"is inside {str(existing)!r}, which is"
        raise ParameterError(
            f"out_dir={str(path)!r} {where} an existing file, not a folder. Give a folder (it "
            "is created if missing); rfmkit writes several files into it.")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}probe-", dir=existing))
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        where = "" if existing == path else f": its folder {str(existing)!r} is not writable"
        raise ParameterError(
            f"out_dir={str(path)!r} cannot be written{where} ({reason}). Give a folder you "
            "can write to.") from None


def write_file(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write one file atomically: ``write`` fills a staging path that then replaces ``path``."""
    path = Path(path)
    return write_files(path.parent, {path.name: write})[0]


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to ``path`` atomically."""
    return write_file(path, lambda p: p.write_text(text, encoding="utf-8"))


def recover(out_dir: str | os.PathLike, resolve: Resolve | None = None) -> int:
    """Finish or roll back the sets that killed runs left half-replaced in ``out_dir``, and
    remove their staging folders (never a live run's); returns how many were removed.

    :func:`write_files` does this first; call it to repair a folder without writing to it.
    """
    out = Path(out_dir)
    if not out.is_dir():
        return 0
    with _folder_lock(out):
        return _recover(out, resolve)


def _recover(out: Path, resolve: Resolve | None, keep: Path | None = None) -> int:
    """:func:`recover`, the folder's lock held."""
    removed = 0
    for entry in sorted(out.iterdir()):
        if (not entry.name.startswith(STAGING_PREFIX) or entry == keep or entry.is_symlink()
                or not entry.is_dir() or _is_live(entry)):
            continue
        if (entry / _JOURNAL).exists():
            _finish(out, entry, resolve)
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


# --- the steps -------------------------------------------------------------------------------

class _Staging:
    """This run's staging folder, with the lock that marks it live."""

    def __init__(self, out: Path) -> None:
        self.path = Path(tempfile.mkdtemp(dir=out, prefix=STAGING_PREFIX))
        self.new, self.old = self.path / "new", self.path / "old"
        self.new.mkdir()
        self.old.mkdir()
        self.keep = False  # True when a journal is left for the next run to finish
        self._owner = os.open(self.path / _OWNER, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(self._owner, f"{os.getpid()}\n".encode())

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._owner)  # releases the lock


def _write_all(files: Mapping[str, Callable[[Path], None]], folder: Path, out: Path) -> None:
    background = [name for name, write in files.items() if isinstance(write, InBackground)]
    with _naming(out):
        if background:
            with ThreadPoolExecutor(1, thread_name_prefix="rfmkit-write") as pool:
                pending = [(name, pool.submit(files[name], folder / name))
                           for name in background]
                for name, write in files.items():
                    if name not in background:
                        _write_one(write, folder, name)
                for name, future in pending:
                    try:
                        future.result()  # its error, if any
                    except OSError as exc:
                        raise _Failed(name, exc) from exc
        else:
            for name, write in files.items():
                _write_one(write, folder, name)
    for name in files:
        path = folder / name
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(errno.ENOENT, "the writer of this file wrote nothing",
                                    str(path))
        _fsync(path)


class _Failed(Exception):
    def __init__(self, name: str, error: OSError) -> None:
        self.name, self.error = name, error


def _write_one(write: Callable[[Path], None], folder: Path, name: str) -> None:
    try:
        write(folder / name)
    except OSError as exc:
        raise _Failed(name, exc) from exc


@contextlib.contextmanager
def _naming(out: Path) -> Iterator[None]:
    """A writer's OSError (disk full, ...) names the output file, not the staging path."""
    try:
        yield
    except _Failed as failed:
        exc = failed.error
        if exc.errno is None:
            raise exc from None
        raise OSError(exc.errno, exc.strerror or str(exc), str(out / failed.name)) from None


def _commit(out: Path, staging: _Staging, names: list[str], new: list[str],
            together: Together | None, resolve: Resolve | None) -> None:
    present = [n for n in names if _is_file_entry(out / n)]
    for name in present:
        _backup(out / name, staging.old / name)
    if together is not None:
        together.prepare()
    try:
        journal = {"names": names, "new": new,
                   "record": dict(together.record) if together is not None else None}
        _write_journal(staging.path / _JOURNAL, journal)
        for name in new:
            os.replace(staging.new / name, out / name)
        for name in present:
            if name not in new:
                os.unlink(out / name)
        _fsync(out)
        if together is not None:
            together.commit()
    except BaseException:
        if together is not None:
            together.rollback()
        staging.keep = True  # if putting back fails too, the next run finishes the job
        if (staging.path / _JOURNAL).exists():
            _finish(out, staging.path, resolve)
        staging.keep = False
        raise
    with contextlib.suppress(OSError):  # committed: a journal left behind is finished later
        os.unlink(staging.path / _JOURNAL)


def _finish(out: Path, staging: Path, resolve: Resolve | None) -> None:
    """Complete the set of ``staging``'s journal if its database committed, else put the old
    files back; then drop the journal."""
    journal = json.loads((staging / _JOURNAL).read_text(encoding="utf-8"))
    new, old, record = journal["new"], staging / "old", journal.get("record")
    forward = False
    if record is not None:
        forward = resolve(record) if resolve is not None else None
        if forward is None:
            warnings.warn(
                f"Could not tell whether the database {record.get('target', '')} of an "
                f"interrupted rfmkit run committed; its files in {out} were rolled back to the "
                "earlier run's. Check that the tables match them.", RFMKitWarning, stacklevel=3)
    if forward:
        for name in new:
            if _exists(staging / "new" / name):
                os.replace(staging / "new" / name, out / name)
        for name in journal["names"]:
            if name not in new and _is_file_entry(out / name):
                os.unlink(out / name)
    else:
        for name in new:
            moved_in = not _exists(staging / "new" / name) and not _exists(old / name)
            if moved_in and _exists(out / name):
                os.unlink(out / name)
        for name in journal["names"]:
            if _exists(old / name):
                os.replace(old / name, out / name)
    _fsync(out)
    os.unlink(staging / _JOURNAL)


# --- file-system helpers ---------------------------------------------------------------------

@contextlib.contextmanager
def _folder_lock(out: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _is_live(staging: Path) -> bool:
    owner = staging / _OWNER
    if fcntl is None:
        try:
            return time.time() - staging.stat().st_mtime < _STALE_SECONDS
        except OSError:
            return False
    try:
        fd = os.open(owner, os.O_RDONLY)
    except OSError:
        return False  # made under the folder lock with its owner file: so no live run's
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _backup(path: Path, backup: Path) -> None:
    """A second name for the old file: a hard link (the file stays in place for readers)."""
    try:
        os.link(path, backup, follow_symlinks=False)
    except (OSError, NotImplementedError):  # no hard links here (FAT, some shares; Windows)
        if path.is_symlink():
            os.symlink(os.readlink(path), backup)
        else:
            shutil.copy2(path, backup)


def _write_journal(path: Path, journal: Mapping[str, Any]) -> None:
    part = path.with_suffix(".part")
    with open(part, "w", encoding="utf-8") as f:
        json.dump(journal, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    """Flush a file's data (or a folder's entries) to disk, where the system allows it."""
    if path.is_symlink():
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # e.g. folders on some systems
    finally:
        os.close(fd)


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _is_file_entry(path: Path) -> bool:
    """A file or symlink at ``path``; a real folder is never part of a set."""
    return path.is_symlink() or path.is_file()
