"""A bounded load of N concurrent users on the web app (run as a second process).

    .venv/bin/python -m bench.load --plan plan.json --out result.json

The plan (written by ``bench.national_web``) names the base URL, the users (username,
password, the URLs of their caseload and case pages) and the phases. Every user logs in
through the login form (a real session cookie), then, phase by phase, requests its URLs
one after another with no think time (closed loop), until the phase has made its number
of requests or run out of time. Every response must be 200 and name what it should
(the case's reference on a case page, a case link on a caseload page), else it counts
as an error. The result: per phase, requests, errors, p50 / p95 / max and requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Phase:
    """One kind of page, requested by every user."""

    name: str
    kind: str  # the key of each user's URL list
    requests: int
    seconds: float
    times: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        times = sorted(self.times) or [0.0]
        q = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else times * 99
        return {
            "name": self.name,
            "requests": len(self.times),
            "errors": self.errors,
            "p50_ms": q[49] * 1000,
            "p95_ms": q[94] * 1000,
            "max_ms": times[-1] * 1000,
            "per_second": len(self.times) / self.elapsed if self.elapsed else 0.0,
            "seconds": self.elapsed,
        }


async def login(client: httpx.AsyncClient, username: str, password: str) -> None:
    form = await client.get("/login")
    token = CSRF.search(form.text)
    if form.status_code != 200 or token is None:
        raise RuntimeError(f"no login form ({form.status_code})")
    answer = await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": token.group(1),
            "next": "/",
        },
    )
    if answer.status_code != 303 or "kui_session" not in "".join(
        answer.headers.get_list("set-cookie")
    ):
        raise RuntimeError(f"login refused for {username} ({answer.status_code})")


def _check(kind: str, url: str, response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}"
    if kind == "case" and url.rsplit("/", 1)[1] not in response.text:
        return "case page without its reference"
    if kind == "caseload" and "/cases/" not in response.text:
        return "caseload without a case"
    return None


async def user(
    client: httpx.AsyncClient, urls: list[str], phase: Phase, budget: list[int], deadline: float
) -> None:
    k = 0
    while budget[0] > 0 and time.monotonic() < deadline:
        budget[0] -= 1
        url = urls[k % len(urls)]
        k += 1
        t0 = time.perf_counter()
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            phase.errors[type(exc).__name__] = phase.errors.get(type(exc).__name__, 0) + 1
            continue
        took = time.perf_counter() - t0
        problem = _check(phase.kind, url, response)
        if problem:
            phase.errors[problem] = phase.errors.get(problem, 0) + 1
        else:
            phase.times.append(took)


async def run(plan: dict[str, Any]) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=plan["base_url"], limits=limits, timeout=60.0)
        for _ in plan["users"]
    ]
    try:
        await asyncio.gather(
            *(
                login(c, u["username"], u["password"])
                for c, u in zip(clients, plan["users"], strict=True)
            )
        )
        results = []
        for spec in plan["phases"]:
            phase = Phase(spec["name"], spec["kind"], spec["requests"], spec["seconds"])
            for c, u in zip(clients, plan["users"], strict=True):  # warm-up: one each
                await c.get(u["urls"][phase.kind][0])
            budget = [phase.requests]
            started = time.perf_counter()
            deadline = time.monotonic() + phase.seconds
            await asyncio.gather(
                *(
                    user(c, u["urls"][phase.kind], phase, budget, deadline)
                    for c, u in zip(clients, plan["users"], strict=True)
                )
            )
            phase.elapsed = time.perf_counter() - started
            summary = phase.summary()
            results.append(summary)
            print(
                f"  {phase.name}: {summary['requests']} requests, p50 {summary['p50_ms']:.0f} ms, "
                f"p95 {summary['p95_ms']:.0f} ms, max {summary['max_ms']:.0f} ms, "
                f"{summary['per_second']:.0f}/s, errors {phase.errors or 0}",
                flush=True,
            )
        return results
    finally:
        for c in clients:
            await c.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    plan = json.loads(args.plan.read_text(encoding="utf-8"))
    results = asyncio.run(run(plan))
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
