"""Named segments as data: rules, maps, their audit, loading and the built-in maps, assignment.

``rules.py`` (a segment rule and its matching), ``map.py`` (the SegmentMap), ``audit.py`` (its
coverage check), ``loading.py`` (map files and the built-in maps in ``builtin/``),
``assignment.py`` (customers to segments) and ``summary.py`` (the per-segment summary).
"""
