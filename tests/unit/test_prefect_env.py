"""The environment our Prefect processes get (workflow.orchestration.prefect_env)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from workflow.orchestration.prefect_env import (
    SERVER_TUNING,
    client_env,
    one_ca_file,
    server_env,
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
    stay); Prefect's task worker still reads parameters where we wrap it."""
    import asyncio
    import inspect
    from types import SimpleNamespace

    from prefect import task_worker

    from workflow.orchestration.handoff import with_own_settings

    assert list(inspect.signature(task_worker.read_parameters).parameters) == [
        "result_store",
        "identifier",
    ]

    async def read(store: object, key: object) -> dict[str, object]:
        return {
            "parameters": {"reference": "SOR-2026-0001", "seq": 4},
            "context": {"settings_context": {"profile": "web"}, "tags_context": {"t": 1}},
        }

    module = SimpleNamespace(read_parameters=read)
    with_own_settings(module)
    data = asyncio.run(module.read_parameters(None, "key"))
    assert data["context"] == {"tags_context": {"t": 1}}
    assert data["parameters"] == {"reference": "SOR-2026-0001", "seq": 4}
