"""`workflow up` and `workflow demo` as a newcomer starts them (issue 16).

Real processes and a real Prefect server: this installation's own server is recognised by
the home folder it reports (``GET /api/admin/settings``) and used; another installation's
server on the port is refused, as is a port another program holds, with one line and exit
code 2 saying what to do, never a traceback; PREFECT_API_URL's server is used and said so;
a store that has the demo does not play it again.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port, prefect_server, wait_until
from workflow.orchestration.demo import demo_played, mark_demo_played
from workflow.orchestration.server import ForeignServerError, local_server
from workflow.runtime import build_runtime
from workflow.settings import Settings

WORKFLOW = str(Path(sys.executable).with_name("workflow"))


def _env(home: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    return env | {"WORKFLOW_HOME": str(home), "COLUMNS": "200"} | more


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WORKFLOW, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(home, **env),
    )


def _refused_in_one_line(done: subprocess.CompletedProcess[str], *says: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for said in says:
        assert said in lines[0], lines[0]


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Another installation's Prefect server (its own home) on a free port."""
    home = tmp_path_factory.mktemp("elsewhere") / "prefect"
    with prefect_server(home) as url:
        yield home, url


@pytest.fixture
def listening() -> Iterator[int]:
    """A port another program (a plain socket) listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def _port(url: str) -> int:
    return int(url.removesuffix("/api").rsplit(":", 1)[1])


def test_a_server_is_ours_by_the_home_it_reports(foreign: tuple[Path, str]) -> None:
    home, url = foreign
    said: list[str] = []
    with local_server(home, _port(url), report=said.append) as again:  # ours: used
        assert again == url
    assert said == [
        f"Prefect: using its own server already running on 127.0.0.1:{_port(url)} (home {home})"
    ]
    with pytest.raises(ForeignServerError) as refused, local_server(home.parent / "x", _port(url)):
        pass
    assert refused.value.home == str(home.resolve())


def test_up_refuses_another_installations_prefect_server(
    foreign: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = foreign
    port = _port(url)
    for command, make in (("up", f"make run PREFECT_PORT={port + 1}"), ("demo", "")):
        done = run(tmp_path / "var", command, "--port", str(port))
        _refused_in_one_line(
            done,
            f"workflow {command}: 127.0.0.1:{port} is another Prefect server",
            f"(home {home.resolve()})",
            f"workflow {command} --port {port + 1}",
            make,
        )
    assert not (tmp_path / "var" / "prefect" / "server.log").exists()  # none of ours started


def _first_lines_of_up(tmp_path: Path, url: str, arguments: list[str], last: str) -> list[str]:
    """What `workflow up` (on the Prefect server at ``url``) prints up to the line that
    starts with ``last`` (at most 50 lines); it is stopped then."""
    with subprocess.Popen(
        [WORKFLOW, "up", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(tmp_path / "var", PREFECT_API_URL=url),
    ) as process:
        assert process.stdout is not None
        lines = []
        try:
            for line in process.stdout:
                lines.append(line.rstrip())
                if line.startswith(last) or len(lines) > 50:
                    break
        finally:
            process.terminate()
            process.wait(timeout=30)
    return lines


def test_up_uses_the_server_prefect_api_url_names_and_says_so(
    foreign: tuple[Path, str], tmp_path: Path
) -> None:
    _, url = foreign
    web_port = free_port()
    lines = _first_lines_of_up(tmp_path, url, ["--web-port", str(web_port)], "Web app:")
    assert f"Prefect: using {url} (from PREFECT_API_URL)" in lines, lines
    assert f"Web app:    http://127.0.0.1:{web_port}" in lines, lines
    assert not (tmp_path / "var" / "prefect" / "server.log").exists()  # none of ours started


def test_up_with_the_demo_prints_its_addresses_without_prefect_lines_among_them(
    foreign: tuple[Path, str], tmp_path: Path
) -> None:
    """`make run`'s first screen: what started and where, not Prefect's line per task run
    handed to the worker (the demo case's first steps; the runs are in its UI)."""
    _, url = foreign
    web_port = free_port()
    arguments = ["--demo", "--web-port", str(web_port)]
    lines = _first_lines_of_up(tmp_path, url, arguments, "Demo login:")
    assert any(line.startswith("Worker:     carries out the steps") for line in lines), lines
    assert f"Web app:    http://127.0.0.1:{web_port}" in lines, lines
    assert not [line for line in lines if "| INFO" in line], lines


def test_a_dead_prefect_api_url_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    done = run(tmp_path / "var", "up", PREFECT_API_URL=url)
    _refused_in_one_line(done, f"the Prefect server at {url} (PREFECT_API_URL) does not answer")


def test_a_taken_web_port_is_one_line_with_what_to_do(listening: int, tmp_path: Path) -> None:
    done = run(tmp_path / "var", "up", "--port", str(free_port()), "--web-port", str(listening))
    _refused_in_one_line(
        done,
        f"workflow up: port {listening} (the web app) is taken by another program",
        f"make run WEB_PORT={listening + 1}",
    )
    assert not (tmp_path / "var" / "prefect" / "server.log").exists()  # checked first


def test_a_taken_prefect_port_is_one_line_with_what_to_do(listening: int, tmp_path: Path) -> None:
    done = run(tmp_path / "var", "up", "--port", str(listening), "--web-port", str(free_port()))
    _refused_in_one_line(
        done,
        f"workflow up: port {listening} is taken by another program (Prefect's port)",
        f"make run PREFECT_PORT={listening + 1}",
    )


def test_the_demo_is_played_once_per_store(tmp_path: Path) -> None:
    home = tmp_path / "var"
    runtime = build_runtime(Settings(home=home))
    assert not demo_played(runtime)
    mark_demo_played(runtime, [])
    assert demo_played(runtime)
    runtime.engine.dispose()
    done = run(home, "demo", "--port", str(free_port()))
    assert done.returncode == 0, done.stderr
    assert "Demo already played in this store (workflow demo --again" in done.stdout
    assert not (home / "prefect" / "server.log").exists()  # no server started for nothing


def _flow_run_names(api: str, reference: str) -> list[str]:
    answer = httpx.post(
        f"{api}/flow_runs/filter",
        json={"flow_runs": {"tags": {"all_": [f"case:{reference}"]}}},
        timeout=10,
    )
    answer.raise_for_status()
    return sorted(run["name"] for run in answer.json())


def test_up_hands_a_web_step_to_its_worker_which_carries_it_out(
    foreign: tuple[Path, str], tmp_path: Path
) -> None:
    """`workflow up` starts a step worker; a step taken through the web app's API is
    committed, handed off, and carried out by that worker as a run of its own (the web
    process runs no flows)."""
    _, url = foreign
    home, web_port = tmp_path / "var", free_port()
    env = _env(home, PREFECT_API_URL=url)
    password = "korrekt-hest-batteri-2026"
    created = subprocess.run(
        [WORKFLOW, "account", "create", "mette", "--name", "Mette", "--person-id", "cw-mette"]
        + ["--role", "caseworker", "--municipality", "340"],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    with subprocess.Popen(
        [WORKFLOW, "up", "--web-port", str(web_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        lines: list[str] = []
        try:
            for line in process.stdout:
                lines.append(line.rstrip())
                if line.startswith("Worker:") or len(lines) > 50:
                    break
            assert any(line.startswith("Worker:     carries out the steps") for line in lines)
            web = f"http://127.0.0.1:{web_port}"
            token = httpx.post(
                f"{web}/api/v1/tokens",
                json={"username": "mette", "password": password},
                timeout=30,
            )
            assert token.status_code == 201, token.text
            headers = {"Authorization": f"Bearer {token.json()['token']}"}
            opened = httpx.post(
                f"{web}/api/v1/cases",
                headers=headers,
                json={
                    "definition": "soroe",
                    "young_person": {
                        "name": "Ida Op",
                        "cpr": "0101104123",
                        "birth_date": "2010-01-01",
                    },
                    "inputs": {"source": "school", "caseworker": "cw-mette"},
                },
                timeout=30,
            )
            assert opened.status_code == 201, opened.text
            reference = opened.json()["reference"]
            wait_until(
                lambda: f"{reference}-step-1" in _flow_run_names(url, reference),
                "the worker's run of the step",
                90,
            )
            wait_until(lambda: any((home / "mail").rglob("*.eml")), "the referral's mail", 60)

            # The worker killed (once done with the step): `up` says so in one line and
            # starts another (a killed worker was left dead, every later step "not handed
            # to a worker").
            carried = f"carry-out-{reference}-step-1"
            log = home / "worker.log"
            wait_until(lambda: carried in log.read_text(encoding="utf-8"), "the worker's log", 60)
            threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True).start()
            pid = re.search(r"carries out the steps \(pid (\d+)", "\n".join(lines))
            assert pid is not None, lines
            os.kill(int(pid.group(1)), signal.SIGKILL)
            wait_until(
                lambda: any("Worker stopped (exit code -9): started again" in x for x in lines),
                "up to start the worker again",
                30,
            )
        finally:
            process.terminate()
            process.wait(timeout=60)
    worker_log = (home / "worker.log").read_text(encoding="utf-8")
    assert f"carry-out-{reference}-step-1" in worker_log  # carried out by the worker
    assert "Ida Op" not in worker_log
    # The mail's link leads to the web app `up` started (no WORKFLOW_BASE_URL was set).
    mail = next((home / "mail").rglob("*.eml"))
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"{web}/cases/{reference}" in body.get_content()
