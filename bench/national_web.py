"""Page latency under 20 concurrent users: the web app under uvicorn, load from another process.

The app (``create_app`` over the bench's runtime, against the national store) is served
on 127.0.0.1 as ``workflow web --workers N`` serves it in production: by uvicorn's
worker processes, one per core unless ``--web-workers`` says (bench/web_workers.py);
``bench.load`` runs in another process and drives 20 logged-in caseworkers, each
requesting their own caseload and case pages (closed loop, no think time). Floors,
through the same server and load generator: ``/healthz`` (the app's trivial endpoint:
middleware and session lookup), and two raw routes added in front of the app for the
bench only, each reading with the raw driver, one statement after another, the rows its
page shows and writing them out as a bare list: the caseload's (the person's cases by
each standing, the page of the 25 newest with their next due timer and whether one is
overdue, the count) and the case page's (the case's row and its 12 sets of rows:
history, team, coordinator, plans, goals, meetings, tasks, consents and their
departments, running timers, meeting figures, the young person). The first floors (the
caseworker's cases only; 4 of the case page's 13 sets) are measured beside them for
comparison with earlier runs.
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
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from bench import web_workers
from bench.national_floors import Raw
from bench.national_scenarios import Figures
from bench.national_store import NationalStore
from workflow.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent

USERS = 20
PASSWORD = "bench-password-123"
#: The caseload page's data, raw: the person's cases by each standing (coordinator, team
#: member whose department the young person consented to, caseworker), the page of the 25
#: newest with their next due timer and whether one is overdue, and the count.
RELATED_SQL = (
    "SELECT case_id, 'coordinator' FROM coordinators WHERE person = ? AND until IS NULL "
    "UNION ALL SELECT m.case_id, 'team_member' FROM team_memberships m WHERE m.person = ? "
    "AND m.until IS NULL AND EXISTS (SELECT 1 FROM consent_departments d WHERE "
    "d.case_id = m.case_id AND d.department = m.department AND d.withdrawn_at IS NULL) "
    "UNION ALL SELECT id, 'caseworker' FROM cases WHERE caseworker = ?"
)
_MINE = (
    "FROM cases c WHERE c.id IN (SELECT case_id FROM coordinators WHERE person = ? AND "
    "until IS NULL UNION ALL SELECT m.case_id FROM team_memberships m WHERE m.person = ? AND "
    "m.until IS NULL AND EXISTS (SELECT 1 FROM consent_departments d WHERE d.case_id = "
    "m.case_id AND d.department = m.department AND d.withdrawn_at IS NULL) UNION ALL "
    "SELECT id FROM cases WHERE caseworker = ?)"
)
CASELOAD_SQL = (
    "SELECT c.reference, c.municipality_code, c.stage, c.opened_at, c.closed_at, "
    "(SELECT MIN(t.due_at) FROM timers t WHERE t.case_id = c.id AND t.state = 'running'), "
    "EXISTS (SELECT 1 FROM timers t WHERE t.case_id = c.id AND t.state = 'running' AND "
    f"t.due_at <= ?) {_MINE}{{stage}} ORDER BY c.opened_at DESC, c.id DESC LIMIT 25"
)
COUNT_SQL = f"SELECT COUNT(*) {_MINE}{{stage}}"
STAGE_SQL = " AND c.stage = ?"
#: The case page's data, raw: the case's row, then every set of rows the page shows.
CASE_ROW_SQL = "SELECT id, young_person_id, * FROM cases WHERE reference = ?"
CASE_SETS_SQL = (
    "SELECT * FROM history_events WHERE case_id = ? ORDER BY seq",
    "SELECT * FROM team_memberships WHERE case_id = ? AND until IS NULL",
    "SELECT person FROM coordinators WHERE case_id = ? AND until IS NULL",
    "SELECT * FROM plans WHERE case_id = ? ORDER BY version DESC LIMIT 2",
    "SELECT * FROM plan_goals WHERE plan_id IN (SELECT id FROM plans WHERE case_id = ? "
    "ORDER BY version DESC LIMIT 2) ORDER BY plan_id, number",
    "SELECT * FROM meetings WHERE case_id = ? ORDER BY starts_at",
    "SELECT * FROM tasks WHERE case_id = ? ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 "
    "END, due_at",
    "SELECT * FROM consents WHERE case_id = ? ORDER BY id DESC",
    "SELECT * FROM consent_departments WHERE case_id = ? ORDER BY id",
    "SELECT * FROM timers WHERE case_id = ? AND state = 'running' ORDER BY due_at",
    "SELECT * FROM meeting_figures WHERE case_id = ? ORDER BY held_at, id",
)
PERSON_SQL = "SELECT * FROM young_persons WHERE id = ?"
#: The first floors (issue 6), kept beside for comparison: the caseworker's cases only,
#: and 4 of the 13 sets of rows the case page shows.
NARROW_CASELOAD_SQL = (
    "SELECT c.reference, c.stage, c.opened_at, (SELECT MIN(t.due_at) FROM timers t "
    "WHERE t.case_id = c.id AND t.state = 'running') FROM cases c WHERE c.caseworker = ? "
    "ORDER BY c.opened_at DESC, c.id DESC LIMIT 25"
)
NARROW_COUNT_SQL = "SELECT COUNT(*) FROM cases WHERE caseworker = ?"
NARROW_CASE_SQL = (
    "SELECT id, reference, stage, data, opened_at FROM cases WHERE reference = ?",
    "SELECT seq, event, to_stage, inputs, at FROM history_events WHERE case_id = ? ORDER BY seq",
    "SELECT timer, due_at FROM timers WHERE case_id = ? AND state = 'running'",
    "SELECT department, person FROM team_memberships WHERE case_id = ? AND until IS NULL",
)


class RawFloor:
    """The bench-only raw routes in front of the real app (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, raw: Raw, clock: Callable[[], datetime], connections: int = 8
    ) -> None:
        self.app, self.raw, self.clock = app, raw, clock
        self.pool: queue.Queue[Any] = queue.Queue()
        for _ in range(connections):
            self.pool.put(raw.connect())

    def _query(self, path: str, query: dict[str, list[str]]) -> str:
        conn = self.pool.get()
        try:
            return self._answer(conn, path, query)
        finally:
            if self.raw.dialect == "postgresql":
                conn.rollback()  # end the read transaction
            self.pool.put(conn)

    def _answer(self, conn: Any, path: str, query: dict[str, list[str]]) -> str:
        sql, when = self.raw.sql, self.raw.when
        if path == "/bench-floor/caseload":
            person = query["person"][0]
            stage = query.get("stage", [])
            mine = (person, person, person)
            where = STAGE_SQL if stage else ""
            related, rows, ((total,),) = self._read(
                conn,
                [
                    (RELATED_SQL, mine),
                    (CASELOAD_SQL.format(stage=where), (when(self.clock()), *mine, *stage)),
                    (COUNT_SQL.format(stage=where), (*mine, *stage)),
                ],
            )
            items = "".join(
                f'<li><a href="/cases/{r[0]}">{r[0]}</a> {html.escape(str(r[1:]))}</li>'
                for r in rows
            )
            return f"<p>{total} ({len(related)})</p><ul>{items}</ul>"
        if path == "/bench-floor/narrow-caseload":
            person = query["person"][0]
            rows = conn.execute(sql(NARROW_CASELOAD_SQL), (person,)).fetchall()
            total = conn.execute(sql(NARROW_COUNT_SQL), (person,)).fetchone()[0]
            items = "".join(
                f'<li><a href="/cases/{r[0]}">{r[0]}</a> {r[1]} {r[2]} {r[3]}</li>' for r in rows
            )
            return f"<p>{total}</p><ul>{items}</ul>"
        reference = path.rsplit("/", 1)[1]
        sets: tuple[str, ...]
        if path.startswith("/bench-floor/narrow-case/"):
            case = conn.execute(sql(NARROW_CASE_SQL[0]), (reference,)).fetchone()
            sets, person_sql = NARROW_CASE_SQL[1:], None
        else:
            case = conn.execute(sql(CASE_ROW_SQL), (reference,)).fetchone()
            sets, person_sql = CASE_SETS_SQL, PERSON_SQL
        reads = [(statement, (case[0],)) for statement in sets]
        if person_sql and case[1] is not None:
            reads.append((person_sql, (case[1],)))
        parts = [html.escape(str(case))]
        for rows in self._read(conn, reads):
            parts += [html.escape(str(r)) for r in rows]
        return "<ul>" + "".join(f"<li>{p}</li>" for p in parts) + "</ul>"

    def _read(self, conn: Any, reads: list[tuple[str, tuple[Any, ...]]]) -> list[list[Any]]:
        """The rows of each statement; on PostgreSQL sent together in one round trip
        (pipeline mode, as the app's own reads are)."""
        if self.raw.dialect == "sqlite":
            return [conn.execute(statement, values).fetchall() for statement, values in reads]
        with conn.pipeline():
            cursors = [conn.execute(self.raw.sql(s), values) for s, values in reads]
        return [cursor.fetchall() for cursor in cursors]

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
                    "floor_caseload": [
                        f"/bench-floor/caseload?person={person}",
                        f"/bench-floor/caseload?person={person}&stage=follow_up",
                    ],
                    "floor_case": [f"/bench-floor/case/{r}" for r in refs],
                    "narrow_caseload": [f"/bench-floor/narrow-caseload?person={person}"],
                    "narrow_case": [f"/bench-floor/narrow-case/{r}" for r in refs],
                    "caseload": ["/", "/?stage=follow_up"],
                    "case": [f"/cases/{r}" for r in refs],
                },
            }
        )
    return chosen


