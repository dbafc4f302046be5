"""National-scale benchmark (issue 6): 98 municipalities, 50,000 active and 250,000 closed cases.

    .venv/bin/python -m bench.national_bench [--db sqlite|postgresql|both]
        [--active 50000] [--closed 250000] [--burst 2000] [--threads 8]
        [--intake 10000] [--page-requests 3000] [--page-seconds 60]
        [--prefect-steps 20] [--worker-limit 1] [--no-prefect] [--no-pages] [--only pages]
        [--database-url postgresql+psycopg://user@host:port] [--output results.md]

On each store, in the order of a day: the nightly sweep, a meeting-day burst, page
latency under 20 concurrent users, bulk intake; on PostgreSQL also Prefect workers on a
process work pool (1 against 2, and the outbox under a race). Every scenario goes
through the real code paths and is set against a raw-driver floor measured in the same
run on the same store. The store is built by ``bench.national_store`` (exemplars through
the service layer, then copied row for row). Results are printed as the Markdown tables
of docs/benchmarks.md ("National scale").
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import subprocess
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.services import create_database, free_port, postgres_server

from bench import national_scenarios as scenarios
from bench.municipalities import write_definitions
from bench.national_clone import PostgresRaw, SqliteRaw
from bench.national_exemplars import Clock
from bench.national_floors import Raw
from bench.national_report import Run, markdown
from bench.national_store import build
from workflow.delivery.message import Address, OutgoingMessage
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings

ZONE = ZoneInfo("Europe/Copenhagen")
ROOT = Path(__file__).resolve().parent.parent


class NullChannel:
    """Set-up only: the exemplars' notifications are marked sent without going anywhere."""

    def send(self, message: OutgoingMessage, address: Address) -> None:
        return None


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"CPython {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def code_version() -> str:
    """The commit measured (and whether the working tree differed from it)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def the_night() -> datetime:
    """Last night's sweep (02:00 local, yesterday): every moment of the run is in the past."""
    yesterday = date.today() - timedelta(days=1)
    return datetime.combine(yesterday, clock_time(2, 0), tzinfo=ZONE)


def _size(runtime: Runtime, path: Path | None) -> int:
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with runtime.engine.connect() as conn:
        return int(
            conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0
        )


