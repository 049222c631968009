"""The summary's sections, one module each: the part of the summary dict each section shows.

:func:`~rfmkit.report.summary.summarize` assembles them. Each function reads the fitted model
and the segmentation and returns plain JSON-able data; none computes metrics from transactions.
"""
