"""Benchmark: `rfmkit segment` on generated transactions, against baselines from the same run.

    python bench/segment.py                 # 10M rows, 3 repeats
    python bench/segment.py --rows 1000000 --repeats 5

Each command runs in its own process; we report the median wall time and the peak resident
memory (max RSS) of that process. Baselines, measured on the same file in the same run:
  duckdb-floor  one DuckDB GROUP BY over the file (customer, last date, distinct orders, spend):
                the least any engine-based RFM needs to do;
  pandas        read the file into pandas and group by customer: what a notebook would do.
Targets (issue 2): `rfmkit segment` on 10M rows under 15 s with peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

DUCKDB_FLOOR = """
import duckdb, sys
duckdb.sql(f"SELECT customer_id, max(invoice_date), count(DISTINCT invoice), "
           f"sum(quantity * unit_price) FROM read_parquet('{sys.argv[1]}') "
           f"WHERE customer_id IS NOT NULL AND quantity > 0 GROUP BY 1").fetchall()
"""

PANDAS = """
import pandas as pd, sys
df = pd.read_parquet(sys.argv[1])
df = df[df.customer_id.notna() & (df.quantity > 0)]
df["amount"] = df.quantity * df.unit_price
df.groupby("customer_id").agg(last=("invoice_date", "max"), orders=("invoice", "nunique"),
                              spend=("amount", "sum"))
"""

MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "wall": wall, "peak_mb": peak_kb / 1024}))
"""


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()

    data = HERE / "out" / f"transactions_{args.rows}.parquet"
    if not data.exists():
        print(f"generating {args.rows:,} rows -> {data}", flush=True)
        from rfmkit.demo import write_transactions

        write_transactions(data, args.rows, seed=0)
    print(f"data: {data} ({data.stat().st_size / 1e6:.0f} MB), {os.cpu_count()} cores")

    runs = {
        "rfmkit segment": lambda out: [sys.executable, "-m", "rfmkit", "segment", str(data),
                                       "--out", out, "--quiet"],
        "rfmkit segment --clusters none": lambda out: [
            sys.executable, "-m", "rfmkit", "segment", str(data), "--out", out, "--quiet",
            "--clusters", "none"],
        "duckdb-floor": lambda out: [sys.executable, "-c", DUCKDB_FLOOR, str(data)],
    }
    if not args.skip_pandas:
        runs["pandas"] = lambda out: [sys.executable, "-c", PANDAS, str(data)]
    results: dict[str, list[dict]] = {name: [] for name in runs}
    for i in range(args.repeats):
        for name, cmd in runs.items():
            with tempfile.TemporaryDirectory() as tmp:
                r = measure(cmd(tmp))
            results[name].append(r)
            print(f"  run {i + 1} {name:32s} {r['wall']:6.2f} s  {r['peak_mb']:7.0f} MB",
                  flush=True)

    med = {n: (statistics.median(r["wall"] for r in rs),
               statistics.median(r["peak_mb"] for r in rs)) for n, rs in results.items()}
    floor_t, floor_m = med["duckdb-floor"]
    print(f"\nmedians over {args.repeats} runs, {args.rows:,} rows")
    print(f"{'':34s}{'time s':>8s}{'x floor':>9s}{'peak MB':>9s}{'x floor':>9s}")
    for name, (t, m) in med.items():
        print(f"{name:34s}{t:8.2f}{t / floor_t:9.2f}{m:9.0f}{m / floor_m:9.2f}")
    t, m = med["rfmkit segment"]
    if args.rows == 10_000_000:
        verdict = "meets" if (t < 15 and m < 2048) else "MISSES"
        print(f"\ntarget (10M rows: < 15 s, < 2048 MB): {verdict} ({t:.1f} s, {m:.0f} MB)")


if __name__ == "__main__":
    main()
