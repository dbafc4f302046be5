"""Sorø ships version 2 of its definition while cases run (SQLite and PostgreSQL).

Version 2 renames the stage ``handover`` to ``network_handover`` and adds ``aftercare``
(tests/support/upgrades.py). Running cases are moved with a dry run first, then for real,
each logged; cases left on version 1 keep working; a migration that would strand a case
is refused with the cases and stages, and changes nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.integration.conftest import Clock, settings_for
from tests.integration.scripted import play
from tests.support.services import SmtpSink
from tests.support.upgrades import copy_v1, ship_v2
from workflow.cases.upgrades import MIGRATED_EVENT
from workflow.cli.main import app
from workflow.engine.migration_plan import MigrationRefusedError
from workflow.engine.model import Actor
from workflow.engine.simulation import load_script
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.store.tables import AuditEntry, Case, CaseTimer, DefinitionVersion, HistoryEvent
from workflow.web.app import create_app
from workflow.web.identity import TrustedHeader

COORDINATOR = Actor("coordinator", "tovholder-lise")
SCRIPT = load_script(Path("definitions/examples/soroe.yaml"))
#: How many of the sample script's steps bring a case to each stage.
STEPS_TO = {"referred": 1, "follow_up": 6, "handover": 7, "closed": 8}


@dataclass
class Store:
    """One store that outlives the runtimes built on it (a deployment, then a redeploy)."""

    url: str
    smtp: SmtpSink
    clock: Clock
    home: Path
    definitions: Path
    runtimes: list[Runtime]

    def deploy(self) -> Runtime:
        """Start the software on the current definitions folder (as after a redeploy)."""
        settings = settings_for(self.url, self.smtp, self.home).model_copy(
            update={"definitions_dir": self.definitions}
        )
        runtime = build_runtime(settings, clock=self.clock)
        use_runtime(runtime)
        self.runtimes.append(runtime)
        return runtime


@pytest.fixture
def store(store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Store]:
    shared = Store(store_url, smtp, clock, tmp_path / "var", copy_v1(tmp_path / "defs"), [])
    yield shared
    use_runtime(None)
    for runtime in shared.runtimes:
        runtime.engine.dispose()


def _case_at(runtime: Runtime, clock: Clock, stage: str) -> str:
    script = SCRIPT.model_copy(update={"steps": SCRIPT.steps[: STEPS_TO[stage]]})
    results = play(runtime, clock, script)
    assert results[-1].to_stage == stage
    return results[0].reference


def _state(runtime: Runtime, reference: str) -> tuple[str, str | None, int, int]:
    """Stage, resume stage, pinned version number and row version of a case."""
    with runtime.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        pinned = session.get(DefinitionVersion, case.definition_version_id)
        assert pinned is not None
        return case.stage, case.previous_stage, pinned.version, case.version


#: The base's timers that run while a case is open, whatever its stage (birthdays).
CASE_WIDE = {"eighteenth_birthday", "upper_age_reached"}


def _running_timers(runtime: Runtime, reference: str) -> set[str]:
    with runtime.sessions() as session:
        return set(
            session.scalars(
                select(CaseTimer.timer)
                .join(Case, Case.id == CaseTimer.case_id)
                .where(Case.reference == reference, CaseTimer.state == "running")
            )
        )


def _running_cases(store: Store) -> dict[str, str]:
    """Cases in every interesting position on version 1, by name."""
    runtime = store.deploy()
    cases = {
        "referred": _case_at(runtime, store.clock, "referred"),
        "follow_up": _case_at(runtime, store.clock, "follow_up"),
        "handover": _case_at(runtime, store.clock, "handover"),
        "handover_2": _case_at(runtime, store.clock, "handover"),
        "stays_on_v1": _case_at(runtime, store.clock, "handover"),
        "closed": _case_at(runtime, store.clock, "closed"),
    }
    paused = _case_at(runtime, store.clock, "handover")
    runtime.service.trigger(paused, "pause", {"pause_reason": "treatment"}, COORDINATOR)
    cases["paused_from_handover"] = paused
    return cases


def test_running_soroe_cases_move_from_v1_to_v2_with_a_renamed_and_a_new_stage(
    store: Store,
) -> None:
    cases = _running_cases(store)
    ship_v2(store.definitions)
    runtime = store.deploy()
    assert runtime.catalog.by_id("soroe").version == 2
    mapping = {"handover": "network_handover"}
    to_move = [ref for name, ref in cases.items() if name not in ("stays_on_v1", "closed")]
    before = {ref: _state(runtime, ref) for ref in cases.values()}
    assert _running_timers(runtime, cases["handover"]) == {"handover_reminder"} | CASE_WIDE

    # The operator sees both versions and what changed between them.
    runner = CliRunner()
    listed = runner.invoke(app, ["definitions", "versions", "soroe"]).output.splitlines()
    assert [line.split()[:2] for line in listed] == [["soroe", "v1"], ["soroe", "v2"]]
    assert listed[0].endswith("6 open cases")
    assert listed[1].endswith("(current file)")
    diffed = runner.invoke(app, ["definitions", "diff", "soroe@1", "soroe@2"])
    assert "Suggested (same kind and phase): --map handover=network_handover" in diffed.output

    # The dry run plans every selected case and changes nothing: not even the version it
    # plans for is registered (it was, and a lower version was then refused).
    def versions() -> list[tuple[str, int]]:
        with runtime.sessions() as session:
            rows = session.execute(
                select(DefinitionVersion.definition_id, DefinitionVersion.version)
            ).all()
        return sorted((d, v) for d, v in rows)

    stored_before = versions()
    plan = runtime.upgrades.migrate(
        "soroe", 2, mapping, actor="operator:ole", references=to_move, dry_run=True
    )
    assert versions() == stored_before
    assert ("soroe", 2) not in stored_before  # so the dry run had one to register
    assert plan.dry_run
    assert {m.reference: m.to_stage for m in plan.moves} == {
        cases["referred"]: "referred",
        cases["follow_up"]: "follow_up",
        cases["handover"]: "network_handover",
        cases["handover_2"]: "network_handover",
        cases["paused_from_handover"]: "paused",
    }
    paused_move = next(m for m in plan.moves if m.reference == cases["paused_from_handover"])
    assert (paused_move.from_previous, paused_move.to_previous) == ("handover", "network_handover")
    assert {ref: _state(runtime, ref) for ref in cases.values()} == before

    # For real: each case is moved and logged.
    done = runtime.upgrades.migrate(
        "soroe", 2, mapping, actor="operator:ole", references=to_move, dry_run=False
    )
    assert sorted(m.reference for m in done.moves) == sorted(to_move)
    for ref in to_move:
        stage, _previous, version, row_version = _state(runtime, ref)
        assert version == 2
        assert stage == mapping.get(before[ref][0], before[ref][0])
        assert row_version == before[ref][3] + 1
    assert _state(runtime, cases["paused_from_handover"])[:2] == ("paused", "network_handover")
    assert _state(runtime, cases["stays_on_v1"]) == before[cases["stays_on_v1"]]
    assert _state(runtime, cases["closed"]) == before[cases["closed"]]
    assert _running_timers(runtime, cases["handover"]) == {"handover_reminder"} | CASE_WIDE
    with runtime.sessions() as session:
        logged = session.execute(
            select(Case.reference, HistoryEvent.from_stage, HistoryEvent.to_stage)
            .join(Case, Case.id == HistoryEvent.case_id)
            .where(HistoryEvent.event == MIGRATED_EVENT, HistoryEvent.actor_id == "ole")
        ).all()
        assert sorted(logged) == sorted(
            (ref, before[ref][0], mapping.get(before[ref][0], before[ref][0])) for ref in to_move
        )
        audited = session.scalars(
            select(AuditEntry.object_id).where(
                AuditEntry.purpose == "definition migration",
                AuditEntry.object_type == "case",
                AuditEntry.actor == "operator:ole",
            )
        ).all()
        assert sorted(audited) == sorted(to_move)

    # Migrated cases run on version 2: through the new stage to closed.
    service = runtime.service
    moved = cases["handover"]
    assert service.trigger(moved, "start_aftercare", {}, COORDINATOR).to_stage == "aftercare"
    closed = service.trigger(moved, "close_case", {"outcome": "education"}, COORDINATOR)
    assert closed.to_stage == "closed"
    resumed = service.trigger(cases["paused_from_handover"], "resume", {}, COORDINATOR)
    assert resumed.to_stage == "network_handover"
    # The case left on version 1 keeps working by version 1's rules.
    kept = cases["stays_on_v1"]
    assert service.trigger(kept, "close_case", {"outcome": "education"}, COORDINATOR).to_stage == (
        "closed"
    )
    assert _state(runtime, kept)[2] == 1
    # The caseworker's page names the step on the timeline, in Danish.
    runtime.accounts.create(
        "lise",
        "korrekt-hest-batteri",
        display_name="Lise",
        person_id="tovholder-lise",
        roles=["coordinator"],
        municipality_code="340",
    )
    # Sorø has accounts now, so the staff the example script names need theirs.
    for person in ("cw-mette", "laerer-anna", "raadgiver-bo", "vejleder-sara"):
        runtime.accounts.create(
            person,
            None,
            display_name=person,
            person_id=person,
            roles=["caseworker" if person == "cw-mette" else "team_member"],
            municipality_code="340",
        )
    identity = TrustedHeader(runtime.accounts, "s3cret-key!", trusted=("testclient",))
    with TestClient(create_app(runtime, identity=identity), base_url="https://testserver") as web:
        page = web.get(f"/cases/{moved}", headers={"X-Remote-User": "lise"})
    assert page.status_code == 200
    assert "Flyttet til en ny version af forløbsbeskrivelsen" in page.text
    assert "definition_migrated" not in page.text

    # New cases start on version 2.
    fresh = _case_at(runtime, store.clock, "referred")
    assert _state(runtime, fresh)[2] == 2

    # Nothing is left to move but the handover case left behind (now closed): a second
    # run finds no case and changes nothing.
    again = runtime.upgrades.migrate("soroe", 2, mapping, actor="operator:ole", dry_run=False)
    assert again.moves == []


def test_a_migration_that_would_strand_cases_is_refused_with_cases_and_stages(
    store: Store,
) -> None:
    cases = _running_cases(store)
    ship_v2(store.definitions)
    runtime = store.deploy()
    before = {ref: _state(runtime, ref) for ref in cases.values()}

    with pytest.raises(MigrationRefusedError) as refused:
        runtime.upgrades.migrate("soroe", 2, {}, actor="operator:ole", dry_run=False)
    stranded = {(p.path, p.message.split(" (version")[0]) for p in refused.value.problems}
    assert stranded == {
        (cases["handover"], "stage 'handover'"),
        (cases["handover_2"], "stage 'handover'"),
        (cases["stays_on_v1"], "stage 'handover'"),
        (cases["paused_from_handover"], "stage to resume to 'handover'"),
    }
    assert all(p.hint == "map it: --map handover=NEW_STAGE" for p in refused.value.problems)
    assert {ref: _state(runtime, ref) for ref in cases.values()} == before

    # The same through the command line: the list, exit code 1, no traceback.
    result = CliRunner().invoke(app, ["cases", "migrate", "soroe", "--to", "2", "--by", "ole"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert lines[0] == "Refused:"
    for ref in (cases["handover"], cases["handover_2"], cases["stays_on_v1"]):
        assert (
            f"  {ref}: stage 'handover' (version 1) is not in version 2 "
            "(map it: --map handover=NEW_STAGE)"
        ) in lines
    assert lines[-1] == "Nothing was changed."

    # A mapping to a stage version 2 lacks, or into a final stage, is refused too.
    result = CliRunner().invoke(
        app,
        ["cases", "migrate", "soroe", "--to", "2", "--map", "handover=netwrk_handover"]
        + ["--by", "ole"],
    )
    assert result.exit_code == 1
    assert (
        "  --map handover=netwrk_handover: version 2 has no stage 'netwrk_handover' "
        "(did you mean 'network_handover'?)"
    ) in result.output.splitlines()
    with pytest.raises(MigrationRefusedError, match="refused"):
        runtime.upgrades.migrate("soroe", 2, {"handover": "closed"}, actor="operator:ole")
    result = CliRunner().invoke(app, ["cases", "migrate", "soroe", "--to", "3", "--by", "ole"])
    assert result.exit_code == 1
    assert "soroe has no version 3; known versions: 1, 2" in result.output

    # The mapped dry run from the command line lists each case; still nothing changes.
    result = CliRunner().invoke(
        app,
        ["cases", "migrate", "soroe", "--to", "2", "--map", "handover=network_handover"]
        + ["--dry-run", "--by", "ole"],
    )
    assert result.exit_code == 0, result.output
    assert (
        f"{cases['handover']}: v1 -> v2  handover -> network_handover" in result.output.splitlines()
    )
    assert "would move 6 cases of soroe to version 2" in result.output
    assert {ref: _state(runtime, ref) for ref in cases.values()} == before
    with runtime.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(HistoryEvent)
                .where(HistoryEvent.event == MIGRATED_EVENT)
            )
            == 0
        )


def test_a_copy_kept_elsewhere_is_diffed_against_the_file_extends_found_as_validate_finds_it(
    tmp_path: Path,
) -> None:
    """The tutorial keeps the running version's file in a folder of its own; its
    `extends: base` is found in the installation's definitions, as `validate` finds it."""
    kept = tmp_path / "v1"
    kept.mkdir()
    shutil.copyfile(Path("definitions/soroe.yaml"), kept / "soroe.yaml")
    result = CliRunner().invoke(
        app, ["definitions", "diff", str(kept / "soroe.yaml"), "definitions/soroe.yaml"]
    )
    assert result.exit_code == 0, result.output
    assert "no differences" in result.output
