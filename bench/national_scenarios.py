"""The measured scenarios on the national store, each through the real code paths.

- the nightly sweep: ``CaseService.fire_due_timers`` and the outbox delivery that
  follows it (``Deliverer.deliver_many``, 200 rows at a time, the file channel);
- the meeting-day burst: 2,000 meeting events (``CaseService.trigger``) on distinct
  waiting cases, by several caseworkers at once (threads), then delivering what they
  produced;
- bulk intake: ``intake_rows`` of a CSV of referrals spread over the municipalities.
Each is set against its raw-driver floor (``national_floors``), measured in the same run
on the same store.
"""

from __future__ import annotations

import csv
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import national_floors as floors
from bench.national_clone import Copier, Copy, RawStore, plans
from bench.national_exemplars import MEETING_EVENTS, Clock
from bench.national_store import ActiveCase, NationalStore, shares
from workflow.cases.model import RejectedError
from workflow.delivery.outbox import default_channels
from workflow.engine.model import Actor
from workflow.runtime import Runtime


@dataclass
class Figures:
    """Measured figures of one store, by scenario and measure."""

    values: dict[tuple[str, str], str] = field(default_factory=dict)
    numbers: dict[tuple[str, str], float] = field(default_factory=dict)

    def put(self, scenario: str, measure: str, number: float, shown: str) -> None:
        self.values[(scenario, measure)] = shown
        self.numbers[(scenario, measure)] = number
        print(f"    {scenario} / {measure}: {shown}", flush=True)


