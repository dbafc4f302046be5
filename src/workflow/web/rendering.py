"""Rendering pages: the Jinja2 environment (autoescaped), the user's language, dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from starlette.requests import Request
from starlette.responses import HTMLResponse

from workflow.engine.inputs import MAX_TEXT
from workflow.texts import LANGUAGES, text
from workflow.web.definition_texts import local
from workflow.web.role_words import own_text

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


class ConstantTexts(Extension):
    """Puts the text of ``t("key")`` into the template when it is compiled.

    A page asks for a hundred fixed texts (labels, headings); each call at render time
    costs a lookup and an escape. A template is compiled once per language (see
    :class:`Pages`): a call of ``t`` with a single string literal becomes that string
    in the environment's language, which Jinja then escapes once, at compile time. A
    call with parameters or a computed key stays a call.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        lang = self.environment.text_language  # type: ignore[attr-defined]
        window: list[Token] = []
        before = ""
        for token in stream:
            window.append(token)
            if len(window) < 4:
                continue
            name, opening, key, closing = window
            if (
                name.type == "name"
                and name.value == "t"
                and before != "dot"
                and opening.type == "lparen"
                and key.type == "string"
                and closing.type == "rparen"
            ):
                yield Token(name.lineno, "string", text(key.value, lang))
                before = "string"
                window.clear()
                continue
            first = window.pop(0)
            before = first.type
            yield first
        yield from window


def make_environment(lang: str = "da") -> Environment:
    """The pages' Jinja2 environment for ``lang``: HTML autoescaped, undefined names are
    errors, fixed texts put in when a template is compiled (:class:`ConstantTexts`)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the code: no stat of each file on every page.
        auto_reload=False,
        extensions=[ConstantTexts],
    )
    environment.extend(text_language=lang)
    environment.filters["when"] = when
    environment.filters["local"] = local
    environment.globals["word"] = text
    # A text input's longest value, said by the form itself (the engine refuses more).
    environment.globals["max_text"] = MAX_TEXT
    return environment


class Pages:
    """Renders templates with what every page needs (language, user, CSRF token), each
    template compiled once per language."""

    def __init__(self) -> None:
        self.environments = {lang: make_environment(lang) for lang in LANGUAGES}

    def set_global(self, name: str, value: Any) -> None:
        """A name every template sees, in every language."""
        for environment in self.environments.values():
            environment.globals[name] = value

    def render(
        self,
        request: Request,
        name: str,
        status_code: int = 200,
        *,
        coordinator_word: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The page ``name`` in the reader's language (``coordinator_word``: the case's
        municipality's word for the coordinator, said in the texts: see
        :mod:`workflow.web.role_words`)."""
        auth = getattr(request.state, "auth", None)
        lang = locale_of(request, auth.user.locale if auth else None)
        page = (
            self.environments[lang]
            .get_template(name)
            .render(
                lang=lang,
                t=lambda key, **params: own_text(key, lang, coordinator_word, **params),
                auth=auth,
                user=auth.user if auth else None,
                csrf_token=auth.csrf_token if auth else "",
                path=request.url.path,
                language_links={other: language_link(request, other) for other in LANGUAGES},
                **context,
            )
        )
        response = HTMLResponse(page, status_code=status_code)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax"
            )
        return response
