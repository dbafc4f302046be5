"""A definition edited without raising its version is refused against the store (issue 15).

Before, Sorø's file edited with ``version: 1`` kept was stored as a second "version 1"
with another content hash the first time a case used it. Now the runtime refuses to
start on it (and ``workflow validate --store``, ``workflow up`` and the catalog say so),
located at the file's ``version:`` with the version to write; nothing stored is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.integration.conftest import Clock, settings_for
from tests.integration.scripted import PERSON
from tests.support.services import SmtpSink
from tests.support.upgrades import copy_v1, ship_v2
from workflow.cli.main import app
from workflow.definitions.loader import load_directory
from workflow.engine.model import Actor
from workflow.errors import DefinitionError
from workflow.runtime import Runtime, build_runtime, get_runtime, use_runtime
from workflow.settings import Settings, get_settings
from workflow.store.catalog import DefinitionCatalog
from workflow.store.tables import Case, DefinitionVersion

CW = Actor("caseworker", "cw-mette")


class Deployment:
    """A definitions folder and a store that outlive the runtimes started on them."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.runtimes: list[Runtime] = []

    @property
    def folder(self) -> Path:
        return self.settings.definitions_dir

    def start(self) -> Runtime:
        runtime = build_runtime(self.settings, clock=self.clock)
        self.runtimes.append(runtime)
        return runtime

    def refused(self) -> list[str]:
        with pytest.raises(DefinitionError) as caught:
            self.start()
        return [str(p) for p in caught.value.problems]

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def deployment(
    store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path
) -> Iterator[Deployment]:
    settings = settings_for(store_url, smtp, tmp_path / "var").model_copy(
        update={"definitions_dir": copy_v1(tmp_path / "defs")}
    )
    shared = Deployment(settings, clock)
    yield shared
    use_runtime(None)
    for runtime in shared.runtimes:
        runtime.engine.dispose()


