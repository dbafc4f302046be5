"""The performance targets of issue 19 in one quick run (`make bench-quick`, under 10 minutes).

    .venv/bin/python -m bench.quick_bench [--output FILE]

Each part measures its target against its floor in the same run, on this machine:

- delivery: CPU per notification on the file channel and against an SMTP sink, SQLite
  and PostgreSQL (bench/delivery_bench.py), target at most 1 ms;
- the service layer against its store floor, the same statements replayed on the raw
  driver (bench/store_floor.py), target at least 50 %;
- bulk intake of 50,000 referrals on both stores (bench/runtime_bench.py), target under
  60 s;
- pages under 20 concurrent users without think time on a small national store
  (bench/national_web.py: 10,000 cases of 32 municipalities, every shipped definition
  among them): SQLite p95 under 200 ms, PostgreSQL p95 at most 3x the raw-query
  floor's.

``make bench`` runs the same measures at full size (the national store of 300,000
cases); the figures of both are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

Rows = list[tuple[str, str, str]]


def _parts(args: argparse.Namespace) -> list[tuple[str, Callable[[], Rows]]]:
    from bench import delivery_bench, national_web, runtime_bench, store_floor

    return [
        ("delivery", lambda: delivery_bench.run(rows=args.notifications, db="both")),
        ("service / store floor", lambda: store_floor.run("both", args.transitions)),
        ("bulk intake", lambda: runtime_bench.intake_rows_for(cases=args.referrals)),
        ("pages, SQLite", lambda: national_web.quick("sqlite", seconds=args.page_seconds)),
        ("pages, PostgreSQL", lambda: national_web.quick("postgresql", seconds=args.page_seconds)),
    ]


def machine() -> str:
    """The machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    model = Path("/proc/cpuinfo")
    if model.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in model.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f} at the start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--transitions", type=int, default=4000)
    parser.add_argument("--referrals", type=int, default=50_000)
    parser.add_argument("--page-seconds", type=float, default=15.0)
    parser.add_argument("--output", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args()
    lines = [f"Machine: {machine()}.", "", "| target | figure | met |", "| --- | --- | --- |"]
    start = time.perf_counter()
    for name, part in _parts(args):
        began = time.perf_counter()
        print(f"== {name}", flush=True)
        for target, figure, verdict in part():
            print(f"{target}: {figure} {verdict}", flush=True)
            lines.append(f"| {target} | {figure} | {verdict} |")
        print(f"   ({time.perf_counter() - began:.0f} s)", flush=True)
    lines += ["", f"Whole run: {(time.perf_counter() - start) / 60:.1f} minutes."]
    table = "\n".join(lines)
    print("\n" + table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
