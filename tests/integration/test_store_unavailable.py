"""A store that cannot be opened is one clear line, never a traceback, and nothing is lost.

Real processes (the ``workflow`` command) against a real PostgreSQL server: a server that
refuses connections, a database made with another encoding than UTF-8, and a SQLite store
whose folder cannot be made. The address is shown without its password.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.services import create_database, free_port

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


def test_a_store_lost_during_a_command_is_one_line_and_keeps_what_was_committed(
    tmp_path: Path, pg_server: str
) -> None:
    """The server ends the command's connections while it works (as a restart or a
    failover does): the command ends with one line naming the store and what to do."""
    url = create_database(pg_server)
    name = url.rsplit("/", 1)[1]
    made = workflow(
        tmp_path,
        url,
        "account",
        "create",
        "cw",
        "--name",
        "Case Worker",
        "--person-id",
        "cw",
        "--role",
        "caseworker",
        "--municipality",
        "340",
        "--sso",
    )
    assert made.returncode == 0, made.stderr
    rows = ["definition,name,cpr,birth_date,caseworker,key"]
    rows += [f"soroe,Ung Nummer{n},010110{4000 + n:04d},2010-01-01,cw,r{n}" for n in range(4000)]
    referrals = tmp_path / "referrals.csv"
    referrals.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    env |= {"WORKFLOW_HOME": str(tmp_path), "WORKFLOW_DATABASE_URL": url}
    plain = pg_server.replace("postgresql+psycopg://", "postgresql://")
    with (
        subprocess.Popen(
            [WORKFLOW, "intake", str(referrals)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        ) as command,
        psycopg.connect(f"{plain}/postgres", autocommit=True) as admin,
    ):
        with psycopg.connect(f"{plain}/{name}", autocommit=True) as store:
            while command.poll() is None and not opened(store):  # the command is at work
                time.sleep(0.02)
        while command.poll() is None:  # then end its connections, again and again
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            time.sleep(0.05)
        _, stderr = command.communicate(timeout=120)
    done = subprocess.CompletedProcess(command.args, command.returncode, "", stderr)
    line = one_error_line(done)
    assert f"the store at {url} stopped answering during the command:" in line
    # The reason is the driver's words for how the connection ended (the server's
    # "terminating connection ...", or "server closed the connection ..."): not pinned.
    assert "look at what was done before running the command again" in line
    with psycopg.connect(f"{plain}/{name}", autocommit=True) as store:
        kept = opened(store)
    assert 0 < kept < 4000  # what the command had committed before is kept
    again = workflow(tmp_path, url, "intake", str(referrals))  # the store answers again
    assert again.returncode == 0, again.stderr
    with psycopg.connect(f"{plain}/{name}", autocommit=True) as store:
        assert opened(store) == 4000  # the rest opened, none twice (the rows' keys)


def opened(store: psycopg.Connection[tuple[int]]) -> int:
    """How many cases the store holds."""
    row = store.execute("SELECT count(*) FROM cases").fetchone()
    return row[0] if row else 0
