"""The composition root: the store, definitions, service and outbox of one process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from workflow.accounts import AccountService
from workflow.audit import AuditService
from workflow.catalog import DefinitionCatalog
from workflow.consents import ConsentService
from workflow.cpr import CprCipher, key_ring
from workflow.grants import GrantService
from workflow.outbox import Channel, Deliverer
from workflow.retention import RetentionService
from workflow.services import CaseService
from workflow.settings import Settings, get_settings
from workflow.store.database import make_engine, migrate, session_factory
from workflow.upgrades import UpgradeService


@dataclass
class Runtime:
    """Everything an entrypoint needs, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    catalog: DefinitionCatalog
    service: CaseService
    deliverer: Deliverer
    accounts: AccountService
    consents: ConsentService
    grants: GrantService
    audit: AuditService
    retention: RetentionService
    upgrades: UpgradeService


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    channels: dict[str, Channel] | None = None,
) -> Runtime:
    """Connect to the store (migrating it), load the definitions, wire the services."""
    engine = make_engine(settings.store_url)
    migrate(engine)
    sessions = session_factory(engine)
    catalog = DefinitionCatalog(settings.definitions_dir)
    service = CaseService(sessions, catalog, clock, cpr=CprCipher(key_ring(settings)))
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        catalog=catalog,
        service=service,
        deliverer=Deliverer(sessions, catalog, settings, channels, clock),
        accounts=AccountService(sessions, clock),
        consents=ConsentService(service),
        grants=GrantService(service),
        audit=AuditService(service, settings.audit_retention_days),
        retention=RetentionService(service),
        upgrades=UpgradeService(service),
    )


_current: Runtime | None = None


def use_runtime(runtime: Runtime | None) -> None:
    """Make ``runtime`` the process's runtime (tests, the demo's accelerated clock)."""
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    """The process's runtime, built from the environment's settings on first use."""
    global _current
    if _current is None:
        _current = build_runtime(get_settings())
    return _current
