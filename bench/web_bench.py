"""Web benchmark: the caseload and case pages with N cases in the store.

    .venv/bin/python -m bench.web_bench [--cases 50000] [--requests 300]
        [--seconds-per-page 120] [--store sqlite|postgresql]
        [--database-url postgresql+psycopg://u:pw@host:port] [--profile]

A fresh store is filled through the service layer (bulk referral, 1,000 per
transaction, like ``bench/runtime_bench.py``) and spread over all shipped definitions.
One measured user, a Sorø caseworker, has a realistic caseload hidden among the N
cases: caseworker of ~150 (some started, some past the pre-meeting), coordinator or
team member of ~40 that went through ``accept_referral`` and ``hold_pre_meeting``, a
few of them with a plan written at ``hold_first_meeting``. A small share of the other
Sorø cases goes through the same steps with other staff, so the team and coordinator
tables are not just the user's rows.

The pages are rendered by the real ASGI app (``create_app``) through Starlette's
TestClient with the session cookie of a real login. Every response is checked (status
200, the expected references, counts and plan) so a broken page cannot look fast.
Figures: p50, p95 and max per page, and SQL statements per request. A page that is
far too slow is timed for at most ``--seconds-per-page`` (and at least 20 requests).
Sorø's staff get accounts too (330, without passwords), as the case page names them.

``--profile`` then runs every page again under cProfile, in one thread (the app is
driven through httpx's ASGI transport with the thread pool bypassed), and prints where
the time goes.

For PostgreSQL, ``--database-url`` is a *server* URL without a database name: a fresh
database is created on it. Without it a throwaway cluster is started (as in
``runtime_bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import platform
import pstats
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from starlette.testclient import TestClient

from workflow.cases.model import Referral, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings
from workflow.store import driver
from workflow.store.tables import AuditEntry, Case, CoordinatorAssignment, TeamMembership
from workflow.texts import text
from workflow.web.app import create_app
from workflow.web.identity import SESSION_COOKIE

TARGET_MS = 100.0
PAGE_SIZE = 25  # workflow.web.pages.PAGE_SIZE
USER = "cw-bench-mette"
USERNAME = "mette"
PASSWORD = "bench-password-123"
SOROE = "soroe"
DEFINITIONS = ("soroe", "ballerup", "horsens", "koebenhavn", "roskilde", "silkeborg", "skanderborg")
OTHER_STAFF = 400
BATCH = 1000

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # first referral (a Monday)
STEPS_AT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # accept + pre-meetings (a Tuesday)
FIRST_MEETING = "2026-03-17T09:00"  # Tuesday, a Sorø meeting day
FIRST_MEETING_HELD = datetime(2026, 3, 17, 11, 0, tzinfo=UTC)
NEXT_MEETING = "2026-04-28T09:00"  # Tuesday
MEASURED_AT = datetime(2026, 3, 18, 9, 0, tzinfo=UTC)  # the day after the first meetings

PLAN = [
    {
        "text": "Jeg skal møde op i skole 3 dage om ugen",
        "department": "skole",
        "theme": "uddannelse",
    },
    {"text": "Jeg vil prøve en fritidsaktivitet i klubben", "department": "uu", "theme": "fritid"},
    {
        "text": "Jeg skal have hjælp til at stå op om morgenen",
        "department": "born_familie",
        "theme": "uddannelse",
    },
]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Caseload:
    """What the set-up gave the measured user (to check the pages against)."""

    caseworker_of: list[str] = field(default_factory=list)
    coordinator_of: list[str] = field(default_factory=list)
    team_member_of: list[str] = field(default_factory=list)
    with_plan: list[str] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)
    team_of: dict[str, list[str]] = field(default_factory=dict)

    @property
    def references(self) -> set[str]:
        return set(self.caseworker_of) | set(self.coordinator_of) | set(self.team_member_of)

    def in_stage(self, stage: str) -> int:
        return sum(1 for r in self.references if self.stages[r] == stage)


# --- set-up through the service layer -------------------------------------------------

#: Sorø's staff accounts besides the user (SSO accounts, no password): the case page
#: shows their names instead of staff ids.
STAFF = [
    *(f"tovholder-{k}" for k in range(30)),
    *(f"vejleder-{k}" for k in range(80)),
    *(f"raadgiver-{k}" for k in range(120)),
    *(f"cw-{k}" for k in range(100)),
]
NAMES = {USER: "Mette Bench"} | {p: p.replace("-", " ").title() for p in STAFF}


def create_staff(runtime: Runtime) -> str:
    """The user's account and Sorø's other staff; the session token of the user's login."""
    runtime.accounts.create(
        USERNAME,
        PASSWORD,
        display_name=NAMES[USER],
        person_id=USER,
        roles=["caseworker"],
        municipality_code="340",
    )
    for person in STAFF:
        runtime.accounts.create(
            person,
            None,
            display_name=NAMES[person],
            person_id=person,
            roles=["coordinator" if person.startswith("tovholder") else "caseworker"],
            municipality_code="340",
        )
    return runtime.accounts.login(USERNAME, PASSWORD).token


