"""Logging in and out of the web app (local accounts; see identity.py for single sign-on)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.privacy.accounts import LoginRefusedError, same_token
from workflow.texts import text
from workflow.web.forms import FormData
from workflow.web.identity import SESSION_COOKIE
from workflow.web.page_support import posted, safe_next, secure_cookies, signed_in, web
from workflow.web.rendering import DEFAULT_ZONE, locale_of

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "kui_login_csrf"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, next)


def _login_form(
    request: Request, target: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = web(request).pages.render(
        request,
        "login.html",
        status_code,
        login_csrf=token,
        next=safe_next(target),
        error=error,
        local_login=web(request).identity.local_login,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    raw = await request.form()
    form = FormData([(k, v) for k, v in raw.multi_items() if isinstance(v, str)])
    target = safe_next(form.get("next"))
    lang = locale_of(request)
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_form(request, target, text("login_expired", lang), 400)
    try:
        login = web(request).accounts.login(form.get("username"), form.get("password"))
    except LoginRefusedError as refused:
        if refused.locked_until is not None:
            until = refused.locked_until.astimezone(DEFAULT_ZONE)
            message = text("login_locked", lang, time=until.strftime("%H:%M"))
        else:
            message = text("login_failed", lang)
        return _login_form(request, target, message, 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        login.token,
        max_age=int((login.expires_at - web(request).clock()).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    auth = signed_in(request)
    await posted(request, auth)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        web(request).accounts.logout(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
