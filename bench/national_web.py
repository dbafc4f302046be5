"""Page latency under 20 concurrent users: the web app under uvicorn, load from another process.

The app (``create_app`` over the bench's runtime, against the national store) is served
by uvicorn on 127.0.0.1 in this process; ``bench.load`` runs in a second process and
drives 20 logged-in caseworkers, each requesting their own caseload and case pages
(closed loop, no think time). Floors, through the same server and load generator:
``/healthz`` (the app's trivial endpoint: middleware and session lookup), and two raw
routes added in front of the app for the bench only — the user's 25 newest cases with
their next due timer and the count (the caseload's data), and a case's row, history,
running timers and team (the case page's data), each read with the raw driver and
written out as a bare list.
"""

from __future__ import annotations

import html
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.national_floors import Raw
from bench.national_scenarios import Figures
from bench.national_store import NationalStore
from workflow.runtime import Runtime
from workflow.web.app import create_app

USERS = 20
PASSWORD = "bench-password-123"
CASELOAD_SQL = (
    "SELECT c.reference, c.stage, c.opened_at, (SELECT MIN(t.due_at) FROM timers t "
    "WHERE t.case_id = c.id AND t.state = 'running') FROM cases c WHERE c.caseworker = ? "
    "ORDER BY c.opened_at DESC, c.id DESC LIMIT 25"
)
COUNT_SQL = "SELECT COUNT(*) FROM cases WHERE caseworker = ?"
CASE_SQL = (
    "SELECT id, reference, stage, data, opened_at FROM cases WHERE reference = ?",
    "SELECT seq, event, to_stage, inputs, at FROM history_events WHERE case_id = ? ORDER BY seq",
    "SELECT timer, due_at FROM timers WHERE case_id = ? AND state = 'running'",
    "SELECT department, person FROM team_memberships WHERE case_id = ? AND until IS NULL",
)


