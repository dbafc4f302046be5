"""Fixtures with real parts: the store on SQLite and PostgreSQL, SMTP, a Prefect server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.services import (
    SmtpSink,
    create_database,
    postgres_server,
    prefect_server,
    smtp_sink,
    wait_until,
)
from workflow.orchestration.prefect_env import one_ca_file
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings


@dataclass
class Clock:
    """A clock the test moves by hand (``tick``: and by that much at every reading, as a
    real one moves between the writes of one request)."""

    now: datetime
    tick: timedelta | None = None

    def __call__(self) -> datetime:
        read = self.now
        if self.tick is not None:
            self.now += self.tick
        return read

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workflow.db'}"
    return create_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


def settings_for(store_url: str, smtp: SmtpSink, home: Path) -> Settings:
    return Settings(
        database_url=store_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        home=home,
        base_url="https://kui.example",
    )


@pytest.fixture
def runtime(store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(settings_for(store_url, smtp, tmp_path / "var"), clock=clock)
    use_runtime(rt)
    yield rt
    use_runtime(None)
    rt.engine.dispose()


@contextmanager
def runtime_of(
    store_url: str, smtp: SmtpSink, clock: Clock, home: Path, definitions: dict[str, str]
) -> Iterator[Runtime]:
    """A runtime over a definitions folder of its own: the shipped base and these files
    (name -> YAML text), e.g. a test's definition that extends the base."""
    folder = home / "definitions"
    folder.mkdir()
    shutil.copy("definitions/base.yaml", folder)
    for name, text in definitions.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = settings_for(store_url, smtp, home / "var").model_copy(
        update={"definitions_dir": folder}
    )
    rt = build_runtime(settings, clock=clock)
    use_runtime(rt)
    try:
        yield rt
    finally:
        use_runtime(None)
        rt.engine.dispose()


@pytest.fixture
def sqlite_runtime(smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on SQLite only, for tests whose subject is not the store."""
    rt = build_runtime(
        settings_for(f"sqlite:///{tmp_path / 'workflow.db'}", smtp, tmp_path / "var"),
        clock=clock,
    )
    use_runtime(rt)
    yield rt
    use_runtime(None)
    rt.engine.dispose()


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real Prefect server for the session; yields its PREFECT_HOME (holds its database).

    Two client-side waits of Prefect's are shortened here (no request is left out):

    - Its API is plain HTTP on 127.0.0.1, yet every Prefect client builds a TLS context
      and loads the whole CA bundle into it (~25 ms; a client per task and flow run).
      The clients are pointed at a one-certificate bundle instead, as `workflow up`'s are
      (:func:`workflow.orchestration.prefect_env.one_ca_file`); no TLS is spoken.
    - The server's SQLite answers 503 when two writers meet ("database is locked": a
      flow run created while the server records the last run's task events); the client
      then waits 2**attempt s (2, 4, ...) and sends the request again. That wait was
      most of the Prefect tests' time (the demo: 54 retries, 106 s). Here it is a
      twentieth (0.1, 0.2, ... s): the same retries, as many, sooner.
    """
    import prefect.client.base
    from prefect.settings import (
        PREFECT_API_SSL_CERT_FILE,
        PREFECT_API_URL,
        PREFECT_HOME,
        temporary_settings,
    )
    from prefect.utilities.math import clamped_poisson_interval

    def sooner(average_interval: float, clamping_factor: float = 0.3) -> float:
        return clamped_poisson_interval(average_interval / 20, clamping_factor)

    home = tmp_path_factory.mktemp("prefect-home")
    with (
        prefect_server(home) as url,
        temporary_settings(
            updates={
                PREFECT_API_URL: url,
                PREFECT_HOME: str(home / "client"),
                PREFECT_API_SSL_CERT_FILE: str(one_ca_file(home)),
            }
        ),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(prefect.client.base, "clamped_poisson_interval", sooner)
        yield home


def process_env(runtime: Runtime, prefect_home: Path) -> dict[str, str]:
    """The environment of a `workflow` process on the test's store, SMTP sink and Prefect
    server (a worker, an operator's command)."""
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL

    settings = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    return env | {
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(prefect_home / "client"),
        "PREFECT_API_SSL_CERT_FILE": str(PREFECT_API_SSL_CERT_FILE.value()),
        "WORKFLOW_DATABASE_URL": settings.store_url,
        "WORKFLOW_HOME": str(settings.home),
        "WORKFLOW_SMTP_HOST": settings.smtp_host or "",
        "WORKFLOW_SMTP_PORT": str(settings.smtp_port),
        "WORKFLOW_BASE_URL": settings.base_url,
    }


@pytest.fixture
def task_worker(
    sqlite_runtime: Runtime, prefect_api: Path, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`workflow worker` in a process of its own, on the test's store and SMTP sink;
    yields once it listens."""
    from workflow.orchestration.handoff import workers_listening

    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli.main", "worker", "--limit", "2"],
        env=process_env(sqlite_runtime, prefect_api),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(workers_listening, "the worker to subscribe", 90)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
