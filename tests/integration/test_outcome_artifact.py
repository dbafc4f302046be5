"""The operators' monthly outcome counts: a table artifact in a real Prefect server.

Testby's seven young people (tests/integration/test_outcome_figures.py) and Småby's two:
the flow publishes, for March 2026, each municipality's referrals, ended cases and open
cases at the month's end — codes and counts only, a count of 1-4 written "< 5" — and
nothing personal reaches Prefect.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from tests.integration.conftest import Clock, runtime_of
from tests.integration.test_outcome_figures import FILES, create_accounts, play_smaaby, play_testby
from tests.support.services import SmtpSink
from workflow.orchestration.outcome_report import KEY, monthly_outcomes, previous_month


async def _latest() -> Any:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[KEY])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return found[0]


def test_the_month_s_counts_per_municipality_with_small_counts_hidden(
    prefect_api: Path, smtp: SmtpSink, clock: Clock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'workflow.db'}"
    with runtime_of(url, smtp, clock, tmp_path, FILES) as runtime:
        create_accounts(runtime)
        play_testby(runtime, clock)
        play_smaaby(runtime, clock)
        assert asyncio.run(monthly_outcomes(2026, 3)) == 2
        march = asyncio.run(_latest())
        assert asyncio.run(monthly_outcomes(2026, 5)) == 2
        may = asyncio.run(_latest())
    rows = json.loads(march.data) if isinstance(march.data, str) else march.data
    assert rows == [
        # Testby: five referred in March, none ended, five open at its end.
        {
            "municipality": "990",
            "month": "2026-03",
            "referred": 5,
            "ended": 0,
            "open_at_month_end": 5,
        },
        {
            "municipality": "991",
            "month": "2026-03",
            "referred": 0,
            "ended": 0,
            "open_at_month_end": 0,
        },
    ]
    rows = json.loads(may.data) if isinstance(may.data, str) else may.data
    assert rows == [
        # Testby in May: cases 1 and 2 closed (7 and 14 May); 3 open at its end.
        {
            "municipality": "990",
            "month": "2026-05",
            "referred": 0,
            "ended": "< 5",
            "open_at_month_end": "< 5",
        },
        {
            "municipality": "991",
            "month": "2026-05",
            "referred": "< 5",
            "ended": 0,
            "open_at_month_end": "< 5",
        },
    ]
    assert "Testesen" not in str(rows)
    assert "Resultat" not in str(rows) + march.description + may.description


def test_the_month_before() -> None:
    from datetime import date

    assert previous_month(date(2026, 1, 1)) == (2025, 12)
    assert previous_month(date(2026, 12, 5)) == (2026, 11)