class RawFloor:
    """The bench-only raw routes in front of the real app (see the module docstring)."""

    def __init__(self, app: ASGIApp, raw: Raw, connections: int = 8) -> None:
        self.app, self.raw = app, raw
        self.pool: queue.Queue[Any] = queue.Queue()
        for _ in range(connections):
            self.pool.put(raw.connect())

    def _query(self, path: str, query: dict[str, list[str]]) -> str:
        conn = self.pool.get()
        try:
            if path == "/bench-floor/caseload":
                person = query["person"][0]
                rows = conn.execute(self.raw.sql(CASELOAD_SQL), (person,)).fetchall()
                total = conn.execute(self.raw.sql(COUNT_SQL), (person,)).fetchone()[0]
                items = "".join(
                    f'<li><a href="/cases/{r[0]}">{r[0]}</a> {r[1]} {r[2]} {r[3]}</li>'
                    for r in rows
                )
                return f"<p>{total}</p><ul>{items}</ul>"
            reference = path.rsplit("/", 1)[1]
            case = conn.execute(self.raw.sql(CASE_SQL[0]), (reference,)).fetchone()
            parts = [html.escape(str(case))]
            for sql in CASE_SQL[1:]:
                parts += [html.escape(str(r)) for r in conn.execute(self.raw.sql(sql), (case[0],))]
            return "<ul>" + "".join(f"<li>{p}</li>" for p in parts) + "</ul>"
        finally:
            if self.raw.dialect == "postgresql":
                conn.rollback()  # end the read transaction
            self.pool.put(conn)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/bench-floor/"):
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope["query_string"].decode())
        body = (await anyio.to_thread.run_sync(self._query, scope["path"], query)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def users(runtime: Runtime, store: NationalStore) -> list[dict[str, Any]]:
    """Accounts for the busiest caseworker of each of the 20 largest municipalities."""
    largest = sorted(store.municipalities, key=lambda m: -m.population)[:USERS]
    cases_of: dict[str, list[str]] = {}
    for case in store.active:
        archetype = store.archetype_of(case)
        for old, kind in archetype.staff.items():
            if kind == "caseworker":
                cases_of.setdefault(case.staff[old], []).append(case.reference)
    chosen = []
    for k, m in enumerate(largest):
        mine = Counter(
            {p: n for p, n in store.caseworkers.items() if f"-{m.code}-" in p and p in cases_of}
        )
        person, _count = mine.most_common(1)[0]
        username = f"bench{k:02d}"
        runtime.accounts.create(
            username,
            PASSWORD,
            display_name=f"Bench Caseworker {k}",
            person_id=person,
            roles=["caseworker"],
            municipality_code=m.code,
        )
        refs = cases_of[person][:10]
        chosen.append(
            {
                "username": username,
                "password": PASSWORD,
                "person": person,
                "urls": {
                    "healthz": ["/healthz"],
                    "floor_caseload": [f"/bench-floor/caseload?person={person}"],
                    "floor_case": [f"/bench-floor/case/{r}" for r in refs],
                    "caseload": ["/", "/?stage=follow_up"],
                    "case": [f"/cases/{r}" for r in refs],
                },
            }
        )
    return chosen


def serve(app: ASGIApp, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web app did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    return server, thread


#: The targets of issue 19 (20 users, no think time): on SQLite a page's p95 under
#: 200 ms; on PostgreSQL at most 3x the p95 of its raw-query floor, in the same run.
SQLITE_P95_MS = 200.0
POSTGRESQL_RATIO = 3.0
#: (page phase, its floor phase, the page's short name)
TARGET_PAGES = [
    ("caseload page (no filter, stage=follow_up)", "floor: raw caseload query", "caseload page"),
    ("case page", "floor: raw case query", "case page"),
]


def targets(dialect: str, numbers: Mapping[tuple[str, str], float]) -> list[tuple[str, str, str]]:
    """The page targets as rows (target, figure, verdict) from a run's page figures
    (``Figures.numbers``: the p95 of each phase in ms)."""
    rows = []
    for page, floor, short in TARGET_PAGES:
        p95, floor_p95 = numbers.get(("pages", page)), numbers.get(("pages", floor))
        if p95 is None or not floor_p95:
            continue
        ratio = p95 / floor_p95
        if dialect == "sqlite":
            target = f"{short}, SQLite, 20 users: p95 < {SQLITE_P95_MS:.0f} ms"
            met = p95 < SQLITE_P95_MS
        else:
            target = f"{short}, PostgreSQL, 20 users: p95 <= {POSTGRESQL_RATIO:.0f}x floor p95"
            met = ratio <= POSTGRESQL_RATIO
        figure = f"p95 {p95:.0f} ms, floor p95 {floor_p95:.0f} ms, {ratio:.1f}x"
        rows.append((target, figure, "met" if met else "NOT met"))
    return rows


def quick(
    db: str = "sqlite",
    *,
    active: int = 2000,
    closed: int = 8000,
    seconds: float = 15.0,
    requests: int = 3000,
    database_url: str | None = None,
) -> list[tuple[str, str, str]]:
    """Build a small national store and measure only the pages (for bench/quick_bench.py):
    the rows of :func:`targets`, with the machine's load average noted in the figure."""
    import argparse

    from bench import national_bench

    args = argparse.Namespace(
        active=active,
        closed=closed,
        page_requests=requests,
        page_seconds=seconds,
        seed=6,
        tmp=None,
        only="pages",
        no_pages=False,
        no_prefect=True,
        burst=0,
        threads=1,
        intake=0,
        prefect_steps=0,
        worker_limit=1,
    )
    if db == "postgresql":
        with national_bench.pg_server(database_url) as server:
            run = national_bench.run_store(db, server, args)
    else:
        run = national_bench.run_store(db, None, args)
    load = run.loads.get("page latency")
    rows = targets(db, run.figures.numbers)
    return [(t, f + (f" (load average {load:.1f})" if load else ""), v) for t, f, v in rows]


PHASES = [
    ("floor: GET /healthz", "healthz"),
    ("floor: raw caseload query", "floor_caseload"),
    ("floor: raw case query", "floor_case"),
    ("caseload page (no filter, stage=follow_up)", "caseload"),
    ("case page", "case"),
]


def page_latency(
    runtime: Runtime,
    raw: Raw,
    store: NationalStore,
    tmp: Path,
    port: int,
    out: Figures,
    *,
    requests: int,
    seconds: float,
) -> None:
    chosen = users(runtime, store)
    plan = {
        "base_url": f"http://127.0.0.1:{port}",
        "users": chosen,
        "phases": [
            {"name": name, "kind": kind, "requests": requests, "seconds": seconds}
            for name, kind in PHASES
        ],
    }
    plan_path, result_path = tmp / "load-plan.json", tmp / "load-result.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    floor_app = RawFloor(create_app(runtime), raw)
    server, thread = serve(floor_app, port)
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.load",
                "--plan",
                str(plan_path),
                "--out",
                str(result_path),
            ],
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    out.put("pages", "load average", os.getloadavg()[0], f"{os.getloadavg()[0]:.1f} (after)")
    for phase in json.loads(result_path.read_text(encoding="utf-8")):
        errors = sum(phase["errors"].values())
        out.put(
            "pages",
            phase["name"],
            phase["p95_ms"],
            f"p50 {phase['p50_ms']:.0f} ms, p95 {phase['p95_ms']:.0f} ms, max "
            f"{phase['max_ms']:.0f} ms, {phase['per_second']:.0f} req/s "
            f"({phase['requests']:,} requests, {errors} errors)",
        )
    caseloads = [store.caseworkers[u["person"]] for u in chosen]
    out.put(
        "pages",
        "users",
        USERS,
        f"{USERS} caseworkers, {min(caseloads)}–{max(caseloads)} cases each (active and closed)",
    )
    dialect = runtime.engine.dialect.name
    for target, figure, verdict in targets(dialect, out.numbers):
        out.put("pages", f"target: {target}", 0, f"{figure}: {verdict}")
