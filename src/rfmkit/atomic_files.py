"""Files written all or nothing: a reader sees the old files or the new ones, never a mix.

Every file rfmkit writes (outputs of a run, model.json, report.html, demo data) goes through
:func:`write_files`: the writers fill a hidden staging folder beside the destination, and only
when every one of them has succeeded are the files renamed into place (a rename within one file
system is atomic). A symlink at a destination is replaced, not followed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

STAGING_PREFIX = ".rfmkit-"


class InBackground:
    """A writer that :func:`write_files` runs in a thread while it calls the others in order:
    for a large file whose writing leaves the GIL free (Parquet, through pyarrow)."""

    __slots__ = ("write",)

    def __init__(self, write: Callable[[Path], None]) -> None:
        self.write = write

    def __call__(self, path: Path) -> None:
        self.write(path)


def write_files(out_dir: str | os.PathLike, files: Mapping[str, Callable[[Path], None]]
                ) -> list[Path]:
    """Write all ``files`` (name -> writer of that path) into ``out_dir``: all appear, or none
    changes.

    Writers are called in order, but those wrapped in :class:`InBackground` run in a thread
    meanwhile; every writer has finished (or failed) before anything is renamed.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=STAGING_PREFIX))
    try:
        background = [name for name, write in files.items() if isinstance(write, InBackground)]
        if background:
            with ThreadPoolExecutor(1, thread_name_prefix="rfmkit-write") as pool:
                pending = [pool.submit(files[name], staging / name) for name in background]
                _write_in_order(files, staging, skip=background)
                for future in pending:
                    future.result()  # its error, if any
        else:
            _write_in_order(files, staging, skip=())
        written = []
        for name in files:
            os.replace(staging / name, out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_in_order(files: Mapping[str, Callable[[Path], None]], staging: Path,
                    skip: list[str] | tuple[()]) -> None:
    for name, write in files.items():
        if name not in skip:
            write(staging / name)


def write_file(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write one file atomically: ``write`` fills a staging path that then replaces ``path``."""
    path = Path(path)
    return write_files(path.parent, {path.name: write})[0]


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to ``path`` atomically."""
    return write_file(path, lambda p: p.write_text(text, encoding="utf-8"))