def _as_the_environment(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's store and folder as a process's environment names them (the CLI,
    a flow run); no runtime built yet."""
    settings = deployment.settings
    monkeypatch.setenv("WORKFLOW_DATABASE_URL", settings.store_url)
    monkeypatch.setenv("WORKFLOW_HOME", str(settings.home))
    monkeypatch.setenv("WORKFLOW_DEFINITIONS_DIR", str(deployment.folder))
    get_settings.cache_clear()
    use_runtime(None)


def _open_case(runtime: Runtime) -> str:
    opened = runtime.service.refer("soroe", PERSON, CW, {"source": "school", "caseworker": "x"})
    return opened.reference


def _stored(runtime: Runtime) -> list[tuple[str, int]]:
    with runtime.sessions() as session:
        rows = session.execute(select(DefinitionVersion.definition_id, DefinitionVersion.version))
        return sorted((ident, version) for ident, version in rows)


def test_an_edit_without_a_new_version_is_refused_at_start_and_nothing_is_lost(
    deployment: Deployment,
) -> None:
    first = deployment.start()
    reference = _open_case(first)
    assert _stored(first) == [("soroe", 1)]
    deployment.start()  # the same content again: fine

    deployment.edit("soroe.yaml", "case_prefix: SOR", "case_prefix: SORO")
    [problem] = deployment.refused()
    version_line = _line_of(deployment.folder / "soroe.yaml", "version: 1")
    assert problem == (
        f"{_shown(deployment.folder / 'soroe.yaml')}:{version_line}:10: version: soroe has "
        "changed since its version 1 was stored (cases may run on it), but its version is "
        "still 1 (raise version to 2; the change may be in 'base', which it extends)"
    )
    # Nothing stored was lost or added; with the version raised, it starts.
    deployment.edit("soroe.yaml", "version: 1", "version: 2")
    raised = deployment.start()
    assert _stored(raised) == [("soroe", 1)]
    with raised.sessions() as session:
        pinned = session.execute(
            select(Case.reference, DefinitionVersion.version).join(
                DefinitionVersion, DefinitionVersion.id == Case.definition_version_id
            )
        ).all()
    assert [tuple(row) for row in pinned] == [(reference, 1)]
    assert _open_case(raised).startswith("SORO-")
    assert _stored(raised) == [("soroe", 1), ("soroe", 2)]


def test_a_change_in_the_extended_base_needs_a_new_version_of_the_municipality(
    deployment: Deployment,
) -> None:
    _open_case(deployment.start())
    deployment.edit("base.yaml", "after: 10 business_days", "after: 11 business_days")
    [problem] = deployment.refused()
    assert "soroe has changed since its version 1 was stored" in problem
    assert "(raise version to 2; the change may be in 'base', which it extends)" in problem


def test_a_version_below_the_highest_stored_is_refused(deployment: Deployment) -> None:
    deployment.edit("soroe.yaml", "version: 1", "version: 3")
    _open_case(deployment.start())
    deployment.edit("soroe.yaml", "version: 3", "version: 2")
    [problem] = deployment.refused()
    assert "soroe says version 2, but the store already holds version 3: versions only go up" in (
        problem
    )
    assert "(raise version to 4;" in problem


def test_a_version_stored_before_may_come_back_unchanged(deployment: Deployment) -> None:
    _open_case(deployment.start())
    ship_v2(deployment.folder)
    _open_case(deployment.start())
    copy_v1(deployment.folder)  # version 1 as stored: cases may start on it again
    assert deployment.start().catalog.by_id("soroe").version == 1


def test_a_version_stored_by_an_older_release_is_judged_by_what_it_says(
    deployment: Deployment,
) -> None:
    """An upgrade that adds a field with a default changes every hash, not the definitions."""
    first = deployment.start()
    _open_case(first)
    with first.sessions.begin() as session:
        session.execute(update(DefinitionVersion).values(content_hash="0" * 64))
    again = deployment.start()
    _open_case(again)  # stored as a new row of version 1: the same definition, today's hash
    assert _stored(again) == [("soroe", 1), ("soroe", 1)]


def test_the_catalog_refuses_to_store_a_changed_version(deployment: Deployment) -> None:
    first = deployment.start()
    _open_case(first)
    deployment.edit("soroe.yaml", "case_prefix: SOR", "case_prefix: SORO")
    changed = DefinitionCatalog(deployment.folder)  # built without the start-up check
    with first.sessions.begin() as session, pytest.raises(DefinitionError) as refused:
        changed.register(session, changed.by_id("soroe"))
    assert "raise version to 2" in str(refused.value)
    assert _stored(first) == [("soroe", 1)]


def test_validate_and_up_say_so_without_a_traceback(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_case(deployment.start())
    deployment.edit("soroe.yaml", "case_prefix: SOR", "case_prefix: SORO")
    _as_the_environment(deployment, monkeypatch)
    runner = CliRunner()
    files = [str(deployment.folder / "soroe.yaml"), str(deployment.folder / "base.yaml")]
    try:
        plain = runner.invoke(app, ["validate", *files])
        checked = runner.invoke(app, ["validate", "--store", *files])
        up = runner.invoke(app, ["up"])
    finally:
        use_runtime(None)
        get_settings.cache_clear()
    assert plain.exit_code == 0, plain.output
    assert checked.exit_code == 1
    assert "version: soroe has changed since its version 1 was stored" in checked.output
    assert "raise version to 2" in checked.output
    assert "base.yaml: ok" in checked.output
    assert up.exit_code == 1
    assert "raise version to 2" in up.output
    assert "Nothing was started." in up.output
    assert up.exception is None or isinstance(up.exception, SystemExit)


def test_validate_against_a_store_not_made_yet_finds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKFLOW_HOME", str(tmp_path / "nowhere"))
    monkeypatch.delenv("WORKFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["validate", "--store", "definitions/soroe.yaml"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "nowhere").exists()


def test_every_shipped_definition_fits_a_store_that_holds_it(tmp_path: Path) -> None:
    """The shipped folder, stored once, starts again on itself (no false refusal)."""
    from workflow.store.database import make_engine, migrate, session_factory
    from workflow.store.version_check import check_versions

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    catalog = DefinitionCatalog(Path("definitions"))
    try:
        with session_factory(engine).begin() as session:
            for definition in catalog.current.values():
                catalog.register(session, definition)
        with session_factory(engine)() as session:
            assert check_versions(session, load_directory("definitions").values()) == {}
    finally:
        engine.dispose()


def _line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def test_the_processes_of_a_running_installation_go_on_past_a_broken_draft(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A running installation starts processes of its own after it has started (each
    flow run of the sweep, a web worker): they read the definitions folder again, and a
    draft saved into it half-written (or Sorø's file edited without a new version) made
    every sweep fail, for every municipality, until it was mended. They go on: each
    problem is logged, located; Sorø goes on as the version the store holds, its cases
    take their steps and new ones open; the draft opens none. Starting a server still
    refuses (strictly checked)."""
    first = deployment.start()
    reference = _open_case(first)
    (deployment.folder / "eksempel.yaml").write_text(
        "id: eksempel\nextends: base\nversion: 1\ntransitions:\n  - id: x\n    from: [nowhere\n",
        encoding="utf-8",
    )
    deployment.edit("soroe.yaml", "case_prefix: SOR", "case_prefix: SORO")
    _as_the_environment(deployment, monkeypatch)
    try:
        with caplog.at_level("WARNING", logger="workflow.definitions"):
            running = get_runtime()  # as a flow run's process builds it
        deployment.runtimes.append(running)
        logged = caplog.text
        assert "eksempel.yaml:7:1: YAML syntax error" in logged  # located
        assert "raise version to 2" in logged
        assert "definition soroe: not loaded from its file; goes on as its newest stored" in (
            logged
        )
        assert "definition eksempel: not loaded from its file; no version of it is stored" in (
            logged
        )
        assert "eksempel" not in running.catalog.current
        assert running.catalog.current["soroe"].municipality.case_prefix == "SOR"
        assert _open_case(running).startswith("SOR-")  # the stored version's prefix
        accept = {"young_person_agrees": True, "consent": True}
        caseworker = Actor("caseworker", "x")  # the referral's
        assert running.service.trigger(reference, "accept_referral", accept, caseworker).to_stage
        running.service.fire_due_timers(deployment.clock.now)  # the sweep's work
        use_runtime(None)
        with pytest.raises(DefinitionError):
            get_runtime(strict=True)  # what `workflow up` and `workflow web` start with
    finally:
        use_runtime(None)
        get_settings.cache_clear()
