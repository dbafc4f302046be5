"""The environment our Prefect processes get (workflow.orchestration.prefect_env)."""

from __future__ import annotations

import asyncio
import inspect
import ssl
from pathlib import Path
from types import ModuleType

import pytest

from workflow.orchestration.prefect_env import (
    SERVER_TUNING,
    client_env,
    one_ca_file,
    server_env,
    with_own_settings,
)


def test_a_plain_http_client_gets_a_ca_file_of_one_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    env = client_env("http://127.0.0.1:4200/api", tmp_path)
    ca = Path(env["PREFECT_API_SSL_CERT_FILE"])
    assert ca.read_text().count("BEGIN CERTIFICATE") == 1
    ssl.create_default_context(cafile=str(ca))  # a CA file TLS accepts
    assert one_ca_file(tmp_path) == ca  # written once, found again
    monkeypatch.chdir(tmp_path)  # a relative home (WORKFLOW_HOME=var): the path is absolute
    given = client_env("http://127.0.0.1:4200/api", Path("var"))
    relative = Path(given["PREFECT_API_SSL_CERT_FILE"])
    assert relative.is_absolute()
    assert relative.is_file()


def test_tls_and_an_operators_ca_file_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    assert client_env("https://prefect.example/api", tmp_path) == {}
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", "/etc/ssl/ours.pem")
    assert client_env("http://127.0.0.1:4200/api", tmp_path) == {}
    assert not list(tmp_path.iterdir())


def test_the_server_is_tuned_unless_the_operator_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SERVER_TUNING:
        monkeypatch.delenv(name, raising=False)
    env = server_env(tmp_path)
    assert {k: env[k] for k in SERVER_TUNING} == SERVER_TUNING
    assert env["PREFECT_HOME"] == str(tmp_path.resolve())
    size = "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"
    monkeypatch.setenv(size, "7")
    assert server_env(tmp_path)[size] == "7"


def test_a_worker_carries_steps_out_under_its_own_settings() -> None:
    """The submitter's settings are left out of a hand-off's stored context (its tags
    stay), and Prefect's task worker still reads a hand-off's parameters through the
    function wrapped, and still rebuilds the settings it finds there."""
    from prefect import context, task_worker

    assert list(inspect.signature(task_worker.read_parameters).parameters) == [
        "result_store",
        "identifier",
    ]
    submit = task_worker.TaskWorker._submit_scheduled_task_run
    assert "read_parameters" in submit.__code__.co_names
    assert 'serialized_context.get("settings_context")' in inspect.getsource(
        context.hydrated_context
    )

    async def read(store: object, key: object) -> dict[str, object]:
        return {
            "parameters": {"reference": "SOR-2026-0001", "seq": 4},
            "context": {"settings_context": {"profile": "web"}, "tags_context": {"t": 1}},
        }

    module = ModuleType("task_worker")
    module.read_parameters = read  # type: ignore[attr-defined]
    with_own_settings(module)
    with_own_settings(module)  # once is enough: wrapping again changes nothing
    data = asyncio.run(module.read_parameters(None, "key"))
    assert data["context"] == {"tags_context": {"t": 1}}
    assert data["parameters"] == {"reference": "SOR-2026-0001", "seq": 4}


def test_nothing_of_the_step_flow_is_ever_written_to_its_result_storage() -> None:
    """The step flow names a storage read at import (flows._STEP_RESULTS): it and its
    effect tasks keep no result and never cache, so nothing lands there."""
    from prefect.cache_policies import NO_CACHE

    from workflow.orchestration import flows

    assert flows.case_step.persist_result is False
    for effect in (flows.deliver_effect, flows.timer_effect):
        assert effect.persist_result is False
        assert effect.cache_policy is NO_CACHE
        assert effect.with_options(task_run_name="notify-x").persist_result is False
