"""Benchmark: `rfmkit history` (12 monthly snapshots) against one `rfmkit score` run.

    python bench/history.py                 # 10M rows, 3 repeats
    python bench/history.py --rows 1000000 --repeats 5

A model is fitted once on the rows up to 2024-12-31 (the bench data runs 2024-01-01 to
2025-12-31); then, alternately, `rfmkit score --as-of 2025-12-31` (one snapshot) and
`rfmkit history --every month` (the 12 month ends of 2025) each run in their own process. We
report the median wall time and peak memory. Target (issue 14): history at most 3x score.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from segment import HERE, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None,
                        help="An existing bench file (default: bench/out/transactions_ROWS)")
    args = parser.parse_args()
    data = args.data or HERE / "out" / f"transactions_{args.rows}.parquet"
    if not data.exists():
        print(f"generating {args.rows:,} rows -> {data}", flush=True)
        from rfmkit.demo import write_transactions

        write_transactions(data, args.rows, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        fit = Path(tmp) / "fit"
        subprocess.run([sys.executable, "-m", "rfmkit", "segment", str(data), "--as-of",
                        "2024-12-31", "--out", str(fit), "--quiet"], check=True)
        model = str(fit / "model.json")
        runs = {
            "rfmkit score (1 date)": lambda out: [
                sys.executable, "-m", "rfmkit", "score", str(data), "-m", model, "--as-of",
                "2025-12-31", "--out", out, "--quiet"],
            "rfmkit history (12 month ends)": lambda out: [
                sys.executable, "-m", "rfmkit", "history", str(data), "-m", model, "--every",
                "month", "--out", out, "--quiet"],
        }
        results: dict[str, list[dict]] = {name: [] for name in runs}
        for i in range(args.repeats):
            for name, cmd in runs.items():
                with tempfile.TemporaryDirectory() as out:
                    r = measure(cmd(out))
                results[name].append(r)
                print(f"  run {i + 1} {name:32s} {r['wall']:6.2f} s  {r['peak_mb']:7.0f} MB",
                      flush=True)
    med = {n: (statistics.median(r["wall"] for r in rs),
               statistics.median(r["peak_mb"] for r in rs)) for n, rs in results.items()}
    print(f"\nmedians over {args.repeats} runs, {args.rows:,} rows")
    for name, (t, m) in med.items():
        print(f"{name:34s}{t:8.2f} s{m:9.0f} MB")
    ratio = med["rfmkit history (12 month ends)"][0] / med["rfmkit score (1 date)"][0]
    print(f"\nhistory / score: {ratio:.2f}x (target: at most 3x): "
          f"{'meets' if ratio <= 3 else 'MISSES'}")


if __name__ == "__main__":
    main()
