"""The national benchmark's results as the Markdown tables of docs/benchmarks.md."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.national_scenarios import Figures
from bench.national_store import NationalStore
from bench.national_web import TARGET_PAGES

NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Run:
    """One store's figures."""

    db: str
    machine: str
    figures: Figures = field(default_factory=Figures)
    rows: dict[str, int] = field(default_factory=dict)
    size: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    version: str = ""
    archetypes: int = 0
    #: the 1-minute load average as each scenario started (the machine may be shared)
    loads: dict[str, float] = field(default_factory=dict)
    active: int = 0
    closed: int = 0

    def store(self, store: NationalStore, size: int, version: Any) -> None:
        self.rows, self.size, self.timings = dict(store.rows), size, dict(store.timings)
        self.archetypes, self.active, self.closed = (
            len(store.archetypes),
            len(store.active),
            store.closed,
        )
        if self.db == "postgresql" and version:
            self.version = ".".join(str(v) for v in version)
        print(
            f"  store: {self.active:,} active + {self.closed:,} closed copies of "
            f"{self.archetypes:,} exemplars, {sum(self.rows.values()):,} rows copied, "
            f"{size / 2**30:.1f} GiB; "
            + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items()),
            flush=True,
        )


# (label, service key, floor key, how the ratio is taken: "time", "rate" or "")
Row = tuple[str, tuple[str, str], tuple[str, str] | None, str]

SCENARIOS: list[tuple[str, str, list[Row]]] = [
    (
        "Nightly sweep",
        "`CaseService.fire_due_timers` (a transaction per 200 timers) and delivering what it "
        "produced (`Deliverer.deliver_many`, 200 rows at a time, mail written as files). "
        "Floor: the same SELECT of due timers, then per timer an UPDATE of the timer and the "
        "case and INSERTs of history, audit and one outbox row, 200 per transaction; for "
        "delivery, per 200 rows a SELECT with the case reference and the claim and finish "
        "UPDATEs (no rendering, no sending).",
        [
            ("timers due tonight", ("sweep", "timers due"), None, ""),
            (
                "fire the due timers",
                ("sweep", "fire due timers (service)"),
                ("sweep", "fire due timers (floor)"),
                "time",
            ),
            (
                "deliver their notifications",
                ("sweep", "deliver their notifications (service)"),
                ("sweep", "deliver their notifications (floor)"),
                "time",
            ),
        ],
    ),
    (
        "Meeting-day burst",
        "Meeting events (`hold_pre_meeting`, `hold_first_meeting`, `hold_follow_up`, with "
        "the inputs of the municipality's sample script) on distinct waiting cases all over "
        "the country, through `CaseService.trigger` by concurrent caseworkers (threads), as "
        "fast as they go. Floor: UPDATE + 4 INSERTs per transaction (case; history, audit, "
        "outbox, timer) on the same cases, the better of 1 connection and as many as the "
        "caseworkers.",
        [
            ("events", ("burst", "events"), None, ""),
            ("absorbed in (budget: 10 minutes)", ("burst", "absorbed in (budget 600 s)"), None, ""),
            (
                "transitions/s",
                ("burst", "service transitions/s"),
                ("burst", "floor transactions/s (UPDATE + 4 INSERTs)"),
                "rate",
            ),
            (
                "latency per trigger p50 / p95 / max",
                ("burst", "latency per trigger p50 / p95 / max"),
                None,
                "",
            ),
            ("errors", ("burst", "errors"), None, ""),
            (
                "refused by the definition (a guard)",
                ("burst", "refused by the definition"),
                None,
                "",
            ),
            (
                "deliver its notifications",
                ("burst", "deliver its notifications (service)"),
                ("burst", "deliver its notifications (floor)"),
                "time",
            ),
        ],
    ),
    (
        "Bulk intake",
        "`intake_rows` (the intake flow's work without Prefect): a CSV of referrals spread "
        "over the 98 municipalities by population, 1,000 per transaction, then delivering "
        "the referral notifications. Floor: the rows a referral writes (young person, case, "
        "history, timer, outbox, audit, idempotency key; copied from referred exemplars), "
        "pre-built, written with `executemany`, 1,000 referrals per transaction.",
        [
            (
                "referrals",
                ("intake", "referrals (service)"),
                ("intake", "referrals (floor)"),
                "time",
            ),
            (
                "deliver their notifications",
                ("intake", "deliver their notifications (service)"),
                ("intake", "deliver their notifications (floor)"),
                "time",
            ),
        ],
    ),
]

#: (page phase, its floor phase) and the first floors, measured beside for comparison.
PAGES = [(page, floor) for page, floor, _short, _first in TARGET_PAGES]
FIRST_FLOORS = [first for _page, _floor, _short, first in TARGET_PAGES]


