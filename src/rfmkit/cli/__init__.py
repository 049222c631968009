"""The rfmkit command line (console script ``rfmkit``)."""

from rfmkit.cli.app import main, run

__all__ = ["main", "run"]
