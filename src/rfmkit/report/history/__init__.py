"""The history report (placeholder until the sections land)."""

from __future__ import annotations


def build_history_report(model, snapshots, transitions, movers, value_order) -> str:
    return "<!doctype html><html><head><meta charset='utf-8'><title>History</title></head><body></body></html>"
