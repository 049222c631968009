"""HTML template, stylesheet and script of the report (package data, inlined at render time)."""
