"""The JSON API as its own FastAPI app, mounted by the page app at ``/api``.

It has its own identity dependency (a bearer token, or the browser session with the
CSRF header on changes), answers every error as JSON through the same table as the
pages (``workflow.web.error_answers``), and serves its documentation at ``/api/docs``
and its OpenAPI schema at ``/api/openapi.json``, whose paths are the URLs clients call
(``/api/v1/...``).
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import HTMLResponse

from workflow.web import api_account, api_cases, api_privacy, api_tasks
from workflow.web.context import WebContext
from workflow.web.dependencies import authenticated
from workflow.web.error_answers import answer_errors, json_answer
from workflow.web.private_logs import NO_TELEMETRY

#: Where the page app mounts the API.
API_ROOT = "/api"

#: The API's description in its schema and documentation.
DESCRIPTION = """\
The JSON API: the same actions as the pages, for the CLI's remote mode and other systems.

Authenticate with ``POST /api/v1/tokens`` and send ``Authorization: Bearer <token>``.
A browser session cookie works too, with the ``X-CSRF-Token`` header on changes."""


def operation_id(route: APIRoute) -> str:
    """An operation's id from its path as called (FastAPI's rule, with the mount point)."""
    method = sorted(route.methods or ())[0].lower()
    return re.sub(r"\W", "_", f"{route.name}{API_ROOT}{route.path_format}") + f"_{method}"


#: The API's title in its schema and documentation.
TITLE = "Ungeindsats – case workflow API"

#: ``/api/docs``: Swagger UI from the package's static files, started by a script file of
#: ours — the app's Content-Security-Policy allows no CDN and no inline script.
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(TITLE)}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi="{API_ROOT}/openapi.json"></div>
  <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


def api_docs(request: Request) -> HTMLResponse:
    """The API's documentation page (Swagger UI)."""
    return HTMLResponse(DOCS_PAGE)


class MountedApi(FastAPI):
    """A FastAPI app whose schema names its paths as called, under the mount point."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            schema["paths"] = {API_ROOT + path: item for path, item in schema["paths"].items()}
            self.openapi_schema = schema
        return self.openapi_schema


def create_api(context: WebContext) -> FastAPI:
    """The API sub-app over the web app's shared context."""
    api = MountedApi(
        title=TITLE,
        version="1",
        description=DESCRIPTION,
        dependencies=[Depends(authenticated)],
        docs_url=None,  # served by api_docs, from the package
        redoc_url=None,
        openapi_url="/openapi.json",
        # The paths already carry the mount point; a server entry would add it twice.
        root_path_in_servers=False,
        generate_unique_id_function=operation_id,
        telemetry=NO_TELEMETRY,
    )
    api.state.web = context
    api.add_route("/docs", api_docs, include_in_schema=False)
    api.include_router(api_account.router)
    api.include_router(api_cases.router)
    api.include_router(api_privacy.router)
    api.include_router(api_tasks.router)
    answer_errors(api, json_answer)
    return api
