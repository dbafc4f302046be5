"""Logging in and out of the web app, and changing one's password (local accounts; see
identity.py for single sign-on).

A refused login answers the same whatever the username: wrong username or password
(401), or — after too many failures from this address or for this username — wait a
few minutes (429). The username typed stays in the field; the password never does.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from workflow.privacy.accounts import AccountError, LoginRefusedError, same_token
from workflow.texts import text
from workflow.web.context import WebContext
from workflow.web.dependencies import Accounts, PostedForm, SentForm, SignedIn, Web, posted_form
from workflow.web.identity import SESSION_COOKIE
from workflow.web.page_support import safe_next, secure_cookies
from workflow.web.rendering import locale_of

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "kui_login_csrf"


@router.get("/login")
def login_page(request: Request, web: Web, next: str = "/") -> Response:
    return _login_form(request, web, next)


def _login_form(
    request: Request,
    web: WebContext,
    target: str,
    error: str | None = None,
    status_code: int = 200,
    username: str = "",
) -> Response:
    token = secrets.token_urlsafe(24)
    response = web.pages.render(
        request,
        "login.html",
        status_code,
        login_csrf=token,
        next=safe_next(target),
        error=error,
        username=username[:64],
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
    username = form.get("username")
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_form(request, web, target, text("login_expired", lang), 400, username)
    address = web.identity.address(request)
    try:
        login = accounts.login(username, form.get("password"), address=address)
    except LoginRefusedError as refused:
        if refused.retry_after:
            minutes = max(1, -(-refused.retry_after // 60))
            message = text("login_throttled", lang, minutes=minutes)
            page = _login_form(request, web, target, message, 429, username)
            page.headers["Retry-After"] = str(refused.retry_after)
            return page
        return _login_form(request, web, target, text("login_failed", lang), 401, username)
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


@router.get("/account/password")
def password_page(request: Request, web: Web, auth: SignedIn) -> Response:
    return _password_form(request, web, auth.via)


def _password_form(
    request: Request, web: WebContext, via: str, error: str | None = None, status_code: int = 200
) -> Response:
    return web.pages.render(
        request, "password.html", status_code, error=error, local=via == "cookie", done=None
    )


@router.post("/account/password")
def change_password(
    request: Request, web: Web, accounts: Accounts, auth: SignedIn, form: PostedForm
) -> Response:
    """Change one's own password: every other session and API token of the account ends,
    this browser stays logged in. A plain ``def``: argon2 hashing off the event loop."""
    lang = locale_of(request, auth.user.locale)
    token = request.cookies.get(SESSION_COOKIE)
    if auth.via != "cookie" or not token:
        return _password_form(request, web, auth.via, text("password_sso", lang), 400)
    new = form.get("new_password")
    if new != form.get("repeat_password"):
        return _password_form(request, web, auth.via, text("password_mismatch", lang), 400)
    address = web.identity.address(request)
    try:
        ended = accounts.change_password(token, form.get("current_password"), new, address=address)
    except LoginRefusedError as refused:
        minutes = max(1, -(-(refused.retry_after or 60) // 60))
        message = text("login_throttled", lang, minutes=minutes)
        return _password_form(request, web, auth.via, message, 429)
    except AccountError as error:
        wrong = str(error).startswith("current_password")
        message = text("password_wrong" if wrong else "password_rules", lang)
        return _password_form(request, web, auth.via, message, 400)
    page = web.pages.render(
        request,
        "password.html",
        200,
        error=None,
        local=True,
        done=text("password_changed", lang, ended=ended),
    )
    return page
