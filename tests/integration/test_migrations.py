"""The Alembic migrations build exactly the schema the tables declare."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from tests.integration.conftest import Clock, settings_for
from tests.support.services import SmtpSink
from workflow.definitions.loader import load_definition
from workflow.engine.vocabulary import RecipientKind
from workflow.runtime import build_runtime
from workflow.store.database import make_engine, migrate
from workflow.store.states import MeetingState, OutboxState, TaskState, TimerState
from workflow.store.tables import Base


def test_the_migrations_match_the_declared_tables(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    engine.dispose()


def test_a_store_with_cases_upgrades_and_keeps_them(tmp_path: Path) -> None:
    """A store from before consents and encrypted CPR numbers, holding a case: the
    upgrade copies young_persons (SQLite batch mode) without losing or orphaning rows."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from workflow.store.database import MIGRATIONS

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(
            text(
                "INSERT INTO definition_versions (id, definition_id, version, content_hash,"
                " body, registered_at) VALUES (1, 'soroe', 1, 'h', '{}', '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO young_persons (id, name, cpr, birth_date)"
                " VALUES (1, 'Freja Testesen', '0101101234', '2010-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO cases (id, reference, municipality_code, definition_version_id,"
                " stage, data, milestones, counts, young_person_id, opened_at, version,"
                " last_seq) VALUES (1, 'SOR-2026-0001', '340', 1, 'referred', '{}', '[]',"
                " '{}', 1, '2026-01-01', 1, 1)"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT young_person_id FROM cases")).scalar() == 1
        assert connection.execute(text("SELECT cpr FROM young_persons")).scalar() == (
            "0101101234"  # encrypted later by `workflow cpr rotate`
        )
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    engine.dispose()


def _checks(engine: Engine) -> dict[str, set[str]]:
    """Each CHECK constraint of the store, by name, with the words its condition lists."""
    inspector = inspect(engine)
    return {
        check["name"]: set(re.findall(r"'([^']*)'", check["sqltext"]))
        for table in inspector.get_table_names()
        for check in inspector.get_check_constraints(table)
    }


def _declared_checks() -> dict[str, set[str]]:
    return {
        str(constraint.name): set(re.findall(r"'([^']*)'", str(constraint.sqltext)))
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


def test_the_migrated_store_checks_the_states_the_tables_declare(store_url: str) -> None:
    """Alembic's comparison above does not look at CHECK constraints: compared here, on
    both databases, with the enums the code uses."""
    engine = make_engine(store_url)
    migrate(engine)
    try:
        assert (
            _checks(engine)
            == _declared_checks()
            == {
                "ck_timers_state": set(TimerState),
                "ck_outbox_state": set(OutboxState),
                "ck_tasks_state": set(TaskState),
                "ck_tasks_assignee_kind": set(RecipientKind),
                "ck_meetings_state": set(MeetingState),
            }
        )
    finally:
        engine.dispose()


#: Rows of every state and kind, as a store before revision 0006 holds them.
_CASE_ROWS = [
    "INSERT INTO definition_versions (id, definition_id, version, content_hash, body,"
    " registered_at) VALUES (1, 'soroe', 1, 'h', '{}', '2026-01-01')",
    "INSERT INTO cases (id, reference, municipality_code, definition_version_id, stage, data,"
    " milestones, counts, opened_at, version, last_seq) VALUES (1, 'SOR-2026-0001', '340', 1,"
    " 'referred', '{}', '[]', '{}', '2026-01-01', 1, 1)",
]


def _timer(state: str) -> str:
    return (
        "INSERT INTO timers (case_id, timer, due_at, state, firings)"
        f" VALUES (1, 't-{state}', '2026-01-01', '{state}', 0)"
    )


def _outbox(state: str) -> str:
    return (
        "INSERT INTO outbox (case_id, kind, recipient, template, payload, dedupe_key,"
        f" attempts, state, available_at, created_at) VALUES (1, 'notify', '{{}}', 't', '{{}}',"
        f" 'k-{state}', 0, '{state}', '2026-01-01', '2026-01-01')"
    )


def _task(kind: str, state: str) -> str:
    return (
        "INSERT INTO tasks (case_id, assignee_kind, assignee_id, title, state, created_at)"
        f" VALUES (1, '{kind}', 'x', 'a task', '{state}', '2026-01-01')"
    )


def _at_revision(engine: Engine, revision: str, statements: list[str]) -> None:
    from alembic import command
    from alembic.config import Config

    from workflow.store.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        for statement in statements:
            connection.execute(text(statement))


def test_a_store_with_every_state_upgrades_and_then_refuses_other_words(store_url: str) -> None:
    """Rows written before the constraints (every word each column held) stay as they are;
    afterwards an unknown word is refused."""
    engine = make_engine(store_url)
    timers, outbox = ["running", "fired", "cancelled"], ["pending", "sending", "sent", "dead"]
    outbox.append("withheld")
    tasks = [("role", "open"), ("department", "done"), ("team_member", "cancelled")]
    try:
        _at_revision(
            engine,
            "0005",
            _CASE_ROWS
            + [_timer(s) for s in timers]
            + [_outbox(s) for s in outbox]
            + [_task(k, s) for k, s in tasks],
        )
        migrate(engine)
        with engine.connect() as connection:
            assert (
                connection.execute(text("SELECT state FROM timers ORDER BY id")).scalars().all()
                == timers
            )
            assert (
                connection.execute(text("SELECT state FROM outbox ORDER BY id")).scalars().all()
                == outbox
            )
            assert (
                connection.execute(text("SELECT assignee_kind, state FROM tasks ORDER BY id")).all()
                == tasks
            )
        assert set(_checks(engine)) == set(_declared_checks())
        for refused in (
            _timer("paused"),
            _outbox("lost"),
            _task("person", "open"),
            _task("role", "later"),
        ):
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text(refused))
    finally:
        engine.dispose()


def test_a_row_with_an_unknown_state_stops_the_upgrade_and_changes_nothing(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'odd.db'}")
    try:
        _at_revision(engine, "0005", [*_CASE_ROWS, _timer("paused")])
        with pytest.raises(IntegrityError):
            migrate(engine)
        with engine.connect() as connection:
            assert (
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                == "0005"
            )
            assert connection.execute(text("SELECT state FROM timers")).scalar() == "paused"
        assert _checks(engine) == {}
    finally:
        engine.dispose()


def test_downgrading_drops_the_checks_and_keeps_the_rows(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from workflow.store.database import MIGRATIONS

    engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    try:
        _at_revision(engine, "0006", [*_CASE_ROWS, _timer("running"), _task("role", "open")])
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # as migrate() does
            config.attributes["connection"] = connection
            command.downgrade(config, "0005")
        assert _checks(engine) == {}
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM timers")).scalar() == 1
            assert connection.execute(text("SELECT count(*) FROM tasks")).scalar() == 1
    finally:
        engine.dispose()


def test_running_cases_pinned_to_a_definition_stored_before_input_types_keep_recording(
    store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path
) -> None:
    """A definition stored before the coordinator/meeting/meeting_place types (a person
    input called coordinator, datetimes called *meeting_at, a choice of meeting_room) is
    given those types by 0007, so its cases still record coordinator and meetings."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from tests.integration.scripted import play
    from workflow.engine.simulation import load_script
    from workflow.store.tables import CoordinatorAssignment, DefinitionVersion, Meeting

    settings = settings_for(store_url, smtp, tmp_path / "var")
    current = load_definition(settings.definitions_dir / "soroe.yaml")
    body = current.model_dump(mode="json", by_alias=True, exclude_none=True)
    old_types = {"coordinator": "person", "meeting": "datetime", "meeting_place": "choice"}
    stored = json.loads(json.dumps(body))
    old_names = ("coordinator", "meeting_room", "meeting_place")
    for step in [stored["referral"], *stored["transitions"]]:
        for item in step.get("inputs") or []:
            # The inputs a definition of that time could have had (named by convention).
            if item["name"] in old_names or item["name"].endswith("meeting_at"):
                item["type"] = old_types.get(item["type"], item["type"])
    assert stored != body
    engine = make_engine(store_url)
    _at_revision(engine, "0006", [])
    with engine.begin() as connection:
        connection.execute(
            insert(DefinitionVersion).values(
                definition_id="soroe",
                version=current.version,
                content_hash=current.content_hash,
                body=stored,
                registered_at=clock(),
            )
        )
    migrate(engine)
    with Session(engine) as session:
        assert session.scalars(select(DefinitionVersion.body)).one() == body
    engine.dispose()

    runtime = build_runtime(settings, clock=clock)
    try:
        play(runtime, clock, load_script("definitions/examples/soroe.yaml"))
        with runtime.sessions() as session:
            assert session.scalars(select(DefinitionVersion.id)).all() == [1]
            assert session.scalars(select(CoordinatorAssignment.person)).all() == ["tovholder-lise"]
            meetings = session.execute(select(Meeting.kind, Meeting.place)).all()
            assert {kind for kind, _ in meetings} == {"first_meeting", "follow_up"}
            assert {place for _, place in meetings} == {"raadhuset_storskaerm"}
    finally:
        runtime.engine.dispose()


def test_meetings_recorded_as_held_later_count_on_their_own_day_after_the_upgrade(
    store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path
) -> None:
    """Before 0015 a meeting's figures were dated by the step that recorded it as held;
    the upgrade dates them by the meeting's own start (the pre-meeting's level keeps the
    step's time), as every step now writes them."""
    from datetime import UTC, datetime

    from tests.integration.scripted import PERSON
    from tests.support.case_api import (
        ACCEPT,
        CASEWORKER,
        COORDINATOR,
        FIRST_MEETING,
        PRE_MEETING,
        REFERRAL_INPUTS,
    )
    from workflow.privacy.consents import ConsentRequest
    from workflow.store.tables import MeetingFigures

    runtime = build_runtime(settings_for(store_url, smtp, tmp_path / "var"), clock=clock)
    try:
        service = runtime.service
        ref = service.refer("soroe", PERSON, CASEWORKER, REFERRAL_INPUTS).reference
        service.trigger(ref, "accept_referral", ACCEPT, CASEWORKER)
        runtime.consents.give(
            ref, CASEWORKER, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
        )
        service.trigger(
            ref, "hold_pre_meeting", PRE_MEETING | {"progression": "contact_ready"}, CASEWORKER
        )
        # The first meeting was on 24 February (PRE_MEETING books it), recorded on 2 March.
        service.trigger(ref, "hold_first_meeting", FIRST_MEETING, COORDINATOR)
        now = clock()
        held = select(MeetingFigures.number, MeetingFigures.held_at).order_by(MeetingFigures.id)
        first_meeting = datetime(2026, 2, 24, 8, 0, tzinfo=UTC)  # 09:00 in Copenhagen
        with runtime.engine.connect() as connection:
            assert connection.execute(held).all() == [(0, now), (1, first_meeting)]
        with runtime.engine.begin() as connection:  # as a store of revision 0014 had them
            connection.execute(text("UPDATE meeting_figures SET held_at = :at"), {"at": now})
            connection.execute(text("UPDATE alembic_version SET version_num = '0014'"))
            connection.execute(text("DROP TABLE consent_parts"))  # made by 0016
            # made by 0017
            connection.execute(text("ALTER TABLE consent_departments DROP COLUMN withdrawn_by"))
            connection.execute(text("ALTER TABLE tasks DROP COLUMN held_since"))  # made by 0018
            connection.execute(text("ALTER TABLE tasks DROP COLUMN meeting_key"))  # by 0019
        migrate(runtime.engine)
        with runtime.engine.connect() as connection:
            assert connection.execute(held).all() == [(0, now), (1, first_meeting)]
    finally:
        runtime.engine.dispose()
