"""The outcome pages over the national store (issue 18): p95 under 500 ms on PostgreSQL.

    .venv/bin/python -m bench.outcomes_bench [--active 50000] [--closed 250000]
        [--requests 200] [--database-url postgresql+psycopg://user@host:port]
        [--output results.md]

The national store of ``bench.national_bench`` (98 municipalities, 300,000 cases copied
from exemplars played through the service layer — their outcome figures included, kept
by the steps and copied with them), on PostgreSQL. The web app under uvicorn on
127.0.0.1; a leader of the biggest municipality (København) logged in through the login
form requests, one after another, their outcome page (every figure of a calendar year),
its CSV, and the national comparison; each response is checked. Also timed: the service
call alone (counting and hiding, no HTML, no charts) and the raw counting queries. How it
stays fast: the figures are rows kept by every step (``case_figures``,
``meeting_figures``, ``deadline_figures``) counted with indexed aggregate queries
(municipality and date), not the history.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from tests.support.services import create_database, free_port

from bench.municipalities import write_definitions
from bench.national_bench import (
    ROOT,
    NullChannel,
    _vacuum,
    code_version,
    machine,
    pg_server,
    the_night,
)
from bench.national_clone import PostgresRaw
from bench.national_exemplars import Clock
from bench.national_store import build
from bench.national_web import serve
from workflow.engine.model import Actor
from workflow.runtime import build_runtime, use_runtime
from workflow.settings import Settings
from workflow.store.figure_reading import Window, count_figures
from workflow.store.tables import CaseFigures, MeetingFigures
from workflow.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench-kodeord-2026"
TARGET_MS = 500.0


def _quantiles(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return q[49] * 1000, q[94] * 1000, ordered[-1] * 1000


def _timed(call: Callable[[], object], times: int) -> list[float]:
    found = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        found.append(time.perf_counter() - started)
    return found


def _login(client: httpx.Client, username: str) -> None:
    token = CSRF.search(client.get("/login").text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert answer.status_code == 303, answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--active", type=int, default=50_000)
    parser.add_argument("--closed", type=int, default=250_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the store (big)")
    parser.add_argument("--database-url", help="PostgreSQL server URL without a database")
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    args = parser.parse_args()
    lines = [f"Machine: {machine()}; code: {code_version()}."]
    night = the_night()
    with (
        pg_server(args.database_url) as server,
        tempfile.TemporaryDirectory(prefix="outcomes-", dir=args.tmp) as tmp_dir,
    ):
        tmp = Path(tmp_dir)
        found = write_definitions(ROOT / "definitions", tmp / "definitions")
        clock = Clock(night)
        null = NullChannel()
        url = create_database(server)
        runtime = build_runtime(
            Settings(database_url=url, home=tmp / "var", definitions_dir=tmp / "definitions"),
            clock=clock,
            channels={"email": null, "file": null, "webhook": null},
        )
        use_runtime(runtime)
        started = time.perf_counter()
        print("building the national store", flush=True)
        loader = PostgresRaw(url)
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
        loader.close()
        _vacuum(url)
        built = time.perf_counter() - started
        clock.now = night + timedelta(hours=9)
        with runtime.sessions() as session:
            cases = session.scalar(select(func.count()).select_from(CaseFigures)) or 0
            meetings = session.scalar(select(func.count()).select_from(MeetingFigures)) or 0
            biggest, in_biggest = session.execute(
                select(CaseFigures.municipality_code, func.count())
                .group_by(CaseFigures.municipality_code)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
        year = night.year
        lines.append(
            f"Store: PostgreSQL {'.'.join(map(str, runtime.engine.dialect.server_version_info))}"
            f", {len(store.municipalities)} municipalities, {cases:,} cases with figures "
            f"({meetings:,} meetings held), built in {built:.0f} s; the biggest municipality "
            f"({biggest}) has {in_biggest:,} cases. Year shown: {year}."
        )
        runtime.accounts.create(
            "leder-bench",
            PASSWORD,
            display_name="Leder",
            person_id="leder-bench",
            roles=["leader"],
            municipality_code=biggest,
        )
        leader = Actor("leader", "leder-bench")
        runtime.outcomes.national_ttl = 0
        window = Window.of_year(year)

        def count_one() -> object:
            with runtime.sessions() as session:
                return count_figures(session, window, biggest)

        def count_all() -> object:
            with runtime.sessions() as session:
                return count_figures(session, window, None)

        rows: list[tuple[str, list[float]]] = [
            ("counting queries, one municipality", _timed(count_one, args.requests)),
            ("counting queries, every municipality", _timed(count_all, args.requests)),
            (
                "OutcomeService.municipality (count, hide, audit)",
                _timed(lambda: runtime.outcomes.municipality(leader, biggest, year), args.requests),
            ),
            (
                "OutcomeService.national (counted afresh)",
                _timed(lambda: runtime.outcomes.national(leader, year), args.requests),
            ),
        ]
        port = free_port()
        web, thread = serve(create_app(runtime), port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                _login(client, "leder-bench")
                for name, path, must, ttl in (
                    ("GET /outcomes (page, charts)", f"/outcomes?year={year}", "Resultater", 0),
                    ("GET /outcomes.csv", f"/outcomes.csv?year={year}", "section,code", 0),
                    (
                        "GET /outcomes/national, counted afresh every time",
                        f"/outcomes/national?year={year}",
                        "Landstal",
                        0,
                    ),
                    (
                        "GET /outcomes/national, counts kept 5 minutes (the default)",
                        f"/outcomes/national?year={year}",
                        "Landstal",
                        300,
                    ),
                ):
                    runtime.outcomes.national_ttl = ttl

                    def get(path: str = path, must: str = must) -> None:
                        answer = client.get(path)
                        assert answer.status_code == 200, answer.status_code
                        assert must in answer.text

                    get()  # warm
                    rows.append((name, _timed(get, args.requests)))
        finally:
            web.should_exit = True
            thread.join(timeout=30)
            use_runtime(None)
            runtime.engine.dispose()
    table = [
        "| measure | requests | p50 | p95 | max | p95 against 500 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, times in rows:
        p50, p95, high = _quantiles(times)
        table.append(
            f"| {name} | {len(times)} | {p50:.1f} ms | {p95:.1f} ms | {high:.1f} ms "
            f"| {p95 / TARGET_MS:.2f}x |"
        )
    text = "\n".join([*lines, "", *table]) + "\n"
    print("\n" + text, flush=True)
    if args.output:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
