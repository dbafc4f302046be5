"""A store that cannot be opened is one clear line, never a traceback, and nothing is lost.

Real processes (the ``workflow`` command) against a real PostgreSQL server: a server that
refuses connections, a database made with another encoding than UTF-8, and a SQLite store
whose folder cannot be made. The address is shown without its password.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support.services import free_port

WORKFLOW = str(Path(sys.executable).with_name("workflow"))


def workflow(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    env |= {"WORKFLOW_HOME": str(home), "WORKFLOW_DATABASE_URL": url}
    return subprocess.run(
        [WORKFLOW, *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ("sweep", "--no-prefect"),
        ("outbox", "list", "--by", "operator:ops"),
        ("validate", "--store", "definitions/soroe.yaml"),
    ],
)
def test_a_server_that_refuses_is_named_without_its_password(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    url = f"postgresql+psycopg://workflow:s3cret-pw@127.0.0.1:{free_port()}/store"
    line = one_error_line(workflow(tmp_path, url, *args))
    assert "s3cret-pw" not in line
    assert "cannot open the store at postgresql+psycopg://workflow:***@127.0.0.1:" in line
    assert "Connection refused" in line
    assert "Is the database server running" in line


def test_a_database_that_is_not_utf8_is_refused_and_left_as_it_was(
    tmp_path: Path, pg_server: str
) -> None:
    plain = pg_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(
            "CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )
    try:
        line = one_error_line(workflow(tmp_path, f"{pg_server}/latin", "sweep", "--no-prefect"))
        assert "uses the encoding LATIN1; it must be UTF8" in line
        assert "CREATE DATABASE \"latin\" ENCODING 'UTF8' TEMPLATE template0" in line
        with psycopg.connect(f"{plain}/latin") as conn:  # no migration ran: no table made
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert tables == (0,)
    finally:
        with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE latin")


def test_a_sqlite_store_whose_folder_cannot_be_made_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    url = f"sqlite:///{blocked / 'store' / 'workflow.db'}"
    line = one_error_line(workflow(tmp_path, url, "sweep", "--no-prefect"))
    assert f"cannot make the folder of the store {blocked / 'store' / 'workflow.db'}" in line
    assert "WORKFLOW_DATABASE_URL" in line
    assert blocked.read_text() == "not a folder"
