"""Every purpose the services write into the audit log is said in words where a case's
access log shows it (the staff's page and the young person's own): a purpose written in
code ("bulk intake", "sagskonference") is never shown as it is written, in Danish or in
English. Purposes of entries about something else than a case (a login, a pool, a
caseload search) are listed here as such, so a new purpose in code must be placed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflow.definitions.loader import load_definition
from workflow.web.privacy_pages import purpose_words

SOURCE = Path(__file__).parents[2] / "src" / "workflow"
#: purpose="..." given, and purpose: str = "..." as a default.
WRITTEN = re.compile(r'purpose(?:: str(?: \| None)?)? ?= ?"([^"{}]+)"')

#: Purposes of audit entries about no case (their object is a login, an account, a
#: legal basis, a pool, a caseload or worklist search, or the log itself).
NOT_ON_A_CASE = {
    "login",
    "security",
    "legal basis granted",
    "legal basis revoked",
    "puljeregnskab",
    "indbetaling til puljen",
    "caseload",
    "api caseload",
    "mine opgaver",
    "retention",
    "retention dry run",
    "log retention",
}


def written_purposes() -> set[str]:
    return {
        found
        for path in SOURCE.rglob("*.py")
        for found in WRITTEN.findall(path.read_text(encoding="utf-8"))
    }


def test_the_source_is_read_for_purposes() -> None:
    found = written_purposes()
    assert {"bulk intake", "sagskonference", "samtykke", "login"} <= found
    assert found >= NOT_ON_A_CASE  # none of these is stale


@pytest.mark.parametrize("purpose", sorted(written_purposes() - NOT_ON_A_CASE))
@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_purpose_on_a_case_is_said_in_words(purpose: str, lang: str) -> None:
    soroe = load_definition("definitions/soroe.yaml")
    said = purpose_words(soroe, purpose, lang)
    assert said
    assert said != purpose, f"{purpose!r} is shown as written in {lang}"
