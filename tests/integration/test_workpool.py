"""`workflow deploy`: the flows registered on a Prefect process work pool, for workers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL
from typer.testing import CliRunner

from workflow.cli.main import app
from workflow.orchestration.outcome_report import SCHEDULE


def test_deploy_registers_the_flows_on_a_process_pool_with_the_sweep_scheduled(
    prefect_api: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    result = CliRunner().invoke(app, ["deploy", "--pool", "kui-test", "--sweep-every", "45"])
    assert result.exit_code == 0, result.output
    assert (
        "Deployed case-step, intake, monthly-outcomes, sweep to work pool 'kui-test' "
        "(sweep every 45 s)."
    ) in result.output
    assert "prefect worker start --pool kui-test --type process" in result.output

    with get_client(sync_client=True) as client:
        pool = client.read_work_pool("kui-test")
        assert pool.type == "process"
        deployments = {
            d.name: d for d in client.read_deployments() if d.work_pool_name == "kui-test"
        }
        assert set(deployments) == {"case-step", "sweep", "intake", "monthly-outcomes"}
        # The monthly outcome counts on the 1st (only `workflow up` served them before).
        crons = [s.schedule.cron for s in deployments["monthly-outcomes"].schedules]  # type: ignore[union-attr]
        assert crons == [SCHEDULE]
        assert deployments["case-step"].entrypoint == "workflow.orchestration.flows.case_step"
        intervals = [s.schedule.interval for s in deployments["sweep"].schedules]  # type: ignore[union-attr]
        assert intervals == [timedelta(seconds=45)]
        assert deployments["intake"].schedules == []

    # Deploying again (after an upgrade) replaces, never duplicates.
    again = CliRunner().invoke(app, ["deploy", "--pool", "kui-test", "--sweep-every", "0"])
    assert again.exit_code == 0, again.output
    assert "sweep not scheduled" in again.output
    with get_client(sync_client=True) as client:
        mine = {d.name: d for d in client.read_deployments() if d.work_pool_name == "kui-test"}
        assert sorted(mine) == ["case-step", "intake", "monthly-outcomes", "sweep"]
        assert mine["sweep"].schedules == []


def test_deploy_without_a_prefect_server_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["deploy"])
    assert result.exit_code == 1
    assert "Set PREFECT_API_URL" in result.output