def _referral(i: int, definition: str, caseworker: str) -> Referral:
    born = date(2005 + i % 5, 1 + i % 12, 1 + i % 28)  # 16-21 years old in 2026
    return Referral(
        definition,
        # Serial numbers 4000-9999: their first digit says born in the 2000s (CPR's rule).
        YoungPersonDetails(f"Bench Person {i}", f"{born:%d%m%y}{4000 + i % 6000:04d}", born),
        Actor("caseworker", caseworker),
        {
            "source": ("school", "uu", "ssp", "jobcenter", "young_person")[i % 5],
            "caseworker": caseworker,
        },
    )


#: The departments the bench teams come from (see _team).
CONSENTED = ["skole", "uu", "born_familie", "ssp"]


def _team(i: int, *extra: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"department": "skole", "person": f"laerer-{i % 300}"},
        {"department": "uu", "person": f"vejleder-{i % 80}"},
        {"department": "born_familie", "person": f"raadgiver-{i % 120}"},
        *extra,
    ]


def _pre_meeting(team: list[dict[str, str]], coordinator: str) -> dict[str, Any]:
    return {
        "team": team,
        "coordinator": coordinator,
        "agenda": ["uddannelse", "fritid"],
        "first_meeting_at": FIRST_MEETING,
        "meeting_room": "raadhuset_storskaerm",
    }