def secs(seconds: float) -> str:
    """A duration for the tables: milliseconds under a second."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def carry_out_for_real(runtime: Runtime) -> None:
    """Measured deliveries use the real channels (mail as files in the store's home)."""
    runtime.deliverer.channels = default_channels(runtime.settings)


def _deliver(
    runtime: Runtime, moment: datetime, chunk: int = 200
) -> tuple[float, list[int], Counter[str]]:
    ids = runtime.deliverer.due_rows(1_000_000, moment)
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    for start in range(0, len(ids), chunk):
        statuses.update(
            o.status for o in runtime.deliverer.deliver_many(ids[start : start + chunk])
        )
    return time.perf_counter() - started, ids, statuses


# --- the nightly sweep ---------------------------------------------------------------


def nightly_sweep(
    runtime: Runtime, clock: Clock, raw: floors.Raw, night: datetime, out: Figures
) -> None:
    clock.now = night
    floor_seconds, due = floors.sweep(raw, night)
    started = time.perf_counter()
    fired = runtime.service.fire_due_timers(night)
    seconds = time.perf_counter() - started
    out.put("sweep", "timers due", due, f"{due:,}")
    out.put(
        "sweep", "fire due timers (service)", seconds, f"{secs(seconds)} ({len(fired):,} fired)"
    )
    out.put("sweep", "fire due timers (floor)", floor_seconds, secs(floor_seconds))
    deliver_seconds, ids, statuses = _deliver(runtime, night)
    floor_deliver = floors.delivery(raw, ids, night)
    shown = ", ".join(f"{n:,} {s}" for s, n in sorted(statuses.items()))
    out.put(
        "sweep",
        "deliver their notifications (service)",
        deliver_seconds,
        f"{secs(deliver_seconds)} ({shown})",
    )
    out.put("sweep", "deliver their notifications (floor)", floor_deliver, secs(floor_deliver))


# --- the meeting-day burst -----------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """One meeting event on one case, as its staff would send it."""

    reference: str
    case_id: int
    event: str
    inputs: dict[str, Any]
    actor: Actor


def _swap(value: Any, staff: dict[str, str]) -> Any:
    if isinstance(value, str):
        return staff.get(value, value)
    if isinstance(value, list):
        return [_swap(v, staff) for v in value]
    if isinstance(value, dict):
        return {k: _swap(v, staff) for k, v in value.items()}
    return value


def meeting_triggers(store: NationalStore, count: int, rng: random.Random) -> list[Trigger]:
    """``count`` meeting events on distinct waiting cases, all over the country."""
    waiting = [
        c
        for c in store.active
        if c.reference not in store.used
        and (step := store.archetype_of(c).next_step) is not None
        and step.event in MEETING_EVENTS
    ]
    chosen: list[ActiveCase] = rng.sample(waiting, count)
    store.used.update(c.reference for c in chosen)
    triggers = []
    for case in chosen:
        step = store.archetype_of(case).next_step
        assert step is not None
        assert step.event is not None
        role, _, ident = step.actor.partition(":")
        triggers.append(
            Trigger(
                case.reference,
                case.case_id,
                step.event,
                _swap(dict(step.inputs), case.staff),
                Actor(role, case.staff.get(ident, ident) or None),
            )
        )
    return triggers


def _quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def burst(
    runtime: Runtime,
    clock: Clock,
    raw: floors.Raw,
    store: NationalStore,
    moment: datetime,
    out: Figures,
    *,
    count: int,
    threads: int,
    rng: random.Random,
) -> None:
    clock.now = moment
    triggers = meeting_triggers(store, count, rng)
    events = Counter(t.event for t in triggers)
    out.put("burst", "events", count, ", ".join(f"{n:,} {e}" for e, n in sorted(events.items())))
    case_ids = [t.case_id for t in triggers]
    floor_one = floors.transitions(raw, case_ids, moment, 1)
    floor_many = floors.transitions(raw, case_ids, moment, threads)
    floor_rate = max(floor_one, floor_many)
    out.put(
        "burst",
        "floor transactions/s (UPDATE + 4 INSERTs)",
        floor_rate,
        f"{floor_rate:,.0f}/s (1 connection {floor_one:,.0f}/s, "
        f"{threads} connections {floor_many:,.0f}/s)",
    )

    work = list(reversed(triggers))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    refused: Counter[str] = Counter()

    def caseworker() -> None:
        while True:
            with lock:
                if not work:
                    return
                trigger = work.pop()
            t0 = time.perf_counter()
            try:
                runtime.service.trigger(
                    trigger.reference, trigger.event, trigger.inputs, trigger.actor
                )
            except RejectedError as exc:  # the definition says no: an answer, not a failure
                with lock:
                    refused[exc.rejection.reason.value] += 1
                    latencies.append(time.perf_counter() - t0)
                continue
            except Exception as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    pool = [threading.Thread(target=caseworker, name=f"caseworker-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - started
    rate = len(latencies) / seconds
    out.put(
        "burst",
        "absorbed in (budget 600 s)",
        seconds,
        f"{seconds:.1f} s ({seconds / 600:.1%} of the budget)",
    )
    out.put("burst", "service transitions/s", rate, f"{rate:,.0f}/s")
    out.put(
        "burst",
        "latency per trigger p50 / p95 / max",
        _quantile(latencies, 95) * 1000,
        f"{_quantile(latencies, 50) * 1000:.0f} / {_quantile(latencies, 95) * 1000:.0f} / "
        f"{max(latencies) * 1000:.0f} ms",
    )
    out.put(
        "burst",
        "refused by the definition",
        sum(refused.values()),
        ", ".join(f"{n} {e}" for e, n in refused.items()) or "0",
    )
    out.put(
        "burst",
        "errors",
        sum(errors.values()),
        ", ".join(f"{n} {e}" for e, n in errors.items()) or "0",
    )
    deliver_seconds, ids, statuses = _deliver(runtime, moment + timedelta(minutes=10))
    floor_deliver = floors.delivery(raw, ids, moment)
    shown = ", ".join(f"{n:,} {s}" for s, n in sorted(statuses.items()))
    out.put(
        "burst",
        "deliver its notifications (service)",
        deliver_seconds,
        f"{secs(deliver_seconds)} ({shown})",
    )
    out.put("burst", "deliver its notifications (floor)", floor_deliver, secs(floor_deliver))


# --- bulk intake ---------------------------------------------------------------------


def intake(
    runtime: Runtime,
    clock: Clock,
    raw: floors.Raw,
    loader: RawStore,
    store: NationalStore,
    moment: datetime,
    tmp: Path,
    out: Figures,
    *,
    count: int,
    rng: random.Random,
) -> None:
    from workflow.orchestration.intake import INTAKE_CHUNK, intake_rows

    clock.now = moment
    floor_seconds = _intake_floor(raw, loader, store, count, INTAKE_CHUNK, rng)
    path = tmp / "referrals.csv"
    municipalities = store.municipalities
    per = shares(count, [m.population for m in municipalities])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["definition", "name", "cpr", "birth_date", "source", "caseworker"])
        serial = 0
        for m, n in zip(municipalities, per, strict=True):
            for _ in range(n):
                serial += 1
                born = f"{moment.year - 17}-0{1 + serial % 9}-{1 + serial % 28:02d}"
                # a 7th digit of 4-9: born in 2000-2036 (the CPR number's century)
                cpr = f"{born[8:10]}{born[5:7]}{born[2:4]}{4000 + serial % 6000:04d}"
                writer.writerow(
                    [
                        m.definition,
                        f"Intake Person {serial}",
                        cpr,
                        born,
                        "school",
                        f"cw-intake-{m.code}-{serial % 20}",
                    ]
                )
    started = time.perf_counter()
    summary = intake_rows(path)
    seconds = time.perf_counter() - started
    assert summary == {"opened": count}, summary
    out.put("intake", "referrals (service)", seconds, f"{secs(seconds)} ({count / seconds:,.0f}/s)")
    out.put(
        "intake",
        "referrals (floor)",
        floor_seconds,
        f"{secs(floor_seconds)} ({count / floor_seconds:,.0f}/s)",
    )
    deliver_seconds, ids, statuses = _deliver(runtime, moment)
    floor_deliver = floors.delivery(raw, ids, moment)
    shown = ", ".join(f"{n:,} {s}" for s, n in sorted(statuses.items()))
    out.put(
        "intake",
        "deliver their notifications (service)",
        deliver_seconds,
        f"{secs(deliver_seconds)} ({shown})",
    )
    out.put("intake", "deliver their notifications (floor)", floor_deliver, secs(floor_deliver))


def _intake_floor(
    raw: floors.Raw,
    loader: RawStore,
    store: NationalStore,
    count: int,
    chunk: int,
    rng: random.Random,
) -> float:
    """The rows a referral writes (copied from referred exemplars), executemany per 1,000."""
    referred = [a for a in store.archetypes if a.kind == "active" and a.label == "referred"]
    copier = Copier(loader, plans(loader))
    batches: list[floors.Batch] = []
    for start in range(0, count, chunk):
        for k in range(start, min(count, start + chunk)):
            exemplar = rng.choice(referred)
            reference = f"FLOOR-2026-{k:06d}"
            copier.add(
                exemplar.rows,
                exemplar.reference,
                Copy(reference, 0, {}, (f"Floor Person {k}", exemplar.rows["young_persons"][0][2])),
            )
            copier.pending.setdefault("idempotency_keys", []).append(
                [
                    f"bench-floor:{k}",
                    reference,
                    '{"reference": "' + reference + '"}',
                    raw.when(datetime.now(UTC)),
                ]
            )
        batch: floors.Batch = {}
        for plan in copier.table_plans:
            rows = copier.pending.pop(plan.name, [])
            if rows:
                batch[plan.name] = (plan.columns, rows)
            copier.pending[plan.name] = []
        batch["idempotency_keys"] = (
            ["key", "case_reference", "result", "created_at"],
            copier.pending.pop("idempotency_keys"),
        )
        batches.append(batch)
    return floors.bulk(
        raw, batches, ["DELETE FROM idempotency_keys WHERE key LIKE 'bench-floor:%'"]
    )
