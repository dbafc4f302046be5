"""Telling the operators of a notification given up: a Prefect event and an automation.

A dead outbox row is announced once, by a Prefect event ``kui.delivery.dead`` whose
resource is the row and whose related resources are the case reference, the
municipality, the recipient (department or role) and the template — codes only, never
whom it is about, never the error's text (an SMTP reply can quote an address). Emitted
inside a run, the event is also related to that run (Prefect adds it), so it links to
the red run. ``workflow up`` and ``workflow deploy`` create the automation that POSTs each
such event to the operators' address (``WORKFLOW_OPERATOR_ALERT_URL``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from prefect.automations import Automation
from prefect.blocks.webhook import Webhook
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.events.actions import CallWebhook
from prefect.events.schemas.automations import EventTrigger, Posture

from workflow.delivery.outbox import Deliverer, Effect
from workflow.settings import Settings

EVENT = "kui.delivery.dead"
AUTOMATION = "kui-dead-delivery"
#: The webhook block holding the operators' address (a secret in Prefect's UI).
BLOCK = "kui-operators"
#: What the automation POSTs: the event's codes, as JSON.
PAYLOAD = (
    '{"event": "{{ event.event }}", "outbox": "{{ event.resource.id }}", '
    '"case": "{{ event.resource_in_role[\'case\'].id }}", '
    '"municipality": "{{ event.resource_in_role[\'municipality\'].id }}", '
    '"recipient": "{{ event.resource_in_role[\'recipient\'].id }}", '
    '"template": "{{ event.resource_in_role[\'template\'].id }}", '
    '"occurred": "{{ event.occurred }}"}'
)


def dead_delivery_event(effect: Effect, attempts: int, error_type: str | None) -> None:
    """Emit the event of one dead row (codes only)."""
    recipient = "department" if effect.recipient_kind != "role" else "role"
    emit_event(
        event=EVENT,
        resource={
            "prefect.resource.id": f"kui.outbox.{effect.row_id}",
            "prefect.resource.name": f"outbox-{effect.row_id}",
        },
        related=[
            {
                "prefect.resource.id": f"kui.case.{effect.reference}",
                "prefect.resource.role": "case",
            },
            {
                "prefect.resource.id": f"kui.municipality.{effect.municipality}",
                "prefect.resource.role": "municipality",
            },
            {
                "prefect.resource.id": f"kui.{recipient}.{effect.recipient}",
                "prefect.resource.role": "recipient",
            },
            {
                "prefect.resource.id": f"kui.template.{effect.template}",
                "prefect.resource.role": "template",
            },
        ],
        payload={"attempts": attempts, "error_type": error_type or "", "effect": effect.name},
    )


def announce_dead(deliverer: Deliverer, row_ids: list[int] | None = None) -> list[Effect]:
    """Emit one event per dead row not announced yet (of ``row_ids``, else all of them).

    Each row is marked announced before its event is emitted (compare-and-set): two
    processes announcing at once announce a row once. Call it inside a flow run (the event
    then links to the run); outside Prefect nothing is marked, and a later sweep
    announces the row.
    """
    announced: list[Effect] = []
    found = deliverer.dead_unannounced(row_ids=row_ids)
    if not found or not _server_answers():
        # Prefect down: its events would be dropped (an operator found rows marked
        # announced whose events never came); left for a sweep once it is back.
        return announced
    for effect, attempts, error_type in found:
        if deliverer.mark_announced([effect.row_id]) == 1:
            dead_delivery_event(effect, attempts, error_type)
            announced.append(effect)
    return announced


def _server_answers() -> bool:
    """Whether the Prefect server answers now (its health check)."""
    try:
        with get_client(sync_client=True) as client:
            return client.api_healthcheck() is None
    except Exception:  # unreachable in any way: not now
        return False


def ensure_dead_delivery_automation(settings: Settings) -> str:
    """Create (or bring up to date) the automation that tells the operators of each dead
    delivery; returns one line saying what was done. Without an address, none is made."""
    if settings.operator_alert_url is None:
        return (
            "No WORKFLOW_OPERATOR_ALERT_URL: no automation tells the operators of a failed "
            "delivery (it shows as a red run and a kui.delivery.dead event)."
        )
    url = settings.operator_alert_url.get_secret_value()
    if not url.startswith(("http://", "https://")):
        return "WORKFLOW_OPERATOR_ALERT_URL is not an http(s) address: no automation created."
    block_id = Webhook(method="POST", url=url, allow_private_urls=True).save(BLOCK, overwrite=True)
    wanted = Automation(
        name=AUTOMATION,
        description="A notification was given up: tell the operators (codes only).",
        trigger=EventTrigger(
            expect={EVENT},
            match={"prefect.resource.id": "kui.outbox.*"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[CallWebhook(block_document_id=block_id, payload=PAYLOAD)],
    )
    try:
        existing = cast(Automation, Automation.read(name=AUTOMATION))
    except ValueError:
        wanted.create()
        return f"Automation {AUTOMATION}: a failed delivery is POSTed to the operators."
    wanted.id = existing.id
    wanted.update()
    return f"Automation {AUTOMATION} updated: a failed delivery is POSTed to the operators."
