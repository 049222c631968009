"""Exceptions raised by rfmkit. Every message is one paragraph that says what to do."""

from __future__ import annotations


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


class ModelVersionWarning(RFMKitWarning):
    """A model file was saved by another rfmkit version."""


class SegmentOrderWarning(RFMKitWarning):
    """A segment map declares no value order; a history ranks its segments in rule order."""
