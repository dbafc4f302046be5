"""Run as a separate process: take steps on a case, then die before delivering anything.

Used by the crash test: the transition and its outbox rows are committed; the process
is killed (os._exit, as kill -9 would) before a single notification is sent.
"""

from __future__ import annotations

import json
import os
import sys

from tests.integration.scripted import PERSON
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import get_runtime


def main() -> None:
    service = get_runtime().service
    caseworker = Actor("caseworker", "cw-mette")
    opened = service.refer(
        "soroe", PERSON, caseworker, {"source": "school", "caseworker": "cw-mette"}
    )
    service.trigger(
        opened.reference,
        "accept_referral",
        {"young_person_agrees": True, "consent": True},
        caseworker,
    )
    get_runtime().consents.give(
        opened.reference, caseworker, ConsentRequest(["skole", "uu"], guardian=True)
    )
    step = service.trigger(
        opened.reference,
        "hold_pre_meeting",
        {
            "team": [
                {"department": "skole", "person": "laerer-anna"},
                {"department": "uu", "person": "vejleder-sara"},
            ],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        caseworker,
    )
    sys.stdout.write(json.dumps({"reference": step.reference, "seq": step.seq}) + "\n")
    sys.stdout.flush()
    os._exit(137)  # killed between commit and delivery


if __name__ == "__main__":
    main()
