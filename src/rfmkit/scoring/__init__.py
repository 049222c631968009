"""RFM scores: learn bin edges (or ranks) once, then score any customer table on the same scale.

Two scoring methods, both reproduced exactly (METHODS.md sections 3 and 4):

* ``"quantile"`` (Method Q): each metric is cut into ``n_bins`` bins at its linearly interpolated
  percentiles; ties can merge bins (warned, recorded in ``n_bins_``). Integer scores ``1..n``.
* ``"percentile"`` (Method P): score = average rank / largest average rank x 100. Float scores
  ``0..100``.

For both methods recency is negated before anything is learned, so that a higher score is always
better. That negation happens in exactly one place, :func:`rfmkit.scoring.inputs._oriented`.

``inputs.py`` (the metric columns read and oriented), ``caps.py`` (the ``caps`` parameter),
``bins.py`` (Method Q edges and bin scores), ``ranks.py`` (Method P ranks and percentile scores),
``scorer.py`` (the :class:`RFMScorer` estimator), ``state.py`` (rebuilding a scorer from its
saved state), ``levels.py`` (scores to integer levels) and ``codes.py`` (display codes).
"""