def build_store(runtime: Runtime, clock: Clock, cases: int) -> Caseload:
    """N referrals (the user's ~150 spread evenly among them), then steps on some."""
    own = min(150, max(10, cases // 20))
    step = max(1, cases // own)
    mine = {step // 2 + k * step for k in range(own)}
    batches = -(-cases // BATCH)
    spread = (STEPS_AT - timedelta(days=1) - START) / max(1, batches)
    load = Caseload()
    soroe_others: list[tuple[int, str, str]] = []  # (index, reference, caseworker)
    for b in range(batches):
        clock.now = START + b * spread
        indices = range(b * BATCH, min(cases, (b + 1) * BATCH))
        requests = [
            _referral(i, SOROE, USER)
            if i in mine
            else _referral(i, DEFINITIONS[i % len(DEFINITIONS)], f"cw-{i % OTHER_STAFF}")
            for i in indices
        ]
        results = runtime.service.refer_many(requests)
        for i, request, result in zip(indices, requests, results, strict=True):
            if isinstance(result, Exception):
                raise result
            if i in mine:
                load.caseworker_of.append(result.reference)
                load.stages[result.reference] = "referred"
            elif request.definition_id == SOROE:
                soroe_others.append((i, result.reference, request.inputs["caseworker"]))
        if b % 10 == 9 or b == batches - 1:
            print(f"  referred {indices[-1] + 1:,} / {cases:,}", flush=True)

    clock.now = STEPS_AT
    service = runtime.service

    def start(reference: str, caseworker: str) -> None:
        service.trigger(
            reference,
            "accept_referral",
            {"young_person_agrees": True, "consent": True},
            Actor("caseworker", caseworker),
        )
        # The signed consent form covers every department a bench team is drawn from.
        runtime.consents.give(
            reference, Actor("caseworker", caseworker), ConsentRequest(CONSENTED, guardian=True)
        )

    def pre_meeting(
        reference: str, caseworker: str, team: list[dict[str, str]], coord: str
    ) -> None:
        service.trigger(
            reference,
            "hold_pre_meeting",
            _pre_meeting(team, coord),
            Actor("caseworker", caseworker),
        )

    # The user's own cases: a third started, a sixth past the pre-meeting.
    for k, reference in enumerate(load.caseworker_of):
        if k % 3 == 0:
            start(reference, USER)
            load.stages[reference] = "pre_meeting"
            if k % 6 == 0:
                pre_meeting(reference, USER, _team(k), f"tovholder-{k % 30}")
                load.stages[reference] = "awaiting_first_meeting"

    # ~40 other caseworkers' cases where the user is coordinator (25) or on the team (15),
    # and about 2% of the other Sorø cases with other staff only.
    chosen = soroe_others[:: max(1, len(soroe_others) // 40)][:40]
    chosen_refs = {r for _, r, _ in chosen}
    for k, (i, reference, caseworker) in enumerate(chosen):
        start(reference, caseworker)
        if k < 25:
            team = _team(i)
            pre_meeting(reference, caseworker, team, USER)
            load.coordinator_of.append(reference)
        else:
            team = _team(i, {"department": "ssp", "person": USER})
            pre_meeting(reference, caseworker, team, f"tovholder-{i % 30}")
            load.team_member_of.append(reference)
        load.stages[reference] = "awaiting_first_meeting"
        load.team_of[reference] = [m["person"] for m in team]
    others = [o for o in soroe_others if o[1] not in chosen_refs]
    others = others[:: max(1, len(others) // (cases // 50))][: cases // 50]
    for i, reference, caseworker in others:
        start(reference, caseworker)
        pre_meeting(reference, caseworker, _team(i), f"tovholder-{i % 30}")
    print(f"  steps taken on {len(chosen)} + {len(others):,} other staff's cases", flush=True)

    # The first meeting of 10 of the user's coordinator cases: a plan, tasks, a next meeting.
    clock.now = FIRST_MEETING_HELD
    for reference in load.coordinator_of[:10]:
        service.trigger(
            reference,
            "hold_first_meeting",
            {"plan": PLAN, "next_meeting_at": NEXT_MEETING},
            Actor("coordinator", USER),
        )
        load.with_plan.append(reference)
        load.stages[reference] = "follow_up"
    clock.now = MEASURED_AT
    return load


# --- measuring ------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    urls: list[str]
    check: Callable[[str, str], None]  # (url, html) -> raises AssertionError


@dataclass
class Figures:
    name: str
    times_ms: list[float]
    statements: float

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.times_ms, n=100, method="inclusive")[q - 1]


ROW = re.compile(r'<th scope="row"><a href="/cases/([A-Z]+-\d{4}-\d+)">')


def _rows(html: str) -> list[str]:
    return ROW.findall(html)


def _count_line(shown: int, total: int) -> str:
    return text("count_cases", "da", shown=shown, total=total)


def pages(load: Caseload, newest: list[str]) -> list[Page]:
    total = len(load.references)
    stage = "pre_meeting"
    in_stage = load.in_stage(stage)

    def caseload(url: str, html: str) -> None:
        rows = _rows(html)
        assert rows == newest[:PAGE_SIZE], (rows[:3], newest[:3])
        assert _count_line(len(rows), total) in html

    def by_stage(url: str, html: str) -> None:
        rows = _rows(html)
        assert len(rows) == min(PAGE_SIZE, in_stage) > 0
        assert all(load.stages[r] == stage for r in rows), rows
        assert _count_line(len(rows), in_stage) in html

    def overdue(url: str, html: str) -> None:
        rows = _rows(html)
        assert rows
        assert set(rows) <= load.references
        assert html.count('<tr class="overdue">') == len(rows)

    searched = newest[::7][:10]

    def search(url: str, html: str) -> None:
        reference = searched[int(url.rsplit("#", 1)[1])]
        rows = _rows(html)
        assert reference in rows, (reference, rows)
        assert set(rows) <= load.references, rows

    def case(url: str, html: str) -> None:
        reference = url.rsplit("/", 1)[1]
        assert f"<h1>{reference} " in html
        assert 'data-testid="plan"' in html
        assert PLAN[0]["text"] in html
        for person in load.team_of[reference]:
            assert NAMES.get(person, person) in html, person
        assert 'data-testid="next-meeting"' in html
        assert 'data-testid="coordinator">' + NAMES[USER] in html

    return [
        Page("caseload, no filter", ["/"], caseload),
        Page(f"caseload, stage={stage}", [f"/?stage={stage}"], by_stage),
        Page("caseload, overdue=1", ["/?overdue=1"], overdue),
        Page(
            "caseload, search by reference (q=)",
            # the fragment is never sent; it says which reference the search is for
            [f"/?q={r.rsplit('-', 1)[1]}#{k}" for k, r in enumerate(searched)],
            search,
        ),
        Page(
            "case page (team, plan, meetings, timers, tasks)",
            [f"/cases/{r}" for r in load.with_plan],
            case,
        ),
    ]


@contextmanager
def counting(runtime: Runtime) -> Iterator[list[int]]:
    """Counts the SQL statements sent to the store: SQLAlchemy's, and the prebuilt ones
    run on the driver's cursor (workflow.store.driver), which SQLAlchemy does not see."""
    counter = [0]

    def count(*_args: Any) -> None:
        counter[0] += 1

    execute = driver.DriverStatement.execute

    def counted(self: driver.DriverStatement, connection: Any, params: Any) -> Any:
        counter[0] += 1
        return execute(self, connection, params)

    event.listen(runtime.engine, "before_cursor_execute", count)
    driver.DriverStatement.execute = counted  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        driver.DriverStatement.execute = execute  # type: ignore[method-assign]
        event.remove(runtime.engine, "before_cursor_execute", count)


def measure(
    client: TestClient,
    runtime: Runtime,
    page: Page,
    requests: int,
    warmup: int,
    budget: float = float("inf"),
) -> Figures:
    """``requests`` timed requests (fewer if they take more than ``budget`` seconds)."""
    for k in range(warmup):
        url = page.urls[k % len(page.urls)]
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        page.check(url, response.text)
    times: list[float] = []
    started = time.perf_counter()
    with counting(runtime) as statements:
        for k in range(requests):
            if k >= 20 and time.perf_counter() - started > budget:
                break
            url = page.urls[k % len(page.urls)]
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            page.check(url, response.text)
    return Figures(page.name, times, statements[0] / len(times))


# --- profiling (one thread, so cProfile sees the handlers) -------------------------------


@contextmanager
def inline_threadpool() -> Iterator[None]:
    """Runs FastAPI's sync handlers and dependencies in the event loop's own thread."""
    import fastapi.dependencies.utils as dependency_utils
    import fastapi.routing as routing

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    saved = routing.run_in_threadpool, dependency_utils.run_in_threadpool
    routing.run_in_threadpool = inline  # type: ignore[assignment]
    dependency_utils.run_in_threadpool = inline  # type: ignore[assignment]
    try:
        yield
    finally:
        routing.run_in_threadpool, dependency_utils.run_in_threadpool = saved  # type: ignore[assignment]


@contextmanager
def statement_times(runtime: Runtime) -> Iterator[dict[str, list[Any]]]:
    """Time per SQL statement: {sql: [count, seconds, last parameters]}."""
    seen: dict[str, list[Any]] = {}

    def before(conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        entry = seen.setdefault(sql, [0, 0.0, None])
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        entry[2] = params

    event.listen(runtime.engine, "before_cursor_execute", before)
    event.listen(runtime.engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", before)
        event.remove(runtime.engine, "after_cursor_execute", after)


def query_plan(runtime: Runtime, sql: str, params: Any) -> str:
    if runtime.engine.dialect.name != "sqlite" or not sql.lstrip().upper().startswith("SELECT"):
        return ""
    raw = runtime.engine.raw_connection()
    try:
        rows = raw.cursor().execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    finally:
        raw.close()
    return "\n".join(f"      {'  ' * (row[1] > 0)}{row[-1]}" for row in rows)


def profile(app: Any, runtime: Runtime, token: str, page: Page, requests: int) -> str:
    import httpx

    async def run(profiler: cProfile.Profile) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies={SESSION_COOKIE: token}
        ) as client:
            for k in range(requests + 10):
                url = page.urls[k % len(page.urls)]
                if k == 10:
                    profiler.enable()
                response = await client.get(url)
                assert response.status_code == 200
                page.check(url, response.text)
            profiler.disable()

    profiler = cProfile.Profile()
    with inline_threadpool(), statement_times(runtime) as seen:
        asyncio.run(run(profiler))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(45)
    out.write("SQL statements by time (per request, warm-up included):\n")
    total = requests + 10
    for sql, (count, seconds, params) in sorted(seen.items(), key=lambda kv: -kv[1][1])[:6]:
        flat = " ".join(sql.split())
        out.write(
            f"  {seconds * 1000 / total:7.2f} ms  x{count / total:.0f}  "
            f"{flat[:400]}{'...' if len(flat) > 400 else ''}\n"
        )
        plan = query_plan(runtime, sql, params)
        if plan:
            out.write(f"{plan}\n")
    return out.getvalue()


# --- the run ----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}, {platform.machine()}), "
        f"CPython {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}"
    )


@contextmanager
def store_url(kind: str, database_url: str | None, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'web.db'}"
        return
    from tests.support.services import create_database, postgres_server

    if database_url:
        yield create_database(database_url)
        return
    with postgres_server() as server:
        yield create_database(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per page")
    parser.add_argument(
        "--seconds-per-page",
        type=float,
        default=120.0,
        help="stop timing a page after this long (at least 20 requests): a slow page "
        "should not hold the run up for half an hour",
    )
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server URL without a database name (a fresh database is created); "
        "default: a throwaway local cluster",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile every page afterwards")
    parser.add_argument("--profile-requests", type=int, default=100)
    args = parser.parse_args()
    if args.cases < 500:
        parser.error("--cases: give at least 500")
    print(f"machine: {machine()}", flush=True)

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp, clock = Path(tmp_dir), Clock()
        with store_url(args.store, args.database_url, tmp) as url:
            runtime = build_runtime(Settings(database_url=url, home=tmp / "var"), clock=clock)
            use_runtime(runtime)
            try:
                run(runtime, clock, args)
            finally:
                use_runtime(None)
                runtime.engine.dispose()


def run(runtime: Runtime, clock: Clock, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    load = build_store(runtime, clock, args.cases)
    token = create_staff(runtime)
    setup = time.perf_counter() - t0
    with runtime.sessions() as session:
        in_store = session.scalar(select(func.count()).select_from(Case)) or 0
        mine = load.references
        newest = [
            r
            for r in session.scalars(
                select(Case.reference)
                .where(Case.reference.in_(mine))
                .order_by(Case.opened_at.desc(), Case.id.desc())
            )
        ]
        teams = session.scalar(select(func.count()).select_from(TeamMembership)) or 0
        coordinators = session.scalar(select(func.count()).select_from(CoordinatorAssignment))
        audit_before = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    assert in_store == args.cases, in_store
    print(
        f"set-up: {setup:.1f} s; {in_store:,} cases, {teams:,} team memberships, "
        f"{coordinators:,} coordinators; the user's caseload: {len(mine)} cases "
        f"(caseworker {len(load.caseworker_of)}, coordinator {len(load.coordinator_of)}, "
        f"team member {len(load.team_member_of)}, with a plan {len(load.with_plan)})",
        flush=True,
    )

    app = create_app(runtime)
    results: list[Figures] = []
    measured = pages(load, newest)
    with TestClient(app) as client:
        client.cookies.set(SESSION_COOKIE, token)
        floor = Page(
            "floor: GET /healthz (client, middleware, session lookup)",
            ["/healthz"],
            lambda _u, html: None,
        )
        for page in [floor, *measured]:
            figures = measure(
                client, runtime, page, args.requests, args.warmup, args.seconds_per_page
            )
            results.append(figures)
            print(
                f"  {figures.name}: {len(figures.times_ms)} requests, "
                f"p50 {figures.quantile(50):.1f} ms, p95 {figures.quantile(95):.1f} ms, "
                f"max {max(figures.times_ms):.1f} ms, "
                f"{figures.statements:.1f} SQL statements/request",
                flush=True,
            )
    with runtime.sessions() as session:
        audited = (session.scalar(select(func.count()).select_from(AuditEntry)) or 0) - audit_before
    expected = sum(len(f.times_ms) + args.warmup for f in results[1:])
    assert audited == expected, (audited, expected)  # every page view and search is logged

    backend = (
        "SQLite (WAL, synchronous=NORMAL)"
        if args.store == "sqlite"
        else "PostgreSQL " + ".".join(map(str, runtime.engine.dialect.server_version_info or ()))
    )
    print()
    print(f"## Web pages (`bench/web_bench.py`, {date.today().isoformat()}, {in_store:,} cases)")
    print()
    print(f"Machine: {machine()}; store: {backend}.")
    print(
        f"Store: {in_store:,} cases over {len(DEFINITIONS)} definitions, {teams:,} team "
        f"memberships; the measured user's caseload: {len(mine)} cases (caseworker of "
        f"{len(load.caseworker_of)}, coordinator of {len(load.coordinator_of)}, team member of "
        f"{len(load.team_member_of)}). Set-up through the service layer: {setup:.0f} s. "
        f"Up to {args.requests} timed requests per page after {args.warmup} warm-up "
        f"(at most {args.seconds_per_page:.0f} s per page), through "
        f"Starlette's TestClient with a session cookie; every response checked."
    )
    print()
    print("| page | requests | p50 | p95 | max | SQL statements/request | target p95 < 100 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for figures in results:
        p95 = figures.quantile(95)
        verdict = (
            "" if figures.name.startswith("floor") else ("✓" if p95 < TARGET_MS else "**not met**")
        )
        print(
            f"| {figures.name} | {len(figures.times_ms)} | {figures.quantile(50):.1f} ms | "
            f"{p95:.1f} ms | "
            f"{max(figures.times_ms):.1f} ms | {figures.statements:.0f} | {verdict} |"
        )
    print(flush=True)

    if args.profile:
        for page in measured:
            print(f"\n### cProfile: {page.name} ({args.profile_requests} requests)\n", flush=True)
            print(profile(app, runtime, token, page, args.profile_requests), flush=True)


if __name__ == "__main__":
    main()
