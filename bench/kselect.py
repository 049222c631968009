"""Benchmark: choosing k on 2,000,000 customers with continuous features (issue 3).

    python bench/kselect.py                        # 2M customers, k = 2..10, 3 repeats
    python bench/kselect.py --customers 500000 --k-max 14 --repeats 1

The customers have continuous, heavy-tailed recency/frequency/monetary values (nearly every row
distinct, so the weighted-distinct-points shortcut of score features does not apply). rfmkit
clusters them on log-metrics (log1p, standardised) and searches k with the full k table: inertia,
silhouette on a seeded sample, Calinski-Harabasz, Davies-Bouldin and bootstrap stability.

Baseline, measured in the same run on the same matrix: one scikit-learn KMeans fit per k
(one initialisation, all rows, no criteria), the least a plain k-search does. We print the
median wall time of each and the ratio. Target (issue 3): the k-search completes in under 60 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from rfmkit import RFMClusterer


def make_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """Continuous R/F/M with the usual shape: a few loyal heavy buyers, many lapsed one-offs."""
    rng = np.random.default_rng(seed)
    activity = rng.gamma(0.6, 1.0, n)  # latent purchase rate
    frequency = 1 + rng.poisson(activity * 4)
    recency = rng.exponential(400 / (1 + activity), n) + rng.uniform(0, 1, n)
    monetary = frequency * rng.lognormal(3.2, 0.9, n)
    return pd.DataFrame({
        "customer_id": np.arange(n).astype(str),
        "recency": np.round(recency, 3),
        "frequency": frequency.astype(float) + rng.uniform(0, 0.5, n),  # e.g. decayed counts
        "monetary": np.round(monetary, 2),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2_000_000)
    parser.add_argument("--k-min", type=int, default=2)
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    customers = make_customers(args.customers)
    distinct = len(customers[["recency", "frequency", "monetary"]].drop_duplicates())
    print(f"{args.customers:,} customers ({distinct:,} distinct R/F/M rows), "
          f"k = {args.k_min}..{args.k_max}, {os.cpu_count()} cores", flush=True)

    rfmkit_times, sklearn_times = [], []
    clusterer = None
    for i in range(args.repeats):
        t = time.perf_counter()
        clusterer = RFMClusterer(n_clusters="auto", features="log-metrics", k_min=args.k_min,
                                 k_max=args.k_max).fit(customers)
        rfmkit_times.append(time.perf_counter() - t)

        # baseline: the same feature matrix, plain KMeans per k
        X = _log_standardised(customers)
        t = time.perf_counter()
        for k in range(args.k_min, args.k_max + 1):
            KMeans(n_clusters=k, n_init=1, random_state=0).fit(X)
        sklearn_times.append(time.perf_counter() - t)
        print(f"  run {i + 1}: rfmkit k-search {rfmkit_times[-1]:6.1f} s   "
              f"KMeans per k {sklearn_times[-1]:6.1f} s", flush=True)

    table = clusterer.k_selection_
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nchosen k = {clusterer.n_clusters_}: {clusterer.selection_reason_}")
    t_rfm = statistics.median(rfmkit_times)
    t_base = statistics.median(sklearn_times)
    print(f"\nmedians over {args.repeats} runs")
    print(f"  rfmkit k-search (k table, sampled silhouette, stability)  {t_rfm:7.1f} s")
    print(f"  baseline: KMeans(n_init=1) per k, all rows                 {t_base:7.1f} s")
    print(f"  ratio rfmkit / baseline                                     {t_rfm / t_base:7.2f}")
    if args.customers == 2_000_000:
        verdict = "meets" if t_rfm < 60 else "MISSES"
        print(f"\ntarget (2M customers: < 60 s): {verdict} ({t_rfm:.1f} s)")


def _log_standardised(customers: pd.DataFrame) -> np.ndarray:
    raw = customers[["recency", "frequency", "monetary"]].to_numpy(float, copy=True)
    raw[:, 2] = np.clip(raw[:, 2], 0, None)
    logged = np.log1p(raw)
    return (logged - logged.mean(axis=0)) / logged.std(axis=0)


if __name__ == "__main__":
    main()
