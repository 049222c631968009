"""The segmentation report: one self-contained HTML file marketers open in a browser.

Built in three stages (STYLE.md rule 8): :func:`~rfmkit.report.summary.summarize` turns a fitted
model and a segmentation into a plain dict; :mod:`~rfmkit.report.charts` draws each chart from
that dict as inline SVG (and as a matplotlib Figure for notebooks); :mod:`~rfmkit.report.render`
fills the Jinja2 template. The report computes no metrics: it reads the fitted objects.

>>> report = build_report(model, model.result_)            # doctest: +SKIP
>>> report.write_html("results/report.html")               # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from rfmkit.atomic_files import write_file
from rfmkit.html_repr import report_html

# The summary (scikit-learn, scipy), matplotlib and Jinja2 are imported on first use, not with
# this package: `import rfmkit` pays for them only when a report is built or drawn.

__all__ = ["SECTIONS", "Report", "build_report"]


class Report:
    """A built report: its summary dict, its HTML, and a compact notebook view.

    Create it with :func:`build_report`. The HTML is rendered on first use and kept.

    Parameters
    ----------
    summary : dict
        The output of :func:`~rfmkit.report.summary.summarize`.
    """

    def __init__(self, summary: dict[str, Any]):
        self._summary = summary
        self._html: str | None = None

    @property
    def title(self) -> str:
        return self._summary["title"]

    @property
    def sections(self) -> list[str]:
        """Ids of the sections present (each is an ``<section id=...>`` of the HTML)."""
        return list(self._summary["sections"])

    def to_dict(self) -> dict[str, Any]:
        """The summary: plain JSON-able data (a copy), the same for the same input."""
        return copy.deepcopy(self._summary)

    def html(self) -> str:
        """The whole report as one self-contained HTML document (charts drawn on first use)."""
        if self._html is None:
            from rfmkit.report.render import render_html

            self._html = render_html(self._summary)
        return self._html

    def write_html(self, path: str | os.PathLike) -> Path:
        """Write the HTML to ``path`` atomically (:func:`rfmkit.atomic_files.write_file`).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        data = self.html().encode("utf-8")
        return write_file(path, lambda staging: staging.write_bytes(data))

    def figure(self, chart_id: str):
        """One chart as a matplotlib Figure, by id (see :data:`~rfmkit.report.charts.CHARTS`)."""
        from rfmkit.report.charts import CHARTS

        for spec in CHARTS:
            if spec.chart_id == chart_id:
                if not spec.applies(self._summary):
                    raise ValueError(f"This report has no {chart_id!r} chart.")
                return spec.plot(self._summary)
        known = ", ".join(spec.chart_id for spec in CHARTS)
        raise ValueError(f"Unknown chart {chart_id!r}; the charts are: {known}.")

    def _repr_html_(self) -> str:
        return report_html(self._summary)

    def __repr__(self) -> str:
        h = self._summary["headline"]
        return (f"<Report {self.title!r}: {h['customers']:,} customers, "
                f"sections {', '.join(self.sections)}>")


def build_report(model: Any, result: Any, *, title: str | None = None,
                 scatter_sample: int = 5000, projection: str = "pca",
                 random_state: int = 0, currency: str | None = None) -> Report:
    """Build the report of a fitted model's segmentation.

    Parameters
    ----------
    model : RFMModel
        A fitted model.
    result : Segmentation
        ``model.result_`` after fit, or the output of ``model.segment(X)``. When it carries
        previous assignments (``result.previous``), the report shows the transitions.
    title : str or None, default=None
        Title of the report; default "RFM segmentation report".
    scatter_sample : int, default=5000
        Customers drawn for the 2-D cluster map (the statistics always use all customers).
    projection : {"pca", "tsne"}, default="pca"
        Projection of the clustering features for the map; t-SNE runs on the sample.
    random_state : int, default=0
        Seed of the map's sample, jitter and t-SNE.
    currency : str or None, default=None
        The currency of the amounts: an ISO 4217 code (``"EUR"``, written ``€1,234.50``;
        codes without a common symbol as ``CHF 1,234.50``) or a symbol (``"€"``, ``"kr"``).
        None writes plain numbers.

    Returns
    -------
    Report
    """
    from rfmkit.report.summary import summarize

    return Report(summarize(model, result, title=title, scatter_sample=scatter_sample,
                            projection=projection, random_state=random_state,
                            currency=currency))


def __getattr__(name: str) -> Any:
    if name == "SECTIONS":
        from rfmkit.report.summary import SECTIONS

        return SECTIONS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
