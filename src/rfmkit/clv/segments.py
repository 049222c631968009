"""CLV per segment and per cluster: what each group is worth, and how sure the model is."""

from __future__ import annotations

import pandas as pd

from rfmkit.schema import CLUSTER, CLUSTER_NAME, SEGMENT


def group_values(customers: pd.DataFrame) -> pd.DataFrame:
    """One row per segment (and per cluster when ``customers`` has clusters): customers, mean
    P(alive), expected purchases, total and mean CLV, share of total CLV; with a holdout,
    actual purchases and spend beside the predicted ones."""
    groupings = [("segment", SEGMENT)] if SEGMENT in customers else []
    if CLUSTER in customers:
        groupings.append(("cluster", CLUSTER_NAME if CLUSTER_NAME in customers else CLUSTER))
    if not groupings:
        groupings = [("all", None)]
    total = float(customers["clv"].sum())
    frames = []
    for kind, column in groupings:
        keys = customers[column].astype(str) if column else pd.Series("all", customers.index)
        if kind == "cluster" and column == CLUSTER_NAME:
            keys = customers[CLUSTER].astype(str) + ": " + customers[CLUSTER_NAME].astype(str)
        grouped = customers.groupby(keys, sort=False)
        frame = pd.DataFrame({
            "customers": grouped.size(),
            "mean_p_alive": grouped["p_alive"].mean(),
            "expected_purchases": grouped["expected_purchases"].sum(),
            "total_clv": grouped["clv"].sum(),
            "mean_clv": grouped["clv"].mean(),
        })
        frame["clv_share"] = frame["total_clv"] / total if total else 0.0
        if "actual_purchases" in customers:
            frame["actual_purchases"] = grouped["actual_purchases"].sum()
            frame["actual_spend"] = grouped["actual_spend"].sum()
            frame["predicted_spend"] = (customers["expected_purchases"]
                                        * customers["expected_spend"]).groupby(keys).sum()
        frame.insert(0, "group", frame.index)
        frame.insert(0, "grouping", kind)
        frames.append(frame.sort_values("total_clv", ascending=False))
    return pd.concat(frames, ignore_index=True)
