"""Exceptions raised by rfmkit. Every message is one paragraph that says what to do."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse


class RFMKitError(Exception):
    """Base class of every error rfmkit raises on purpose (bad input, bad options, bad model)."""


class InputError(RFMKitError, ValueError):
    """The input data cannot be used: missing file, unreadable, empty, bad values."""


class SchemaError(InputError):
    """A column is missing, ambiguous or of the wrong type."""


class ParameterError(RFMKitError, ValueError):
    """An option or estimator parameter has an invalid value."""


class SegmentMapError(RFMKitError, ValueError):
    """A segment map is malformed or does not fit the score range."""


class ModelFormatError(RFMKitError, ValueError):
    """A saved model file is invalid, of an unknown format version, or for another rfmkit."""


class EngineUnavailableError(RFMKitError, ImportError):
    """An engine's optional dependency is missing; the message has the install command."""


def _source_folder() -> tuple[Path, bool] | None:
    """(folder, editable) when rfmkit runs from a checkout rather than a package index: a
    ``pip install .`` / ``-e .`` (PEP 610's direct_url.json says so), or no install at all
    (the source on the path, next to its pyproject.toml)."""
    try:
        text = metadata.distribution("rfmkit").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        root = Path(__file__).resolve().parent.parent.parent
        return (root, True) if (root / "pyproject.toml").is_file() else None
    try:
        info = json.loads(text) if text else {}
    except ValueError:
        return None
    url = urlparse(str(info.get("url", "")))
    if "dir_info" not in info or url.scheme != "file":
        return None
    return Path(unquote(url.path)), bool(info["dir_info"].get("editable", False))


def install_hint(extra: str) -> str:
    """The command that adds an optional dependency to this rfmkit installation, e.g.
    ``pip install 'rfmkit[spark]'`` from a package index, ``pip install -e '.[spark]'`` in the
    checkout rfmkit was installed from (the folder's path when elsewhere)."""
    source = _source_folder()
    if source is None:
        return f"pip install 'rfmkit[{extra}]'"
    folder, editable = source
    try:
        here = folder.resolve() == Path.cwd().resolve()
    except OSError:
        here = False
    return f"pip install {'-e ' if editable else ''}'{'.' if here else folder}[{extra}]'"


class RFMKitWarning(UserWarning):
    """Base class of rfmkit's warnings."""


class CollapsedBinsWarning(RFMKitWarning):
    """Ties left fewer distinct score bins than requested; the realised number is recorded."""


class ConstantMetricWarning(CollapsedBinsWarning):
    """Every training customer has the same value of a metric: it cannot rank them, so every
    customer gets the middle score of that metric (not the lowest, which would call them the
    worst)."""


class SmallDataWarning(RFMKitWarning):
    """Fewer customers (or distinct points) than the bins or clusters asked for: the result is
    computed, with fewer distinct scores or clusters; the realised numbers are recorded."""


class AsOfWarning(RFMKitWarning):
    """The as-of date looks wrong: it rests on a few outlier purchase dates, or it lies far
    after the data (recency is measured from it)."""


class SpellingWarning(RFMKitWarning):
    """A parameter value was given in another accepted spelling (``score_method="quintile"``,
    ``preset="quantile"``); the message names the spelling used from now on."""


class ModelVersionWarning(RFMKitWarning):
    """A model file was saved by another rfmkit version."""


class SegmentOrderWarning(RFMKitWarning):
    """A segment map declares no value order; a history ranks its segments in rule order."""