@contextmanager
def served(runtime: Runtime, raw: Raw, tmp: Path, port: int, workers: int) -> Iterator[None]:
    """The bench's app served on 127.0.0.1:port by ``workers`` processes, as ``workflow
    web --workers`` serves the real one (bench/web_workers.py), until the block ends."""
    ready = tmp / "web-ready"
    ready.write_text("", encoding="utf-8")
    settings = runtime.settings
    spec = {
        "database_url": settings.store_url,
        "home": str(settings.home),
        "definitions_dir": str(settings.definitions_dir),
        "now": runtime.uow.clock().isoformat(),
        "raw_dialect": raw.dialect,
        "raw_target": raw.target,
        "ready_file": str(ready),
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT), web_workers.SPEC: json.dumps(spec)}
    command = ["-m", "bench.web_workers", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen([sys.executable, *command], env=env)
    try:
        deadline = time.monotonic() + 120
        while len(ready.read_text(encoding="utf-8").split()) < workers or not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web app did not start on 127.0.0.1:{port}")
            time.sleep(0.1)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def serve(app: ASGIApp, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """``app`` served in a thread of this process (as ``workflow up`` serves the web app)."""
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


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


#: The targets of issue 19 (20 users, no think time): on SQLite a page's p95 under
#: 200 ms; on PostgreSQL at most 3x the p95 of its raw-query floor, in the same run.
SQLITE_P95_MS = 200.0
POSTGRESQL_RATIO = 3.0
#: (page phase, its floor phase, the page's short name, the first floor's phase)
TARGET_PAGES = [
    (
        "caseload page (no filter, stage=follow_up)",
        "floor: raw caseload query",
        "caseload page",
        "first floor: caseworker's cases only",
    ),
    (
        "case page",
        "floor: raw case query",
        "case page",
        "first floor: 4 of the case page's 13 sets",
    ),
]


def targets(dialect: str, numbers: Mapping[tuple[str, str], float]) -> list[tuple[str, str, str]]:
    """The page targets as rows (target, figure, verdict) from a run's page figures
    (``Figures.numbers``: the p95 of each phase in ms)."""
    rows = []
    for page, floor, short, first in TARGET_PAGES:
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
        if first_p95 := numbers.get(("pages", first)):
            figure += f" (first floor {first_p95:.0f} ms: {p95 / first_p95:.1f}x)"
        rows.append((target, figure, "met" if met else "NOT met"))
    return rows


#: The municipalities of bench-quick's page store: its exemplar cases (a dozen per
#: municipality, each played step by step through the service) were two thirds of the
#: page parts' time with all 98; a caseworker's pages read the same number of cases.
QUICK_MUNICIPALITIES = 32


def quick(
    db: str = "sqlite",
    *,
    active: int = 2000,
    closed: int = 8000,
    seconds: float = 15.0,
    requests: int = 3000,
    database_url: str | None = None,
    web_workers: int = os.cpu_count() or 1,
    municipalities: int | None = QUICK_MUNICIPALITIES,
) -> list[tuple[str, str, str]]:
    """Build a small national store and measure only the pages (for bench/quick_bench.py):
    the rows of :func:`targets`, with the machine's load average noted in the figure.

    ``municipalities``: how many municipalities' definitions the store's cases are of
    (every shipped definition among them; None: all 98, as ``make bench``)."""
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
        web_workers=web_workers,
        municipalities=municipalities,
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
    ("first floor: caseworker's cases only", "narrow_caseload"),
    ("first floor: 4 of the case page's 13 sets", "narrow_case"),
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
    workers: int = 1,
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
    with served(runtime, raw, tmp, port, workers):
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
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
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
    out.put("pages", "web processes", workers, f"{workers} (workflow web --workers {workers})")
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
