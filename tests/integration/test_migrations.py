"""The Alembic migrations build exactly the schema the tables declare."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workflow.store.database import make_engine, migrate
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
