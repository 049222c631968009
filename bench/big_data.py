"""The 100M-row bench data, written in parts so that generating it fits in a few GB.

    python bench/big_data.py bench/out/transactions_100M      # 10 parts of 10M rows

Each part is rfmkit.demo.generate_transactions(10M, seed=part) with its customer ids prefixed
by the part number, so the parts hold different customers (about 5M in all) and the whole is
still seeded and reproducible. Engines read the folder as one input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rfmkit.demo import generate_transactions


def write_parts(folder: Path, parts: int = 10, rows_per_part: int = 10_000_000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(parts):
        path = folder / f"part-{part:02d}.parquet"
        if path.exists():
            continue
        table = generate_transactions(rows_per_part, seed=part)
        ids = table.column("customer_id")
        prefixed = pc.if_else(pc.is_null(ids), pa.nulls(len(ids), pa.string()),
                              pc.binary_join_element_wise(pa.scalar(f"{part}-"), ids, ""))
        table = table.set_column(table.schema.get_field_index("customer_id"), "customer_id",
                                 prefixed)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, row_group_size=1_000_000)
        tmp.replace(path)
        print(f"{path}: {table.num_rows:,} rows", flush=True)
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--parts", type=int, default=10)
    args = parser.parse_args()
    write_parts(args.folder, args.parts)