def run_store(db: str, pg_server: str | None, args: argparse.Namespace) -> Run:
    rng = random.Random(args.seed)
    night = the_night()
    with tempfile.TemporaryDirectory(prefix=f"national-{db}-", dir=args.tmp) as tmp_dir:
        tmp = Path(tmp_dir)
        definitions = tmp / "definitions"
        found = write_definitions(
            ROOT / "definitions", definitions, getattr(args, "municipalities", None)
        )
        clock = Clock(night)
        path = tmp / "national.db" if db == "sqlite" else None
        url = f"sqlite:///{path}" if path else create_database(pg_server or "")
        null = NullChannel()
        runtime = build_runtime(
            Settings(database_url=url, home=tmp / "var", definitions_dir=definitions),
            clock=clock,
            channels={"email": null, "file": null, "webhook": null},
        )
        use_runtime(runtime)
        run = Run(db, f"{machine()}; code: {code_version()}")
        try:
            print(f"[{db}] building the store", flush=True)
            loader = SqliteRaw(str(path)) if path else PostgresRaw(url)
            store = build(
                runtime,
                clock,
                loader,
                found,
                active=args.active,
                closed=args.closed,
                night=night,
                examples=ROOT / "definitions" / "examples",
                seed=args.seed,
            )
            if db == "postgresql":
                started = time.perf_counter()
                _vacuum(url)
                store.timings["vacuum analyze"] = time.perf_counter() - started
            run.store(store, _size(runtime, path), runtime.engine.dialect.server_version_info)
            raw = Raw("sqlite", str(path)) if path else Raw("postgresql", _libpq(url))
            scenarios.carry_out_for_real(runtime)

            def pages() -> None:
                from bench.national_web import page_latency

                print(f"[{db}] page latency", flush=True)
                run.loads["page latency"] = os.getloadavg()[0]
                clock.now = night + timedelta(hours=9)
                page_latency(
                    runtime,
                    raw,
                    store,
                    tmp,
                    free_port(),
                    run.figures,
                    requests=args.page_requests,
                    seconds=args.page_seconds,
                    workers=args.web_workers,
                )

            if args.only == "pages":
                pages()
                loader.close()
                return run
            print(f"[{db}] nightly sweep", flush=True)
            run.loads["nightly sweep"] = os.getloadavg()[0]
            scenarios.nightly_sweep(runtime, clock, raw, night, run.figures)
            print(f"[{db}] meeting-day burst", flush=True)
            run.loads["meeting-day burst"] = os.getloadavg()[0]
            scenarios.burst(
                runtime,
                clock,
                raw,
                store,
                night + timedelta(hours=7),
                run.figures,
                count=args.burst,
                threads=args.threads,
                rng=rng,
            )
            if not args.no_pages:
                pages()
            print(f"[{db}] bulk intake", flush=True)
            run.loads["bulk intake"] = os.getloadavg()[0]
            scenarios.intake(
                runtime,
                clock,
                raw,
                loader,
                store,
                night + timedelta(hours=11),
                tmp,
                run.figures,
                count=args.intake,
                rng=rng,
            )
            loader.close()
            if db == "postgresql" and not args.no_prefect:
                from bench.national_prefect import workers_scenario

                print(f"[{db}] Prefect workers", flush=True)
                run.loads["Prefect workers"] = os.getloadavg()[0]
                try:
                    workers_scenario(
                        runtime,
                        clock,
                        store,
                        pg_server or "",
                        tmp,
                        night + timedelta(minutes=1),
                        run.figures,
                        steps=args.prefect_steps,
                        limit=args.worker_limit,
                        rng=rng,
                    )
                except Exception as exc:  # the other figures of this store still count
                    traceback.print_exc()
                    run.figures.put("prefect", "failed", 0, f"{type(exc).__name__}: {exc}")
        finally:
            use_runtime(None)
            runtime.engine.dispose()
    return run


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _vacuum(url: str) -> None:
    """What autovacuum would have done to a store filled over years: fresh statistics."""
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


@contextmanager
def pg_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with postgres_server() as server:
        yield server


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--active", type=int, default=50_000)
    parser.add_argument("--closed", type=int, default=250_000)
    parser.add_argument("--burst", type=int, default=2000, help="meeting events in the burst")
    parser.add_argument("--threads", type=int, default=8, help="caseworkers acting at once")
    parser.add_argument("--intake", type=int, default=10_000, help="referrals in the bulk intake")
    parser.add_argument("--page-requests", type=int, default=3000, help="requests per page kind")
    parser.add_argument("--page-seconds", type=float, default=60.0, help="time limit per page kind")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes serving the pages (workflow web --workers; default: one per core)",
    )
    parser.add_argument("--prefect-steps", type=int, default=20, help="case steps per worker phase")
    parser.add_argument("--worker-limit", type=int, default=1, help="flow runs at once per worker")
    parser.add_argument("--no-prefect", action="store_true")
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument(
        "--only", choices=("pages",), help="build the store and run only this scenario"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the stores (big)")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server URL without a database name; default: a throwaway cluster",
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    args = parser.parse_args()
    print(f"machine: {machine()}; code: {code_version()}", flush=True)
    runs = []
    started = time.perf_counter()
    if args.db in ("sqlite", "both"):
        runs.append(run_store("sqlite", None, args))
        if args.output:  # what one store gave is kept if the other fails
            args.output.write_text(markdown(runs, args, time.perf_counter() - started))
    if args.db in ("postgresql", "both"):
        with pg_server(args.database_url) as server:
            runs.append(run_store("postgresql", server, args))
    text = markdown(runs, args, time.perf_counter() - started)
    print("\n" + text, flush=True)
    if args.output:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
