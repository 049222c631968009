"""Output files and destinations of a segmentation (rfmkit.export.outputs)."""

from __future__ import annotations

import pytest

from rfmkit.errors import ParameterError
from rfmkit.export.outputs import write_destination


def test_unknown_destination():
    with pytest.raises(ParameterError, match="duckdb:PATH"):
        write_destination("s3://bucket", None)
