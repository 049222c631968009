"""rfmkit: RFM customer segmentation from raw transactions."""

from ._version import __version__

__all__ = ["__version__"]
