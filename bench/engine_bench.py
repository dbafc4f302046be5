"""Engine benchmark: loading definitions, and deciding events, against a floor.

The floor is the least any decider must do per event: copy the case's data and
append to its history, in plain Python. Reported as a ratio measured in the same run.
Run with `make bench`; results go in docs/benchmarks.md.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

from workflow.definitions.loader import load_definition
from workflow.engine.simulation import load_script, simulate


def _best(func: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    files = sorted(Path("definitions").glob("*.yaml"))
    load_s = _best(lambda: [load_definition(f) for f in files], repeat=3)
    definition = load_definition("definitions/soroe.yaml")
    script = load_script("definitions/examples/soroe.yaml")
    timeline = simulate(definition, script)
    events = len(timeline.entries)
    runs = 200
    sim_s = _best(lambda: [simulate(definition, script) for _ in range(runs)])
    per_event_us = sim_s / (runs * events) * 1e6

    def floor() -> None:
        for _ in range(runs * events):
            data = {"stage": "x", "data": {"a": 1, "b": [1, 2, 3]}, "history": []}
            copy = dict(data)
            copy["data"] = dict(data["data"])
            copy["history"] = [*data["history"], ("event", "x")]

    floor_us = _best(floor) / (runs * events) * 1e6
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()}"
    )
    print(
        f"load + check {len(files)} definitions: {load_s * 1000:.0f} ms "
        f"({load_s / len(files) * 1000:.1f} ms each)"
    )
    print(
        f"decide (Sorø lifecycle, {events} events incl. timers): {per_event_us:.1f} µs/event, "
        f"{1e6 / per_event_us:,.0f} events/s"
    )
    print(
        f"floor (copy case + append history): {floor_us:.2f} µs/event; "
        f"engine/floor = {per_event_us / floor_us:.0f}x"
    )


if __name__ == "__main__":
    main()