def _ratio(run: Run, row: Row) -> str:
    _label, service, floor, kind = row
    numbers = run.figures.numbers
    if floor is None or service not in numbers or floor not in numbers or not numbers[service]:
        return ""
    ratio = (
        numbers[floor] / numbers[service] if kind == "time" else numbers[service] / numbers[floor]
    )
    return f"**{ratio:.0%}**" if ratio >= 0.1 else f"**{ratio:.1%}**"


def markdown(runs: list[Run], args: argparse.Namespace, seconds: float) -> str:
    lines = [
        f"## National scale (issue 6; `bench/national_bench.py`, {date.today().isoformat()})",
        "",
        f"Machine: {runs[0].machine if runs else ''}.",
    ]
    for run in runs:
        lines.append(
            f"{NAMES[run.db]}{' ' + run.version if run.version else ''}: "
            f"{run.active:,} active and {run.closed:,} closed cases over 98 municipalities "
            f"(copies of {run.archetypes:,} exemplars), {sum(run.rows.values()):,} rows, "
            f"{run.size / 2**30:.1f} GiB; set-up "
            + ", ".join(f"{k} {v:.0f} s" for k, v in run.timings.items())
            + ". Load average (1 min) as each scenario started: "
            + ", ".join(f"{k} {v:.1f}" for k, v in run.loads.items())
            + "."
        )
    lines += [f"Whole run: {seconds / 60:.0f} minutes. Ratios: service / floor, in speed.", ""]
    for title, text, rows in SCENARIOS:
        lines += [f"### {title}", "", text, ""]
        header = "| measure |"
        rule = "| --- |"
        for run in runs:
            name = NAMES[run.db]
            header += f" {name} | {name} floor | {name} service / floor |"
            rule += " --- | --- | --- |"
        lines += [header, rule]
        for row in rows:
            label, service, floor, _kind = row
            cells = f"| {label} |"
            for run in runs:
                values = run.figures.values
                cells += (
                    f" {values.get(service, '')} | {values.get(floor, '') if floor else ''} |"
                    f" {_ratio(run, row)} |"
                )
            lines.append(cells)
        lines.append("")
    lines += _pages(runs, args)
    lines += _prefect(runs, args)
    return "\n".join(lines) + "\n"


def _pages(runs: list[Run], args: argparse.Namespace) -> list[str]:
    if not any(("pages", "users") in run.figures.values for run in runs):
        return []
    lines = [
        "### Page latency, 20 concurrent users",
        "",
        f"The real app under uvicorn on 127.0.0.1, {args.web_workers} worker process(es) as "
        "`workflow web --workers` runs it; `bench/load.py` in another "
        "process: 20 caseworkers logged in through the login form, each requesting their own "
        f"pages with no think time, up to {args.page_requests:,} requests or "
        f"{args.page_seconds:.0f} s per kind; every response checked. Floors through the same "
        "server and load: `/healthz`, and raw-driver reads of the rows each page shows (the "
        "caseload: the person's cases by each standing, the 25 newest with next due timer and "
        "overdue flag, the count; the case page: the case's row and its 12 sets of rows), "
        "pipelined on PostgreSQL as the app's reads are, written out as a bare list. The first "
        "floors (the caseworker's cases only; 4 of the case page's 13 sets, one statement "
        "after another) are kept beside them for comparison with earlier runs.",
        "",
    ]
    for run in runs:
        values = run.figures.values
        lines += [f"{NAMES[run.db]}: {values.get(('pages', 'users'), '')}.", ""]
    header = "| page |" + "".join(f" {NAMES[r.db]} |" for r in runs)
    lines += [header, "| --- |" + " --- |" * len(runs)]
    names = ["floor: GET /healthz", *FIRST_FLOORS] + [
        n for pair in PAGES for n in (pair[1], pair[0])
    ]
    for name in names:
        lines.append(
            f"| {name} |" + "".join(f" {r.figures.values.get(('pages', name), '')} |" for r in runs)
        )
    for page, floor in PAGES:
        cells = f"| **{page}: p95 / floor p95** |"
        for run in runs:
            numbers = run.figures.numbers
            if ("pages", page) in numbers and numbers.get(("pages", floor)):
                cells += f" **{numbers[('pages', page)] / numbers[('pages', floor)]:.1f}×** |"
            else:
                cells += " |"
        lines.append(cells)
    return [*lines, ""]


def _prefect(runs: list[Run], args: argparse.Namespace) -> list[str]:
    run = next((r for r in runs if any(k[0] == "prefect" for k in r.figures.values)), None)
    if run is None:
        return []
    lines = [
        "### Prefect workers on a process work pool (PostgreSQL store and Prefect server)",
        "",
        f"`case-step` deployed to a process work pool; workers are `prefect worker start "
        f"--type process --limit {args.worker_limit}`; {args.prefect_steps} meeting steps per "
        "phase, each run in a fresh Python process; mail to an SMTP sink.",
        "",
        "| phase | figure |",
        "| --- | --- |",
    ]
    for (scenario, measure), shown in run.figures.values.items():
        if scenario == "prefect":
            lines.append(f"| {measure} | {shown} |")
    return [*lines, ""]
