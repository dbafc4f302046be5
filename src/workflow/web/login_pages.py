"""Logging in and out of the web app (local accounts; see identity.py for single sign-on)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from workflow.privacy.accounts import LoginRefusedError, same_token
from workflow.texts import text
from workflow.web.context import WebContext
from workflow.web.dependencies import Accounts, SentForm, Web, posted_form
from workflow.web.identity import SESSION_COOKIE
from workflow.web.page_support import safe_next, secure_cookies
from workflow.web.rendering import DEFAULT_ZONE, locale_of

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "kui_login_csrf"


@router.get("/login")
def login_page(request: Request, web: Web, next: str = "/") -> Response:
    return _login_form(request, web, next)


def _login_form(
    request: Request, web: WebContext, target: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = web.pages.render(
        request,
        "login.html",
        status_code,
        login_csrf=token,
        next=safe_next(target),
        error=error,
        local_login=web.identity.local_login,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(web.settings),
    )
    return response


@router.post("/login")
def login(request: Request, web: Web, accounts: Accounts, form: SentForm) -> Response:
    """Check the password and start a session.

    A plain ``def``: the password is hashed (argon2, tens of milliseconds by design) and
    the store written in FastAPI's threadpool, never on the event loop.
    """
    target = safe_next(form.get("next"))
    lang = locale_of(request)
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_form(request, web, target, text("login_expired", lang), 400)
    try:
        login = accounts.login(form.get("username"), form.get("password"))
    except LoginRefusedError as refused:
        if refused.locked_until is not None:
            until = refused.locked_until.astimezone(DEFAULT_ZONE)
            message = text("login_locked", lang, time=until.strftime("%H:%M"))
        else:
            message = text("login_failed", lang)
        return _login_form(request, web, target, message, 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        login.token,
        max_age=int((login.expires_at - web.clock()).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(web.settings),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", dependencies=[Depends(posted_form)])
def logout(request: Request, accounts: Accounts) -> Response:
    """End the session (a checked form post, so another site cannot log the user out)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.logout(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
