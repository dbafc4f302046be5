"""The pooled budget's page (Ballerup): its balance, its ledger and the departments' deposits.

Only the programme manager (a leader account of the municipality) keeps the pool: the
pool service refuses anyone else, and the page says so. Every read of the ledger and
every deposit is in the audit log (the service writes it). A refused deposit is shown
beside its field, and nothing is booked. Grants are drawn from the pool by the
definition's grant step on a case (refused beside its amount when the pool cannot
cover it); this page only shows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.cases.pool import MAX_DEPOSIT, LedgerLine
from workflow.definitions.models import Definition
from workflow.engine.model import Actor
from workflow.errors import InvalidRequestError, NotAllowedError
from workflow.privacy.accounts import User
from workflow.texts import text
from workflow.web.context import WebContext
from workflow.web.definition_texts import local
from workflow.web.dependencies import PostedForm, SignedIn, Web
from workflow.web.identity import Authenticated
from workflow.web.page_support import PageNotFoundError
from workflow.web.rendering import locale_of, when

router = APIRouter(include_in_schema=False)

#: Whole kroner, as people write them: 25000, 25.000 or 25 000.
_KRONER = re.compile(r"\d{1,3}(?:[. ]\d{3})+|\d+")


def grouped(amount: int, lang: str) -> str:
    """A whole number with thousands grouped as the reader writes them: 25.000 or 25,000."""
    return f"{amount:,}".replace(",", "." if lang == "da" else ",")


def kroner(amount: int, lang: str) -> str:
    """An amount in kroner as the reader writes it: '25.000 kr.' or 'DKK 25,000'."""
    sign, grouped_amount = ("−" if amount < 0 else ""), grouped(abs(amount), lang)
    return f"{sign}{grouped_amount} kr." if lang == "da" else f"{sign}DKK {grouped_amount}"


def pool_definition(web: WebContext, user: User, lang: str) -> Definition:
    """The definition of the user's municipality that has a pool, or 404."""
    for definition in sorted(web.catalog.current.values(), key=lambda d: d.id):
        code = definition.municipality.code if definition.municipality else None
        if definition.pool is not None and code and code == user.municipality_code:
            return definition
    raise PageNotFoundError(text("pool_none", lang))


def _actor(user: User) -> Actor:
    """The user as the pool service knows them (it checks the account, not the role)."""
    return Actor(
        "leader" if "leader" in user.roles else (user.roles or ("staff",))[0], user.person_id
    )


@dataclass(frozen=True)
class Row:
    """A ledger line as the page shows it."""

    at: datetime
    kind: str
    what: str
    reference: str | None
    amount: str
    balance: str
    recorded_by: str
    grant: bool


@dataclass(frozen=True)
class DepositShown:
    """The deposit form as sent back after a refusal, and any notice."""

    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    #: Just after a deposit: the ledger's last line, if it is the user's deposit, is told.
    deposited: bool = False


def _rows(
    lines: list[LedgerLine], departments: Mapping[str, str], names: Mapping[str, str], lang: str
) -> list[Row]:
    return [
        Row(
            at=line.at,
            kind=text(f"pool_kind_{line.kind}", lang),
            what=departments.get(line.department or "", line.department or ""),
            reference=line.reference,
            amount=kroner(line.amount, lang),
            balance=kroner(line.balance, lang),
            recorded_by=names.get(line.recorded_by, line.recorded_by),
            grant=line.amount < 0,
        )
        for line in lines
    ]


def _pool_page(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    shown: DepositShown,
    status_code: int = 200,
) -> Response:
    lang = locale_of(request, auth.user.locale)
    definition = pool_definition(web, auth.user, lang)
    assert definition.pool is not None
    assert definition.municipality is not None
    try:
        balance, lines = web.pool.ledger(definition.municipality.code, _actor(auth.user))
    except NotAllowedError:
        return web.pages.render(
            request,
            "message.html",
            403,
            heading=text("error", lang),
            message=text("pool_not_allowed", lang),
        )
    departments = {d.id: local(d.name, lang) for d in definition.departments}
    names = web.staff.names(line.recorded_by for line in lines)
    last = lines[-1] if lines else None
    notice = ""
    if (
        shown.deposited
        and last
        and (last.kind, last.recorded_by) == ("deposit", auth.user.person_id)
    ):
        where = departments.get(last.department or "", last.department or "")
        notice = text(
            "pool_deposited_notice", lang, amount=kroner(last.amount, lang), department=where
        )
    deposits = sum(line.amount for line in lines if line.amount > 0)
    return web.pages.render(
        request,
        "pool.html",
        status_code,
        pool_name=local(definition.pool.name, lang),
        municipality=definition.municipality.name,
        balance=kroner(balance, lang),
        deposited=kroner(deposits, lang),
        granted=kroner(deposits - balance, lang),
        rows=_rows(lines, departments, names, lang),
        departments=list(departments.items()),
        values=shown.values,
        errors=shown.errors,
        notice=notice,
        max_deposit=MAX_DEPOSIT,
        now=when(web.clock()),
    )


@router.get("/pool")
def pool_page(request: Request, web: Web, auth: SignedIn, deposited: str = "") -> Response:
    return _pool_page(request, web, auth, DepositShown(deposited=deposited == "1"))


def read_amount(value: str) -> int | None:
    """Whole kroner from the form (thousands written with '.' or a space), else None."""
    written = value.strip()
    if not _KRONER.fullmatch(written):
        return None
    return int(re.sub(r"[. ]", "", written))


@router.post("/pool/deposits")
def deposit(request: Request, web: Web, auth: SignedIn, form: PostedForm) -> Response:
    """A department pays into the pool; a refusal is shown beside its field."""
    lang = locale_of(request, auth.user.locale)
    definition = pool_definition(web, auth.user, lang)
    assert definition.municipality is not None
    values = {"department": form.get("department").strip(), "amount": form.get("amount").strip()}
    errors: dict[str, str] = {}
    if not values["department"]:
        errors["department"] = text("pool_problem_department", lang)
    amount = read_amount(values["amount"][:20])
    if amount is None:
        errors["amount"] = text("pool_problem_amount", lang, max=grouped(MAX_DEPOSIT, lang))
    if not errors:
        assert amount is not None
        try:
            web.pool.deposit(
                definition.municipality.code, values["department"], amount, _actor(auth.user)
            )
        except InvalidRequestError as refused:
            for problem in refused.problems:
                if problem.path in ("department", "amount"):
                    key = f"pool_problem_{problem.path}"
                    errors[problem.path] = text(key, lang, max=grouped(MAX_DEPOSIT, lang))
                else:
                    errors["amount"] = str(problem)
        except NotAllowedError:
            return web.pages.render(
                request,
                "message.html",
                403,
                heading=text("error", lang),
                message=text("pool_not_allowed", lang),
            )
        else:
            return RedirectResponse("/pool?deposited=1", status_code=303)
    shown = DepositShown(values=values, errors=errors)
    return _pool_page(request, web, auth, shown, status_code=400)


__all__ = ["kroner", "router"]
