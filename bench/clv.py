"""Benchmark: fitting the CLV models on 1M customers (target: under 10 s).

    python bench/clv.py                     # 1,000,000 customers, 3 repeats
    python bench/clv.py --customers 200000

Simulates BG/NBD purchase histories (on a day grid, as rfmkit's summaries are) and Gamma-Gamma
spends, then times the fits alone (the summary query is the engine's, timed by bench/segment.py)
and the per-customer predictions (P(alive), expected purchases, spend, CLV over 52 weeks).
Reports the median of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd


def simulate(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.25, 4.4, 0.8, 2.4
    T = rng.integers(26 * 7, 52 * 7, n) / 7.0  # first purchase 26..52 weeks before the end
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    clock, alive = np.zeros(n), np.ones(n, dtype=bool)
    while alive.any():
        clock[alive] += rng.exponential(1 / np.maximum(lam[alive], 1e-12))
        bought = alive & (clock <= T)
        x[bought] += 1
        t_x[bought] = np.floor(clock[bought] * 7) / 7  # purchases fall on days
        alive = bought & (rng.random(n) >= p)
    nu = rng.gamma(3.7, 1 / 15.4, n)
    m = np.where(x > 0, rng.gamma(6.25 * np.maximum(x, 1), 1 / (np.maximum(x, 1) * nu)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "monetary_value": m})


def main() -> None:
    from rfmkit.clv import bg_nbd, gamma_gamma
    from rfmkit.clv.value import customer_values

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = simulate(args.customers)
    repeat = data[data.frequency > 0]
    fits, predictions = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        bg = bg_nbd.fit(data.frequency, data.recency, data["T"])
        gg = gamma_gamma.fit(repeat.frequency, repeat.monetary_value)
        fits.append(time.perf_counter() - started)
        started = time.perf_counter()
        customer_values(data, tuple(bg.params.values()), tuple(gg.params.values()), horizon=52,
                        time_unit="week", discount_rate=0.1)
        predictions.append(time.perf_counter() - started)
    print(f"{args.customers:,} customers ({len(repeat):,} repeat buyers): fit median "
          f"{statistics.median(fits):.2f} s {[round(f, 2) for f in fits]}, predictions median "
          f"{statistics.median(predictions):.2f} s; bg_nbd {bg.params} gamma_gamma {gg.params}")


if __name__ == "__main__":
    main()
