"""Retention: the dry-run report, deletion only with authorisation, and log retention."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.integration.conftest import Clock
from tests.integration.scripted import play
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.engine.simulation import load_script
from workflow.errors import InvalidRequestError
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry, Case, HistoryEvent, OutboxRow, YoungPerson

ADULT = YoungPersonDetails("Voksen Testesen", "0101054321", date(2005, 1, 1))  # 21 at referral
OTHER = YoungPersonDetails("Åben Testesen", "0101044321", date(2004, 1, 1))
CW = Actor("caseworker", "cw-mette")
CHILD = YoungPersonDetails("Barn Testesen", "0101104321", date(2010, 1, 1))  # 16 at referral


def _count(runtime: Runtime, table: type, *where: object) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def test_closed_cases_are_reported_then_deleted_only_as_the_rules_and_the_archive_allow(
    runtime: Runtime, clock: Clock
) -> None:
    script = load_script("definitions/examples/soroe.yaml")
    adult = play(runtime, clock, script, ADULT)[0].reference
    child = play(runtime, clock, script, CHILD)[0].reference
    open_case = runtime.service.refer(
        "soroe", OTHER, CW, {"source": "school", "caseworker": "cw-mette"}
    ).reference

    verdicts = {i.reference: i.verdict for i in runtime.retention.report("operator:dpo")}
    assert verdicts == {adult: "not_yet", child: "keep_minor"}  # the open case is not listed

    clock.advance(days=5 * 366 + 1)  # five years after closing
    report = {i.reference: i for i in runtime.retention.report("operator:dpo")}
    assert report[adult].verdict == "may_delete"
    assert report[child].verdict == "keep_minor"  # a child's case file is kept in full
    assert report[adult].deletable_from is not None
    assert report[adult].deletable_from <= clock.now.date()

    with pytest.raises(InvalidRequestError) as no_authority:
        runtime.retention.delete([adult], "operator:dpo", authorisation=" ")
    assert no_authority.value.problems[0].path == "authorisation"
    with pytest.raises(InvalidRequestError) as refused:
        runtime.retention.delete([adult, child, open_case], "operator:dpo", "RA 2031-77")
    assert {p.path for p in refused.value.problems} == {child, open_case}
    assert _count(runtime, Case) == 3  # the batch is refused as a whole

    audit_before = _count(runtime, AuditEntry, AuditEntry.object_id == adult)
    assert runtime.retention.delete([adult], "operator:dpo", "RA 2031-77") == [adult]
    assert _count(runtime, Case, Case.reference == adult) == 0
    assert _count(runtime, Case) == 2
    assert _count(runtime, YoungPerson) == 2  # the adult's personal data is gone
    with runtime.sessions() as session:
        names = set(session.scalars(select(YoungPerson.name)))
        assert ADULT.name not in names
        deleted = session.scalars(
            select(AuditEntry).where(AuditEntry.object_id == adult, AuditEntry.action == "delete")
        ).one()
    assert deleted.details == {"authorisation": "RA 2031-77"}
    assert deleted.actor == "operator:dpo"
    # The log of what was done keeps its entries (references only), plus the deletion.
    assert _count(runtime, AuditEntry, AuditEntry.object_id == adult) == audit_before + 1
    assert _count(runtime, HistoryEvent) > 0  # the other cases keep their history
    assert _count(runtime, OutboxRow) > 0


def test_log_retention_prunes_only_old_entries_and_logs_the_pruning(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.service.refer("soroe", CHILD, CW, {"source": "school", "caseworker": "cw-mette"})
    old = _count(runtime, AuditEntry)
    assert old > 0
    clock.advance(days=runtime.settings.audit_retention_days - 1)
    assert runtime.audit.prune("operator:dpo", dry_run=False).entries == 0
    clock.advance(days=2)
    # Another young person (the same one again would tell the first course: one entry more).
    sibling = YoungPersonDetails("Søster Testesen", "0202104321", date(2010, 2, 2))
    runtime.service.refer("soroe", sibling, CW, {"source": "school", "caseworker": "cw-mette"})
    dry = runtime.audit.prune("operator:dpo")
    assert (dry.entries, dry.dry_run) == (old, True)
    assert _count(runtime, AuditEntry) == old * 2  # a dry run removes nothing
    done = runtime.audit.prune("operator:dpo", dry_run=False)
    assert done.entries == old
    with runtime.sessions() as session:
        left = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert left.count("delete") == 1  # the pruning itself is logged
    assert len(left) == old + 1
    assert done.cutoff == clock.now - timedelta(days=runtime.settings.audit_retention_days)
