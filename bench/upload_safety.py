"""Benchmark: what refusing hostile uploads costs (leads/upload_safety.py), against reading the same bytes.

    python bench/upload_safety.py [--megabytes 50]

Builds in memory an ordinary CSV of about --megabytes (contact rows), the zip bomb and the million-delimiter
CSV of tests/security/test_hostile_uploads.py, then for each prints the best of three wall times of
`upload_check()`, the same for a plain chunked read of the bytes (the floor: the check reads the CSV once),
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")

import django  # noqa: E402

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


def plain_read(data: bytes) -> None:
    stream = io.BytesIO(data)
    while stream.read(CHUNK_BYTES):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=50)
    rows = parser.parse_args().megabytes * 1_000_000 // 96
    ordinary = HEADER + b"".join(
        b"Ana,Costa %d,ana%d@example.com,+1 415 555 %04d,Acme Corporation Ltd,Booth 12 notes here\n"
        % (n, n, n % 10_000)
        for n in range(rows)
    )
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| file | MB | result | check ms | plain read ms | check / read | heap peak MB |")
    print("|---|---|---|---|---|---|---|")
    for name, data in (("ordinary CSV", ordinary), ("zip bomb (40 MB packed)", zip_bomb()),
                       ("CSV, a million delimiters", million_delimiters())):
        result = check(data)
        checked, read = best_of_three(lambda data=data: check(data)), best_of_three(lambda data=data: plain_read(data))
        tracemalloc.start()
        check(data)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {name} | {len(data) / 1e6:.2f} | {result} | {checked * 1000:.1f} | {read * 1000:.1f} | "
              f"{checked / read if read else 0:.1f}x | {peak / 1048576:.1f} |")


if __name__ == "__main__":
    main()
