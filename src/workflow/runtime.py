"""The composition root: the store, definitions, services and outbox of one process.

The only module that builds services: it makes one unit of work and hands it to each.
Entrypoints (web, CLI, flows) ask it for what they need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases.caseload import CaseloadService
from workflow.cases.citizens import CitizenService
from workflow.cases.conferences import ConferenceService
from workflow.cases.outcomes import OutcomeService
from workflow.cases.pool import PoolService
from workflow.cases.service import CaseService
from workflow.cases.tasks import TaskService
from workflow.cases.upgrades import UpgradeService
from workflow.delivery.outbox import Channel, Deliverer
from workflow.errors import DefinitionError
from workflow.privacy.accounts import AccountService
from workflow.privacy.audit import AuditService
from workflow.privacy.citizen_sessions import CitizenSessions
from workflow.privacy.consents import ConsentService
from workflow.privacy.cpr import CprCipher, fill_cpr_keys, key_ring
from workflow.privacy.grants import GrantService
from workflow.privacy.retention import RetentionService
from workflow.privacy.staff_roster import StaffRoster
from workflow.settings import Settings, get_settings
from workflow.store.catalog import DefinitionCatalog
from workflow.store.database import make_engine, migrate, session_factory
from workflow.store.unit_of_work import UnitOfWork, utc_now


@dataclass
class Runtime:
    """Everything an entrypoint needs, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    catalog: DefinitionCatalog
    #: CPR numbers at rest (the unit of work encrypts with it; rotation needs it whole).
    cipher: CprCipher
    uow: UnitOfWork
    service: CaseService
    caseload: CaseloadService
    deliverer: Deliverer
    accounts: AccountService
    #: Staff names, colleagues and work addresses by staff id (read from the accounts).
    staff: StaffRoster
    consents: ConsentService
    grants: GrantService
    audit: AuditService
    retention: RetentionService
    upgrades: UpgradeService
    #: The young person's and guardian's logins, and what they do on their own page.
    citizen_logins: CitizenSessions
    citizens: CitizenService
    #: Tasks: done, added by hand, each person's worklist, reminders.
    tasks: TaskService
    #: Case-conference sessions (e.g. Horsens) and a municipality's pooled budget.
    conferences: ConferenceService
    pool: PoolService
    #: What the model achieves: a municipality's outcome figures, the national comparison.
    outcomes: OutcomeService


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    channels: dict[str, Channel] | None = None,
    lenient: bool = False,
) -> Runtime:
    """Connect to the store (migrating it), load the definitions, wire the services.

    Raises :class:`DefinitionError` when a definition cannot be loaded, or was changed
    without raising its version against the versions the store holds. ``lenient``: such
    a definition goes on as the newest version the store holds instead, each problem
    logged (see :meth:`DefinitionCatalog.stand_in`): for the processes a running
    installation starts, which must not stop for a draft saved into the folder.
    """
    engine = make_engine(settings.store_url)
    migrate(engine)
    sessions = session_factory(engine)
    catalog = DefinitionCatalog(settings.definitions_dir, lenient=lenient)
    with sessions() as session:
        if lenient:
            for ident, problems in catalog.stand_in(session).items():
                for problem in problems:
                    _log.warning("%s", problem)
                _log.warning(
                    "definition %s: not loaded from its file; %s",
                    ident,
                    "goes on as its newest stored version"
                    if ident in catalog.current
                    else "no version of it is stored: it opens no cases",
                )
            changed = []
        else:
            changed = catalog.check_store(session)
    if changed:  # a definition edited without raising its version: nothing is started
        engine.dispose()
        raise DefinitionError(changed)
    cipher = CprCipher(key_ring(settings))
    fill_cpr_keys(sessions, cipher)  # rows stored before citizen login (migration 0008)
    uow = UnitOfWork(sessions, catalog, cipher, clock)
    service = CaseService(uow)
    consents = ConsentService(uow, service.raise_event)
    audit = AuditService(uow, settings.audit_retention_days)
    citizen_logins = CitizenSessions(uow)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        catalog=catalog,
        cipher=cipher,
        uow=uow,
        service=service,
        caseload=CaseloadService(uow),
        deliverer=Deliverer(uow, settings, channels),
        accounts=AccountService(uow),
        staff=StaffRoster(uow),
        consents=consents,
        grants=GrantService(uow),
        audit=audit,
        retention=RetentionService(uow),
        upgrades=UpgradeService(uow),
        citizen_logins=citizen_logins,
        citizens=CitizenService(uow, service, consents, audit, citizen_logins),
        tasks=TaskService(uow, service.raise_event),
        conferences=ConferenceService(uow, service),
        pool=PoolService(uow),
        outcomes=OutcomeService(uow, national_ttl=settings.national_figures_ttl),
    )


_current: Runtime | None = None
_log = logging.getLogger("workflow.definitions")


def use_runtime(runtime: Runtime | None) -> None:
    """Make ``runtime`` the process's runtime (tests, the demo's accelerated clock)."""
    global _current
    _current = runtime


def get_runtime(*, strict: bool = False) -> Runtime:
    """The process's runtime, built from the environment's settings on first use.

    Lenient about the definitions (see :func:`build_runtime`) unless ``strict``: the
    commands that start servers check them strictly first, and refuse to start."""
    global _current
    if _current is None:
        _current = build_runtime(get_settings(), lenient=not strict)
    return _current
