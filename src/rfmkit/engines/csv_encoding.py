"""The text encoding of CSV files: detected from a byte-order mark or UTF-16's zero bytes, or
given (``encoding=``); named in every decoding error.

DuckDB's CSV reader decodes UTF-8, UTF-16 little-endian and Latin-1 itself (more needs an
extension that locked-down hosts cannot download). Any other encoding Python knows (UTF-16
big-endian, cp1252, Shift JIS, ...) is decoded by Python into a temporary UTF-8 copy.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import os
import shutil
import tempfile

from rfmkit.errors import InputError, ParameterError

# Python's codec name -> DuckDB's name, for the encodings DuckDB decodes itself
_NATIVE = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16-le": "utf-16",
           "iso8859-1": "latin-1", "latin-1": "latin-1"}
_CHUNK = 1 << 20


def _head(path: str, n: int = 4096) -> bytes:
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def detect_encoding(path: str) -> str:
    """The encoding of ``path`` as a Python codec name: a byte-order mark, else UTF-16 told by
    its zero bytes (ASCII text in UTF-16 has one in every pair), else UTF-8."""
    head = _head(path)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    pairs = len(head) // 2
    if pairs >= 8:
        even = sum(1 for i in range(0, 2 * pairs, 2) if head[i] == 0)
        odd = sum(1 for i in range(1, 2 * pairs, 2) if head[i] == 0)
        if odd > 0.6 * pairs and even == 0:
            return "utf-16-le"
        if even > 0.6 * pairs and odd == 0:
            return "utf-16-be"
    return "utf-8"


def codec_name(encoding: str) -> str:
    """``encoding`` as Python's codec name; an unknown name is a parameter error."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ParameterError(
            f"encoding={encoding!r} is not a known text encoding: name one Python knows, such "
            "as utf-8, latin-1, cp1252 or utf-16."
        ) from None
    if name == "utf-16":  # the byte-order mark decides; without one, little-endian
        return "utf-16-le"
    return name


def resolve(path: str, encoding: str | None) -> str:
    """The codec to read ``path`` with: the given one, else the detected one. A UTF-16 file
    whose byte-order mark says otherwise than the given UTF-16 variant follows its mark."""
    if encoding is None:
        return detect_encoding(path)
    name = codec_name(encoding)
    if name.startswith("utf-16"):
        detected = detect_encoding(path)
        if detected.startswith("utf-16"):
            return detected
    return name


def java_charset(path: str, encoding: str | None, *, local: bool) -> str | None:
    """The Java name of a CSV's encoding for Spark (given, else detected on a local file, else
    UTF-8), or None when Spark's line-by-line CSV reader cannot decode it (UTF-16, cp1252)."""
    if local:
        codec = resolve(path, encoding)
    else:
        codec = "utf-8" if encoding is None else codec_name(encoding)
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "iso8859-1": "ISO-8859-1",
            "ascii": "US-ASCII"}.get(codec)


def duckdb_name(codec: str) -> str | None:
    """DuckDB's name for ``codec``, or None when Python must decode it."""
    return _NATIVE.get(codec)


def transcode(path: str, codec: str, folder: str) -> str:
    """A UTF-8 copy of ``path`` in ``folder`` (decoded by Python); decoding errors name the
    byte."""
    opener = gzip.open if path.lower().endswith(".gz") else open
    name = os.path.basename(path)
    target = os.path.join(folder, name[:-3] if name.lower().endswith(".gz") else name)
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with opener(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as out:
        first = True
        while chunk := src.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise InputError(not_decodable(path, codec, offset + exc.start)) from None
            if first and text.startswith("\ufeff"):
                text = text[1:]
            first = False
            out.write(text)
            offset += len(chunk)
        try:
            out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError:
            raise InputError(not_decodable(path, codec, offset)) from None
    return target


def first_bad_byte(path: str, codec: str) -> int | None:
    """The offset of the first byte ``path`` cannot be decoded at with ``codec``, if any."""
    opener = gzip.open if path.lower().endswith(".gz") else open
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with opener(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset
    return None


def not_decodable(path: str, codec: str, offset: int | None) -> str:
    shown = {"utf-8-sig": "utf-8", "utf-16-le": "utf-16", "iso8859-1": "latin-1"}.get(codec,
                                                                                      codec)
    where = f" at byte {offset:,}" if offset is not None else ""
    other = "encoding='cp1252'" if shown == "latin-1" else "encoding='latin-1'"
    return (f"{path} is not valid {shown.upper()} text{where}. Pass the file's encoding, e.g. "
            f"{other} (Windows exports are often cp1252, older Unix ones latin-1).")


def _sweep_orphans() -> None:
    """Remove the copies of runs that were killed: their process (named in the folder) is gone."""
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), "rfmkit-csv-*-*")):
        pid = os.path.basename(folder).split("-")[2]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # it exists, under another user
        return True
    return True


class Transcoded:
    """UTF-8 copies of files Python decodes, removed with :meth:`close`."""

    def __init__(self) -> None:
        self._folder: str | None = None

    def copy(self, path: str, codec: str) -> str:
        if self._folder is None:
            _sweep_orphans()
            self._folder = tempfile.mkdtemp(prefix=f"rfmkit-csv-{os.getpid()}-")
        sub = tempfile.mkdtemp(dir=self._folder)  # same file names from several folders
        return transcode(path, codec, sub)

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
