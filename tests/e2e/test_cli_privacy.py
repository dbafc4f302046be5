"""`workflow consent|access|audit|retention` as an operator and a caseworker run them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.test_cli_cases import refer_here, run, runtime_on

CW = ("--actor", "caseworker:cw-mette")


def test_consent_legal_basis_access_log_and_retention_from_the_command_line(
    tmp_path: Path,
) -> None:
    home = tmp_path / "var"
    runtime = runtime_on(home)  # the case is opened here, on the CLI's own store
    reference = refer_here(runtime)
    runtime.engine.dispose()

    # A minor's consent needs the custodial parent too: refused, field by field.
    refused = run(home, "consent", "give", reference, "--department", "skole", *CW)
    assert refused.returncode == 1
    assert "guardian: the young person is 16: under 18 a custodial parent" in refused.stderr
    unknown = run(home, "consent", "give", reference, "--department", "skolen", "--guardian", *CW)
    assert "departments: unknown department 'skolen' (did you mean 'skole'?)" in unknown.stderr
    given = run(home, "consent", "give", reference, "--department", "skole", "--guardian", *CW)
    assert given.returncode == 0, given.stderr
    assert given.stdout.strip().endswith("recorded for skole")

    # A leader sees the case only through a recorded legal basis, and only with a purpose.
    leader = ("--actor", "leader:leder-kim")
    assert run(home, "case", "show", reference, *leader).stderr.strip() == (
        f"Error: no case {reference}"
    )
    granted = run(
        home, "access", "grant", "leder-kim", "--municipality", "340", "--basis", "oversight",
        "--law", "Serviceloven § 146", "--by", "dpo-sara",
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    grant_id = re.match(r"grant (\d+):", granted.stdout)
    assert grant_id
    no_purpose = run(home, "case", "show", reference, *leader)
    assert "state the purpose" in no_purpose.stderr
    with_purpose = run(home, "case", "show", reference, *leader, "--purpose", "tilsyn med frister")
    assert with_purpose.returncode == 0, with_purpose.stderr
    assert "active" in run(home, "access", "list").stdout
    run(home, "access", "revoke", grant_id.group(1), "--by", "dpo-sara")
    again = run(home, "case", "show", reference, *leader, "--purpose", "tilsyn")
    assert again.stderr.strip() == f"Error: no case {reference}"

    # The citizen's access log: dates, actions, roles and purposes in words — no staff ids.
    log = run(home, "audit", "access-log", reference, *CW)
    assert log.returncode == 0, log.stderr
    assert "En leder (tilsyn) læste dit forløb (hvorfor: tilsyn med frister)" in log.stdout
    assert "Din sagsbehandler skrev i dit forløb (hvorfor: Henvisning)" in log.stdout
    english = run(home, "audit", "access-log", reference, *CW, "--lang", "en", "--guardian")
    assert "read the course (why: tilsyn med frister)" in english.stdout
    assert "leder-kim" not in log.stdout
    assert "cw-mette" not in log.stdout
    exported = run(home, "audit", "export", reference, *CW, "--purpose", "aktindsigt")
    case = json.loads(exported.stdout)["case"]
    assert case["young_person"]["cpr"] == "010110-xxxx"
    assert case["consents"][0]["departments"] == [
        {"department": "skole", "withdrawn_at": None, "withdrawn_by": None}
    ]

    # Retention: an open case may not be deleted, and nothing goes without authorisation.
    report = run(home, "retention", "report", "--by", "dpo-sara")
    assert report.stdout.strip().endswith("0 closed cases; 0 may be deleted")
    delete = run(
        home, "retention", "delete", reference, "--authorisation", "RA-2026-1", "--by", "dpo-sara"
    )
    assert delete.returncode == 1
    assert f"{reference}: no closed case with this reference" in delete.stderr
    pruned = run(home, "audit", "prune", "--by", "dpo-sara")
    assert pruned.stdout.startswith("would remove 0 entries older than")
    assert all("Traceback" not in r.stderr for r in (refused, unknown, no_purpose, delete))
