"""The national store: 98 municipalities, N active and M closed cases.

1. every municipality's archetypes are played through the service layer
   (``national_exemplars``), then swept up to the night before the measured day;
2. each municipality gets its share of the active and closed cases (by population),
   spread over its archetypes by weight, as copies of the exemplars
   (``national_clone``) with their own references, staff, young person and dates:
   - a closed copy opened at a random day in the last five years (and closed then);
   - an active copy took its last step at a random day such that none of its timers
     was due before last night's sweep: one day's worth of timers is due tonight.
Staff: per municipality a pool of caseworkers (1 per ~35 active cases), coordinators
(1 per ~25) and team members (1 per ~12); closed cases are spread over three times as
many (staff who have since left), of which the current staff are the first third.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bench.municipalities import Municipality
from bench.national_clone import Copier, Copy, RawStore, plans, snapshot
from bench.national_exemplars import Archetype, Clock, archetypes, catch_up, play
from workflow.runtime import Runtime
from workflow.store.tables import CaseTimer, ReferenceCounter

ZONE = ZoneInfo("Europe/Copenhagen")
BATCH = 2000
CLOSED_YEARS = 5


@dataclass
class ActiveCase:
    """An active copy: what the scenarios need to act on it as its staff would."""

    reference: str
    case_id: int
    archetype: int  # index into NationalStore.archetypes
    staff: dict[str, str]  # exemplar staff id -> this case's


@dataclass
class NationalStore:
    """What the set-up built."""

    municipalities: list[Municipality]
    archetypes: list[Archetype]
    active: list[ActiveCase] = field(default_factory=list)
    closed: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: caseworker staff id -> number of cases (active and closed) they are caseworker of
    caseworkers: Counter[str] = field(default_factory=Counter)
    #: Active cases a scenario has taken a step on (the next scenario takes others).
    used: set[str] = field(default_factory=set)

    def archetype_of(self, case: ActiveCase) -> Archetype:
        return self.archetypes[case.archetype]


def shares(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split by weight, largest remainders first (the parts sum to ``total``)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [math.floor(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _first_due(runtime: Runtime, case_id: int) -> datetime | None:
    with runtime.sessions() as session:
        return session.scalar(
            select(func.min(CaseTimer.due_at)).where(
                CaseTimer.case_id == case_id, CaseTimer.state == "running"
            )
        )


def build(
    runtime: Runtime,
    clock: Clock,
    raw: RawStore,
    found: list[Municipality],
    *,
    active: int,
    closed: int,
    night: datetime,
    examples: Path,
    seed: int = 6,
    report: Any = print,
) -> NationalStore:
    """Fill the store; ``night`` is the measured nightly sweep's moment."""
    rng = random.Random(seed)
    store = NationalStore(found, [])
    for m in found:
        store.archetypes += archetypes(m, runtime.catalog.by_id(m.definition), examples)
    table_plans = plans(raw)

    def take(archetype: Archetype) -> None:
        archetype.case_id = int(
            raw.scalar(f"SELECT id FROM cases WHERE reference = '{archetype.reference}'")
        )
        archetype.rows = snapshot(raw, table_plans, archetype.case_id, archetype.reference)
        raw.commit()
        archetype.first_due = _first_due(runtime, archetype.case_id)

    t0 = time.perf_counter()
    play(runtime, clock, store.archetypes, take, report)
    fired, delivered = catch_up(runtime, clock, night - timedelta(days=1))
    store.timings["exemplars"] = time.perf_counter() - t0
    report(f"  exemplars swept up to the day before: {fired} timers, {delivered} notifications")

    t0 = time.perf_counter()
    for m in found:  # before copying: a grant writes to the audit log
        _grant_leaders(runtime, next(a for a in store.archetypes if a.municipality is m), m)
    copier = Copier(raw, table_plans)
    counters = _counters(runtime)
    serial = 0
    population = [m.population for m in found]
    for m, n_active, n_closed in zip(
        found, shares(active, population), shares(closed, population), strict=True
    ):
        mine = [i for i, a in enumerate(store.archetypes) if a.municipality is m]
        pools = {
            "caseworker": max(2, n_active // 35),
            "coordinator": max(2, n_active // 25),
            "team": max(3, n_active // 12),
            "leader": 1,
        }
        for kind, count in (("active", n_active), ("closed", n_closed)):
            group = [i for i in mine if store.archetypes[i].kind == kind]
            picks = rng.choices(group, [store.archetypes[i].weight for i in group], k=count)
            for index in picks:
                archetype = store.archetypes[index]
                serial += 1
                days = _days(archetype, night, rng)
                opened = (archetype.moments[0] + timedelta(days=days)).astimezone(ZONE)
                key = f"{m.prefix}-{opened.year}"
                counters[key] = counters.get(key, 0) + 1
                staff = _staff(archetype, m, pools, kind == "closed", rng)
                copy = Copy(
                    reference=f"{key}-{counters[key]:04d}",
                    days=days,
                    staff=staff,
                    person=(
                        f"Bench Person {serial}",
                        runtime.uow.cpr.encrypt(f"{serial % 10**10:010d}"),
                    ),
                )
                case_id = copier.add(archetype.rows, archetype.reference, copy)
                for old, kind_of in archetype.staff.items():
                    if kind_of == "caseworker":
                        store.caseworkers[staff[old]] += 1
                if kind == "active":
                    store.active.append(ActiveCase(copy.reference, case_id, index, staff))
                else:
                    store.closed += 1
                if serial % BATCH == 0:
                    copier.flush()
                if serial % 50_000 == 0:
                    report(f"  copied {serial:,} cases ({time.perf_counter() - t0:.0f} s)")
    copier.finish(counters)
    store.rows = dict(copier.written)
    store.timings["copies"] = time.perf_counter() - t0
    return store


def _counters(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {c.prefix: c.last for c in session.scalars(select(ReferenceCounter))}


def _grant_leaders(runtime: Runtime, archetype: Archetype, m: Municipality) -> None:
    for grant in archetype.grants:
        runtime.grants.grant(
            f"{grant.person}-{m.code}",
            m.code,
            grant.basis,
            grant.law,
            "bench",
            tuple(grant.actions),
        )


def _days(archetype: Archetype, night: datetime, rng: random.Random) -> int:
    """How many days a copy's timestamps move (see the module docstring)."""
    start = archetype.moments[0]
    assert archetype.last_step_at is not None
    last = archetype.last_step_at
    if archetype.kind == "closed":
        earliest = night - timedelta(days=365 * CLOSED_YEARS)
        latest = night - (last - start) - timedelta(days=1)
        return rng.randint((earliest - start).days, (latest - start).days)
    latest_days = (night - last).days  # the last step is in the past
    if archetype.first_due is None:
        return rng.randint(latest_days - 60, latest_days)
    # not due before last night's sweep (night - 1 day); some due tonight
    earliest_days = math.ceil(
        (night - timedelta(days=1) - archetype.first_due).total_seconds() / 86400
    )
    return rng.randint(min(earliest_days, latest_days), latest_days)


def _staff(
    archetype: Archetype,
    m: Municipality,
    pools: dict[str, int],
    closed: bool,
    rng: random.Random,
) -> dict[str, str]:
    staff = {}
    for old, kind in archetype.staff.items():
        if kind == "leader":
            staff[old] = f"{old}-{m.code}"
            continue
        size = pools[kind] * (3 if closed else 1)
        staff[old] = f"{old}-{m.code}-{rng.randrange(size)}"
    return staff
