"""Benchmark: what refusing hostile uploads costs (leads/upload_safety.py), against reading the same bytes.

    python bench/upload_safety.py [--megabytes 50]

Builds in memory an ordinary CSV of about --megabytes (contact rows), an XLSX of --xlsx-rows, the zip bomb and the million-delimiter
CSV of tests/security/test_hostile_uploads.py, then for each prints the best of three wall times of
`upload_check()`, the same for a plain chunked read of the bytes, or for a workbook of its first sheet inflated
(the floor: the check reads a CSV, or the sheet, once),
and the Python heap peak of one check (tracemalloc). A script that prints figures, not a test; results go to
docs/benchmarks.md ("## Upload checks").
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")

import django  # noqa: E402
import openpyxl  # noqa: E402

django.setup()

from leads.upload_safety import CHUNK_BYTES, UploadRefused, upload_check  # noqa: E402
from tests.security.test_hostile_uploads import HEADER, million_delimiters, zip_bomb  # noqa: E402


def best_of_three(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def check(data: bytes) -> str:
    try:
        upload_check(io.BytesIO(data))
    except UploadRefused:
        return "refused"
    return "passed"


def drain(stream: IO[bytes]) -> int:
    """Read a stream to its end in chunks, keeping nothing: the cost of touching every byte once."""
    total = 0
    while chunk := stream.read(CHUNK_BYTES):
        total += len(chunk)
    return total


def plain_read(data: bytes) -> None:
    """The floor: read the bytes once in chunks; for a workbook, inflate its first sheet once."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("xl/worksheets/sheet1.xml") as stream:
            drain(stream)
        return
    drain(io.BytesIO(data))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    args = parser.parse_args()
    rows = args.megabytes * 1_000_000 // 96
    ordinary = HEADER + b"".join(
        b"Ana,Costa %d,ana%d@example.com,+1 415 555 %04d,Acme Corporation Ltd,Booth 12 notes here\n"
        % (n, n, n % 10_000)
        for n in range(rows)
    )
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["First name", "Last name", "Email", "Phone", "Company", "Notes"])
    for n in range(args.xlsx_rows):
        sheet.append(["Ana", f"Costa {n}", f"ana{n}@example.com", f"+1 415 555 {n % 10_000:04d}", "Acme", "Booth 12"])
    packed = io.BytesIO()
    workbook.save(packed)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| file | MB | result | check ms | plain read ms | check / read | heap peak MB |")
    print("|---|---|---|---|---|---|---|")
    files = (
        ("ordinary CSV", ordinary),
        (f"ordinary XLSX ({args.xlsx_rows:,} rows)", packed.getvalue()),
        ("zip bomb (40 MB packed)", zip_bomb()),
        ("CSV, a million delimiters", million_delimiters()),
    )
    for name, data in files:
        result = check(data)
        checked, read = best_of_three(lambda data=data: check(data)), best_of_three(lambda data=data: plain_read(data))
        tracemalloc.start()
        check(data)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"| {name} | {len(data) / 1e6:.2f} | {result} | {checked * 1000:.1f} | {read * 1000:.1f} | "
            f"{checked / read if read else 0:.1f}x | {peak / 1048576:.1f} |"
        )


if __name__ == "__main__":
    main()
