"""Rendering pages: the Jinja2 environment (autoescaped), the user's language, dates."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from workflow.texts import LANGUAGES, text
from workflow.web.definition_texts import local

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "kui_lang"
DEFAULT_ZONE = ZoneInfo("Europe/Copenhagen")


def locale_of(request: Request, preferred: str | None = None) -> str:
    """The page language: ``?lang=``, then the language cookie, the user's, Danish."""
    for candidate in (
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        preferred,
    ):
        if candidate in LANGUAGES:
            return str(candidate)
    return "da"


def language_link(request: Request, lang: str) -> str:
    """The page itself in ``lang``: its path and query (``next``, filters) kept, ``lang`` set."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*kept, ('lang', lang)])}"


def when(value: Any, style: str = "datetime", zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """A date or time as Danes write it (dd.mm.yyyy kl. HH:MM), in local time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        moment = value.astimezone(zone) if value.tzinfo else value
        if style == "date":
            return moment.strftime("%d.%m.%Y")
        if style == "input":
            return moment.strftime("%Y-%m-%dT%H:%M")
        return moment.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y") if style != "input" else value.isoformat()
    return str(value)


def make_environment() -> Environment:
    """The pages' Jinja2 environment: HTML autoescaped, undefined names are errors."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the code: no stat of each file on every page.
        auto_reload=False,
    )
    environment.filters["when"] = when
    environment.filters["local"] = local
    environment.globals["word"] = text
    return environment


class Pages:
    """Renders templates with what every page needs (language, user, CSRF token)."""

    def __init__(self) -> None:
        self.environment = make_environment()

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        auth = getattr(request.state, "auth", None)
        lang = locale_of(request, auth.user.locale if auth else None)
        page = self.environment.get_template(name).render(
            lang=lang,
            t=lambda key, **params: text(key, lang, **params),
            auth=auth,
            user=auth.user if auth else None,
            csrf_token=auth.csrf_token if auth else "",
            path=request.url.path,
            language_links={other: language_link(request, other) for other in LANGUAGES},
            **context,
        )
        response = HTMLResponse(page, status_code=status_code)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax"
            )
        return response
