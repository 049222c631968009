"""Benchmark: compute_rfm on Spark (local mode) against DuckDB, on generated transactions.

    python bench/engines.py                          # 1M rows x 3 runs, 10M rows x 1 run
    python bench/engines.py --rows 1000000 --repeats 5 --master 'local[*]'

Data: rfmkit.demo.write_transactions(path, n_rows, seed=0) as Parquet (kept in --data-dir, so a
second run reuses it). Both engines run in this process on the same file with the default metric
options; the wall time of compute_rfm is measured, from the file path to the sorted customer
table. The Spark session is started once, before the runs (its start-up time is printed apart),
so a Spark run is what a job on a running cluster would pay. DuckDB uses every core; Spark uses
--master (default local[2]). The two customer tables are checked to be the same.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def same_customers(a, b) -> None:
    assert len(a) == len(b), (len(a), len(b))
    assert (a["customer_id"].to_numpy() == b["customer_id"].to_numpy()).all()
    for col in ("recency", "frequency", "orders"):
        assert (a[col].to_numpy() == b[col].to_numpy()).all(), col
    for col in ("monetary", "revenue"):
        assert np.allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-9, atol=1e-9), col


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per engine for sizes up to 1M rows (median reported)")
    parser.add_argument("--repeats-large", type=int, default=1,
                        help="runs per engine for sizes above 1M rows")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                           "rfmkit-bench-data"))
    args = parser.parse_args(argv)

    from rfmkit.demo import write_transactions
    from rfmkit.engines.duckdb import DuckDBEngine
    from rfmkit.engines.spark import SparkEngine
    from rfmkit.metrics import compute_rfm

    warnings.simplefilter("ignore", FutureWarning)
    data = Path(args.data_dir)
    files = {}
    for n in args.rows:
        path = data / f"transactions_{n}.parquet"
        if not path.exists():
            seconds, _ = timed(lambda n=n, path=path: write_transactions(path, n, seed=0))
            print(f"generated {path} ({n:,} rows) in {seconds:.1f} s", flush=True)
        files[n] = path

    start, spark_engine = timed(lambda: SparkEngine(
        master=args.master, config={"spark.driver.memory": args.driver_memory}))
    print(f"Spark {spark_engine.spark.version} session ({args.master}, driver memory "
          f"{args.driver_memory}) started in {start:.1f} s", flush=True)
    rows = []
    try:
        for n, path in files.items():
            repeats = args.repeats if n <= 1_000_000 else args.repeats_large
            times = {"duckdb": [], "spark": []}
            results = {}
            for _ in range(repeats):
                for name in ("duckdb", "spark"):
                    engine = DuckDBEngine() if name == "duckdb" else spark_engine
                    seconds, result = timed(
                        lambda engine=engine, path=path: compute_rfm(path, engine=engine))
                    if name == "duckdb":
                        engine.close()
                    times[name].append(seconds)
                    results[name] = result
                    print(f"  {n:>11,} rows  {name:<6} {seconds:7.2f} s", flush=True)
            same_customers(results["spark"].customers, results["duckdb"].customers)
            duck, spark = (statistics.median(times[k]) for k in ("duckdb", "spark"))
            rows.append((n, repeats, len(results["duckdb"].customers), duck, spark))
    finally:
        spark_engine.close()

    print()
    print(f"{'rows':>12} {'runs':>4} {'customers':>10} {'DuckDB s':>9} {'Spark s':>9} "
          f"{'Spark/DuckDB':>12}")
    for n, repeats, customers, duck, spark in rows:
        print(f"{n:>12,} {repeats:>4} {customers:>10,} {duck:>9.2f} {spark:>9.2f} "
              f"{spark / duck:>12.1f}")
    print(f"(median of the runs; {os.cpu_count()} CPUs; Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
