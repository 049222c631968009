"""Input files for the reading tests (tests/test_input_checks.py, test_csv_encoding.py and
their command-line side in test_cli.py)."""

from __future__ import annotations

from pathlib import Path

# 20 customers, one with a non-ASCII city: the text of every encoding test
TEXT = "customer_id,order_date,amount,city\n" + "".join(
    f"C{i},2023-01-0{1 + i % 9},{i + 1},Zürich\n" for i in range(20))


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def long_ids_csv(path: Path) -> Path:
    """1,000 customers with 18-digit ids, three orders each; one row writes its id '....0'."""
    rows = []
    for i in range(1000):
        cid = str(123456789012340000 + i)
        for j in range(3):
            shown = cid + ".0" if (i == 5 and j == 0) else cid
            rows.append(f"{shown},O{i}-{j},2023-0{1 + j}-1{i % 9},{10 + i % 7}.5")
    return write_csv(path, "customer_id,order_id,order_date,amount", rows)


def week_csv(path: Path, extra: list[str] = ()) -> Path:
    """400 customers over a week of US-style dates, 01/01/2023 ... 01/07/2023."""
    rows = [f"C{i},01/0{1 + i % 7}/2023,{5 + i % 13}" for i in range(400)]
    return write_csv(path, "customer_id,order_date,amount", rows + list(extra))


def drift_csv(path: Path, what: str) -> Path:
    """120,000 rows; after row 110,000 the ids, amounts or dates (``what``: ids, amount, date,
    instants: ISO dates with a UTC offset) change shape."""
    rows = []
    for i in range(120_000):
        late = i >= 110_000
        cid = f"X{i % 5000}" if late and what == "ids" else str(i % 5000)
        amount = str(1 + i % 50)
        if late and what == "amount":
            amount = "12.5" if i % 2 else "n/a"
        day = f"2023-05-{1 + i % 28:02d}"
        if what == "instants":
            day += "T10:00:00Z" if late else " 10:00:00+02"
        if late and what in ("date", "instants"):
            day = (day if what == "instants" else f"{day} 10:00:00") if i % 2 else "garbage"
        rows.append(f"{cid},O{i},{day},{amount}")
    return write_csv(path, "customer_id,order_id,order_date,amount", rows)
